import Crypto
import CryptoExtras
import FoundationEssentials

/// The two SCRAM variants Kafka supports, with the codes AlterUserScramCredentials uses (1 and 2).
public enum ScramMechanism: Int8, Sendable, CaseIterable, CustomStringConvertible {
    case sha256 = 1
    case sha512 = 2

    /// Kafka's bounds on stored iterations (ScramMechanism.minIterations / maxIterations).
    public static let minIterations = 4096
    public static let maxIterations = 16384

    public var saslMechanism: SaslMechanism { self == .sha256 ? .scramSha256 : .scramSha512 }
    public var description: String { saslMechanism.rawValue }

    public init?(name: String) {
        guard let scram = SaslMechanism(name: name)?.scram else { return nil }
        self = scram
    }

    /// The hash's output size, which is also the size of every key.
    public var keyByteCount: Int { self == .sha256 ? 32 : 64 }

    func hash(_ bytes: [UInt8]) -> [UInt8] {
        switch self {
        case .sha256: return Array(SHA256.hash(data: bytes))
        case .sha512: return Array(SHA512.hash(data: bytes))
        }
    }

    func hmac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        let symmetric = SymmetricKey(data: key)
        switch self {
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: message, using: symmetric))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: message, using: symmetric))
        }
    }

    /// RFC 5802's Hi(), which is PBKDF2 with the HMAC of this hash and one output block.
    public func saltedPassword(_ password: String, salt: [UInt8], iterations: Int) -> [UInt8] {
        let key: SymmetricKey
        do {
            key = try KDF.Insecure.PBKDF2.deriveKey(
                from: Array(password.utf8), salt: salt, using: self == .sha256 ? .sha256 : .sha512,
                outputByteCount: keyByteCount, unsafeUncheckedRounds: iterations)
        } catch {
            // Only an invalid hash or size can fail, and both are fixed here.
            preconditionFailure("PBKDF2 failed for \(self): \(error)")
        }
        return key.withUnsafeBytes { Array($0) }
    }
}

/// What the broker stores for a SCRAM user: never the password, only the salt and the two keys derived from it
/// (RFC 5802 section 3), which let it check a proof and prove itself but not log in as the user.
public struct ScramCredential: Sendable, Equatable {
    public var mechanism: ScramMechanism
    public var salt: [UInt8]
    public var storedKey: [UInt8]
    public var serverKey: [UInt8]
    public var iterations: Int

    public init(mechanism: ScramMechanism, salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8], iterations: Int) {
        self.mechanism = mechanism
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
        self.iterations = iterations
    }

    /// The credential from a salted password, which is what AlterUserScramCredentials carries.
    public init(mechanism: ScramMechanism, salt: [UInt8], saltedPassword: [UInt8], iterations: Int) {
        let clientKey = mechanism.hmac(key: saltedPassword, Array("Client Key".utf8))
        self.init(mechanism: mechanism, salt: salt, storedKey: mechanism.hash(clientKey),
                  serverKey: mechanism.hmac(key: saltedPassword, Array("Server Key".utf8)), iterations: iterations)
    }

    public init(mechanism: ScramMechanism, password: String, salt: [UInt8], iterations: Int) {
        self.init(mechanism: mechanism, salt: salt,
                  saltedPassword: mechanism.saltedPassword(password, salt: salt, iterations: iterations), iterations: iterations)
    }
}

/// Random bytes for salts and nonces, from the system's secure generator.
public func secureRandomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}

/// A nonce in SCRAM's printable alphabet (no comma): base64 of random bytes.
public func scramNonce() -> String {
    Data(secureRandomBytes(24)).base64EncodedString()
}

/// SCRAM attribute lists (`n=user,r=nonce`): parsing and the username escaping of RFC 5802 (`=2C` is ',' and `=3D`
/// is '=').
enum ScramText {
    /// `key=value` pairs; keys are one letter in RFC 5802, longer for Kafka's extensions (`tokenauth=true`).
    static func attributes(_ text: Substring) -> [(key: Substring, value: Substring)]? {
        var result: [(key: Substring, value: Substring)] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let equals = part.firstIndex(of: "="), equals > part.startIndex else { return nil }
            result.append((part[..<equals], part[part.index(after: equals)...]))
        }
        return result
    }

    static func unescape(_ name: Substring) -> String? {
        var result = ""
        var index = name.startIndex
        while index < name.endIndex {
            let character = name[index]
            if character == "=" {
                let code = name[index...].prefix(3)
                if code == "=2C" { result.append(",") } else if code == "=3D" { result.append("=") } else { return nil }
                index = name.index(index, offsetBy: 3)
            } else {
                result.append(character)
                index = name.index(after: index)
            }
        }
        return result
    }

    static func escape(_ name: String) -> String {
        var result = ""
        for character in name {
            switch character {
            case ",": result += "=2C"
            case "=": result += "=3D"
            default: result.append(character)
            }
        }
        return result
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func unbase64(_ text: Substring) -> [UInt8]? { Data(base64Encoded: String(text)).map { Array($0) } }
}
