import Translation

extension AgentConfiguration {
    /// The translation knobs this configuration sets, shared by the agent's PodController and
    /// `nomad-kubelet translate --config`, so both build the same job. RuntimeClass handlers map
    /// only to drivers in `nomad.allowedDrivers`.
    public var translationPolicy: TranslationPolicy {
        let allowed = Set(nomad.allowedDrivers)
        var translation = TranslationPolicy(
            nodeName: node.name, datacenters: nomad.datacenters, namespace: nomad.namespace, region: nomad.region ?? "global",
            defaultDriver: nomad.driver,
            driversByRuntimeHandler: ["nomad-raw-exec": "raw_exec", "nomad-exec": "exec"].filter { allowed.contains($0.value) },
            taskUser: policy.defaultUser,
            allowPrivileged: policy.allowPrivileged,
            allowUnverifiedArtifacts: policy.allowUnverifiedArtifacts,
            allowDriverOverride: policy.allowDriverOverride)
        translation.hostPathRoots = policy.hostPathRoots
        return translation
    }

    /// The volume provisioner's settings from the `storage` section (new directories go to
    /// `policy.defaultUser`).
    public var volumeControllerSettings: VolumeControllerSettings {
        VolumeControllerSettings(storageClassName: storage.storageClassName, rootDirectory: storage.rootDirectory, directoryOwner: policy.defaultUser)
    }
}
