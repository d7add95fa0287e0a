import Ledger
import Report
import Synchronization
import Testing

@testable import Dashboard

@Suite struct DashboardQueryTests {
    @Test func linksGiveBackTheQuery() throws {
        let query = try DashboardQuery(parsing: FormFields(parsing: "from=2024-01-02&account=C%20100&sort=amount&dir=asc&page=3&size=20&top=2"))
        #expect(query.period == ReportPeriod(from: "2024-01-02"))
        #expect(query.sort == TransactionSort(.amount, descending: false))
        #expect(query.queryString() == "?from=2024-01-02&account=C%20100&top=2&sort=amount&dir=asc&page=3&size=20")
        #expect(try DashboardQuery(parsing: FormFields(parsing: Substring(query.queryString().dropFirst()))) == query)
        #expect(DashboardQuery().queryString() == "")
        // A column's first click sorts dates newest first, and everything else ascending.
        #expect(try DashboardQuery(parsing: FormFields(parsing: "sort=balance")).sort.descending == false)
        #expect(try DashboardQuery(parsing: FormFields(parsing: "sort=date")).sort.descending == true)
    }
}

@Suite struct SVGChartsTests {
    let activity = AccountActivity(accounts: [
        AccountTotals(account: "C100", deposited: Money(cents: 100_000), withdrawn: Money(cents: 17_000), deposits: 1, withdrawals: 2),
        AccountTotals(account: "C<2>", deposited: Money(cents: 250_000), withdrawn: .zero, deposits: 1, withdrawals: 0),
    ], omitted: 0)

    @Test func theHeatmapWritesEveryCount() {
        let svg = SVGCharts.heatmap(activity, id: "h")
        #expect(svg.hasPrefix("<div class=\"scroll\"><svg id=\"h\" class=\"chart\" role=\"img\""))
        #expect(svg.contains("<title id=\"h-title\">Transactions per account and type</title>"))
        #expect(svg.matches(of: /class="count[^"]*">(\d+)</).map { Int($0.1)! } == [1, 2, 1, 0])
        #expect(svg.contains("C&lt;2&gt;") && !svg.contains("C<2>"))
        #expect(svg.contains("fill-opacity=\"1\""), "the busiest cell is the darkest")
    }

    @Test func barsHatchWithdrawalsAndLabelAmounts() {
        let svg = SVGCharts.bars(activity, id: "b")
        #expect(svg.contains("<pattern id=\"b-hatch\""))
        #expect(svg.contains("fill=\"url(#b-hatch)\""))
        #expect(svg.contains(">deposited 2,500.00<") && svg.contains(">withdrawn 170.00<") && svg.contains(">withdrawn 0.00<"))
    }

    @Test func balanceLinesStepBetweenEntries() {
        let series = BalanceSeries(account: "C100", entries: 3, points: [
            BalancePoint(date: TransactionDate(parsing: "2024-01-01 00:00:00")!, balance: Money(cents: 100_000)),
            BalancePoint(date: TransactionDate(parsing: "2024-01-03 00:00:00")!, balance: Money(cents: -5_000)),
        ])
        let svg = SVGCharts.balance(series, id: "c")
        #expect(svg.contains("<path d=\"M110,10H628V120\""))
        #expect(svg.contains("class=\"zero-line\""), "a balance below zero draws the zero line")
        #expect(svg.contains(">1,000.00<") && svg.contains(">-50.00<"))
        #expect(SVGCharts.fixed(1.005) == "1" || SVGCharts.fixed(1.005) == "1.01")
        #expect(SVGCharts.fixed(-0.5) == "-0.5" && SVGCharts.fixed(12.34) == "12.34" && SVGCharts.fixed(3) == "3")
    }
}

@Suite struct RenderCacheTests {
    @Test func concurrentRequestsShareOneRendering() async throws {
        let cache = RenderCache()
        final class Counter: Sendable { let value = Mutex(0) }
        let renders = Counter()
        let key = RenderCache.Key(version: 1, kind: .views, query: DashboardQuery())
        try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await cache.value(for: key) {
                        renders.value.withLock { $0 += 1 }
                        try await Task.sleep(for: .milliseconds(20))
                        return [1, 2, 3]
                    }
                }
            }
            for try await value in group { #expect(value == [1, 2, 3]) }
        }
        #expect(renders.value.withLock { $0 } == 1)
        // A newer version replaces the older renderings.
        _ = try await cache.value(for: RenderCache.Key(version: 2, kind: .views, query: DashboardQuery())) { [4] }
        #expect(cache.count == 1)
    }

    @Test func aFailedRenderingIsTriedAgain() async throws {
        struct Failure: Error {}
        let cache = RenderCache()
        let key = RenderCache.Key(version: 1, kind: .views, query: DashboardQuery())
        await #expect(throws: Failure.self) { try await cache.value(for: key) { throw Failure() } }
        #expect(try await cache.value(for: key) { [9] } == [9])
    }
}

@Suite struct SerialReaderTests {
    @Test func oneCallerAtATimeAndSnapshotsNest() async throws {
        let fixture = try Fixture()
        let reader = fixture.dashboard.reader
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await reader.withSnapshot {
                        // A report inside a snapshot reads in it (SQLite refuses a transaction within a transaction).
                        try await ReportData.load(from: reader, query: ReportQuery(location: "x", sink: "sqlite")).header.entries
                    }
                }
            }
            for try await entries in group { #expect(entries == 5) }
        }
    }
}

@Suite struct AsyncGateTests {
    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let gate = AsyncGate()
        try await gate.acquire()
        let waiter = Task { try await gate.acquire() }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        let next = Task {
            try await gate.acquire()
            gate.release()
        }
        gate.release()
        try await next.value  // let in: the cancelled waiter did not keep the place
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await gate.acquire()
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        try await gate.acquire()  // nobody holds it
        gate.release()
    }
}

@Suite struct AllowedHostsTests {
    @Test func aLoopbackServerAnswersToLoopbackNamesOnly() async throws {
        #expect(Dashboard.Configuration.allowedHosts(bindingTo: "127.0.0.1") == ["localhost", "127.0.0.1", "[::1]"])
        #expect(Dashboard.Configuration.allowedHosts(bindingTo: "0.0.0.0") == nil)
        let fixture = try Fixture(allowedHosts: Dashboard.Configuration.allowedHosts(bindingTo: "127.0.0.1"))
        #expect(await fixture.get("/healthz", headers: [("Host", "127.0.0.1:8501")]).status == 200)
        #expect(await fixture.get("/healthz", headers: [("Host", "LOCALHOST:8501")]).status == 200)
        #expect(await fixture.get("/healthz", headers: [("Host", "[::1]:8501")]).status == 200)
        let rebound = await fixture.get("/api/accounts", headers: [("Host", "attacker.example:8501")])
        #expect(rebound.status == 421)
        #expect(rebound.text.contains("answers to 127.0.0.1, [::1], localhost only"))
    }
}
