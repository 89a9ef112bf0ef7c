import Foundation
import NIOCore
import Testing

@testable import SPDY

/// The SPDY/3.1 bytes a real kube-apiserver v1.36 exchanged with a kubelet (exec, exec -i, exec -it,
/// port-forward) decode to what the recording says, one inflate context per direction, in order.
@Suite struct RecordedFrameTests {
    static let connections = (try? RecordedSPDYConnection.all()) ?? []

    @Test func theRecordingHoldsFourSPDYConnections() throws {
        let connections = try RecordedSPDYConnection.all()
        #expect(connections.count == 4)
        #expect(connections.map(\.upgradeProtocol) == ["v4.channel.k8s.io", "v4.channel.k8s.io", "v4.channel.k8s.io", "portforward.k8s.io"])
    }

    /// Parses every frame of a connection with one parser per direction.
    static func decode(_ connection: RecordedSPDYConnection) throws -> [SPDYFrame] {
        var parsers: [RecordedSPDYConnection.Direction: SPDYFrameParser] = [
            .apiserverToKubelet: SPDYFrameParser(), .kubeletToApiserver: SPDYFrameParser(),
        ]
        return try connection.frames.map { recorded in
            var bytes = recorded.bytes
            let frame = try #require(try parsers[recorded.direction]!.nextFrame(from: &bytes), "frame \(recorded.summary) is incomplete")
            #expect(bytes.readableBytes == 0, "frame \(recorded.summary) left bytes over")
            return frame
        }
    }

    @Test(arguments: connections)
    func everyRecordedFrameDecodesToWhatTheRecordingDescribes(connection: RecordedSPDYConnection) throws {
        let frames = try Self.decode(connection)
        for (recorded, frame) in zip(connection.frames, frames) {
            #expect(frame.streamID.rawValue == recorded.streamID, "\(recorded.summary)")
            switch (recorded.type, frame.payload) {
            case ("SYN_STREAM", .synStream(let syn)):
                #expect(syn.headers == SPDYHeaders(recorded.headers), "\(recorded.summary)")
                #expect(!syn.fin && !syn.unidirectional && syn.priority == 0 && syn.associatedStreamID == 0)
            case ("SYN_REPLY", .synReply(let headers, let fin)):
                #expect(headers.isEmpty && !fin, "\(recorded.summary)")
            case ("DATA", .data(let data, let fin)):
                #expect(fin == recorded.summary.contains("flags=1"), "\(recorded.summary)")
                let described = try #require(recorded.describedPayload)
                #expect(Array(data.readableBytesView.prefix(described.count)) == described, "\(recorded.summary)")
            case ("RST_STREAM", .rstStream(let status)):
                #expect(status == .cancel, "\(recorded.summary)")
            case ("GOAWAY", .goAway(let lastGood, let status)):
                #expect(lastGood == 0 && status == .ok, "\(recorded.summary)")
            default:
                Issue.record("frame \(recorded.summary) decoded as \(frame)")
            }
        }
    }

    @Test func execStreamsCarryTheStreamTypesKubeApiserverOpens() throws {
        let exec = try #require(Self.connections.first { $0.title.contains("exec -it") })
        let opened = try Self.decode(exec).compactMap { frame -> String? in
            guard case .synStream(let syn) = frame.payload else { return nil }
            return "\(frame.streamID):\(syn.headers.first(name: "streamtype") ?? "-")"
        }
        #expect(opened == ["1:error", "3:stdin", "5:stdout", "7:resize"])
        let resize = try Self.decode(exec).compactMap { frame -> String? in
            guard frame.streamID == 7, case .data(let data, _) = frame.payload else { return nil }
            return String(buffer: data)
        }
        #expect(resize == ["{\"Width\":100,\"Height\":30}\n"])
    }

    @Test func theErrorStreamCarriesAV4StatusWithTheExitCode() throws {
        let exec = try #require(Self.connections.first)
        let statusBytes = try #require(try Self.decode(exec).lazy.compactMap { frame -> ByteBuffer? in
            guard frame.streamID == 1, case .data(let data, fin: false) = frame.payload else { return nil }
            return data
        }.first)
        let status = try JSONSerialization.jsonObject(with: Data(statusBytes.readableBytesView)) as? [String: Any]
        #expect(status?["reason"] as? String == "NonZeroExitCode")
        let causes = (status?["details"] as? [String: Any])?["causes"] as? [[String: Any]]
        #expect(causes?.first?["reason"] as? String == "ExitCode")
        #expect(causes?.first?["message"] as? String == "7")
    }

    @Test func portForwardStreamsCarryPortAndRequestID() throws {
        let portForward = try #require(Self.connections.last)
        let headers = try Self.decode(portForward).compactMap { frame -> SPDYHeaders? in
            guard case .synStream(let syn) = frame.payload else { return nil }
            return syn.headers
        }
        #expect(headers.map { $0.first(name: "streamtype") } == ["error", "data"])
        #expect(headers.allSatisfy { $0.first(name: "port") == "8080" && $0.first(name: "requestid") == "0" })
    }

    /// The kubelet side of the recording was written with zlib at its default level, as this
    /// encoder does, so re-encoding it gives the same bytes; kube-apiserver's side (Go's flate)
    /// compresses differently, so it must survive encode → parse unchanged.
    @Test(arguments: connections)
    func framesRoundTrip(connection: RecordedSPDYConnection) throws {
        let frames = try Self.decode(connection)
        var kubeletEncoder = SPDYFrameEncoder()
        var apiserverEncoder = SPDYFrameEncoder()
        var apiserverParser = SPDYFrameParser()
        for (recorded, frame) in zip(connection.frames, frames) {
            var encoded = ByteBuffer()
            switch recorded.direction {
            case .kubeletToApiserver:
                try kubeletEncoder.encode(frame, into: &encoded)
                #expect(encoded.hexString == recorded.bytes.hexString, "\(recorded.summary)")
            case .apiserverToKubelet:
                try apiserverEncoder.encode(frame, into: &encoded)
                if case .synStream = frame.payload {} else {
                    #expect(encoded.hexString == recorded.bytes.hexString, "\(recorded.summary)")
                }
                #expect(try apiserverParser.nextFrame(from: &encoded) == frame, "\(recorded.summary)")
            }
        }
    }
}
