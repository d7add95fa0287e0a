import Ledger
import Report

/// The desk's HTML: the login form, or the panel of the chosen account (its balance, the deposit and withdrawal
/// form, its latest entries). The message area sits outside the panel, so refreshing the panel keeps it.
enum DeskPage {
    static func section(session: DeskSessions.Session?, panel: String?, chosen: String?, flash: (message: String, refused: Bool)?) -> String {
        var html = "<section id=\"desk\" aria-labelledby=\"desk-h\"><h2 id=\"desk-h\">Desk</h2>\n"
        let messageClass = flash.map { $0.refused ? " class=\"refused\"" : " class=\"applied\"" } ?? ""
        let message = "<p id=\"desk-message\" role=\"status\" aria-live=\"polite\"\(messageClass)>\(escaped(flash?.message ?? ""))</p>\n"
        guard let session else {
            return html + """
                <p>Deposits and withdrawals are produced to the topic (acks=all, idempotent) and shown once the sink applied them. Log in with the desk token.</p>
                <form method="post" action="/desk/login">
                <div class="fields"><input type="text" name="username" value="desk" autocomplete="username" hidden><label>Desk token <input type="password" name="token" autocomplete="current-password" required></label>
                <button type="submit">Log in</button></div></form>
                \(message)</section>
                """
        }
        html += """
            <form method="get" action="/#desk" class="desk-account"><div class="fields">
            <label>Account <input type="text" name="desk" list="account-names" autocomplete="off" required value="\(escaped(chosen ?? ""))"></label>
            <button type="submit">Open</button></div></form>
            """
        html += message
        html += panel ?? "<p>Choose an account to see its balance and enter a deposit or a withdrawal.</p>\n"
        html += """
            <form method="post" action="/desk/logout"><input type="hidden" name="csrf" value="\(session.csrf)">
            <button type="submit">Log out of the desk</button></form></section>
            """
        return html
    }

    /// The chosen account's panel; `known` false when the ledger has no such account.
    static func panel(account: String, summary: AccountSummary?, history: [LedgerEntry], csrf: String) -> String {
        guard let summary else {
            return "<div id=\"desk-panel\" data-account=\"\(escaped(account))\"><p role=\"alert\">unknown account '\(escaped(account))' — choose one the ledger holds.</p></div>\n"
        }
        var html = "<div id=\"desk-panel\" data-account=\"\(escaped(account))\">\n"
        html += "<p class=\"balance\">Balance of <strong>\(escaped(summary.account))</strong>: <strong id=\"desk-balance\">\(summary.balance.grouped)</strong> "
        html += "<span class=\"note\">(\(plural(summary.entries, "entry", "entries")), last \(escaped(summary.lastDate)))</span></p>\n"
        html += """
            <form method="post" action="/desk/transaction" data-desk="transaction"><div class="fields">
            <input type="hidden" name="csrf" value="\(csrf)"><input type="hidden" name="account" value="\(escaped(summary.account))">
            <label>Amount <input type="text" name="amount" inputmode="decimal" autocomplete="off" required placeholder="125.50"></label>
            <button type="submit" name="type" value="deposit">Deposit</button>
            <button type="submit" name="type" value="withdrawal">Withdraw</button></div></form>
            """
        if history.isEmpty { return html + "<p>No entries yet.</p></div>\n" }
        html += DashboardPage.dataTable(
            caption: "Latest entries of \(summary.account), newest last", header: ["Date", "Type", "Amount", "Balance"], numeric: [2, 3],
            open: true, rows: history.map { [$0.date.description, $0.type.rawValue, $0.amount.grouped, $0.balance.grouped] })
        return html + "</div>\n"
    }
}
