import KubernetesClient

// This file does not import TestSupport, whose simulator has its own `ResourceType`: the name
// resolves to the client's here.

/// ConfigMaps addressed without their Swift type, as a custom resource would be.
let untypedConfigMaps = ResourceType(group: "", version: "v1", plural: "configmaps", isNamespaced: true)
