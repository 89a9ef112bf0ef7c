import Foundation

/// What a request to one of the kubelet's streaming endpoints asks for, parsed from its path and
/// query as the kubelet reads them (`input`/`output`/`error`/`tty`, every `command`).
public struct StreamingRequest: Sendable, Hashable {
    /// The endpoint.
    public enum Kind: String, Sendable, Hashable {
        /// `/exec/{namespace}/{pod}[/{uid}]/{container}`
        case exec
        /// `/attach/{namespace}/{pod}[/{uid}]/{container}`
        case attach
        /// `/portForward/{namespace}/{pod}[/{uid}]`
        case portForward
    }

    /// The endpoint.
    public var kind: Kind
    /// The pod's namespace.
    public var namespace: String
    /// The pod's name.
    public var pod: String
    /// The pod's UID when the path names it.
    public var uid: String?
    /// The container (empty for port-forward).
    public var container: String
    /// exec: the command and its arguments.
    public var command: [String]
    /// Whether the client sends standard input.
    public var stdin: Bool
    /// Whether the client wants standard output.
    public var stdout: Bool
    /// Whether the client wants standard error (never with a tty, as the kubelet decides).
    public var stderr: Bool
    /// Whether the command runs in a terminal.
    public var tty: Bool
    /// port-forward over WebSocket: the `ports` query values.
    public var ports: [Int]

    /// Parses a request target (path and query); nil when the path is not a streaming endpoint.
    public init?(target: String) {
        let parts = target.split(separator: "?", maxSplits: 1)
        let path = parts.first.map(String.init) ?? ""
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { String($0).removingPercentEncoding ?? String($0) }
        guard let first = segments.first else { return nil }
        switch (first, segments.count) {
        case ("exec", 4), ("attach", 4):
            (namespace, pod, uid, container) = (segments[1], segments[2], nil, segments[3])
        case ("exec", 5), ("attach", 5):
            (namespace, pod, uid, container) = (segments[1], segments[2], segments[3], segments[4])
        case ("portForward", 3):
            (namespace, pod, uid, container) = (segments[1], segments[2], nil, "")
        case ("portForward", 4):
            (namespace, pod, uid, container) = (segments[1], segments[2], segments[3], "")
        default:
            return nil
        }
        kind = first == "exec" ? .exec : first == "attach" ? .attach : .portForward
        let query = parts.count > 1 ? Self.queryItems(String(parts[1])) : []
        func flag(_ name: String) -> Bool {
            guard let value = query.last(where: { $0.0 == name })?.1 else { return false }
            return ["1", "true", "True", "TRUE", "t", "T"].contains(value)
        }
        command = query.filter { $0.0 == "command" }.map(\.1)
        stdin = flag("input")
        stdout = flag("output")
        tty = flag("tty")
        // The kubelet drops stderr with a tty: the terminal merges both streams.
        stderr = flag("error") && !tty
        ports = query.filter { $0.0 == "ports" || $0.0 == "port" }.flatMap { $0.1.split(separator: ",") }.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// The pod as `namespace/name`, for messages and logs.
    public var podDescription: String { "\(namespace)/\(pod)" }

    /// How many SPDY streams the client opens for this exec/attach under `version`, as the
    /// kubelet counts them: error, plus one per requested stdio stream, plus resize with a tty
    /// (protocols v3 and later).
    func expectedStreamCount(version: RemoteCommandProtocol) -> Int {
        var count = 1
        if stdin { count += 1 }
        if stdout { count += 1 }
        if stderr { count += 1 }
        if tty && version.supportsResize { count += 1 }
        return count
    }

    /// Query items with `+` and percent escapes decoded, in order.
    private static func queryItems(_ query: String) -> [(String, String)] {
        query.split(separator: "&").map { item in
            let pair = item.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ") }
            let name = pair[0].removingPercentEncoding ?? pair[0]
            let value = pair.count > 1 ? (pair[1].removingPercentEncoding ?? pair[1]) : ""
            return (name, value)
        }
    }
}

/// The remote-command (exec/attach) sub-protocols the kubelet speaks over SPDY, newest first.
enum RemoteCommandProtocol: String, CaseIterable, Sendable {
    case v4 = "v4.channel.k8s.io"
    case v3 = "v3.channel.k8s.io"
    case v2 = "v2.channel.k8s.io"
    case v1 = "channel.k8s.io"

    /// v3 added the resize stream.
    var supportsResize: Bool { self == .v4 || self == .v3 }
    /// v4 writes the final status as a meta/v1 Status (JSON); older versions write only a failure's text.
    var writesStatusAsJSON: Bool { self == .v4 }
}

/// The WebSocket sub-protocols of exec/attach, as the kubelet accepts them in `Sec-WebSocket-Protocol`.
enum WebSocketChannelProtocol: String, CaseIterable, Sendable {
    case v5 = "v5.channel.k8s.io"
    case v4 = "v4.channel.k8s.io"
    case v4Base64 = "v4.base64.channel.k8s.io"
    case v1Base64 = "base64.channel.k8s.io"
    case v1 = "channel.k8s.io"

    /// Text frames with base64 payloads instead of binary frames.
    var isBase64: Bool { self == .v4Base64 || self == .v1Base64 }
    /// The final status as a meta/v1 Status (JSON).
    var writesStatusAsJSON: Bool { self == .v5 || self == .v4 || self == .v4Base64 }
    /// The client may close a channel with the v5 close signal (channel 255).
    var supportsCloseSignal: Bool { self == .v5 }
}

/// The sub-protocol negotiation of `k8s.io/apimachinery/pkg/util/httpstream.Handshake` and of the
/// WebSocket `wsstream` package: the first protocol the client offers that the server supports.
enum ProtocolNegotiation {
    /// The SPDY sub-protocol the kubelet serves for an endpoint.
    static let portForwardProtocol = "portforward.k8s.io"

    /// The `X-Stream-Protocol-Version` values a client offered (repeated headers, or comma lists).
    static func offered(_ values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The first of `offered` that `supported` contains.
    static func negotiate(offered: [String], supported: [String]) -> String? {
        offered.first { supported.contains($0) }
    }

    /// The protocols the kubelet serves over SPDY for `kind`, in its preference order.
    static func spdyProtocols(for kind: StreamingRequest.Kind) -> [String] {
        kind == .portForward ? [portForwardProtocol] : RemoteCommandProtocol.allCases.map(\.rawValue)
    }
}
