import Foundation
import Hummingbird
import KubernetesModels
import Logging
import NIOCore
import NomadClient
import NomadModels

/// The kubelet's `PodLogOptions` as `/containerLogs` takes them in its query.
struct ContainerLogOptions: Sendable, Hashable {
    var follow = false
    var previous = false
    var timestamps = false
    var tailLines: Int?
    var limitBytes: Int?
    var since: Date?

    /// Parses the query as the kubelet does: 400 for a value that does not decode, 422 for one that
    /// decodes but is out of range or conflicts with another.
    init(query: [(String, String)], now: Date = Date()) throws(KubeletServerError) {
        func flag(_ value: String, _ name: String) throws(KubeletServerError) -> Bool {
            switch value.lowercased() {
            case "", "true", "1": return true
            case "false", "0": return false
            default: throw .badRequest("unable to decode query: \(name)=\(value) is not a boolean")
            }
        }
        func integer(_ value: String, _ name: String, minimum: Int) throws(KubeletServerError) -> Int {
            guard let number = Int(value) else { throw .badRequest("unable to decode query: \(name)=\(value) is not an integer") }
            guard number >= minimum else { throw .invalid("invalid request: \(name)=\(value) must be at least \(minimum)") }
            return number
        }
        var sinceSeconds: Int?
        var sinceTime: Date?
        for (name, value) in query {
            switch name {
            case "follow": follow = try flag(value, name)
            case "previous": previous = try flag(value, name)
            case "timestamps": timestamps = try flag(value, name)
            case "tailLines": tailLines = try integer(value, name, minimum: 0)
            case "limitBytes": limitBytes = try integer(value, name, minimum: 1)
            case "sinceSeconds": sinceSeconds = try integer(value, name, minimum: 1)
            case "sinceTime":
                guard let date = Time(rawValue: value).date else {
                    throw .badRequest("unable to decode query: sinceTime=\(value) is not an RFC 3339 time")
                }
                sinceTime = date
            default: continue
            }
        }
        if sinceSeconds != nil, sinceTime != nil { throw .invalid("invalid request: at most one of sinceTime or sinceSeconds may be specified") }
        since = sinceTime ?? sinceSeconds.map { now.addingTimeInterval(-Double($0)) }
    }
}

/// `GET /containerLogs/{namespace}/{pod}/{container}`: a container's stdout and stderr from Nomad's
/// allocation logs (`/v1/client/fs/logs`).
///
/// Nomad's log model decides what is possible: each task writes `alloc/logs/<task>.stdout.N` and
/// `.stderr.N` (rotated at `MaxFileSizeMB`, `MaxFiles` kept), every run of the task appending to the
/// same files, with no time per line. So: history is stdout then stderr (new output while following
/// is interleaved as it arrives); `timestamps` are the times the agent read the bytes; `since*`
/// drops the history only when the task finished before the cut-off; `previous` is the previous
/// allocation's log after a job update, or this allocation's log (which holds the earlier runs)
/// after in-place restarts.
///
/// Failures are answered as the kubelet's `getContainerLogs` answers them (go-restful's
/// `WriteError`): the status code and the error's text as a plain-text body, no Status object.
/// kube-apiserver's pods/log proxy turns that text into the Status its client sees.
struct ContainerLogs: Sendable {
    let locator: PodLocator
    let nomad: NomadClient
    let logger: Logger

    private struct Source: Sendable {
        var allocationID: String
        var task: String
        var finishedAt: Date?
        var follow: Bool
    }

    func respond(namespace: String, pod: String, container: String, query: [(String, String)], channel: any Channel) async -> Response {
        do {
            return try await logs(namespace: namespace, pod: pod, container: container, query: query, channel: channel)
        } catch let error as KubeletServerError {
            return Self.plainTextError(error)
        } catch {
            logger.error("container logs request failed", metadata: ["pod": "\(namespace)/\(pod)", "container": "\(container)", "error": "\(error)"])
            return Self.plainTextError(.internalError("\(error)"))
        }
    }

    /// An error as go-restful's `WriteError` writes it: the code, the text, and the content type
    /// Go's `http.ResponseWriter` sniffs for it.
    static func plainTextError(_ error: KubeletServerError) -> Response {
        Response(
            status: HTTPResponse.Status(code: error.httpStatus), headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: error.message)))
    }

    private func logs(namespace: String, pod: String, container: String, query: [(String, String)], channel: any Channel) async throws -> Response {
        let options = try ContainerLogOptions(query: query)
        let located = try await locator.locate(namespace: namespace, pod: pod, container: container)
        let source = try previousOrCurrent(located, options: options)
        try await checkLogExists(source, pod: pod, container: container)
        let withHistory = !(options.since.map { since in source.finishedAt.map { $0 < since } ?? false } ?? false)
        let follow = source.follow
        let nomad = self.nomad
        let logger = self.logger
        let body = ResponseBody { bodyWriter in
            // The history streams through as Nomad hands it out (stdout, then stderr), never held
            // whole: with tailLines only the last lines are kept while reading.
            var writer = LogWriter(options: options)
            var tail = options.tailLines.map(TailBuffer.init(lines:))
            var offsets: [NomadLogType: Int64] = [:]
            var stdoutEnd: UInt8?
            if withHistory {
                do {
                    for type in [NomadLogType.stdout, .stderr] {
                        if type == .stderr, let last = stdoutEnd, last != UInt8(ascii: "\n") {
                            // A newline between the two histories when stdout did not end with one.
                            let separator = Data([UInt8(ascii: "\n")])
                            if tail != nil { tail?.append(separator) } else { try await bodyWriter.write(ByteBuffer(bytes: writer.stream(separator))) }
                        }
                        var read: Int64 = 0
                        for try await chunk in nomad.logs(allocationID: source.allocationID, task: source.task, type: type, plain: true) where !chunk.data.isEmpty {
                            read += Int64(chunk.data.count)
                            if type == .stdout { stdoutEnd = chunk.data.last }
                            if tail != nil {
                                tail?.append(chunk.data)
                            } else {
                                let out = writer.stream(chunk.data)
                                if !out.isEmpty { try await bodyWriter.write(ByteBuffer(bytes: out)) }
                                if writer.isDone { break }
                            }
                        }
                        offsets[type] = read
                        if writer.isDone { break }
                    }
                } catch {
                    // The answer has begun: all that is left is to end it early, as the kubelet does.
                    KubeletServerMetrics.recordBackendError(.nomad)
                    logger.warning("reading a Nomad log failed", metadata: ["task": "\(source.task)", "error": "\(error)"])
                    throw error
                }
            }
            if let tail {
                let out = writer.history(Data(tail.bytes))
                if !out.isEmpty { try await bodyWriter.write(ByteBuffer(bytes: out)) }
            }
            guard follow, !writer.isDone else { return try await bodyWriter.finish(nil) }
            let followFrom = offsets
            let (events, sink) = AsyncStream<FollowEvent>.makeStream()
            // A client that goes away ends the follow (and with it the Nomad streams).
            channel.closeFuture.whenComplete { _ in sink.yield(.clientClosed) }
            var clientClosed = false
            try await withThrowingTaskGroup(of: Void.self) { group in
                for type in [NomadLogType.stdout, .stderr] {
                    group.addTask {
                        do {
                            let stream = nomad.logs(
                                allocationID: source.allocationID, task: source.task, type: type, origin: .start, offset: followFrom[type] ?? 0,
                                follow: true, plain: true)
                            // One chunk at a time: the next is read from Nomad once the writer took
                            // this one, so a slow client slows the stream instead of filling memory.
                            for try await chunk in stream where !chunk.data.isEmpty {
                                await withCheckedContinuation { (taken: CheckedContinuation<Void, Never>) in
                                    if case .terminated = sink.yield(.data(chunk.data, taken: taken)) { taken.resume() }
                                }
                            }
                        } catch {
                            if !(error is CancellationError) {
                                logger.warning("following a Nomad log failed", metadata: ["task": "\(source.task)", "error": "\(error)"])
                            }
                        }
                        sink.yield(.streamEnded)
                    }
                }
                var iterator = events.makeAsyncIterator()
                var endedStreams = 0
                var failure: (any Error)?
                do {
                    loop: while let event = await iterator.next() {
                        switch event {
                        case .data(let data, let taken):
                            taken.resume()
                            let out = writer.stream(data)
                            if !out.isEmpty { try await bodyWriter.write(ByteBuffer(bytes: out)) }
                            if writer.isDone { break loop }
                        case .streamEnded:
                            endedStreams += 1
                            if endedStreams == 2 { break loop }
                        case .clientClosed:
                            clientClosed = true
                            break loop
                        }
                    }
                } catch {
                    failure = error
                }
                // Stop: no more events, the Nomad streams cancelled, and every reader still waiting
                // for its chunk to be taken released (after finish the stream hands out what it
                // buffered, then ends), so the group can finish.
                sink.finish()
                group.cancelAll()
                while let event = await iterator.next() {
                    if case .data(_, let taken) = event { taken.resume() }
                }
                if let failure { throw failure }
            }
            logger.debug("log follow ended", metadata: ["allocation": "\(source.allocationID)", "task": "\(source.task)", "clientClosed": "\(clientClosed)"])
            if !clientClosed { try await bodyWriter.finish(nil) }
        }
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: body)
    }

    private enum FollowEvent: Sendable {
        /// Bytes from Nomad; `taken` resumes the reader once the writer has them.
        case data(Data, taken: CheckedContinuation<Void, Never>)
        case streamEnded
        case clientClosed
    }

    /// Which allocation's log to read.
    private func previousOrCurrent(_ located: LocatedContainer, options: ContainerLogOptions) throws(KubeletServerError) -> Source {
        let state = located.taskState
        guard options.previous else {
            let finished = state?.state == .dead ? state?.finishedAt?.date : nil
            return Source(allocationID: located.allocationID, task: located.taskName, finishedAt: finished, follow: options.follow && finished == nil)
        }
        if (state?.restarts ?? 0) > 0 {
            // The earlier runs of this allocation's task are in its (shared) log.
            return Source(allocationID: located.allocationID, task: located.taskName, finishedAt: state?.lastRestart?.date, follow: false)
        }
        if let older = located.olderAllocations.first(where: { $0.taskStates?[located.taskName] != nil }), let id = older.id {
            return Source(allocationID: id, task: located.taskName, finishedAt: older.taskStates?[located.taskName]?.finishedAt?.date, follow: false)
        }
        throw .badRequest("previous terminated container \"\(located.containerName)\" in pod \"\(located.pod.metadata.name ?? "")\" not found")
    }

    /// Reads nothing from the end of the task's stdout: Nomad answers 404 once the allocation is
    /// collected, which becomes the kubelet's 400 with a message rather than a broken body.
    private func checkLogExists(_ source: Source, pod: String, container: String) async throws(KubeletServerError) {
        do {
            for try await _ in nomad.logs(allocationID: source.allocationID, task: source.task, type: .stdout, origin: .end, offset: 0, plain: true) {}
        } catch let error as NomadClientError where error.kind == .notFound {
            throw .badRequest(
                "the logs of container \"\(container)\" in pod \"\(pod)\" are gone: Nomad no longer has allocation \(source.allocationID) "
                    + "(garbage-collected); \(error.message)")
        } catch {
            KubeletServerMetrics.recordBackendError(.nomad)
            throw .badRequest("cannot read the stdout of Nomad task \(source.task) in allocation \(source.allocationID): \(error)")
        }
    }
}

/// Applies `tailLines`, `timestamps` and `limitBytes` to the bytes going out.
struct LogWriter: Sendable {
    private let options: ContainerLogOptions
    private var written = 0
    private var atLineStart = true

    init(options: ContainerLogOptions) { self.options = options }

    /// Whether `limitBytes` has been reached.
    var isDone: Bool { options.limitBytes.map { written >= $0 } ?? false }

    /// The history, cut to the last `tailLines` lines.
    mutating func history(_ data: Data) -> [UInt8] {
        var bytes = Array(data)
        if let tail = options.tailLines {
            bytes = Self.lastLines(bytes, count: tail)
        }
        return emit(bytes)
    }

    /// The next bytes going out, as they come: the history without `tailLines`, and new output
    /// while following.
    mutating func stream(_ data: Data) -> [UInt8] { emit(Array(data)) }

    private mutating func emit(_ bytes: [UInt8]) -> [UInt8] {
        guard !isDone, !bytes.isEmpty else { return [] }
        var out: [UInt8] = []
        if options.timestamps {
            let stamp = Array((RFC3339Nano.format(Date()) + " ").utf8)
            for byte in bytes {
                if atLineStart { out += stamp }
                out.append(byte)
                atLineStart = byte == UInt8(ascii: "\n")
            }
        } else {
            out = bytes
            atLineStart = bytes.last == UInt8(ascii: "\n")
        }
        if let limit = options.limitBytes, written + out.count > limit { out = Array(out.prefix(limit - written)) }
        written += out.count
        return out
    }

    /// The last `count` lines (a final line without newline counts as one).
    static func lastLines(_ bytes: [UInt8], count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        var end = bytes.count
        if end > 0, bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        var seen = 0
        var index = end
        while index > 0 {
            index -= 1
            if bytes[index] == UInt8(ascii: "\n") {
                seen += 1
                if seen == count { return Array(bytes[(index + 1)...]) }
            }
        }
        return bytes
    }
}

/// The last `lines` lines of a byte stream, kept while it is read (a final line without a newline
/// counts as one), so `tailLines` never holds a whole log.
struct TailBuffer: Sendable {
    private let lines: Int
    private(set) var bytes: [UInt8] = []
    private var trimmedSize = 0

    init(lines: Int) { self.lines = lines }

    mutating func append(_ data: Data) {
        bytes.append(contentsOf: data)
        // Trim once the buffer has doubled since the last trim: linear in what is read.
        if bytes.count > 2 * trimmedSize + 65536 {
            bytes = LogWriter.lastLines(bytes, count: lines)
            trimmedSize = bytes.count
        }
    }
}

/// Go's `time.RFC3339Nano` in UTC, as the kubelet prefixes log lines with `timestamps=true`.
enum RFC3339Nano {
    static func format(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        var nanos = Int(((date.timeIntervalSince1970 - seconds) * 1e9).rounded())
        var whole = Date(timeIntervalSince1970: seconds)
        if nanos >= 1_000_000_000 {
            nanos -= 1_000_000_000
            whole = whole.addingTimeInterval(1)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: whole)
        var text = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
        if nanos > 0 {
            var fraction = String(format: "%09d", nanos)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "Z"
    }
}
