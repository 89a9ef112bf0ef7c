import NIOCore
import Testing

@testable import SPDY

/// The session rules, events in → actions out, without sockets.
@Suite struct ConnectionStateMachineTests {
    typealias Action = SPDYConnectionStateMachine.Action

    static func syn(_ id: SPDYStreamID, _ headers: SPDYHeaders = ["streamtype": "stdout"], fin: Bool = false, unidirectional: Bool = false) -> SPDYFrame {
        SPDYFrame(streamID: id, payload: .synStream(.init(headers: headers, fin: fin, unidirectional: unidirectional)))
    }
    static func data(_ id: SPDYStreamID, _ text: String, fin: Bool = false) -> SPDYFrame {
        SPDYFrame(streamID: id, payload: .data(ByteBuffer(string: text), fin: fin))
    }
    static func data(_ id: SPDYStreamID, count: Int, fin: Bool = false) -> SPDYFrame {
        SPDYFrame(streamID: id, payload: .data(ByteBuffer(repeating: 1, count: count), fin: fin))
    }
    static func rst(_ id: SPDYStreamID, _ status: SPDYStreamStatus) -> Action {
        .write(SPDYFrame(streamID: id, payload: .rstStream(status)))
    }
    static func reply(_ id: SPDYStreamID, fin: Bool = false) -> SPDYFrame {
        SPDYFrame(streamID: id, payload: .synReply(headers: SPDYHeaders(), fin: fin))
    }

    static let enforced = SPDYConnectionStateMachine.Configuration(flowControl: .enforced)

    /// A server (enforcing SPDY/3.1 flow control) with one stream opened by the client and replied to.
    static func serverWithStream(_ id: SPDYStreamID = 1) throws -> SPDYConnectionStateMachine {
        var server = SPDYConnectionStateMachine(role: .server, configuration: enforced)
        _ = server.receive(syn(id))
        _ = try server.reply(to: id)
        return server
    }

    // MARK: stream ids

    @Test func serverAcceptsOddStreamsFromTheClientAndReplies() throws {
        var server = SPDYConnectionStateMachine(role: .server)
        #expect(server.receive(Self.syn(1, ["streamtype": "error"])) == [.streamOpened(1, headers: ["streamtype": "error"], fin: false, unidirectional: false)])
        #expect(try server.reply(to: 1) == [.write(Self.reply(1))])
        #expect(server.openStreamIDs == [1])
    }

    @Test func serverRejectsEvenStreamFromClientAsSessionError() {
        var server = SPDYConnectionStateMachine(role: .server)
        let actions = server.receive(Self.syn(2))
        #expect(actions.first == .write(SPDYFrame(streamID: .session, payload: .goAway(lastGoodStreamID: 0, status: .protocolError))))
        #expect(actions.last == .closeConnection(.protocolViolation))
        #expect(server.receive(Self.syn(3)).isEmpty, "a closed session ignores frames")
    }

    @Test func clientRejectsOddStreamFromServer() {
        var client = SPDYConnectionStateMachine(role: .client)
        #expect(client.receive(Self.syn(1)).last == .closeConnection(.protocolViolation))
    }

    @Test func streamIDsMustIncrease() {
        var server = SPDYConnectionStateMachine(role: .server)
        _ = server.receive(Self.syn(5))
        _ = server.receive(Self.rst(5, .cancel).frame!)
        let actions = server.receive(Self.syn(3))
        #expect(actions == [
            .write(SPDYFrame(streamID: .session, payload: .goAway(lastGoodStreamID: 5, status: .protocolError))),
            .closeConnection(.protocolViolation),
        ])
    }

    @Test func secondSynStreamForAnOpenStreamIsStreamInUse() {
        var server = SPDYConnectionStateMachine(role: .server)
        _ = server.receive(Self.syn(1))
        #expect(server.receive(Self.syn(1)) == [Self.rst(1, .streamInUse), .streamReset(1, .streamInUse)])
    }

    @Test func clientOpensOddStreamsAndServerEvenOnes() throws {
        var client = SPDYConnectionStateMachine(role: .client)
        var server = SPDYConnectionStateMachine(role: .server)
        let clientIDs = try (0..<3).map { _ in try client.openStream(headers: ["streamtype": "data"]).0 }
        let serverIDs = try (0..<3).map { _ in try server.openStream(headers: [:]).0 }
        #expect(clientIDs == [1, 3, 5])
        #expect(serverIDs == [2, 4, 6])
    }

    @Test func streamsBeyondTheConcurrencyLimitAreRefused() {
        var server = SPDYConnectionStateMachine(role: .server, configuration: .init(maxConcurrentPeerStreams: 1))
        _ = server.receive(Self.syn(1))
        #expect(server.receive(Self.syn(3)) == [Self.rst(3, .refusedStream)])
    }

    @Test func peerMaxConcurrentStreamsLimitsOpening() throws {
        var client = SPDYConnectionStateMachine(role: .client)
        _ = client.receive(SPDYFrame(streamID: .session, payload: .settings([SPDYSetting(.maxConcurrentStreams, 1)], clearSettings: false)))
        _ = try client.openStream(headers: [:])
        #expect(throws: SPDYError.invalidStreamState) { try client.openStream(headers: [:]) }
    }

    // MARK: SYN_REPLY and half-close

    @Test func recipientMayNotSendBeforeReplying() {
        var server = SPDYConnectionStateMachine(role: .server)
        _ = server.receive(Self.syn(1))
        #expect(throws: SPDYError.invalidStreamState) { try server.sendData(on: 1, ByteBuffer(string: "x")) }
    }

    @Test func dataBeforeSynReplyIsAProtocolErrorOnTheStream() throws {
        var client = SPDYConnectionStateMachine(role: .client)
        _ = try client.openStream(headers: [:])
        #expect(client.receive(Self.data(1, "early")) == [Self.rst(1, .protocolError), .streamReset(1, .protocolError)])
    }

    @Test func secondSynReplyIsStreamInUse() throws {
        var client = SPDYConnectionStateMachine(role: .client)
        _ = try client.openStream(headers: [:])
        #expect(client.receive(Self.reply(1)) == [.streamReplied(1, headers: [:], fin: false)])
        #expect(client.receive(Self.reply(1)) == [Self.rst(1, .streamInUse), .streamReset(1, .streamInUse)])
    }

    @Test func streamEndsWhenBothSidesSentFin() throws {
        var server = try Self.serverWithStream()
        #expect(server.receive(Self.data(1, "in", fin: true)) == [.dataReceived(1, ByteBuffer(string: "in"), fin: true)])
        #expect(server.openStreamIDs == [1], "half-closed: the server may still send")
        #expect(try server.sendData(on: 1, ByteBuffer(string: "out"), fin: true) == [
            .write(Self.data(1, "out", fin: true)), .streamClosed(1),
        ])
        #expect(server.openStreamIDs.isEmpty)
    }

    @Test func dataAfterThePeersFinIsStreamAlreadyClosed() throws {
        var server = try Self.serverWithStream()
        _ = server.receive(Self.data(1, "", fin: true))
        #expect(server.receive(Self.data(1, "late")) == [Self.rst(1, .streamAlreadyClosed), .streamReset(1, .streamAlreadyClosed)])
    }

    @Test func writingAfterOwnFinIsRefused() throws {
        var server = try Self.serverWithStream()
        _ = try server.sendData(on: 1, ByteBuffer(), fin: true)
        #expect(throws: SPDYError.invalidStreamState) { try server.sendData(on: 1, ByteBuffer(string: "x")) }
    }

    @Test func synStreamWithFinIsHalfClosedAtOnce() throws {
        var server = SPDYConnectionStateMachine(role: .server)
        #expect(server.receive(Self.syn(1, fin: true)) == [.streamOpened(1, headers: ["streamtype": "stdout"], fin: true, unidirectional: false)])
        #expect(try server.reply(to: 1, fin: true) == [.write(Self.reply(1, fin: true)), .streamClosed(1)])
    }

    @Test func unidirectionalStreamCannotBeWrittenByTheRecipient() throws {
        var server = SPDYConnectionStateMachine(role: .server)
        _ = server.receive(Self.syn(1, unidirectional: true))
        #expect(!server.canSend(on: 1))
        #expect(server.receive(Self.data(1, "x", fin: true)) == [.dataReceived(1, ByteBuffer(string: "x"), fin: true), .streamClosed(1)])
    }

    @Test func dataForANeverOpenedStreamIsInvalidStream() {
        var server = SPDYConnectionStateMachine(role: .server)
        #expect(server.receive(Self.data(9, "x")) == [Self.rst(9, .invalidStream)])
    }

    @Test func dataForAStreamThatEndedIsIgnored() throws {
        var server = try Self.serverWithStream()
        _ = server.resetStream(1)
        #expect(server.receive(Self.data(1, "in flight")).isEmpty)
    }

    // MARK: RST_STREAM

    @Test func peerResetEndsTheStream() throws {
        var server = try Self.serverWithStream()
        #expect(server.receive(Self.rst(1, .cancel).frame!) == [.streamReset(1, .cancel)])
        #expect(server.receive(Self.rst(1, .cancel).frame!).isEmpty, "a reset is never answered")
        #expect(throws: SPDYError.invalidStreamState) { try server.sendData(on: 1, ByteBuffer(string: "x")) }
    }

    @Test func ownResetDropsQueuedData() throws {
        var server = try Self.serverWithStream()
        _ = try server.sendData(on: 1, ByteBuffer(repeating: 0, count: 70_000))
        #expect(server.pendingOutboundBytes(on: 1) > 0)
        #expect(server.resetStream(1, status: .internalError) == [Self.rst(1, .internalError)])
        #expect(server.pendingOutboundBytes(on: 1) == 0)
        #expect(server.resetStream(1).isEmpty)
    }

    @Test(arguments: [
        (SPDYStreamStatus.protocolError, UInt32(1)), (.invalidStream, 2), (.refusedStream, 3), (.unsupportedVersion, 4),
        (.cancel, 5), (.internalError, 6), (.flowControlError, 7), (.streamInUse, 8), (.streamAlreadyClosed, 9), (.frameTooLarge, 11),
    ])
    func statusCodesHaveTheirSpecValues(status: SPDYStreamStatus, value: UInt32) {
        #expect(status.rawValue == value)
    }

    // MARK: flow control

    @Test func outboundDataWaitsForTheStreamWindow() throws {
        var server = try Self.serverWithStream()
        let actions = try server.sendData(on: 1, ByteBuffer(repeating: 1, count: 70_000), fin: true)
        let sent = actions.compactMap(\.dataLength).reduce(0, +)
        #expect(sent == 65_536, "the initial window is 64 KiB")
        #expect(actions.allSatisfy { $0.dataLength.map { $0 <= 16_384 } ?? true }, "frames are at most maxDataFrameSize")
        #expect(server.pendingOutboundBytes(on: 1) == 70_000 - 65_536)
        let more = server.receive(SPDYFrame(streamID: 1, payload: .windowUpdate(delta: 10_000)))
        #expect(more.isEmpty, "the session window is exhausted too")
        let rest = server.receive(SPDYFrame(streamID: .session, payload: .windowUpdate(delta: 10_000)))
        #expect(rest.compactMap(\.dataLength) == [70_000 - 65_536])
        #expect(rest == [.write(Self.data(1, count: 70_000 - 65_536, fin: true))])
        #expect(server.pendingOutboundBytes(on: 1) == 0)
    }

    @Test func settingsInitialWindowSizeAdjustsOpenStreams() throws {
        var server = try Self.serverWithStream()
        _ = try server.sendData(on: 1, ByteBuffer(repeating: 1, count: 20_000))
        // The peer shrinks the window to 10,000: the stream is now 10,000 bytes over, so nothing more goes out.
        _ = server.receive(SPDYFrame(streamID: .session, payload: .settings([SPDYSetting(.initialWindowSize, 10_000)], clearSettings: false)))
        _ = server.receive(SPDYFrame(streamID: .session, payload: .windowUpdate(delta: 100_000)))
        #expect(try server.sendData(on: 1, ByteBuffer(repeating: 1, count: 5)).isEmpty)
        // Growing it back to 64 KiB gives 55,536 more bytes of room.
        let actions = server.receive(SPDYFrame(streamID: .session, payload: .settings([SPDYSetting(.initialWindowSize, 65_536)], clearSettings: false)))
        #expect(actions.compactMap(\.dataLength).reduce(0, +) == 5)
        // A new stream starts with the peer's current initial window.
        _ = server.receive(SPDYFrame(streamID: .session, payload: .settings([SPDYSetting(.initialWindowSize, 100)], clearSettings: false)))
        _ = server.receive(Self.syn(3))
        _ = try server.reply(to: 3)
        #expect(try server.sendData(on: 3, ByteBuffer(repeating: 1, count: 500)).compactMap(\.dataLength) == [100])
    }

    @Test func peerExceedingTheStreamWindowIsFlowControlError() throws {
        var server = SPDYConnectionStateMachine(role: .server, configuration: .init(initialWindowSize: 10_000, flowControl: .enforced))
        _ = server.receive(Self.syn(1))
        _ = try server.reply(to: 1)
        #expect(server.receive(Self.data(1, count: 6_000)).count == 1)
        let actions = server.receive(Self.data(1, count: 6_000))
        #expect(actions.contains(Self.rst(1, .flowControlError)))
        #expect(actions.contains(.streamReset(1, .flowControlError)))
    }

    @Test func peerExceedingTheSessionWindowEndsTheSession() throws {
        var server = SPDYConnectionStateMachine(role: .server, configuration: .init(initialWindowSize: 1 << 20, flowControl: .enforced))
        for id: SPDYStreamID in [1, 3] {
            _ = server.receive(Self.syn(id))
            _ = try server.reply(to: id)
        }
        _ = server.receive(Self.data(1, count: 40_000))
        let actions = server.receive(Self.data(3, count: 30_000))
        #expect(actions.last == .closeConnection(.flowControlViolation))
    }

    @Test func consumingHalfAWindowSendsWindowUpdates() throws {
        var server = try Self.serverWithStream()
        _ = server.receive(Self.data(1, count: 20_000))
        #expect(server.dataConsumed(on: 1, bytes: 20_000).isEmpty, "less than half a window used")
        _ = server.receive(Self.data(1, count: 20_000))
        #expect(server.dataConsumed(on: 1, bytes: 20_000) == [
            .write(SPDYFrame(streamID: .session, payload: .windowUpdate(delta: 40_000))),
            .write(SPDYFrame(streamID: 1, payload: .windowUpdate(delta: 40_000))),
        ])
        // The window was restored, so another 64 KiB are accepted.
        #expect(server.receive(Self.data(1, count: 60_000)).count == 1)
    }

    @Test func zeroDeltaWindowUpdateIsAProtocolError() throws {
        var server = try Self.serverWithStream()
        #expect(server.receive(SPDYFrame(streamID: 1, payload: .windowUpdate(delta: 0))) == [Self.rst(1, .protocolError), .streamReset(1, .protocolError)])
    }

    @Test func windowOverflowIsFlowControlError() throws {
        var server = try Self.serverWithStream()
        #expect(server.receive(SPDYFrame(streamID: 1, payload: .windowUpdate(delta: 0x7FFF_FFFF))) == [Self.rst(1, .flowControlError), .streamReset(1, .flowControlError)])
    }

    @Test func nonDefaultReceiveWindowIsAnnouncedBySettings() {
        let server = SPDYConnectionStateMachine(role: .server, configuration: .init(initialWindowSize: 1 << 20, flowControl: .enforced))
        #expect(server.start() == [.write(SPDYFrame(streamID: .session, payload: .settings([SPDYSetting(.initialWindowSize, 1 << 20)], clearSettings: false)))])
        #expect(SPDYConnectionStateMachine(role: .server, configuration: Self.enforced).start().isEmpty)
        #expect(SPDYConnectionStateMachine(role: .server, configuration: .init(initialWindowSize: 1 << 20)).start().isEmpty, "not with flow control disabled")
    }

    /// Kubernetes' spdystream neither sends WINDOW_UPDATE nor waits for one: by default, windows
    /// are ignored so output does not stall after 64 KiB and large stdin is not reset.
    @Test func withFlowControlDisabledWindowsAreIgnoredBothWays() throws {
        var server = SPDYConnectionStateMachine(role: .server)
        _ = server.receive(Self.syn(1))
        _ = try server.reply(to: 1)
        let sent = try server.sendData(on: 1, ByteBuffer(repeating: 1, count: 200_000), fin: true)
        #expect(sent.compactMap(\.dataLength).reduce(0, +) == 200_000)
        #expect(server.pendingOutboundBytes(on: 1) == 0)
        for _ in 0..<4 {
            #expect(server.receive(Self.data(1, count: 60_000)) == [.dataReceived(1, ByteBuffer(repeating: 1, count: 60_000), fin: false)])
            #expect(server.dataConsumed(on: 1, bytes: 60_000).isEmpty, "no WINDOW_UPDATE: the peer ignores them")
        }
        #expect(server.receive(SPDYFrame(streamID: 1, payload: .windowUpdate(delta: 0))).isEmpty, "WINDOW_UPDATE is ignored")
    }

    // MARK: PING

    @Test func serverEchoesTheClientsOddPings() {
        var server = SPDYConnectionStateMachine(role: .server)
        let ping = SPDYFrame(streamID: .session, payload: .ping(1))
        #expect(server.receive(ping) == [.write(ping)])
        #expect(server.receive(SPDYFrame(streamID: .session, payload: .ping(2))).isEmpty, "an unsolicited even id is ignored")
    }

    @Test func ownPingsAreMatchedToTheirAnswers() {
        var server = SPDYConnectionStateMachine(role: .server)
        let (id, actions) = server.ping()
        #expect(id == 2 && actions == [.write(SPDYFrame(streamID: .session, payload: .ping(2)))])
        #expect(server.ping().0 == 4)
        #expect(server.receive(SPDYFrame(streamID: .session, payload: .ping(2))) == [.pingAnswered(2)])
        #expect(server.receive(SPDYFrame(streamID: .session, payload: .ping(2))).isEmpty, "answered once")
        var client = SPDYConnectionStateMachine(role: .client)
        #expect(client.ping().0 == 1)
    }

    // MARK: GOAWAY

    @Test func goAwayCarriesTheLastPeerStreamAndStopsNewStreams() throws {
        var server = try Self.serverWithStream(3)
        #expect(server.goAway() == [.write(SPDYFrame(streamID: .session, payload: .goAway(lastGoodStreamID: 3, status: .ok)))])
        #expect(server.goAway().isEmpty, "sent once")
        #expect(server.receive(Self.syn(5)).isEmpty, "new streams after GOAWAY are ignored")
        #expect(throws: SPDYError.connectionClosed) { try server.openStream(headers: [:]) }
        // The open stream still finishes, and then the connection may close.
        _ = server.receive(Self.data(3, "", fin: true))
        #expect(try server.sendData(on: 3, ByteBuffer(), fin: true) == [.write(Self.data(3, "", fin: true)), .streamClosed(3), .closeConnection(nil)])
    }

    @Test func receivedGoAwayRefusesOwnStreamsAboveTheLastGoodID() throws {
        var client = SPDYConnectionStateMachine(role: .client)
        for _ in 0..<3 { _ = try client.openStream(headers: [:]) }
        let actions = client.receive(SPDYFrame(streamID: .session, payload: .goAway(lastGoodStreamID: 1, status: .ok)))
        #expect(actions == [.streamReset(3, .refusedStream), .streamReset(5, .refusedStream), .goAwayReceived(lastGoodStreamID: 1, status: .ok)])
        #expect(client.openStreamIDs == [1])
        #expect(throws: SPDYError.connectionClosed) { try client.openStream(headers: [:]) }
    }

    /// The end of the recorded `kubectl exec`: the kubelet finished its streams, kube-apiserver
    /// resets every stream (CANCEL) and sends GOAWAY; the session is then idle.
    @Test func recordedExecShutdown() throws {
        var server = SPDYConnectionStateMachine(role: .server)
        for id: SPDYStreamID in [1, 3, 5] {
            _ = server.receive(Self.syn(id))
            _ = try server.reply(to: id)
        }
        _ = try server.sendData(on: 3, ByteBuffer(string: "hello\n"), fin: true)
        _ = try server.sendData(on: 5, ByteBuffer(string: "a line on stderr\n"), fin: true)
        _ = try server.sendData(on: 1, ByteBuffer(string: "{}"), fin: true)
        for id: SPDYStreamID in [1, 3, 5] {
            #expect(server.receive(Self.rst(id, .cancel).frame!) == [.streamReset(id, .cancel)])
        }
        #expect(server.receive(SPDYFrame(streamID: .session, payload: .goAway(lastGoodStreamID: 0, status: .ok))) == [.goAwayReceived(lastGoodStreamID: 0, status: .ok)])
        #expect(server.isIdleAfterGoAway)
    }
}

extension SPDYConnectionStateMachine.Action {
    /// The frame of a `.write`.
    var frame: SPDYFrame? {
        guard case .write(let frame) = self else { return nil }
        return frame
    }

    /// The payload length of a written data frame.
    var dataLength: Int? {
        guard case .write(let frame) = self, case .data(let data, _) = frame.payload else { return nil }
        return data.readableBytes
    }
}
