import KafkaProtocol
import NIOCore
import SQLiteStore

/// A consumed record handed to the sink.
public struct SinkRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// The record value as it came off the wire (a slice of the fetch response: no copy per record).
    public var value: ByteBuffer?
    /// The file row the event came from (its ``EventSource/headerKey`` header), applied at most once.
    public var source: EventSource?

    public init(topic: String, partition: Int32, offset: Int64, value: ByteBuffer?, source: EventSource? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.value = value
        self.source = source
    }

    public init(topic: String, partition: Int32, offset: Int64, bytes: [UInt8], source: EventSource? = nil) {
        self.init(topic: topic, partition: partition, offset: offset, value: ByteBuffer(bytes: bytes), source: source)
    }
}

/// What one `apply` did.
public struct ApplyReport: Sendable, Equatable {
    public var applied = 0
    /// Records below the stored offset (delivered again after a restart): skipped, never applied twice.
    public var duplicates = 0
    /// Events from a file row already applied (the same file imported again): skipped, never applied twice.
    public var alreadyImported = 0
    public var rejected = 0
    /// The rejected records by kind of decoding error (kinds with none are absent).
    public var rejectedByKind: [RejectionKind: Int] = [:]
    public var mismatches = 0
    public var negativeBalances = 0

    public init() {}

    public static func += (lhs: inout ApplyReport, rhs: ApplyReport) {
        lhs.applied += rhs.applied
        lhs.duplicates += rhs.duplicates
        lhs.alreadyImported += rhs.alreadyImported
        lhs.rejected += rhs.rejected
        lhs.rejectedByKind.merge(rhs.rejectedByKind, uniquingKeysWith: +)
        lhs.mismatches += rhs.mismatches
        lhs.negativeBalances += rhs.negativeBalances
    }
}

/// The Kafka-Connect-style SQLite sink: applies consumed transaction events exactly once.
///
/// Each `apply` is one SQLite transaction holding the rows *and* the next offset of every partition it touched, so
/// after a crash at any moment the database holds exactly the records up to the stored offsets, and consumption
/// resumes from there: no loss, no duplicates. Balances are derived from the stream in partition order (opening
/// balance 0; deposits add, withdrawals subtract). A stated balance that disagrees with the derived one, and a
/// balance below zero, are applied and recorded in `reconciliation_issues` rather than trusted or refused silently.
///
/// Not thread-safe: one owner.
public final class LedgerSink {
    public struct PartitionKey: Hashable, Sendable {
        public var topic: String
        public var partition: Int32

        public init(topic: String, partition: Int32) {
            self.topic = topic
            self.partition = partition
        }
    }

    let database: SQLiteDatabase
    /// Where committed batches are counted (and, through the runner and checkpointer, lag and checkpoints).
    let metrics: SinkMetrics
    /// Next offset to apply per partition (from `sink_offsets`).
    public private(set) var nextOffsets: [PartitionKey: Int64] = [:]
    private var accounts: [String: AccountState] = [:]
    /// The owner generation this sink holds per claimed partition (see ``claim(_:owner:)``); empty until a claim.
    public private(set) var claimed: [PartitionKey: Int64] = [:]
    /// Entries' rows, inserted `rowsPerInsert` at a time.
    private let entries: GroupedInsert
    private static let rowsPerInsert = 64
    /// Imported files' ids by digest (`import_sources`).
    private var sourceIDs: [String: Int64] = [:]
    /// The lines of each imported file applied so far, loaded on first use from `import_lines`.
    private var appliedLines: [Int64: LineSet] = [:]
    private let insertSource: Statement
    private let selectSource: Statement
    /// Whether a source id is still in `import_sources`: each batch checks its files' ids once (see `init`).
    private let sourceExists: Statement
    private let selectSourceLines: Statement
    private let markLines: Statement
    private let selectOwner: Statement
    private let claimOwner: Statement
    /// Entries decoded but not yet inserted (up to `rowsPerInsert`).
    private var staged: [StagedEntry] = []
    /// The records of the batch being applied, which staged rows name by index; empty between batches.
    private var batch = UnsafeBufferPointer<DecodedRecord>(start: nil, count: 0)
    /// Reconciliation issues' rows, inserted `rowsPerInsert` at a time (a random walk flags about every other row).
    private let issues: GroupedInsert
    /// Issues found but not yet inserted (up to `rowsPerInsert`).
    private var stagedIssues: [StagedIssue] = []
    private let insertRejected: Statement
    private let upsertOffset: Statement
    private let upsertBalance: Statement

    public init(database: SQLiteDatabase, metrics: SinkMetrics = .disabled) throws {
        self.database = database
        self.metrics = metrics
        // The schema's one foreign key, `ledger_postings.source_id` to `import_sources`, is checked once per batch for
        // each file the batch names (`checkSourcesExist`), not by SQLite for every row: its check opens a cursor on
        // `import_sources` and searches it per inserted row (measured: about 1,000 instructions a row, a ninth of the
        // writer thread). Only sinks write entries (several may share the ledger, each checking its own batches), and
        // every id a sink writes comes from `sourceID(for:)`. The constraint stays in the schema: `PRAGMA
        // foreign_key_check` and other connections still see it.
        try database.execute("PRAGMA foreign_keys = OFF")
        // No entry id: SQLite numbers each row one past the largest (it keeps its cursor at the table's end, so that
        // costs no search), where an explicit id needs a uniqueness check per row (measured: a fifth of the insert).
        entries = try GroupedInsert(database, "INSERT INTO ledger_postings", shared: ["topic", "partition", "source_id"], columns: [
            "offset", "amount_cents", "balance_cents", "stated_balance_cents", "source_line", "transaction_date", "account",
            "transaction_type",
        ], groupSize: Self.rowsPerInsert)
        insertSource = try database.prepare("INSERT INTO import_sources (file_digest) VALUES (?)")
        selectSource = try database.prepare("SELECT source_id FROM import_sources WHERE file_digest = ?")
        sourceExists = try database.prepare("SELECT 1 FROM import_sources WHERE source_id = ?")
        selectOwner = try database.prepare("SELECT owner_generation, owner FROM sink_partition_owners WHERE topic = ? AND partition = ?")
        claimOwner = try database.prepare("""
            INSERT INTO sink_partition_owners (topic, partition, owner_generation, owner, claimed_at)
            VALUES (?, ?, 1, ?, strftime('%Y-%m-%d %H:%M:%f', 'now'))
            ON CONFLICT (topic, partition) DO UPDATE SET owner_generation = owner_generation + 1, owner = excluded.owner,
                                                         claimed_at = excluded.claimed_at
            RETURNING owner_generation
            """)
        selectSourceLines = try database.prepare("SELECT block, bits FROM import_lines WHERE source_id = ?")
        // Sets a block's lines, unless one of them is set already (then no row changes: see `markImported`).
        markLines = try database.prepare("""
            INSERT INTO import_lines (source_id, block, bits) VALUES (?, ?, ?)
            ON CONFLICT (source_id, block) DO UPDATE SET bits = bits | excluded.bits WHERE (bits & excluded.bits) = 0
            """)
        issues = try GroupedInsert(database, "INSERT INTO reconciliation_issues", shared: ["topic", "partition"], columns: [
            "offset", "kind", "account", "transaction_date", "stated_balance_cents", "derived_balance_cents",
        ], groupSize: Self.rowsPerInsert)
        insertRejected = try database.prepare(
            "INSERT OR REPLACE INTO rejected_records (topic, partition, offset, reason, value) VALUES (?, ?, ?, ?, ?)")
        upsertOffset = try database.prepare("""
            INSERT INTO sink_offsets (topic, partition, next_offset, updated_at) VALUES (?, ?, ?, strftime('%Y-%m-%d %H:%M:%f', 'now'))
            ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at
            """)
        upsertBalance = try database.prepare("""
            INSERT OR REPLACE INTO account_balances (account, balance_cents, entries, deposits, withdrawals, deposited_cents,
                                                     withdrawn_cents, last_transaction_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        try load()
        metrics.databaseOpened()
    }

    private func load() throws {
        let offsets = try database.prepare("SELECT topic, partition, next_offset FROM sink_offsets")
        nextOffsets = [:]
        while try offsets.step() {
            nextOffsets[PartitionKey(topic: offsets.string(0) ?? "", partition: Int32(offsets.int64(1)))] = offsets.int64(2)
        }
        let balances = try database.prepare("""
            SELECT account, balance_cents, entries, deposits, withdrawals, deposited_cents, withdrawn_cents, last_transaction_date
            FROM account_balances
            """)
        accounts = [:]
        while try balances.step() {
            accounts[balances.string(0) ?? ""] = AccountState(
                balance: Money(cents: balances.int64(1)), entries: balances.int(2), deposits: balances.int(3),
                withdrawals: balances.int(4), deposited: Money(cents: balances.int64(5)), withdrawn: Money(cents: balances.int64(6)),
                lastDate: balances.string(7).flatMap(TransactionDate.init(parsing:)))
        }
        sourceIDs = [:]
        appliedLines = [:]
    }

    /// The id of an imported file: known, created by another sink meanwhile, or inserted in the open transaction
    /// (listed in `created`, forgotten if it rolls back).
    private func sourceID(for digest: String, created: inout [String]) throws -> Int64 {
        if let id = sourceIDs[digest] { return id }
        try selectSource.bind(1, digest)
        defer { selectSource.reset() }
        let id: Int64
        if try selectSource.step() {
            id = selectSource.int64(0)
        } else {
            try insertSource.bind(1, digest)
            try insertSource.run()
            id = database.lastInsertRowID
            created.append(digest)
        }
        sourceIDs[digest] = id
        return id
    }

    /// The lines of an imported file applied so far (read from `import_lines` on first use).
    private func appliedLines(of id: Int64) throws -> LineSet {
        var lines = LineSet()
        try selectSourceLines.bind(1, id)
        defer { selectSourceLines.reset() }
        while try selectSourceLines.step() {
            lines.insert(block: selectSourceLines.int64(0), bits: UInt64(bitPattern: selectSourceLines.int64(1)))
        }
        return lines
    }

    /// Sets the batch's imported lines in `import_lines`. A line already set there means this sink's cache of
    /// applied lines was stale (another sink of a group applied rows of the same file): the batch rolls back and is
    /// decided again from the stored lines.
    private func markImported(_ lines: [Int64: LineSet]) throws {
        for (source, set) in lines {
            for (block, bits) in set.blocks {
                try markLines.bind(1, source)
                try markLines.bind(2, block)
                try markLines.bind(3, Int64(bitPattern: bits))
                try markLines.run()
                if database.changes != 1 { throw ImportedLinesChanged() }
            }
        }
    }

    /// See ``markImported(_:)``.
    struct ImportedLinesChanged: Error {}

    /// Fails the batch with ``SourceRemoved`` if one of the files it applies rows of is no longer in
    /// `import_sources`: the check SQLite's foreign key would have made per row (see `init`), once per file.
    private func checkSourcesExist(_ ids: some Sequence<Int64>) throws {
        for id in ids {
            try sourceExists.bind(1, id)
            defer { sourceExists.reset() }
            guard try sourceExists.step() else { throw SourceRemoved() }
        }
    }

    /// A file's row in `import_sources` was deleted after this sink cached its id (by hand, from another
    /// connection): the batch is decided again with every id looked up in the new transaction.
    struct SourceRemoved: Error {}

    /// Takes ownership of `partitions` for `owner` (a sink's name): each one's owner generation goes up by one in the
    /// database, so a sink that held it before can no longer commit (its batches check their generation in the same
    /// transaction). Partitions not named are no longer this sink's. The sink's state is read again, since other
    /// sinks may have written meanwhile. Returns the next offset to apply per partition (missing: from the
    /// beginning).
    public func claim(_ partitions: [TopicPartition], owner: String) throws -> [TopicPartition: Int64] {
        var generations: [PartitionKey: Int64] = [:]
        do {
            try database.execute("BEGIN IMMEDIATE")
            for partition in partitions {
                try claimOwner.bind(1, partition.topic)
                try claimOwner.bind(2, Int64(partition.partition))
                try claimOwner.bind(3, owner)
                guard try claimOwner.step() else { preconditionFailure("INSERT … RETURNING returned no row") }
                generations[PartitionKey(topic: partition.topic, partition: partition.partition)] = claimOwner.int64(0)
                claimOwner.reset()
            }
            try database.execute("COMMIT")
        } catch {
            claimOwner.reset()
            try? database.execute("ROLLBACK")
            throw error
        }
        claimed = generations
        try load()
        var resume: [TopicPartition: Int64] = [:]
        for partition in partitions {
            if let next = nextOffsets[PartitionKey(topic: partition.topic, partition: partition.partition)] { resume[partition] = next }
        }
        return resume
    }

    /// Fails the open transaction's batch with ``LedgerStoreError/fenced(_:owners:)`` if another sink claimed one of
    /// its partitions since this one did. Nothing is checked before the first claim (a lone sink, as in tests).
    private func checkOwnership(of records: [DecodedRecord]) throws {
        guard !claimed.isEmpty else { return }
        var checked: Set<PartitionKey> = []
        var lost: [TopicPartition] = []
        var owners: [String] = []
        var last = PartitionKey(topic: "", partition: -1)
        // Read in place: `for decoded in records` copied every record (its strings retained and released).
        try records.withUnsafeBufferPointer { rows in
            for row in rows.indices {
                // Records come in runs per partition: one set insert per run.
                guard rows[row].record.partition != last.partition || rows[row].record.topic != last.topic else { continue }
                let key = PartitionKey(topic: rows[row].record.topic, partition: rows[row].record.partition)
                last = key
                guard checked.insert(key).inserted else { continue }
                try selectOwner.bind(1, key.topic)
                try selectOwner.bind(2, Int64(key.partition))
                let current: (generation: Int64, owner: String)? = try selectOwner.step() ? (selectOwner.int64(0), selectOwner.string(1) ?? "") : nil
                selectOwner.reset()
                if claimed[key] == nil || current?.generation != claimed[key] {
                    lost.append(TopicPartition(topic: key.topic, partition: key.partition))
                    if let current { owners.append(current.owner) }
                }
            }
        }
        if !lost.isEmpty { throw LedgerStoreError.fenced(lost.sorted(), owners: owners) }
    }

    /// Where to resume a partition: the stored next offset, or nil if nothing was applied yet.
    public func resumeOffset(topic: String, partition: Int32) -> Int64? {
        nextOffsets[PartitionKey(topic: topic, partition: partition)]
    }

    public func balance(of account: String) -> Money? { accounts[account]?.balance }

    /// A consumed record with its value decoded (or the reason it is not an event). Decoding needs no database, so
    /// the sink runner does it on the consuming side while the previous batch is being written.
    ///
    /// The record's value is kept only when it is not an event (`rejected_records` shows it): an event's bytes are
    /// let go, so a batch waiting to be written does not hold on to the fetch responses it came in.
    public struct DecodedRecord: Sendable {
        public var record: SinkRecord
        public var event: Result<TransactionEvent, TransactionEvent.DecodeError>

        public init(_ record: SinkRecord) {
            self.record = record
            if let value = record.value {
                event = Result { () throws(TransactionEvent.DecodeError) in try TransactionEvent(json: value) }
                if case .success = event { self.record.value = nil }
            } else {
                event = .failure(.notJSON("the record has no value"))
            }
        }
    }

    /// Applies records in order, in one transaction with their partitions' next offsets.
    public func apply(_ records: [SinkRecord]) throws -> ApplyReport {
        let started = ContinuousClock.now
        let decoded = records.map(DecodedRecord.init)
        return try apply(decoded: decoded, decodeNanoseconds: started.duration(to: .now).nanoseconds)
    }

    /// The same for records already decoded (`decodeNanoseconds`: the time that took, counted in the batch's duration).
    public func apply(decoded records: [DecodedRecord], decodeNanoseconds: Int64 = 0) throws -> ApplyReport {
        guard !records.isEmpty else { return ApplyReport() }
        do {
            return try applyOnce(records, decodeNanoseconds: decodeNanoseconds)
        } catch is ImportedLinesChanged {
            // Decided again with every file's lines read in the new transaction: they cannot have changed under it.
            appliedLines = [:]
            return try applyOnce(records, decodeNanoseconds: decodeNanoseconds)
        } catch is SourceRemoved {
            // The same, with the files' ids too (a removed file is registered again).
            sourceIDs = [:]
            appliedLines = [:]
            return try applyOnce(records, decodeNanoseconds: decodeNanoseconds)
        }
    }

    private func applyOnce(_ records: [DecodedRecord], decodeNanoseconds: Int64) throws -> ApplyReport {
        let started = ContinuousClock.now
        var changedOffsets: [(TopicPartition, Int64)] = []
        var commitNanoseconds: Int64 = 0
        var planner = LedgerBatchPlanner(offsets: nextOffsets, accounts: accounts, appliedLines: appliedLines)
        staged.removeAll(keepingCapacity: true)
        stagedIssues.removeAll(keepingCapacity: true)
        // Forgotten if the transaction rolls back: sources created in this batch.
        var createdSources: [String] = []
        do {
            try database.execute("BEGIN IMMEDIATE")
            try checkOwnership(of: records)
            // Staged rows name their record by its index in the batch, read in place while they are inserted, so no
            // record is copied (measured: copies of records and decisions were about a tenth of the transaction).
            try records.withUnsafeBufferPointer { rows in
                batch = rows
                defer { batch = UnsafeBufferPointer(start: nil, count: 0) }
                for row in rows.indices {
                    let decision = try planner.decide(at: rows.baseAddress! + row,
                                                      sourceID: { try sourceID(for: $0, created: &createdSources) },
                                                      appliedLinesOf: { try appliedLines(of: $0) })
                    // Consumed: binding the entry out of a decision still alive copied and destroyed it.
                    switch consume decision {
                    case .skip:
                        continue
                    case .reject(let reason):
                        try reject(rows[row].record, reason: reason)
                    case .apply(let entry):
                        staged.append(StagedEntry(row: row, event: entry.event, balance: entry.balance, source: entry.source))
                        if staged.count == Self.rowsPerInsert { try insertStaged() }
                        if entry.isMismatch {
                            try stageIssue(StagedIssue(row: row, event: entry.event, kind: "balance_mismatch",
                                                       stated: entry.event.statedBalance, derived: entry.balance))
                        }
                        if entry.isNegative {
                            try stageIssue(StagedIssue(row: row, event: entry.event, kind: "negative_balance",
                                                       stated: entry.event.statedBalance, derived: entry.balance))
                        }
                    }
                }
                try insertStaged()
                try insertStagedIssues()
            }
            let newLines = planner.takeNewLines()
            try checkSourcesExist(newLines.keys)
            try markImported(newLines)
            for (key, next) in planner.finish(since: nextOffsets) {
                try upsertOffset.bind(1, key.topic)
                try upsertOffset.bind(2, Int64(key.partition))
                try upsertOffset.bind(3, next)
                try upsertOffset.run()
                if metrics.isEnabled { changedOffsets.append((TopicPartition(topic: key.topic, partition: key.partition), next)) }
            }
            for (account, _) in planner.touched {
                let state = planner.accounts[account]!
                try upsertBalance.bind(1, account)
                try upsertBalance.bind(2, state.balance.cents)
                try upsertBalance.bind(3, state.entries)
                try upsertBalance.bind(4, state.deposits)
                try upsertBalance.bind(5, state.withdrawals)
                try upsertBalance.bind(6, state.deposited.cents)
                try upsertBalance.bind(7, state.withdrawn.cents)
                try upsertBalance.bind(8, state.lastDate?.description)
                try upsertBalance.run()
            }
            let committing = ContinuousClock.now
            try database.execute("COMMIT")
            commitNanoseconds = committing.duration(to: .now).nanoseconds
        } catch {
            try? database.execute("ROLLBACK")
            for statement in entries.statements + issues.statements + [insertRejected,
                              upsertOffset, upsertBalance, insertSource, selectSource, sourceExists, selectSourceLines, markLines, selectOwner] {
                statement.reset()
            }
            staged.removeAll(keepingCapacity: true)
            stagedIssues.removeAll(keepingCapacity: true)
            for digest in createdSources { sourceIDs.removeValue(forKey: digest) }
            throw error
        }
        nextOffsets = planner.offsets
        accounts = planner.accounts
        appliedLines = planner.appliedLines
        let report = planner.report
        metrics.committed(report, offsets: changedOffsets,
                          batchNanoseconds: decodeNanoseconds + started.duration(to: .now).nanoseconds,
                          commitNanoseconds: commitNanoseconds)
        return report
    }

    /// A row waiting for its group's insert: what decides whether the group binds its shared columns once.
    protocol StagedRow {
        /// The record's index in the batch being applied (``batch``).
        var row: Int { get }
        var event: TransactionEvent { get }
        /// The imported file's id, if the row came from one.
        var sourceID: Int64? { get }
    }

    /// Whether the rows all have the first one's topic, partition and file. Read in place: through the array's
    /// subscript each comparison copied whole rows (measured: about 900 instructions a row).
    @inline(__always)
    private func shareColumns<Row: StagedRow>(_ rows: [Row]) -> Bool {
        rows.withUnsafeBufferPointer { rows in
            guard let first = rows.first else { return true }
            return rows.indices.dropFirst().allSatisfy {
                batch[rows[$0].row].record.partition == batch[first.row].record.partition && rows[$0].sourceID == first.sourceID
                    && batch[rows[$0].row].record.topic == batch[first.row].record.topic
            }
        }
    }

    /// An applied entry waiting for its rows to be inserted.
    struct StagedEntry: StagedRow {
        var row: Int
        var event: TransactionEvent
        var balance: Money
        var source: (id: Int64, line: Int64)?
        var sourceID: Int64? { source?.id }
    }

    /// Inserts the staged entries (a full group at once, the end of a batch row by row).
    private func insertStaged() throws(SQLiteError) {
        try flush(&staged, into: entries, bindShared: bindShared, bind: bind)
    }

    /// Inserts `rows` with `insert` and empties them.
    @inline(__always)
    private func flush<Row: StagedRow>(
        _ rows: inout [Row], into insert: GroupedInsert,
        bindShared: (Row, Statement, Int32) throws(SQLiteError) -> Void, bind: (Row, Statement, Int32) throws(SQLiteError) -> Void
    ) throws(SQLiteError) {
        defer { rows.removeAll(keepingCapacity: true) }
        // Per row at most: the date (19), the account and the topic.
        try insert.insert(
            rows, sharedAgree: shareColumns(rows), textBytes: { 32 + $0.event.account.utf8.count + batch[$0.row].record.topic.utf8.count },
            bindShared: bindShared, bind: bind)
    }

    /// Binds one entry's shared `ledger_postings` columns (its partition and file) to `statement` from parameter
    /// `base + 1`.
    private func bindShared(_ staged: StagedEntry, to statement: Statement, from base: Int32) throws(SQLiteError) {
        try statement.bindUnsafeNoCopy(base + 1, utf8: entries.arena.store(batch[staged.row].record.topic))
        try statement.bind(base + 2, Int64(batch[staged.row].record.partition))
        if let source = staged.source { try statement.bind(base + 3, source.id) } else { try statement.bindNull(base + 3) }
    }

    /// Binds one entry's other `ledger_postings` columns to `statement` from parameter `base + 1`.
    private func bind(_ staged: StagedEntry, to statement: Statement, from base: Int32) throws(SQLiteError) {
        let event = staged.event
        let arena = entries.arena
        try statement.bind(base + 1, batch[staged.row].record.offset)
        try statement.bind(base + 2, event.amount.cents)
        try statement.bind(base + 3, staged.balance.cents)
        if let stated = event.statedBalance { try statement.bind(base + 4, stated.cents) } else { try statement.bindNull(base + 4) }
        if let source = staged.source { try statement.bind(base + 5, source.line) } else { try statement.bindNull(base + 5) }
        try statement.bindUnsafeNoCopy(base + 6, utf8: event.date.withText { arena.store($0) })
        try statement.bindUnsafeNoCopy(base + 7, utf8: arena.store(event.account))
        try statement.bindUnsafeNoCopy(base + 8, utf8: event.type == .deposit ? Self.depositText : Self.withdrawalText)
    }

    /// The type names, in static storage (bound without copies).
    private static var depositText: UnsafeBufferPointer<UInt8> { staticText("deposit") }
    private static var withdrawalText: UnsafeBufferPointer<UInt8> { staticText("withdrawal") }
    private static func staticText(_ text: StaticString) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// A reconciliation issue waiting to be inserted.
    struct StagedIssue: StagedRow {
        var row: Int
        var event: TransactionEvent
        var kind: StaticString
        var stated: Money?
        var derived: Money
        /// Issues carry no file column.
        var sourceID: Int64? { nil }
    }

    /// Stages one reconciliation issue; a full group is inserted at once (a random walk flags about every other row:
    /// one statement step per 64 issues instead of per issue, and no string is built for one).
    private func stageIssue(_ issue: StagedIssue) throws(SQLiteError) {
        stagedIssues.append(issue)
        if stagedIssues.count == Self.rowsPerInsert { try insertStagedIssues() }
    }

    /// Inserts the staged issues (a full group at once, the end of a batch row by row).
    private func insertStagedIssues() throws(SQLiteError) {
        try flush(&stagedIssues, into: issues, bindShared: bindShared, bind: bind)
    }

    /// Binds one issue's shared columns (its partition) to `statement` from parameter `base + 1`.
    private func bindShared(_ issue: StagedIssue, to statement: Statement, from base: Int32) throws(SQLiteError) {
        try statement.bindUnsafeNoCopy(base + 1, utf8: issues.arena.store(batch[issue.row].record.topic))
        try statement.bind(base + 2, Int64(batch[issue.row].record.partition))
    }

    /// Binds one issue's other columns to `statement` from parameter `base + 1`.
    private func bind(_ issue: StagedIssue, to statement: Statement, from base: Int32) throws(SQLiteError) {
        let arena = issues.arena
        try statement.bind(base + 1, batch[issue.row].record.offset)
        try statement.bindUnsafeNoCopy(base + 2, utf8: Self.staticText(issue.kind))
        try statement.bindUnsafeNoCopy(base + 3, utf8: arena.store(issue.event.account))
        try statement.bindUnsafeNoCopy(base + 4, utf8: issue.event.date.withText { arena.store($0) })
        if let stated = issue.stated { try statement.bind(base + 5, stated.cents) } else { try statement.bindNull(base + 5) }
        try statement.bind(base + 6, issue.derived.cents)
    }

    private func reject(_ record: SinkRecord, reason: String) throws {
        try insertRejected.bind(1, record.topic)
        try insertRejected.bind(2, Int64(record.partition))
        try insertRejected.bind(3, record.offset)
        try insertRejected.bind(4, reason)
        try insertRejected.bind(5, record.value.map { String(decoding: $0.readableBytesView.prefix(4096), as: UTF8.self) })
        try insertRejected.run()
    }
}

/// Line sets by imported file (source id). Rows mostly come from one file in runs: the current file's set is kept
/// aside and filed when the file changes, so a row costs a bit set, not dictionary accesses. Used for the lines a batch
/// applies and for the lines applied so far.
struct LinesBySource {
    private var sets: [Int64: LineSet]
    private var current: (source: Int64, lines: LineSet)?

    init(_ sets: [Int64: LineSet] = [:]) {
        self.sets = sets
    }

    /// Inserts `line` of `source`; false if it was there already. A source met for the first time starts from
    /// `loading` it.
    mutating func insert(_ line: Int64, of source: Int64, loading: (Int64) throws -> LineSet) rethrows -> Bool {
        if current?.source != source {
            if let current { sets[current.source] = current.lines }
            current = (source, try sets.removeValue(forKey: source) ?? loading(source))
        }
        return current!.lines.insert(line)
    }

    /// Every source's lines.
    var all: [Int64: LineSet] {
        guard let current else { return sets }
        var all = sets
        all[current.source] = current.lines
        return all
    }
}

/// A set of line numbers as a sparse bitmap: 64 lines per word, words kept by index, so a file of a million rows
/// costs about 16,000 words, and a line number from a record header, however large, costs one word.
///
/// The word of the last line inserted stays out of the dictionary: a file's rows come in order, so 64 inserts in a
/// row touch one word, and the dictionary is written once per word instead of read and written once per line.
public struct LineSet: Sendable {
    public init() {}

    private var words: [Int64: UInt64] = [:]
    /// The word last inserted into, not in `words` while it is here.
    private var recent: (index: Int64, bits: UInt64)?

    /// Inserts `line`; false if it was already there.
    public mutating func insert(_ line: Int64) -> Bool {
        let (word, bit) = (line >> 6, UInt64(1) << UInt64(line & 63))
        if recent?.index != word {
            if let recent { words[recent.index] = recent.bits }
            recent = (word, words.removeValue(forKey: word) ?? 0)
        }
        if recent!.bits & bit != 0 { return false }
        recent!.bits |= bit
        return true
    }

    /// The set as words: block (line / 64) → bits (line % 64), for a store that keeps it as such.
    public var blocks: [Int64: UInt64] {
        guard let recent else { return words }
        var all = words
        all[recent.index] = recent.bits
        return all
    }

    /// Adds the lines of a stored block.
    public mutating func insert(block: Int64, bits: UInt64) {
        if recent?.index == block { recent!.bits |= bits } else { words[block, default: 0] |= bits }
    }

    public func contains(_ line: Int64) -> Bool {
        let word = line >> 6
        let bits = recent?.index == word ? recent!.bits : words[word] ?? 0
        return bits & (UInt64(1) << UInt64(line & 63)) != 0
    }

    public mutating func remove(_ line: Int64) {
        let (word, bit) = (line >> 6, UInt64(1) << UInt64(line & 63))
        if recent?.index == word { recent!.bits &= ~bit } else { words[word]? &= ~bit }
    }
}

/// Bytes that stay where they are until the statements binding them have run, so texts can be bound without SQLite
/// copying them (an allocation and a copy per value otherwise). Filled for one group of rows, then reset.
final class TextArena {
    private var storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 8)
    private var used = 0

    deinit { storage.deallocate() }

    /// Empties the arena, with room for at least `minimumCapacity` bytes. Invalidates everything stored before.
    func reset(minimumCapacity: Int) {
        used = 0
        if storage.count < minimumCapacity {
            storage.deallocate()
            storage = UnsafeMutableRawBufferPointer.allocate(byteCount: minimumCapacity, alignment: 8)
        }
    }

    /// Copies `bytes` in; the result stays valid until the next `reset`. Overflowing the reserved room is a bug.
    func store(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        precondition(used + bytes.count <= storage.count, "TextArena: reserve room with reset(minimumCapacity:) first")
        let destination = storage.baseAddress! + used
        if let source = bytes.baseAddress { destination.copyMemory(from: source, byteCount: bytes.count) }
        used += bytes.count
        return UnsafeBufferPointer(start: destination.assumingMemoryBound(to: UInt8.self), count: bytes.count)
    }

    func store(_ text: String) -> UnsafeBufferPointer<UInt8> {
        var text = text
        return text.withUTF8 { store($0) }
    }
}
