import Testing

@testable import Ledger

/// The planner's bookkeeping of a batch, without a store: what it lists as changed is what the stores write back to
/// `account_balances`, so an account it forgets keeps a stale balance there.
@Suite struct LedgerBatchPlannerTests {
    func record(_ offset: Int64, _ account: String, cents: Int64, partition: Int32 = 0) -> LedgerSink.DecodedRecord {
        let event = TransactionEvent(date: TransactionDate(year: 2024, month: 1, day: 1 + Int(offset % 28)), account: account,
                                     amount: Money(cents: abs(cents)), type: cents < 0 ? .withdrawal : .deposit,
                                     statedBalance: nil)
        return LedgerSink.DecodedRecord(record: SinkRecord(topic: "t", partition: partition, offset: offset, value: nil),
                                        event: .success(event))
    }

    func plan(_ records: [LedgerSink.DecodedRecord], after previous: LedgerBatchPlanner? = nil) throws -> LedgerBatchPlanner {
        var planner = LedgerBatchPlanner(offsets: previous?.offsets ?? [:], accounts: previous?.accounts ?? [:],
                                         appliedLines: previous?.appliedLines ?? [:])
        for record in records {
            _ = try planner.decide(record, sourceID: { _ in 1 }, appliedLinesOf: { _ in LineSet() })
        }
        _ = planner.finish(since: previous?.offsets ?? [:])
        return planner
    }

    @Test func eachChangedAccountIsListedOnceWithItsStateBeforeTheBatch() throws {
        let first = try plan([record(0, "a", cents: 100), record(1, "b", cents: 50), record(2, "a", cents: -30),
                              record(3, "c", cents: 5), record(4, "b", cents: 1)])
        #expect(first.touched.map(\.account) == ["a", "b", "c"])
        #expect(first.touched.allSatisfy { $0.before == AccountState() })
        #expect(first.accounts["a"] == AccountState(balance: Money(cents: 70), entries: 2, deposits: 1, withdrawals: 1,
                                                    deposited: Money(cents: 100), withdrawn: Money(cents: 30),
                                                    lastDate: TransactionDate(year: 2024, month: 1, day: 3)))

        // The next batch starts from the accounts the first one left (as a store adopts them once it committed): the
        // accounts it changes are listed again, with the first batch's result as their state before.
        let second = try plan([record(5, "c", cents: 7), record(6, "a", cents: 1), record(7, "c", cents: 1)], after: first)
        #expect(second.touched.map(\.account) == ["c", "a"])
        #expect(second.touched.map(\.before) == [first.accounts["c"]!, first.accounts["a"]!])
        #expect(second.accounts["c"]?.balance == Money(cents: 13))
        #expect(second.accounts["b"] == first.accounts["b"])

        // A batch planned again from the same starting point (after a rollback) lists the same accounts.
        let again = try plan([record(5, "c", cents: 7), record(6, "a", cents: 1), record(7, "c", cents: 1)], after: first)
        #expect(again.touched.map(\.account) == ["c", "a"])
        #expect(again.accounts == second.accounts)
    }

    @Test func recordsBelowTheStoredOffsetChangeNothing() throws {
        let first = try plan([record(0, "a", cents: 100), record(1, "a", cents: 100)])
        let replay = try plan([record(0, "a", cents: 100), record(1, "a", cents: 100)], after: first)
        #expect(replay.touched.isEmpty)
        #expect(replay.report.duplicates == 2)
        #expect(replay.accounts == first.accounts)
    }
}
