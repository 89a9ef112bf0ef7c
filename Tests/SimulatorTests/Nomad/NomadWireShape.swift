import Foundation

@testable import TestSupport

/// Compares JSON shapes: the set of key paths, with map-like objects (keyed by task names, node
/// attributes, metadata...) collapsed to `*` and array elements merged under `[]`.
enum NomadWireShape {
    /// Objects whose keys are data, not field names.
    static let mapLike: Set<String> = [
        "Attributes", "Meta", "Env", "Config", "Details", "Drivers", "TaskStates", "Tasks", "TaskResources", "TaskLifecycles",
        "Summary", "NodesAvailable", "ConstraintFiltered", "DimensionExhausted", "ResourcesExhausted", "QueuedAllocations",
        "FailedTGAllocs", "Pids", "Scores", "ClassEligibility", "ReservableCpuCores",
    ]

    static func paths(_ value: WireJSON, prefix: String = "", parentKey: String = "") -> Set<String> {
        switch value {
        case .object(let members):
            var result: Set<String> = []
            for (key, member) in members {
                // The allocation's embedded job and AllocatedResources.Tasks are structs, TaskGroups' Tasks an array.
                let component = mapLike.contains(parentKey) && !(parentKey == "Tasks" && member.array != nil) ? "*" : key
                let path = prefix.isEmpty ? component : "\(prefix).\(component)"
                result.insert(path)
                result.formUnion(paths(member, prefix: path, parentKey: component == "*" ? "" : key))
            }
            return result
        case .array(let elements):
            var result: Set<String> = []
            for element in elements { result.formUnion(paths(element, prefix: prefix + "[]", parentKey: "")) }
            return result
        default:
            return []
        }
    }

    /// The recorded key paths the simulator's answer lacks.
    static func missing(recorded: WireJSON, simulated: WireJSON) -> [String] {
        paths(recorded).subtracting(paths(simulated)).sorted()
    }
}
