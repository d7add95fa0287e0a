import Ledger
import Report
import Testing

@testable import Dashboard

/// Every route of the dashboard on a ledger the real sink filled: what the page and the JSON show, and what is refused.
@Suite struct DashboardRoutesTests {
    @Test func thePageShowsTheFiveViewsOfTheSample() async throws {
        let fixture = try Fixture()
        let response = await fixture.get("/")
        #expect(response.status == 200)
        #expect(response.contentType == "text/html; charset=utf-8")
        let page = response.text
        for id in ["transactions", "heatmap", "bars", "balances", "reconciliation"] { #expect(page.contains("<section id=\"\(id)\"")) }
        #expect(page.contains("5 entries, 2 accounts"))
        #expect(page.contains("<td class=\"num\">830.00</td>"))
        #expect(page.contains("C100 · 3 entries · 1,000.00 → 830.00"))
        #expect(page.contains("C200 · 2 entries · 2,500.00 → 2,300.00"))
        #expect(page.contains("deposited 2,500.00") && page.contains("withdrawn 170.00"))
        #expect(page.contains("No balance mismatches and no negative balances."))
        #expect(!page.contains("id=\"desk\""), "the desk is off unless asked for")
        // Nothing from elsewhere: no external script, style sheet or font.
        #expect(!page.contains("http://") || !page.contains("src=\"http"))
        #expect(!page.contains("<link rel=\"stylesheet\""))
    }

    @Test func theTableSortsAndPages() async throws {
        let fixture = try Fixture()
        let byAmount = await fixture.get("/api/transactions?sort=amount&dir=desc&size=2&page=2")
        #expect(byAmount.status == 200)
        #expect(byAmount.text.contains("\"pages\":3") && byAmount.text.contains("\"total\":5"))
        let amounts = byAmount.text.matches(of: /"amount_cents":(\d+)/).map { Int($0.1)! }
        #expect(amounts == [20_000, 14_500])
        let newest = await fixture.get("/views")
        let dates = newest.text.matches(of: /<tr><td>(2024-01-0\d)/).map { String($0.1) }
        #expect(dates == ["2024-01-05", "2024-01-04", "2024-01-03", "2024-01-02", "2024-01-01"])
        let period = await fixture.get("/api/transactions?from=2024-01-02&to=2024-01-03")
        #expect(period.text.contains("\"total\":2"))
        let byAccount = await fixture.get("/views?sort=account&dir=asc")
        #expect(byAccount.text.contains("aria-sort=\"ascending\""))
        #expect(byAccount.text.matches(of: /<td>(C\d00)<\/td>/).map { String($0.1) } == ["C100", "C100", "C100", "C200", "C200"])
    }

    @Test func theReportJSONIsTheReportCommandsObject() async throws {
        let fixture = try Fixture()
        let response = await fixture.get("/api/report?from=2024-01-02&top=1")
        #expect(response.status == 200)
        let reader = LedgerQueries(database: try LedgerDatabase.open(path: fixture.path, readOnly: true))
        let expected = ReportJSON.render(try await ReportData.load(from: reader, query: ReportQuery(
            period: ReportPeriod(from: "2024-01-02"), pageSize: 20, top: 1, location: "test.db", sink: "sqlite")))
        #expect(response.text == expected + "\n")
    }

    @Test func accountsAndHistory() async throws {
        let fixture = try Fixture()
        let accounts = await fixture.get("/api/accounts")
        #expect(accounts.text.contains("{\"account\":\"C100\",\"balance_cents\":83000,\"entries\":3,"))
        let history = await fixture.get("/api/history?account=C100&count=2")
        #expect(history.text.matches(of: /"balance_cents":(\d+),"stated/).map { Int($0.1)! } == [97_500, 83_000])
        #expect(await fixture.get("/api/history?account=C999").status == 404)
        #expect(await fixture.get("/api/history").status == 400)
        #expect(await fixture.get("/api/history?account=C100&count=0").status == 400)
    }

    @Test func badRequestsSayWhatIsWrong() async throws {
        let fixture = try Fixture()
        let cases: [(String, Int, String)] = [
            ("/nowhere", 404, "no such page"), ("/?from=2024-13-01", 400, "from must be a date YYYY-MM-DD"),
            ("/?to=05/01/2024", 400, "to must be a date YYYY-MM-DD"),
            ("/?from=2024-02-01&to=2024-01-01", 400, "is after"), ("/?sort=colour", 400, "sort must be one of"),
            ("/?dir=up", 400, "dir must be asc or desc"), ("/?page=0", 400, "page must be"), ("/?size=501", 400, "size must be"),
            ("/api/report?limit=-1", 400, "limit must be"), ("/desk/panel?account=C100", 404, "the desk is off"),
        ]
        for (uri, status, message) in cases {
            let response = await fixture.get(uri)
            #expect(response.status == status, "\(uri)")
            #expect(response.text.contains(message), "\(uri): \(response.text)")
        }
        let api = await fixture.get("/api/transactions?sort=x")
        #expect(api.contentType == "application/json" && api.text.hasPrefix("{\"error\":"))
        guard case .response(let wrongMethod) = await fixture.dashboard.handle(DashboardRequest(method: "DELETE", uri: "/")) else {
            Issue.record("no response")
            return
        }
        #expect(wrongMethod.status == 405 && wrongMethod.headers.contains { $0 == ("Allow", "GET, HEAD") })
        #expect(await fixture.post("/desk/login", form: "token=x").status == 404)
    }

    @Test func namesAreEscapedEverywhere() async throws {
        let fixture = try Fixture([Fixture.event("2024-01-01 00:00:00", "<script>alert(1)</script>", 100)])
        let page = await fixture.get("/?account=%3Cb%3E")
        #expect(!page.text.contains("<script>alert"))
        #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!page.text.contains("<b>"))
    }

    @Test func anEmptyLedgerSaysHowItFills() async throws {
        let fixture = try Fixture([])
        let page = await fixture.get("/")
        #expect(page.status == 200)
        #expect(page.text.contains("No transactions applied yet"))
        #expect(page.text.contains("ledgerstream consume --sink sqlite"))
    }

    @Test func theEventStreamFollowsTheLedgerVersion() async throws {
        let fixture = try Fixture(desk: true)
        let first = try #require(try await fixture.dashboard.poll())
        #expect(first.entries == 5 && first.accounts == 2 && first.serial == 1)
        #expect(try await fixture.dashboard.poll() == nil, "no change, no event")
        _ = try await fixture.desk!.publish(Fixture.event("2024-02-01 00:00:00", "C300", 500))
        let second = try #require(try await fixture.dashboard.poll())
        #expect(second.entries == 6 && second.accounts == 3 && second.serial == 2)
        #expect(Dashboard.event(second) == "event: ledger\ndata: {\"version\":2,\"entries\":6,\"accounts\":3}\n\n")
        guard case .eventStream = await fixture.dashboard.handle(DashboardRequest(method: "GET", uri: "/events")) else {
            Issue.record("/events is not a stream")
            return
        }
        // The views of the new version show the new account (the cache is per version).
        #expect(await fixture.get("/views").text.contains("C300"))
    }
}
