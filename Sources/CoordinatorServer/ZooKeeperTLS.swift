import Coordinator
import ZooKeeperClient
import NIOCore
import NIOSSL
import NIOTLS
import X509

/// TLS for the secure client port: PEM files → the server's NIOSSL context, and the subject DN of a verified client
/// certificate (the `x509` scheme's id).
enum ZooKeeperTLS {
    /// The server side of `secureClientPort`. `ssl.clientAuth`: need → a client certificate chaining to the trust
    /// store is required; want → verified if presented; none → not asked for.
    static func serverContext(_ settings: ZooKeeperTLSSettings) throws(ZooKeeperTLSError) -> NIOSSLContext {
        guard let keyStore = settings.keyStoreLocation else {
            throw ZooKeeperTLSError(message: "secureClientPort needs ssl.keyStore.location (a PEM file with the private key and certificate)")
        }
        let chain = try ZooKeeperPEM.certificates(keyStore, key: "ssl.keyStore.location")
        let key = try ZooKeeperPEM.privateKey(keyStore, password: settings.keyStorePassword)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        if let trustStore = settings.trustStoreLocation {
            _ = try ZooKeeperPEM.certificates(trustStore, key: "ssl.trustStore.location")
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
