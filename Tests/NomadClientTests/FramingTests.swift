import Foundation
import NomadModels
import Testing
import TestSupport

@testable import NomadClient

/// Splits `bytes` into chunks of `size` bytes (the last one shorter).
private func chunks(_ bytes: [UInt8], size: Int) -> [[UInt8]] {
    stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
}

@Suite("Stream framing")
struct FramingTests {
    static let chunkSizes = [1, 2, 3, 7, 13, 64, 1000, 1 << 20]

    @Test(arguments: chunkSizes)
    func followedFramedLogsDecodeWhateverTheChunking(chunkSize: Int) throws {
        let body = try RecordedTraffic.stream("nomad/04-logs-follow-framed.txt").body
        var decoder = LogFrameDecoder(plain: false)
        var text = Data()
        var offsets: [Int64] = []
        for chunk in chunks(Array(body.utf8), size: chunkSize) {
            for piece in try decoder.feed(chunk) {
                text.append(piece.data)
                offsets.append(piece.offset ?? -1)
            }
        }
        try decoder.finish()
        let expected = (0...40).map { "line \($0)\n" }.joined()
        #expect(String(decoding: text, as: UTF8.self) == expected)
        #expect(offsets == [254, 262, 270, 278, 286, 294, 302, 310, 318])  // heartbeats yield nothing
    }

    @Test func plainLogsPassThrough() throws {
        var decoder = LogFrameDecoder(plain: true)
        let pieces = try decoder.feed(Array("line 0\nline 1\n".utf8))
        #expect(pieces == [NomadLogChunk(data: Data("line 0\nline 1\n".utf8))])
    }

    @Test func truncatedFrameIsReported() throws {
        var decoder = LogFrameDecoder(plain: false)
        _ = try decoder.feed(Array(#"{"Data":"bGluZSAzMwo=","File":"alloc/lo"#.utf8))
        #expect(throws: JSONObjectSplitter.FramingError.self) { try decoder.finish() }
    }

    @Test func fileEventsAreDelivered() throws {
        var decoder = LogFrameDecoder(plain: false)
        let pieces = try decoder.feed(Array(#"{}{"File":"alloc/logs/web.stdout.0","FileEvent":"file truncated"}{"Data":"YQ==","Offset":1}"#.utf8))
        #expect(pieces.map(\.fileEvent) == ["file truncated", nil])
        #expect(pieces.last?.data == Data("a".utf8))
    }

    /// The table decoder agrees with Foundation on every length and padding, and refuses what it refuses.
    @Test(arguments: [0, 1, 2, 3, 4, 5, 63, 64, 65, 1000])
    func base64DecodesAsFoundationDoes(length: Int) throws {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let text = Array(Data(bytes).base64EncodedString().utf8)
        #expect(text.withUnsafeBufferPointer { Base64.decode($0) } == Data(bytes))
    }

    /// Text Go's `base64.StdEncoding` refuses (Foundation on Linux lets padding in the middle pass).
    @Test(arguments: ["YQ=", "Y===", "YQ=a", "AB=C", "Y Q==", "YQ==\n", "Y-_a", "é123"])
    func invalidBase64IsRefused(text: String) {
        #expect(Array(text.utf8).withUnsafeBufferPointer { Base64.decode($0) } == nil)
    }

    /// Frames outside the flat shape the fast reader handles (escapes, nesting, spacing, unknown
    /// members) decode through JSONDecoder to the same chunks.
    @Test(arguments: [
        #"{"Data":"YQ==","File":"alloc\/logs\/web.stdout.0","Offset":1}"#,
        #"{ "Data" : "YQ==" , "File" : "alloc/logs/web.stdout.0" , "Offset" : 1 }"#,
        #"{"Data":"YQ==","File":"alloc/logs/web.stdout.0","Offset":1,"Extra":{"nested":[1,2]}}"#,
        #"{"Data":"YQ==","File":"alloc/logs/web.stdout.0","Offset":1,"FileEvent":null,"Flag":true}"#,
    ])
    func unusualFramesDecodeLikeUsualOnes(frame: String) throws {
        var decoder = LogFrameDecoder(plain: false)
        let pieces = try decoder.feed(Array(frame.utf8))
        #expect(pieces == [NomadLogChunk(data: Data("a".utf8), file: "alloc/logs/web.stdout.0", offset: 1)])
    }

    @Test func frameWithBadBase64IsAnError() {
        var decoder = LogFrameDecoder(plain: false)
        #expect(throws: JSONObjectSplitter.FramingError.self) { _ = try decoder.feed(Array(#"{"Data":"YQ=","Offset":1}"#.utf8)) }
    }

    @Test func bracesInsideStringsDoNotSplit() throws {
        var splitter = JSONObjectSplitter()
        let objects = try splitter.feed(Array(#"{"a":"}{\"}"}  {"b":[{"c":"]"}]}"#.utf8))
        #expect(objects.count == 2)
    }

    @Test func garbageBetweenObjectsIsAnError() {
        var splitter = JSONObjectSplitter()
        #expect(throws: JSONObjectSplitter.FramingError.self) { _ = try splitter.feed(Array("<html>".utf8)) }
    }

    @Test(arguments: chunkSizes)
    func eventStreamDecodesWhateverTheChunking(chunkSize: Int) throws {
        let stream = try RecordedTraffic.stream("nomad/02-event-stream.txt")
        let expected = stream.lines.filter { $0 != "{}" }.count
        var decoder = EventStreamDecoder()
        var batches: [EventBatch] = []
        for chunk in chunks(Array(stream.body.utf8), size: chunkSize) { batches += try decoder.feed(chunk) }
        #expect(batches.count == expected)
        #expect(batches.first?.index == 7)
        #expect(batches.first?.events?.first?.topic == .node)
    }
}

@Suite("Change feed resume")
struct ChangeFeedResumeTests {
    /// All recorded batches in order.
    static func recordedBatches() throws -> [EventBatch] {
        let stream = try RecordedTraffic.stream("nomad/02-event-stream.txt")
        var decoder = EventStreamDecoder()
        return try decoder.feed(Array(stream.body.utf8))
    }

    /// Delivers `batches` through a cursor, as the feed does; returns the delivered event identities.
    static func deliver(_ batches: some Sequence<EventBatch>, cursor: inout EventStreamCursor) -> [String] {
        var delivered: [String] = []
        for batch in batches {
            for event in batch.events ?? [] where cursor.accept(event, batchIndex: batch.index) {
                delivered.append("\(event.index ?? 0) \(event.topic?.rawValue ?? "") \(event.type ?? "") \(event.key ?? "")")
            }
        }
        return delivered
    }

    @Test func duplicateEventsAtOneIndexAreDeliveredOnce() throws {
        var cursor = EventStreamCursor(startIndex: 0)
        let delivered = Self.deliver(try Self.recordedBatches(), cursor: &cursor)
        #expect(delivered.filter { $0 == "73 Job JobRegistered default.web-0" }.count == 1)
        #expect(Set(delivered).count == delivered.count)
    }

    /// Disconnect after every possible batch; the server resumes from `index` inclusively (it
    /// replays every batch at or after the index). The result must equal one uninterrupted pass.
    @Test func reconnectingAnywhereLosesAndRepeatsNothing() throws {
        let batches = try Self.recordedBatches()
        var reference = EventStreamCursor(startIndex: 0)
        let expected = Self.deliver(batches, cursor: &reference)
        for cut in 1..<batches.count {
            var cursor = EventStreamCursor(startIndex: 0)
            var delivered = Self.deliver(batches[..<cut], cursor: &cursor)
            let resume = cursor.resumeIndex
            delivered += Self.deliver(batches.filter { ($0.index ?? 0) >= resume }, cursor: &cursor)
            #expect(delivered == expected, "cut after batch \(cut)")
        }
    }

    @Test func startIndexSkipsOlderEvents() throws {
        var cursor = EventStreamCursor(startIndex: 77)
        let delivered = Self.deliver(try Self.recordedBatches(), cursor: &cursor)
        #expect(delivered.allSatisfy { Int($0.split(separator: " ")[0])! > 77 })
        #expect(delivered.first?.hasPrefix("78 ") == true)
    }

    @Test func changesComeFromJobAllocationAndNodeTopicsOnly() throws {
        var kinds: Set<String> = []
        for batch in try Self.recordedBatches() {
            for event in batch.events ?? [] {
                switch change(from: event) {
                case .job?: kinds.insert("job")
                case .jobDeregistered?: kinds.insert("jobDeregistered")
                case .allocation?: kinds.insert("allocation")
                case .node?: kinds.insert("node")
                case nil: #expect(event.topic == .evaluation)
                }
            }
        }
        #expect(kinds == ["job", "jobDeregistered", "allocation", "node"])
    }

    @Test func modifyIndexTrackerDeliversEachChangeOnce() {
        var tracker = ModifyIndexTracker(startIndex: 10)
        let answers = [
            tracker.isNew(id: "a", modifyIndex: 9),  // before the start index
            tracker.isNew(id: "b", modifyIndex: 11),
            tracker.isNew(id: "b", modifyIndex: 11),  // same state listed again
            tracker.isNew(id: "a", modifyIndex: 12),
        ]
        #expect(answers == [false, true, false, true])
        let firstRemoval = tracker.removed(keeping: ["a"])
        let secondRemoval = tracker.removed(keeping: ["a"])
        #expect(firstRemoval == ["b"])
        #expect(secondRemoval.isEmpty)
    }
}
