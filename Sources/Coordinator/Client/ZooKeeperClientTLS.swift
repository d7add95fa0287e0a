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
