import ZooKeeperProtocol

/// What the core knows about one client connection (shown by the `stat` and `cons` four-letter words).
public struct ConnectionInfo: Sendable {
    /// "127.0.0.1:48240"
    public let remoteAddress: String
    public let remoteIP: String
    /// nil until the handshake succeeded.
    public internal(set) var session: SessionID?
    public internal(set) var timeoutMs: Int32 = 0
    /// Authenticated ids: added by auth packets (`digest`), a SASL exchange (`sasl`), the client certificate
    /// (`x509`), and `super` for the super user. The connection's address (`ip`) is implied (``authInfo``).
    public internal(set) var identities: [ZooKeeperID] = []
    /// The server side of a SASL exchange in progress or done (nil before the first sasl request).
    package var sasl: DigestMD5Server?
    public internal(set) var received = 0
    public internal(set) var sent = 0
    public internal(set) var lastCxid: Int32 = 0
    public internal(set) var lastZxid: Zxid = .zero
    public internal(set) var lastOp = "NA"
    /// Set once the connection is being closed: later frames from it are ignored.
    public internal(set) var closing = false

    package init(remoteAddress: String, remoteIP: String) {
        self.remoteAddress = remoteAddress
        self.remoteIP = remoteIP
    }

    /// Every id the connection holds, for ACL checks (ZooKeeper's `ServerCnxn.authInfo`).
    package var authInfo: [ZooKeeperID] { identities + [ZooKeeperID(scheme: "ip", id: remoteIP)] }

    package mutating func add(_ id: ZooKeeperID) {
        if !identities.contains(id) { identities.append(id) }
    }

    /// whoAmI: authenticated identities as `AuthenticationProvider.getUserName` shows them (the user part of a digest
    /// id, nothing for `super`), then the client's address.
    package var clientInfos: [ClientInfo] {
        identities.map { id in
            switch id.scheme {
            case "digest": return ClientInfo(authScheme: id.scheme, user: String(id.id.split(separator: ":", maxSplits: 1).first ?? ""))
            case "super": return ClientInfo(authScheme: id.scheme, user: "")
            default: return ClientInfo(authScheme: id.scheme, user: id.id)
            }
        } + [ClientInfo(authScheme: "ip", user: remoteIP)]
    }
}
