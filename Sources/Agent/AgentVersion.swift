/// The one version constant of nomad-kubelet.
public enum AgentVersion {
    /// The agent's version (`nomad-kubelet version`).
    public static let current = "0.1.0"
    /// The Kubernetes minor the agent speaks (the recordings' kube-apiserver).
    public static let kubernetesCompatibility = "1.36.0"
    /// `nodeInfo.kubeletVersion`: the Kubernetes version it behaves as, tagged with the agent's.
    public static var kubeletVersion: String { "v\(kubernetesCompatibility)-nomad-kubelet-\(current)" }
}
