import Ledger

/// Sections 1 and 2: a page of transactions as a table that fits the width.
///
/// Columns: date, account, type, amount, balance, and "stated" when some entry's stated balance differs from the
/// derived one. When the width is short, in this order: the stated column goes, dates lose their time of day, the
/// type column goes (withdrawals then show as negative amounts), the balance column goes; whatever still does not
/// fit is cut with "…".
public enum TransactionsTable {
    /// Longest account name shown in full.
    static let accountWidth = 20

    public static func render(_ page: TransactionPage, width: Int, style: TextStyle) -> [String] {
        var lines: [String] = []
        if page.omitted > 0 {
            lines += ReportText.note("… \(plural(page.omitted, "earlier transaction")) not shown "
                                     + "(--limit N shows the latest N, --limit 0 all)", width: width, style: style)
        }
        guard !page.entries.isEmpty else { return lines }
        let hasStated = page.entries.contains { entry in entry.statedBalance.map { $0 != entry.balance } ?? false }
        let layouts = [
            Layout(fullDates: true, type: true, balance: true, stated: hasStated),
            Layout(fullDates: true, type: true, balance: true, stated: false),
            Layout(fullDates: false, type: true, balance: true, stated: false),
            Layout(fullDates: false, type: false, balance: true, stated: false),
            Layout(fullDates: false, type: false, balance: false, stated: false),
        ]
        let tables = layouts.map { table(page.entries, layout: $0) }
        let chosen = tables.first { $0.width <= width } ?? tables[tables.count - 1]
        return lines + chosen.render(style: style, maxWidth: width)
    }

    struct Layout {
        var fullDates: Bool
        var type: Bool
        var balance: Bool
        var stated: Bool
    }

    static func table(_ entries: [LedgerEntry], layout: Layout) -> TextTable {
        var columns: [TextTable.Column] = [
            .init(header: "date", alignRight: false, cells: entries.map {
                .init(text: layout.fullDates ? $0.date.description : $0.date.dayDescription)
            }),
            .init(header: "account", alignRight: false, cells: entries.map { .init(text: $0.account.truncated(to: accountWidth)) }),
        ]
        if layout.type {
            columns.append(.init(header: "type", alignRight: false, cells: entries.map {
                .init(text: $0.type.rawValue, paint: $0.type == .deposit ? .green : .red)
            }))
            columns.append(.init(header: "amount", alignRight: true, cells: entries.map { .init(text: $0.amount.grouped) }))
        } else {
            columns.append(.init(header: "amount", alignRight: true, cells: entries.map {
                $0.type == .deposit ? .init(text: $0.amount.grouped, paint: .green)
                    : .init(text: "-" + $0.amount.grouped, paint: .red)
            }))
        }
        if layout.balance {
            columns.append(.init(header: "balance", alignRight: true, cells: entries.map {
                .init(text: $0.balance.grouped, paint: $0.balance.isNegative ? .red : .none)
            }))
        }
        if layout.stated {
            columns.append(.init(header: "stated", alignRight: true, cells: entries.map { entry in
                guard let stated = entry.statedBalance, stated != entry.balance else { return .init(text: "") }
                return .init(text: "≠ " + stated.grouped, paint: .yellow)
            }))
        }
        return TextTable(columns: columns)
    }
}
