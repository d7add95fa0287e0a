import Ledger

/// Section 4: per account, one horizontal bar of the total deposited (█, green) followed by the total withdrawn
/// (░, or a red █ when colour is on), all bars on one scale, with the exact amounts beside them.
///
/// When the width leaves under ``minimumBar`` columns for the bars beside the amounts, each bar gets a line of
/// its own under its account's amounts; when even the amounts do not fit beside the account, they go on lines of
/// their own too (amounts are never cut).
public enum StackedBars {
    static let minimumBar = 10

    public static func render(_ activity: AccountActivity, width: Int, style: TextStyle) -> [String] {
        let rows = activity.accounts
        guard !rows.isEmpty else { return ReportText.wrap("No transactions in this period.", width: width) }
        let labelWidth = max("account".count, min(TransactionsTable.accountWidth, rows.map(\.account.columns).max() ?? 0))
        let depositedWidth = rows.map(\.deposited.grouped.columns).reduce("deposited".count, max)
        let withdrawnWidth = rows.map(\.withdrawn.grouped.columns).reduce("withdrawn".count, max)
        let largest = rows.map { $0.deposited.cents + $0.withdrawn.cents }.max() ?? 0
        let besideBar = width - labelWidth - depositedWidth - withdrawnWidth - 3 * 2
        let inline = besideBar >= minimumBar
        let amountsBeside = labelWidth + 2 + depositedWidth + 2 + withdrawnWidth <= width

        let barWidth = inline ? besideBar : max(1, width - 2)
        let legend = style.paint(String(depositedMark), .green) + " deposited  "
            + style.paint(String(withdrawnMark(style)), .red) + " withdrawn"
        let legendWidth = "█ deposited  █ withdrawn".count
        var lines: [String] = []
        let amountsHeader = "deposited".padded(to: depositedWidth, right: true) + "  " + "withdrawn".padded(to: withdrawnWidth, right: true)
        if inline {
            let barHeader = legendWidth <= barWidth ? legend + String(repeating: " ", count: barWidth - legendWidth) : String(repeating: " ", count: barWidth)
            lines.append(style.paint("account".padded(to: labelWidth), .bold) + "  " + barHeader + "  " + style.paint(amountsHeader, .bold))
        } else if amountsBeside {
            lines.append(style.paint("account".padded(to: labelWidth) + "  " + amountsHeader, .bold))
        }
        for row in rows {
            let bar = self.bar(row, largest: largest, width: barWidth, style: style)
            let amounts = row.deposited.grouped.padded(to: depositedWidth, right: true) + "  "
                + row.withdrawn.grouped.padded(to: withdrawnWidth, right: true)
            if inline {
                lines.append(row.account.padded(to: labelWidth) + "  " + bar.text + "  " + amounts)
            } else if amountsBeside {
                lines.append(row.account.padded(to: labelWidth) + "  " + amounts)
                lines.append("  " + bar.text)
            } else {
                lines.append(style.paint(row.account.truncated(to: width), .bold))
                lines.append("  " + bar.text)
                lines += ReportText.wrap(items: ["deposited \(row.deposited.grouped)", "withdrawn \(row.withdrawn.grouped)"],
                                         first: "  ", separator: " · ", width: width)
            }
        }
        if !inline || legendWidth > barWidth { lines.append(legend) }
        if activity.omitted > 0 {
            lines += ReportText.note("… \(plural(activity.omitted, "less active account")) not shown (--top N, --top 0 for all)",
                                     width: width, style: style)
        }
        return lines.map(\.trimmingTrailingSpaces)
    }

    static let depositedMark: Character = "█"
    static func withdrawnMark(_ style: TextStyle) -> Character { style.colored ? "█" : "░" }

    /// The bar (painted, padded to `width` columns) and the cells each part got. Amounts are scaled through Double,
    /// only for lengths; a non-zero amount always gets at least one cell.
    static func bar(_ totals: AccountTotals, largest: Int64, width: Int, style: TextStyle) -> (text: String, deposited: Int, withdrawn: Int) {
        guard largest > 0, width > 0 else { return (String(repeating: " ", count: max(0, width)), 0, 0) }
        func cells(_ cents: Int64) -> Int { Int((Double(cents) / Double(largest) * Double(width)).rounded()) }
        var deposited = cells(totals.deposited.cents)
        var both = cells(totals.deposited.cents + totals.withdrawn.cents)
        if totals.deposited.cents > 0 { deposited = max(1, deposited) }
        if totals.withdrawn.cents > 0 { both = max(deposited + 1, both) }
        both = min(width, max(both, deposited))
        deposited = min(deposited, both - (totals.withdrawn.cents > 0 ? 1 : 0))
        let withdrawn = both - deposited
        let text = style.paint(String(repeating: depositedMark, count: deposited), .green)
            + style.paint(String(repeating: withdrawnMark(style), count: withdrawn), .red)
            + String(repeating: " ", count: width - both)
        return (text, deposited, withdrawn)
    }
}
