/// SASL PLAIN (RFC 4616): one message, `authzid NUL username NUL password`.
public enum PlainSasl {
    /// The client's single message. Kafka clients send an empty authzid.
    public static func clientMessage(username: String, password: String) -> [UInt8] {
        [0] + Array(username.utf8) + [0] + Array(password.utf8)
    }

    /// Checks the client's message against `users` (name → password). Returns the authenticated user name.
    ///
    /// As Kafka: an authzid, if present, must equal the user name; an empty user name or password is refused.
    public static func authenticate(_ message: [UInt8], users: [String: String]) -> Result<String, SaslFailure> {
        let parts = message.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            return .failure(.malformed("PLAIN message must be authzid NUL username NUL password"))
        }
        guard let authzid = String(validating: parts[0], as: UTF8.self),
              let username = String(validating: parts[1], as: UTF8.self),
              let password = String(validating: parts[2], as: UTF8.self)
        else { return .failure(.malformed("PLAIN message is not UTF-8")) }
        guard !username.isEmpty else { return .failure(.malformed("PLAIN message has an empty username")) }
        guard !password.isEmpty else { return .failure(.malformed("PLAIN message has an empty password")) }
        guard authzid.isEmpty || authzid == username else {
            return .failure(.unauthorizedAuthzid("authorization id '\(authzid)' differs from user '\(username)'"))
        }
        guard let expected = users[username], constantTimeEqual(Array(expected.utf8), Array(password.utf8)) else {
            return .failure(.invalidCredentials(mechanism: .plain))
        }
        return .success(username)
    }
}

/// Why a SASL exchange failed. The description is what the client is told (Kafka's wording where it has one); it
/// never says whether the user exists.
public enum SaslFailure: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidCredentials(mechanism: SaslMechanism)
    case malformed(String)
    case unauthorizedAuthzid(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .invalidCredentials(let mechanism):
            return "Authentication failed during authentication due to invalid credentials with SASL mechanism \(mechanism)"
        case .malformed(let reason): return "Authentication failed: \(reason)"
        case .unauthorizedAuthzid(let reason): return "Authentication failed: \(reason)"
        case .unsupported(let reason): return "Authentication failed: \(reason)"
        }
    }
}

/// Compares secrets in time independent of where they differ.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
}
