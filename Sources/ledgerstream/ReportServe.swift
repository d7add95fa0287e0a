import ArgumentParser
import Dashboard
import FoundationEssentials
import Glibc
import KafkaClient
import Ledger
import Logging
import Operations
import Shell

/// `report --serve`: the dashboard as a live web page, and with `--desk` the transaction desk.
extension ReportCommand {
    static let defaultServeAddress = "127.0.0.1:8501"

    /// The desk token: --desk-token-file's first line, else $LEDGERSTREAM_DESK_TOKEN; long enough to resist guessing.
    func deskToken() throws -> String {
        let token: String
        if let deskTokenFile {
            guard let text = try? String(contentsOfFile: deskTokenFile, encoding: .utf8) else {
                throw ValidationError("cannot read --desk-token-file \(deskTokenFile): no such file or not readable")
            }
            token = String(text.split(whereSeparator: \.isNewline).first ?? "")
        } else if let value = ProcessInfo.processInfo.environment["LEDGERSTREAM_DESK_TOKEN"] {
            token = value
        } else {
            throw ValidationError("--desk needs a token, so that only agents who have it can enter transactions: set LEDGERSTREAM_DESK_TOKEN or give --desk-token-file FILE (make one with `openssl rand -hex 32 > desk.token`)")
        }
        let trimmed = token.trimmingCharacters(in: .whitespaces)
        guard trimmed.count >= DeskSessions.minimumTokenLength else {
            throw ValidationError("the desk token must be at least \(DeskSessions.minimumTokenLength) characters (got \(trimmed.count)); make one with `openssl rand -hex 32`")
        }
        return trimmed
    }

    /// Where `--serve` listens: HOST:PORT, :PORT or PORT (a missing host is 127.0.0.1), checked by `validate()`.
    func serveAddress(_ listen: String?) throws -> OperationsListener {
        do {
            return try OperationsListener(parsing: listen ?? Self.defaultServeAddress)
        } catch {
            guard case .invalid(let spec, let reason) = error else { throw error }
            throw ValidationError("--serve: invalid address '\(spec)': \(reason) (for example 127.0.0.1:8501)")
        }
    }

    func runServer(queries: any LedgerReading, location: String, listen: String?) async throws {
        let address = try serveAddress(listen)
        var logger = Logger(label: "ledgerstream-report", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        let reader = SerialReader(queries)
        var kafka: KafkaClient?
        var backend: LiveShellBackend?
        var sessions: DeskSessions?
        if desk {
            let token = try deskToken()
            let client = try self.client.makeClient(clientId: "ledgerstream-desk", command: "report")
            let topic = self.topic
            // Meet the cluster now, so the first deposit does not wait for it (and a wrong address shows in the log).
            Task { _ = try? await client.refreshMetadata(topics: [topic]) }
            kafka = client
            backend = LiveShellBackend(client: client, topic: topic, queries: reader,
                                       sinkCommand: "ledgerstream consume --sink \(database.isPostgres ? "postgres" : "sqlite")")
            sessions = DeskSessions(token: token)
        }
        let dashboard = Dashboard(
            configuration: Dashboard.Configuration(location: location, sink: database.isPostgres ? "postgres" : "sqlite",
                                                   applyTimeoutMs: Int(applyTimeout * 1000),
                                                   allowedHosts: Dashboard.Configuration.allowedHosts(bindingTo: address.host)),
            reader: reader, desk: backend, sessions: sessions, logger: logger)
        let server: DashboardServer
        do {
            server = try await DashboardServer.start(host: address.host, port: address.port, dashboard: dashboard, logger: logger)
        } catch {
            printError("report", "\(error)")
            await backend?.close()
            await kafka?.close()
            await reader.close()
            throw ExitCodes.unavailable
        }
        let url = OperationsListener(host: server.host, port: server.port).description + "/"
        printFlushed("dashboard of \(location) listening on \(server.host):\(server.port): \(url) (desk \(desk ? "on, produces to \(topic) at \(client.servers)" : "off")); Ctrl-C stops")
        let signals = installStopHandlers()
        defer { _ = signals }
        while !stopRequested.withLock({ $0 }) {
            try? await Task.sleep(for: .milliseconds(100))
        }
        await server.stop()
        await backend?.close()
        await kafka?.close()
        await reader.close()
    }
}
