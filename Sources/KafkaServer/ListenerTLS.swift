import KafkaBroker
import KafkaSecurity
import NIOSSL

/// A TLS listener's server context (SSL, SASL_SSL), made once at startup from the listener's `ssl.*` settings:
/// the transport's half of ``ListenerSecurity``.
enum ListenerTLS {
    /// The context for `security`'s listener, or nil when it does not use TLS.
    static func context(for security: ListenerSecurity, config: BrokerConfig) throws -> NIOSSLContext? {
        guard security.securityProtocol.usesTLS else { return nil }
        let name = security.listener.name
        func setting(_ key: String) -> String? { config.securitySetting(key, listener: name).flatMap { $0.isEmpty ? nil : $0 } }
        func fail(_ reason: String) -> ListenerSecurityError { ListenerSecurityError(listener: name, reason: reason) }
        return try makeTLSContext(setting: setting, clientAuth: security.clientAuth, fail: fail)
    }

    /// The server TLS context: PEM key and certificate chain (a keystore file or inline PEM), an optional PEM trust
    /// store for client certificates, TLS 1.2 and 1.3 only.
    private static func makeTLSContext(
        setting: (String) -> String?, clientAuth: ListenerSecurity.ClientAuth, fail: (String) -> ListenerSecurityError
    ) throws -> NIOSSLContext {
        let keystoreType = setting("ssl.keystore.type")?.uppercased() ?? "PEM"
        let keyPassword = setting("ssl.key.password") ?? setting("ssl.keystore.password")
        var chain: [NIOSSLCertificate] = []
        var key: NIOSSLPrivateKey?
        do {
            if let inlineChain = setting("ssl.keystore.certificate.chain"), let inlineKey = setting("ssl.keystore.key") {
                chain = try NIOSSLCertificate.fromPEMBytes(Array(pemText(inlineChain).utf8))
                key = try privateKey(bytes: Array(pemText(inlineKey).utf8), password: keyPassword)
            } else if let location = setting("ssl.keystore.location") {
                switch keystoreType {
                case "PEM":
                    chain = try NIOSSLCertificate.fromPEMFile(location)
                    key = try privateKey(file: location, password: keyPassword)
                case "PKCS12":
                    let bundle = try NIOSSLPKCS12Bundle(file: location, passphrase: Array((setting("ssl.keystore.password") ?? "").utf8))
                    chain = bundle.certificateChain
                    key = bundle.privateKey
                default:
                    throw fail("ssl.keystore.type \(keystoreType) is not supported; use PEM (or PKCS12). Convert a JKS keystore with keytool -importkeystore -deststoretype PKCS12")
                }
            } else {
                throw fail("TLS needs a server certificate: set ssl.keystore.location (PEM with the key and certificate chain) or ssl.keystore.certificate.chain and ssl.keystore.key")
            }
        } catch let error as ListenerSecurityError {
            throw error
        } catch {
            throw fail("cannot load the server certificate or key (ssl.keystore.*): \(error)\(keyPassword == nil ? "; if the key is encrypted set ssl.key.password" : "")")
        }
        guard !chain.isEmpty, let key else { throw fail("ssl.keystore.* holds no certificate") }

        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        if let protocols = setting("ssl.enabled.protocols") {
            let names = protocols.split(separator: ",").map { String($0).trimmingSpaces() }
            for protocolName in names where !["TLSv1.2", "TLSv1.3"].contains(protocolName) {
                throw fail("ssl.enabled.protocols: \(protocolName) is not allowed; TLSv1.2 and TLSv1.3 only")
            }
            if names == ["TLSv1.3"] { configuration.minimumTLSVersion = .tlsv13 }
            if names == ["TLSv1.2"] { configuration.maximumTLSVersion = .tlsv12 }
        }
        switch clientAuth {
        case .none: configuration.certificateVerification = .none
        case .requested: configuration.certificateVerification = .optionalVerification
        case .required: configuration.certificateVerification = .noHostnameVerification
        }
        if clientAuth != .none {
            do {
                if let location = setting("ssl.truststore.location") {
                    let type = setting("ssl.truststore.type")?.uppercased() ?? "PEM"
                    guard type == "PEM" else {
                        throw fail("ssl.truststore.type \(type) is not supported; give the CA certificates as a PEM file")
                    }
                    configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(location))
                } else if let inline = setting("ssl.truststore.certificates") {
                    configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pemText(inline).utf8)))
                } else {
                    throw fail("ssl.client.auth=\(clientAuth.rawValue) needs ssl.truststore.location: the PEM file of the CA that signs client certificates")
                }
            } catch let error as ListenerSecurityError {
                throw error
            } catch {
                throw fail("cannot load the trust store (ssl.truststore.*): \(error)")
            }
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw fail("the TLS settings are not usable: \(error)")
        }
    }

    private static func privateKey(file: String, password: String?) throws -> NIOSSLPrivateKey {
        guard let password else { return try NIOSSLPrivateKey(file: file, format: .pem) }
        return try NIOSSLPrivateKey(file: file, format: .pem) { (setter: NIOSSLPassphraseSetter<[UInt8]>) in setter(Array(password.utf8)) }
    }

    private static func privateKey(bytes: [UInt8], password: String?) throws -> NIOSSLPrivateKey {
        guard let password else { return try NIOSSLPrivateKey(bytes: bytes, format: .pem) }
        return try NIOSSLPrivateKey(bytes: bytes, format: .pem) { (setter: NIOSSLPassphraseSetter<[UInt8]>) in setter(Array(password.utf8)) }
    }

    /// Kafka's inline PEM values are often written on one line with the newlines escaped or dropped; restore them.
    private static func pemText(_ value: String) -> String {
        value.replacing("\\n", with: "\n")
    }
}
