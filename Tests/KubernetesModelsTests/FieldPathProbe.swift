import Foundation

/// Lists the JSON field paths a Decodable type reads (`spec.containers[].livenessProbe.httpGet.port`),
/// by decoding it from a decoder that has every key and one element in every array.
///
/// Map keys are not visited (dictionaries see no keys), and primitives read as zero values, so
/// decoding finishes for every model type.
enum FieldPathProbe {
    static func paths<T: Decodable>(of type: T.Type) throws -> Set<String> {
        let recorder = Recorder()
        _ = try T(from: ProbeDecoder(recorder: recorder, codingPath: []))
        return recorder.paths
    }

    fileprivate final class Recorder {
        var paths: Set<String> = []

        func record(_ codingPath: [any CodingKey], _ key: any CodingKey) {
            paths.insert((codingPath + [key]).map(\.stringValue).joined(separator: ".").replacingOccurrences(of: ".[]", with: "[]"))
        }
    }

    fileprivate struct ElementKey: CodingKey {
        var stringValue: String { "[]" }
        var intValue: Int? { 0 }
        init() {}
        init?(stringValue: String) { nil }
        init?(intValue: Int) { nil }
    }

    fileprivate struct ProbeDecoder: Decoder {
        let recorder: Recorder
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedDecodingContainer<Key> {
            KeyedDecodingContainer(KeyedProbe<Key>(recorder: recorder, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedDecodingContainer { UnkeyedProbe(recorder: recorder, codingPath: codingPath) }
        func singleValueContainer() -> any SingleValueDecodingContainer { SingleValueProbe(codingPath: codingPath) }
    }

    fileprivate struct KeyedProbe<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let recorder: Recorder
        let codingPath: [any CodingKey]
        var allKeys: [Key] { [] }

        func contains(_ key: Key) -> Bool { true }
        func decodeNil(forKey key: Key) -> Bool { false }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            recorder.record(codingPath, key)
            return try T(from: ProbeDecoder(recorder: recorder, codingPath: codingPath + [key]))
        }
        func decode(_ type: Bool.Type, forKey key: Key) -> Bool { primitive(key, false) }
        func decode(_ type: String.Type, forKey key: Key) -> String { primitive(key, "") }
        func decode(_ type: Double.Type, forKey key: Key) -> Double { primitive(key, 0) }
        func decode(_ type: Float.Type, forKey key: Key) -> Float { primitive(key, 0) }
        func decode(_ type: Int.Type, forKey key: Key) -> Int { primitive(key, 0) }
        func decode(_ type: Int8.Type, forKey key: Key) -> Int8 { primitive(key, 0) }
        func decode(_ type: Int16.Type, forKey key: Key) -> Int16 { primitive(key, 0) }
        func decode(_ type: Int32.Type, forKey key: Key) -> Int32 { primitive(key, 0) }
        func decode(_ type: Int64.Type, forKey key: Key) -> Int64 { primitive(key, 0) }
        func decode(_ type: UInt.Type, forKey key: Key) -> UInt { primitive(key, 0) }
        func decode(_ type: UInt8.Type, forKey key: Key) -> UInt8 { primitive(key, 0) }
        func decode(_ type: UInt16.Type, forKey key: Key) -> UInt16 { primitive(key, 0) }
        func decode(_ type: UInt32.Type, forKey key: Key) -> UInt32 { primitive(key, 0) }
        func decode(_ type: UInt64.Type, forKey key: Key) -> UInt64 { primitive(key, 0) }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) -> KeyedDecodingContainer<NestedKey> {
            recorder.record(codingPath, key)
            return KeyedDecodingContainer(KeyedProbe<NestedKey>(recorder: recorder, codingPath: codingPath + [key]))
        }
        func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedDecodingContainer {
            recorder.record(codingPath, key)
            return UnkeyedProbe(recorder: recorder, codingPath: codingPath + [key])
        }
        func superDecoder() -> any Decoder { ProbeDecoder(recorder: recorder, codingPath: codingPath) }
        func superDecoder(forKey key: Key) -> any Decoder { ProbeDecoder(recorder: recorder, codingPath: codingPath + [key]) }

        private func primitive<T>(_ key: Key, _ value: T) -> T {
            recorder.record(codingPath, key)
            return value
        }
    }

    fileprivate struct UnkeyedProbe: UnkeyedDecodingContainer {
        let recorder: Recorder
        let codingPath: [any CodingKey]
        var count: Int? { 1 }
        var currentIndex = 0
        var isAtEnd: Bool { currentIndex >= 1 }

        init(recorder: Recorder, codingPath: [any CodingKey]) {
            self.recorder = recorder
            self.codingPath = codingPath
        }

        mutating func decodeNil() -> Bool { false }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            currentIndex += 1
            return try T(from: ProbeDecoder(recorder: recorder, codingPath: codingPath + [ElementKey()]))
        }
        mutating func decode(_ type: Bool.Type) -> Bool { element(false) }
        mutating func decode(_ type: String.Type) -> String { element("") }
        mutating func decode(_ type: Double.Type) -> Double { element(0) }
        mutating func decode(_ type: Float.Type) -> Float { element(0) }
        mutating func decode(_ type: Int.Type) -> Int { element(0) }
        mutating func decode(_ type: Int8.Type) -> Int8 { element(0) }
        mutating func decode(_ type: Int16.Type) -> Int16 { element(0) }
        mutating func decode(_ type: Int32.Type) -> Int32 { element(0) }
        mutating func decode(_ type: Int64.Type) -> Int64 { element(0) }
        mutating func decode(_ type: UInt.Type) -> UInt { element(0) }
        mutating func decode(_ type: UInt8.Type) -> UInt8 { element(0) }
        mutating func decode(_ type: UInt16.Type) -> UInt16 { element(0) }
        mutating func decode(_ type: UInt32.Type) -> UInt32 { element(0) }
        mutating func decode(_ type: UInt64.Type) -> UInt64 { element(0) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) -> KeyedDecodingContainer<NestedKey> {
            currentIndex += 1
            return KeyedDecodingContainer(KeyedProbe<NestedKey>(recorder: recorder, codingPath: codingPath + [ElementKey()]))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedDecodingContainer {
            currentIndex += 1
            return UnkeyedProbe(recorder: recorder, codingPath: codingPath + [ElementKey()])
        }
        mutating func superDecoder() -> any Decoder {
            currentIndex += 1
            return ProbeDecoder(recorder: recorder, codingPath: codingPath + [ElementKey()])
        }

        private mutating func element<T>(_ value: T) -> T {
            currentIndex += 1
            return value
        }
    }

    fileprivate struct SingleValueProbe: SingleValueDecodingContainer {
        let codingPath: [any CodingKey]

        func decodeNil() -> Bool { false }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            throw DecodingError.typeMismatch(T.self, .init(codingPath: codingPath, debugDescription: "the probe has only primitives here"))
        }
        func decode(_ type: Bool.Type) -> Bool { false }
        func decode(_ type: String.Type) -> String { "0" }
        func decode(_ type: Double.Type) -> Double { 0 }
        func decode(_ type: Float.Type) -> Float { 0 }
        func decode(_ type: Int.Type) -> Int { 0 }
        func decode(_ type: Int8.Type) -> Int8 { 0 }
        func decode(_ type: Int16.Type) -> Int16 { 0 }
        func decode(_ type: Int32.Type) -> Int32 { 0 }
        func decode(_ type: Int64.Type) -> Int64 { 0 }
        func decode(_ type: UInt.Type) -> UInt { 0 }
        func decode(_ type: UInt8.Type) -> UInt8 { 0 }
        func decode(_ type: UInt16.Type) -> UInt16 { 0 }
        func decode(_ type: UInt32.Type) -> UInt32 { 0 }
        func decode(_ type: UInt64.Type) -> UInt64 { 0 }
    }
}
