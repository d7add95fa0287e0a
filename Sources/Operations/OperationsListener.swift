/// Where an operations endpoint listens: `http://HOST:PORT`, `HOST:PORT`, `:PORT` or `PORT`. A missing host means
/// 127.0.0.1: metrics and health stay on the machine unless an operator names another interface.
public struct OperationsListener: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public static let defaultHost = "127.0.0.1"

    public init(host: String = OperationsListener.defaultHost, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing spec: String) throws(OperationsListenerError) {
        var rest = Substring(spec.trimmingCharacters(in: " "))
        if let scheme = rest.firstRange(of: "://") {
            let name = rest[..<scheme.lowerBound].lowercased()
            guard name == "http" else {
                throw .invalid(spec, "the scheme must be http (the endpoint has no TLS: keep it on loopback or put a proxy in front)")
            }
            rest = rest[scheme.upperBound...]
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/") else { throw .invalid(spec, "give only a host and port, without a path") }
        let hostPart: Substring
        let portPart: Substring
        if rest.hasPrefix("[") {  // [IPv6]:PORT
            guard let close = rest.firstIndex(of: "]") else { throw .invalid(spec, "an IPv6 address needs its closing ]") }
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else { throw .invalid(spec, "a port must follow the address, as [::1]:9404") }
            portPart = after.dropFirst()
        } else if let colon = rest.lastIndex(of: ":") {
            hostPart = rest[..<colon]
            portPart = rest[rest.index(after: colon)...]
        } else {
            hostPart = ""
            portPart = rest
        }
        guard let port = Int(portPart), (0...65535).contains(port) else {
            throw .invalid(spec, "'\(portPart)' is not a port from 0 to 65535 (0 picks a free one)")
        }
        self.init(host: hostPart.isEmpty ? Self.defaultHost : String(hostPart), port: port)
    }

    /// `http://HOST:PORT`, with IPv6 addresses in brackets.
    public var description: String {
        host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }
}

public enum OperationsListenerError: Error, CustomStringConvertible, Equatable {
    case invalid(String, String)
    case cannotBind(String, String)

    public var description: String {
        switch self {
        case .invalid(let spec, let reason):
            "invalid metrics listener '\(spec)': \(reason) (for example http://127.0.0.1:9404)"
        case .cannotBind(let address, let reason):
            "cannot listen for metrics on \(address): \(reason) (is another process using the port?)"
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var result = Substring(self)
        while result.first == character { result = result.dropFirst() }
        while result.last == character { result = result.dropLast() }
        return String(result)
    }
}
