import NIOSSL
/// TLS for a ``ZooKeeperClient`` connecting to a ZooKeeper `secureClientPort` (Kafka's `zookeeper.ssl.*`), from PEM
/// files.
public struct ZooKeeperClientTLS: Sendable, Equatable {
    /// CA certificates the server's certificate must chain to (`zookeeper.ssl.truststore.location`); nil: the
    /// system's trust roots.
    public var trustStore: String?
    /// The client's certificate chain and private key for servers with `ssl.clientAuth=need`
    /// (`zookeeper.ssl.keystore.location`); both in one PEM file is fine (give the same path twice).
    public var certificateChain: String?
    public var privateKey: String?
    /// `zookeeper.ssl.hostnameVerification` (default true): the server certificate must name the host connected to.
    public var verifyHostname: Bool

    public init(trustStore: String? = nil, certificateChain: String? = nil, privateKey: String? = nil, verifyHostname: Bool = true) {
        self.trustStore = trustStore
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.verifyHostname = verifyHostname
    }
}

/// Why TLS could not be set up: which file, and what is wrong with it.
public struct ZooKeeperTLSError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    package init(message: String) {
        self.message = message
    }
}

/// PEM files → NIOSSL certificates, keys and the client's context (the server's secure port uses the same readers).
package enum ZooKeeperPEM {
    /// The client side: trust store (or the system's roots), optional client certificate, hostname verification.
    package static func clientContext(_ tls: ZooKeeperClientTLS) throws(ZooKeeperTLSError) -> NIOSSLContext {
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

    package static func certificates(_ path: String, key: String) throws(ZooKeeperTLSError) -> [NIOSSLCertificate] {
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

    package static func privateKey(_ path: String, password: String?) throws(ZooKeeperTLSError) -> NIOSSLPrivateKey {
        do {
            if let password {
                return try NIOSSLPrivateKey(file: path, format: .pem) { (supply: ([UInt8]) -> Void) in supply(Array(password.utf8)) }
            }
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw ZooKeeperTLSError(message: "cannot read a PEM private key from \(path): \(error)\(password == nil ? " (encrypted? set ssl.keyStore.password)" : "")")
        }
    }
}
