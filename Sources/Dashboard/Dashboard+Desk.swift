import FoundationEssentials
import Ledger
import Shell

/// The desk: the shell's deposit and withdrawal as forms, behind the desk token.
///
/// A browser logs in once (the session cookie is HttpOnly and SameSite=Strict) and every form it posts carries the
/// session's anti-forgery token; a request whose `Origin` is another site is refused as well. Scripts send
/// `Authorization: Bearer TOKEN` instead. Nothing is produced for a request that is not authorised.
extension Dashboard {
    static let historyShown = 10

    /// The desk's section of the page, or nil when the desk is off.
    func deskSection(request: DashboardRequest) async throws -> String? {
        guard let sessions else { return nil }
        let session = currentSession(request)
        let chosen = FormFields(parsing: request.query)["desk"]
        var panel: String?
        if let session, let chosen { panel = try await deskPanelHTML(account: chosen, csrf: session.csrf) }
        let flash = session.flatMap { sessions.takeFlash(id: $0.id) }
        return DeskPage.section(session: session, panel: panel, chosen: chosen, flash: flash)
    }

    func deskPanelHTML(account: String, csrf: String) async throws -> String {
        let summary = try await reader.accounts().first { $0.account == account }
        let history = summary == nil ? [] : try await reader.history(account: account, count: Self.historyShown)
        return DeskPage.panel(account: account, summary: summary, history: history, csrf: csrf)
    }

    func deskPanel(_ fields: FormFields, request: DashboardRequest) async throws -> DashboardResponse {
        guard sessions != nil else { throw DashboardError.notFound("the desk is off: start the server with --desk") }
        guard let session = currentSession(request) else { throw DashboardError.unauthorized("log in to the desk first") }
        guard let account = fields["account"] else { throw DashboardError.badRequest("account is required") }
        return .html(try await deskPanelHTML(account: account, csrf: session.csrf))
    }

    func currentSession(_ request: DashboardRequest) -> DeskSessions.Session? {
        guard let sessions, let id = DeskSessions.sessionID(cookieHeader: request.header("cookie")) else { return nil }
        return sessions.session(id: id, now: time.monotonicNanos())
    }

    /// Refuses a browser request sent from another site (`Origin` or `Sec-Fetch-Site` say so).
    func checkSameOrigin(_ request: DashboardRequest) throws(DashboardError) {
        if let site = request.header("sec-fetch-site"), site != "same-origin", site != "none" {
            throw .forbidden("refused: the request came from another site (\(site))")
        }
        // "null" is an opaque origin (a sandboxed frame, a redirect from elsewhere): not this dashboard either.
        if let origin = request.header("origin"),
           origin == "null" || request.header("host").map({ origin != "http://\($0)" && origin != "https://\($0)" }) ?? true {
            throw .forbidden("refused: the request came from \(origin.prefix(100)), not from this dashboard")
        }
    }

    /// The fields of a posted form or JSON object, bodies of other types refused.
    func postedFields(_ request: DashboardRequest) throws(DashboardError) -> FormFields {
        let type = request.header("content-type") ?? ""
        if type.hasPrefix("application/x-www-form-urlencoded") || (type.isEmpty && request.body.isEmpty) {
            return FormFields(parsing: Substring(String(decoding: request.body, as: UTF8.self)))
        }
        if type.hasPrefix("application/json") {
            guard let object = try? JSONDecoder().decode([String: String].self, from: Data(request.body)) else {
                throw .badRequest("the body must be a JSON object of strings, such as {\"account\": \"C1\", \"type\": \"deposit\", \"amount\": \"125.50\"} (amounts as exact decimal strings)")
            }
            return FormFields(object.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) })
        }
        throw .unsupportedMediaType("send application/x-www-form-urlencoded or application/json, not \(type.prefix(60))")
    }

    func login(_ request: DashboardRequest) -> DashboardResponse {
        guard let sessions else { return Self.failure(.notFound("the desk is off"), json: request.answersInJSON) }
        do {
            try checkSameOrigin(request)
            let fields = try postedFields(request)
            switch sessions.login(token: fields["token"] ?? "", now: time.monotonicNanos()) {
            case .session(let session):
                let cookie = [(name: "Set-Cookie", value: DeskSessions.cookie(for: session))]
                if request.wantsJSON {
                    return .json(JSONValue.object([("csrf", .string(session.csrf))]).text + "\n", headers: cookie)
                }
                return .redirect("/#desk", headers: cookie)
            case .wrongToken:
                logger.warning("desk login refused: wrong token")
                throw DashboardError.unauthorized("wrong desk token")
            case .tooManyFailures:
                throw DashboardError.tooManyRequests("too many failed logins: wait a minute")
            }
        } catch {
            return Self.failure(error as? DashboardError ?? .badRequest("\(error)"), json: request.answersInJSON)
        }
    }

    func logout(_ request: DashboardRequest) throws -> DashboardResponse {
        try checkSameOrigin(request)
        if let session = currentSession(request) {
            guard try postedFields(request)["csrf"] == session.csrf else { throw DashboardError.forbidden("refused: the form's anti-forgery token does not match") }
            sessions?.logout(id: session.id)
        }
        let cookie = [(name: "Set-Cookie", value: DeskSessions.cookie(for: nil))]
        return request.wantsJSON ? .json("{}\n", headers: cookie) : .redirect("/#desk", headers: cookie)
    }

    /// Who is asking: a session whose form carries its anti-forgery token, or the bearer of the desk token.
    private func authorise(_ request: DashboardRequest, fields: FormFields) throws(DashboardError) -> DeskSessions.Session? {
        guard let sessions else { throw .notFound("the desk is off") }
        // Only a Bearer header is the desk's: another scheme (a proxy's Basic login) leaves the session to decide.
        if let authorization = request.header("authorization"), authorization.hasPrefix("Bearer ") {
            switch sessions.check(token: String(authorization.dropFirst(7)), now: time.monotonicNanos()) {
            case .accepted: return nil
            case .wrongToken:
                logger.warning("desk request refused: wrong bearer token")
                throw .unauthorized("wrong desk token")
            case .tooManyFailures: throw .tooManyRequests("too many wrong desk tokens: wait a minute")
            }
        }
        try checkSameOrigin(request)
        guard let session = currentSession(request) else {
            throw .unauthorized("log in to the desk first (or send Authorization: Bearer with the desk token)")
        }
        guard let csrf = fields["csrf"] ?? request.header("x-csrf-token"), csrf == session.csrf else {
            throw .forbidden("refused: the form's anti-forgery token does not match (reload the page)")
        }
        return session
    }

    func transact(_ request: DashboardRequest) async throws -> DashboardResponse {
        let fields = try postedFields(request)
        let session = try authorise(request, fields: fields)
        guard let desk else { throw DashboardError.notFound("the desk is off") }
        let json = request.wantsJSON || session == nil
        guard let account = fields["account"] else { throw DashboardError.badRequest("account is required") }
        let type: TransactionType
        switch fields["type"] {
        case "deposit": type = .deposit
        case "withdrawal", "withdraw": type = .withdrawal
        default: throw DashboardError.badRequest("type must be deposit or withdrawal")
        }
        guard try await reader.accounts().contains(where: { $0.account == account }) else {
            throw DashboardError.notFound("unknown account '\(account.prefix(100))'")
        }
        let teller = Teller(backend: desk, applyTimeoutMs: configuration.applyTimeoutMs)
        let outcome: TellerOutcome
        try await deskGate.acquire()
        defer { deskGate.release() }
        do {
            outcome = try await teller.transact(account: account, amountText: fields["amount"] ?? "", type: type)
            // The next requests and the viewers see the ledger with this transaction, not as of the last poll.
            _ = try? await poll()
        } catch {
            logger.warning("desk \(type.rawValue) for \(account) failed: \(error)")
            throw DashboardError.unavailable("the \(type.rawValue) was not confirmed: \(error) — the balance shown on the desk says whether it arrived")
        }
        let (status, name, message, note, balance): (Int, String, String, String?, Money?)
        switch outcome {
        case .applied(let text, let after, let remark): (status, name, message, note, balance) = (200, "applied", text, remark, after)
        case .refused(let text): (status, name, message, note, balance) = (422, "refused", text, nil, nil)
        case .notYetApplied(let text): (status, name, message, note, balance) = (202, "not_yet_applied", text, nil, nil)
        }
        logger.info("desk \(type.rawValue) for \(account): \(name)")
        if json {
            return .json(JSONValue.object([
                ("outcome", .string(name)), ("message", .string(message)), ("note", .optional(note)),
                ("balance_cents", balance.map { .int($0.cents) } ?? .null),
            ]).text + "\n", status: status)
        }
        if let session {
            sessions?.setFlash(id: session.id, message + (note.map { " " + $0 } ?? ""), refused: name != "applied")
        }
        return .redirect("/?desk=\(FormFields.encode(account))#desk")
    }
}
