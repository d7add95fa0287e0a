import KafkaSecurity
import NIOSSL

/// How the client secures its connections, from the properties users already have: librdkafka's (`-X
/// security.protocol=SASL_SSL -X sasl.username=…`) or a Kafka tools `--command-config` file (`sasl.jaas.config=…`,
/// `ssl.truststore.location=…`).
public struct ClientSecurity: Sendable {
    public var securityProtocol: SecurityProtocol = .plaintext
    public var sasl: SaslCredentials?
    /// The TLS client context, for SSL and SASL_SSL.
    public var tls: NIOSSLContext?
    /// Whether the broker's certificate must name the host connected to (librdkafka's and Java's default).
    public var verifyHostname = true

    public struct SaslCredentials: Sendable {
        public var mechanism: SaslMechanism
        public var username: String
        public var password: String
    }

    public init() {}

    public static let plaintext = ClientSecurity()

    /// Keys this type reads; other `ssl.`, `sasl.` and `security.` keys are refused (a typo must not silently turn
    /// TLS verification off), any other key is left to whoever else reads the file.
    static let knownKeys: Set<String> = [
        "security.protocol", "sasl.mechanism", "sasl.mechanisms", "sasl.username", "sasl.password", "sasl.jaas.config",
        "ssl.ca.location", "ssl.truststore.location", "ssl.truststore.type", "ssl.truststore.certificates",
        "ssl.truststore.password", "ssl.certificate.location", "ssl.key.location", "ssl.key.password",
        "ssl.keystore.location", "ssl.keystore.type", "ssl.keystore.password", "ssl.keystore.certificate.chain",
        "ssl.keystore.key", "ssl.endpoint.identification.algorithm", "enable.ssl.certificate.verification",
        "ssl.enabled.protocols", "ssl.protocol",
    ]

    /// Whether `key` is this type's to read or refuse: one of ``knownKeys``, or any other `ssl.`, `sasl.` or
    /// `security.` key (refused).
    public static func governs(_ key: String) -> Bool {
        knownKeys.contains(key) || key.hasPrefix("ssl.") || key.hasPrefix("sasl.") || key.hasPrefix("security.")
    }

    /// Reads the security settings from client properties.
    public init(properties: [String: String]) throws(SecurityConfigError) {
        for key in properties.keys.sorted() where Self.governs(key) && !Self.knownKeys.contains(key) {
            throw .invalid("unknown client property \(key)")
        }
        func value(_ key: String) -> String? {
            guard let text = properties[key]?.trimmingSpaces(), !text.isEmpty else { return nil }
            return text
        }
        let protocolName = value("security.protocol")?.uppercased() ?? "PLAINTEXT"
        guard let parsed = SecurityProtocol(rawValue: protocolName) else {
            throw .invalid("security.protocol is '\(protocolName)'; expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
        }
        securityProtocol = parsed
        if parsed.usesSASL {
            let mechanismName = value("sasl.mechanism") ?? value("sasl.mechanisms") ?? "GSSAPI"
            guard let mechanism = SaslMechanism(name: mechanismName) else {
                throw .invalid("sasl.mechanism \(mechanismName) is not supported; use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
            }
            var username = value("sasl.username")
            var password = properties["sasl.password"]
            if let jaas = value("sasl.jaas.config") {
                let parsedJaas = try JaasConfig(parsing: jaas)
                username = username ?? parsedJaas.options["username"]
                password = password ?? parsedJaas.options["password"]
            }
            guard let username, let password else {
                throw .invalid("SASL \(mechanism) needs a user name and password: sasl.username and sasl.password, or sasl.jaas.config with username=\"…\" password=\"…\"")
            }
            sasl = SaslCredentials(mechanism: mechanism, username: username, password: password)
        }
        guard parsed.usesTLS else { return }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        let verification = value("enable.ssl.certificate.verification")?.lowercased() ?? "true"
        let algorithm = properties["ssl.endpoint.identification.algorithm"]?.trimmingSpaces().lowercased() ?? "https"
        verifyHostname = algorithm == "https"
        configuration.certificateVerification = verification == "false" ? .none : (verifyHostname ? .fullVerification : .noHostnameVerification)
        do {
            if let ca = value("ssl.ca.location") ?? value("ssl.truststore.location") {
                if let type = value("ssl.truststore.type"), type.uppercased() != "PEM" {
                    throw SecurityConfigError.invalid("ssl.truststore.type \(type) is not supported; give the CA certificates as a PEM file")
                }
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            } else if let inline = value("ssl.truststore.certificates") {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(inline.replacing("\\n", with: "\n").utf8)))
            }
            let keyPassword = value("ssl.key.password")
            if let certificate = value("ssl.certificate.location") ?? (value("ssl.keystore.type")?.uppercased() == "PEM" ? value("ssl.keystore.location") : nil) {
                let keyFile = value("ssl.key.location") ?? certificate
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                configuration.privateKey = .privateKey(try Self.privateKey(file: keyFile, password: keyPassword))
            } else if let chain = value("ssl.keystore.certificate.chain"), let key = value("ssl.keystore.key") {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(chain.replacing("\\n", with: "\n").utf8))
                    .map { .certificate($0) }
                configuration.privateKey = .privateKey(try Self.privateKey(bytes: Array(key.replacing("\\n", with: "\n").utf8),
                                                                           password: keyPassword))
            } else if let keystore = value("ssl.keystore.location") {
                throw SecurityConfigError.invalid("ssl.keystore.location \(keystore): only PEM keystores are supported (set ssl.keystore.type=PEM, or ssl.certificate.location and ssl.key.location)")
            }
            tls = try NIOSSLContext(configuration: configuration)
        } catch let error as SecurityConfigError {
            throw error
        } catch {
            throw .invalid("cannot load the TLS certificates or key: \(error)")
        }
    }

    private static func privateKey(bytes: [UInt8], password: String?) throws -> NIOSSLPrivateKey {
        guard let password else { return try NIOSSLPrivateKey(bytes: bytes, format: .pem) }
        return try NIOSSLPrivateKey(bytes: bytes, format: .pem) { (set: NIOSSLPassphraseSetter<[UInt8]>) in set(Array(password.utf8)) }
    }

    private static func privateKey(file: String, password: String?) throws -> NIOSSLPrivateKey {
        guard let password else { return try NIOSSLPrivateKey(file: file, format: .pem) }
        return try NIOSSLPrivateKey(file: file, format: .pem) { (set: NIOSSLPassphraseSetter<[UInt8]>) in set(Array(password.utf8)) }
    }
}
