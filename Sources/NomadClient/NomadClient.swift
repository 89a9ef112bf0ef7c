import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import NomadModels

/// A value read from Nomad together with the `X-Nomad-Index` it was read at (for blocking queries).
public struct NomadResponse<Value: Sendable>: Sendable {
    /// The decoded body.
    public var value: Value
    /// The Raft index of the answer (`X-Nomad-Index`); 0 when the endpoint sends none.
    public var index: UInt64
}

/// Blocking-query and list options shared by read endpoints.
public struct NomadQueryOptions: Sendable {
    /// Wait until the state passes this index (`index`); 0 answers at once.
    public var waitIndex: UInt64
    /// Longest wait (`wait`); Nomad caps it at 10 minutes and adds jitter.
    public var waitTime: Duration
    /// ID prefix (`prefix`).
    public var prefix: String?
    /// A go-bexpr filter expression (`filter`, Nomad 1.2+).
    public var filter: String?

    /// Options for one read.
    public init(waitIndex: UInt64 = 0, waitTime: Duration = .seconds(60), prefix: String? = nil, filter: String? = nil) {
        self.waitIndex = waitIndex
        self.waitTime = waitTime
        self.prefix = prefix
        self.filter = filter
    }
}

/// A client of the Nomad HTTP API (`/v1/...`), for Nomad 1.1 through current.
///
/// One instance per agent address; call ``shutdown()`` when done. The ACL token is sent as
/// `X-Nomad-Token` and never logged.
public final class NomadClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: NomadClientConfiguration
    let httpClient: HTTPClient
    let logger: Logger
    let baseURL: String
    let displayAddress: String
    let tlsConfiguration: TLSConfiguration?
    private let versionCache = VersionCache()

    /// Creates a client; reads TLS files now so a bad path fails here, not on the first request.
    public init(configuration: NomadClientConfiguration, logger: Logger = Logger(label: "nomad-client")) throws {
        self.configuration = configuration
        self.logger = logger
        var address = configuration.address.trimmingCharacters(in: .whitespaces)
        while address.hasSuffix("/") { address.removeLast() }
        if !address.contains("://") { address = "http://" + address }
        guard let components = URLComponents(string: address), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw NomadClientError.configuration("the Nomad address \"\(configuration.address)\" is not an http:// or https:// URL; set NOMAD_ADDR like http://127.0.0.1:4646")
        }
        self.displayAddress = address
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.timeout = .init(connect: .nanoseconds(Int64(NomadDuration(configuration.connectTimeout).nanoseconds)), read: nil)
        httpConfiguration.httpVersion = .http1Only
        if scheme == "https" {
            let tls = try Self.makeTLSConfiguration(configuration.tls)
            httpConfiguration.tlsConfiguration = tls
            self.tlsConfiguration = tls
            if let serverName = configuration.tls.serverName, serverName != host {
                // AsyncHTTPClient verifies the certificate against the URL host; dnsOverride connects
                // that name to the real address.
                httpConfiguration.dnsOverride = [serverName: host]
                var replaced = components
                replaced.host = serverName
                address = replaced.string ?? address
            }
        } else {
            self.tlsConfiguration = nil
        }
        self.baseURL = address
        self.httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    }

    /// Closes connections. Call once, when the client is no longer used.
    public func shutdown() async throws {
        try await httpClient.shutdown()
    }

    static func makeTLSConfiguration(_ tls: NomadClientConfiguration.TLS) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        do {
            if let caFile = tls.caFile {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            }
            if let certificateFile = tls.clientCertificateFile {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
                guard let keyFile = tls.clientKeyFile else {
                    throw NomadClientError.configuration("a client certificate (\(certificateFile)) needs its key: set NOMAD_CLIENT_KEY")
                }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            }
        } catch let error as NomadClientError {
            throw error
        } catch {
            throw NomadClientError.configuration("cannot load the Nomad TLS files (CA \(tls.caFile ?? "-"), certificate \(tls.clientCertificateFile ?? "-"), key \(tls.clientKeyFile ?? "-")): \(error)")
        }
        if tls.insecureSkipVerify { configuration.certificateVerification = .none }
        return configuration
    }

    // MARK: - Request machinery

    enum Method: String {
        case get = "GET", put = "PUT", post = "POST", delete = "DELETE"
        var nio: HTTPMethod { HTTPMethod(rawValue: rawValue) }
    }

    /// Percent-encodes one path segment (job IDs may contain `/` and spaces).
    static func pathSegment(_ value: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// Percent-encodes a query component strictly (`&`, `=`, `+`, `"`, `[` ... are encoded).
    static func queryComponent(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// Builds `path?query`, adding `namespace` and `region` from the configuration unless `scoped` is false.
    func target(_ path: String, _ query: [(String, String)] = [], scoped: Bool = true) -> String {
        var items = query
        if scoped {
            if let namespace = configuration.namespace { items.append(("namespace", namespace)) }
            if let region = configuration.region { items.append(("region", region)) }
        }
        guard !items.isEmpty else { return path }
        return path + "?" + items.map { "\(Self.queryComponent($0.0))=\(Self.queryComponent($0.1))" }.joined(separator: "&")
    }

    func makeRequest(_ method: Method, _ target: String, body: Data?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + target)
        request.method = method.nio
        if let token = configuration.token { request.headers.add(name: "X-Nomad-Token", value: token.secret) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        return request
    }

    /// Sends a request with retries and returns the successful (2xx) response with its body.
    /// `idempotent`: a request that changes nothing though it is not a GET (job validation), retried
    /// like a read.
    func send(
        _ method: Method, _ target: String, body: Data? = nil, resource: String? = nil, extraTimeout: Duration = .zero, idempotent: Bool = false
    ) async throws -> (response: HTTPClientResponse, body: ByteBuffer) {
        let isRead = method == .get || idempotent
        var attempt = 0
        while true {
            attempt += 1
            let request = makeRequest(method, target, body: body)
            let timeout = TimeAmount.nanoseconds(NomadDuration(configuration.requestTimeout + extraTimeout).nanoseconds)
            do {
                let response = try await httpClient.execute(request, timeout: timeout, logger: logger)
                let collected = try await response.body.collect(upTo: 256 << 20)
                let status = Int(response.status.code)
                if (200..<300).contains(status) { return (response, collected) }
                let error = NomadClientError.response(
                    status: status, method: method.rawValue, path: target, resource: resource, body: String(buffer: collected)
                )
                let retryable = [502, 503, 504].contains(status) || (status == 500 && isRead && error.kind == .serverError)
                guard retryable, attempt < configuration.retry.maxAttempts else { throw error }
                logger.debug("retrying Nomad request", metadata: ["method": "\(method.rawValue)", "path": "\(target)", "status": "\(status)", "attempt": "\(attempt)"])
            } catch let error as NomadClientError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                let connectFailed = Self.isConnectFailure(error)
                guard isRead || connectFailed, attempt < configuration.retry.maxAttempts else {
                    if connectFailed || isTransport(error) { throw NomadClientError.unreachable(address: displayAddress, underlying: error) }
                    throw NomadClientError.malformedResponse(request: "\(method.rawValue) \(target)", reason: "\(error)")
                }
                logger.debug("retrying Nomad request", metadata: ["method": "\(method.rawValue)", "path": "\(target)", "error": "\(error)", "attempt": "\(attempt)"])
            }
            try await Task.sleep(for: configuration.retry.backoff(afterAttempt: attempt))
        }
    }

    /// Errors raised before a request reached the agent: safe to retry any request.
    static func isConnectFailure(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError {
            return error == .connectTimeout || error == .getConnectionFromPoolTimeout || error == .tlsHandshakeTimeout
        }
        let text = String(describing: error)
        return text.contains("connectionRefused") || text.contains("Connection refused") || text.contains("NIOConnectionError")
            || text.contains("connectTimeout")
    }

    private func isTransport(_ error: any Error) -> Bool {
        error is HTTPClientError || error is IOError || error is ChannelError || error is NIOSSLError
    }

    /// Sends a request and decodes its JSON body.
    func decode<T: Decodable & Sendable>(
        _ type: T.Type, _ method: Method, _ target: String, body: Data? = nil, resource: String? = nil, extraTimeout: Duration = .zero,
        idempotent: Bool = false
    ) async throws -> NomadResponse<T> {
        let (response, buffer) = try await send(method, target, body: body, resource: resource, extraTimeout: extraTimeout, idempotent: idempotent)
        let index = response.headers.first(name: "X-Nomad-Index").flatMap { UInt64($0) } ?? 0
        return NomadResponse(value: try Self.decodeBody(T.self, buffer, contentType: response.headers.first(name: "Content-Type"), request: "\(method.rawValue) \(target)"), index: index)
    }

    static func decodeBody<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer, contentType: String?, request: String) throws -> T {
        if let contentType, !contentType.lowercased().contains("json") {
            let start = String(buffer: buffer).prefix(80)
            throw NomadClientError.malformedResponse(request: request, reason: "content type is \(contentType), not application/json (body starts with \"\(start)\")")
        }
        do {
            return try JSONDecoder().decode(T.self, from: buffer)
        } catch {
            let start = String(buffer: buffer).prefix(80)
            throw NomadClientError.malformedResponse(request: request, reason: "the JSON does not decode as \(T.self) (\(error)); body starts with \"\(start)\"")
        }
    }

    func encode<T: Encodable>(_ value: T) throws -> Data {
        try JSONEncoder().encode(value)
    }

    // MARK: - Agent and version

    /// `GET /v1/agent/self`.
    public func agentSelf() async throws -> AgentSelf {
        try await decode(AgentSelf.self, .get, target("/v1/agent/self", scoped: false)).value
    }

    /// The agent's Nomad version, read once and cached.
    public func version() async throws -> NomadVersion {
        if let cached = await versionCache.value { return cached }
        let text = try await agentSelf().config?.version?.version ?? ""
        guard let version = NomadVersion(text) else {
            throw NomadClientError.malformedResponse(request: "GET /v1/agent/self", reason: "config.Version.Version is \"\(text)\", not a version number")
        }
        await versionCache.set(version)
        return version
    }

    // MARK: - Jobs

    /// `PUT /v1/validate/job`: checks a job without registering it.
    public func validate(_ job: Job) async throws -> JobValidateResponse {
        try await decode(
            JobValidateResponse.self, .put, target("/v1/validate/job"), body: encode(JobValidateRequest(job: job)), resource: jobResource(job.id), idempotent: true
        ).value
    }

    /// `POST /v1/jobs`: registers (creates or updates) a job. With `enforceIndex`, the register
    /// succeeds only if the job's current `JobModifyIndex` equals it (0: the job must not exist);
    /// otherwise it throws ``NomadClientError/Kind/enforceIndexConflict``.
    public func register(_ job: Job, enforceIndex: UInt64? = nil) async throws -> JobRegisterResponse {
        let request = JobRegisterRequest(job: job, enforceIndex: enforceIndex != nil ? true : nil, jobModifyIndex: enforceIndex)
        return try await decode(JobRegisterResponse.self, .post, target("/v1/jobs"), body: encode(request), resource: jobResource(job.id)).value
    }

    /// `GET /v1/job/:id`.
    public func job(_ id: String, options: NomadQueryOptions = NomadQueryOptions()) async throws -> NomadResponse<Job> {
        try await decode(Job.self, .get, target("/v1/job/\(Self.pathSegment(id))", blocking(options)), resource: jobResource(id), extraTimeout: wait(options))
    }

    /// `GET /v1/jobs`, optionally by ID prefix or filter expression.
    public func jobs(options: NomadQueryOptions = NomadQueryOptions()) async throws -> NomadResponse<[JobListStub]> {
        try await decode([JobListStub].self, .get, target("/v1/jobs", blocking(options)), extraTimeout: wait(options))
    }

    /// Jobs whose ID starts with `prefix` and whose `Meta` contains every pair of `meta`, leaving
    /// out the IDs in `excluding` (jobs the caller already knows about, which are then not read).
    ///
    /// Nomad 1.6+ returns `Meta` in list stubs (`meta=true`), so the match happens on the list; older
    /// agents (1.1–1.5) lack it, so each candidate job is read. Version-dependent; see ``NomadVersion``.
    public func jobs(prefix: String? = nil, meta: [String: String], excluding: Set<String> = []) async throws -> [Job] {
        let version = try await version()
        func matches(_ jobMeta: [String: String]?) -> Bool { meta.allSatisfy { jobMeta?[$0.key] == $0.value } }
        var query: [(String, String)] = []
        if let prefix { query.append(("prefix", prefix)) }
        if version.hasJobListMeta { query.append(("meta", "true")) }
        let stubs = try await decode([JobListStub].self, .get, target("/v1/jobs", query)).value
        var result: [Job] = []
        for stub in stubs {
            guard let id = stub.id, !excluding.contains(id) else { continue }
            // A stub without Meta (older agent, or `meta` ignored) is decided on the full job.
            if let stubMeta = stub.meta, !matches(stubMeta) { continue }
            do {
                let job = try await self.job(id).value
                if matches(job.meta) { result.append(job) }
            } catch let error as NomadClientError where error.kind == .notFound {
                continue  // purged between the list and the read
            }
        }
        return result
    }

    /// `DELETE /v1/job/:id`: stops the job; with `purge` also removes it from the state.
    public func deregister(jobID: String, purge: Bool = false) async throws -> JobRegisterResponse {
        let query: [(String, String)] = purge ? [("purge", "true")] : []
        return try await decode(JobRegisterResponse.self, .delete, target("/v1/job/\(Self.pathSegment(jobID))", query), resource: jobResource(jobID)).value
    }

    // MARK: - Variables (Nomad 1.4+)

    /// `PUT /v1/var/:path`: creates or replaces a variable (in the configured namespace).
    @discardableResult
    public func putVariable(path: String, items: [String: String]) async throws -> Variable {
        let body = try encode(Variable(namespace: configuration.namespace ?? "default", path: path, items: items))
        return try await decode(Variable.self, .put, target("/v1/var/\(Self.variablePath(path))"), body: body, resource: variableResource(path)).value
    }

    /// `GET /v1/var/:path`; `nil` when there is none.
    public func variable(path: String) async throws -> Variable? {
        do {
            return try await decode(Variable.self, .get, target("/v1/var/\(Self.variablePath(path))"), resource: variableResource(path)).value
        } catch let error as NomadClientError where error.kind == .notFound {
            return nil
        }
    }

    /// `GET /v1/vars?prefix=`: the metadata (no items) of the variables under a path prefix.
    public func variables(prefix: String) async throws -> [Variable] {
        try await decode([Variable].self, .get, target("/v1/vars", [("prefix", prefix)])).value
    }

    /// `DELETE /v1/var/:path`; deleting an absent variable succeeds.
    public func deleteVariable(path: String) async throws {
        do {
            _ = try await send(.delete, target("/v1/var/\(Self.variablePath(path))"), resource: variableResource(path))
        } catch let error as NomadClientError where error.kind == .notFound {
            return
        }
    }

    /// A variable path as a URL path: each segment percent-encoded, the `/` between them kept.
    static func variablePath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { pathSegment(String($0)) }.joined(separator: "/")
    }

    func variableResource(_ path: String) -> String { "variable \"\(path)\"" }

    /// `GET /v1/job/:id/summary`.
    public func jobSummary(_ id: String) async throws -> JobSummary {
        try await decode(JobSummary.self, .get, target("/v1/job/\(Self.pathSegment(id))/summary"), resource: jobResource(id)).value
    }

    /// `GET /v1/job/:id/allocations` (a blocking query when `options.waitIndex` > 0).
    public func allocations(ofJob id: String, options: NomadQueryOptions = NomadQueryOptions()) async throws -> NomadResponse<[AllocationListStub]> {
        try await decode([AllocationListStub].self, .get, target("/v1/job/\(Self.pathSegment(id))/allocations", blocking(options)), resource: jobResource(id), extraTimeout: wait(options))
    }

    // MARK: - Allocations

    /// `GET /v1/allocations`.
    public func allocations(options: NomadQueryOptions = NomadQueryOptions()) async throws -> NomadResponse<[AllocationListStub]> {
        try await decode([AllocationListStub].self, .get, target("/v1/allocations", blocking(options)), extraTimeout: wait(options))
    }

    /// `GET /v1/allocation/:id`.
    public func allocation(_ id: String, options: NomadQueryOptions = NomadQueryOptions()) async throws -> NomadResponse<Allocation> {
        try await decode(Allocation.self, .get, target("/v1/allocation/\(Self.pathSegment(id))", blocking(options)), resource: "allocation \(id)", extraTimeout: wait(options))
    }

    /// `POST /v1/allocation/:id/stop`: stops the allocation; the scheduler replaces it.
    public func stopAllocation(_ id: String) async throws -> AllocStopResponse {
        try await decode(AllocStopResponse.self, .post, target("/v1/allocation/\(Self.pathSegment(id))/stop"), body: Data("{}".utf8), resource: "allocation \(id)").value
    }

    /// `PUT /v1/client/allocation/:id/restart`: restarts one task in place, or every running task when `task` is nil.
    public func restartAllocation(_ id: String, task: String? = nil) async throws {
        _ = try await send(.put, target("/v1/client/allocation/\(Self.pathSegment(id))/restart"), body: encode(AllocRestartRequest(taskName: task)), resource: "allocation \(id)")
    }

    /// `PUT /v1/client/allocation/:id/signal`: sends `signal` (`SIGKILL`, ...) to one task, or to every
    /// task when `task` is nil. Nomad delivers it to the task's process, also while the task is being killed.
    public func signalAllocation(_ id: String, signal: String, task: String? = nil) async throws {
        _ = try await send(.put, target("/v1/client/allocation/\(Self.pathSegment(id))/signal"), body: encode(AllocSignalRequest(signal: signal, task: task)), resource: "allocation \(id)")
    }

    /// `GET /v1/job/:id/evaluations`: the job's evaluations, newest knowable by `CreateIndex`.
    public func evaluations(ofJob id: String) async throws -> [Evaluation] {
        try await decode([Evaluation].self, .get, target("/v1/job/\(Self.pathSegment(id))/evaluations"), resource: jobResource(id)).value
    }

    /// `GET /v1/client/allocation/:id/stats`: resource usage, answered by the client node running it.
    public func allocationStats(_ id: String) async throws -> AllocResourceUsage {
        try await decode(AllocResourceUsage.self, .get, target("/v1/client/allocation/\(Self.pathSegment(id))/stats"), resource: "allocation \(id)").value
    }

    // MARK: - Nodes, evaluations, host

    /// `GET /v1/nodes`.
    public func nodes(options: NomadQueryOptions = NomadQueryOptions()) async throws -> NomadResponse<[NodeListStub]> {
        try await decode([NodeListStub].self, .get, target("/v1/nodes", blocking(options)), extraTimeout: wait(options))
    }

    /// `GET /v1/node/:id`.
    public func node(_ id: String) async throws -> NomadNode {
        try await decode(NomadNode.self, .get, target("/v1/node/\(Self.pathSegment(id))"), resource: "node \(id)").value
    }

    /// `GET /v1/evaluation/:id`.
    public func evaluation(_ id: String) async throws -> Evaluation {
        try await decode(Evaluation.self, .get, target("/v1/evaluation/\(Self.pathSegment(id))"), resource: "evaluation \(id)").value
    }

    /// `GET /v1/client/stats`: host statistics of the client agent answering (or of `nodeID`).
    public func hostStats(nodeID: String? = nil) async throws -> HostStats {
        let query: [(String, String)] = nodeID.map { [("node_id", $0)] } ?? []
        return try await decode(HostStats.self, .get, target("/v1/client/stats", query, scoped: false), resource: nodeID.map { "node \($0)" }).value
    }

    // MARK: - Helpers

    func jobResource(_ id: String?) -> String { "job \"\(id ?? "")\"" }

    func blocking(_ options: NomadQueryOptions) -> [(String, String)] {
        var query: [(String, String)] = []
        if options.waitIndex > 0 {
            query.append(("index", String(options.waitIndex)))
            query.append(("wait", "\(max(1, Int(options.waitTime.components.seconds)))s"))
        }
        if let prefix = options.prefix { query.append(("prefix", prefix)) }
        if let filter = options.filter { query.append(("filter", filter)) }
        return query
    }

    func wait(_ options: NomadQueryOptions) -> Duration {
        // Nomad adds up to wait/16 of jitter to a blocking query.
        options.waitIndex > 0 ? options.waitTime + options.waitTime / 16 + .seconds(5) : .zero
    }
}

/// Caches the agent version so feature checks cost one request.
actor VersionCache {
    private(set) var value: NomadVersion?
    func set(_ version: NomadVersion) { value = version }
}
