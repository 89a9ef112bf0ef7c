import Foundation
import KubernetesModels

/// Kubernetes' `$(VAR)` expansion (the kubelet's `third_party/forked/golang/expansion`): `$(NAME)`
/// becomes the variable's value when it is defined and stays as written when not; `$$` is an
/// escaped `$`; any other `$` is kept. Works on bytes, as the original does.
public enum VariableExpansion {
    /// Expands `input`, looking names up with `lookup`.
    public static func expand(_ input: String, _ lookup: (String) -> String?) -> String {
        let bytes = Array(input.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        let dollar = UInt8(ascii: "$"), open = UInt8(ascii: "("), close = UInt8(ascii: ")")
        while index < bytes.count {
            guard bytes[index] == dollar, index + 1 < bytes.count else {
                output.append(bytes[index])
                index += 1
                continue
            }
            let next = bytes[index + 1]
            if next == dollar {
                output.append(dollar)
                index += 2
            } else if next == open, let end = bytes[(index + 2)...].firstIndex(of: close) {
                let name = String(decoding: bytes[(index + 2)..<end], as: UTF8.self)
                if let value = lookup(name) {
                    output += Array(value.utf8)
                } else {
                    output += bytes[index...end]
                }
                index = end + 1
            } else {
                // `$(` without a closing parenthesis, or `$x`: kept as written.
                output += [dollar, next]
                index += 2
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// The environment of one container, built by the kubelet's rules (`makeEnvironmentVariables`):
/// `envFrom` sources first (in order, later ones win), then `env` in order, each `value` expanded
/// against the variables defined before it.
struct ContainerEnvironment {
    /// The node's address as Nomad interpolates it on the client that runs the task: `status.podIP`
    /// and `status.hostIP` (a pseudo-container's IP is its host's).
    static let hostAddressInterpolation = "${attr.unique.network.ip-address}"
    static let validFieldPaths: Set<String> = [
        "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs",
        "status.podIP", "status.podIPs",
    ]

    var values: [String: String] = [:]
    var problems: [TranslationProblem] = []
    var warnings: [TranslationProblem] = []

    init(container: Container, field: String, pod: Pod, context: TranslationContext, policy: TranslationPolicy) {
        let namespace = pod.metadata.namespace ?? ""
        for (index, source) in (container.envFrom ?? []).enumerated() {
            let sourceField = "\(field).envFrom[\(index)]"
            let prefix = source.prefix ?? ""
            let entries: [String: String]
            let described: String
            if let reference = source.configMapRef, source.secretRef == nil {
                guard let name = reference.name, !name.isEmpty else {
                    report("\(sourceField).configMapRef.name", .invalid, "names no ConfigMap", "set the ConfigMap's name")
                    continue
                }
                guard let configMap = context.configMaps[name] else {
                    if reference.optional != true {
                        report("\(sourceField).configMapRef", .missing, "configmap \"\(name)\" not found", "create ConfigMap \(namespace)/\(name) or mark the reference optional")
                    }
                    continue
                }
                entries = configMap.data ?? [:]
                described = "configMap \(namespace)/\(name)"
            } else if let reference = source.secretRef, source.configMapRef == nil {
                guard let name = reference.name, !name.isEmpty else {
                    report("\(sourceField).secretRef.name", .invalid, "names no Secret", "set the Secret's name")
                    continue
                }
                guard let secret = context.secrets[name] else {
                    if reference.optional != true {
                        report("\(sourceField).secretRef", .missing, "secret \"\(name)\" not found", "create Secret \(namespace)/\(name) or mark the reference optional")
                    }
                    continue
                }
                entries = secret.effectiveValues.mapValues { String(decoding: $0, as: UTF8.self) }
                described = "secret \(namespace)/\(name)"
            } else {
                report(sourceField, .invalid, "an envFrom entry must name exactly one of configMapRef and secretRef", "keep one of them")
                continue
            }
            var invalidKeys: [String] = []
            for (key, value) in entries {
                let name = prefix + key
                guard Self.isEnvironmentVariableName(name) else {
                    invalidKeys.append(name)
                    continue
                }
                guard !value.contains("\0") else {
                    report(sourceField, .invalid, "the value of key '\(key)' in \(described) contains a NUL character, which an environment value cannot hold", "remove it")
                    continue
                }
                values[name] = value
            }
            if !invalidKeys.isEmpty {
                let keys = invalidKeys.sorted().joined(separator: ", ")
                warnings.append(
                    TranslationProblem(
                        field: sourceField, kind: .invalid,
                        reason: "Keys [\(keys)] from the EnvFrom \(described) were skipped since they are considered invalid environment variable names.",
                        fix: "rename the keys (printable ASCII without '=')",
                        eventReason: "InvalidEnvironmentVariableNames"))
            }
        }

        for (index, variable) in (container.env ?? []).enumerated() {
            let envField = "\(field).env[\(index)]"
            if variable.name.isEmpty || variable.name.contains("=") || variable.name.contains("\0") {
                report("\(envField).name", .invalid, "'\(variable.name.debugDescription)' is not a valid environment variable name", "use a non-empty name without '=' or NUL")
            }
            var value = variable.value ?? ""
            if !value.isEmpty {
                if variable.valueFrom != nil {
                    report("\(envField).valueFrom", .invalid, "value and valueFrom are both set", "keep one of them")
                }
                if value.contains("\0") {
                    report("\(envField).value", .invalid, "contains a NUL character, which an environment value cannot hold", "remove it")
                }
                value = VariableExpansion.expand(value) { values[$0] }
            } else if let source = variable.valueFrom {
                guard let resolved = resolve(source, field: "\(envField).valueFrom", container: container, pod: pod, context: context, policy: policy) else { continue }
                if resolved.contains("\0") {
                    report("\(envField).valueFrom", .invalid, "the referenced value contains a NUL character, which an environment value cannot hold", "remove it from the source")
                }
                value = resolved
            }
            values[variable.name] = value
        }
    }

    private mutating func report(_ field: String, _ kind: TranslationProblem.Kind, _ reason: String, _ fix: String) {
        problems.append(TranslationProblem(field: field, kind: kind, reason: reason, fix: fix))
    }

    /// The value of a `valueFrom`, or `nil` when the variable is left out (an optional reference to
    /// something absent) or a problem was reported.
    private mutating func resolve(
        _ source: EnvVarSource, field: String, container: Container, pod: Pod, context: TranslationContext, policy: TranslationPolicy
    ) -> String? {
        let namespace = pod.metadata.namespace ?? ""
        let set = [source.fieldRef != nil, source.resourceFieldRef != nil, source.configMapKeyRef != nil, source.secretKeyRef != nil, source.fileKeyRef != nil]
        guard set.filter({ $0 }).count == 1 else {
            report(field, .invalid, "valueFrom must set exactly one source", "keep one of fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef")
            return nil
        }
        if let selector = source.fieldRef {
            return fieldValue(selector, field: "\(field).fieldRef", pod: pod, policy: policy)
        }
        if let selector = source.resourceFieldRef {
            return resourceValue(selector, field: "\(field).resourceFieldRef", container: container, pod: pod, context: context, policy: policy)
        }
        if let selector = source.configMapKeyRef {
            guard let name = selector.name, !name.isEmpty else {
                report("\(field).configMapKeyRef.name", .invalid, "names no ConfigMap", "set the ConfigMap's name")
                return nil
            }
            guard let configMap = context.configMaps[name] else {
                if selector.optional != true {
                    report("\(field).configMapKeyRef", .missing, "configmap \"\(name)\" not found", "create ConfigMap \(namespace)/\(name) or mark the reference optional")
                }
                return nil
            }
            guard let value = configMap.data?[selector.key] else {
                if selector.optional != true {
                    report(
                        "\(field).configMapKeyRef.key", .missing, "couldn't find key \(selector.key) in ConfigMap \(namespace)/\(name)",
                        "add the key to the ConfigMap or mark the reference optional")
                }
                return nil
            }
            return value
        }
        if let selector = source.secretKeyRef {
            guard let name = selector.name, !name.isEmpty else {
                report("\(field).secretKeyRef.name", .invalid, "names no Secret", "set the Secret's name")
                return nil
            }
            guard let secret = context.secrets[name] else {
                if selector.optional != true {
                    report("\(field).secretKeyRef", .missing, "secret \"\(name)\" not found", "create Secret \(namespace)/\(name) or mark the reference optional")
                }
                return nil
            }
            guard let bytes = secret.effectiveValues[selector.key] else {
                if selector.optional != true {
                    report(
                        "\(field).secretKeyRef.key", .missing, "couldn't find key \(selector.key) in Secret \(namespace)/\(name)",
                        "add the key to the Secret or mark the reference optional")
                }
                return nil
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        report("\(field).fileKeyRef", .notYetSupported, "variables read from env files on volumes are not supported", "use configMapKeyRef or secretKeyRef")
        return nil
    }

    private mutating func fieldValue(_ selector: ObjectFieldSelector, field: String, pod: Pod, policy: TranslationPolicy) -> String? {
        if let version = selector.apiVersion, !version.isEmpty, version != "v1" {
            report("\(field).apiVersion", .invalid, "apiVersion '\(version)' is not v1", "remove apiVersion or set v1")
            return nil
        }
        let path = selector.fieldPath
        for (prefix, map) in [("metadata.labels", pod.metadata.labels), ("metadata.annotations", pod.metadata.annotations)] {
            if path.hasPrefix("\(prefix)['"), path.hasSuffix("']"), path.count > prefix.count + 4 {
                let key = String(path.dropFirst(prefix.count + 2).dropLast(2))
                return map?[key] ?? ""
            }
        }
        switch path {
        case "metadata.name": return pod.metadata.name ?? ""
        case "metadata.namespace": return pod.metadata.namespace ?? ""
        case "metadata.uid": return pod.metadata.uid ?? ""
        case "spec.nodeName": return pod.spec?.nodeName ?? policy.nodeName
        case "spec.serviceAccountName": return pod.spec?.serviceAccountName ?? ""
        case "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs": return Self.hostAddressInterpolation
        default:
            report(
                "\(field).fieldPath", .invalid, "'\(path.debugDescription)' is not a field the kubelet provides",
                "use one of \(Self.validFieldPaths.sorted().joined(separator: ", ")), metadata.labels['KEY'] or metadata.annotations['KEY']")
            return nil
        }
    }

    private mutating func resourceValue(
        _ selector: ResourceFieldSelector, field: String, container: Container, pod: Pod, context: TranslationContext, policy: TranslationPolicy
    ) -> String? {
        var target = container
        if let name = selector.containerName, !name.isEmpty, name != container.name {
            guard let other = ((pod.spec?.initContainers ?? []) + (pod.spec?.containers ?? [])).first(where: { $0.name == name }) else {
                report("\(field).containerName", .invalid, "no container is named '\(name)'", "name a container of this pod")
                return nil
            }
            target = other
        }
        let parts = selector.resource.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, ["limits", "requests"].contains(parts[0]), ["cpu", "memory", "ephemeral-storage"].contains(parts[1]) else {
            report(
                "\(field).resource", .invalid, "'\(selector.resource.debugDescription)' is not a resource the kubelet provides",
                "use limits.cpu, limits.memory, limits.ephemeral-storage, requests.cpu, requests.memory or requests.ephemeral-storage")
            return nil
        }
        let divisor = selector.divisor ?? Quantity.bytes(1)
        guard divisor.decimalValue > 0 else {
            report("\(field).divisor", .invalid, "divisor \(divisor) is not positive", "use e.g. 1, 1m, 1Mi")
            return nil
        }
        let resource = parts[1]
        let requests = target.resources?.requests ?? [:]
        let limits = target.resources?.limits ?? [:]
        // The API server defaults a missing request to the limit; a missing limit reads as the node's
        // allocatable (kubelet), else what the job reserves.
        let reserved: Decimal
        switch resource {
        case "cpu": reserved = Decimal(policy.defaultCPUMHz) / Decimal(max(1, policy.cpuMHzPerCore))
        case "memory": reserved = Decimal(policy.defaultMemoryMB) * 1_048_576
        default: reserved = Decimal(policy.defaultEphemeralDiskMB) * 1_048_576
        }
        let amount: Decimal
        if parts[0] == "requests" {
            amount = (requests[resource] ?? limits[resource])?.decimalValue ?? 0
        } else {
            amount = (limits[resource] ?? context.nodeAllocatable[resource] ?? requests[resource])?.decimalValue ?? reserved
        }
        var quotient = amount / divisor.decimalValue
        var rounded = Decimal()
        NSDecimalRound(&rounded, &quotient, 0, .up)
        return NSDecimalNumber(decimal: rounded).stringValue
    }

    /// Whether a process environment can hold `name`, by the rule of Kubernetes v1.34 and later
    /// (RelaxedEnvironmentVariableValidation, GA): printable ASCII other than `=`. A v1.34+ kubelet
    /// passes every envFrom key on (ConfigMap and Secret keys always qualify); the check guards
    /// against names from older servers or hand-made objects that an environment cannot carry.
    static func isEnvironmentVariableName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { (" "..."~").contains($0) && $0 != "=" }
    }
}
