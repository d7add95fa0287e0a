import Foundation
import SQLiteStore
import Testing

@testable import Ledger

/// The queries `report` adds to ``LedgerQueries``, on a database the real sink filled.
@Suite struct ReportQueriesTests {
    func withLedger(_ events: [TransactionEvent], partitions: Int32 = 1, _ body: (String, LedgerQueries) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
        var offsets: [Int32: Int64] = [:]
        _ = try sink.apply(events.enumerated().map { index, event in
            let partition = Int32(index) % partitions
            defer { offsets[partition, default: 0] += 1 }
            return SinkRecord(topic: "transactions", partition: partition, offset: offsets[partition, default: 0],
                              bytes: Array(event.jsonText.utf8))
        })
        try body(path, LedgerQueries(database: try LedgerDatabase.open(path: path, readOnly: true)))
    }

    func event(_ day: String, _ account: String, _ cents: Int64, stated: Int64? = nil) -> TransactionEvent {
        TransactionEvent(date: TransactionDate(parsing: day)!, account: account, amount: Money(cents: abs(cents)),
                         type: cents > 0 ? .deposit : .withdrawal, statedBalance: stated.map { Money(cents: $0) })
    }

    /// The sample, with its last row stating 8305 instead of 830.
    var sample: [TransactionEvent] {
        [event("2024-01-01", "C100", 100_000, stated: 100_000), event("2024-01-02", "C200", 250_000, stated: 250_000),
         event("2024-01-03", "C200", -20_000, stated: 230_000), event("2024-01-04", "C100", -2_500, stated: 97_500),
         event("2024-01-05", "C100", -14_500, stated: 830_500)]
    }

    @Test func sizeAndLatestTransactions() throws {
        try withLedger(sample) { _, queries in
            #expect(try queries.ledgerSize() == (entries: 5, accounts: 2))
            let latest = try queries.latestTransactions(limit: 2)
            #expect(latest.map(\.date.dayDescription) == ["2024-01-04", "2024-01-05"])
            #expect(latest.map(\.balance) == [Money(cents: 97_500), Money(cents: 83_000)])
            #expect(try queries.latestTransactions(limit: nil).count == 5)
            #expect(try queries.latestTransactions(from: "2024-01-02", to: "2024-01-03", limit: 10).map(\.account) == ["C200", "C200"])
            #expect(try queries.transactionCount(from: "2024-01-02", to: "2024-01-04") == 3)
            #expect(try queries.transactionCount(from: "2024-01-05") == 1)
            #expect(try queries.transactionCount() == 5)
        }
    }

    /// Latest means by date, not by arrival: a late-arriving older entry is not among the latest.
    @Test func latestIsByDateThenArrival() throws {
        try withLedger([event("2024-03-01", "A", 100), event("2024-01-01", "A", 100), event("2024-03-01", "B", 100)]) { _, queries in
            let latest = try queries.latestTransactions(limit: 2)
            #expect(latest.map(\.account) == ["A", "B"])
            #expect(latest.map(\.date.dayDescription) == ["2024-03-01", "2024-03-01"])
        }
    }

    @Test func forEachTransactionStreamsThePeriodInDateOrder() throws {
        try withLedger(sample) { _, queries in
            var days: [String] = []
            try queries.forEachTransaction(to: "2024-01-03") { days.append($0.date.dayDescription) }
            #expect(days == ["2024-01-01", "2024-01-02", "2024-01-03"])
        }
    }

    @Test func balanceSeriesOfTheSample() throws {
        try withLedger(sample) { _, queries in
            let series = try queries.balanceSeries(accounts: ["C200", "C100", "NONE"], slices: 1000)
            #expect(series.map(\.account) == ["C200", "C100", "NONE"])
            #expect(series.map(\.entries) == [2, 3, 0])
            #expect(series[1].points.map(\.balance.cents) == [100_000, 97_500, 83_000])
            #expect(series[1].points.map(\.date.dayDescription) == ["2024-01-01", "2024-01-04", "2024-01-05"])
            let every = try queries.balanceSeries(accounts: nil, from: "2024-01-03", slices: 1000)
            #expect(every.map(\.account) == ["C100", "C200"])
            #expect(every.map { $0.points.map(\.balance.cents) } == [[97_500, 83_000], [230_000]])
        }
    }

    /// Thousands of entries come back as at most `slices` points, each the balance after the last entry of its
    /// slice, with every entry counted.
    @Test func balanceSeriesIsThinnedToSlices() throws {
        let events = (0..<3000).map { (index: Int) -> TransactionEvent in
            let day = index / 24
            let date = TransactionDate(year: 2024, month: 1 + day / 28, day: 1 + day % 28, hour: index % 24)
            return TransactionEvent(date: date, account: "A", amount: Money(cents: 100), type: .deposit, statedBalance: nil)
        }
        try withLedger(events, partitions: 3) { _, queries in
            let series = try queries.balanceSeries(accounts: ["A"], slices: 10)
            #expect(series[0].entries == 3000)
            #expect(series[0].points.count == 10)
            #expect(series[0].points.last?.balance == Money(cents: 300_000))
            #expect(series[0].points.map(\.balance.cents) == series[0].points.map(\.balance.cents).sorted())
        }
    }

    @Test func issuesAreCountedByKindAndTheLatestListed() throws {
        let events = sample + [event("2024-02-01", "C300", -100), event("2024-02-02", "C300", -100)]
        try withLedger(events) { _, queries in
            #expect(try queries.issueCounts() == IssueCounts(balanceMismatches: 1, negativeBalances: 2))
            let latest = try queries.latestIssues(limit: 2)
            #expect(latest.map(\.kind) == [.negativeBalance, .negativeBalance])
            #expect(latest.map(\.derived.cents) == [-100, -200])
            #expect(try queries.latestIssues(limit: nil).first?.kind == .balanceMismatch)
        }
    }

    /// Inside a snapshot, a commit by the sink is not seen until the snapshot ends.
    @Test func snapshotsDoNotSeeConcurrentCommits() throws {
        try withLedger(sample) { path, queries in
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
            let counts = try queries.withSnapshot { () -> [Int] in
                let before = try queries.ledgerSize().entries
                _ = try sink.apply([SinkRecord(topic: "transactions", partition: 0, offset: 5,
                                               bytes: Array(event("2024-01-06", "C100", 100).jsonText.utf8))])
                return [before, try queries.ledgerSize().entries, try queries.latestTransactions(limit: nil).count]
            }
            #expect(counts == [5, 5, 5])
            #expect(try queries.ledgerSize().entries == 6)
        }
    }

    /// The counter --follow polls moves when another connection commits, and only then.
    @Test func changeCounterMovesOnOtherConnectionsCommits() throws {
        try withLedger(sample) { path, queries in
            let before = try queries.changeCounter()
            #expect(try queries.changeCounter() == before)
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
            _ = try sink.apply([SinkRecord(topic: "transactions", partition: 0, offset: 5,
                                           bytes: Array(event("2024-01-06", "C100", 100).jsonText.utf8))])
            #expect(try queries.changeCounter() != before)
            #expect(try queries.ledgerSize().entries == 6)
        }
    }

    /// Through ``LedgerReading`` (as `report` and `shell` use either ledger), the snapshot is the same SQLite read
    /// transaction, its body now async: a commit during it is seen only after it.
    @Test func snapshotThroughTheReaderProtocol() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
        _ = try sink.apply(sample.enumerated().map { index, event in
            SinkRecord(topic: "transactions", partition: 0, offset: Int64(index), bytes: Array(event.jsonText.utf8))
        })
        let reader: any LedgerReading = LedgerQueries(database: try LedgerDatabase.open(path: path, readOnly: true))
        let counts = try await reader.withSnapshot { () async throws -> [Int] in
            let before = try await reader.ledgerSize().entries
            _ = try sink.apply([SinkRecord(topic: "transactions", partition: 0, offset: 5,
                                           bytes: Array(event("2024-01-06", "C100", 100).jsonText.utf8))])
            return [before, try await reader.ledgerSize().entries,
                    try await reader.latestTransactions(from: nil, to: nil, limit: nil).count]
        }
        #expect(counts == [5, 5, 5])
        #expect(try await reader.transactionCount(from: nil, to: nil) == 6)
        #expect(try await reader.history(account: "C100", count: 2).map(\.amount.cents) == [14_500, 100])
        await reader.close()
    }
}
