import JavaProperties
import Coordinator
#if canImport(Glibc)
import Glibc
#endif

/// The secure client port's TLS settings under ZooKeeper's names (`ssl.*`, also with a `zookeeper.` prefix). Only
/// PEM files are supported (`ssl.keyStore.type=PEM`): the key store holds the private key and the certificate chain,
/// the trust store the CA certificates that client certificates must chain to.
public struct ZooKeeperTLSSettings: Sendable, Equatable {
    /// `ssl.clientAuth`: whether clients must present a certificate (ZooKeeper's default is need).
    public enum ClientAuth: String, Sendable, Equatable {
        case need, want, none
    }

    public var keyStoreLocation: String?
    public var keyStorePassword: String?
    public var keyStoreType: String?
    public var trustStoreLocation: String?
    public var trustStoreType: String?
    public var clientAuth = ClientAuth.need

    public init() {}
}

extension ZooKeeperServerConfig {
    /// The class names `authProvider.N` may name, and the scheme each enables.
    static let providerClasses: [String: String] = [
        "org.apache.zookeeper.server.auth.SASLAuthenticationProvider": "sasl",
        "org.apache.zookeeper.server.auth.X509AuthenticationProvider": "x509",
        "org.apache.zookeeper.server.auth.DigestAuthenticationProvider": "digest",
        "org.apache.zookeeper.server.auth.IPAuthenticationProvider": "ip",
    ]

    /// The security keys (ZooKeeper reads unknown zoo.cfg keys as `zookeeper.<key>` system properties, so both
    /// spellings are accepted). Returns false for keys that are not security keys.
    mutating func applySecurity(key rawKey: String, value: String) throws(ZooKeeperConfigError) -> Bool {
        let key = rawKey.hasPrefix("zookeeper.") ? String(rawKey.dropFirst("zookeeper.".count)) : rawKey
        func bool() throws(ZooKeeperConfigError) -> Bool {
            switch value.lowercased() {
            case "true": return true
            case "false": return false
            default: throw .invalid(key: rawKey, value: value, reason: "expected true or false")
            }
        }
        switch key {
        case "skipACL":
            // ZooKeeper: System.getProperty("zookeeper.skipACL", "no").equals("yes").
            security.skipACL = value == "yes"
        case "DigestAuthenticationProvider.superDigest":
            guard AuthScheme.digest.isValid(value) else {
                throw .invalid(key: rawKey, value: value, reason: "expected super:<base64 sha1>, as `ledgerstream zookeeper` docs and ZooKeeper's DigestAuthenticationProvider print it")
            }
            security.superDigest = value
        case "DigestAuthenticationProvider.enabled":
            // Boolean.parseBoolean: anything but "true" is false.
            security.digestEnabled = value.lowercased() == "true"
        case "DigestAuthenticationProvider.digestAlg":
            guard value.uppercased() == "SHA1" || value.uppercased() == "SHA-1" else {
                throw .invalid(key: rawKey, value: value, reason: "only SHA1 digest ids are supported")
            }
        case _ where key.hasPrefix("authProvider."):
            guard let scheme = Self.providerClasses[value] else {
                warnings.append("\(rawKey)=\(value): unknown authentication provider class, ignored (known: SASLAuthenticationProvider, X509AuthenticationProvider)")
                return true
            }
            if scheme == "sasl" { security.saslProviderEnabled = true }
            if scheme == "x509" { security.x509ProviderEnabled = true }
        case "SASLAuthenticationProvider.superPassword":
            security.saslSuperPassword = value
        case _ where key == "superUser" || key.hasPrefix("superUser."):
            security.superUsers.insert(value)
        case "X509AuthenticationProvider.superUser":
            security.x509SuperUser = value
        case "letAnySaslUserDoX":
            security.letAnySaslUserDoX = value
        case "sessionRequireClientSASLAuth":
            sessionRequireClientSASLAuth = try bool()
        case "enforce.auth.enabled":
            enforceAuthEnabled = try bool()
        case "enforce.auth.schemes":
            enforceAuthSchemes = value.split(separator: ",").map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty }
        case "java.security.auth.login.config":
            guard !value.isEmpty else { throw .invalid(key: rawKey, value: value, reason: "expected the path of a JAAS file") }
            jaasConfigPath = value
        case "sasl.serverconfig":
            guard !value.isEmpty else { throw .invalid(key: rawKey, value: value, reason: "expected a JAAS section name") }
            jaasServerSection = value
        case "ssl.keyStore.location": tls.keyStoreLocation = value
        case "ssl.keyStore.password": tls.keyStorePassword = value
        case "ssl.keyStore.type": tls.keyStoreType = try storeType(rawKey, value)
        case "ssl.trustStore.location": tls.trustStoreLocation = value
        case "ssl.trustStore.type": tls.trustStoreType = try storeType(rawKey, value)
        case "ssl.clientAuth":
            guard let auth = ZooKeeperTLSSettings.ClientAuth(rawValue: value.lowercased()) else {
                throw .invalid(key: rawKey, value: value, reason: "expected need, want or none")
            }
            tls.clientAuth = auth
        default:
            return false
        }
        return true
    }

    private func storeType(_ key: String, _ value: String) throws(ZooKeeperConfigError) -> String {
        guard value.uppercased() == "PEM" else {
            throw .invalid(key: key, value: value, reason: "only PEM key and trust stores are supported (convert JKS/PKCS12 with keytool and openssl)")
        }
        return "PEM"
    }

    /// Checks made once every key is in: the JAAS file is read, enforced schemes must exist, a secure port needs a
    /// key store.
    mutating func finishSecurity() throws(ZooKeeperConfigError) {
        if let path = jaasConfigPath {
            guard let text = TextFile.read(path) else {
                throw .unreadableFile(path: path, reason: "the JAAS file named by java.security.auth.login.config does not exist or is not readable")
            }
            let jaas: JAASConfiguration
            do {
                jaas = try JAASConfiguration(parsing: text)
            } catch {
                throw .unreadableFile(path: path, reason: "not a JAAS configuration: \(error)")
            }
            guard let users = jaas.digestUsers(of: jaasServerSection) else {
                throw .unreadableFile(path: path, reason: "no JAAS configuration section named '\(jaasServerSection)' (the server's DIGEST-MD5 users, user_<name>=\"<password>\")")
            }
            security.saslUsers = users
        }
        if secureClientPort != nil {
            security.x509ProviderEnabled = true
            guard let keyStore = tls.keyStoreLocation, !keyStore.isEmpty else {
                throw .invalid(key: "ssl.keyStore.location", value: "", reason: "secureClientPort needs a PEM key store (private key and certificate)")
            }
        }
        if sessionRequireClientSASLAuth {
            security.enforcedSchemes = ["sasl"]
        } else if enforceAuthEnabled {
            guard !enforceAuthSchemes.isEmpty else {
                throw .invalid(key: "zookeeper.enforce.auth.schemes", value: "", reason: "must be configured when zookeeper.enforce.auth.enabled is true")
            }
            security.enforcedSchemes = enforceAuthSchemes
        }
        for scheme in security.enforcedSchemes where security.provider(scheme) == nil {
            throw .invalid(key: "zookeeper.enforce.auth.schemes", value: scheme, reason: "authentication scheme \(scheme) is not available (enable it with authProvider.N)")
        }
    }
}

/// Reads a small text file whole.
enum TextFile {
    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        guard ferror(file) == 0 else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
