import Ledger
import PostgresNIO

/// `report`'s queries, each the PostgreSQL form of its namesake in `LedgerQueries+Report.swift`: bounded results
/// (a page of rows, a thinned series, counts) aggregated by the server.
extension PostgresLedgerReader {
    /// The conditions of an inclusive day range ("YYYY-MM-DD"; nil is open), their values appended to `binds`.
    /// `transaction_date` is a timestamp: [from 00:00, to + 1 day 00:00) is what SQLite's text comparison selects.
    static func dateRange(from: String?, to: String?, binds: inout PostgresBindings) -> [String] {
        var conditions: [String] = []
        if let from {
            binds.append(from)
            conditions.append("transaction_date >= $\(binds.count)::date")
        }
        if let to {
            binds.append(to)
            conditions.append("transaction_date < $\(binds.count)::date + 1")
        }
        return conditions
    }

    static func whereClause(_ conditions: [String]) -> String {
        conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
    }

    public func latestTransactions(from: String?, to: String?, limit: Int?) async throws -> [LedgerEntry] {
        var binds = PostgresBindings()
        let range = Self.whereClause(Self.dateRange(from: from, to: to, binds: &binds))
        let sql: String
        if let limit {
            sql = """
                SELECT \(Self.entryColumns) FROM (
                    SELECT * FROM ledger_entries\(range) ORDER BY transaction_date DESC, entry_id DESC LIMIT \(max(0, limit))) AS latest
                ORDER BY transaction_date, entry_id
                """
        } else {
            sql = "SELECT \(Self.entryColumns) FROM ledger_entries\(range) ORDER BY transaction_date, entry_id"
        }
        return try await reading { try await entries(query(PostgresQuery(unsafeSQL: sql, binds: binds))) }
    }

    public func transactionPage(from: String?, to: String?, sort: TransactionSort, offset: Int, limit: Int) async throws -> [LedgerEntry] {
        var binds = PostgresBindings()
        let range = Self.whereClause(Self.dateRange(from: from, to: to, binds: &binds))
        let order = sort.orderBy(nameCollation: " COLLATE \"C\"")
        let sql = "SELECT \(Self.entryColumns) FROM ledger_entries\(range) ORDER BY \(order) LIMIT \(max(0, limit)) OFFSET \(max(0, offset))"
        return try await reading { try await entries(query(PostgresQuery(unsafeSQL: sql, binds: binds))) }
    }

    /// Streams the rows (postgres-nio asks the server for more as `body` consumes them): a whole ledger exported as
    /// csv never sits in memory.
    public func forEachTransaction(from: String?, to: String?, _ body: (LedgerEntry) throws -> Void) async throws {
        var binds = PostgresBindings()
        let range = Self.whereClause(Self.dateRange(from: from, to: to, binds: &binds))
        let sql = "SELECT \(Self.entryColumns) FROM ledger_entries\(range) ORDER BY transaction_date, entry_id"
        try await reading { try await forEachEntry(query(PostgresQuery(unsafeSQL: sql, binds: binds)), body) }
    }

    public func transactionCount(from: String?, to: String?) async throws -> Int {
        if from == nil && to == nil { return try await ledgerSize().entries }
        var binds = PostgresBindings()
        let range = Self.whereClause(Self.dateRange(from: from, to: to, binds: &binds))
        return try await reading {
            Int(try await single(query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM ledger_entries\(range)", binds: binds)), Int64.self))
        }
    }

    /// From the maintained totals without dates; with dates, one scan of those days.
    public func totals(from: String?, to: String?) async throws -> [AccountTotals] {
        var binds = PostgresBindings()
        let sql: String
        if from == nil && to == nil {
            sql = """
                SELECT account, deposited_cents, withdrawn_cents, deposits, withdrawals FROM account_balances ORDER BY account COLLATE "C"
                """
        } else {
            let range = Self.whereClause(Self.dateRange(from: from, to: to, binds: &binds))
            sql = """
                SELECT account,
                       COALESCE(SUM(amount_cents) FILTER (WHERE transaction_type = 'deposit'), 0)::bigint,
                       COALESCE(SUM(amount_cents) FILTER (WHERE transaction_type = 'withdrawal'), 0)::bigint,
                       COUNT(*) FILTER (WHERE transaction_type = 'deposit'), COUNT(*) FILTER (WHERE transaction_type = 'withdrawal')
                FROM ledger_entries\(range) GROUP BY account ORDER BY account COLLATE "C"
                """
        }
        return try await reading {
            let rows = try await query(PostgresQuery(unsafeSQL: sql, binds: binds))
            var result: [AccountTotals] = []
            for try await (account, deposited, withdrawn, deposits, withdrawals) in rows.decode((String, Int64, Int64, Int64, Int64).self) {
                result.append(AccountTotals(account: account, deposited: Money(cents: deposited), withdrawn: Money(cents: withdrawn),
                                            deposits: Int(deposits), withdrawals: Int(withdrawals)))
            }
            return result
        }
    }

    /// An entry's date as SQLite's `julianday()` computes it: whole milliseconds since the Julian epoch (the Unix
    /// epoch is 2440587.5 days after it), divided in double precision. The same doubles make the same slices.
    static let julianDay =
        "(((EXTRACT(EPOCH FROM transaction_date) * 1000)::bigint + 210866760000000)::float8 / 86400000)"

    /// SQLite's `balanceSeries` step for step: the period the accounts' entries span (as Julian days) cut into
    /// `slices` equal slices, each keeping the balance after the entry applied last in it (the greatest `entry_id`,
    /// whose row SQLite's `MAX()` picks), with the slice index truncated towards zero as SQLite's `CAST(… AS
    /// INTEGER)` does and capped at `slices - 1`.
    public func balanceSeries(accounts: [String]?, from: String?, to: String?, slices: Int) async throws -> [BalanceSeries] {
        if accounts?.isEmpty == true { return [] }
        var binds = PostgresBindings()
        var conditions = Self.dateRange(from: from, to: to, binds: &binds)
        if let accounts {
            binds.append(accounts)
            conditions.append("account = ANY($\(binds.count)::text[])")
        }
        let filter = Self.whereClause(conditions)
        let filterBinds = binds
        var byAccount: [String: BalanceSeries] = [:]
        try await reading {
            let span = try await query(PostgresQuery(unsafeSQL: """
                SELECT (EXTRACT(EPOCH FROM MIN(transaction_date)) * 1000)::bigint + 210866760000000,
                       (EXTRACT(EPOCH FROM MAX(transaction_date)) * 1000)::bigint + 210866760000000
                FROM ledger_entries\(filter)
                """, binds: filterBinds))
            var bounds: (first: Int64, last: Int64)?
            for try await (first, last) in span.decode((Int64?, Int64?).self) {
                if let first, let last { bounds = (first, last) }
            }
            guard let bounds else { return }
            let first = Double(bounds.first) / 86_400_000.0
            let length = Double(bounds.last) / 86_400_000.0 - first
            let scale = length > 0 ? Double(max(1, slices)) / length : 0
            var binds = filterBinds
            binds.append(first)
            let firstIndex = binds.count
            binds.append(scale)
            binds.append(Int64(max(0, slices - 1)))
            let rows = try await query(PostgresQuery(unsafeSQL: """
                WITH slices AS (
                    SELECT account, LEAST(trunc((\(Self.julianDay) - $\(firstIndex)) * $\(firstIndex + 1))::bigint, $\(firstIndex + 2)) AS slice,
                           MAX(entry_id) AS last_entry, COUNT(*) AS entries
                    FROM ledger_entries\(filter) GROUP BY 1, 2)
                SELECT s.account, to_char(p.transaction_date, 'YYYY-MM-DD HH24:MI:SS'), p.balance_cents, s.entries
                FROM slices s JOIN ledger_postings p ON p.entry_id = s.last_entry
                ORDER BY s.account COLLATE "C", s.slice
                """, binds: binds))
            for try await (account, date, balance, entries) in rows.decode((String, String, Int64, Int64).self) {
                var series = byAccount[account] ?? BalanceSeries(account: account, entries: 0, points: [])
                series.points.append(BalancePoint(date: TransactionDate(parsing: date) ?? TransactionDate(year: 1, month: 1, day: 1),
                                                  balance: Money(cents: balance)))
                series.entries += Int(entries)
                byAccount[account] = series
            }
        }
        guard let accounts else { return byAccount.values.sorted { $0.account < $1.account } }
        return accounts.map { byAccount[$0] ?? BalanceSeries(account: $0, entries: 0, points: []) }
    }

    public func issueCounts() async throws -> IssueCounts {
        try await reading {
            let rows = try await query("""
                SELECT COUNT(*) FILTER (WHERE kind = 'balance_mismatch'), COUNT(*) FILTER (WHERE kind = 'negative_balance')
                FROM reconciliation_issues
                """)
            for try await (mismatches, negatives) in rows.decode((Int64, Int64).self) {
                return IssueCounts(balanceMismatches: Int(mismatches), negativeBalances: Int(negatives))
            }
            return IssueCounts(balanceMismatches: 0, negativeBalances: 0)
        }
    }

    public func latestIssues(limit: Int?) async throws -> [ReconciliationIssue] {
        let columns = """
            kind, account, to_char(transaction_date, 'YYYY-MM-DD HH24:MI:SS'), stated_balance_cents, derived_balance_cents, topic, \
            partition, "offset"
            """
        let order = #"transaction_date, topic COLLATE "C", partition, "offset", kind COLLATE "C""#
        let sql = limit.map { limit in
            """
            SELECT \(columns) FROM (
                SELECT * FROM reconciliation_issues
                ORDER BY transaction_date DESC, topic COLLATE "C" DESC, partition DESC, "offset" DESC, kind COLLATE "C" DESC
                LIMIT \(max(0, limit))) AS latest
            ORDER BY \(order)
            """
        } ?? "SELECT \(columns) FROM reconciliation_issues ORDER BY \(order)"
        return try await reading {
            let rows = try await query(PostgresQuery(unsafeSQL: sql))
            var result: [ReconciliationIssue] = []
            for try await (kind, account, date, stated, derived, topic, partition, offset)
                in rows.decode((String, String, String, Int64?, Int64, String, Int32, Int64).self) {
                result.append(ReconciliationIssue(
                    kind: ReconciliationIssue.Kind(rawValue: kind) ?? .balanceMismatch, account: account, date: date,
                    stated: stated.map { Money(cents: $0) }, derived: Money(cents: derived), topic: topic, partition: partition,
                    offset: offset))
            }
            return result
        }
    }
}
