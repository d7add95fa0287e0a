import Ledger

/// The reconciliation section: how many stated balances disagreed with the derived ones and how many balances went
/// negative, then the latest of those issues with the stream position of the record that caused each.
public enum ReconciliationTable {
    public static func render(_ summary: ReconciliationSummary, width: Int, style: TextStyle) -> [String] {
        guard summary.total > 0 else { return ReportText.wrap("No balance mismatches and no negative balances.", width: width) }
        let mismatches = plural(summary.counts.balanceMismatches, "balance mismatch", "balance mismatches")
        let negatives = plural(summary.counts.negativeBalances, "negative balance")
        let counts = [
            style.paint(mismatches, summary.counts.balanceMismatches > 0 ? .yellow : .none),
            style.paint(negatives, summary.counts.negativeBalances > 0 ? .red : .none),
        ]
        var lines = mismatches.columns + 2 + negatives.columns <= width ? [counts.joined(separator: ", ")] : counts
        if summary.omitted > 0 {
            lines += ReportText.note("… \(plural(summary.omitted, "earlier issue")) not shown (--limit N shows the latest N, --limit 0 all)",
                                     width: width, style: style)
        }
        guard !summary.latest.isEmpty else { return lines }
        let layouts = [
            Layout(shortKinds: false, stated: true, record: true),
            Layout(shortKinds: false, stated: true, record: false),
            Layout(shortKinds: true, stated: true, record: false),
            Layout(shortKinds: true, stated: false, record: false),
        ]
        let tables = layouts.map { table(summary.latest, layout: $0) }
        let chosen = tables.first { $0.width <= width } ?? tables[tables.count - 1]
        return lines + chosen.render(style: style, maxWidth: width)
    }

    /// What a narrow width gives up, in this order: the record's stream position, the long names of the kinds
    /// ("mismatch", "negative"), the stated balance.
    struct Layout {
        var shortKinds: Bool
        var stated: Bool
        var record: Bool
    }

    static func table(_ issues: [ReconciliationIssue], layout: Layout) -> TextTable {
        var columns: [TextTable.Column] = [
            .init(header: "date", alignRight: false, cells: issues.map { .init(text: String($0.date.prefix(10))) }),
            .init(header: "account", alignRight: false, cells: issues.map { .init(text: $0.account.truncated(to: TransactionsTable.accountWidth)) }),
            .init(header: "issue", alignRight: false, cells: issues.map { issue in
                switch issue.kind {
                case .balanceMismatch: .init(text: layout.shortKinds ? "mismatch" : "balance mismatch", paint: .yellow)
                case .negativeBalance: .init(text: layout.shortKinds ? "negative" : "negative balance", paint: .red)
                }
            }),
        ]
        if layout.stated {
            columns.append(.init(header: "stated", alignRight: true, cells: issues.map { .init(text: $0.stated?.grouped ?? "") }))
        }
        columns.append(.init(header: "derived", alignRight: true, cells: issues.map {
            .init(text: $0.derived.grouped, paint: $0.derived.isNegative ? .red : .none)
        }))
        if layout.record {
            columns.append(.init(header: "record", alignRight: false, cells: issues.map { .init(text: "\($0.topic)-\($0.partition)@\($0.offset)") }))
        }
        return TextTable(columns: columns)
    }
}
