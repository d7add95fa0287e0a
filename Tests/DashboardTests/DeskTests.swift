import Ledger
import Testing

@testable import Dashboard

/// The desk: the login, who may post, and the shell's validation and messages.
@Suite struct DeskTests {
    @Test func aLoggedInAgentDepositsAndSeesTheNewBalance() async throws {
        let fixture = try Fixture(desk: true)
        let login = try await fixture.login()
        let page = await fixture.get("/?desk=C100", headers: [login.cookie])
        #expect(page.text.contains("id=\"desk-balance\">830.00<"))
        #expect(page.text.contains("name=\"csrf\" value=\"\(login.csrf)\""))
        let response = await fixture.post("/desk/transaction", form: "account=C100&type=deposit&amount=100.25&csrf=\(login.csrf)",
                                          headers: [login.cookie, ("Accept", "application/json")])
        #expect(response.status == 200)
        #expect(response.text == "{\"outcome\":\"applied\",\"message\":\"deposit of 100.25 applied — C100 balance 930.25\",\"note\":null,\"balance_cents\":93025}\n")
        #expect(fixture.desk!.published.map(\.statedBalance) == [Money(cents: 93_025)])
        // Without the script: a redirect back to the desk, and the message once on the next page.
        // A proxy's Basic login in front of the dashboard leaves the desk's session to decide.
        let behindProxy = await fixture.post("/desk/transaction", form: "account=C100&type=deposit&amount=0.25&csrf=\(login.csrf)",
                                             headers: [login.cookie, ("Authorization", "Basic cHJveHk6c2VjcmV0"), ("Accept", "application/json")])
        #expect(behindProxy.status == 200 && behindProxy.text.contains("C100 balance 930.50"))
        let plain = await fixture.post("/desk/transaction", form: "account=C100&type=withdrawal&amount=0.25&csrf=\(login.csrf)",
                                       headers: [login.cookie])
        #expect(plain.status == 303 && plain.headers.contains { $0 == ("Location", "/?desk=C100#desk") })
        let next = await fixture.get("/?desk=C100", headers: [login.cookie])
        #expect(next.text.contains("withdrawal of 0.25 applied — C100 balance 930.25"))
        #expect(!(await fixture.get("/?desk=C100", headers: [login.cookie])).text.contains("withdrawal of 0.25 applied"))
    }

    @Test func refusalsUseTheShellsMessages() async throws {
        let fixture = try Fixture(desk: true)
        let bearer = ("Authorization", "Bearer \(Fixture.token)")
        let cases = [
            ("deposit", "abc", "'abc' is not an amount (use digits with at most two decimals, for example 125.50)"),
            ("deposit", "1.234", "'1.234' has more than two decimals (cents are the smallest unit)"),
            ("deposit", "0", "the amount must be greater than zero (got 0)"),
            ("withdrawal", "5000", "refused: withdrawing 5,000.00 would take C100 below zero (balance 830.00)"),
        ]
        for (type, amount, message) in cases {
            let response = await fixture.post("/desk/transaction", form: "account=C100&type=\(type)&amount=\(amount)", headers: [bearer])
            #expect(response.status == 422)
            #expect(response.text.contains("\"outcome\":\"refused\",\"message\":\"\(message)\""), "\(response.text)")
        }
        #expect(fixture.desk!.published.isEmpty, "nothing produced for a refused transaction")
        let unknown = await fixture.post("/desk/transaction", form: "account=C999&type=deposit&amount=1", headers: [bearer])
        #expect(unknown.status == 404)
        let json = await fixture.dashboard.handle(DashboardRequest(
            method: "POST", uri: "/api/desk/transactions", headers: [("Content-Type", "application/json"), bearer],
            body: Array(#"{"account":"C200","type":"withdrawal","amount":"300"}"#.utf8)))
        guard case .response(let applied) = json else { Issue.record("no response"); return }
        #expect(applied.status == 200 && applied.text.contains("C200 balance 2,000.00"))
        let number = await fixture.dashboard.handle(DashboardRequest(
            method: "POST", uri: "/api/desk/transactions", headers: [("Content-Type", "application/json"), bearer],
            body: Array(#"{"account":"C200","type":"deposit","amount":12.5}"#.utf8)))
        guard case .response(let refusedNumber) = number else { Issue.record("no response"); return }
        #expect(refusedNumber.status == 400 && refusedNumber.text.contains("amounts as exact decimal strings"))
    }

    @Test func nothingIsWrittenWithoutTheToken() async throws {
        let fixture = try Fixture(desk: true)
        let form = "account=C100&type=deposit&amount=1"
        #expect(await fixture.post("/desk/transaction", form: form).status == 401)
        #expect(await fixture.post("/desk/transaction", form: form, headers: [("Authorization", "Bearer wrong")]).status == 401)
        #expect(await fixture.post("/desk/transaction", form: form, headers: [("Cookie", "ledgerstream_desk=forged")]).status == 401)
        let login = try await fixture.login()
        #expect(await fixture.post("/desk/transaction", form: form, headers: [login.cookie]).status == 403, "no anti-forgery token")
        #expect(await fixture.post("/desk/transaction", form: form + "&csrf=\(login.csrf)",
                                   headers: [login.cookie, ("Origin", "http://evil.example"), ("Host", "127.0.0.1:8501")]).status == 403)
        #expect(await fixture.post("/desk/transaction", form: form + "&csrf=\(login.csrf)",
                                   headers: [login.cookie, ("Sec-Fetch-Site", "cross-site")]).status == 403)
        #expect(await fixture.post("/desk/transaction", form: form + "&csrf=\(login.csrf)",
                                   headers: [login.cookie, ("Origin", "null")]).status == 403, "an opaque origin is not this dashboard")
        #expect(await fixture.get("/desk/panel?account=C100").status == 401)
        #expect(fixture.desk!.published.isEmpty)
        #expect(await fixture.post("/desk/login", form: "token=nope").status == 401)
        // Logging out ends the session.
        #expect(await fixture.post("/desk/logout", form: "csrf=\(login.csrf)", headers: [login.cookie]).status == 303)
        #expect(await fixture.post("/desk/transaction", form: form + "&csrf=\(login.csrf)", headers: [login.cookie]).status == 401)
    }
}

@Suite struct DeskSessionsTests {
    @Test func failedLoginsAreLimitedAndSessionsExpire() {
        let sessions = DeskSessions(token: Fixture.token)
        for attempt in 0..<DeskSessions.maxFailuresPerWindow {
            #expect(sessions.login(token: "guess-\(attempt)", now: 1_000) == .wrongToken)
        }
        #expect(sessions.login(token: Fixture.token, now: 2_000) == .tooManyFailures, "even the right token waits out the window")
        guard case .session(let session) = sessions.login(token: Fixture.token, now: 2_000 + DeskSessions.failureWindowNanos) else {
            Issue.record("no session after the window"); return
        }
        #expect(session.id.count == 64 && session.csrf.count == 64 && session.id != session.csrf)
        let later = 2_000 + DeskSessions.failureWindowNanos + DeskSessions.idleNanos
        #expect(sessions.session(id: session.id, now: later) != nil, "used within the idle time")
        #expect(sessions.session(id: session.id, now: later + DeskSessions.idleNanos + 1) == nil, "idle too long")
    }

    @Test func wrongBearerTokensCountTowardsTheSameLimit() async throws {
        let fixture = try Fixture(desk: true)
        let form = "account=C100&type=deposit&amount=1"
        for attempt in 0..<DeskSessions.maxFailuresPerWindow {
            let response = await fixture.post("/desk/transaction", form: form, headers: [("Authorization", "Bearer guess-\(attempt)")])
            #expect(response.status == 401)
            #expect(response.contentType == "application/json", "a script that sends a bearer gets its errors as JSON")
        }
        let right = await fixture.post("/desk/transaction", form: form, headers: [("Authorization", "Bearer \(Fixture.token)")])
        #expect(right.status == 429, "while the limit holds even the right token waits")
        #expect(await fixture.post("/desk/login", form: "token=\(Fixture.token)").status == 429)
        fixture.time.advance(byMilliseconds: Int64(DeskSessions.failureWindowNanos / 1_000_000) + 1)
        let later = await fixture.post("/desk/transaction", form: form, headers: [("Authorization", "Bearer \(Fixture.token)")])
        #expect(later.status == 200)
        #expect(fixture.desk!.published.count == 1)
    }

    @Test func cookies() {
        #expect(DeskSessions.sessionID(cookieHeader: "a=1; ledgerstream_desk=abc ;b=2") == "abc")
        #expect(DeskSessions.sessionID(cookieHeader: "ledgerstream_deskx=abc") == nil)
        #expect(DeskSessions.cookie(for: nil).contains("Max-Age=0"))
    }
}
