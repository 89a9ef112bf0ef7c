import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOFoundationCompat

/// The HTTP endpoints of the simulated agent.
struct NomadRoutes: Sendable {
    typealias Context = BasicWebSocketRequestContext
    let simulator: NomadSimulator
    var cluster: NomadCluster { simulator.cluster }

    // MARK: Response helpers

    static func text(_ body: String, status: HTTPResponse.Status, contentType: String = "text/plain; charset=utf-8", index: UInt64? = nil) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        if let index { addIndexHeaders(&headers, index) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func addIndexHeaders(_ headers: inout HTTPFields, _ index: UInt64) {
        headers[HTTPField.Name("X-Nomad-Index")!] = "\(index)"
        headers[HTTPField.Name("X-Nomad-Knownleader")!] = "true"
        headers[HTTPField.Name("X-Nomad-Lastcontact")!] = "0"
    }

    static func json(_ value: WireJSON, index: UInt64? = nil, indexOnly: Bool = false) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let index {
            if indexOnly {
                headers[HTTPField.Name("X-Nomad-Index")!] = "\(index)"
            } else {
                addIndexHeaders(&headers, index)
            }
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(data: value.serialized())))
    }

    static func error(_ error: NomadHTTPError, index: UInt64? = nil) -> Response {
        text(error.message, status: .init(code: error.status), index: index)
    }

    /// The ACL capability an endpoint needs, or nil when it is open.
    static func capability(for request: Request) -> String? {
        let path = request.uri.path
        if path.hasPrefix("/v1/client/fs/logs") { return "read-logs" }
        if path.hasSuffix("/exec") { return "alloc-exec" }
        if path.hasPrefix("/v1/client/allocation") && (path.hasSuffix("/restart") || path.hasSuffix("/signal")) { return "alloc-lifecycle" }
        if path.hasPrefix("/v1/allocation/") && path.hasSuffix("/stop") { return "alloc-lifecycle" }
        if path.hasPrefix("/v1/node") || path == "/v1/client/stats" { return "node:read" }
        if path.hasPrefix("/v1/agent") { return "agent:read" }
        if path.hasPrefix("/v1/status") { return nil }
        if path.hasPrefix("/v1/var") { return request.method == .get ? "variables-read" : "variables-write" }
        if path == "/v1/jobs" && request.method == .get { return "list-jobs" }
        if path == "/v1/jobs" || path.hasPrefix("/v1/validate") { return "submit-job" }
        if path.hasPrefix("/v1/job/") && request.method != .get { return "submit-job" }
        return "read-job"
    }

    static func namespace(_ request: Request) -> String {
        request.uri.queryParameters.get("namespace") ?? "default"
    }

    /// Go duration text (`2s`, `100ms`, `1m`, `5m30s`) to a Duration.
    static func parseGoDuration(_ text: String) -> Duration? {
        var total = Duration.zero
        var number = ""
        var unit = ""
        var parsedAny = false
        func flush() -> Bool {
            guard let value = Double(number) else { return false }
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s", "": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return false
            }
            total += .nanoseconds(Int64(value * scale * 1e9))
            number = ""
            unit = ""
            parsedAny = true
            return true
        }
        for character in text {
            if character.isNumber || character == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(character)
            } else {
                unit.append(character)
            }
        }
        guard flush() || parsedAny else { return nil }
        return total
    }

    /// Runs a blocking query: answers at once unless `index` is given, else when the answer's
    /// index passes it or `wait` (default 5m) runs out.
    func blocking(_ request: Request, _ read: @Sendable () async -> (WireJSON, UInt64)?) async -> (WireJSON, UInt64)? {
        let query = request.uri.queryParameters
        guard let minimum = query.get("index").flatMap(UInt64.init), minimum > 0 else { return await read() }
        let wait = query.get("wait").flatMap(Self.parseGoDuration) ?? .seconds(300)
        let deadline = ContinuousClock.now + min(wait, .seconds(600))
        while true {
            let result = await read()
            guard let (_, index) = result else { return nil }
            if index > minimum || ContinuousClock.now >= deadline { return result }
            await cluster.waitForChange(until: deadline)
        }
    }

    // MARK: Routes

    func register(on router: Router<Context>) {
        router.get("/v1/agent/self") { _, _ in
            Self.json([
                "config": [
                    "Version": [
                        "Revision": "", "Version": .string(simulator.configuration.version), "VersionMetadata": "", "VersionPrerelease": "",
                    ],
                    "Region": .string(simulator.configuration.region), "Datacenter": "dc1", "NodeName": "vm",
                    "ACL": ["Enabled": .bool(simulator.configuration.aclTokens != nil)],
                ],
                "member": ["Name": "vm.global", "Addr": "127.0.0.1", "Port": 4648, "Status": "alive", "Tags": ["region": .string(simulator.configuration.region), "dc": "dc1", "build": .string(simulator.configuration.version)]],
                "stats": [:],
            ])
        }
        if simulator.configuration.hasVariables { registerVariables(on: router) }
        router.get("/v1/status/leader") { _, _ in Self.json("127.0.0.1:4647") }
        router.get("/v1/regions") { _, _ in Self.json([.string(simulator.configuration.region)]) }

        router.get("/v1/nodes") { request, _ in
            let prefix = request.uri.queryParameters.get("prefix") ?? ""
            let result = await blocking(request) {
                let nodes = await cluster.nodes.filter { $0.id.hasPrefix(prefix) }
                let index = await cluster.index(of: "nodes")
                return (.array(nodes.map { $0.stub() }), index)
            }
            guard let (body, index) = result else { return Self.text("", status: .internalServerError) }
            return Self.json(body, index: index)
        }
        router.get("/v1/node/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            let result = await blocking(request) {
                guard let node = await cluster.node(id: id) else { return nil }
                return (node.json(), node.modifyIndex)
            }
            guard let (body, index) = result else { return Self.text("node not found", status: .notFound, index: await cluster.index(of: "nodes")) }
            return Self.json(body, index: index)
        }
        router.get("/v1/node/:id/allocations") { request, context in
            let id = context.parameters.get("id") ?? ""
            guard let node = await cluster.node(id: id) else { return Self.text("node not found", status: .notFound) }
            let allocs = await cluster.allocationList().filter { $0.nodeID == node.id }
            return Self.json(.array(allocs.map { $0.json() }), index: await cluster.index(of: "allocs"))
        }

        router.get("/v1/jobs") { request, _ in
            let prefix = request.uri.queryParameters.get("prefix") ?? ""
            let namespace = Self.namespace(request)
            let result = await blocking(request) {
                var list: [WireJSON] = []
                for job in await cluster.jobList(namespace: namespace, prefix: prefix) {
                    list.append(job.stub(summary: await cluster.summary(for: job)))
                }
                return (.array(list), await cluster.index(of: "jobs"))
            }
            guard let (body, index) = result else { return Self.text("", status: .internalServerError) }
            return Self.json(body, index: index)
        }
        router.put("/v1/jobs") { request, _ in await registerJob(request, pathID: nil) }
        router.post("/v1/jobs") { request, _ in await registerJob(request, pathID: nil) }
        router.put("/v1/job/:id") { request, context in await registerJob(request, pathID: context.parameters.get("id")) }
        router.post("/v1/job/:id") { request, context in await registerJob(request, pathID: context.parameters.get("id")) }
        router.post("/v1/validate/job") { request, _ in await validateJob(request) }
        router.put("/v1/validate/job") { request, _ in await validateJob(request) }

        router.get("/v1/job/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            let namespace = Self.namespace(request)
            let result = await blocking(request) {
                guard let job = await cluster.job(namespace: namespace, id: id) else { return nil }
                return (job.rendered(), job.modifyIndex)
            }
            guard let (body, index) = result else { return Self.text("job not found", status: .notFound, index: await cluster.index(of: "jobs")) }
            return Self.json(body, index: index)
        }
        router.delete("/v1/job/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            let purge = request.uri.queryParameters.get("purge") == "true"
            do throws(NomadHTTPError) {
                let result = try await cluster.deregister(namespace: Self.namespace(request), id: id, purge: purge)
                return Self.json(
                    [
                        "EvalCreateIndex": .int(Int64(result.index)), "EvalID": .string(result.evalID), "Index": .int(Int64(result.index)),
                        "JobModifyIndex": .int(Int64(result.jobModifyIndex)), "KnownLeader": false, "LastContact": 0,
                        "VolumeEvalID": "", "VolumeEvalIndex": 0,
                    ], index: result.index, indexOnly: true)
            } catch {
                return Self.error(error)
            }
        }
        router.get("/v1/job/:id/allocations") { request, context in
            let id = context.parameters.get("id") ?? ""
            let namespace = Self.namespace(request)
            let result = await blocking(request) {
                let allocs = await cluster.allocationList(jobNamespace: namespace, jobID: id)
                let tableIndex = await cluster.index(of: "allocs")
                let index = allocs.map(\.modifyIndex).max() ?? tableIndex
                return (.array(allocs.map { $0.stub() }), index)
            }
            guard let (body, index) = result else { return Self.text("", status: .internalServerError) }
            return Self.json(body, index: index)
        }
        router.get("/v1/job/:id/summary") { request, context in
            let id = context.parameters.get("id") ?? ""
            let namespace = Self.namespace(request)
            let result = await blocking(request) {
                guard let job = await cluster.job(namespace: namespace, id: id) else { return nil }
                let summary = await cluster.summary(for: job)
                return (summary, UInt64(summary["ModifyIndex"]?.int ?? 0))
            }
            guard let (body, index) = result else { return Self.text("job not found", status: .notFound, index: await cluster.index(of: "jobs")) }
            return Self.json(body, index: index)
        }
        router.get("/v1/job/:id/evaluations") { request, context in
            let id = context.parameters.get("id") ?? ""
            let evals = await cluster.evaluations(namespace: Self.namespace(request), jobID: id)
            return Self.json(.array(evals), index: await cluster.index(of: "evals"))
        }

        router.get("/v1/allocations") { request, _ in
            let prefix = request.uri.queryParameters.get("prefix") ?? ""
            let result = await blocking(request) {
                let allocs = await cluster.allocationList(prefix: prefix)
                return (.array(allocs.map { $0.stub() }), await cluster.index(of: "allocs"))
            }
            guard let (body, index) = result else { return Self.text("", status: .internalServerError) }
            return Self.json(body, index: index)
        }
        router.get("/v1/allocation/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            let result = await blocking(request) {
                guard let alloc = await cluster.allocation(id: id) else { return nil }
                return (alloc.json(), alloc.modifyIndex)
            }
            guard let (body, index) = result else { return Self.text("alloc not found", status: .notFound, index: await cluster.index(of: "allocs")) }
            return Self.json(body, index: index)
        }
        for method in [HTTPRequest.Method.put, .post] {
            router.on("/v1/allocation/:id/stop", method: method) { _, context in
                let id = context.parameters.get("id") ?? ""
                do throws(NomadHTTPError) {
                    let result = try await cluster.stopAllocation(id: id)
                    return Self.json(["EvalID": .string(result.evalID), "Index": .int(Int64(result.index))], index: result.index)
                } catch {
                    return Self.error(error)
                }
            }
            router.on("/v1/client/allocation/:id/restart", method: method) { request, context in
                let id = context.parameters.get("id") ?? ""
                                let body = try? await request.body.collect(upTo: 1 << 20)
                let taskName = body.flatMap { try? WireJSON.parse(Data(buffer: $0)) }?["TaskName"]?.string
                guard let alloc = await cluster.allocation(id: id), let runner = await cluster.runner(for: alloc.id) else {
                    return Self.text("Unknown allocation \"\(id)\"", status: .notFound, contentType: "text/plain")
                }
                if let taskName, !taskName.isEmpty, !alloc.group.tasks.contains(where: { $0.name == taskName }) {
                    return Self.text("Unknown task name \"\(taskName)\"", status: .badRequest)
                }
                await runner.restart(task: taskName?.isEmpty == false ? taskName : nil)
                return Self.json(["Index": 0])
            }
        }
        for method in [HTTPRequest.Method.put, .post] {
            router.on("/v1/client/allocation/:id/signal", method: method) { request, context in
                let id = context.parameters.get("id") ?? ""
                let body = try? await request.body.collect(upTo: 1 << 20)
                let parsed = body.flatMap { try? WireJSON.parse(Data(buffer: $0)) }
                let taskName = parsed?["Task"]?.string
                let signalName = parsed?["Signal"]?.string ?? ""
                guard let alloc = await cluster.allocation(id: id), let runner = await cluster.runner(for: alloc.id) else {
                    return Self.text("Unknown allocation \"\(id)\"", status: .notFound, contentType: "text/plain")
                }
                if let taskName, !taskName.isEmpty, !alloc.group.tasks.contains(where: { $0.name == taskName }) {
                    return Self.text("Unknown task name \"\(taskName)\"", status: .badRequest)
                }
                guard let signal = ProcessLauncher.knownSignalNumber(signalName) else {
                    return Self.text("invalid signal: \"\(signalName)\"", status: .internalServerError)
                }
                await runner.signal(signalName, number: signal, task: taskName?.isEmpty == false ? taskName : nil)
                return Self.json(["Index": 0])
            }
        }
        router.get("/v1/evaluation/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            let result = await blocking(request) {
                guard let eval = await cluster.evaluation(id: id) else { return nil }
                return (eval, UInt64(eval["ModifyIndex"]?.int ?? 0))
            }
            guard let (body, index) = result else { return Self.text("eval not found", status: .notFound, index: await cluster.index(of: "evals")) }
            return Self.json(body, index: index)
        }
        registerClientEndpoints(on: router)
    }

    // MARK: Job registration

    private func registerJob(_ request: Request, pathID: String?) async -> Response {
                guard let buffer = try? await request.body.collect(upTo: 16 << 20) else {
            return Self.text("unexpected EOF", status: .badRequest)
        }
        let body: WireJSON
        do {
            body = try WireJSON.parse(Data(buffer: buffer))
        } catch {
            return Self.text(Self.decodeErrorText(error), status: .badRequest)
        }
        guard let submitted = body["Job"], submitted.object != nil else {
            return Self.text("Job must be specified", status: .badRequest)
        }
        if let pathID, submitted["ID"]?.string != pathID {
            return Self.text("Job ID does not match name", status: .badRequest)
        }
        let canonical = JobCanonicalizer.canonicalize(submitted)
        let errors = JobCanonicalizer.validate(canonical)
        if !errors.isEmpty {
            return Self.text(JobCanonicalizer.multiError(errors), status: .internalServerError)
        }
        do throws(NomadHTTPError) {
            let result = try await cluster.register(
                canonical, enforceIndex: body["EnforceIndex"]?.bool ?? false,
                jobModifyIndex: UInt64(max(body["JobModifyIndex"]?.int ?? 0, 0)))
            return Self.json(
                [
                    "EvalCreateIndex": .int(Int64(result.index)), "EvalID": .string(result.evalID), "Index": .int(Int64(result.index)),
                    "JobModifyIndex": .int(Int64(result.jobModifyIndex)), "KnownLeader": false, "LastContact": 0, "Warnings": "",
                ], index: result.index, indexOnly: true)
        } catch {
            return Self.error(error)
        }
    }

    private func validateJob(_ request: Request) async -> Response {
                guard let buffer = try? await request.body.collect(upTo: 16 << 20) else {
            return Self.text("unexpected EOF", status: .badRequest)
        }
        let body: WireJSON
        do {
            body = try WireJSON.parse(Data(buffer: buffer))
        } catch {
            return Self.text(Self.decodeErrorText(error), status: .badRequest)
        }
        guard let submitted = body["Job"], submitted.object != nil else {
            return Self.text("Job must be specified", status: .badRequest)
        }
        let errors = JobCanonicalizer.validate(JobCanonicalizer.canonicalize(submitted))
        return Self.json([
            "DriverConfigValidated": .bool(errors.isEmpty), "Error": .string(errors.isEmpty ? "" : JobCanonicalizer.multiError(errors)),
            "ValidationErrors": errors.isEmpty ? nil : .array(errors.map(WireJSON.string)), "Warnings": "",
        ])
    }

    /// Go's encoding/json messages for the common malformed bodies.
    static func decodeErrorText(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            let underlying = "\(context.underlyingError.map { "\($0)" } ?? context.debugDescription)"
            if underlying.lowercased().contains("end of") || underlying.lowercased().contains("unexpected end") { return "unexpected EOF" }
        }
        return "unexpected EOF"
    }
}
