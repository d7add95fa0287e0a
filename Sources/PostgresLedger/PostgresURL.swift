/// A PostgreSQL connection string, as libpq reads it: `postgres[ql]://[user[:password]@][host][:port][/dbname][?k=v&…]`,
/// with the PG* environment variables filling what it leaves out. Pure: the environment is passed in.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    /// libpq's sslmode values. `prefer` (libpq's default) tries TLS and falls back to plain text; `require` encrypts
    /// without checking the server's certificate; `verify-ca` checks it against `sslrootcert`; `verify-full` also
    /// checks that it names the host.
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// A host name or address, or a directory holding the server's Unix socket (starts with "/").
    public var host: String
    public var port: Int
    public var user: String
    /// From the URL only; see ``PostgresPassword`` for PGPASSWORD and ~/.pgpass.
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// CA certificates (PEM) that sign the server's certificate, for verify-ca and verify-full.
    public var sslRootCert: String?
    public var applicationName: String?
    public var connectTimeoutSeconds: Int?

    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Parses `text`; `environment` supplies PGHOST, PGPORT, PGUSER, PGDATABASE, PGSSLMODE, PGSSLROOTCERT,
    /// PGAPPNAME and PGCONNECT_TIMEOUT for what the URL leaves out, and USER for the user name last.
    public init(parsing text: String, environment: [String: String] = [:]) throws(PostgresURLError) {
        guard let schemeEnd = text.range(of: "://"), Self.isPostgres(text) else {
            throw .invalid(text, "it must start with postgres:// or postgresql://")
        }
        var rest = Substring(text[schemeEnd.upperBound...])
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var userInfo: Substring?
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        var host: String?
        var port: Int?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .invalid(text, "an IPv6 address needs its closing ]") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw .invalid(text, "unexpected text after the IPv6 address") }
                port = try Self.port(String(rest.dropFirst()), in: text)
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = try Self.decode(rest[..<colon], in: text)
            port = try Self.port(String(rest[rest.index(after: colon)...]), in: text)
        } else if !rest.isEmpty {
            host = try Self.decode(rest, in: text)
        }
        var user: String?
        var password: String?
        if let userInfo {
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.decode(userInfo[..<colon], in: text)
                password = try Self.decode(userInfo[userInfo.index(after: colon)...], in: text)
            } else {
                user = try Self.decode(userInfo, in: text)
            }
        }
        var database = path.isEmpty ? nil : try Self.decode(path, in: text)
        var sslMode: SSLMode?
        var sslRootCert: String?
        var applicationName: String?
        var connectTimeout: Int?
        for pair in query.split(separator: "&") where !pair.isEmpty {
            guard let equals = pair.firstIndex(of: "=") else { throw .invalid(text, "query parameter '\(pair)' has no value") }
            let key = try Self.decode(pair[..<equals], in: text)
            let value = try Self.decode(pair[pair.index(after: equals)...], in: text)
            switch key {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw .invalid(text, "sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(value)'")
                }
                sslMode = mode
            case "sslrootcert": sslRootCert = value
            case "application_name": applicationName = value
            case "connect_timeout":
                guard let seconds = Int(value), seconds >= 0 else { throw .invalid(text, "connect_timeout must be whole seconds") }
                connectTimeout = seconds
            case "host": host = value
            case "port": port = try Self.port(value, in: text)
            case "user": user = value
            case "password": password = value
            case "dbname": database = value
            default:
                throw .invalid(text, "unknown parameter '\(key)' (known: sslmode, sslrootcert, application_name, connect_timeout, host, port, user, password, dbname)")
            }
        }
        self.host = host.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGHOST"] ?? "localhost"
        if let port {
            self.port = port
        } else if let text = environment["PGPORT"] {
            self.port = try Self.port(text, in: "PGPORT")
        } else {
            self.port = 5432
        }
        guard let resolvedUser = user.flatMap({ $0.isEmpty ? nil : $0 }) ?? environment["PGUSER"] ?? environment["USER"] else {
            throw .invalid(text, "no user name: put one in the URL (postgres://USER@host/db) or set PGUSER")
        }
        self.user = resolvedUser
        self.password = password
        self.database = database.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGDATABASE"] ?? resolvedUser
        if let sslMode {
            self.sslMode = sslMode
        } else if let text = environment["PGSSLMODE"] {
            guard let mode = SSLMode(rawValue: text) else { throw .invalid("PGSSLMODE=\(text)", "not an sslmode") }
            self.sslMode = mode
        } else {
            self.sslMode = .prefer
        }
        self.sslRootCert = sslRootCert ?? environment["PGSSLROOTCERT"]
        self.applicationName = applicationName ?? environment["PGAPPNAME"]
        self.connectTimeoutSeconds = connectTimeout ?? environment["PGCONNECT_TIMEOUT"].flatMap { Int($0) }
    }

    /// The URL without its password, for messages and logs.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(shownHost):\(port)/\(database)" + (sslMode == .prefer ? "" : "?sslmode=\(sslMode.rawValue)")
    }

    /// "host:port", or the socket's path.
    public var endpoint: String {
        isUnixSocket ? "\(host)/.s.PGSQL.\(port)" : "\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    public var isUnixSocket: Bool { host.hasPrefix("/") }

    private static func port(_ text: String, in url: String) throws(PostgresURLError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else { throw .invalid(url, "port must be 1-65535, got '\(text)'") }
        return port
    }

    /// Percent-decoding (%XX), as in any URL.
    private static func decode(_ text: Substring, in url: String) throws(PostgresURLError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard utf8.count >= 2, let high = hexValue(utf8.popFirst()!), let low = hexValue(utf8.popFirst()!) else {
                throw .invalid(url, "bad percent-encoding in '\(text)'")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

public enum PostgresURLError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String, String)

    public var description: String {
        switch self {
        case .invalid(let url, let reason):
            return "bad PostgreSQL URL \(PostgresURLError.redacted(url)): \(reason)"
        }
    }

    /// The URL with any password replaced by ***.
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}

/// Where a connection's password comes from when the URL has none: PGPASSWORD, then the password file (PGPASSFILE,
/// else ~/.pgpass), as libpq does.
public enum PostgresPassword {
    /// The first line of a .pgpass file that matches: `hostname:port:database:username:password`, each of the first
    /// four a literal or `*`, with `\:` and `\\` escapes; lines starting with # are comments.
    public static func lookup(pgpass contents: String, host: String, port: Int, database: String, user: String) -> String? {
        // libpq matches a Unix-socket connection against "localhost".
        let hostName = host.hasPrefix("/") ? "localhost" : host
        for line in contents.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("#") { continue }
            let fields = splitFields(line)
            guard fields.count == 5 else { continue }
            let wanted = [hostName, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    private static func splitFields(_ line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" && fields.count < 4 {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }
}
