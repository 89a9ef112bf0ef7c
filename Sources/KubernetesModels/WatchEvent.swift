import Foundation

/// The type of a watch event.
public enum WatchEventType: String, Codable, Sendable, Hashable, CaseIterable {
    case added = "ADDED"
    case modified = "MODIFIED"
    case deleted = "DELETED"
    /// Carries only `metadata.resourceVersion`: the point to resume watching from.
    case bookmark = "BOOKMARK"
    /// The object is a `Status`, e.g. 410 `Expired` when the resourceVersion is too old.
    case error = "ERROR"
}

/// One line of a watch stream: `{"type": "ADDED", "object": {...}}`.
///
/// For `ERROR` the object is a `Status`, whatever `Object` is; decoding reads `type` first and then
/// `object` as a `Status` for errors and as `Object` otherwise. Switch on `payload`, or use `object`
/// and `status`.
public struct WatchEvent<Object: Codable & Sendable>: Codable, Sendable {
    /// The object of an event, or the Status of an `ERROR` event.
    public enum Payload: Sendable {
        case object(Object)
        case status(Status)
    }

    public var type: WatchEventType
    public var payload: Payload

    /// An event about an object (`ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`).
    public init(type: WatchEventType, object: Object) {
        self.type = type
        self.payload = .object(object)
    }

    /// An `ERROR` event carrying `status`.
    public init(error status: Status) {
        self.type = .error
        self.payload = .status(status)
    }

    /// The object, for every type but `ERROR`.
    public var object: Object? {
        if case .object(let object) = payload { return object }
        return nil
    }

    /// The Status of an `ERROR` event.
    public var status: Status? {
        if case .status(let status) = payload { return status }
        return nil
    }

    private enum CodingKeys: String, CodingKey {
        case type
        case object
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(WatchEventType.self, forKey: .type)
        if type == .error {
            payload = .status(try container.decode(Status.self, forKey: .object))
        } else {
            payload = .object(try container.decode(Object.self, forKey: .object))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        switch payload {
        case .object(let object): try container.encode(object, forKey: .object)
        case .status(let status): try container.encode(status, forKey: .object)
        }
    }
}

extension WatchEvent.Payload: Equatable where Object: Equatable {}
extension WatchEvent.Payload: Hashable where Object: Hashable {}
extension WatchEvent: Equatable where Object: Equatable {}
extension WatchEvent: Hashable where Object: Hashable {}
