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
