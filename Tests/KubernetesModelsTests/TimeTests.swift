import Foundation
import KubernetesModels
import Testing

@Suite("Time and MicroTime")
struct TimeTests {
    @Test("a Lease renewTime keeps its microseconds through Date and back")
    func microTimeRoundTrip() throws {
        let renewTime: MicroTime = "2026-11-25T20:49:41.962204Z"
        let date = try renewTime.parsedDate()
        #expect(abs(date.timeIntervalSince1970 - 1_795_639_781.962204) < 0.000_001)
        #expect(MicroTime(date) == renewTime)
    }

    @Test("Time writes whole seconds in UTC, as the API server does")
    func timeFormat() {
        #expect(Time(Date(timeIntervalSince1970: 1_795_639_781.9)).rawValue == "2026-11-25T20:49:41Z")
        #expect(Time(Date(timeIntervalSince1970: 0)).rawValue == "1970-01-01T00:00:00Z")
        #expect(Time(Date(timeIntervalSince1970: 1_709_208_000)).rawValue == "2024-02-29T12:00:00Z")
        #expect(MicroTime(Date(timeIntervalSince1970: 1_709_208_000)).rawValue == "2024-02-29T12:00:00.000000Z")
        #expect(MicroTime(Date(timeIntervalSince1970: -0.5)).rawValue == "1969-12-31T23:59:59.500000Z")
    }

    @Test(
        "RFC 3339 offsets and fractions parse",
        arguments: [
            ("2026-11-25T20:49:41Z", 1_795_639_781.0),
            ("2026-11-25T21:49:41+01:00", 1_795_639_781.0),
            ("2026-11-25T19:19:41.5-01:30", 1_795_639_781.5),
            ("1969-12-31T23:59:59Z", -1.0),
        ]
    )
    func parsing(text: String, seconds: Double) throws {
        #expect(try Time(rawValue: text).parsedDate().timeIntervalSince1970 == seconds)
    }

    @Test(
        "text that is not RFC 3339 is kept as written but does not parse",
        arguments: ["", "2026-11-25", "2026-11-25 20:49:41Z", "2026-11-25T20:49:41", "2026-13-25T20:49:41Z", "2026-11-25T20:49:41.Z"]
    )
    func invalid(text: String) throws {
        let time = Time(rawValue: text)
        #expect(time.date == nil)
        #expect {
            try time.parsedDate()
        } throws: { error in
            (error as? KubernetesModelsError)?.description.contains("'\(text)' is not an RFC 3339 timestamp") == true
        }
        let json = try JSONEncoder().encode(["t": time])
        #expect(try JSONDecoder().decode([String: Time].self, from: json)["t"] == time)
    }
}
