import KubernetesClient
import KubernetesModels
import Testing

@Suite("Two-way strategic merge diff")
struct StrategicMergeDiffTests {
    @Test func equalObjectsNeedNoPatch() {
        let status: JSONValue = ["phase": "Running", "conditions": [["type": "Ready", "status": "True"]]]
        #expect(StrategicMergeDiff.patch(from: status, to: status) == Optional<JSONValue>.none)
    }

    @Test func containerStatusesAreAtomicAndSentWhole() {
        // containerStatuses has no patch merge key in the API: a real kube-apiserver replaces the
        // list with the patch's, so a fragment of the changed fields would lose image, state...
        let old: JSONValue = [
            "containerStatuses": [["name": "web", "image": "a", "ready": false, "state": ["waiting": ["reason": "ContainerCreating"]]]]
        ]
        let new: JSONValue = [
            "containerStatuses": [["name": "web", "image": "a", "ready": true, "state": ["running": ["startedAt": "2026-11-25T20:00:00Z"]]]]
        ]
        #expect(StrategicMergeDiff.patch(from: old, to: new) == new)
    }

    @Test func conditionsArePatchedByTypeAndRemovedOnesDeleted() {
        let old: JSONValue = [
            "conditions": [
                ["type": "PodScheduled", "status": "True"],
                ["type": "Ready", "status": "False", "reason": "ContainersNotReady"],
                ["type": "Obsolete", "status": "True"],
            ]
        ]
        let new: JSONValue = [
            "conditions": [["type": "PodScheduled", "status": "True"], ["type": "Ready", "status": "True"]]
        ]
        let expected: JSONValue = [
            "conditions": [
                ["type": "Ready", "status": "True", "reason": nil],
                ["type": "Obsolete", "$patch": "delete"],
            ]
        ]
        #expect(StrategicMergeDiff.patch(from: old, to: new) == expected)
    }

    @Test func listsWithoutMergeKeysAndNewKeysAreReplaced() {
        let old: JSONValue = ["phase": "Pending", "message": "waiting"]
        let new: JSONValue = ["phase": "Running", "hostIP": "10.0.0.1"]
        #expect(StrategicMergeDiff.patch(from: old, to: new) == ["phase": "Running", "hostIP": "10.0.0.1", "message": nil])
        #expect(StrategicMergeDiff.patch(from: nil, to: new) == new)
    }
}
