import Foundation
import KubernetesModels
import Testing

@Suite("Quantity")
struct QuantityTests {
    /// (text, milliValue, value): apimachinery's results, rounding away from zero.
    static let valid: [(String, Int64, Int64)] = [
        ("0", 0, 0),
        ("100m", 100, 1),
        ("1", 1000, 1),
        ("2", 2000, 2),
        ("+1", 1000, 1),
        ("0001", 1000, 1),
        ("1.5", 1500, 2),
        ("0.5", 500, 1),
        (".5", 500, 1),
        ("1.", 1000, 1),
        ("0.1m", 1, 1),
        ("10n", 1, 1),
        ("5u", 1, 1),
        ("-100m", -100, -1),
        ("-1.5", -1500, -2),
        ("1k", 1_000_000, 1000),
        ("500M", 500_000_000_000, 500_000_000),
        ("1G", 1_000_000_000_000, 1_000_000_000),
        ("1T", 1_000_000_000_000_000, 1_000_000_000_000),
        ("1P", 1_000_000_000_000_000_000, 1_000_000_000_000_000),
        ("1E", .max, 1_000_000_000_000_000_000),
        ("1Ki", 1_024_000, 1024),
        ("1Mi", 1_048_576_000, 1_048_576),
        ("1Gi", 1_073_741_824_000, 1_073_741_824),
        ("1.5Gi", 1_610_612_736_000, 1_610_612_736),
        ("64Gi", 68_719_476_736_000, 68_719_476_736),
        ("500Gi", 536_870_912_000_000, 536_870_912_000),
        ("1Ti", 1_099_511_627_776_000, 1_099_511_627_776),
        ("1Pi", 1_125_899_906_842_624_000, 1_125_899_906_842_624),
        ("1Ei", .max, 1_152_921_504_606_846_976),
        ("1e3", 1_000_000, 1000),
        ("1E3", 1_000_000, 1000),
        ("2e+2", 200_000, 200),
        ("1e-3", 1, 1),
        ("12e-1", 1200, 2),
    ]

    @Test("values follow apimachinery's suffixes and rounding", arguments: valid)
    func values(text: String, milli: Int64, value: Int64) throws {
        let quantity = try Quantity(text)
        #expect(quantity.milliValue == milli)
        #expect(quantity.value == value)
        #expect(quantity.string == text)
    }

    static let invalid = ["", "abc", "m", "Ki", "1Qi", "1K", "1ki", "1.2.3", "1 Gi", "1Gi ", "1e", "1e+", "--1", "1e1000", "0x10"]

    @Test("invalid strings throw an error naming them", arguments: invalid)
    func invalidStrings(text: String) {
        #expect {
            try Quantity(text)
        } throws: { error in
            (error as? KubernetesModelsError)?.description.contains("'\(text)' is not a Kubernetes quantity") == true
        }
    }

    @Test("JSON keeps the string exactly and reads numbers too")
    func json() throws {
        let json = Data(#"{"cpu":"1.50","memory":"1024Mi","pods":110,"half":0.5}"#.utf8)
        let decoded = try JSONDecoder().decode([String: Quantity].self, from: json)
        #expect(decoded["cpu"]?.string == "1.50")
        #expect(decoded["pods"]?.value == 110)
        #expect(decoded["half"]?.milliValue == 500)
        let reencoded = try JSONValue(parsing: try JSONEncoder().encode(decoded))
        #expect(reencoded == ["cpu": "1.50", "memory": "1024Mi", "pods": "110", "half": "0.5"])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([String: Quantity].self, from: Data(#"{"cpu":"lots"}"#.utf8))
        }
    }

    @Test("equality is textual; decimalValue compares numerically")
    func equality() {
        let gibibyte: Quantity = "1Gi"
        let mebibytes: Quantity = "1024Mi"
        #expect(gibibyte != mebibytes)
        #expect(gibibyte.decimalValue == mebibytes.decimalValue)
        #expect(Quantity("2") == 2)
    }

    @Test("constructors write what apimachinery writes")
    func constructors() {
        #expect(Quantity.milli(250).string == "250m")
        #expect(Quantity.milli(2000).string == "2")
        #expect(Quantity.milli(250).milliValue == 250)
        #expect(Quantity.bytes(68_719_476_736).string == "64Gi")
        #expect(Quantity.bytes(1536 * 1_048_576).string == "1536Mi")
        #expect(Quantity.bytes(1000).string == "1000")
        #expect(Quantity.bytes(0).string == "0")
        #expect(Quantity.bytes(68_719_476_736).value == 68_719_476_736)
    }
}
