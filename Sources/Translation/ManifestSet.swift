import Foundation
import KubernetesModels

/// Kubernetes objects read from manifest files for `nomad-kubelet translate`: the pods to translate
/// (Pods, and the pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and
/// CronJobs) and what they may reference (ConfigMaps, Secrets, PseudoImages, RuntimeClasses).
/// Pure: the caller parses YAML or JSON into ``JSONValue`` documents.
public struct ManifestSet: Sendable {
    /// A pod to translate and where it came from.
    public struct Workload: Sendable {
        /// `Kind namespace/name (file#document)`, for messages.
        public var source: String
        /// The pod: the object itself, or one built from the template as its controller would.
        public var pod: Pod
        /// Where the pod's fields are in the document: `spec.template.` for templates, `` for Pods.
        public var fieldPrefix: String

        /// A pod field path (`spec.containers[0].image`) as a path in the document.
        public func documentPath(_ podField: String) -> String {
            guard !fieldPrefix.isEmpty, podField.hasPrefix("spec") || podField.hasPrefix("metadata") else { return podField }
            return fieldPrefix + podField
        }
    }

    /// The pods, in document order.
    public var workloads: [Workload] = []
    /// ConfigMaps, Secrets and PseudoImages found.
    public var configMaps: [ConfigMap] = []
    /// Secrets found.
    public var secrets: [Secret] = []
    /// PseudoImages found.
    public var pseudoImages: [PseudoImage] = []
    /// RuntimeClasses found (their handlers pick the driver).
    public var runtimeClasses: [RuntimeClass] = []
    /// PersistentVolumeClaims found, and those a StatefulSet's `volumeClaimTemplates` make for its
    /// replica `<name>-0` (`<template>-<name>-0`, as the StatefulSet controller names them).
    public var claims: [PersistentVolumeClaim] = []
    /// Documents that could not be read, as `source: what is wrong`.
    public var errors: [String] = []
    /// Documents of kinds that translate ignores (Services...), as `Kind name (source)`.
    public var ignored: [String] = []

    static let templateKinds = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"]

    /// Reads `documents`, each with a `source` label such as `app.yaml#2`; `nodeName` is set as
    /// every pod's `spec.nodeName`, as if the scheduler had bound it to the node.
    public init(documents: [(source: String, document: JSONValue)], nodeName: String) {
        for (source, document) in documents { add(document, source: source, nodeName: nodeName) }
    }

    /// The context a pod of `namespace` is translated with.
    public func context(namespace: String) -> TranslationContext {
        TranslationContext(namespace: namespace, configMaps: configMaps, secrets: secrets, pseudoImages: pseudoImages)
    }

    /// One workload translated as `nomad-kubelet translate` does it.
    public struct WorkloadTranslation: Sendable {
        /// The pod and where it came from.
        public var workload: Workload
        /// The job (with warnings), or every problem that keeps the pod from running.
        public var result: Result<PodTranslation, TranslationError>
        /// Pod volume → where translate assumes its claim's directory (see ``assumedPlacement(of:volumeRoot:)``).
        public var assumedClaims: [String: ClaimVolume] = [:]
    }

    /// The Nomad client ID `translate` writes where the provisioner's choice would be.
    public static let provisionedClientPlaceholder = "nomad-client-chosen-by-the-provisioner"

    /// Where a claim of the files would live once the nomad-local provisioner made it: a directory
    /// `<volumeRoot>/pvc-<uid>` on the client it picks (``provisionedClientPlaceholder``).
    public static func assumedPlacement(of claim: PersistentVolumeClaim, volumeRoot: String) -> ClaimVolume {
        let volumeName = VolumeProvisioning.volumeName(claimUID: claim.metadata.uid ?? "")
        return ClaimVolume(
            placement: VolumePlacement(nodeID: provisionedClientPlaceholder, path: VolumeProvisioning.hostPath(root: volumeRoot, volumeName: volumeName)),
            volumeName: volumeName)
    }

    /// Every workload translated with `translator`, in document order: the context from the
    /// ConfigMaps, Secrets and PseudoImages found, the driver from the RuntimeClasses found, and
    /// claims found in the files as the provisioner would make them under `volumeRoot`
    /// (``assumedPlacement(of:volumeRoot:)``). The one code path of `nomad-kubelet translate` (and of
    /// tests that check shipped examples).
    public func translations(with translator: PodTranslator, volumeRoot: String) -> [WorkloadTranslation] {
        workloads.map { workload in
            let namespace = workload.pod.metadata.namespace ?? "default"
            var assumed: [String: ClaimVolume] = [:]
            for volume in workload.pod.spec?.volumes ?? [] {
                guard let claimName = volume.persistentVolumeClaim?.claimName,
                    let claim = claims.first(where: { $0.metadata.name == claimName && ($0.metadata.namespace ?? "default") == namespace })
                else { continue }
                assumed[volume.name] = Self.assumedPlacement(of: claim, volumeRoot: volumeRoot)
            }
            let options = TranslationOptions(runtimeHandler: runtimeHandler(of: workload.pod.spec?.runtimeClassName), claimVolumes: assumed)
            return WorkloadTranslation(
                workload: workload, result: Result { () throws(TranslationError) in try translator.translate(workload.pod, context: context(namespace: namespace), options: options) },
                assumedClaims: assumed)
        }
    }

    /// The RuntimeClass handler of `name` when the manifests define it.
    public func runtimeHandler(of name: String?) -> String? {
        guard let name else { return nil }
        return runtimeClasses.first { $0.metadata.name == name }?.handler
    }

    private mutating func add(_ document: JSONValue, source: String, nodeName: String) {
        guard case .object = document else {
            if document != .null { errors.append("\(source): not a Kubernetes object") }
            return
        }
        let kind = document["kind"]?.stringValue ?? ""
        let name = document["metadata"]?["name"]?.stringValue ?? ""
        let namespace = document["metadata"]?["namespace"]?.stringValue ?? "default"
        func decode<T: Decodable>(_ type: T.Type, _ value: JSONValue) -> T? {
            do {
                return try value.decode(as: T.self)
            } catch {
                errors.append("\(source): \(kind) \(name) cannot be read: \(Self.describe(error))")
                return nil
            }
        }
        switch kind {
        case "List":
            for (index, item) in (document["items"]?.arrayValue ?? []).enumerated() { add(item, source: "\(source) items[\(index)]", nodeName: nodeName) }
        case "Pod":
            guard var pod = decode(Pod.self, document) else { return }
            pod.metadata.namespace = namespace
            if pod.metadata.uid == nil { pod.metadata.uid = Self.uid(kind: kind, namespace: namespace, name: name) }
            if pod.spec?.nodeName == nil { pod.spec?.nodeName = nodeName }
            workloads.append(Workload(source: "Pod \(namespace)/\(name) (\(source))", pod: pod, fieldPrefix: ""))
        case "CronJob":
            addTemplate(document["spec"]?["jobTemplate"]?["spec"]?["template"], kind: kind, name: name, namespace: namespace, source: source,
                prefix: "spec.jobTemplate.spec.template.", nodeName: nodeName)
        case _ where Self.templateKinds.contains(kind):
            addTemplate(document["spec"]?["template"], kind: kind, name: name, namespace: namespace, source: source, prefix: "spec.template.", nodeName: nodeName)
            if kind == "StatefulSet" { addClaimTemplates(document["spec"]?["volumeClaimTemplates"], set: name, namespace: namespace, source: source) }
        case "ConfigMap":
            if var configMap = decode(ConfigMap.self, document) {
                configMap.metadata.namespace = namespace
                configMaps.append(configMap)
            }
        case "Secret":
            if var secret = decode(Secret.self, document) {
                secret.metadata.namespace = namespace
                secrets.append(secret)
            }
        case "PseudoImage":
            if let image = decode(PseudoImage.self, document) { pseudoImages.append(image) }
        case "PersistentVolumeClaim":
            if var claim = decode(PersistentVolumeClaim.self, document) {
                claim.metadata.namespace = namespace
                if claim.metadata.uid == nil { claim.metadata.uid = Self.uid(kind: kind, namespace: namespace, name: name) }
                claims.append(claim)
            }
        case "RuntimeClass":
            if let runtimeClass = decode(RuntimeClass.self, document) { runtimeClasses.append(runtimeClass) }
        case "":
            errors.append("\(source): the document has no kind")
        default:
            ignored.append("\(kind) \(name) (\(source))")
        }
    }

    private mutating func addTemplate(_ template: JSONValue?, kind: String, name: String, namespace: String, source: String, prefix: String, nodeName: String) {
        guard let template else {
            errors.append("\(source): \(kind) \(name) has no pod template at \(prefix.dropLast())")
            return
        }
        let spec: PodSpec
        let metadata: ObjectMeta
        do {
            spec = try (template["spec"] ?? .object([:])).decode(as: PodSpec.self)
            metadata = try (template["metadata"] ?? .object([:])).decode(as: ObjectMeta.self)
        } catch {
            errors.append("\(source): \(kind) \(name)'s pod template cannot be read: \(Self.describe(error))")
            return
        }
        var pod = Pod(metadata: metadata, spec: spec)
        // Named as its controller would name one replica (StatefulSets count from 0).
        pod.metadata.name = kind == "StatefulSet" ? "\(name)-0" : name
        pod.metadata.namespace = namespace
        pod.metadata.uid = Self.uid(kind: kind, namespace: namespace, name: name)
        pod.spec?.nodeName = nodeName
        workloads.append(Workload(source: "\(kind) \(namespace)/\(name) (\(source))", pod: pod, fieldPrefix: prefix))
    }

    /// The claims a StatefulSet's controller makes for replica `<set>-0` (`<template>-<set>-0`) and
    /// the pod volumes it puts in place of volumes of the templates' names.
    private mutating func addClaimTemplates(_ templates: JSONValue?, set: String, namespace: String, source: String) {
        guard let templates = templates?.arrayValue, !templates.isEmpty, !workloads.isEmpty else { return }
        for (index, template) in templates.enumerated() {
            let claim: PersistentVolumeClaim
            do {
                claim = try template.decode(as: PersistentVolumeClaim.self)
            } catch {
                errors.append("\(source): StatefulSet \(set) spec.volumeClaimTemplates[\(index)] cannot be read: \(Self.describe(error))")
                continue
            }
            guard let templateName = claim.metadata.name, !templateName.isEmpty else {
                errors.append("\(source): StatefulSet \(set) spec.volumeClaimTemplates[\(index)] has no metadata.name")
                continue
            }
            var made = claim
            let claimName = "\(templateName)-\(set)-0"
            made.metadata.name = claimName
            made.metadata.namespace = namespace
            made.metadata.uid = Self.uid(kind: "PersistentVolumeClaim", namespace: namespace, name: claimName)
            claims.append(made)
            var spec = workloads[workloads.count - 1].pod.spec
            var volumes = (spec?.volumes ?? []).filter { $0.name != templateName }
            volumes.append(Volume(name: templateName, persistentVolumeClaim: PersistentVolumeClaimVolumeSource(claimName: claimName)))
            spec?.volumes = volumes
            workloads[workloads.count - 1].pod.spec = spec
        }
    }

    /// A stable UUID-shaped uid for an object read from a file (the API server would assign one).
    static func uid(kind: String, namespace: String, name: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(kind)/\(namespace)/\(name)".utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        let hex = String(format: "%016llx", hash)
        let chars = Array(hex)
        return "\(String(chars[0..<8]))-\(String(chars[8..<12]))-4\(String(chars[13..<16]))-8000-\(hex.suffix(12))"
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .typeMismatch(let type, let context)?:
            return "\(path(context.codingPath)): expected \(type)"
        case .valueNotFound(_, let context)?:
            return "\(path(context.codingPath)): missing value"
        case .keyNotFound(let key, let context)?:
            return "\(path(context.codingPath + [key])): required field missing"
        case .dataCorrupted(let context)?:
            return "\(path(context.codingPath)): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        var result = ""
        for key in keys {
            if let index = key.intValue {
                result += "[\(index)]"
            } else {
                result += result.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return result.isEmpty ? "(document)" : result
    }
}
