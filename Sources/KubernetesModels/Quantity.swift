import Foundation

/// A Kubernetes resource quantity (`100m`, `1Gi`, `2`, `1e3`, `500M`), as in `resources.requests`,
/// node `capacity` and `emptyDir.sizeLimit`.
///
/// Keeps the string exactly as written, so decoding and encoding round-trip, and computes its value
/// following apimachinery's rules: binary suffixes `Ki Mi Gi Ti Pi Ei` (powers of 1024), decimal
/// suffixes `n u m k M G T P E` (note `m` is milli and `M` mega, `E` alone is exa), and decimal
/// exponents `e3` / `E-2`. Two quantities are equal when written the same; compare `decimalValue`
/// for numeric equality (`1Gi` and `1024Mi`).
public struct Quantity: Sendable, Hashable, CustomStringConvertible {
    /// The quantity as written.
    public let string: String
    /// The exact numeric value (e.g. 0.1 for `100m`, 1073741824 for `1Gi`).
    public let decimalValue: Decimal

    /// Parses a quantity; throws `KubernetesModelsError` naming `string` when it is not one.
    ///
    /// Given a string literal (`Quantity("1Gi")`) Swift calls the literal initializer instead,
    /// which stops the program on an invalid literal; pass untrusted text as a `String` value.
    public init(_ string: String) throws {
        self.string = string
        self.decimalValue = try Self.parse(string)
    }

    /// The value in thousandths, rounded away from zero (`100m` → 100, `1` → 1000, `0.1m` → 1),
    /// clamped to the `Int64` range. This is how CPU requests are usually read.
    public var milliValue: Int64 { Self.roundedAwayFromZero(decimalValue * 1000) }

    /// The value as an integer, rounded away from zero (`100m` → 1, `1Gi` → 1073741824), clamped to
    /// the `Int64` range. This is how memory and storage are usually read (bytes).
    public var value: Int64 { Self.roundedAwayFromZero(decimalValue) }

    public var description: String { string }

    /// A quantity of thousandths, written the way apimachinery writes it: `250m`, or `2` when whole.
    public static func milli(_ millis: Int64) -> Quantity {
        let text = millis % 1000 == 0 ? "\(millis / 1000)" : "\(millis)m"
        return Quantity(validated: text, value: Decimal(millis) / 1000)
    }

    /// A number of bytes with the largest binary suffix that divides it exactly (`64Gi`, `1536Mi`,
    /// `1000`), as a node's `capacity.memory` is usually written.
    public static func bytes(_ bytes: Int64) -> Quantity {
        for (suffix, power) in binarySuffixes.sorted(by: { $0.value > $1.value }) {
            let unit = Int64(1) << power
            if bytes != 0, bytes % unit == 0 {
                return Quantity(validated: "\(bytes / unit)\(suffix)", value: Decimal(bytes))
            }
        }
        return Quantity(validated: "\(bytes)", value: Decimal(bytes))
    }

    private init(validated string: String, value: Decimal) {
        self.string = string
        self.decimalValue = value
    }

    public static func == (lhs: Quantity, rhs: Quantity) -> Bool { lhs.string == rhs.string }
    public func hash(into hasher: inout Hasher) { hasher.combine(string) }

    // MARK: - Parsing

    private static let binarySuffixes: [String: Int] = ["Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60]
    private static let decimalSuffixes: [String: Int] = [
        "n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18,
    ]
    /// Decimal exponents beyond this are rejected: no real quantity uses them, and `Decimal` could
    /// not hold the value.
    private static let maximumExponent = 60

    private static func parse(_ text: String) throws -> Decimal {
        let characters = Array(text.unicodeScalars)
        var index = 0
        var negative = false
        if index < characters.count, characters[index] == "-" || characters[index] == "+" {
            negative = characters[index] == "-"
            index += 1
        }
        var digits = ""
        var fractionDigits = 0
        while index < characters.count, isDigit(characters[index]) {
            digits.unicodeScalars.append(characters[index])
            index += 1
        }
        if index < characters.count, characters[index] == "." {
            index += 1
            while index < characters.count, isDigit(characters[index]) {
                digits.unicodeScalars.append(characters[index])
                fractionDigits += 1
                index += 1
            }
        }
        guard !digits.isEmpty else {
            throw KubernetesModelsError.invalidQuantity(text, reason: text.isEmpty ? "it is empty" : "it does not start with a number")
        }
        let suffix = String(String.UnicodeScalarView(characters[index...]))
        var exponent10 = -fractionDigits
        var exponent2 = 0
        if let power = binarySuffixes[suffix] {
            exponent2 = power
        } else if let power = decimalSuffixes[suffix] {
            exponent10 += power
        } else if let power = decimalExponent(suffix) {
            guard abs(power) <= maximumExponent else {
                throw KubernetesModelsError.invalidQuantity(text, reason: "its exponent \(power) is out of range (±\(maximumExponent))")
            }
            exponent10 += power
        } else {
            throw KubernetesModelsError.invalidQuantity(text, reason: "'\(suffix)' is not a known suffix")
        }
        guard let significand = Decimal(string: digits, locale: Locale(identifier: "en_US_POSIX")) else {
            throw KubernetesModelsError.invalidQuantity(text, reason: "its number cannot be read")
        }
        var value = Decimal(sign: negative ? .minus : .plus, exponent: exponent10, significand: significand)
        if exponent2 > 0 { value *= Decimal(UInt64(1) << exponent2) }
        return value
    }

    /// The exponent of a suffix like `e3`, `E-2`, `e+6`; `nil` when it is not one.
    private static func decimalExponent(_ suffix: String) -> Int? {
        guard suffix.count > 1, let first = suffix.first, first == "e" || first == "E" else { return nil }
        var rest = suffix.dropFirst()
        var sign = 1
        if let head = rest.first, head == "-" || head == "+" {
            sign = head == "-" ? -1 : 1
            rest = rest.dropFirst()
        }
        guard !rest.isEmpty, rest.unicodeScalars.allSatisfy(isDigit), rest.count <= 4, let magnitude = Int(rest) else { return nil }
        return sign * magnitude
    }

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }

    private static func roundedAwayFromZero(_ value: Decimal) -> Int64 {
        var magnitude = value.magnitude
        var rounded = Decimal()
        NSDecimalRound(&rounded, &magnitude, 0, .up)
        let text = "\(rounded)"
        guard let integer = Int64(text) else { return value < 0 ? .min : .max }
        return value < 0 ? -integer : integer
    }
}

extension Quantity: ExpressibleByStringLiteral {
    /// A quantity written in code, e.g. `"500m"`. A literal that is not a quantity is a programming
    /// error and stops the program; parse untrusted text with `init(_:)`.
    public init(stringLiteral value: String) {
        do {
            try self.init(value)
        } catch {
            preconditionFailure("\(error)")
        }
    }
}

extension Quantity: ExpressibleByIntegerLiteral {
    /// A whole quantity written in code, e.g. `2` for two CPUs.
    public init(integerLiteral value: Int64) {
        self.init(validated: "\(value)", value: Decimal(value))
    }
}

extension Quantity: Codable {
    /// Reads a JSON string, or a JSON number (YAML manifests converted to JSON carry `cpu: 2`).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text: String
        if let integer = try? container.decode(Int64.self) {
            text = "\(integer)"
        } else if let number = try? container.decode(Double.self) {
            text = "\(number)"
        } else {
            text = try container.decode(String.self)
        }
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(error)")
        }
    }

    /// Writes the quantity as the string it was written as.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(string)
    }
}
