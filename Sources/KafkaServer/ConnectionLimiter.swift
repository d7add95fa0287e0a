/// Decides whether a new client connection may stay: Kafka's `max.connections` (broker-wide) and
/// `max.connections.per.ip` (with `max.connections.per.ip.overrides`), under a ceiling the process's file-descriptor
/// limit sets.
///
/// Why a ceiling below the descriptor limit: a broker whose descriptors are all held by sockets can no longer open
/// a segment, an index or a checkpoint, and cannot even accept a connection to refuse it (the kernel queues the
/// client, which hangs until it times out). Keeping a reserve for storage means a storm of connections is met with
/// prompt refusals, while existing clients and the log carry on.
///
/// Pure bookkeeping, no I/O: the server asks ``admit(_:)`` as each connection is accepted and calls ``release(_:)``
/// when it closes.
struct ConnectionLimiter: Sendable {
    /// Why a connection was refused (for the log line and the test).
    enum Refusal: Equatable, Sendable, CustomStringConvertible {
        case brokerLimit(Int)
        case perIPLimit(host: String, limit: Int)

        var description: String {
            switch self {
            case .brokerLimit(let limit):
                return "the broker holds \(limit) connections, its limit (max.connections, or the file-descriptor limit less a reserve for the log)"
            case .perIPLimit(let host, let limit):
                return "\(host) holds \(limit) connections, its limit (max.connections.per.ip)"
            }
        }
    }

    let maxConnections: Int
    let maxPerIP: Int
    let perIPOverrides: [String: Int]
    private(set) var total = 0
    private(set) var perIP: [String: Int] = [:]

    init(maxConnections: Int, maxPerIP: Int = .max, perIPOverrides: [String: Int] = [:]) {
        precondition(maxConnections > 0 && maxPerIP >= 0)
        self.maxConnections = maxConnections
        self.maxPerIP = maxPerIP
        self.perIPOverrides = perIPOverrides
    }

    /// The connection ceiling for a process allowed `descriptorLimit` open files: a quarter of them (at least 64,
    /// at most 4096) are kept for the log's segments, indexes and checkpoints, and for the server itself.
    static func ceiling(descriptorLimit: Int) -> Int {
        let reserve = min(max(descriptorLimit / 4, 64), 4096)
        return max(descriptorLimit - reserve, 1)
    }

    /// Counts the connection in, or says why it must be closed (then nothing is counted).
    mutating func admit(_ host: String) -> Refusal? {
        let hostLimit = perIPOverrides[host] ?? maxPerIP
        if perIP[host, default: 0] >= hostLimit { return .perIPLimit(host: host, limit: hostLimit) }
        if total >= maxConnections { return .brokerLimit(maxConnections) }
        total += 1
        perIP[host, default: 0] += 1
        return nil
    }

    /// Counts an admitted connection out.
    mutating func release(_ host: String) {
        guard let count = perIP[host] else { preconditionFailure("ConnectionLimiter: release of \(host) never admitted") }
        perIP[host] = count > 1 ? count - 1 : nil
        total -= 1
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit.
enum DescriptorLimit {
    /// Raises the soft limit to the hard one (as Go's runtime and most servers do: the soft default of 1024 is a
    /// relic), and returns the limit in force.
    static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = min(limit.rlim_max, 1 << 20)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(min(limit.rlim_cur, rlim_t(Int32.max)))
    }
}
