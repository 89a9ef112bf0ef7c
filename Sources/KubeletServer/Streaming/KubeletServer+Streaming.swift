import HTTPTypes
import HummingbirdCore
import KubernetesModels
import NIOCore

extension KubeletServer {
    /// HTTP/1.1 with the kubelet's streaming upgrades: exec and port-forward over SPDY/3.1 (as
    /// kube-apiserver connects) and exec over WebSocket, authorized by the server's authorizer and
    /// bridged to Nomad. Pass it as `childChannel` to serve `kubectl exec` and `kubectl port-forward`.
    public static let streaming: ChildChannelFactory = { responder, context in
        KubeletStreamingChannel(responder: responder, streaming: KubeletStreaming(context: context))
    }
}

extension KubeletStreaming {
    /// The streaming endpoints with the server's authorizer, pod locator and Nomad client.
    public init(context: KubeletStreamingContext, configuration: StreamingConfiguration = .init()) {
        self.init(authorizer: context.authorizer, locator: context.podLocator, nomad: context.nomad, configuration: configuration, logger: context.logger)
    }
}

extension KubeletRequestAuthorizer: StreamingAuthorizer {
    /// Authenticates and authorizes an upgrade request as the plain routes are (nodes/proxy, verb
    /// from the method), answering 401/403 with the server's Status.
    public func authorize(_ request: HTTPRequest, channel: any Channel) async -> StreamingRefusal? {
        do {
            _ = try await authorize(method: request.method.rawValue, path: request.path ?? "/", authorization: request.headerFields[.authorization], channel: channel)
            return nil
        } catch {
            return StreamingRefusal(error)
        }
    }
}

extension PodLocator: StreamingPodLocator {
    /// The running task of the container (404 unknown pod/container, 400 not running).
    public func execTarget(namespace: String, pod: String, container: String) async throws -> ExecTarget {
        do {
            let located = try await locateRunning(namespace: namespace, pod: pod, container: container)
            return ExecTarget(allocationID: located.allocationID, task: located.taskName)
        } catch {
            throw StreamingRefusal(error)
        }
    }

    /// The pod's IP (the Nomad client's address: pseudo-containers share the host network), or its hostIP.
    public func portForwardHost(namespace: String, pod name: String) async throws -> String {
        let pod: KubernetesModels.Pod
        do {
            pod = try await self.pod(namespace: namespace, name: name)
        } catch {
            throw StreamingRefusal(error)
        }
        guard let address = [pod.status?.podIP, pod.status?.hostIP].compactMap({ $0 }).first(where: { !$0.isEmpty }) else {
            throw StreamingRefusal(code: 400, reason: "BadRequest", message: "pod \"\(name)\" has no IP address yet; wait until it runs, then port-forward")
        }
        return address
    }
}

extension StreamingRefusal {
    /// The answer the server's routes give for `error`.
    init(_ error: KubeletServerError) {
        let status = error.apiStatus
        self.init(code: error.httpStatus, reason: status.reason ?? "InternalError", message: error.message)
    }

    /// The attach refusal, in the server's words.
    static func attachUnsupported(_ request: StreamingRequest) -> StreamingRefusal {
        StreamingRefusal(KubeletServerError.attachUnsupported(namespace: request.namespace, pod: request.pod, container: request.container))
    }
}
