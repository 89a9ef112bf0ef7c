/// The name/value pairs of a SYN_STREAM, SYN_REPLY or HEADERS frame.
///
/// SPDY names are lower-case (names are lower-cased when added) and unique on the wire: several
/// values for one name travel as one value joined by NUL bytes. Here they are kept as separate
/// pairs, in the order they were added, and joined or split by the encoder and parser.
public struct SPDYHeaders: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    private var pairs: [(name: String, value: String)]

    /// No headers.
    public init() { pairs = [] }

    /// Headers from pairs, in order.
    public init(_ pairs: [(String, String)]) {
        self.pairs = []
        for (name, value) in pairs { add(name: name, value: value) }
    }

    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    /// Adds a value for `name` (lower-cased), after any values it already has.
    public mutating func add(name: String, value: String) {
        pairs.append((name.lowercased(), value))
    }

    /// Every value of `name` (any case), in order.
    public subscript(name: String) -> [String] {
        let wanted = name.lowercased()
        return pairs.filter { $0.name == wanted }.map(\.value)
    }

    /// The first value of `name`, if any.
    public func first(name: String) -> String? { self[name].first }

    /// Whether there are no headers.
    public var isEmpty: Bool { pairs.isEmpty }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { pairs.makeIterator() }

    public var description: String { pairs.map { "\($0.name): \($0.value)" }.joined(separator: ", ") }

    public static func == (lhs: SPDYHeaders, rhs: SPDYHeaders) -> Bool {
        lhs.pairs.elementsEqual(rhs.pairs) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for pair in pairs {
            hasher.combine(pair.name)
            hasher.combine(pair.value)
        }
    }

    /// The wire grouping: each distinct name once, in order of first appearance, its values joined by NUL.
    var groupedForWire: [(name: String, value: String)] {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for pair in pairs {
            if values[pair.name] == nil { order.append(pair.name) }
            values[pair.name, default: []].append(pair.value)
        }
        return order.map { ($0, values[$0, default: []].joined(separator: "\0")) }
    }
}
