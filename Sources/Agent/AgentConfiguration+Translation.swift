import Translation

extension AgentConfiguration {
    /// The translation knobs this configuration sets, shared by the agent's PodController and
    /// `nomad-kubelet translate --config`, so both build the same job.
    public var translationPolicy: TranslationPolicy {
        let allowed = Set(nomad.allowedDrivers)
        return TranslationPolicy(
            nodeName: node.name, datacenters: nomad.datacenters, namespace: nomad.namespace, region: nomad.region ?? "global",
            defaultDriver: nomad.driver,
            driversByRuntimeHandler: ["raw_exec": "raw_exec", "exec": "exec"].filter { allowed.contains($0.value) },
            taskUser: policy.defaultUser,
            allowPrivileged: policy.allowPrivileged,
            allowUnverifiedArtifacts: policy.allowUnverifiedArtifacts,
            allowDriverOverride: policy.allowDriverOverride)
    }
}
