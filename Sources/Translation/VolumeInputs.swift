import Foundation
import KubernetesModels

/// A bound service-account token a pod's projected volumes need: one per audience and lifetime.
public struct ServiceAccountTokenKey: Sendable, Hashable, CustomStringConvertible {
    /// The audience asked for; `nil` is the API server's own audience.
    public var audience: String?
    /// The lifetime asked for (Kubernetes' default is 3600; the `kube-api-access-*` volume asks 3607).
    public var expirationSeconds: Int64

    /// A key for one token projection.
    public init(audience: String?, expirationSeconds: Int64) {
        self.audience = audience
        self.expirationSeconds = expirationSeconds
    }

    /// The key of a projection, with Kubernetes' default lifetime (3600 s) when it names none.
    public init(_ projection: ServiceAccountTokenProjection) {
        self.init(audience: projection.audience.flatMap { $0.isEmpty ? nil : $0 }, expirationSeconds: projection.expirationSeconds ?? 3600)
    }

    public var description: String { "audience \(audience ?? "(API server)"), \(expirationSeconds)s" }
}

/// The objects a pod's volumes read, fetched by the agent (or read from files by `translate`) before
/// translating: ConfigMaps and Secrets of the pod's namespace by name, and the service-account tokens
/// the projected volumes ask for. Absent entries are "not found".
public struct VolumeInputs: Sendable, Hashable {
    /// ConfigMaps of the pod's namespace by name.
    public var configMaps: [String: ConfigMap]
    /// Secrets of the pod's namespace by name.
    public var secrets: [String: Secret]
    /// Tokens from the TokenRequest API, bound to the pod.
    public var serviceAccountTokens: [ServiceAccountTokenKey: String]

    /// Inputs; empty by default.
    public init(configMaps: [String: ConfigMap] = [:], secrets: [String: Secret] = [:], serviceAccountTokens: [ServiceAccountTokenKey: String] = [:]) {
        self.configMaps = configMaps
        self.secrets = secrets
        self.serviceAccountTokens = serviceAccountTokens
    }
}

/// What a pod's volumes reference, so the agent knows what to fetch (and watch) before translating.
public struct VolumeReferences: Sendable, Hashable {
    /// ConfigMap names → whether every reference to it is optional.
    public var configMaps: [String: Bool] = [:]
    /// Secret names → whether every reference to it is optional.
    public var secrets: [String: Bool] = [:]
    /// The tokens to request for the pod's service account.
    public var serviceAccountTokens: Set<ServiceAccountTokenKey> = []

    /// The references of `pod`'s volumes (not its env: that is the env translation's business).
    public init(pod: Pod) {
        func note(_ table: inout [String: Bool], _ name: String?, optional: Bool?) {
            guard let name, !name.isEmpty else { return }
            table[name] = (table[name] ?? true) && optional == true
        }
        for volume in pod.spec?.volumes ?? [] {
            if let source = volume.configMap { note(&configMaps, source.name, optional: source.optional) }
            if let source = volume.secret { note(&secrets, source.secretName, optional: source.optional) }
            for projection in volume.projected?.sources ?? [] {
                if let source = projection.configMap { note(&configMaps, source.name, optional: source.optional) }
                if let source = projection.secret { note(&secrets, source.name, optional: source.optional) }
                if let token = projection.serviceAccountToken { serviceAccountTokens.insert(ServiceAccountTokenKey(token)) }
            }
        }
    }

    /// Whether the pod has volumes whose files follow their sources (and so need syncing).
    public var isEmpty: Bool { configMaps.isEmpty && secrets.isEmpty && serviceAccountTokens.isEmpty }
}
