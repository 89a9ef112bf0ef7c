import Foundation
import KubernetesModels
import TestSupport
import Testing

/// Every field a model reads exists, at that place, in the real v1.36 OpenAPI v3 schemas that
/// TestSupport serves to kubectl: the models use upstream's field names exactly.
@Suite("Field names against the OpenAPI schemas")
struct OpenAPIFieldNameTests {
    static let resources: [any KubernetesResource.Type] = [
        Pod.self, Node.self, Lease.self, Event.self, ConfigMap.self, Secret.self, Namespace.self,
        PersistentVolumeClaim.self, PersistentVolume.self, StorageClass.self, RuntimeClass.self,
        TokenReview.self, SubjectAccessReview.self, TokenRequest.self, CertificateSigningRequest.self,
    ]

    @Test("each resource's fields are in its schema", arguments: resources.map { ($0, $0.kind) })
    func fieldsExist(resource: any KubernetesResource.Type, kind: String) throws {
        let schemas = try OpenAPISchemas.shared()
        let name = try #require(schemas.schemaName(group: resource.group, version: resource.version, kind: kind), "no schema for \(kind)")
        let paths = try FieldPathProbe.paths(of: resource)
        #expect(paths.count > 3)
        let unknown = paths.filter { !schemas.hasField(path: $0, in: name) }.sorted()
        #expect(unknown.isEmpty, "\(kind) reads fields its schema \(name) does not have: \(unknown)")
    }

    @Test("the probe reaches nested fields, and the schema walk rejects a misspelt one")
    func probeAndWalk() throws {
        let schemas = try OpenAPISchemas.shared()
        let paths = try FieldPathProbe.paths(of: Node.self)
        #expect(paths.isSuperset(of: ["status.daemonEndpoints.kubeletEndpoint.Port", "spec.taints[].effect", "metadata.ownerReferences[].uid"]))
        #expect(schemas.hasField(path: "spec.containers[].livenessProbe.httpGet.port", in: "io.k8s.api.core.v1.Pod"))
        #expect(!schemas.hasField(path: "spec.containers[].livenessprobe", in: "io.k8s.api.core.v1.Pod"))
        #expect(!schemas.hasField(path: "spec.containers.name", in: "io.k8s.api.core.v1.Pod"))
    }

    @Test("Status's fields are in meta/v1 Status")
    func statusFields() throws {
        let schemas = try OpenAPISchemas.shared()
        let unknown = try FieldPathProbe.paths(of: Status.self).filter {
            !schemas.hasField(path: $0, in: "io.k8s.apimachinery.pkg.apis.meta.v1.Status")
        }
        #expect(unknown.isEmpty, "\(unknown)")
    }
}

/// The component schemas of the OpenAPI v3 documents in `Sources/TestSupport/Resources/kubectl`.
struct OpenAPISchemas {
    let schemas: [String: JSONValue]

    /// The schemas of every document, merged (read once: they are large).
    static func shared() throws -> OpenAPISchemas { try loaded.get() }

    private static let loaded = Result { () throws -> OpenAPISchemas in
        let folder = RecordedTraffic.directory  // <root>/Tests/Fixtures/recorded
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/TestSupport/Resources/kubectl")
        var schemas: [String: JSONValue] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path)
        where file.hasPrefix("openapi-v3-apis") || file == "openapi-v3-api_v1.json" {
            let document = try JSONValue(parsing: Data(contentsOf: folder.appendingPathComponent(file)))
            schemas.merge(document["components"]?["schemas"]?.objectValue ?? [:]) { first, _ in first }
        }
        return OpenAPISchemas(schemas: schemas)
    }

    /// The schema declaring `x-kubernetes-group-version-kind` for this kind.
    func schemaName(group: String, version: String, kind: String) -> String? {
        schemas.first { _, schema in
            schema["x-kubernetes-group-version-kind"]?.arrayValue?.contains { gvk in
                gvk["group"]?.stringValue == group && gvk["version"]?.stringValue == version && gvk["kind"]?.stringValue == kind
            } == true
        }?.key
    }

    /// Whether `path` (`spec.containers[].name`) names a field, starting at schema `root`.
    func hasField(path: String, in root: String) -> Bool {
        var current = schemas[root]
        for segment in path.replacingOccurrences(of: "[]", with: ".[]").split(separator: ".") {
            guard let node = current else { return false }
            if segment == "[]" {
                guard node["type"]?.stringValue == "array" else { return false }
                current = resolve(node["items"])
            } else {
                current = resolve(node["properties"]?[String(segment)])
                if current == nil { return false }
            }
        }
        return true
    }

    /// Follows `$ref` and `allOf: [{$ref}]` to the referenced schema.
    private func resolve(_ node: JSONValue?) -> JSONValue? {
        guard let node else { return nil }
        let reference = node["$ref"]?.stringValue ?? node["allOf"]?.arrayValue?.first?["$ref"]?.stringValue
        guard let reference else { return node }
        return schemas[String(reference.split(separator: "/").last ?? "")]
    }
}
