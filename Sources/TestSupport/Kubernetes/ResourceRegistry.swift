import Foundation
import KubernetesModels

/// One servable resource type: what discovery says about a group/version/resource.
public struct ResourceType: Sendable, Hashable {
    /// API group; empty for the core group.
    public var group: String
    /// Version, e.g. `v1`.
    public var version: String
    /// Plural resource name, e.g. `pods`.
    public var resource: String
    /// Singular name, e.g. `pod`.
    public var singular: String
    /// Kind, e.g. `Pod`.
    public var kind: String
    /// `true` for namespaced resources.
    public var namespaced: Bool
    /// Subresources the API serves (`status`, `scale`, `log`, ...).
    public var subresources: Set<String>
    /// Verbs discovery advertises.
    public var verbs: [String]
    /// Short names for kubectl (`po`, `deploy`).
    public var shortNames: [String]
    /// Categories for kubectl (`all`).
    public var categories: [String]
    /// The CRD schema of a custom resource version (`openAPIV3Schema`), for validation.
    public var schema: JSONValue?
    /// The CRD's `additionalPrinterColumns`, for the Table format.
    public var printerColumns: [JSONValue]

    /// `apiVersion` of objects of this type: `v1` or `apps/v1`.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// `pods` or `leases.coordination.k8s.io`, as API messages name resources.
    public var qualifiedName: String { group.isEmpty ? resource : "\(resource).\(group)" }
    /// `true` when the type has a status subresource (so the main resource ignores status changes).
    public var hasStatus: Bool { subresources.contains("status") }
    /// Storage key: the group and resource, independent of the version.
    var storageKey: String { "\(group)/\(resource)" }

    /// A resource type.
    public init(
        group: String, version: String, resource: String, singular: String? = nil, kind: String, namespaced: Bool,
        subresources: Set<String> = [], verbs: [String] = ResourceType.allVerbs, shortNames: [String] = [],
        categories: [String] = [], schema: JSONValue? = nil, printerColumns: [JSONValue] = []
    ) {
        self.group = group
        self.version = version
        self.resource = resource
        self.singular = singular ?? kind.lowercased()
        self.kind = kind
        self.namespaced = namespaced
        self.subresources = subresources
        self.verbs = verbs
        self.shortNames = shortNames
        self.categories = categories
        self.schema = schema
        self.printerColumns = printerColumns
    }

    /// The verbs of an ordinary stored resource.
    public static let allVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
}

/// The resource types the simulator serves: the built-in ones from the recorded aggregated discovery
/// documents, plus custom resources registered by CRDs at run time.
struct ResourceRegistry: Sendable {
    private(set) var builtIn: [ResourceType] = []
    private(set) var custom: [ResourceType] = []
    /// The recorded aggregated discovery documents (`/api` and `/apis`).
    let discoveryCore: JSONValue
    let discoveryGroups: JSONValue

    var all: [ResourceType] { builtIn + custom }

    init(core: JSONValue, groups: JSONValue) {
        discoveryCore = core
        discoveryGroups = groups
        for document in [core, groups] {
            for item in document["items"]?.arrayValue ?? [] {
                let group = item["metadata"]?["name"]?.stringValue ?? ""
                for version in item["versions"]?.arrayValue ?? [] {
                    for resource in version["resources"]?.arrayValue ?? [] {
                        builtIn.append(
                            ResourceType(
                                group: group,
                                version: version["version"]?.stringValue ?? "v1",
                                resource: resource["resource"]?.stringValue ?? "",
                                singular: resource["singularResource"]?.stringValue,
                                kind: resource["responseKind"]?["kind"]?.stringValue ?? "",
                                namespaced: resource["scope"]?.stringValue == "Namespaced",
                                subresources: Set(
                                    (resource["subresources"]?.arrayValue ?? []).compactMap { $0["subresource"]?.stringValue }),
                                verbs: (resource["verbs"]?.arrayValue ?? []).compactMap(\.stringValue),
                                shortNames: (resource["shortNames"]?.arrayValue ?? []).compactMap(\.stringValue),
                                categories: (resource["categories"]?.arrayValue ?? []).compactMap(\.stringValue)
                            ))
                    }
                }
            }
        }
    }

    /// The type served at `group/version/resource`.
    func lookup(group: String, version: String, resource: String) -> ResourceType? {
        all.first { $0.group == group && $0.version == version && $0.resource == resource }
    }

    /// Any served version of `group/resource` (for storage-level operations).
    func lookup(group: String, resource: String) -> ResourceType? {
        all.first { $0.group == group && $0.resource == resource }
    }

    /// The type of objects with that apiVersion and kind.
    func lookup(apiVersion: String, kind: String) -> ResourceType? {
        all.first { $0.apiVersion == apiVersion && $0.kind == kind }
    }

    /// `true` when `group/version` is served.
    func serves(group: String, version: String) -> Bool {
        all.contains { $0.group == group && $0.version == version }
    }

    /// Registers (or replaces) the served versions of a CRD.
    mutating func register(crd: JSONValue) {
        let types = Self.types(ofCRD: crd)
        guard let first = types.first else { return }
        custom.removeAll { $0.group == first.group && $0.resource == first.resource }
        custom.append(contentsOf: types)
    }

    /// Removes the custom resource types of a CRD.
    mutating func unregister(crd: JSONValue) {
        guard let first = Self.types(ofCRD: crd).first else { return }
        custom.removeAll { $0.group == first.group && $0.resource == first.resource }
    }

    static func types(ofCRD crd: JSONValue) -> [ResourceType] {
        guard let spec = crd["spec"], let group = spec["group"]?.stringValue,
            let plural = spec["names"]?["plural"]?.stringValue, let kind = spec["names"]?["kind"]?.stringValue
        else { return [] }
        let namespaced = spec["scope"]?.stringValue != "Cluster"
        return (spec["versions"]?.arrayValue ?? []).compactMap { version in
            guard version["served"] != .bool(false), let name = version["name"]?.stringValue else { return nil }
            var subresources: Set<String> = []
            if version["subresources"]?["status"] != nil { subresources.insert("status") }
            if version["subresources"]?["scale"] != nil { subresources.insert("scale") }
            return ResourceType(
                group: group, version: name, resource: plural,
                singular: spec["names"]?["singular"]?.stringValue ?? kind.lowercased(), kind: kind,
                namespaced: namespaced, subresources: subresources,
                shortNames: (spec["names"]?["shortNames"]?.arrayValue ?? []).compactMap(\.stringValue),
                categories: (spec["names"]?["categories"]?.arrayValue ?? []).compactMap(\.stringValue),
                schema: version["schema"]?["openAPIV3Schema"],
                printerColumns: version["additionalPrinterColumns"]?.arrayValue ?? [])
        }
    }

    // MARK: Discovery documents

    /// The aggregated discovery document (`apidiscovery.k8s.io/v2`) for `/api` or `/apis`.
    func aggregatedDiscovery(core: Bool) -> JSONValue {
        if core { return discoveryCore }
        var document = discoveryGroups
        var items = document["items"]?.arrayValue ?? []
        var groups: [String: [ResourceType]] = [:]
        var order: [String] = []
        for type in custom {
            if groups[type.group] == nil { order.append(type.group) }
            groups[type.group, default: []].append(type)
        }
        for group in order {
            let types = groups[group] ?? []
            var versions: [String] = []
            for type in types where !versions.contains(type.version) { versions.append(type.version) }
            items.append([
                "metadata": ["name": .string(group), "creationTimestamp": nil],
                "versions": .array(
                    versions.map { version in
                        [
                            "version": .string(version),
                            "resources": .array(types.filter { $0.version == version }.map(Self.aggregatedEntry)),
                            "freshness": "Current",
                        ]
                    }),
            ])
        }
        document["items"] = .array(items)
        return document
    }

    private static func aggregatedEntry(_ type: ResourceType) -> JSONValue {
        var entry: [String: JSONValue] = [
            "resource": .string(type.resource),
            "responseKind": ["group": "", "version": "", "kind": .string(type.kind)],
            "scope": type.namespaced ? "Namespaced" : "Cluster",
            "singularResource": .string(type.singular),
            "verbs": .array(type.verbs.map(JSONValue.string)),
        ]
        if !type.shortNames.isEmpty { entry["shortNames"] = .array(type.shortNames.map(JSONValue.string)) }
        if !type.categories.isEmpty { entry["categories"] = .array(type.categories.map(JSONValue.string)) }
        let subresources = type.subresources.sorted().map { name -> JSONValue in
            [
                "subresource": .string(name),
                "responseKind": ["group": "", "version": "", "kind": .string(name == "scale" ? "Scale" : type.kind)],
                "verbs": ["get", "patch", "update"],
            ]
        }
        if !subresources.isEmpty { entry["subresources"] = .array(subresources) }
        return .object(entry)
    }

    /// The legacy `APIGroupList` of `/apis`.
    func legacyGroupList(recorded: JSONValue) -> JSONValue {
        var document = recorded
        var groups = document["groups"]?.arrayValue ?? []
        var seen = Set(groups.compactMap { $0["name"]?.stringValue })
        for type in custom where !seen.contains(type.group) {
            seen.insert(type.group)
            let versions = custom.filter { $0.group == type.group }.map(\.version)
            let entries: [JSONValue] = versions.map { ["groupVersion": .string("\(type.group)/\($0)"), "version": .string($0)] }
            groups.append([
                "name": .string(type.group), "versions": .array(entries), "preferredVersion": entries.first ?? nil,
            ])
        }
        document["groups"] = .array(groups)
        return document
    }

    /// The legacy `APIResourceList` of `/api/v1` or `/apis/GROUP/VERSION`.
    func resourceList(group: String, version: String) -> JSONValue {
        var resources: [JSONValue] = []
        for type in all where type.group == group && type.version == version {
            var entry: [String: JSONValue] = [
                "name": .string(type.resource), "singularName": .string(type.singular),
                "namespaced": .bool(type.namespaced), "kind": .string(type.kind),
                "verbs": .array(type.verbs.map(JSONValue.string)),
            ]
            if !type.shortNames.isEmpty { entry["shortNames"] = .array(type.shortNames.map(JSONValue.string)) }
            if !type.categories.isEmpty { entry["categories"] = .array(type.categories.map(JSONValue.string)) }
            resources.append(.object(entry))
            for subresource in type.subresources.sorted() {
                resources.append([
                    "name": .string("\(type.resource)/\(subresource)"), "singularName": "",
                    "namespaced": .bool(type.namespaced), "kind": .string(subresource == "scale" ? "Scale" : type.kind),
                    "verbs": ["get", "patch", "update"],
                ])
            }
        }
        return [
            "kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"), "resources": .array(resources),
        ]
    }
}
