/// How a listener's connections are secured, Kafka's `security.protocol` values.
public enum SecurityProtocol: String, Sendable, CaseIterable, CustomStringConvertible {
    case plaintext = "PLAINTEXT"
    case ssl = "SSL"
    case saslPlaintext = "SASL_PLAINTEXT"
    case saslSsl = "SASL_SSL"

    public var usesTLS: Bool { self == .ssl || self == .saslSsl }
    public var usesSASL: Bool { self == .saslPlaintext || self == .saslSsl }
    public var description: String { rawValue }
}

/// The SASL mechanisms ledgerstream speaks, under the names Kafka uses in `sasl.enabled.mechanisms` and
/// `sasl.mechanism`.
public enum SaslMechanism: String, Sendable, CaseIterable, CustomStringConvertible {
    case plain = "PLAIN"
    case scramSha256 = "SCRAM-SHA-256"
    case scramSha512 = "SCRAM-SHA-512"

    /// Parses a mechanism name case-insensitively (`scram-sha-256` from a hand-written config works).
    public init?(name: String) {
        self.init(rawValue: name.uppercased())
    }

    /// The SCRAM variant, or nil for PLAIN.
    public var scram: ScramMechanism? {
        switch self {
        case .plain: return nil
        case .scramSha256: return .sha256
        case .scramSha512: return .sha512
        }
    }

    public var description: String { rawValue }
}

/// Parses a comma-separated mechanism list (`PLAIN,SCRAM-SHA-256`), naming an unknown one.
public func parseSaslMechanisms(_ text: String) throws(SecurityConfigError) -> [SaslMechanism] {
    var result: [SaslMechanism] = []
    for part in text.split(separator: ",") {
        let name = String(part).trimmingSpaces()
        if name.isEmpty { continue }
        guard let mechanism = SaslMechanism(name: name) else {
            throw .invalid("unsupported SASL mechanism '\(name)'; supported: \(SaslMechanism.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if !result.contains(mechanism) { result.append(mechanism) }
    }
    return result
}

/// A security setting that cannot be used, with what to change.
public enum SecurityConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let reason): return reason
        }
    }
}

extension String {
    /// Without leading and trailing whitespace (FoundationEssentials has no trimmingCharacters(in:)); shared with the
    /// broker's and the client's property parsing.
    package func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[start...end])
    }
}
