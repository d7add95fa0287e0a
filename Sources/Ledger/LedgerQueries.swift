import SQLiteStore

/// One applied ledger entry.
public struct LedgerEntry: Sendable, Equatable {
    public var date: TransactionDate
    public var account: String
    public var type: TransactionType
    public var amount: Money
    /// The derived balance after this entry.
    public var balance: Money
    public var statedBalance: Money?
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(date: TransactionDate, account: String, type: TransactionType, amount: Money, balance: Money, statedBalance: Money?,
                topic: String, partition: Int32, offset: Int64) {
        self.date = date
        self.account = account
        self.type = type
        self.amount = amount
        self.balance = balance
        self.statedBalance = statedBalance
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

public struct AccountSummary: Sendable, Equatable {
    public var account: String
    public var balance: Money
    public var entries: Int
    public var lastDate: String

    public init(account: String, balance: Money, entries: Int, lastDate: String) {
        self.account = account
        self.balance = balance
        self.entries = entries
        self.lastDate = lastDate
    }
}

public struct AccountTotals: Sendable, Equatable {
    public var account: String
    public var deposited: Money
    public var withdrawn: Money
    public var deposits: Int
    public var withdrawals: Int

    public init(account: String, deposited: Money, withdrawn: Money, deposits: Int, withdrawals: Int) {
        self.account = account
        self.deposited = deposited
        self.withdrawn = withdrawn
        self.deposits = deposits
        self.withdrawals = withdrawals
    }
}

public struct ReconciliationIssue: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case balanceMismatch = "balance_mismatch"
        case negativeBalance = "negative_balance"
    }

    public var kind: Kind
    public var account: String
    public var date: String
    public var stated: Money?
    public var derived: Money
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(kind: Kind, account: String, date: String, stated: Money?, derived: Money, topic: String, partition: Int32, offset: Int64) {
        self.kind = kind
        self.account = account
        self.date = date
        self.stated = stated
        self.derived = derived
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

public struct SinkPosition: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var nextOffset: Int64
    public var updatedAt: String

    public init(topic: String, partition: Int32, nextOffset: Int64, updatedAt: String) {
        self.topic = topic
        self.partition = partition
        self.nextOffset = nextOffset
        self.updatedAt = updatedAt
    }
}

/// Read-side queries over the ledger tables (exact cents), shared by `report` and `shell`.
public struct LedgerQueries {
    let database: SQLiteDatabase

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    private static let entryColumns = """
        transaction_date, account, transaction_type, amount_cents, balance_cents, stated_balance_cents, topic, partition, offset
        """

    private func entries(_ statement: Statement) throws -> [LedgerEntry] {
        var result: [LedgerEntry] = []
        while try statement.step() {
            result.append(LedgerEntry(
                date: TransactionDate(parsing: statement.string(0) ?? "") ?? TransactionDate(year: 1, month: 1, day: 1),
                account: statement.string(1) ?? "", type: TransactionType(rawValue: statement.string(2) ?? "") ?? .deposit,
                amount: Money(cents: statement.int64(3)), balance: Money(cents: statement.int64(4)),
                statedBalance: statement.isNull(5) ? nil : Money(cents: statement.int64(5)),
                topic: statement.string(6) ?? "", partition: Int32(statement.int64(7)), offset: statement.int64(8)))
        }
        return result
    }

    /// Every entry between two dates (inclusive, "YYYY-MM-DD"), by date then stream position.
    public func transactions(from: String? = nil, to: String? = nil, account: String? = nil, limit: Int? = nil) throws -> [LedgerEntry] {
        var conditions: [String] = []
        if from != nil { conditions.append("transaction_date >= ?") }
        if to != nil { conditions.append("transaction_date < date(?, '+1 day')") }
        if account != nil { conditions.append("account = ?") }
        var sql = "SELECT \(Self.entryColumns) FROM ledger_entries"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY transaction_date, entry_id"
        if let limit { sql += " LIMIT \(limit)" }
        let statement = try database.prepare(sql)
        var index: Int32 = 1
        for value in [from, to, account] {
            if let value {
                try statement.bind(index, value)
                index += 1
            }
        }
        return try entries(statement)
    }

    /// The last `count` entries of an account, newest last. Reads backwards from the newest entry (no index by
    /// account, see ``LedgerDatabase``), so it is quick for accounts that are active and a full scan for ones that
    /// are not.
    public func history(account: String, count: Int) throws -> [LedgerEntry] {
        let statement = try database.prepare("""
            SELECT * FROM (SELECT \(Self.entryColumns), entry_id FROM ledger_entries WHERE account = ?
                           ORDER BY entry_id DESC LIMIT ?) ORDER BY entry_id
            """)
        try statement.bind(1, account)
        try statement.bind(2, count)
        return try entries(statement)
    }

    public func accounts() throws -> [AccountSummary] {
        let statement = try database.prepare(
            "SELECT account, balance_cents, entries, last_transaction_date FROM account_balances ORDER BY account")
        var result: [AccountSummary] = []
        while try statement.step() {
            result.append(AccountSummary(account: statement.string(0) ?? "", balance: Money(cents: statement.int64(1)),
                                         entries: statement.int(2), lastDate: statement.string(3) ?? ""))
        }
        return result
    }

    public func account(_ name: String) throws -> AccountSummary? {
        try accounts().first { $0.account == name }
    }

    /// Deposited and withdrawn per account: from the maintained totals, or with dates by scanning those days.
    public func totals(from: String? = nil, to: String? = nil) throws -> [AccountTotals] {
        if from == nil && to == nil {
            let statement = try database.prepare("""
                SELECT account, deposited_cents, withdrawn_cents, deposits, withdrawals FROM account_balances ORDER BY account
                """)
            var result: [AccountTotals] = []
            while try statement.step() {
                result.append(AccountTotals(account: statement.string(0) ?? "", deposited: Money(cents: statement.int64(1)),
                                            withdrawn: Money(cents: statement.int64(2)), deposits: statement.int(3),
                                            withdrawals: statement.int(4)))
            }
            return result
        }
        var sql = """
            SELECT account,
                   SUM(CASE WHEN transaction_type = 'deposit' THEN amount_cents ELSE 0 END),
                   SUM(CASE WHEN transaction_type = 'withdrawal' THEN amount_cents ELSE 0 END),
                   SUM(transaction_type = 'deposit'), SUM(transaction_type = 'withdrawal')
            FROM ledger_entries
            """
        var conditions: [String] = []
        if from != nil { conditions.append("transaction_date >= ?") }
        if to != nil { conditions.append("transaction_date < date(?, '+1 day')") }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " GROUP BY account ORDER BY account"
        let statement = try database.prepare(sql)
        var index: Int32 = 1
        for value in [from, to] {
            if let value {
                try statement.bind(index, value)
                index += 1
            }
        }
        var result: [AccountTotals] = []
        while try statement.step() {
            result.append(AccountTotals(account: statement.string(0) ?? "", deposited: Money(cents: statement.int64(1)),
                                        withdrawn: Money(cents: statement.int64(2)), deposits: statement.int(3),
                                        withdrawals: statement.int(4)))
        }
        return result
    }

    public func issues() throws -> [ReconciliationIssue] {
        let statement = try database.prepare("""
            SELECT kind, account, transaction_date, stated_balance_cents, derived_balance_cents, topic, partition, offset
            FROM reconciliation_issues ORDER BY transaction_date, topic, partition, offset, kind
            """)
        var result: [ReconciliationIssue] = []
        while try statement.step() {
            result.append(ReconciliationIssue(
                kind: ReconciliationIssue.Kind(rawValue: statement.string(0) ?? "") ?? .balanceMismatch,
                account: statement.string(1) ?? "", date: statement.string(2) ?? "",
                stated: statement.isNull(3) ? nil : Money(cents: statement.int64(3)), derived: Money(cents: statement.int64(4)),
                topic: statement.string(5) ?? "", partition: Int32(statement.int64(6)), offset: statement.int64(7)))
        }
        return result
    }

    public func rejectedCount() throws -> Int {
        let statement = try database.prepare("SELECT COUNT(*) FROM rejected_records")
        _ = try statement.step()
        return statement.int(0)
    }

    public func sinkPositions() throws -> [SinkPosition] {
        let statement = try database.prepare("SELECT topic, partition, next_offset, updated_at FROM sink_offsets ORDER BY topic, partition")
        var result: [SinkPosition] = []
        while try statement.step() {
            result.append(SinkPosition(topic: statement.string(0) ?? "", partition: Int32(statement.int64(1)),
                                       nextOffset: statement.int64(2), updatedAt: statement.string(3) ?? ""))
        }
        return result
    }

    /// Rows of the original `transactions` table (for checks that it is kept in step).
    public func originalRowCount() throws -> Int {
        let statement = try database.prepare("SELECT COUNT(*) FROM transactions")
        _ = try statement.step()
        return statement.int(0)
    }

    public func entryCount() throws -> Int {
        let statement = try database.prepare("SELECT COUNT(*) FROM ledger_entries")
        _ = try statement.step()
        return statement.int(0)
    }
}
