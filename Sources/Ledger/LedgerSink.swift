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

    /// An account's running state, as stored in `account_balances`.
    struct AccountState {
        var balance = Money.zero
        var entries = 0
        var deposits = 0
        var withdrawals = 0
        var deposited = Money.zero
        var withdrawn = Money.zero
        var lastDate: TransactionDate?
        /// Changed in the batch being applied (so its row is rewritten at commit).
        var dirty = false

        mutating func apply(_ event: TransactionEvent) {
            entries += 1
            switch event.type {
            case .deposit:
                balance = balance + event.amount
                deposits += 1
                deposited = deposited + event.amount
            case .withdrawal:
                balance = balance - event.amount
                withdrawals += 1
                withdrawn = withdrawn + event.amount
            }
            lastDate = event.date
        }
    }

    let database: SQLiteDatabase
    /// Where committed batches are counted (and, through the runner and checkpointer, lag and checkpoints).
    let metrics: SinkMetrics
    /// Next offset to apply per partition (from `sink_offsets`).
    public private(set) var nextOffsets: [PartitionKey: Int64] = [:]
    private var accounts: [String: AccountState] = [:]
    /// The rowid the next entry gets in both `ledger_postings` and `transactions`.
    private var nextEntryID: Int64 = 1
    private let insertOriginal: Statement
    private let insertEntry: Statement
    /// The same inserts for `rowsPerInsert` rows at once: one statement step per 64 rows instead of per row, which
    /// is a large share of SQLite's per-row cost.
    private let insertOriginalRows: Statement
    private let insertEntryRows: Statement
    private static let rowsPerInsert = 64
    private static let postingColumns = 9
    /// Imported files' ids by digest (`import_sources`).
    private var sourceIDs: [String: Int64] = [:]
    /// The lines of each imported file applied so far, loaded on first use from the unique index.
    private var appliedLines: [Int64: LineSet] = [:]
    private let insertSource: Statement
    private let selectSourceLines: Statement
    /// Entries decoded but not yet inserted (up to `rowsPerInsert`).
    private var staged: [StagedEntry] = []
    /// Where the staged entries' texts are bound from.
    private let arena = TextArena()
    private let insertIssue: Statement
    private let insertRejected: Statement
    private let upsertOffset: Statement
    private let upsertBalance: Statement

    public init(database: SQLiteDatabase, metrics: SinkMetrics = .disabled) throws {
        self.database = database
        self.metrics = metrics
        // Explicit rowids: the two rows of an entry share one, and ids only grow, so both inserts append.
        insertOriginal = try database.prepare("""
            INSERT INTO transactions (rowid, transaction_date, account, transaction_value, balance, transaction_type)
            VALUES (?, ?, ?, ?, ?, ?)
            """)
        insertEntry = try database.prepare("""
            INSERT INTO ledger_postings (entry_id, topic, partition, offset, amount_cents, balance_cents, stated_balance_cents,
                                         source_id, source_line)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        func values(_ columns: Int) -> String {
            Array(repeating: "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")", count: Self.rowsPerInsert)
                .joined(separator: ", ")
        }
        insertOriginalRows = try database.prepare("""
            INSERT INTO transactions (rowid, transaction_date, account, transaction_value, balance, transaction_type)
            VALUES \(values(6))
            """)
        insertEntryRows = try database.prepare("""
            INSERT INTO ledger_postings (entry_id, topic, partition, offset, amount_cents, balance_cents, stated_balance_cents,
                                         source_id, source_line)
            VALUES \(values(Self.postingColumns))
            """)
        insertSource = try database.prepare("INSERT INTO import_sources (source_id, file_digest) VALUES (?, ?)")
        selectSourceLines = try database.prepare("SELECT source_line FROM ledger_postings WHERE source_id = ?")
        insertIssue = try database.prepare("""
            INSERT OR REPLACE INTO reconciliation_issues (topic, partition, offset, kind, account, transaction_date,
                                                         stated_balance_cents, derived_balance_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
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
        // Past both tables' ends: a `transactions` table the original pipeline filled keeps its rows untouched.
        let last = try database.prepare(
            "SELECT MAX(COALESCE((SELECT MAX(entry_id) FROM ledger_postings), 0), COALESCE((SELECT MAX(rowid) FROM transactions), 0))")
        _ = try last.step()
        nextEntryID = last.int64(0) + 1
        let sources = try database.prepare("SELECT source_id, file_digest FROM import_sources")
        sourceIDs = [:]
        appliedLines = [:]
        while try sources.step() { sourceIDs[sources.string(1) ?? ""] = sources.int64(0) }
    }

    /// The id of an imported file (new ones are inserted in the open transaction and listed in `created`), with its
    /// applied lines loaded.
    private func sourceID(for digest: String, created: inout [String]) throws -> Int64 {
        if let id = sourceIDs[digest] {
            if appliedLines[id] == nil {
                var lines = LineSet()
                try selectSourceLines.bind(1, id)
                while try selectSourceLines.step() { _ = lines.insert(selectSourceLines.int64(0)) }
                selectSourceLines.reset()
                appliedLines[id] = lines
            }
            return id
        }
        let id = (sourceIDs.values.max() ?? 0) + 1
        try insertSource.bind(1, id)
        try insertSource.bind(2, digest)
        try insertSource.run()
        sourceIDs[digest] = id
        appliedLines[id] = LineSet()
        created.append(digest)
        return id
    }

    /// Where to resume a partition: the stored next offset, or nil if nothing was applied yet.
    public func resumeOffset(topic: String, partition: Int32) -> Int64? {
        nextOffsets[PartitionKey(topic: topic, partition: partition)]
    }

    public func balance(of account: String) -> Money? { accounts[account]?.balance }

    /// A consumed record with its value decoded (or the reason it is not an event). Decoding needs no database, so
    /// the sink runner does it on the consuming side while the previous batch is being written.
    public struct DecodedRecord: Sendable {
        public var record: SinkRecord
        public var event: Result<TransactionEvent, TransactionEvent.DecodeError>

        public init(_ record: SinkRecord) {
            self.record = record
            if let value = record.value {
                event = Result { () throws(TransactionEvent.DecodeError) in try TransactionEvent(json: value) }
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
        var report = ApplyReport()
        guard !records.isEmpty else { return report }
        let started = ContinuousClock.now
        var changedOffsets: [(TopicPartition, Int64)] = []
        var commitNanoseconds: Int64 = 0
        var offsets = nextOffsets
        var working = accounts
        var touched: [String] = []
        var entryID = nextEntryID
        staged.removeAll(keepingCapacity: true)
        // Undone if the transaction rolls back: sources created and lines marked applied in this batch.
        var createdSources: [String] = []
        var markedLines: [(source: Int64, line: Int64)] = []
        do {
            try database.execute("BEGIN IMMEDIATE")
            // The current partition's key and next offset, looked up once per run of records from one partition.
            var key = PartitionKey(topic: "", partition: -1)
            var next: Int64?
            for decoded in records {
                let record = decoded.record
                if record.partition != key.partition || record.topic != key.topic {
                    if key.partition >= 0 { offsets[key] = next }
                    key = PartitionKey(topic: record.topic, partition: record.partition)
                    next = offsets[key]
                }
                if let next, record.offset < next {
                    report.duplicates += 1
                    continue
                }
                next = record.offset + 1
                let event: TransactionEvent
                switch decoded.event {
                case .success(let decodedEvent):
                    event = decodedEvent
                case .failure(let error):
                    try reject(record, reason: error.description)
                    report.rejected += 1
                    report.rejectedByKind[error.kind, default: 0] += 1
                    continue
                }
                var source: (id: Int64, line: Int64)?
                if let origin = record.source {
                    let id = try sourceID(for: origin.fileDigest, created: &createdSources)
                    if !appliedLines[id, default: LineSet()].insert(origin.line) {
                        report.alreadyImported += 1
                        continue
                    }
                    markedLines.append((id, origin.line))
                    source = (id, origin.line)
                }
                let balance = { (state: inout AccountState) -> Money in
                    if !state.dirty {
                        state.dirty = true
                        touched.append(event.account)
                    }
                    state.apply(event)
                    return state.balance
                }(&working[event.account, default: AccountState()])
                staged.append(StagedEntry(id: entryID, record: record, event: event, balance: balance, source: source))
                if staged.count == Self.rowsPerInsert { try insertStaged() }
                entryID += 1
                report.applied += 1
                if let stated = event.statedBalance, stated != balance {
                    try issue(record, event, kind: "balance_mismatch", stated: stated, derived: balance)
                    report.mismatches += 1
                }
                if balance.isNegative {
                    try issue(record, event, kind: "negative_balance", stated: event.statedBalance, derived: balance)
                    report.negativeBalances += 1
                }
            }
            try insertStaged()
            if key.partition >= 0 { offsets[key] = next }
            for (key, next) in offsets where nextOffsets[key] != next {
                try upsertOffset.bind(1, key.topic)
                try upsertOffset.bind(2, Int64(key.partition))
                try upsertOffset.bind(3, next)
                try upsertOffset.run()
                if metrics.isEnabled { changedOffsets.append((TopicPartition(topic: key.topic, partition: key.partition), next)) }
            }
            for account in touched {
                working[account]!.dirty = false
                let state = working[account]!
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
            for statement in [insertOriginal, insertEntry, insertOriginalRows, insertEntryRows, insertIssue, insertRejected,
                              upsertOffset, upsertBalance] {
                statement.reset()
            }
            insertSource.reset()
            selectSourceLines.reset()
            staged.removeAll(keepingCapacity: true)
            for (id, line) in markedLines { appliedLines[id]?.remove(line) }
            for digest in createdSources {
                if let id = sourceIDs.removeValue(forKey: digest) { appliedLines[id] = nil }
            }
            throw error
        }
        nextOffsets = offsets
        accounts = working
        nextEntryID = entryID
        metrics.committed(report, offsets: changedOffsets,
                          batchNanoseconds: decodeNanoseconds + started.duration(to: .now).nanoseconds,
                          commitNanoseconds: commitNanoseconds)
        return report
    }

    /// An applied entry waiting for its rows to be inserted.
    struct StagedEntry {
        var id: Int64
        var record: SinkRecord
        var event: TransactionEvent
        var balance: Money
        var source: (id: Int64, line: Int64)?
    }

    /// Inserts the staged entries' two rows each: a full group with the multi-row statements, a partial one (the end
    /// of a batch) row by row. Texts are bound from `arena` without copies; it is rewritten only after the rows ran.
    private func insertStaged() throws(SQLiteError) {
        defer { staged.removeAll(keepingCapacity: true) }
        // Per row at most: date (19), two decimals (2 × 22), the account and the topic.
        arena.reset(minimumCapacity: staged.reduce(0) { $0 + 64 + $1.event.account.utf8.count + $1.record.topic.utf8.count })
        if staged.count == Self.rowsPerInsert {
            for (row, entry) in staged.enumerated() {
                try bind(entry, original: insertOriginalRows, from: Int32(row * 6), entry: insertEntryRows,
                         from: Int32(row * Self.postingColumns))
            }
            try insertOriginalRows.run()
            try insertEntryRows.run()
        } else {
            for entry in staged {
                try bind(entry, original: insertOriginal, from: 0, entry: insertEntry, from: 0)
                try insertOriginal.run()
                try insertEntry.run()
            }
        }
    }

    /// Binds one entry's values: to `original` (the `transactions` columns) from parameter `originalBase + 1`, and to
    /// `entry` (the `ledger_postings` columns) from `entryBase + 1`.
    private func bind(_ staged: StagedEntry, original: Statement, from originalBase: Int32, entry: Statement, from entryBase: Int32)
        throws(SQLiteError) {
        let event = staged.event
        let date = event.date.withText { arena.store($0) }
        let account = arena.store(event.account)
        let type = event.type == .deposit ? Self.depositText : Self.withdrawalText
        try original.bind(originalBase + 1, staged.id)
        try original.bindUnsafeNoCopy(originalBase + 2, utf8: date)
        try original.bindUnsafeNoCopy(originalBase + 3, utf8: account)
        try bindDecimal(original, originalBase + 4, event.amount)
        try bindDecimal(original, originalBase + 5, staged.balance)
        try original.bindUnsafeNoCopy(originalBase + 6, utf8: type)

        try entry.bind(entryBase + 1, staged.id)
        try entry.bindUnsafeNoCopy(entryBase + 2, utf8: arena.store(staged.record.topic))
        try entry.bind(entryBase + 3, Int64(staged.record.partition))
        try entry.bind(entryBase + 4, staged.record.offset)
        try entry.bind(entryBase + 5, event.amount.cents)
        try entry.bind(entryBase + 6, staged.balance.cents)
        if let stated = event.statedBalance { try entry.bind(entryBase + 7, stated.cents) } else { try entry.bindNull(entryBase + 7) }
        if let source = staged.source {
            try entry.bind(entryBase + 8, source.id)
            try entry.bind(entryBase + 9, source.line)
        } else {
            try entry.bindNull(entryBase + 8)
            try entry.bindNull(entryBase + 9)
        }
    }

    /// The type names, in static storage (bound without copies).
    private static var depositText: UnsafeBufferPointer<UInt8> { staticText("deposit") }
    private static var withdrawalText: UnsafeBufferPointer<UInt8> { staticText("withdrawal") }
    private static func staticText(_ text: StaticString) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// The original NUMERIC(10,2) columns get the decimal as text, as the original consumer passed them; SQLite's
    /// NUMERIC affinity stores it as an integer when whole. Nothing in ledgerstream reads amounts back from there.
    private func bindDecimal(_ statement: Statement, _ index: Int32, _ money: Money) throws(SQLiteError) {
        if money.cents % 100 == 0 {
            try statement.bind(index, money.cents / 100)
        } else {
            try statement.bindUnsafeNoCopy(index, utf8: money.withDecimalText { arena.store($0) })
        }
    }

    private func issue(_ record: SinkRecord, _ event: TransactionEvent, kind: String, stated: Money?, derived: Money) throws {
        try insertIssue.bind(1, record.topic)
        try insertIssue.bind(2, Int64(record.partition))
        try insertIssue.bind(3, record.offset)
        try insertIssue.bind(4, kind)
        try insertIssue.bind(5, event.account)
        try insertIssue.bind(6, event.date.description)
        if let stated { try insertIssue.bind(7, stated.cents) } else { try insertIssue.bindNull(7) }
        try insertIssue.bind(8, derived.cents)
        try insertIssue.run()
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

/// A set of line numbers as a sparse bitmap: 64 lines per word, words kept by index, so a file of a million rows
/// costs about 16,000 words, and a line number from a record header, however large, costs one word.
struct LineSet {
    private var words: [Int64: UInt64] = [:]

    /// Inserts `line`; false if it was already there.
    mutating func insert(_ line: Int64) -> Bool {
        let (word, bit) = (line >> 6, UInt64(1) << UInt64(line & 63))
        let current = words[word, default: 0]
        if current & bit != 0 { return false }
        words[word] = current | bit
        return true
    }

    mutating func remove(_ line: Int64) {
        words[line >> 6]? &= ~(UInt64(1) << UInt64(line & 63))
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
