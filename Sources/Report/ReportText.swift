import Ledger

/// The whole text report: a short header, then the sections matching the original five dashboards, then
/// reconciliation. Every line fits `width` columns (escape sequences aside).
public enum ReportText {
    /// Narrowest width laid out; anything narrower is drawn at this width.
    public static let minimumWidth = 30

    public static func render(_ data: ReportData, width requested: Int, style: TextStyle) -> [String] {
        guard !data.isEmpty else { return [emptyLine(data.header)] }
        let width = max(minimumWidth, requested)
        var lines = header(data.header, width: width, style: style)
        func section(_ name: String, period: ReportPeriod? = nil, _ body: [String]) {
            lines.append("")
            lines += title(name, period: period, width: width, style: style)
            lines += body
        }
        section("Transactions", TransactionsTable.render(data.recent, width: width, style: style))
        if data.period.isWholeLedger {
            section("Transactions by date", wrap("No period chosen: --from YYYY-MM-DD and --to YYYY-MM-DD (inclusive) pick one; "
                                                 + "the charts below follow it.", width: width))
        } else if data.filtered.total == 0 {
            section("Transactions", period: data.period, wrap("No transactions in this period.", width: width))
        } else {
            section("Transactions", period: data.period, TransactionsTable.render(data.filtered, width: width, style: style))
        }
        section("Transactions per account and type", period: data.period, Heatmap.render(data.activity, width: width, style: style))
        section("Deposited and withdrawn per account", period: data.period, StackedBars.render(data.activity, width: width, style: style))
        section("Balance over time", period: data.period, BalanceChart.render(data.balances, width: width, style: style))
        section("Reconciliation", ReconciliationTable.render(data.reconciliation, width: width, style: style))
        return lines
    }

    /// The one line an empty ledger gets instead of empty charts.
    public static func emptyLine(_ header: ReportHeader) -> String {
        let path = header.databasePath
        var line = "No transactions in \(path) yet: they appear once `ledgerstream consume --sink \(header.sink) --db \(path)` applies some."
        if header.rejectedRecords > 0 {
            line += " (\(plural(header.rejectedRecords, "record was", "records were")) rejected: see its rejected_records table.)"
        }
        return line
    }

    static func header(_ header: ReportHeader, width: Int, style: TextStyle) -> [String] {
        var lines = wrap(items: ["ledgerstream report", header.databasePath], separator: " · ", width: width)
        lines[0] = style.paint("ledgerstream report", .bold) + lines[0].dropFirst("ledgerstream report".count)
        lines += wrap(items: [
            plural(header.entries, "entry", "entries"),
            plural(header.accounts, "account"),
            plural(header.rejectedRecords, "rejected record"),
        ], separator: " · ", width: width)
        if header.sinkPositions.isEmpty {
            lines.append("sink: no record applied yet")
        } else {
            let positions = header.sinkPositions.map { "\($0.topic)-\($0.partition) \(grouped(Int($0.nextOffset)))" }
            let label = "sink next offsets: ".columns + positions[0].columns <= width ? "sink next offsets: " : "sink: "
            lines += wrap(items: positions, first: label, separator: " · ", width: width)
        }
        return lines
    }

    /// "── Title, period ─────…" across the width; when that is too long, the period goes on a line of its own.
    static func title(_ text: String, period: ReportPeriod?, width: Int, style: TextStyle) -> [String] {
        let combined = period.map { "\(text), \($0.description)" } ?? text
        if combined.columns + 4 <= width || period == nil { return [rule(combined, width: width, style: style)] }
        return [rule(text, width: width, style: style), style.paint(period!.description.truncated(to: width), .bold)]
    }

    static func rule(_ text: String, width: Int, style: TextStyle) -> String {
        let name = text.truncated(to: width - 4)
        let line = String(repeating: "─", count: max(0, width - name.columns - 4))
        return style.paint("── ", .dim) + style.paint(name, .bold) + style.paint(" " + line, .dim)
    }

    /// Items on as few lines as fit, separated by `separator`; lines after the first indented under `first`.
    static func wrap(items: [String], first: String = "", separator: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = first
        let indent = String(repeating: " ", count: first.columns)
        for item in items {
            let isLineStart = line == first || line == indent
            if !isLineStart && line.columns + separator.columns + item.columns > width {
                lines.append(line)
                line = indent
            }
            line += (line == first || line == indent ? "" : separator) + item
        }
        lines.append(line)
        return lines
    }

    /// Words on as few lines as fit.
    static func wrap(_ text: String, width: Int) -> [String] {
        wrap(items: text.split(separator: " ").map(String.init), separator: " ", width: width)
    }

    /// A remark (what was left out, how to see it), dimmed, on as few lines as fit.
    static func note(_ text: String, width: Int, style: TextStyle) -> [String] {
        wrap(text, width: width).map { style.paint($0, .dim) }
    }
}
