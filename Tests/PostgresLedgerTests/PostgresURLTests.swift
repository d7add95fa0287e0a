import Testing

@testable import PostgresLedger

@Suite struct PostgresURLTests {
    @Test func fullURL() throws {
        let url = try PostgresURL(parsing: "postgresql://bank:s%3Acret@db.example:6543/ledger?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=sink&connect_timeout=5")
        #expect(url.host == "db.example")
        #expect(url.port == 6543)
        #expect(url.user == "bank")
        #expect(url.password == "s:cret")
        #expect(url.database == "ledger")
        #expect(url.sslMode == .verifyFull)
        #expect(url.sslRootCert == "/etc/ca.pem")
        #expect(url.applicationName == "sink")
        #expect(url.connectTimeoutSeconds == 5)
        // Never the password in messages.
        #expect(url.description == "postgres://bank@db.example:6543/ledger?sslmode=verify-full")
    }

    @Test func defaultsComeFromTheEnvironmentThenLibpqs() throws {
        let bare = try PostgresURL(parsing: "postgres://", environment: ["USER": "alice"])
        #expect(bare.host == "localhost" && bare.port == 5432 && bare.user == "alice" && bare.database == "alice")
        #expect(bare.sslMode == .prefer)
        let environment = ["PGHOST": "pg", "PGPORT": "7777", "PGUSER": "bob", "PGDATABASE": "books", "PGSSLMODE": "require", "USER": "x"]
        let filled = try PostgresURL(parsing: "postgres://", environment: environment)
        #expect(filled.host == "pg" && filled.port == 7777 && filled.user == "bob" && filled.database == "books" && filled.sslMode == .require)
        // The URL wins over the environment.
        let explicit = try PostgresURL(parsing: "postgres://carol@h:1/d?sslmode=disable", environment: environment)
        #expect(explicit.host == "h" && explicit.port == 1 && explicit.user == "carol" && explicit.database == "d" && explicit.sslMode == .disable)
    }

    @Test func ipv6AndUnixSockets() throws {
        let v6 = try PostgresURL(parsing: "postgres://u@[::1]:5433/db")
        #expect(v6.host == "::1" && v6.port == 5433)
        #expect(v6.endpoint == "[::1]:5433")
        let socket = try PostgresURL(parsing: "postgres://u@%2Fvar%2Frun%2Fpostgresql/db")
        #expect(socket.isUnixSocket && socket.host == "/var/run/postgresql")
        #expect(socket.endpoint == "/var/run/postgresql/.s.PGSQL.5432")
        let query = try PostgresURL(parsing: "postgres:///db?host=/tmp&port=6000&user=u")
        #expect(query.host == "/tmp" && query.port == 6000 && query.user == "u" && query.database == "db")
    }

    @Test(arguments: [
        "mysql://u@h/db", "postgres://u@h:0/db", "postgres://u@h:99999/db", "postgres://u@h:abc/db",
        "postgres://u@h/db?sslmode=always", "postgres://u@h/db?colour=blue", "postgres://u@h/db?sslmode",
        "postgres://u@[::1/db", "postgres://u@h/d%zzb",
    ])
    func badURLsAreRefusedWithTheReason(_ text: String) {
        #expect(throws: PostgresURLError.self) { try PostgresURL(parsing: text, environment: ["USER": "x"]) }
    }

    @Test func errorsNeverShowThePassword() {
        do {
            _ = try PostgresURL(parsing: "postgres://bank:hunter2@h:0/db")
            Issue.record("accepted port 0")
        } catch {
            #expect(!error.description.contains("hunter2"))
            #expect(error.description.contains("bank:***@h:0"))
        }
    }

    @Test func pgpassMatchesLikeLibpq() {
        let file = """
            # comment line
            other:5432:*:bank:wrong
            db.example:6543:ledger:bank:right\\:colon\\\\slash
            *:*:*:*:fallback
            """
        #expect(PostgresPassword.lookup(pgpass: file, host: "db.example", port: 6543, database: "ledger", user: "bank") == "right:colon\\slash")
        #expect(PostgresPassword.lookup(pgpass: file, host: "db.example", port: 5432, database: "ledger", user: "bank") == "fallback")
        #expect(PostgresPassword.lookup(pgpass: "localhost:5432:*:u:sock", host: "/run/postgresql", port: 5432, database: "d", user: "u") == "sock")
        #expect(PostgresPassword.lookup(pgpass: "h:5432:d:u", host: "h", port: 5432, database: "d", user: "u") == nil)
    }
}
