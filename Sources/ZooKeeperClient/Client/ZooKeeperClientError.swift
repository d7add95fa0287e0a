import Coordinator
import ZooKeeperProtocol

/// Why a ZooKeeper client operation failed.
public enum ZooKeeperClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an error code (NoNode, NodeExists, BadVersion…) for `path`.
    case keeper(KeeperErrorCode, path: String)
    /// The connection was lost while the request was outstanding (it may or may not have been applied), or no
    /// connection could be made in time. Retrying is safe for idempotent requests; the session may still be alive.
    case connectionLoss(String)
    /// The session expired: its ephemeral nodes are gone, and this client is finished (make a new one).
    case sessionExpired
    /// No server in the connect string accepted a connection and a handshake.
    case unreachable(servers: String, reason: String)
    /// The client was closed.
    case closed
    /// A reply could not be decoded.
    case malformedResponse(String)
    /// A bad connect string or path.
    case invalidArgument(String)
    /// The server refused the client's credentials (digest auth packet or SASL exchange) and closed the connection.
    case authFailed(String)

    public var description: String {
        switch self {
        case .keeper(let code, let path): return "\(code) for \(path)"
        case .connectionLoss(let what): return "connection loss: \(what)"
        case .sessionExpired: return "the ZooKeeper session expired"
        case .unreachable(let servers, let reason):
            return "no ZooKeeper server reachable at \(servers) (\(reason)) — is `ledgerstream zookeeper` (or ZooKeeper) running there?"
        case .closed: return "the ZooKeeper client was closed"
        case .malformedResponse(let what): return "malformed response: \(what)"
        case .invalidArgument(let what): return what
        case .authFailed(let what): return "ZooKeeper authentication failed: \(what)"
        }
    }

    /// The server's error code, if the server answered with one.
    public var code: KeeperErrorCode? {
        if case .keeper(let code, _) = self { return code }
        return nil
    }
}
