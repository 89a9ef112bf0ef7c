import Foundation
import KubernetesModels

/// The `meta.k8s.io/v1` Table format `kubectl get` asks for (`Accept: application/json;as=Table;...`):
/// the pod, deployment and node columns kubectl shows, CRD printer columns, else Name and Age.
enum Table {
    private static let nameDescription =
        "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"

    private static func column(_ name: String, description: String = "", priority: Int = 0, format: String = "") -> JSONValue {
        ["name": .string(name), "type": "string", "format": .string(format), "description": .string(description), "priority": .number(Double(priority))]
    }

    static func table(type: ResourceType, objects: [JSONValue], resourceVersion: String, now: Date = Date()) -> JSONValue {
        let (columns, cells) = layout(type, now: now)
        let rows: [JSONValue] = objects.map { object in
            var metadata = object["metadata"] ?? [:]
            metadata["managedFields"] = nil
            return [
                "cells": .array(cells(object)),
                "object": ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata],
            ]
        }
        return [
            "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": ["resourceVersion": .string(resourceVersion)],
            "columnDefinitions": .array(columns), "rows": .array(rows),
        ]
    }

    private static func layout(_ type: ResourceType, now: Date) -> ([JSONValue], (JSONValue) -> [JSONValue]) {
        let name = column("Name", description: nameDescription, format: "name")
        let age = column("Age", description: "CreationTimestamp is a timestamp representing the server time when this object was created.")
        let ageCell: (JSONValue) -> JSONValue = { .string(Self.age($0["metadata"]?["creationTimestamp"]?.stringValue, now: now)) }
        let nameCell: (JSONValue) -> JSONValue = { $0["metadata"]?["name"] ?? "" }
        switch type.storageKey {
        case "/pods":
            let columns = [
                name, column("Ready", description: "The aggregate readiness state of this pod for accepting traffic."),
                column("Status", description: "The aggregate status of the containers in this pod."),
                column("Restarts", description: "The number of times the containers in this pod have been restarted."), age,
                column("IP", description: "podIP address allocated to the pod.", priority: 1),
                column("Node", description: "NodeName indicates in which node this pod is scheduled.", priority: 1),
                column("Nominated Node", description: "nominatedNodeName is set only when this pod preempts other pods on the node.", priority: 1),
                column("Readiness Gates", description: "If specified, all readiness gates will be evaluated for pod readiness.", priority: 1),
            ]
            return (columns, { pod in
                let statuses = pod["status"]?["containerStatuses"]?.arrayValue ?? []
                let total = pod["spec"]?["containers"]?.arrayValue?.count ?? 0
                let ready = statuses.filter { $0["ready"] == .bool(true) }.count
                let restarts = statuses.compactMap { $0["restartCount"]?.intValue }.reduce(0, +)
                return [
                    nameCell(pod), .string("\(ready)/\(total)"), .string(podStatus(pod)), .string(String(restarts)), ageCell(pod),
                    .string(pod["status"]?["podIP"]?.stringValue ?? "<none>"), .string(nonEmpty(pod["spec"]?["nodeName"]?.stringValue)),
                    .string(nonEmpty(pod["status"]?["nominatedNodeName"]?.stringValue)), "<none>",
                ]
            })
        case "apps/deployments", "apps/statefulsets", "apps/replicasets":
            let columns = [name, column("Ready"), column("Up-to-date"), column("Available"), age]
            return (columns, { object in
                let desired = object["spec"]?["replicas"]?.intValue ?? 0
                let ready = object["status"]?["readyReplicas"]?.intValue ?? 0
                return [
                    nameCell(object), .string("\(ready)/\(desired)"),
                    .string(String(object["status"]?["updatedReplicas"]?.intValue ?? 0)),
                    .string(String(object["status"]?["availableReplicas"]?.intValue ?? 0)), ageCell(object),
                ]
            })
        case "/nodes":
            let columns = [name, column("Status"), column("Roles"), age, column("Version")]
            return (columns, { node in
                let readyCondition = node["status"]?["conditions"]?.arrayValue?.first(where: { $0["type"] == "Ready" })
                let ready = readyCondition?["status"] == "True"
                var status = ready ? "Ready" : "NotReady"
                if node["spec"]?["unschedulable"] == .bool(true) { status += ",SchedulingDisabled" }
                return [
                    nameCell(node), .string(status), "<none>", ageCell(node),
                    .string(node["status"]?["nodeInfo"]?["kubeletVersion"]?.stringValue ?? ""),
                ]
            })
        default:
            guard !type.printerColumns.isEmpty else { return ([name, age], { [nameCell($0), ageCell($0)] }) }
            let columns = [name] + type.printerColumns.map { printer in
                column(
                    printer["name"]?.stringValue ?? "", description: printer["description"]?.stringValue
                        ?? "Custom resource definition column (in JSONPath format): \(printer["jsonPath"]?.stringValue ?? "")",
                    priority: printer["priority"]?.intValue ?? 0)
            }
            return (columns, { object in
                [nameCell(object)] + type.printerColumns.map { printer -> JSONValue in
                    let path = (printer["jsonPath"]?.stringValue ?? "").split(separator: ".").map(String.init)
                    var value: JSONValue? = object
                    for component in path { value = value?[component] }
                    if printer["type"]?.stringValue == "date" { return .string(Self.age(value?.stringValue, now: now)) }
                    return value ?? nil
                }
            })
        }
    }

    private static func nonEmpty(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "<none>" }
        return text
    }

    /// The STATUS column: Terminating, a container's waiting/terminated reason, else the phase.
    static func podStatus(_ pod: JSONValue) -> String {
        if pod["metadata"]?["deletionTimestamp"] != nil { return "Terminating" }
        var status = pod["status"]?["reason"]?.stringValue ?? pod["status"]?["phase"]?.stringValue ?? "Unknown"
        for container in pod["status"]?["containerStatuses"]?.arrayValue ?? [] {
            if let reason = container["state"]?["waiting"]?["reason"]?.stringValue, !reason.isEmpty {
                status = reason
            } else if let reason = container["state"]?["terminated"]?["reason"]?.stringValue, !reason.isEmpty {
                status = reason
            }
        }
        return status
    }

    /// kubectl's short human duration (`5s`, `3m20s`, `4h`, `2d`).
    static func age(_ timestamp: String?, now: Date) -> String {
        guard let timestamp, let created = try? Date(timestamp, strategy: .iso8601) else { return "<unknown>" }
        let seconds = max(0, Int(now.timeIntervalSince(created)))
        switch seconds {
        case ..<120: return "\(seconds)s"
        case ..<600: return seconds % 60 == 0 ? "\(seconds / 60)m" : "\(seconds / 60)m\(seconds % 60)s"
        case ..<10_800: return "\(seconds / 60)m"
        case ..<28_800: return "\(seconds / 3600)h\((seconds % 3600) / 60)m"
        case ..<172_800: return "\(seconds / 3600)h"
        case ..<691_200: return "\(seconds / 86400)d\((seconds % 86400) / 3600)h"
        default: return "\(seconds / 86400)d"
        }
    }
}
