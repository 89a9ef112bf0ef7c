import AsyncHTTPClient
import Foundation
import NIOCore

/// Every error the Nomad client throws. Compare ``kind`` to decide what to do; the description says
/// what happened, quotes Nomad's own message and suggests the next step.
public struct NomadClientError: Error, CustomStringConvertible, Sendable {
    /// The category of an error, for matching (`error.kind == .notFound`).
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unreachable, unavailable, forbidden, notFound, badRequest, serverError, unexpectedStatus
            case enforceIndexConflict, malformedResponse, execFailed, unknownTask, configuration
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The agent could not be reached (connection refused, timeout, TLS failure).
        public static let unreachable = Kind(.unreachable)
        /// The agent answered 502/503/504.
        public static let unavailable = Kind(.unavailable)
        /// 403: the ACL token lacks a capability.
        public static let forbidden = Kind(.forbidden)
        /// 404: the job, allocation, node or evaluation does not exist.
        public static let notFound = Kind(.notFound)
        /// 400: Nomad refused the request.
        public static let badRequest = Kind(.badRequest)
        /// 500: Nomad failed the request (also how it reports invalid jobs).
        public static let serverError = Kind(.serverError)
        /// Another status code than the ones above.
        public static let unexpectedStatus = Kind(.unexpectedStatus)
        /// A register with `EnforceIndex` lost the race: the job changed since it was read.
        public static let enforceIndexConflict = Kind(.enforceIndexConflict)
        /// The response was not what the endpoint returns (truncated JSON, wrong content type).
        public static let malformedResponse = Kind(.malformedResponse)
        /// An exec session failed (WebSocket closed with an error code).
        public static let execFailed = Kind(.execFailed)
        /// The allocation has no task of that name (logs, exec, restart).
        public static let unknownTask = Kind(.unknownTask)
        /// The client configuration is unusable (bad address, unreadable token or TLS file).
        public static let configuration = Kind(.configuration)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let kind: Kind
    /// The HTTP status, when Nomad answered.
    public let statusCode: Int?
    /// Nomad's error text (its error bodies are plain text), or the WebSocket close reason.
    public let serverMessage: String?
    /// The human-readable explanation.
    public let message: String

    private init(_ kind: Kind, statusCode: Int? = nil, serverMessage: String? = nil, message: String) {
        self.kind = kind
        self.statusCode = statusCode
        self.serverMessage = serverMessage
        self.message = message
    }

    public var description: String { message }

    /// The agent at `address` could not be reached.
    public static func unreachable(address: String, underlying: any Error) -> NomadClientError {
        // Nomad closes a new connection without a word once a client IP holds
        // `limits.http_max_conns_per_client` (default 100), e.g. several agents on one gateway host.
        let closedEarly = (underlying as? HTTPClientError) == .remoteConnectionClosed || (underlying as? ChannelError) == .eof
            || (underlying as? IOError)?.errnoCode == ECONNRESET
        return NomadClientError(
            .unreachable,
            message: "cannot reach the Nomad agent at \(address) (\(underlying)); "
                + (closedEarly
                    ? "it closed the connection before answering: is this host over the agent's limits.http_max_conns_per_client (100 connections per client IP by default)?"
                    : "is the agent running and is NOMAD_ADDR right?")
        )
    }

    /// The configuration cannot be used.
    public static func configuration(_ message: String) -> NomadClientError {
        NomadClientError(.configuration, message: message)
    }

    /// A response that does not parse as what `request` returns.
    public static func malformedResponse(request: String, reason: String) -> NomadClientError {
        NomadClientError(.malformedResponse, message: "the Nomad agent's answer to \(request) is not usable: \(reason); is the address a Nomad agent (and not a proxy or another service)?")
    }

    /// An exec session closed by the agent with a WebSocket error code.
    public static func execFailed(allocationID: String, task: String, closeCode: Int?, reason: String) -> NomadClientError {
        if reason.range(of: "task not found", options: .caseInsensitive) != nil {
            return NomadClientError(.unknownTask, serverMessage: reason, message: "allocation \(allocationID) has no task named \"\(task)\" (Nomad: \"\(reason)\")")
        }
        if reason.range(of: "Permission denied", options: .caseInsensitive) != nil {
            return NomadClientError(.forbidden, statusCode: 403, serverMessage: reason, message: "exec in allocation \(allocationID) refused: \"\(reason)\"; the ACL token needs alloc-exec (raw_exec: alloc-node-exec), read-job and list-jobs in the namespace")
        }
        if reason.range(of: "Unknown allocation", options: .caseInsensitive) != nil || reason.range(of: "not found", options: .caseInsensitive) != nil {
            return NomadClientError(.notFound, serverMessage: reason, message: "allocation \(allocationID) not found for exec (Nomad: \"\(reason)\")")
        }
        let code = closeCode.map { " (WebSocket close code \($0))" } ?? ""
        return NomadClientError(.execFailed, serverMessage: reason, message: "exec in task \"\(task)\" of allocation \(allocationID) failed\(code): \"\(reason)\"; check that the command exists inside the task")
    }

    /// Maps an error answer of Nomad. `resource` names what was asked for (`job "web"`).
    static func response(status: Int, method: String, path: String, resource: String?, body: String) -> NomadClientError {
        let text = body.trimmingCharacters(in: .whitespacesAndNewlines)
        let quoted = text.isEmpty ? "" : " (Nomad: \"\(text)\")"
        let request = "\(method) \(path)"
        switch status {
        case 400:
            if text.hasPrefix("unknown task name") {
                return NomadClientError(.unknownTask, statusCode: status, serverMessage: text, message: "\(resource ?? request): \(text); list the allocation's tasks in its TaskStates")
            }
            return NomadClientError(.badRequest, statusCode: status, serverMessage: text, message: "Nomad refused \(request) as a bad request\(quoted); fix the request")
        case 403:
            return NomadClientError(
                .forbidden, statusCode: status, serverMessage: text,
                message: "Nomad denied \(request)\(quoted); the ACL token (X-Nomad-Token / NOMAD_TOKEN) is missing, unknown or lacks the capability for this operation in the namespace"
            )
        case 404:
            let what = resource ?? "the resource of \(request)"
            return NomadClientError(.notFound, statusCode: status, serverMessage: text, message: "\(what) not found\(quoted)")
        case 500 where text.contains("conflicting job modify index"):
            return NomadClientError(
                .enforceIndexConflict, statusCode: status, serverMessage: text,
                message: "\(resource ?? "the job") changed since it was read\(quoted); read it again and retry the update"
            )
        case 500:
            return NomadClientError(.serverError, statusCode: status, serverMessage: text, message: "Nomad failed \(request)\(quoted)")
        case 502, 503, 504:
            return NomadClientError(.unavailable, statusCode: status, serverMessage: text, message: "the Nomad agent is unavailable for \(request): HTTP \(status)\(quoted); is there a leader (nomad server members)?")
        default:
            return NomadClientError(.unexpectedStatus, statusCode: status, serverMessage: text, message: "unexpected HTTP \(status) for \(request)\(quoted)")
        }
    }
}
