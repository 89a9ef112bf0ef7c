import Translation

extension AgentConfiguration {
    /// The translation knobs this configuration sets, shared by the agent's PodController and
    /// `nomad-kubelet translate --config`, so both build the same job.
    public var translationPolicy: TranslationPolicy {
        TranslationPolicy(
            nodeName: node.name, datacenters: nomad.datacenters, namespace: nomad.namespace ?? "default", region: nomad.region ?? "global",
            defaultDriver: nomad.driver)
    }
}
