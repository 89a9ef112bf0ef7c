import Foundation

/// Decides whether end-to-end tests run against real servers or against the simulators.
///
/// Real servers are used only when `NOMAD_KUBELET_E2E=1` and the server's own variable is set
/// (`KUBECONFIG` for Kubernetes, `NOMAD_ADDR` for Nomad); otherwise tests start a simulator.
public enum E2EEnvironment {
    /// `true` when `NOMAD_KUBELET_E2E=1`.
    public static var optedIn: Bool { ProcessInfo.processInfo.environment["NOMAD_KUBELET_E2E"] == "1" }

    /// The kubeconfig path of a real cluster to test against, or `nil` to use the simulator.
    public static var realKubeconfig: String? {
        guard optedIn, let path = ProcessInfo.processInfo.environment["KUBECONFIG"], !path.isEmpty else { return nil }
        return path
    }

    /// The address of a real Nomad agent to test against, or `nil` to use the simulator.
    public static var realNomadAddress: String? {
        guard optedIn, let address = ProcessInfo.processInfo.environment["NOMAD_ADDR"], !address.isEmpty else { return nil }
        return address
    }

    /// Why a real-server-only test is skipped, for `.enabled(if:_:)` traits.
    public static let realServersOnlyReason =
        "runs only against real servers: set NOMAD_KUBELET_E2E=1 with KUBECONFIG and/or NOMAD_ADDR"
}
