/// One Kubernetes API permission the agent needs, as asked in a SelfSubjectAccessReview.
public struct AgentPermission: Sendable, Hashable, CustomStringConvertible {
    /// `get`, `list`, `create`, ...
    public var verb: String
    /// API group; empty for the core group.
    public var group: String
    /// Plural resource (`pods`).
    public var resource: String
    /// Subresource (`status`), if any.
    public var subresource: String?
    /// Namespace the agent uses it in; `nil` for cluster-scoped or every namespace.
    public var namespace: String?
    /// The one object it is used on (the Node, its Lease), if any.
    public var name: String?
    /// A field selector the agent always sends (`spec.nodeName=<node>` for pods).
    public var fieldSelector: String?
    /// What the agent does with it.
    public var purpose: String

    /// `patch pods/status`.
    public var description: String {
        "\(verb) \(group.isEmpty ? "" : "\(group)/")\(resource)\(subresource.map { "/\($0)" } ?? "")"
    }
}

/// The permissions the agent needs: what `nomad-kubelet check` asks for, and what the service
/// account ClusterRole in manifests/rbac-serviceaccount.yaml grants (a test keeps them equal).
public enum AgentPermissions {
    /// Every permission for a node named `nodeName` with `configuration`'s features.
    public static func required(nodeName: String, configuration: AgentConfiguration) -> [AgentPermission] {
        func permission(
            _ verb: String, _ resource: String, group: String = "", subresource: String? = nil, namespace: String? = nil, name: String? = nil,
            fieldSelector: String? = nil, _ purpose: String
        ) -> AgentPermission {
            AgentPermission(
                verb: verb, group: group, resource: resource, subresource: subresource, namespace: namespace, name: name, fieldSelector: fieldSelector,
                purpose: purpose)
        }
        let podsOfNode = "spec.nodeName=\(nodeName)"
        var result = [
            permission("get", "nodes", name: nodeName, "read its Node"),
            permission("create", "nodes", "register its Node"),
            permission("patch", "nodes", name: nodeName, "add its labels to an existing Node"),
            permission("patch", "nodes", subresource: "status", name: nodeName, "report the Node's status"),
            permission("get", "leases", group: "coordination.k8s.io", namespace: "kube-node-lease", name: nodeName, "read its Lease"),
            permission("create", "leases", group: "coordination.k8s.io", namespace: "kube-node-lease", "create its Lease"),
            permission("update", "leases", group: "coordination.k8s.io", namespace: "kube-node-lease", name: nodeName, "renew its Lease"),
            permission("list", "pods", fieldSelector: podsOfNode, "list the pods bound to the node"),
            permission("watch", "pods", fieldSelector: podsOfNode, "watch the pods bound to the node"),
            permission("delete", "pods", "delete its pods once their processes are dead"),
            permission("patch", "pods", subresource: "status", "report the pods' status"),
            permission("create", "events", "record Events on its pods"),
            permission("patch", "events", "update repeated Events"),
            permission("get", "runtimeclasses", group: "node.k8s.io", "resolve a pod's RuntimeClass to its driver"),
        ]
        if configuration.kubeletServer.authorization == .webhook {
            result.append(permission("create", "tokenreviews", group: "authentication.k8s.io", "authenticate bearer tokens on the kubelet API"))
            result.append(permission("create", "subjectaccessreviews", group: "authorization.k8s.io", "authorize requests to the kubelet API"))
        }
        return result
    }
}
