import Foundation

/// A core/v1 Event: a note about an object (`kubectl describe` shows them), e.g. a container started.
public struct Event: KubernetesResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Event"
    public static let plural = "events"
    public static let isNamespaced = true

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    /// The object the event is about.
    public var involvedObject: ObjectReference
    /// Short, CamelCase: `Started`, `Killing`, `FailedMount`...
    public var reason: String?
    public var message: String?
    public var source: EventSource?
    public var firstTimestamp: Time?
    public var lastTimestamp: Time?
    public var count: Int?
    /// `Normal` or `Warning`.
    public var type: String?
    public var eventTime: MicroTime?
    public var series: EventSeries?
    public var action: String?
    public var related: ObjectReference?
    public var reportingComponent: String?
    public var reportingInstance: String?

    /// Creates an `Event`; `apiVersion` and `kind` are filled in.
    public init(
        metadata: ObjectMeta = ObjectMeta(),
        involvedObject: ObjectReference = ObjectReference(),
        reason: String? = nil,
        message: String? = nil,
        source: EventSource? = nil,
        firstTimestamp: Time? = nil,
        lastTimestamp: Time? = nil,
        count: Int? = nil,
        type: String? = nil,
        eventTime: MicroTime? = nil,
        series: EventSeries? = nil,
        action: String? = nil,
        related: ObjectReference? = nil,
        reportingComponent: String? = nil,
        reportingInstance: String? = nil
    ) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.involvedObject = involvedObject
        self.reason = reason
        self.message = message
        self.source = source
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.count = count
        self.type = type
        self.eventTime = eventTime
        self.series = series
        self.action = action
        self.related = related
        self.reportingComponent = reportingComponent
        self.reportingInstance = reportingInstance
    }

    /// Decodes leniently: a missing `metadata` reads as empty; `involvedObject` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        involvedObject = try container.decodeIfPresent(ObjectReference.self, forKey: .involvedObject) ?? ObjectReference()
        reason = try container.decodeIfPresent(String.self, forKey: .reason)
        message = try container.decodeIfPresent(String.self, forKey: .message)
        source = try container.decodeIfPresent(EventSource.self, forKey: .source)
        firstTimestamp = try container.decodeIfPresent(Time.self, forKey: .firstTimestamp)
        lastTimestamp = try container.decodeIfPresent(Time.self, forKey: .lastTimestamp)
        count = try container.decodeIfPresent(Int.self, forKey: .count)
        type = try container.decodeIfPresent(String.self, forKey: .type)
        eventTime = try container.decodeIfPresent(MicroTime.self, forKey: .eventTime)
        series = try container.decodeIfPresent(EventSeries.self, forKey: .series)
        action = try container.decodeIfPresent(String.self, forKey: .action)
        related = try container.decodeIfPresent(ObjectReference.self, forKey: .related)
        reportingComponent = try container.decodeIfPresent(String.self, forKey: .reportingComponent)
        reportingInstance = try container.decodeIfPresent(String.self, forKey: .reportingInstance)
    }
}

/// The component (and host) that reported an Event.
public struct EventSource: Codable, Sendable, Hashable {
    public var component: String?
    public var host: String?

    /// Creates an `EventSource`.
    public init(component: String? = nil, host: String? = nil) {
        self.component = component
        self.host = host
    }
}

/// A series of repeated events.
public struct EventSeries: Codable, Sendable, Hashable {
    public var count: Int?
    public var lastObservedTime: MicroTime?

    /// Creates an `EventSeries`.
    public init(count: Int? = nil, lastObservedTime: MicroTime? = nil) {
        self.count = count
        self.lastObservedTime = lastObservedTime
    }
}

/// A reference to any object, optionally to a field of it (`spec.containers{name}`).
public struct ObjectReference: Codable, Sendable, Hashable {
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?
    public var apiVersion: String?
    public var resourceVersion: String?
    public var fieldPath: String?

    /// Creates an `ObjectReference`.
    public init(
        kind: String? = nil,
        namespace: String? = nil,
        name: String? = nil,
        uid: String? = nil,
        apiVersion: String? = nil,
        resourceVersion: String? = nil,
        fieldPath: String? = nil
    ) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.apiVersion = apiVersion
        self.resourceVersion = resourceVersion
        self.fieldPath = fieldPath
    }
}
