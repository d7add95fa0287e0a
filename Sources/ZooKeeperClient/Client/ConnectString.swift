import Coordinator
/// A ZooKeeper connect string, `host:port[,host:port…][/chroot]` (Kafka's `zookeeper.connect`).
public struct ConnectString: Sendable, Equatable, CustomStringConvertible {
    public var servers: [(host: String, port: Int)]
    /// The namespace every path is relative to ("/kafka"), or nil.
    public var chroot: String?

    public init(parsing text: String) throws(ZooKeeperClientError) {
        var rest = Substring(text.filter { !$0.isWhitespace })
        chroot = nil
        if let slash = rest.firstIndex(of: "/") {
            var root = String(rest[slash...])
            while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
            chroot = root == "/" ? nil : root
            if let chroot, !ZNodePath.isValid(chroot) {
                throw .invalidArgument("invalid chroot '\(chroot)' in connect string '\(text)'")
            }
            rest = rest[..<slash]
        }
        servers = []
        for part in rest.split(separator: ",") where !part.isEmpty {
            var host = Substring(part)
            var port = 2181
            if host.hasPrefix("[") {
                guard let close = host.firstIndex(of: "]") else { throw .invalidArgument("bad address '\(part)' in '\(text)'") }
                let after = host[host.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let parsed = Int(after.dropFirst()), (1...65535).contains(parsed) else {
                        throw .invalidArgument("bad port in '\(part)'")
                    }
                    port = parsed
                }
                host = host[host.index(after: host.startIndex)..<close]
            } else if let colon = host.lastIndex(of: ":") {
                guard let parsed = Int(host[host.index(after: colon)...]), (1...65535).contains(parsed) else {
                    throw .invalidArgument("bad port in '\(part)'")
                }
                port = parsed
                host = host[..<colon]
            }
            guard !host.isEmpty else { throw .invalidArgument("empty host in '\(text)'") }
            servers.append((String(host), port))
        }
        guard !servers.isEmpty else { throw .invalidArgument("no server in connect string '\(text)'") }
    }

    public static func == (lhs: ConnectString, rhs: ConnectString) -> Bool {
        lhs.description == rhs.description
    }

    public var description: String {
        servers.map { $0.host.contains(":") ? "[\($0.host)]:\($0.port)" : "\($0.host):\($0.port)" }.joined(separator: ",")
            + (chroot ?? "")
    }

    /// The server address list without the chroot.
    public var serversDescription: String {
        servers.map { "\($0.host):\($0.port)" }.joined(separator: ",")
    }

    /// The absolute server-side path of a client path.
    func serverPath(_ path: String) -> String {
        guard let chroot else { return path }
        return path == "/" ? chroot : chroot + path
    }

    /// The client path of a server-side path (inverse of ``serverPath(_:)``).
    func clientPath(_ path: String) -> String {
        guard let chroot else { return path }
        if path == chroot { return "/" }
        return path.hasPrefix(chroot + "/") ? String(path.dropFirst(chroot.count)) : path
    }
}
