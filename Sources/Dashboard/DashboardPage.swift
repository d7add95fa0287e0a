import Ledger
import Report

/// What the dashboard's views show, read in one snapshot: the report's sections and one page of the sortable table.
public struct DashboardViewData: Sendable, Equatable {
    public var report: ReportData
    /// The table's page, in the query's sort order.
    public var rows: [LedgerEntry]
    /// Entries in the period (what the pager counts).
    public var total: Int

    public init(report: ReportData, rows: [LedgerEntry], total: Int) {
        self.report = report
        self.rows = rows
        self.total = total
    }
}

/// The dashboard as HTML: the page around the views (header, navigation, the period form, the desk), and the views
/// themselves, which the page's script swaps in place when the ledger changes. Plain semantic HTML: headings and
/// landmarks, tables with captions and scoped headers, links for sorting and paging (everything works without the
/// script, which only keeps the views live and submits the desk's forms in place).
enum DashboardPage {
    struct Context {
        var query: DashboardQuery
        var location: String
        /// Nil when the desk is off; else the desk's HTML (login form or panel).
        var desk: String?
        var accounts: [String]
    }

    static func page(viewsHTML: String, entries: Int, accountCount: Int, context: Context, assets: DashboardAssets) -> String {
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>ledgerstream ledger — \(escaped(context.location))</title>
            <link rel="icon" href="data:,">
            <style>\(assets.css)</style>
            </head><body>
            <a class="skip" href="#views">Skip to the ledger</a>
            <header><h1>ledgerstream</h1>
            <p class="where">Ledger <code>\(escaped(context.location))</code> · <span id="size">\(plural(entries, "entry", "entries")), \(plural(accountCount, "account"))</span></p>
            <p id="live" role="status" aria-live="polite">Live updates start when the page has loaded.</p>
            </header>
            <nav aria-label="Sections"><ul>
            <li><a href="#transactions">Transactions</a></li><li><a href="#heatmap">Heatmap</a></li>
            <li><a href="#bars">Deposits and withdrawals</a></li><li><a href="#balances">Balances</a></li>
            <li><a href="#reconciliation">Reconciliation</a></li>\(context.desk == nil ? "" : "<li><a href=\"#desk\">Desk</a></li>")
            </ul></nav>
            <main>
            \(filterForm(context))
            \(viewsHTML)
            """
        if let desk = context.desk { html += desk }
        html += "</main>\n<script>\(assets.script)</script>\n</body></html>\n"
        return html
    }

    static func filterForm(_ context: Context) -> String {
        let query = context.query
        // A list to pick from while typing, for ledgers of a size a list helps with.
        let list = context.accounts.count <= 2000 ? context.accounts : []
        return """
            <form id="period" method="get" action="/" role="search" aria-labelledby="period-h">
            <h2 id="period-h">Period and accounts</h2>
            <div class="fields">
            <label>From <input type="date" name="from" value="\(escaped(query.period.from ?? ""))"></label>
            <label>To <input type="date" name="to" value="\(escaped(query.period.to ?? ""))"></label>
            <label>Account charted <input type="text" name="account" list="account-names" autocomplete="off" value="\(escaped(query.account ?? ""))" placeholder="the most active"></label>
            <label>Accounts in charts <input type="number" name="top" min="0" max="\(DashboardQuery.maxTop)" value="\(query.top)"></label>
            <button type="submit">Show</button> <a href="/">Reset</a>
            </div>
            <datalist id="account-names">\(list.map { "<option value=\"\(escaped($0))\">" }.joined())</datalist>
            </form>
            """
    }

    /// The live part of the page: the five views and the reconciliation issues.
    static func views(_ data: DashboardViewData, query: DashboardQuery, version: Int64) -> String {
        let report = data.report
        let period = report.period.description
        guard !report.isEmpty else {
            return """
                <div id="views" data-version="\(version)"><section id="transactions" aria-labelledby="transactions-h"><h2 id="transactions-h">Transactions</h2>
                <p>No transactions applied yet: the ledger fills as <code>ledgerstream consume --sink \(escaped(report.header.sink))</code> applies them. This page follows it live.</p></section></div>
                """
        }
        var html = "<div id=\"views\" data-version=\"\(version)\">\n"
        html += transactions(data, query: query, period: period)
        html += section("heatmap", "Transactions per account and type", period: period, omitted: report.activity.omitted) {
            SVGCharts.heatmap(report.activity, id: "heatmap-chart") + dataTable(
                caption: "Transactions per account and type", header: ["Account", "Deposits", "Withdrawals"], numeric: [1, 2],
                rows: report.activity.accounts.map { [$0.account, grouped($0.deposits), grouped($0.withdrawals)] })
        }
        html += section("bars", "Deposits and withdrawals per account", period: period, omitted: report.activity.omitted) {
            SVGCharts.bars(report.activity, id: "bars-chart") + dataTable(
                caption: "Amounts per account", header: ["Account", "Deposited", "Withdrawn"], numeric: [1, 2],
                rows: report.activity.accounts.map { [$0.account, $0.deposited.grouped, $0.withdrawn.grouped] })
        }
        html += section("balances", "Balance over time", period: period, omitted: report.balances.omitted) {
            let drawn = report.balances.series.filter { !$0.points.isEmpty }
            guard !drawn.isEmpty else {
                return "<p>No transactions\(report.balances.chosenAccount.map { " for account " + escaped($0) } ?? "") in this period.</p>"
            }
            return drawn.enumerated().map { index, series in
                "<figure><figcaption>\(escaped(series.account)) · \(plural(series.entries, "entry", "entries")) · "
                    + "\(series.points.first!.balance.grouped) → \(series.points.last!.balance.grouped)</figcaption>"
                    + SVGCharts.balance(series, id: "balance-\(index)") + "</figure>"
            }.joined(separator: "\n")
        }
        html += reconciliation(report.reconciliation)
        return html + "</div>\n"
    }

    private static func section(_ id: String, _ title: String, period: String, omitted: Int, _ body: () -> String) -> String {
        var html = "<section id=\"\(id)\" aria-labelledby=\"\(id)-h\"><h2 id=\"\(id)-h\">\(escaped(title))</h2>"
        html += "<p class=\"note\">\(escaped(period))"
        if omitted > 0 { html += " · \(plural(omitted, "more account")) not shown: raise “Accounts in charts” or choose one" }
        return html + "</p>\n" + body() + "</section>\n"
    }

    static func transactions(_ data: DashboardViewData, query: DashboardQuery, period: String) -> String {
        let pages = max(1, (data.total + query.pageSize - 1) / query.pageSize)
        let first = data.total == 0 ? 0 : (query.page - 1) * query.pageSize + 1
        let last = (query.page - 1) * query.pageSize + data.rows.count
        var html = "<section id=\"transactions\" aria-labelledby=\"transactions-h\"><h2 id=\"transactions-h\">Transactions</h2>\n"
        html += "<p class=\"note\">\(escaped(period)) · rows \(grouped(first))–\(grouped(last)) of \(grouped(data.total))</p>\n"
        html += "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"transactions-h\"><table class=\"entries\">"
        html += "<caption>Transactions, \(escaped(period)), sorted by \(query.sort.column.rawValue) \(query.sort.descending ? "descending" : "ascending")</caption><thead><tr>"
        let columns: [(TransactionSort.Column?, String, Bool)] = [
            (.date, "Date", false), (.account, "Account", false), (.type, "Type", false), (.amount, "Amount", true),
            (.balance, "Balance", true), (nil, "Stated balance", true), (nil, "Partition · offset", true),
        ]
        for (column, title, numeric) in columns {
            let numericClass = numeric ? " class=\"num\"" : ""
            guard let column else {
                html += "<th scope=\"col\"\(numericClass)>\(title)</th>"
                continue
            }
            let current = query.sort.column == column
            let ariaSort = current ? " aria-sort=\"\(query.sort.descending ? "descending" : "ascending")\"" : ""
            let next = query.queryString {
                $0.sort = TransactionSort(column, descending: current ? !query.sort.descending : column == .date)
                $0.page = 1
            }
            let arrow = current ? (query.sort.descending ? " ▼" : " ▲") : ""
            html += "<th scope=\"col\"\(numericClass)\(ariaSort)><a href=\"/\(escaped(next))#transactions\">\(title)\(arrow)</a></th>"
        }
        html += "</tr></thead><tbody>\n"
        for entry in data.rows {
            let flagged = entry.statedBalance.map { $0 != entry.balance } ?? false
            html += "<tr\(flagged ? " class=\"flagged\"" : "")><td>\(entry.date)</td><td>\(escaped(entry.account))</td><td>\(entry.type.rawValue)</td>"
            html += "<td class=\"num\">\(entry.amount.grouped)</td><td class=\"num\">\(entry.balance.grouped)</td>"
            html += "<td class=\"num\">\(entry.statedBalance.map { $0.grouped + (flagged ? " (differs)" : "") } ?? "—")</td>"
            html += "<td class=\"num\">\(entry.partition) · \(entry.offset)</td></tr>\n"
        }
        html += "</tbody></table></div>\n"
        guard pages > 1 else { return html + "</section>\n" }
        func link(_ page: Int, _ label: String, rel: String) -> String {
            guard page != query.page, (1...pages).contains(page) else { return "<span aria-disabled=\"true\">\(label)</span>" }
            return "<a href=\"/\(escaped(query.queryString { $0.page = page }))#transactions\" rel=\"\(rel)\">\(label)</a>"
        }
        html += "<nav class=\"pager\" aria-label=\"Transaction pages\">"
        html += link(1, "« First", rel: "first") + link(query.page - 1, "‹ Previous", rel: "prev")
        html += "<span aria-current=\"page\">Page \(grouped(query.page)) of \(grouped(pages))</span>"
        html += link(query.page + 1, "Next ›", rel: "next") + link(pages, "Last »", rel: "last") + "</nav>\n"
        return html + "</section>\n"
    }

    static func reconciliation(_ summary: ReconciliationSummary) -> String {
        var html = "<section id=\"reconciliation\" aria-labelledby=\"reconciliation-h\"><h2 id=\"reconciliation-h\">Reconciliation</h2>\n"
        guard summary.total > 0 else { return html + "<p>No balance mismatches and no negative balances.</p></section>\n" }
        html += "<p>\(plural(summary.counts.balanceMismatches, "balance mismatch", "balance mismatches")) · "
        html += "\(plural(summary.counts.negativeBalances, "negative balance"))"
        if summary.omitted > 0 { html += " · the latest \(summary.latest.count) listed" }
        html += "</p>\n"
        return html + dataTable(
            caption: "Reconciliation issues, latest last", header: ["Date", "Account", "Issue", "Stated", "Derived", "Partition · offset"],
            numeric: [3, 4, 5], open: true,
            rows: summary.latest.map { issue in
                [issue.date, issue.account, issue.kind == .balanceMismatch ? "balance mismatch" : "negative balance",
                 issue.stated?.grouped ?? "—", issue.derived.grouped, "\(issue.partition) · \(issue.offset)"]
            }) + "</section>\n"
    }

    /// A table of a chart's numbers, folded away unless `open`.
    static func dataTable(caption: String, header: [String], numeric: Set<Int>, open: Bool = false, rows: [[String]]) -> String {
        var html = open ? "" : "<details><summary>\(escaped(caption)) as a table</summary>"
        html += "<div class=\"scroll\"><table><caption>\(escaped(caption))</caption><thead><tr>"
        for (index, title) in header.enumerated() {
            html += "<th scope=\"col\"\(numeric.contains(index) ? " class=\"num\"" : "")>\(escaped(title))</th>"
        }
        html += "</tr></thead><tbody>"
        for row in rows {
            html += "<tr>" + row.enumerated().map { index, cell in
                index == 0 ? "<th scope=\"row\">\(escaped(cell))</th>"
                    : "<td\(numeric.contains(index) ? " class=\"num\"" : "")>\(escaped(cell))</td>"
            }.joined() + "</tr>"
        }
        return html + "</tbody></table></div>" + (open ? "" : "</details>") + "\n"
    }
}
