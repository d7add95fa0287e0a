/// Why bytes received from the network could not be decoded as a Kafka message.
///
/// A frame that has not fully arrived is not an error (the frame decoder waits for more bytes); these errors mean a
/// complete frame lied about its contents. The broker answers with INVALID_REQUEST where it can and otherwise closes
/// only the offending connection.
public enum KafkaDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The frame ended while `needed` more bytes were expected.
    case truncated(needed: Int, available: Int)
    /// A length or count field holds a value no valid message can have.
    case invalidLength(Int64)
    /// A varint ran past 5 (varint) or 10 (varlong) bytes.
    case malformedVarint
    /// A field holds a value outside its domain (for example a record batch with magic 1).
    case invalidValue(String)
    /// The request names an API this broker does not implement.
    case unknownApiKey(Int16)
    /// The request's version is outside the range this broker implements for that API.
    case unsupportedVersion(apiKey: Int16, version: Int16)

    public var description: String {
        switch self {
        case .truncated(let needed, let available):
            return "message truncated: needed \(needed) more bytes, \(available) left"
        case .invalidLength(let length):
            return "invalid length or count \(length)"
        case .malformedVarint:
            return "malformed varint"
        case .invalidValue(let what):
            return what
        case .unknownApiKey(let key):
            return "unknown API key \(key)"
        case .unsupportedVersion(let key, let version):
            return "unsupported version \(version) of API key \(key)"
        }
    }
}
