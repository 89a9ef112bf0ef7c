import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOFoundationCompat

/// Client endpoints: logs, stats, the event stream and exec.
extension NomadRoutes {
    func registerClientEndpoints(on router: Router<Context>) {
        router.get("/v1/client/fs/logs/:alloc") { request, context in
            await logs(request, allocationID: context.parameters.get("alloc") ?? "")
        }
        router.get("/v1/client/allocation/:id/stats") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let alloc = await cluster.allocation(id: id), let runner = await cluster.runner(for: alloc.id) else {
                return Self.text("Unknown allocation \"\(id)\"", status: .notFound, contentType: "text/plain")
            }
            return Self.json(ResourceStats.allocation(alloc, runner: runner))
        }
        router.get("/v1/client/stats") { _, _ in Self.json(ResourceStats.host()) }
        router.get("/v1/event/stream") { request, _ in eventStream(request) }
    }

    // MARK: Logs

    private func logs(_ request: Request, allocationID: String) async -> Response {
        let query = request.uri.queryParameters
        guard let alloc = await cluster.allocation(id: allocationID), let runner = await cluster.runner(for: alloc.id) else {
            return Self.text("Unknown allocation \"\(allocationID)\"", status: .notFound, contentType: "text/plain")
        }
        let taskName = query.get("task") ?? ""
        guard alloc.group.tasks.contains(where: { $0.name == taskName }) else {
            return Self.text("unknown task name \"\(taskName)\"", status: .badRequest, contentType: "text/plain")
        }
        let type = query.get("type") ?? ""
        guard type == "stdout" || type == "stderr" else {
            return Self.text("must provide log type (stdout/stderr)", status: .badRequest)
        }
        let plain = query.get("plain") == "true"
        let follow = query.get("follow") == "true"
        let fromEnd = query.get("origin") == "end"
        let offset = Int64(query.get("offset") ?? "0") ?? 0
        let file = runner.logFile(task: taskName, type: type)
        let relativeName = "alloc/logs/\(taskName).\(type).0"
        let heartbeat = simulator.configuration.heartbeatInterval
        let cluster = self.cluster
        let allocID = alloc.id
        let body = ResponseBody { writer in
            let handle = FileHandle(forReadingAtPath: file.path)
            defer { try? handle?.close() }
            let size = Int64((try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)??.int64Value ?? 0)
            var position = fromEnd ? max(size - offset, 0) : min(offset, size)
            var lastHeartbeat = ContinuousClock.now
            func readNew() -> Data {
                guard let handle else { return Data() }
                try? handle.seek(toOffset: UInt64(position))
                let data = (try? handle.readToEnd()) ?? Data()
                position += Int64(data.count)
                return data
            }
            func frame(_ data: Data) -> ByteBuffer {
                if plain { return ByteBuffer(data: data) }
                let frame: WireJSON = ["Data": .string(data.base64EncodedString()), "File": .string(relativeName), "Offset": .int(position)]
                return ByteBuffer(data: frame.serialized())
            }
            let first = readNew()
            if !first.isEmpty { try await writer.write(frame(first)) }
            if follow {
                while !Task.isCancelled {
                    try await Task.sleep(for: .milliseconds(100))
                    let data = readNew()
                    if !data.isEmpty { try await writer.write(frame(data)) }
                    if !plain && ContinuousClock.now - lastHeartbeat >= min(heartbeat, .seconds(1)) {
                        try await writer.write(ByteBuffer(string: "{}"))
                        lastHeartbeat = ContinuousClock.now
                    }
                    let taskDead = await cluster.allocation(id: allocID)?.taskStates[taskName]?.state == "dead"
                    if taskDead {
                        let rest = readNew()
                        if !rest.isEmpty { try await writer.write(frame(rest)) }
                        break
                    }
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: plain ? "text/plain" : "application/json"], body: body)
    }

    // MARK: Event stream

    private func eventStream(_ request: Request) -> Response {
        let query = request.uri.queryParameters
        let from = query.get("index").flatMap(UInt64.init) ?? 0
        let namespace = query.get("namespace") ?? "default"
        var topics: [(topic: String, key: String)] = query.getAll("topic").map { value in
            let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "*")
        }
        if topics.isEmpty { topics = [("*", "*")] }
        let wanted = topics
        let heartbeat = simulator.configuration.heartbeatInterval
        let cluster = self.cluster
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: "{}\n"))
            var position = 0
            var lastWrite = ContinuousClock.now
            while !Task.isCancelled {
                let (batches, next) = await cluster.events(from: from, after: position)
                position = next
                for batch in batches {
                    let events = batch.events.filter { event in
                        let eventNamespace = event["Namespace"]?.string ?? ""
                        guard eventNamespace.isEmpty || namespace == "*" || eventNamespace == namespace else { return false }
                        let topic = event["Topic"]?.string ?? ""
                        let key = event["Key"]?.string ?? ""
                        let filterKeys = event["FilterKeys"]?.array?.compactMap(\.string) ?? []
                        return wanted.contains { ($0.topic == "*" || $0.topic == topic) && ($0.key == "*" || $0.key == key || filterKeys.contains($0.key)) }
                    }
                    guard !events.isEmpty else { continue }
                    let line: WireJSON = ["Events": .array(events), "Index": .int(Int64(batch.index))]
                    var buffer = ByteBuffer(data: line.serialized())
                    buffer.writeString("\n")
                    try await writer.write(buffer)
                    lastWrite = ContinuousClock.now
                }
                if ContinuousClock.now - lastWrite >= heartbeat {
                    try await writer.write(ByteBuffer(string: "{}\n"))
                    lastWrite = ContinuousClock.now
                }
                await cluster.waitForChange(until: min(lastWrite + heartbeat, ContinuousClock.now + heartbeat))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"], body: body)
    }
}
