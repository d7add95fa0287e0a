import KafkaProtocol

/// Why a client operation failed, in words that say what to do.
public enum KafkaClientError: Error, Sendable, CustomStringConvertible, Equatable {
    /// No bootstrap server accepted a connection.
    case unreachable(servers: [String], reason: String)
    /// An established connection closed while requests were pending.
    case connectionClosed(String)
    /// A client that had reached the cluster lost a broker and could not connect to it again yet (it is restarting,
    /// or gone). Retriable, unlike ``unreachable``: producers and consumers keep trying with reconnect backoff until
    /// their own deadline (delivery.timeout.ms, default.api.timeout.ms) passes.
    case disconnected(broker: String, reason: String)
    /// A request got no answer in time.
    case timeout(String)
    /// The broker does not support any version of an API this client knows (for example a very old broker).
    case unsupportedApi(ApiKey)
    /// The broker answered with a protocol error.
    case broker(ErrorCode, message: String?)
    /// A response could not be decoded.
    case malformedResponse(String)
    /// Bad input from the caller (an unknown topic, a partition out of range, an invalid option).
    case invalidArgument(String)
    /// The producer or consumer was closed.
    case closed
    /// A transactional producer was fenced: a newer instance with the same transactional id took over, or the broker
    /// aborted its transaction for running past transaction.timeout.ms. Only a new producer can continue.
    case fenced(String)
    /// The open transaction cannot be committed (a record or a partition failed): abort it, then retry in a new one.
    case transactionMustAbort(String)
    /// SASL authentication was refused (wrong password, unknown user, mechanism not enabled on the listener).
    case authenticationFailed(broker: String, reason: String)
    /// The TLS handshake failed (certificate not trusted, wrong host name, client certificate refused, not TLS).
    case tlsFailed(broker: String, reason: String)
    /// The principal may not do this (a *_AUTHORIZATION_FAILED answer): which operation on which resource.
    case notAuthorized(String)

    public var description: String {
        switch self {
        case .unreachable(let servers, let reason):
            return "broker not reachable at \(servers.joined(separator: ",")) (\(reason)) — is `ledgerstream broker` running?"
        case .connectionClosed(let what): return "connection closed: \(what)"
        case .disconnected(let broker, let reason): return "lost the connection to broker \(broker) and could not reconnect (\(reason))"
        case .timeout(let what): return "timed out: \(what)"
        case .unsupportedApi(let key): return "the broker supports no version of \(key) that this client speaks"
        case .broker(let code, let message): return message.map { "\(code): \($0)" } ?? "\(code)"
        case .malformedResponse(let what): return "malformed response: \(what)"
        case .invalidArgument(let what): return what
        case .closed: return "the client was closed"
        case .fenced(let why): return "producer fenced: \(why)"
        case .transactionMustAbort(let why): return "the transaction must be aborted: \(why)"
        case .authenticationFailed(let broker, let reason): return "authentication failed at \(broker): \(reason)"
        case .tlsFailed(let broker, let reason): return "TLS with \(broker) failed: \(reason)"
        case .notAuthorized(let what): return "not authorized: \(what)"
        }
    }

    /// Refused credentials, certificates or ACLs: only a configuration change helps.
    public var isPermissionFailure: Bool {
        switch self {
        case .authenticationFailed, .tlsFailed, .notAuthorized: return true
        case .broker(let code, _):
            return [.topicAuthorizationFailed, .groupAuthorizationFailed, .clusterAuthorizationFailed,
                    .transactionalIdAuthorizationFailed].contains(code)
        default: return false
        }
    }

    /// Whether retrying (after a metadata refresh and a backoff) may succeed.
    public var isRetriable: Bool {
        switch self {
        case .connectionClosed, .disconnected, .timeout: return true
        case .broker(let code, _): return code.isRetriable
        default: return false
        }
    }
}

/// A `host:port` address. Accepts `[v6]:port` and defaults the port to 9092.
public struct BrokerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String, defaultPort: Int = 9092) throws(KafkaClientError) {
        var value = Substring(text.trimmingCharacters(in: " "))
        if let scheme = value.range(of: "://") { value = value[scheme.upperBound...] }
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]") else { throw .invalidArgument("bad address '\(text)'") }
            host = String(value[value.index(after: value.startIndex)..<close])
            let rest = value[value.index(after: close)...]
            port = rest.hasPrefix(":") ? Int(rest.dropFirst()) ?? -1 : defaultPort
        } else if let colon = value.lastIndex(of: ":") {
            host = String(value[..<colon])
            port = Int(value[value.index(after: colon)...]) ?? -1
        } else {
            host = String(value)
            port = defaultPort
        }
        guard !host.isEmpty, (1...65535).contains(port) else {
            throw .invalidArgument("bad broker address '\(text)': expected host:port")
        }
    }

    /// Parses a comma-separated bootstrap list.
    public static func list(_ text: String) throws(KafkaClientError) -> [BrokerAddress] {
        var addresses: [BrokerAddress] = []
        for part in text.split(separator: ",") where !part.trimmingCharacters(in: " ").isEmpty {
            addresses.append(try BrokerAddress(parsing: String(part)))
        }
        guard !addresses.isEmpty else { throw .invalidArgument("no bootstrap server given") }
        return addresses
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension StringProtocol {
    func trimmingCharacters(in character: Character) -> String {
        String(drop(while: { $0 == character }).reversed().drop(while: { $0 == character }).reversed())
    }

    func range(of needle: String) -> Range<Index>? {
        guard !needle.isEmpty else { return nil }
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(needle) {
                return index..<self.index(index, offsetBy: needle.count)
            }
            index = self.index(after: index)
        }
        return nil
    }
}
