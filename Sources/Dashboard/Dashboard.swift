import FoundationEssentials
import Ledger
import Logging
import Report
import Shell
import Synchronization
import Timekeeping

/// The web dashboard's application: what each path answers, the views cached per ledger version, the desk. No
/// sockets here (``DashboardServer`` is the HTTP edge), so every route is tested with plain requests.
///
/// Reads go through one ``SerialReader``. Views are rendered once per ledger version and query, and concurrent
/// requests for the same one wait for the same rendering: a hundred viewers of a changing million-entry ledger cost
/// one set of queries per change, not a hundred.
public final class Dashboard: Sendable {
    public struct Configuration: Sendable {
        /// Where the ledger is, without password, for the page.
        public var location: String
        /// "sqlite" or "postgres": the sink named in hints.
        public var sink: String
        /// How long a desk transaction waits for the sink to apply it.
        public var applyTimeoutMs: Int
        /// The host names requests may be addressed to (the `Host` header, without its port); nil takes any. A server
        /// on a loopback address answers only to loopback names, so a web page whose DNS name an attacker re-points at
        /// 127.0.0.1 (DNS rebinding) cannot read the ledger through a browser on this machine.
        public var allowedHosts: Set<String>?

        public init(location: String, sink: String, applyTimeoutMs: Int = 5000, allowedHosts: Set<String>? = nil) {
            self.location = location
            self.sink = sink
            self.applyTimeoutMs = applyTimeoutMs
            self.allowedHosts = allowedHosts
        }

        /// The names a server bound to `host` answers to: loopback names for a loopback address, else any.
        public static func allowedHosts(bindingTo host: String) -> Set<String>? {
            let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
            return loopback ? ["localhost", "127.0.0.1", "[::1]", host.contains(":") ? "[\(host)]" : host] : nil
        }
    }

    let configuration: Configuration
    let reader: SerialReader
    let desk: (any ShellBackend & Sendable)?
    let sessions: DeskSessions?
    let assets = DashboardAssets()
    let cache = RenderCache()
    /// The desk sessions' clock (a manual one in tests).
    let time: any TimeSource
    let logger: Logger
    /// The ledger's change counter as last polled, and its size then (for the event stream).
    let latest = Mutex(LedgerVersion(counter: 0, entries: 0, accounts: 0, serial: 0))
    private let listeners = Mutex<[@Sendable (LedgerVersion) -> Void]>([])
    /// One poll at a time (the server's and a desk transaction's), so versions are announced in order.
    private let pollGate = AsyncGate()
    /// One desk transaction at a time: the balance check, the produce and the wait for the sink happen together, so
    /// two agents withdrawing from one account cannot both pass the check.
    let deskGate = AsyncGate()

    /// `desk` and `sessions` both or neither: the desk is off without them.
    public init(configuration: Configuration, reader: SerialReader, desk: (any ShellBackend & Sendable)?, sessions: DeskSessions?,
                time: any TimeSource = SystemTimeSource(), logger: Logger) {
        precondition((desk == nil) == (sessions == nil), "the desk needs both its backend and its sessions")
        self.configuration = configuration
        self.reader = reader
        self.desk = desk
        self.sessions = sessions
        self.time = time
        self.logger = logger
    }

    public var contentSecurityPolicy: String { assets.contentSecurityPolicy }

    // MARK: Ledger version

    /// Polls the ledger's change counter; returns the new version when it moved (nil when not), after telling every
    /// ``onNewVersion(_:)`` listener. The server polls twice a second; a desk transaction polls once it is applied.
    public func poll() async throws -> LedgerVersion? {
        try await pollGate.acquire()
        defer { pollGate.release() }
        let counter = try await reader.changeCounter()
        let size = try await reader.ledgerSize()
        let changed = latest.withLock { version -> LedgerVersion? in
            guard counter != version.counter || version.serial == 0 else { return nil }
            version = LedgerVersion(counter: counter, entries: size.entries, accounts: size.accounts, serial: version.serial + 1)
            return version
        }
        if let changed {
            for listener in listeners.withLock({ $0 }) { listener(changed) }
        }
        return changed
    }

    /// Calls `body` with each new version ``poll()`` finds (the server sends it to every event stream).
    public func onNewVersion(_ body: @escaping @Sendable (LedgerVersion) -> Void) {
        listeners.withLock { $0.append(body) }
    }

    public var version: LedgerVersion { latest.withLock { $0 } }

    /// The event the stream sends for a version.
    public static func event(_ version: LedgerVersion) -> String {
        "event: ledger\ndata: {\"version\":\(version.serial),\"entries\":\(version.entries),\"accounts\":\(version.accounts)}\n\n"
    }

    // MARK: Routes

    public func handle(_ request: DashboardRequest) async -> DashboardReply {
        do {
            return try await route(request)
        } catch let error as DashboardError {
            return .response(Self.failure(error, json: request.answersInJSON))
        } catch {
            // A cancelled request's client has gone: nothing to tell anyone.
            if !(error is CancellationError) { logger.warning("dashboard request \(request.method) \(request.path) failed: \(error)") }
            let failure = DashboardError.unavailable("cannot read the ledger at \(configuration.location): \(error)")
            return .response(Self.failure(failure, json: request.answersInJSON))
        }
    }

    private func route(_ request: DashboardRequest) async throws -> DashboardReply {
        if let allowed = configuration.allowedHosts, let host = request.header("host") {
            let name = host.hasPrefix("[") ? String(host.prefix { $0 != "]" }) + "]" : String(host.prefix { $0 != ":" })
            guard allowed.contains(name.lowercased()) else {
                throw DashboardError.misdirected("this dashboard answers to \(allowed.sorted().joined(separator: ", ")) only, not to '\(name.prefix(100))' (a name re-pointed at this machine is refused)")
            }
        }
        let isRead = request.method == "GET" || request.method == "HEAD"
        switch request.path {
        case "/", "/views", "/events", "/api/report", "/api/transactions", "/api/accounts", "/api/history", "/desk/panel", "/healthz":
            guard isRead else { throw DashboardError.methodNotAllowed(allowed: "GET, HEAD") }
        case "/desk/login", "/desk/logout", "/desk/transaction", "/api/desk/transactions":
            guard request.method == "POST" else { throw DashboardError.methodNotAllowed(allowed: "POST") }
            guard sessions != nil else { throw DashboardError.notFound("the desk is off: start the server with --desk") }
        default:
            throw DashboardError.notFound("no such page: \(request.path.prefix(100)) — the dashboard is at /, its data at /api/report")
        }
        let fields = FormFields(parsing: request.query)
        switch request.path {
        case "/": return .response(.html(try await page(DashboardQuery(parsing: fields), request: request)))
        case "/views": return .response(.html(try await viewsHTML(DashboardQuery(parsing: fields))))
        case "/events":
            guard request.method == "GET" else { return .response(DashboardResponse(contentType: "text/event-stream", body: [])) }
            return .eventStream
        case "/healthz": return .response(DashboardResponse(contentType: DashboardResponse.text, body: Array("ok\n".utf8)))
        case "/api/report": return .response(.json(try await reportJSON(fields)))
        case "/api/transactions": return .response(.json(try await transactionsJSON(DashboardQuery(parsing: fields))))
        case "/api/accounts": return .response(.json(try await accountsJSON()))
        case "/api/history": return .response(.json(try await historyJSON(fields)))
        case "/desk/panel": return .response(try await deskPanel(fields, request: request))
        case "/desk/login": return .response(login(request))
        case "/desk/logout": return .response(try logout(request))
        default: return .response(try await transact(request))
        }
    }

    static func failure(_ error: DashboardError, json: Bool) -> DashboardResponse {
        var headers: [(name: String, value: String)] = []
        if case .methodNotAllowed(let allowed) = error { headers.append(("Allow", allowed)) }
        if json {
            return .json(JSONValue.object([("error", .string(error.description)), ("status", .number(error.status))]).text + "\n",
                         status: error.status, headers: headers)
        }
        return DashboardResponse(status: error.status, contentType: DashboardResponse.text, body: Array((error.description + "\n").utf8),
                                 headers: headers)
    }

    // MARK: Views

    /// The views' data for a query: the report's sections and the table's page, in one snapshot.
    func viewData(_ query: DashboardQuery) async throws -> DashboardViewData {
        try await reader.withSnapshot {
            let report = try await ReportData.load(from: reader, query: query.reportQuery(location: configuration.location, sink: configuration.sink))
            let total = query.period.isWholeLedger ? report.header.entries : report.filtered.total
            return DashboardViewData(report: report, rows: try await tableRows(query), total: total)
        }
    }

    /// The table's page alone, with the number of entries in the period (`/api/transactions`, without the charts).
    func tablePage(_ query: DashboardQuery) async throws -> (rows: [LedgerEntry], total: Int) {
        try await reader.withSnapshot {
            let total = query.period.isWholeLedger ? try await reader.ledgerSize().entries
                : try await reader.transactionCount(from: query.period.from, to: query.period.to)
            return (try await tableRows(query), total)
        }
    }

    private func tableRows(_ query: DashboardQuery) async throws -> [LedgerEntry] {
        try await reader.transactionPage(from: query.period.from, to: query.period.to, sort: query.sort,
                                         offset: (query.page - 1) * query.pageSize, limit: query.pageSize)
    }

    func viewsHTML(_ query: DashboardQuery) async throws -> String {
        let version = self.version
        let bytes = try await cache.value(for: RenderCache.Key(version: version.serial, kind: .views, query: query)) {
            Array(DashboardPage.views(try await self.viewData(query), query: query, version: version.serial).utf8)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func page(_ query: DashboardQuery, request: DashboardRequest) async throws -> String {
        let views = try await viewsHTML(query)
        let accounts = try await reader.accounts().map(\.account)
        let deskHTML = try await deskSection(request: request)
        let size = try await reader.ledgerSize()
        return DashboardPage.page(viewsHTML: views, entries: size.entries, accountCount: size.accounts, context: DashboardPage.Context(
            query: query, location: configuration.location, desk: deskHTML, accounts: accounts), assets: assets)
    }

    // MARK: JSON

    /// The same object as `report --format json` (`limit` 20 by default, 0 for all; `top` 8 by default).
    func reportJSON(_ fields: FormFields) async throws -> String {
        var query = try DashboardQuery(parsing: fields)
        query.page = 1
        var limit: Int? = 20
        if let text = fields["limit"] {
            guard let value = Int(text), (0...10_000).contains(value) else {
                throw DashboardError.badRequest("limit must be a whole number from 0 (all) to 10000, got '\(text.prefix(40))'")
            }
            limit = value == 0 ? nil : value
        }
        let (fixedQuery, fixedLimit) = (query, limit)
        let key = RenderCache.Key(version: version.serial, kind: .report(limit: limit), query: query)
        let bytes = try await cache.value(for: key) {
            var reportQuery = fixedQuery.reportQuery(location: self.configuration.location, sink: self.configuration.sink)
            reportQuery.pageSize = fixedLimit
            reportQuery.listsTransactions = true
            return Array(ReportJSON.render(try await ReportData.load(from: self.reader, query: reportQuery)).utf8)
        }
        return String(decoding: bytes, as: UTF8.self) + "\n"
    }

    func transactionsJSON(_ query: DashboardQuery) async throws -> String {
        let data = try await tablePage(query)
        let pages = max(1, (data.total + query.pageSize - 1) / query.pageSize)
        return JSONValue.object([
            ("from", .optional(query.period.from)), ("to", .optional(query.period.to)),
            ("sort", .string(query.sort.column.rawValue)), ("dir", .string(query.sort.descending ? "desc" : "asc")),
            ("page", .number(query.page)), ("pages", .number(pages)), ("size", .number(query.pageSize)),
            ("total", .number(data.total)), ("rows", .array(data.rows.map(ReportJSON.entry))),
        ]).text + "\n"
    }

    func accountsJSON() async throws -> String {
        let accounts = try await reader.accounts()
        return JSONValue.array(accounts.map { summary in
            .object([("account", .string(summary.account)), ("balance_cents", .int(summary.balance.cents)),
                     ("entries", .number(summary.entries)), ("last_transaction_date", .string(summary.lastDate))])
        }).text + "\n"
    }

    func historyJSON(_ fields: FormFields) async throws -> String {
        guard let account = fields["account"] else { throw DashboardError.badRequest("account is required: /api/history?account=NAME") }
        var count = 20
        if let text = fields["count"] {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw DashboardError.badRequest("count must be a whole number from 1 to 1000, got '\(text.prefix(40))'")
            }
            count = value
        }
        guard let summary = try await reader.accounts().first(where: { $0.account == account }) else {
            throw DashboardError.notFound("unknown account '\(account.prefix(100))'")
        }
        let entries = try await reader.history(account: account, count: count)
        return JSONValue.object([
            ("account", .string(summary.account)), ("balance_cents", .int(summary.balance.cents)), ("entries", .number(summary.entries)),
            ("rows", .array(entries.map(ReportJSON.entry))),
        ]).text + "\n"
    }
}

/// A version of the ledger as the dashboard polled it: the database's change counter, the size then, and a serial
/// number that grows by one per change seen (what the event stream and the render cache use).
public struct LedgerVersion: Sendable, Equatable {
    public var counter: Int64
    public var entries: Int
    public var accounts: Int
    public var serial: Int64
}
