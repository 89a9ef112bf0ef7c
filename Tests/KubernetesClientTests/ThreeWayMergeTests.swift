import KubernetesModels
import Testing

@testable import KubernetesClient

@Suite("Three-way merge of typed edits onto raw JSON")
struct ThreeWayMergeTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var original: JSONValue
        var modified: JSONValue
        var raw: JSONValue
        var expected: JSONValue
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "no edit returns the raw object untouched",
            original: ["a": 1], modified: ["a": 1], raw: ["a": 1, "unknown": "kept"], expected: ["a": 1, "unknown": "kept"]),
        Case(
            name: "top-level unknown field survives a changed field",
            original: ["a": 1], modified: ["a": 2], raw: ["a": 1, "unknown": true], expected: ["a": 2, "unknown": true]),
        Case(
            name: "nested unknown field survives",
            original: ["spec": ["replicas": 1]], modified: ["spec": ["replicas": 3]],
            raw: ["spec": ["replicas": 1, "futureField": ["x": 1]]], expected: ["spec": ["replicas": 3, "futureField": ["x": 1]]]),
        Case(
            name: "unknown field inside an array element survives",
            original: ["containers": [["name": "a", "image": "v1"], ["name": "b", "image": "v1"]]],
            modified: ["containers": [["name": "a", "image": "v2"], ["name": "b", "image": "v1"]]],
            raw: ["containers": [["name": "a", "image": "v1", "resizePolicy": ["x"]], ["name": "b", "image": "v1", "extra": 1]]],
            expected: ["containers": [["name": "a", "image": "v2", "resizePolicy": ["x"]], ["name": "b", "image": "v1", "extra": 1]]]),
        Case(
            name: "array that changed length is replaced",
            original: ["args": ["a"]], modified: ["args": ["a", "b"]], raw: ["args": ["a"]], expected: ["args": ["a", "b"]]),
        Case(
            name: "added field is written",
            original: ["metadata": ["name": "x"]], modified: ["metadata": ["name": "x", "labels": ["k": "v"]]],
            raw: ["metadata": ["name": "x", "managedFields": [1]]], expected: ["metadata": ["name": "x", "labels": ["k": "v"], "managedFields": [1]]]),
        Case(
            name: "removed field is deleted, unknown siblings stay",
            original: ["metadata": ["labels": ["k": "v", "gone": "x"]]], modified: ["metadata": ["labels": ["k": "v"]]],
            raw: ["metadata": ["labels": ["k": "v", "gone": "x"], "zzz": 1]], expected: ["metadata": ["labels": ["k": "v"], "zzz": 1]]),
        Case(
            name: "scalar replaced by object",
            original: ["v": "s"], modified: ["v": ["o": 1]], raw: ["v": "s", "u": 0], expected: ["v": ["o": 1], "u": 0]),
        Case(
            name: "changed field missing from raw is written",
            original: ["a": ["b": 1]], modified: ["a": ["b": 2]], raw: ["c": 1], expected: ["c": 1, "a": ["b": 2]]),
    ]

    @Test(arguments: cases)
    func merge(_ testCase: Case) {
        #expect(ThreeWayMerge.apply(original: testCase.original, modified: testCase.modified, onto: testCase.raw) == testCase.expected)
    }
}
