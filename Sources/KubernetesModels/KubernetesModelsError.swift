import Foundation

/// An error reading a Kubernetes value: a resource quantity, a timestamp or base64 data that is not
/// in the format the API uses.
///
/// Shaped like AsyncHTTPClient's `HTTPClientError`: built through the static members; `description`
/// is a message for the user.
public struct KubernetesModelsError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case invalidQuantity
        case invalidTime
        case invalidBase64
    }

    private let code: Code
    /// A message naming the offending value and saying what is expected.
    public let description: String

    private init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// `text` is not a Kubernetes quantity (`100m`, `1Gi`, `2`, `1e3`, `500M`...).
    public static func invalidQuantity(_ text: String, reason: String) -> Self {
        Self(
            .invalidQuantity,
            "'\(text)' is not a Kubernetes quantity: \(reason); expected a number with an optional suffix "
                + "(Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or an exponent like e3), e.g. 100m, 1.5Gi, 2"
        )
    }

    /// `text` is not an RFC 3339 timestamp as the API writes them.
    public static func invalidTime(_ text: String) -> Self {
        Self(.invalidTime, "'\(text)' is not an RFC 3339 timestamp; expected e.g. 2026-11-25T20:49:41Z or 2026-11-25T20:49:41.962204Z")
    }

    /// The value under `key` of `object` is not valid base64.
    public static func invalidBase64(object: String, key: String) -> Self {
        Self(.invalidBase64, "\(object): the value of '\(key)' is not valid base64; write it base64-encoded in `data`, or as text in `stringData`")
    }
}
