import Glibc
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// Opens connections to the ledger's PostgreSQL server: the URL's TLS mode and certificates, the password from the
/// URL, PGPASSWORD or the password file, and failures turned into errors that name the server and say what to check.
public struct PostgresConnector: Sendable {
    public let url: PostgresURL
    let password: String?
    /// Sent as application_name, shown by pg_stat_activity.
    let applicationName: String
    /// Statements run on every new connection (session settings).
    let sessionSettings: [String]

    public init(url: PostgresURL, environment: [String: String], applicationName: String, sessionSettings: [String] = [],
                logger: Logger) {
        self.url = url
        self.applicationName = url.applicationName ?? applicationName
        self.sessionSettings = sessionSettings
        if let password = url.password {
            self.password = password
        } else if let password = environment["PGPASSWORD"] {
            self.password = password
        } else {
            self.password = Self.passwordFromFile(url: url, environment: environment, logger: logger)
        }
    }

    /// The password file's entry for this connection, read as libpq does: a file readable by others is ignored
    /// (with a warning), as it must be private.
    static func passwordFromFile(url: PostgresURL, environment: [String: String], logger: Logger) -> String? {
        let path = environment["PGPASSFILE"] ?? environment["HOME"].map { $0 + "/.pgpass" }
        guard let path else { return nil }
        var status = stat()
        guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        if status.st_mode & (S_IRWXG | S_IRWXO) != 0 {
            logger.warning("password file has group or world access; permissions should be u=rw (0600) or less: not used",
                           metadata: ["file": "\(path)"])
            return nil
        }
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var contents: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            contents += buffer[0..<count]
        }
        return PostgresPassword.lookup(pgpass: String(decoding: contents, as: UTF8.self), host: url.host, port: url.port,
                                       database: url.database, user: url.user)
    }

    /// Connects (TLS as sslmode says), authenticates and applies the session settings.
    public func connect(logger: Logger, id: Int = 1) async throws -> PostgresConnection {
        var configuration: PostgresConnection.Configuration
        if url.isUnixSocket {
            configuration = PostgresConnection.Configuration(
                unixSocketPath: "\(url.host)/.s.PGSQL.\(url.port)", username: url.user, password: password, database: url.database)
        } else {
            configuration = PostgresConnection.Configuration(
                host: url.host, port: url.port, username: url.user, password: password, database: url.database, tls: try tls())
        }
        if let seconds = url.connectTimeoutSeconds, seconds > 0 { configuration.options.connectTimeout = .seconds(Int64(seconds)) }
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: id, logger: logger)
        } catch {
            throw PostgresLedgerError(connecting: error, to: url, hasPassword: password != nil)
        }
        do {
            for statement in sessionSettings { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
        } catch {
            try? await connection.close()
            throw PostgresLedgerError(connecting: error, to: url, hasPassword: password != nil)
        }
        return connection
    }

    /// The TLS of the URL's sslmode, with libpq's meanings.
    func tls() throws -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch url.sslMode {
        case .disable:
            return .disable
        case .allow, .prefer, .require:
            // Encryption without authentication, as libpq does unless a root certificate is given.
            if let root = url.sslRootCert, url.sslMode == .require {
                configuration.trustRoots = .file(root)
                configuration.certificateVerification = .noHostnameVerification
            } else {
                configuration.certificateVerification = .none
            }
        case .verifyCA:
            configuration.trustRoots = url.sslRootCert.map { .file($0) } ?? .default
            configuration.certificateVerification = .noHostnameVerification
        case .verifyFull:
            configuration.trustRoots = url.sslRootCert.map { .file($0) } ?? .default
            configuration.certificateVerification = .fullVerification
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw PostgresLedgerError.tls(url.description, "cannot use sslrootcert \(url.sslRootCert ?? "(system roots)"): \(error)")
        }
        return url.sslMode == .prefer || url.sslMode == .allow ? .prefer(context) : .require(context)
    }
}

/// Failures to reach or use the ledger's PostgreSQL server, each naming it and saying what to check.
public enum PostgresLedgerError: Error, Equatable, Sendable, CustomStringConvertible {
    case badURL(String)
    case unreachable(String, String)
    case authentication(String, String)
    case noDatabase(String, String)
    case tls(String, String)
    case server(String, String)
    case noLedger(String)
    case schemaTooNew(String, found: Int, known: Int)

    public var description: String {
        switch self {
        case .badURL(let message): return message
        case .unreachable(let server, let reason):
            return "cannot reach PostgreSQL at \(server): \(reason) — is the server running, and are host and port in --db right?"
        case .authentication(let server, let reason):
            return "PostgreSQL at \(server) refused the login: \(reason)"
        case .noDatabase(let server, let reason):
            return "PostgreSQL at \(server): \(reason) — create it (createdb) or name another one in --db"
        case .tls(let server, let reason):
            return "TLS with PostgreSQL at \(server) failed: \(reason) — check sslmode and sslrootcert in --db, and the server's ssl settings"
        case .server(let server, let message):
            return "PostgreSQL at \(server): \(message)"
        case .noLedger(let server):
            return "\(server) holds no ledger (no ledger_postings table) — it is filled by `ledgerstream consume --sink postgres --db \(server)`"
        case .schemaTooNew(let server, let found, let known):
            return "the ledger at \(server) has schema version \(found), newer than this ledgerstream knows (\(known)): upgrade ledgerstream"
        }
    }

    /// Whether waiting and connecting again can help (the server restarting, a connection lost), as opposed to a
    /// setting that must change.
    public var isTransient: Bool {
        if case .unreachable = self { return true }
        return false
    }

    /// BoringSSL's words for the two failures a user meets, in a user's words (the original kept at the end).
    static func tlsReason(_ text: String, url: PostgresURL) -> String {
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            let roots = url.sslRootCert.map { "sslrootcert \($0)" } ?? "the system's trusted roots (no sslrootcert given)"
            return "the server's certificate is not signed by a CA in \(roots) [\(text)]"
        }
        if text.contains("failedToValidateHostname") {
            return "the server's certificate does not name \(url.host) (sslmode=verify-full checks the host name) [\(text)]"
        }
        return text
    }

    /// Classifies a failure of connecting (or of the first statements on a new connection).
    init(connecting error: any Error, to url: PostgresURL, hasPassword: Bool) {
        let server = url.description
        if let error = error as? PostgresLedgerError {
            self = error
            return
        }
        guard let error = error as? PSQLError else {
            let text = "\(error)"
            if text.contains("SSL") || text.contains("TLS") || text.contains("handshake") || error is NIOSSLError || error is BoringSSLError {
                self = .tls(server, Self.tlsReason(text, url: url))
            } else {
                self = .unreachable(server, text)
            }
            return
        }
        let state = error.serverInfo?[.sqlState] ?? ""
        let message = error.serverInfo?[.message] ?? ""
        switch error.code {
        case .sslUnsupported:
            self = .tls(server, "the server does not support TLS, and sslmode=\(url.sslMode.rawValue) requires it")
        case .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            self = .tls(server, "\(error.code)")
        case .authMechanismRequiresPassword:
            self = .authentication(server, "the server wants a password for user \(url.user) and none was given — put it in the URL, PGPASSWORD or ~/.pgpass")
        case .unsupportedAuthMechanism, .saslError:
            self = .authentication(server, "\(error.code) for user \(url.user): \(message.isEmpty ? "\(error.underlying.map { "\($0)" } ?? "")" : message)")
        case .server:
            if state.hasPrefix("28") {
                let hint = state == "28P01"
                    ? (hasPassword ? "check the password (URL, PGPASSWORD or ~/.pgpass)" : "no password was given: put it in the URL, PGPASSWORD or ~/.pgpass")
                    : "check pg_hba.conf on the server for this host, user, database and sslmode"
                self = .authentication(server, "\(message) — \(hint)")
            } else if state == "3D000" {
                self = .noDatabase(server, message)
            } else if state.hasPrefix("57P") || state.hasPrefix("08") || state == "53300" {
                // Shutting down, starting up, too many connections: a moment's wait may do.
                self = .unreachable(server, message)
            } else {
                self = .server(server, "\(message) (SQLSTATE \(state))")
            }
        default:
            if let underlying = error.underlying, "\(underlying)".contains("SSL") || underlying is NIOSSLError || underlying is BoringSSLError {
                self = .tls(server, Self.tlsReason("\(underlying)", url: url))
            } else {
                self = .unreachable(server, error.underlying.map { "\($0)" } ?? "\(error.code)")
            }
        }
    }
}
