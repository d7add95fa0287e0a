import KafkaProtocol
import Synchronization

/// An account's running state, as the stores keep it in `account_balances`.
public struct AccountState: Sendable, Equatable {
    public var balance = Money.zero
    public var entries = 0
    public var deposits = 0
    public var withdrawals = 0
    public var deposited = Money.zero
    public var withdrawn = Money.zero
    public var lastDate: TransactionDate?
    /// The planner that last changed this state: its bookkeeping, so that a batch lists each account it changes once
    /// without a set of their names (hashing each row's account a second time was 4 % of the sink's writer thread).
    /// Not part of the state: `==` ignores it.
    var changedBy: UInt64 = 0

    public static func == (lhs: AccountState, rhs: AccountState) -> Bool {
        lhs.balance == rhs.balance && lhs.entries == rhs.entries && lhs.deposits == rhs.deposits
            && lhs.withdrawals == rhs.withdrawals && lhs.deposited == rhs.deposited && lhs.withdrawn == rhs.withdrawn
            && lhs.lastDate == rhs.lastDate
    }

    public init(balance: Money = .zero, entries: Int = 0, deposits: Int = 0, withdrawals: Int = 0, deposited: Money = .zero,
                withdrawn: Money = .zero, lastDate: TransactionDate? = nil) {
        self.balance = balance
        self.entries = entries
        self.deposits = deposits
        self.withdrawals = withdrawals
        self.deposited = deposited
        self.withdrawn = withdrawn
        self.lastDate = lastDate
    }

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

    /// What this batch added to `before` (the increments a store that merges concurrent writers adds in SQL).
    public func minus(_ before: AccountState) -> AccountState {
        AccountState(balance: balance - before.balance, entries: entries - before.entries, deposits: deposits - before.deposits,
                     withdrawals: withdrawals - before.withdrawals, deposited: deposited - before.deposited,
                     withdrawn: withdrawn - before.withdrawn, lastDate: lastDate)
    }
}

/// The exactly-once bookkeeping of one batch, the same for every store: which records are new (past their
/// partition's stored offset, and not a file row applied before), each account's running balance, and the
/// reconciliation issues they raise. Pure: the store writes what it decides and adopts the planner's state only once
/// its transaction committed (a rolled-back batch just drops the planner).
public struct LedgerBatchPlanner {
    public typealias PartitionKey = LedgerSink.PartitionKey

    /// Next offset to apply per partition.
    public private(set) var offsets: [PartitionKey: Int64]
    /// Accounts' states after the records decided so far.
    public private(set) var accounts: [String: AccountState]
    /// The accounts this batch changed, in first-touched order, with their state before it.
    public private(set) var touched: [(account: String, before: AccountState)] = []
    /// What this planner marks the accounts it changes with (``AccountState/changedBy``): unique in the process.
    private let mark = LedgerBatchPlanner.marks.add(1, ordering: .relaxed).newValue
    private static let marks = Atomic<UInt64>(0)
    /// Imported files' applied lines, by source id (see ``EventSource``).
    public var appliedLines: [Int64: LineSet] { applied.all }
    private var applied: LinesBySource
    /// The lines this batch applies, which the store marks in its table of applied lines.
    private var newLines = LinesBySource()
    public private(set) var report = ApplyReport()
    /// The partition of the current run of records and its next offset (looked up once per run).
    private var key = PartitionKey(topic: "", partition: -1)
    private var next: Int64?
    /// The source id of the last record's file.
    private var lastSource: (digest: String, id: Int64)?

    public init(offsets: [PartitionKey: Int64], accounts: [String: AccountState], appliedLines: [Int64: LineSet]) {
        self.offsets = offsets
        self.accounts = accounts
        applied = LinesBySource(appliedLines)
    }

    /// What to do with one record.
    public enum Decision {
        /// Already applied: below its partition's offset, or a file row applied before (counted in the report).
        case skip
        /// Not a transaction event: kept in `rejected_records` with the reason.
        case reject(reason: String)
        case apply(Entry)
    }

    /// A record to apply, with what it did to its account.
    public struct Entry {
        public var event: TransactionEvent
        /// The account's balance after this entry.
        public var balance: Money
        /// The file row it came from (source id, line).
        public var source: (id: Int64, line: Int64)?
        public var isMismatch: Bool { event.statedBalance.map { $0 != balance } ?? false }
        public var isNegative: Bool { balance.isNegative }
    }

    /// Decides `decoded`, the next record of the batch (records come in partition order). `sourceID` names the
    /// source id of an imported file by digest (creating it if needed); `appliedLinesOf` reads a source's applied
    /// lines the first time this sink meets it.
    public mutating func decide(_ decoded: LedgerSink.DecodedRecord, sourceID: (String) throws -> Int64,
                                appliedLinesOf: (Int64) throws -> LineSet) throws -> Decision {
        try withUnsafePointer(to: decoded) { try decide(at: $0, sourceID: sourceID, appliedLinesOf: appliedLinesOf) }
    }

    /// The same for a record read in place, in the batch's buffer: passing a buffer's element by value copied it
    /// (the call's closures might change the buffer), an outlined copy and destroy of the whole record each time
    /// (measured: about 200 instructions a record).
    public mutating func decide(at decoded: UnsafePointer<LedgerSink.DecodedRecord>, sourceID: (String) throws -> Int64,
                                appliedLinesOf: (Int64) throws -> LineSet) throws -> Decision {
        // Fields are read from `decoded` in place: a local copy of its record cost a retain and release of each of
        // its references per record.
        if decoded.pointee.record.partition != key.partition || decoded.pointee.record.topic != key.topic {
            if key.partition >= 0 { offsets[key] = next }
            key = PartitionKey(topic: decoded.pointee.record.topic, partition: decoded.pointee.record.partition)
            next = offsets[key]
        }
        if let next, decoded.pointee.record.offset < next {
            report.duplicates += 1
            return .skip
        }
        next = decoded.pointee.record.offset + 1
        let event: TransactionEvent
        switch decoded.pointee.event {
        case .success(let decodedEvent):
            event = decodedEvent
        case .failure(let error):
            report.rejected += 1
            report.rejectedByKind[error.kind, default: 0] += 1
            return .reject(reason: error.description)
        }
        var source: (id: Int64, line: Int64)?
        if let origin = decoded.pointee.record.source {
            // A batch's rows mostly come from one file: its id is looked up once per run of rows, not per row.
            let id: Int64
            if let last = lastSource, last.digest == origin.fileDigest {
                id = last.id
            } else {
                id = try sourceID(origin.fileDigest)
                lastSource = (origin.fileDigest, id)
            }
            if try !applied.insert(origin.line, of: id, loading: appliedLinesOf) {
                report.alreadyImported += 1
                return .skip
            }
            _ = newLines.insert(origin.line, of: id) { _ in LineSet() }
            source = (id, origin.line)
        }
        // One lookup of the account, updated in place.
        let before: AccountState
        let state: AccountState
        if let index = accounts.index(forKey: event.account) {
            before = accounts.values[index]
            accounts.values[index].apply(event)
            if before.changedBy != mark {
                touched.append((event.account, before))
                accounts.values[index].changedBy = mark
            }
            state = accounts.values[index]
        } else {
            before = AccountState()
            var new = before
            new.apply(event)
            new.changedBy = mark
            accounts[event.account] = new
            touched.append((event.account, before))
            state = new
        }
        let entry = Entry(event: event, balance: state.balance, source: source)
        report.applied += 1
        if entry.isMismatch { report.mismatches += 1 }
        if entry.isNegative { report.negativeBalances += 1 }
        return .apply(entry)
    }

    /// The imported files' lines this batch applies, by source id (once every record was decided).
    public mutating func takeNewLines() -> [Int64: LineSet] {
        newLines.all
    }

    /// Ends the batch: the partitions whose next offset moved, with it.
    public mutating func finish(since stored: [PartitionKey: Int64]) -> [(PartitionKey, Int64)] {
        if key.partition >= 0 { offsets[key] = next }
        key = PartitionKey(topic: "", partition: -1)
        return offsets.filter { stored[$0.key] != $0.value }.map { ($0.key, $0.value) }
    }
}
