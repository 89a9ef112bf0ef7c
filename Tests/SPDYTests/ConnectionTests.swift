import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import SPDY

/// `SPDYConnection` on an in-memory channel: the server API driven through the recorded
/// kube-apiserver exchanges writes the same bytes the recorded kubelet wrote.
@Suite struct ConnectionTests {
    static func activeChannel() async throws -> NIOAsyncTestingChannel {
        let channel = NIOAsyncTestingChannel()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 10250)).get()
        return channel
    }

    static func configure(
        _ channel: NIOAsyncTestingChannel,
        role: SPDYConnectionStateMachine.Role,
        configuration: SPDYConnectionStateMachine.Configuration = .init()
    ) async throws -> SPDYConnection {
        try await channel.eventLoop.submit { try SPDYConnection.configure(on: channel, role: role, configuration: configuration) }.get()
    }

    /// Everything the channel wrote so far, as one hex string.
    static func written(_ channel: NIOAsyncTestingChannel) async throws -> String {
        var all = ByteBuffer()
        while let buffer = try await channel.readOutbound(as: ByteBuffer.self) { all.writeImmutableBuffer(buffer) }
        return all.hexString
    }

    @Test("scheduleClose closes the connection when its delay has passed (ending inboundStreams), not when cancelled first")
    func scheduledClose() async throws {
        let channel = try await Self.activeChannel()
        let connection = try await Self.configure(channel, role: .server)
        let cancelled = connection.scheduleClose(after: .seconds(5))
        cancelled.cancel()
        _ = connection.scheduleClose(after: .seconds(30))
        await channel.testingEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive, "closed before its deadline (or by the cancelled one)")
        await channel.testingEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        var streams = connection.inboundStreams.makeAsyncIterator()
        #expect(await streams.next() == nil)
    }

    /// Replays kube-apiserver's side of each recorded connection into a server-mode connection and
    /// answers through the public API exactly as the recorded kubelet did; the bytes written must
    /// equal the recorded kubelet's, and every stream must see the recorded stdin/resize data.
    @Test(arguments: RecordedFrameTests.connections)
    func serverAnswersLikeTheRecordedKubelet(connection recorded: RecordedSPDYConnection) async throws {
        let channel = try await Self.activeChannel()
        let connection = try await Self.configure(channel, role: .server)
        var newStreams = connection.inboundStreams.makeAsyncIterator()
        var streams: [SPDYStreamID: SPDYStream] = [:]
        var readers: [SPDYStreamID: SPDYInboundData.AsyncIterator] = [:]
        var kubeletParser = SPDYFrameParser()
        var apiserverParser = SPDYFrameParser()

        for frame in recorded.frames {
            var bytes = frame.bytes
            switch frame.direction {
            case .apiserverToKubelet:
                let decoded = try #require(try apiserverParser.nextFrame(from: &bytes))
                try await channel.writeInbound(frame.bytes)
                switch decoded.payload {
                case .synStream(let syn):
                    let stream = try #require(await newStreams.next())
                    #expect(stream.id == decoded.streamID && stream.headers == syn.headers)
                    streams[stream.id] = stream
                    readers[stream.id] = stream.inbound.makeAsyncIterator()
                case .data(let data, let fin):
                    if data.readableBytes > 0 {
                        #expect(try await readers[decoded.streamID]?.next() == data, "\(frame.summary)")
                    }
                    if fin { #expect(try await readers[decoded.streamID]?.next() == nil, "FIN ends the inbound data") }
                case .rstStream(let status):
                    await #expect(throws: SPDYError.streamReset, "\(frame.summary)") {
                        while try await readers[decoded.streamID]?.next() != nil {}
                    }
                    #expect(status == .cancel)
                case .goAway:
                    #expect(await newStreams.next() == nil, "GOAWAY ends the stream of new streams")
                default:
                    Issue.record("unexpected frame from the API server: \(frame.summary)")
                }
            case .kubeletToApiserver:
                let decoded = try #require(try kubeletParser.nextFrame(from: &bytes))
                let stream = try #require(streams[decoded.streamID])
                switch decoded.payload {
                case .synReply(let headers, _):
                    try await stream.reply(headers: headers)
                case .data(let data, fin: false):
                    try await stream.write(data)
                case .data(_, fin: true):
                    try await stream.close()
                default:
                    Issue.record("unexpected frame from the kubelet: \(frame.summary)")
                }
                #expect(try await Self.written(channel) == frame.bytes.hexString, "\(frame.summary)")
            }
        }
        #expect(try await Self.written(channel).isEmpty, "nothing unrecorded was written")
        await channel.testingEventLoop.run()  // runs a close the handler scheduled
        if recorded.title.contains("exec -i ") {
            // kube-apiserver half-closed stdin but never reset it: after GOAWAY the stream is still
            // open for the kubelet, so the connection stays up until the API server closes it.
            #expect(channel.isActive)
        } else if recorded.frames.last?.type == "GOAWAY" {
            try await channel.closeFuture.get()  // idle after GOAWAY: the server closes the connection
        }
        _ = try? await channel.finish(acceptAlreadyClosed: true)
    }

    @Test func serverEchoesPingsAndItsOwnPingsAreAnswered() async throws {
        let channel = try await Self.activeChannel()
        let connection = try await Self.configure(channel, role: .server)
        let clientPing: [UInt8] = [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1]
        try await channel.writeInbound(ByteBuffer(bytes: clientPing))
        #expect(try await Self.written(channel) == ByteBuffer(bytes: clientPing).hexString)

        async let answered: Void = connection.ping()
        let serverPing = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
        #expect(serverPing.hexString == "8003000600000004" + "00000002")
        try await channel.writeInbound(serverPing)
        try await answered
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    /// Client mode, as kube-apiserver and the test client use it: odd stream ids, SYN_REPLY awaited,
    /// the server's data read, then reset and GOAWAY as kube-apiserver ends an exec.
    @Test func clientOpensStreamsAndReadsTheReply() async throws {
        let recorded = try #require(RecordedFrameTests.connections.first)
        let channel = try await Self.activeChannel()
        let connection = try await Self.configure(channel, role: .client)
        let error = try await connection.openStream(headers: ["streamtype": "error"])
        #expect(error.id == 1)
        var parser = SPDYFrameParser()
        var sent = try #require(try await channel.readOutbound(as: ByteBuffer.self))
        #expect(try parser.nextFrame(from: &sent) == SPDYFrame(streamID: 1, payload: .synStream(.init(headers: ["streamtype": "error"]))))

        // The recorded kubelet's SYN_REPLY for stream 1, then its Status on the error stream and FIN.
        let kubeletFrames = recorded.frames.filter { $0.direction == .kubeletToApiserver }
        try await channel.writeInbound(kubeletFrames[0].bytes)
        #expect(try await error.replyHeaders().isEmpty)
        for frame in kubeletFrames where frame.streamID == 1 && frame.type == "DATA" {
            try await channel.writeInbound(frame.bytes)
        }
        let status = try await error.inbound.collect(upTo: 4096)
        #expect(String(buffer: status).contains("\"reason\": \"ExitCode\""))

        await error.reset()
        #expect(try await Self.written(channel) == "80030003000000080000000100000005")
        await connection.goAway()
        #expect(try await Self.written(channel) == "80030007000000080000000000000000")
        await channel.testingEventLoop.run()
        try await channel.closeFuture.get()
        await #expect(throws: SPDYError.connectionClosed) { try await connection.openStream(headers: [:]) }
    }

    @Test func garbageEndsTheSessionWithGoAwayAndFailsOpenStreams() async throws {
        let channel = try await Self.activeChannel()
        let connection = try await Self.configure(channel, role: .server)
        let recorded = try #require(RecordedFrameTests.connections.first)
        try await channel.writeInbound(recorded.frames[0].bytes)
        var newStreams = connection.inboundStreams.makeAsyncIterator()
        let stream = try #require(await newStreams.next())
        try await channel.writeInbound(ByteBuffer(bytes: [0x80, 0x02, 0x00, 0x01, 0, 0, 0, 0]))
        #expect(try await Self.written(channel) == "80030007000000080000000100000001", "GOAWAY last-good 1, PROTOCOL_ERROR")
        await channel.testingEventLoop.run()
        try await channel.closeFuture.get()
        await #expect(throws: SPDYError.connectionClosed) { for try await _ in stream.inbound {} }
        await #expect(throws: SPDYError.connectionClosed) { try await stream.write(ByteBuffer(string: "late")) }
        #expect(await newStreams.next() == nil)
    }

    @Test func writesBeyondTheWindowWaitForWindowUpdates() async throws {
        let channel = try await Self.activeChannel()
        let connection = try await Self.configure(channel, role: .server, configuration: .init(flowControl: .enforced))
        let recorded = try #require(RecordedFrameTests.connections.last)
        try await channel.writeInbound(recorded.frames[0].bytes)  // SYN_STREAM 1 (port-forward error stream)
        var newStreams = connection.inboundStreams.makeAsyncIterator()
        let stream = try #require(await newStreams.next())
        try await stream.reply()
        _ = try await Self.written(channel)

        async let written: Void = stream.write(ByteBuffer(repeating: 7, count: 100_000))
        var parser = SPDYFrameParser()
        var sent = 0
        while sent < 65_536 {
            var bytes = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            while let frame = try parser.nextFrame(from: &bytes) {
                if case .data(let data, _) = frame.payload { sent += data.readableBytes }
            }
        }
        #expect(sent == 65_536)
        #expect(try await Self.written(channel).isEmpty, "the windows are exhausted")
        let update = { (id: UInt32) in
            ByteBuffer(bytes: [0x80, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x08] + [0, 0, 0, UInt8(id)] + [0, 1, 0, 0])
        }
        try await channel.writeInbound(update(0))
        try await channel.writeInbound(update(1))
        try await written
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test func readingInboundDataReopensThePeersWindow() async throws {
        let channel = try await Self.activeChannel()
        let connection = try await Self.configure(channel, role: .server, configuration: .init(flowControl: .enforced))
        let recorded = try #require(RecordedFrameTests.connections.last)
        try await channel.writeInbound(recorded.frames[0].bytes)
        var newStreams = connection.inboundStreams.makeAsyncIterator()
        let stream = try #require(await newStreams.next())
        try await stream.reply()
        _ = try await Self.written(channel)

        var encoder = SPDYFrameEncoder()
        var data = ByteBuffer()
        try encoder.encode(SPDYFrame(streamID: stream.id, payload: .data(ByteBuffer(repeating: 9, count: 40_000), fin: false)), into: &data)
        try await channel.writeInbound(data)
        #expect(try await Self.written(channel).isEmpty, "nothing is acknowledged before it is read")
        var reader = stream.inbound.makeAsyncIterator()
        #expect(try await reader.next()?.readableBytes == 40_000)
        await channel.testingEventLoop.run()  // the consumption report hops to the event loop
        var parser = SPDYFrameParser()
        var written = ByteBuffer()
        while let buffer = try await channel.readOutbound(as: ByteBuffer.self) { written.writeImmutableBuffer(buffer) }
        var updates: [SPDYFrame] = []
        while let frame = try parser.nextFrame(from: &written) { updates.append(frame) }
        #expect(updates == [
            SPDYFrame(streamID: .session, payload: .windowUpdate(delta: 40_000)),
            SPDYFrame(streamID: stream.id, payload: .windowUpdate(delta: 40_000)),
        ])
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test func byDefaultLargeWritesDoNotWaitForWindowUpdates() async throws {
        let channel = try await Self.activeChannel()
        let connection = try await Self.configure(channel, role: .server)
        let recorded = try #require(RecordedFrameTests.connections.last)
        try await channel.writeInbound(recorded.frames[0].bytes)
        var newStreams = connection.inboundStreams.makeAsyncIterator()
        let stream = try #require(await newStreams.next())
        try await stream.reply()
        try await stream.write(ByteBuffer(repeating: 7, count: 300_000))  // kube-apiserver never sends WINDOW_UPDATE
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    /// Counts the reads that reach the socket end of the pipeline.
    final class ReadCounter: ChannelOutboundHandler, Sendable {
        typealias OutboundIn = ByteBuffer
        let reads = Atomic<Int>(0)
        func read(context: ChannelHandlerContext) {
            reads.add(1, ordering: .relaxed)
            context.read()
        }
    }

    @Test func socketReadsPauseWhileTooMuchDataIsUnread() async throws {
        let channel = try await Self.activeChannel()
        let counter = ReadCounter()
        let connection = try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(counter)
            return try SPDYConnection.configure(on: channel, role: .server, maxBufferedInboundBytes: 50_000)
        }.get()
        let recorded = try #require(RecordedFrameTests.connections.last)
        try await channel.writeInbound(recorded.frames[0].bytes)
        var newStreams = connection.inboundStreams.makeAsyncIterator()
        let stream = try #require(await newStreams.next())
        try await stream.reply()

        var encoder = SPDYFrameEncoder()
        var data = ByteBuffer()
        try encoder.encode(SPDYFrame(streamID: stream.id, payload: .data(ByteBuffer(repeating: 9, count: 60_000), fin: false)), into: &data)
        try await channel.writeInbound(data)
        let before = counter.reads.load(ordering: .relaxed)
        channel.read()
        await channel.testingEventLoop.run()
        #expect(counter.reads.load(ordering: .relaxed) == before, "60,000 unread bytes > 50,000: the read is held")

        var reader = stream.inbound.makeAsyncIterator()
        #expect(try await reader.next()?.readableBytes == 60_000)
        await channel.testingEventLoop.run()  // the consumption report hops to the event loop
        #expect(counter.reads.load(ordering: .relaxed) == before + 1, "reading the data releases the held read")
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }
}
