import KafkaProtocol
import Ledger
import Logging
import NIOCore
import PostgresNIO

/// The PostgreSQL ledger store: applies batches exactly once, each in one PostgreSQL transaction with its
/// partitions' next offsets.
///
/// A batch's transaction first locks its partitions' owner rows and checks that they still carry the generation this
/// sink claimed (a sink that lost a partition commits nothing), then bulk-loads the entries, issues and rejected
/// records with one statement per table, adds the accounts' increments and moves the offsets with one statement each. Account totals are
/// added, not overwritten, so they stay exact whichever sink wrote which account.
///
/// A lost connection (the server restarting, a network cut) is waited out: the store connects again with backoff,
/// reads its offsets and accounts back, and applies the batch from there — the part of it that committed before the
/// connection broke, if any, is skipped by offset, so nothing is lost or doubled.
public actor PostgresLedgerStore: LedgerStore {
    public nonisolated let metrics: SinkMetrics
    public nonisolated let location: String
    let connector: PostgresConnector
    let logger: Logger
    private var connection: PostgresConnection?
    private var nextConnectionID = 1
    /// Next offset to apply per partition, as last read or committed.
    private var nextOffsets: [LedgerSink.PartitionKey: Int64] = [:]
    private var accounts: [String: AccountState] = [:]
    private var claimed: [LedgerSink.PartitionKey: Int64] = [:]
    private var sourceIDs: [String: Int64] = [:]
    private var appliedLines: [Int64: LineSet] = [:]

    /// Session settings of the sink's connection. A sink stopped mid-transaction (paused, or cut off) holds its
    /// partitions' row locks: the server ends such a transaction after 30 s idle, so the sink taking over waits at
    /// most that long; no statement of the sink's runs for more than a minute.
    static let sessionSettings = [
        "SET idle_in_transaction_session_timeout = '30s'",
        "SET statement_timeout = '60s'",
    ]

    /// Connects, migrates the schema and reads the sink's state. Errors here (a wrong password, an unreachable
    /// server) are reported at once rather than retried: they are settings to fix.
    public init(url: PostgresURL, environment: [String: String], metrics: SinkMetrics = .disabled, logger: Logger) async throws {
        self.metrics = metrics
        self.location = url.description
        self.logger = logger
        connector = PostgresConnector(url: url, environment: environment, applicationName: "ledgerstream-sink",
                                      sessionSettings: Self.sessionSettings, logger: logger)
        let connection = try await connector.connect(logger: logger)
        do {
            try await PostgresLedgerSchema.migrate(connection, server: url.description, logger: logger)
        } catch {
            try? await connection.close()
            throw Self.describe(error, server: url.description)
        }
        self.connection = connection
        try await load(connection)
        metrics.databaseOpened()
    }

    /// Where a partition resumes (nil: nothing applied yet).
    public func resumeOffset(topic: String, partition: Int32) -> Int64? {
        nextOffsets[LedgerSink.PartitionKey(topic: topic, partition: partition)]
    }

    public func balance(of account: String) -> Money? { accounts[account]?.balance }

    // MARK: LedgerStore

    public func claim(_ partitions: [TopicPartition], owner: String) async throws -> [TopicPartition: Int64] {
        let sorted = partitions.sorted()
        let generations = try await withReconnects("claiming partitions") { connection in
            try await self.transaction(connection) {
                var generations: [LedgerSink.PartitionKey: Int64] = [:]
                guard !sorted.isEmpty else { return generations }
                let rows = try await connection.statement("""
                    INSERT INTO sink_partition_owners (topic, partition, owner_generation, owner, claimed_at)
                    SELECT t, p, 1, \(owner), now() FROM unnest(\(sorted.map(\.topic))::text[], \(sorted.map(\.partition))::integer[]) AS u(t, p)
                    ON CONFLICT (topic, partition) DO UPDATE SET owner_generation = sink_partition_owners.owner_generation + 1,
                        owner = excluded.owner, claimed_at = excluded.claimed_at
                    RETURNING topic, partition, owner_generation
                    """, logger: self.logger)
                for try await (topic, partition, generation) in rows.decode((String, Int32, Int64).self) {
                    generations[LedgerSink.PartitionKey(topic: topic, partition: partition)] = generation
                }
                return generations
            }
        }
        claimed = generations
        // Other sinks may have written these partitions and their accounts meanwhile.
        try await withReconnects("reading the ledger's state") { try await self.load($0) }
        var resume: [TopicPartition: Int64] = [:]
        for partition in sorted {
            if let next = nextOffsets[LedgerSink.PartitionKey(topic: partition.topic, partition: partition.partition)] {
                resume[partition] = next
            }
        }
        return resume
    }

    public func apply(_ batch: [LedgerSink.DecodedRecord], decodeNanoseconds: Int64) async throws -> ApplyReport {
        guard !batch.isEmpty else { return ApplyReport() }
        let started = ContinuousClock.now
        return try await withReconnects("applying a batch", checkRewind: true) { connection in
            do {
                return try await self.applyOnce(batch, on: connection, started: started, decodeNanoseconds: decodeNanoseconds)
            } catch ImportedLinesChanged.conflict {
                // Another sink applied rows of a file this one had cached: read the files' lines again, and decide anew.
                self.appliedLines = [:]
                return try await self.applyOnce(batch, on: connection, started: started, decodeNanoseconds: decodeNanoseconds)
            }
        }
    }

    public func startBackgroundWork(logger: Logger) async throws {}

    public func stopBackgroundWork() async {}

    public func close() async {
        try? await connection?.close()
        connection = nil
    }

    // MARK: Applying

    private func applyOnce(_ batch: [LedgerSink.DecodedRecord], on connection: PostgresConnection, started: ContinuousClock.Instant,
                           decodeNanoseconds: Int64) async throws -> ApplyReport {
        try await loadSources(of: batch, on: connection)
        let partitions = Array(Set(batch.map { LedgerSink.PartitionKey(topic: $0.record.topic, partition: $0.record.partition) }))
        var planner = LedgerBatchPlanner(offsets: nextOffsets, accounts: accounts, appliedLines: appliedLines)
        // Decided and encoded before the transaction opens: it then runs its statements back to back (short row locks,
        // and no long gap in which the server could drop the connection unseen; see `statement`).
        var postings = PostingRows(capacity: batch.count)
        var issues = IssueRows()
        var rejected = RejectedRows()
        let sourceIDs = sourceIDs
        for decoded in batch {
            let record = decoded.record
            let decision = try planner.decide(decoded, sourceID: { sourceIDs[$0]! }, appliedLinesOf: { _ in LineSet() })
            switch decision {
            case .skip:
                continue
            case .reject(let reason):
                rejected.append(record, reason: reason)
            case .apply(let entry):
                postings.append(record, entry)
                if entry.isMismatch { issues.append(record, entry, kind: "balance_mismatch") }
                if entry.isNegative { issues.append(record, entry, kind: "negative_balance") }
            }
        }
        let importedLines = planner.takeNewLines()
        let changed = planner.finish(since: nextOffsets)
        try await connection.statement("BEGIN", logger: logger)
        do {
            try await checkOwnership(of: partitions, on: connection)
            for rows in [postings, issues, rejected] as [any PostgresBatchRows] { try await rows.insert(on: connection, logger: logger) }
            try await markImported(importedLines, on: connection)
            try await addToBalances(planner, on: connection)
            try await storeOffsets(changed, on: connection)
            try await connection.statement("COMMIT", logger: logger)
        } catch {
            if !Self.isConnectionLost(error) { _ = try? await connection.statement("ROLLBACK", logger: logger) }
            throw error
        }
        nextOffsets = planner.offsets
        accounts = planner.accounts
        appliedLines = planner.appliedLines
        let report = planner.report
        metrics.committed(report, offsets: changed.map { (TopicPartition(topic: $0.0.topic, partition: $0.0.partition), $0.1) },
                          batchNanoseconds: decodeNanoseconds + Self.nanoseconds(since: started), commitNanoseconds: nil)
        return report
    }

    /// Locks the batch's partitions' owner rows (until the transaction ends) and checks this sink still holds them.
    private func checkOwnership(of partitions: [LedgerSink.PartitionKey], on connection: PostgresConnection) async throws {
        guard !claimed.isEmpty else { return }
        let sorted = partitions.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        let rows = try await connection.statement("""
            SELECT o.topic, o.partition, o.owner_generation, o.owner FROM sink_partition_owners o
            JOIN unnest(\(sorted.map(\.topic))::text[], \(sorted.map(\.partition))::integer[]) AS u(topic, partition)
              ON o.topic = u.topic AND o.partition = u.partition
            ORDER BY o.topic, o.partition
            FOR UPDATE OF o
            """, logger: logger)
        var current: [LedgerSink.PartitionKey: (generation: Int64, owner: String)] = [:]
        for try await (topic, partition, generation, owner) in rows.decode((String, Int32, Int64, String).self) {
            current[LedgerSink.PartitionKey(topic: topic, partition: partition)] = (generation, owner)
        }
        var lost: [TopicPartition] = []
        var owners: [String] = []
        for key in sorted where claimed[key] == nil || current[key]?.generation != claimed[key] {
            lost.append(TopicPartition(topic: key.topic, partition: key.partition))
            if let owner = current[key]?.owner { owners.append(owner) }
        }
        if !lost.isEmpty {
            for partition in lost { claimed[LedgerSink.PartitionKey(topic: partition.topic, partition: partition.partition)] = nil }
            throw LedgerStoreError.fenced(lost, owners: owners)
        }
    }

    /// Sets the batch's imported lines in `import_lines`, refusing (and rolling the batch back) if any was set
    /// already: the sink's cache of applied lines was stale, so the batch must be decided again.
    private func markImported(_ lines: [Int64: LineSet], on connection: PostgresConnection) async throws {
        guard !lines.isEmpty else { return }
        var sources: [Int64] = [], blocks: [Int64] = [], bits: [Int64] = []
        for (source, set) in lines {
            for (block, word) in set.blocks {
                sources.append(source)
                blocks.append(block)
                bits.append(Int64(bitPattern: word))
            }
        }
        let rows = try await connection.statement("""
            WITH marked AS (
                INSERT INTO import_lines AS l (source_id, block, bits)
                SELECT s, b, m FROM unnest(\(sources)::bigint[], \(blocks)::bigint[], \(bits)::bigint[]) AS u(s, b, m)
                ON CONFLICT (source_id, block) DO UPDATE SET bits = l.bits | excluded.bits WHERE l.bits & excluded.bits = 0
                RETURNING 1)
            SELECT count(*) FROM marked
            """, logger: logger)
        var marked = 0
        for try await (count) in rows.decode(Int.self) { marked = count }
        if marked != sources.count { throw ImportedLinesChanged.conflict }
    }

    enum ImportedLinesChanged: Error { case conflict }

    /// Adds each touched account's increments (entries, counts, amounts, balance) in one statement.
    private func addToBalances(_ planner: LedgerBatchPlanner, on connection: PostgresConnection) async throws {
        guard !planner.touched.isEmpty else { return }
        var names: [String] = [], balances: [Int64] = [], entries: [Int64] = [], deposits: [Int64] = [], withdrawals: [Int64] = []
        var deposited: [Int64] = [], withdrawn: [Int64] = [], dates: [String] = []
        for (account, before) in planner.touched {
            let delta = planner.accounts[account]!.minus(before)
            names.append(account)
            balances.append(delta.balance.cents)
            entries.append(Int64(delta.entries))
            deposits.append(Int64(delta.deposits))
            withdrawals.append(Int64(delta.withdrawals))
            deposited.append(delta.deposited.cents)
            withdrawn.append(delta.withdrawn.cents)
            dates.append(delta.lastDate?.description ?? "")
        }
        try await connection.statement("""
            INSERT INTO account_balances AS b (account, balance_cents, entries, deposits, withdrawals, deposited_cents, withdrawn_cents,
                                               last_transaction_date)
            SELECT a, bal, e, d, w, dc, wc, NULLIF(t, '')::timestamp
            FROM unnest(\(names)::text[], \(balances)::bigint[], \(entries)::bigint[], \(deposits)::bigint[], \(withdrawals)::bigint[],
                        \(deposited)::bigint[], \(withdrawn)::bigint[], \(dates)::text[]) AS u(a, bal, e, d, w, dc, wc, t)
            ON CONFLICT (account) DO UPDATE SET
                balance_cents = b.balance_cents + excluded.balance_cents,
                entries = b.entries + excluded.entries,
                deposits = b.deposits + excluded.deposits,
                withdrawals = b.withdrawals + excluded.withdrawals,
                deposited_cents = b.deposited_cents + excluded.deposited_cents,
                withdrawn_cents = b.withdrawn_cents + excluded.withdrawn_cents,
                last_transaction_date = GREATEST(b.last_transaction_date, excluded.last_transaction_date)
            """, logger: logger)
    }

    private func storeOffsets(_ changed: [(LedgerSink.PartitionKey, Int64)], on connection: PostgresConnection) async throws {
        guard !changed.isEmpty else { return }
        try await connection.statement("""
            INSERT INTO sink_offsets (topic, partition, next_offset, updated_at)
            SELECT t, p, n, now() FROM unnest(\(changed.map(\.0.topic))::text[], \(changed.map(\.0.partition))::integer[],
                                              \(changed.map(\.1))::bigint[]) AS u(t, p, n)
            ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at
            """, logger: logger)
    }

    /// Makes sure every imported file of the batch has its source id and its applied lines known (outside the
    /// batch's transaction: a source row is harmless if the batch then fails).
    private func loadSources(of batch: [LedgerSink.DecodedRecord], on connection: PostgresConnection) async throws {
        // One pass; a batch's records mostly come from one file, so only a change of digest is looked up.
        var digests: Set<String> = []
        var last: String?
        for decoded in batch {
            guard let digest = decoded.record.source?.fileDigest, digest != last else { continue }
            last = digest
            digests.insert(digest)
        }
        for digest in digests where sourceIDs[digest] == nil {
            try await connection.statement("INSERT INTO import_sources (file_digest) VALUES (\(digest)) ON CONFLICT (file_digest) DO NOTHING",
                                           logger: logger)
            let rows = try await connection.statement("SELECT source_id FROM import_sources WHERE file_digest = \(digest)", logger: logger)
            for try await (id) in rows.decode(Int64.self) { sourceIDs[digest] = id }
        }
        for digest in digests {
            guard let id = sourceIDs[digest], appliedLines[id] == nil else { continue }
            var lines = LineSet()
            let rows = try await connection.statement("SELECT block, bits FROM import_lines WHERE source_id = \(id)", logger: logger)
            for try await (block, bits) in rows.decode((Int64, Int64).self) { lines.insert(block: block, bits: UInt64(bitPattern: bits)) }
            appliedLines[id] = lines
        }
    }

    // MARK: State, transactions, reconnecting

    /// Reads the sink's state: every partition's next offset and every account (other sinks' included: a
    /// partition claimed later brings its accounts along).
    private func load(_ connection: PostgresConnection) async throws {
        var offsets: [LedgerSink.PartitionKey: Int64] = [:]
        let offsetRows = try await connection.statement("SELECT topic, partition, next_offset FROM sink_offsets", logger: logger)
        for try await (topic, partition, next) in offsetRows.decode((String, Int32, Int64).self) {
            offsets[LedgerSink.PartitionKey(topic: topic, partition: partition)] = next
        }
        var loaded: [String: AccountState] = [:]
        let accountRows = try await connection.statement("""
            SELECT account, balance_cents, entries, deposits, withdrawals, deposited_cents, withdrawn_cents,
                   to_char(last_transaction_date, 'YYYY-MM-DD HH24:MI:SS')
            FROM account_balances
            """, logger: logger)
        for try await (account, balance, entries, deposits, withdrawals, deposited, withdrawn, last)
            in accountRows.decode((String, Int64, Int64, Int64, Int64, Int64, Int64, String?).self) {
            loaded[account] = AccountState(
                balance: Money(cents: balance), entries: Int(entries), deposits: Int(deposits), withdrawals: Int(withdrawals),
                deposited: Money(cents: deposited), withdrawn: Money(cents: withdrawn), lastDate: last.flatMap(TransactionDate.init(parsing:)))
        }
        nextOffsets = offsets
        accounts = loaded
        sourceIDs = [:]
        appliedLines = [:]
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    private func transaction<T>(_ connection: PostgresConnection, _ body: () async throws -> T) async throws -> T {
        try await connection.statement("BEGIN", logger: logger)
        do {
            let value = try await body()
            try await connection.statement("COMMIT", logger: logger)
            return value
        } catch {
            if !Self.isConnectionLost(error) { _ = try? await connection.statement("ROLLBACK", logger: logger) }
            throw error
        }
    }

    /// Runs `body` on the connection; when the connection is lost (or the server is restarting), connects again
    /// with backoff (100 ms doubling to 5 s, without end: a sink waits for its database), reads the state back and
    /// runs `body` again. Logs the outage once and the recovery.
    private func withReconnects<T>(_ what: String, checkRewind: Bool = false,
                                   _ body: (PostgresConnection) async throws -> T) async throws -> T {
        var backoffMs: UInt64 = 100
        var outageStarted: ContinuousClock.Instant?
        while true {
            do {
                let connection: PostgresConnection
                if let current = self.connection {
                    // Closed while the sink was idle (the server restarted between batches): an outage like any
                    // other, logged and waited out below, so the log shows every reconnect.
                    guard !current.isClosed else { throw ConnectionClosed() }
                    connection = current
                } else {
                    nextConnectionID += 1
                    connection = try await connector.connect(logger: logger, id: nextConnectionID)
                    self.connection = connection
                    let committed = nextOffsets
                    try await load(connection)
                    // What this sink committed must still be there; if not, the records after the stored offsets
                    // must be consumed again, or they would be skipped.
                    var behind: [TopicPartition: Int64] = [:]
                    for (key, next) in committed where (nextOffsets[key] ?? 0) < next {
                        behind[TopicPartition(topic: key.topic, partition: key.partition)] = nextOffsets[key] ?? 0
                    }
                    if checkRewind && !behind.isEmpty { throw LedgerStoreError.rewound(behind) }
                }
                let value = try await body(connection)
                if let outageStarted {
                    logger.notice("PostgreSQL is back: the sink resumed from its stored offsets", metadata: [
                        "database": "\(location)", "waitedMs": "\(Self.nanoseconds(since: outageStarted) / 1_000_000)"])
                }
                return value
            } catch {
                let transient = Self.isConnectionLost(error) || (error as? PostgresLedgerError)?.isTransient == true
                guard transient else { throw Self.describe(error, server: location) }
                if let current = self.connection {
                    try? await current.close()
                    self.connection = nil
                }
                if outageStarted == nil {
                    outageStarted = .now
                    logger.error("lost the PostgreSQL connection while \(what): reconnecting, nothing of the batch is lost", metadata: [
                        "database": "\(location)", "error": "\(Self.describe(error, server: location))"])
                }
                try await Task.sleep(nanoseconds: backoffMs * 1_000_000)
                backoffMs = min(backoffMs * 2, 5000)
            }
        }
    }

    static func nanoseconds(since start: ContinuousClock.Instant) -> Int64 {
        let (seconds, attoseconds) = start.duration(to: .now).components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// A failure that a new connection can get past: the connection closed or broke, the server shutting down,
    /// starting up or out of connections, a transaction the server ended after its timeout, a deadlock.
    static func isConnectionLost(_ error: any Error) -> Bool {
        if error is ConnectionClosed { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .serverClosedConnection, .connectionError, .uncleanShutdown, .clientClosedConnection:
            return true
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300" || state == "25P03" || state == "40P01"
                || state == "40001"
        default:
            return false
        }
    }

    /// A PostgreSQL error as a ``PostgresLedgerError`` that names the server (other errors as they are).
    static func describe(_ error: any Error, server: String) -> any Error {
        guard let psql = error as? PSQLError else { return error }
        let message = psql.serverInfo?[.message] ?? "\(psql.code)"
        let state = psql.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
        let detail = psql.serverInfo?[.detail].map { ": \($0)" } ?? ""
        return PostgresLedgerError.server(server, message + detail + state)
    }
}

/// The connection closed (the server went away) before a statement could be sent.
struct ConnectionClosed: Error, CustomStringConvertible {
    var description: String { "the connection to PostgreSQL closed" }
}

extension PostgresConnection {
    /// Runs a statement, only on an open connection. postgres-nio 1.33 drops a statement written after the
    /// connection closed (its channel pipeline is gone): the statement's promise or continuation is never completed,
    /// so the sink would wait forever (a debug build traps on the leaked promise). Seen when PostgreSQL restarted
    /// between two statements of a batch. Checking first, with the statements of a transaction sent back to back,
    /// turns that into an error the store reconnects after.
    @discardableResult
    func statement(_ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line) async throws -> PostgresRowSequence {
        try checkOpen()
        return try await self.query(query, logger: logger, file: file, line: line)
    }

    func checkOpen() throws {
        if isClosed { throw ConnectionClosed() }
    }
}
