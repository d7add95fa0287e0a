import NIOCore
import NIOSSL
import NIOTLS
import X509

/// Why TLS could not be set up: which file, and what is wrong with it.
public struct ZooKeeperTLSError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// TLS for the secure client port and for the client: PEM files → NIOSSL contexts, and the subject DN of a verified
/// client certificate (the `x509` scheme's id).
enum ZooKeeperTLS {
    /// The server side of `secureClientPort`. `ssl.clientAuth`: need → a client certificate chaining to the trust
    /// store is required; want → verified if presented; none → not asked for.
    static func serverContext(_ settings: ZooKeeperTLSSettings) throws(ZooKeeperTLSError) -> NIOSSLContext {
        guard let keyStore = settings.keyStoreLocation else {
            throw ZooKeeperTLSError(message: "secureClientPort needs ssl.keyStore.location (a PEM file with the private key and certificate)")
        }
        let chain = try certificates(keyStore, key: "ssl.keyStore.location")
        let key = try privateKey(keyStore, password: settings.keyStorePassword)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        if let trustStore = settings.trustStoreLocation {
            _ = try certificates(trustStore, key: "ssl.trustStore.location")
            configuration.trustRoots = .file(trustStore)
        } else {
            configuration.trustRoots = .default
        }
        switch settings.clientAuth {
        case .need: configuration.certificateVerification = .noHostnameVerification
        case .want: configuration.certificateVerification = .optionalVerification
        case .none: configuration.certificateVerification = .none
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ZooKeeperTLSError(message: "cannot set up TLS for secureClientPort with \(keyStore): \(error)")
        }
    }

    /// The client side: trust store (or the system's roots), optional client certificate, hostname verification.
    static func clientContext(_ tls: ZooKeeperClientTLS) throws(ZooKeeperTLSError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let trustStore = tls.trustStore {
            _ = try certificates(trustStore, key: "trust store")
            configuration.trustRoots = .file(trustStore)
        }
        configuration.certificateVerification = tls.verifyHostname ? .fullVerification : .noHostnameVerification
        if let chainFile = tls.certificateChain {
            let chain = try certificates(chainFile, key: "client certificate")
            let key = try privateKey(tls.privateKey ?? chainFile, password: nil)
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(key)
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ZooKeeperTLSError(message: "cannot set up the client's TLS: \(error)")
        }
    }

    private static func certificates(_ path: String, key: String) throws(ZooKeeperTLSError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw ZooKeeperTLSError(message: "cannot read PEM certificates from \(path) (\(key)): \(error)")
        }
        guard !certificates.isEmpty else {
            throw ZooKeeperTLSError(message: "\(path) (\(key)) holds no PEM certificate")
        }
        return certificates
    }

    private static func privateKey(_ path: String, password: String?) throws(ZooKeeperTLSError) -> NIOSSLPrivateKey {
        do {
            if let password {
                return try NIOSSLPrivateKey(file: path, format: .pem) { (supply: ([UInt8]) -> Void) in supply(Array(password.utf8)) }
            }
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw ZooKeeperTLSError(message: "cannot read a PEM private key from \(path): \(error)\(password == nil ? " (encrypted? set ssl.keyStore.password)" : "")")
        }
    }

    /// The subject DN as ZooKeeper's x509 provider names it (`X500Principal.getName()`, RFC 2253: most specific
    /// first, comma-separated).
    static func subject(of certificate: NIOSSLCertificate) -> String? {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return nil }
        return parsed.subject.description
    }
}

/// First in a secure connection's pipeline after the TLS handler: once the handshake verified a client certificate,
/// tells the engine its subject (the connection then holds `x509:<subject>`).
final class ZooKeeperTLSIdentityHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let engine: EngineHandle
    private let id: ConnectionID

    init(engine: EngineHandle, id: ConnectionID) {
        self.engine = engine
        self.id = id
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls,
           let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
           let certificate = handler.peerCertificate, let subject = ZooKeeperTLS.subject(of: certificate)
        {
            let id = self.id
            engine.execute { $0.authenticated(id, certificateSubject: subject) }
        }
        context.fireUserInboundEventTriggered(event)
    }
}
