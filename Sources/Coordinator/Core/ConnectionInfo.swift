import ZooKeeperProtocol

/// What the core knows about one client connection (shown by the `stat` and `cons` four-letter words).
public struct ConnectionInfo: Sendable {
    /// "127.0.0.1:48240"
    public let remoteAddress: String
    public let remoteIP: String
    /// nil until the handshake succeeded.
    public internal(set) var session: SessionID?
    public internal(set) var timeoutMs: Int32 = 0
    /// Identities added by auth packets (scheme "digest").
    public internal(set) var identities: [ZooKeeperID] = []
    public internal(set) var received = 0
    public internal(set) var sent = 0
    public internal(set) var lastCxid: Int32 = 0
    public internal(set) var lastZxid: Zxid = .zero
    public internal(set) var lastOp = "NA"
    /// Set once the connection is being closed: later frames from it are ignored.
    public internal(set) var closing = false

    init(remoteAddress: String, remoteIP: String) {
        self.remoteAddress = remoteAddress
        self.remoteIP = remoteIP
    }

    /// whoAmI: authenticated identities (the user part of a digest id), then the client's address.
    var clientInfos: [ClientInfo] {
        identities.map { ClientInfo(authScheme: $0.scheme, user: String($0.id.split(separator: ":", maxSplits: 1).first ?? "")) }
            + [ClientInfo(authScheme: "ip", user: remoteIP)]
    }
}
