import Foundation
import KubernetesModels

/// An authenticated user as the API server sees it.
public struct UserInfo: Sendable, Hashable {
    /// The user name, e.g. `system:node:vk-nomad`.
    public var name: String
    /// The groups, including `system:authenticated`.
    public var groups: [String]

    /// A user with groups; `system:authenticated` is added.
    public init(name: String, groups: [String]) {
        self.name = name
        self.groups = groups.contains("system:authenticated") ? groups : groups + ["system:authenticated"]
    }

    /// The node name when this is a node identity (`system:node:NAME` in group `system:nodes`).
    var nodeName: String? {
        guard groups.contains("system:nodes"), name.hasPrefix("system:node:") else { return nil }
        return String(name.dropFirst("system:node:".count))
    }
}

/// One RBAC-style rule: verbs on resources of API groups, optionally limited to names and namespaces.
public struct AccessRule: Sendable, Hashable {
    /// Verbs (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, ...) or `*`.
    public var verbs: [String]
    /// API groups (`""` for core) or `*`.
    public var apiGroups: [String]
    /// Resources (`pods`, `pods/log`) or `*`.
    public var resources: [String]
    /// Object names the rule is limited to; empty for all.
    public var resourceNames: [String]
    /// Namespaces the rule is limited to; `nil` for all (cluster-wide, like a ClusterRoleBinding).
    public var namespaces: [String]?

    /// A rule; by default cluster-wide and for all names.
    public init(verbs: [String], apiGroups: [String] = [""], resources: [String], resourceNames: [String] = [], namespaces: [String]? = nil) {
        self.verbs = verbs
        self.apiGroups = apiGroups
        self.resources = resources
        self.resourceNames = resourceNames
        self.namespaces = namespaces
    }
}

/// Rules granted to users and groups (a flattened RoleBinding/ClusterRoleBinding).
public struct AccessGrant: Sendable, Hashable {
    /// User names the grant applies to.
    public var users: [String]
    /// Groups the grant applies to.
    public var groups: [String]
    /// What they may do.
    public var rules: [AccessRule]

    /// A grant to users and/or groups.
    public init(users: [String] = [], groups: [String] = [], rules: [AccessRule]) {
        self.users = users
        self.groups = groups
        self.rules = rules
    }
}

/// What a request wants to do, in authorization terms.
struct RequestAttributes: Sendable {
    var verb: String
    var group: String
    var resource: String
    var subresource: String?
    var namespace: String?
    var name: String?
    var fieldSelector: FieldSelector?
    /// For non-resource requests: the path.
    var path: String?

    var isResourceRequest: Bool { path == nil }
    var resourceWithSubresource: String { subresource.map { "\(resource)/\($0)" } ?? resource }
}

/// An authorization decision; a denial may carry the reason real authorizers append to the 403 message.
enum AuthorizationDecision: Sendable, Equatable {
    case allow
    case deny(reason: String?)
}

/// The simulator's authorizer chain: system:masters, the Node authorizer, then the configured grants.
struct Authorizer: Sendable {
    var grants: [AccessGrant]

    func authorize(_ user: UserInfo, _ request: RequestAttributes, store: KubernetesStore) async -> AuthorizationDecision {
        if user.groups.contains("system:masters") { return .allow }
        if !request.isResourceRequest {
            // system:discovery and system:public-info-viewer: every authenticated user may read these.
            return request.verb == "get" ? .allow : .deny(reason: nil)
        }
        if request.group == "authorization.k8s.io", ["selfsubjectaccessreviews", "selfsubjectrulesreviews"].contains(request.resource)
            || request.group == "authentication.k8s.io" && request.resource == "selfsubjectreviews"
        {
            return .allow
        }
        var nodeReason: String?
        if let node = user.nodeName {
            switch await nodeDecision(node: node, request, store: store) {
            case .allow: return .allow
            case .deny(let reason): nodeReason = reason
            }
        }
        if grantsAllow(user, request) { return .allow }
        return .deny(reason: nodeReason)
    }

    private func grantsAllow(_ user: UserInfo, _ request: RequestAttributes) -> Bool {
        for grant in grants where grant.users.contains(user.name) || grant.groups.contains(where: user.groups.contains) {
            for rule in grant.rules {
                let verbMatches = rule.verbs.contains("*") || rule.verbs.contains(request.verb)
                let groupMatches = rule.apiGroups.contains("*") || rule.apiGroups.contains(request.group)
                let resourceMatches = rule.resources.contains("*") || rule.resources.contains(request.resourceWithSubresource)
                    || (request.subresource != nil && rule.resources.contains("\(request.resource)/*"))
                let nameMatches = rule.resourceNames.isEmpty || request.name.map(rule.resourceNames.contains) == true
                let namespaceMatches = rule.namespaces.map { namespaces in request.namespace.map(namespaces.contains) == true } ?? true
                if verbMatches && groupMatches && resourceMatches && nameMatches && namespaceMatches { return true }
            }
        }
        return false
    }

    /// The Node authorizer: what a kubelet may do, with the graph checks (pods bound to it and the
    /// secrets, config maps, PVCs and PVs they reference).
    private func nodeDecision(node: String, _ request: RequestAttributes, store: KubernetesStore) async -> AuthorizationDecision {
        let verb = request.verb
        let noRelationship = AuthorizationDecision.deny(reason: "no relationship found between node '\(node)' and this object")
        switch (request.group, request.resource, request.subresource) {
        case ("", "nodes", nil):
            // As kube-apiserver v1.36 answers: reads only of its own Node, no deletes (NodeRestriction
            // limits create/update/patch to its own Node).
            switch verb {
            case "get":
                guard let name = request.name, name != node else { return .allow }
                return .deny(reason: "node '\(node)' cannot read '\(name)', only its own Node object")
            case "list", "watch":
                guard request.fieldSelector?.requiredValue(of: "metadata.name") == node else {
                    return .deny(reason: "node '\(node)' cannot read all nodes, only its own Node object")
                }
                return .allow
            case "create", "update", "patch": return .allow
            default: return .deny(reason: nil)
            }
        case ("", "nodes", "status"):
            return ["update", "patch"].contains(verb) ? .allow : .deny(reason: nil)
        case ("", "pods", nil):
            switch verb {
            case "get":
                guard let name = request.name, let pod = await podIfPresent(request.namespace, name, store),
                    pod["spec"]?["nodeName"]?.stringValue == node
                else { return noRelationship }
                return .allow
            case "list", "watch":
                guard request.fieldSelector?.requiredValue(of: "spec.nodeName") == node else {
                    return .deny(reason: "can only list/watch pods with spec.nodeName field selector")
                }
                return .allow
            case "create", "delete": return .allow
            default: return .deny(reason: nil)
            }
        case ("", "pods", "status"):
            return ["get", "update", "patch"].contains(verb) ? .allow : .deny(reason: nil)
        case ("", "pods", "eviction"):
            return verb == "create" ? .allow : .deny(reason: nil)
        case ("", "events", nil), ("events.k8s.io", "events", nil):
            return ["create", "update", "patch"].contains(verb) ? .allow : .deny(reason: nil)
        case ("coordination.k8s.io", "leases", nil):
            return ["get", "create", "update", "patch", "delete"].contains(verb) ? .allow : .deny(reason: nil)
        case ("", "services", nil), ("", "endpoints", nil), ("node.k8s.io", "runtimeclasses", nil),
            ("storage.k8s.io", "csidrivers", nil), ("discovery.k8s.io", "endpointslices", nil):
            return ["get", "list", "watch"].contains(verb) ? .allow : .deny(reason: nil)
        case ("", "serviceaccounts", "token"):
            return verb == "create" ? .allow : .deny(reason: nil)
        case ("authentication.k8s.io", "tokenreviews", nil),
            ("authorization.k8s.io", "subjectaccessreviews", nil), ("authorization.k8s.io", "localsubjectaccessreviews", nil):
            return verb == "create" ? .allow : .deny(reason: nil)
        case ("certificates.k8s.io", "certificatesigningrequests", nil):
            return ["create", "get", "list", "watch"].contains(verb) ? .allow : .deny(reason: nil)
        case ("", "secrets", nil), ("", "configmaps", nil), ("", "persistentvolumeclaims", nil), ("", "persistentvolumes", nil):
            guard verb == "get" else { return .deny(reason: "can only get individual resources of this type") }
            guard let name = request.name else { return noRelationship }
            return await referenced(by: node, resource: request.resource, namespace: request.namespace, name: name, store: store)
                ? .allow : noRelationship
        default:
            return .deny(reason: nil)
        }
    }

    private func podIfPresent(_ namespace: String?, _ name: String, _ store: KubernetesStore) async -> JSONValue? {
        guard let type = await store.resourceType(group: "", version: "v1", resource: "pods") else { return nil }
        return try? await store.get(type, namespace: namespace, name: name)
    }

    /// Whether a pod bound to the node references the object (volumes, env, envFrom, image pull secrets).
    private func referenced(by node: String, resource: String, namespace: String?, name: String, store: KubernetesStore) async -> Bool {
        guard let podType = await store.resourceType(group: "", version: "v1", resource: "pods"),
            let pods = try? await store.list(podType, namespace: nil, fieldSelector: nil).items
        else { return false }
        let bound = pods.filter { $0["spec"]?["nodeName"]?.stringValue == node }
        if resource == "persistentvolumes" {
            guard let claimType = await store.resourceType(group: "", version: "v1", resource: "persistentvolumeclaims") else { return false }
            for pod in bound {
                for claim in Self.references(in: pod, resource: "persistentvolumeclaims") {
                    let ns = pod["metadata"]?["namespace"]?.stringValue
                    if let pvc = try? await store.get(claimType, namespace: ns, name: claim), pvc["spec"]?["volumeName"]?.stringValue == name {
                        return true
                    }
                }
            }
            return false
        }
        return bound.contains { pod in
            pod["metadata"]?["namespace"]?.stringValue == namespace && Self.references(in: pod, resource: resource).contains(name)
        }
    }

    static func references(in pod: JSONValue, resource: String) -> Set<String> {
        var names: Set<String> = []
        let spec = pod["spec"]
        for volume in spec?["volumes"]?.arrayValue ?? [] {
            switch resource {
            case "secrets":
                if let name = volume["secret"]?["secretName"]?.stringValue { names.insert(name) }
            case "configmaps":
                if let name = volume["configMap"]?["name"]?.stringValue { names.insert(name) }
            case "persistentvolumeclaims":
                if let name = volume["persistentVolumeClaim"]?["claimName"]?.stringValue { names.insert(name) }
            default: break
            }
            for source in volume["projected"]?["sources"]?.arrayValue ?? [] {
                if resource == "secrets", let name = source["secret"]?["name"]?.stringValue { names.insert(name) }
                if resource == "configmaps", let name = source["configMap"]?["name"]?.stringValue { names.insert(name) }
            }
        }
        let containers = (spec?["containers"]?.arrayValue ?? []) + (spec?["initContainers"]?.arrayValue ?? [])
        for container in containers {
            for env in container["env"]?.arrayValue ?? [] {
                if resource == "secrets", let name = env["valueFrom"]?["secretKeyRef"]?["name"]?.stringValue { names.insert(name) }
                if resource == "configmaps", let name = env["valueFrom"]?["configMapKeyRef"]?["name"]?.stringValue { names.insert(name) }
            }
            for source in container["envFrom"]?.arrayValue ?? [] {
                if resource == "secrets", let name = source["secretRef"]?["name"]?.stringValue { names.insert(name) }
                if resource == "configmaps", let name = source["configMapRef"]?["name"]?.stringValue { names.insert(name) }
            }
        }
        if resource == "secrets" {
            for secret in spec?["imagePullSecrets"]?.arrayValue ?? [] {
                if let name = secret["name"]?.stringValue { names.insert(name) }
            }
        }
        return names
    }

    /// The 403 Status of a denied request, worded as the real RBAC/Node authorizer chain words it.
    static func forbidden(_ user: UserInfo, _ request: RequestAttributes, reason: String?) -> KubernetesAPIStatus {
        guard request.isResourceRequest else {
            return KubernetesAPIStatus(
                code: 403, reason: "Forbidden",
                message: "forbidden: User \"\(user.name)\" cannot \(request.verb) path \"\(request.path ?? "")\"",
                details: .object([:]))
        }
        let qualified = request.group.isEmpty ? request.resource : "\(request.resource).\(request.group)"
        let subject = request.name.map { "\(qualified) \"\($0)\"" } ?? qualified
        let scope = request.namespace.map { "in the namespace \"\($0)\"" } ?? "at the cluster scope"
        var message =
            "\(subject) is forbidden: User \"\(user.name)\" cannot \(request.verb) resource \"\(request.resourceWithSubresource)\" in API group \"\(request.group)\" \(scope)"
        if let reason { message += ": \(reason)" }
        var details: [String: JSONValue] = ["kind": .string(request.resource)]
        if let name = request.name { details["name"] = .string(name) }
        if !request.group.isEmpty { details["group"] = .string(request.group) }
        return KubernetesAPIStatus(code: 403, reason: "Forbidden", message: message, details: .object(details))
    }
}

/// The NodeRestriction admission plugin: a node may only change itself, its lease, the pods bound
/// to it, and no claim but a claim's status.
enum NodeRestriction {
    static func admit(
        node: String, _ request: RequestAttributes, type: ResourceType, current: JSONValue?, new: JSONValue?
    ) throws(KubernetesAPIStatus) {
        let name = request.name ?? new?["metadata"]?["name"]?.stringValue ?? ""
        func forbidden(_ message: String) -> KubernetesAPIStatus {
            KubernetesAPIStatus(
                code: 403, reason: "Forbidden", message: "\(type.qualifiedName) \"\(name)\" is forbidden: \(message)",
                details: KubernetesAPIStatus.details(name: name, resource: type))
        }
        switch (type.storageKey, request.subresource) {
        case ("/nodes", _):
            guard ["create", "update", "patch", "delete"].contains(request.verb) else { return }
            guard name == node else { throw forbidden("node \"\(node)\" is not allowed to modify node \"\(name)\"") }
            let before = current?.labels ?? [:]
            let after = new?.labels ?? before
            let changed = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }
            let restricted = changed.filter { $0.hasPrefix("node-restriction.kubernetes.io/") }.sorted()
            if !restricted.isEmpty {
                let verb = request.verb == "create" ? "set the following labels" : "modify labels"
                throw forbidden("is not allowed to \(verb): \(restricted.joined(separator: ", "))")
            }
        case ("/pods", "status"):
            if current?["spec"]?["nodeName"]?.stringValue != node {
                throw forbidden("node \"\(node)\" can only update pod status for pods with spec.nodeName set to itself")
            }
        case ("/pods", nil):
            if request.verb == "delete", current?["spec"]?["nodeName"]?.stringValue != node {
                throw forbidden("node \"\(node)\" can only delete pods with spec.nodeName set to itself")
            }
            if request.verb == "create", new?["metadata"]?["annotations"]?["kubernetes.io/config.mirror"] == nil {
                throw forbidden("pod does not have \"kubernetes.io/config.mirror\" annotation, node \"\(node)\" can only create mirror pods")
            }
        case ("/persistentvolumeclaims", let subresource) where subresource != "status":
            if ["create", "update", "patch", "delete"].contains(request.verb) { throw forbidden("may only update PVC status") }
        case ("coordination.k8s.io/leases", _):
            if name != node || request.namespace != "kube-node-lease" {
                throw forbidden("can only access node lease with the same name as the requesting node")
            }
        default:
            return
        }
    }
}
