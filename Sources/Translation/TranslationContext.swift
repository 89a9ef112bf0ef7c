import Foundation
import KubernetesModels

/// Everything besides the Pod and the node configuration that a translation reads: the
/// ConfigMaps and Secrets the Pod references (from its namespace), the PseudoImage catalogue, and
/// the Node's allocatable resources. A plain value, so the agent (which fetches these from the API
/// server) and `nomad-kubelet translate` (which reads them from files) share one code path.
/// An object absent from the context is taken as absent from the cluster.
public struct TranslationContext: Sendable, Hashable {
    /// ConfigMaps of the Pod's namespace, by name.
    public var configMaps: [String: ConfigMap]
    /// Secrets of the Pod's namespace, by name.
    public var secrets: [String: Secret]
    /// PseudoImages (cluster-scoped), by name.
    public var pseudoImages: [String: PseudoImage]
    /// The Node's allocatable resources (`cpu`, `memory`, `ephemeral-storage`): what
    /// `resourceFieldRef` reports for a limit the container does not set, as the kubelet does.
    public var nodeAllocatable: [String: Quantity]
    /// Bound service-account tokens (TokenRequest) for the Pod's projected volumes, by projection.
    /// Sensitive like Secrets: redacted in ``PodTranslation/redactedJob``.
    public var serviceAccountTokens: [ServiceAccountTokenKey: String] = [:]

    /// A context; empty by default (no ConfigMaps, Secrets or PseudoImages exist).
    public init(
        configMaps: [String: ConfigMap] = [:], secrets: [String: Secret] = [:], pseudoImages: [String: PseudoImage] = [:],
        nodeAllocatable: [String: Quantity] = [:]
    ) {
        self.configMaps = configMaps
        self.secrets = secrets
        self.pseudoImages = pseudoImages
        self.nodeAllocatable = nodeAllocatable
    }

    /// A context from lists of objects (e.g. read from manifests); objects of other namespaces are left out.
    public init(namespace: String, configMaps: [ConfigMap], secrets: [Secret], pseudoImages: [PseudoImage], nodeAllocatable: [String: Quantity] = [:]) {
        func byName<T: KubernetesResource>(_ objects: [T], namespaced: Bool) -> [String: T] {
            var result: [String: T] = [:]
            for object in objects where !namespaced || (object.metadata.namespace ?? "default") == namespace {
                if let name = object.metadata.name { result[name] = object }
            }
            return result
        }
        self.init(
            configMaps: byName(configMaps, namespaced: true), secrets: byName(secrets, namespaced: true),
            pseudoImages: byName(pseudoImages, namespaced: false), nodeAllocatable: nodeAllocatable)
    }
}

/// The objects a Pod references, which the agent fetches into a ``TranslationContext`` before
/// translating (a node identity may GET exactly these: the Node authorizer's graph).
public struct PodReferences: Sendable, Hashable {
    /// ConfigMap names in the Pod's namespace.
    public var configMaps: Set<String> = []
    /// Secret names in the Pod's namespace.
    public var secrets: Set<String> = []
    /// PseudoImage names (from `image: nomad-kubelet.io/<name>:<tag>`).
    public var pseudoImages: Set<String> = []
    /// The tokens to request for the Pod's service account (projected `serviceAccountToken` sources).
    public var serviceAccountTokens: Set<ServiceAccountTokenKey> = []

    /// The references of `pod`: env `valueFrom` and `envFrom` of every container, and the
    /// configMap/secret/projected volumes.
    public init(of pod: Pod) {
        guard let spec = pod.spec else { return }
        for container in (spec.initContainers ?? []) + spec.containers { add(container) }
        for volume in spec.volumes ?? [] {
            if let name = volume.configMap?.name { configMaps.insert(name) }
            if let name = volume.secret?.secretName { secrets.insert(name) }
            for source in volume.projected?.sources ?? [] {
                if let name = source.configMap?.name { configMaps.insert(name) }
                if let name = source.secret?.name { secrets.insert(name) }
                if let token = source.serviceAccountToken { serviceAccountTokens.insert(ServiceAccountTokenKey(token)) }
            }
        }
    }

    private mutating func add(_ container: Container) {
        for variable in container.env ?? [] {
            if let name = variable.valueFrom?.configMapKeyRef?.name { configMaps.insert(name) }
            if let name = variable.valueFrom?.secretKeyRef?.name { secrets.insert(name) }
        }
        for source in container.envFrom ?? [] {
            if let name = source.configMapRef?.name { configMaps.insert(name) }
            if let name = source.secretRef?.name { secrets.insert(name) }
        }
        if let image = container.image, let reference = PseudoImageReference(image) { pseudoImages.insert(reference.name) }
    }
}

extension Secret {
    /// The values as the kubelet sees them: `data` base64-decoded (an undecodable value is left
    /// out; line breaks inside are skipped), with `stringData` laid over it as the API server does on write (a Secret read from a
    /// manifest file may carry only `stringData`).
    var effectiveValues: [String: Data] {
        var values: [String: Data] = [:]
        for (key, encoded) in data ?? [:] {
            // Line breaks are skipped, as Go's base64 (the API server's) does: kustomize wraps long values.
            if let bytes = Data(base64Encoded: encoded.filter { $0 != "\n" && $0 != "\r" }) { values[key] = bytes }
        }
        for (key, text) in stringData ?? [:] { values[key] = Data(text.utf8) }
        return values
    }
}
