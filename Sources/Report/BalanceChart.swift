import Ledger

/// Section 5: each account's balance over time as a braille line chart, one small chart per account (lines of
/// several accounts on one chart could only be told apart by colour), each with its own balance axis labelled with
/// the exact highest and lowest balances drawn, and the first and last dates under it.
public enum BalanceChart {
    /// Rows of braille cells (4 dots each) for a chart on its own, and for each of several.
    static let singleHeight = 8
    static let severalHeight = 5

    public static func render(_ histories: BalanceHistories, width: Int, style: TextStyle) -> [String] {
        let drawn = histories.series.filter { !$0.points.isEmpty }
        guard !drawn.isEmpty else {
            if let account = histories.chosenAccount {
                return ReportText.wrap("No transactions for account \(account) in this period.", width: width)
            }
            return ReportText.wrap("No transactions in this period.", width: width)
        }
        let height = drawn.count == 1 ? singleHeight : severalHeight
        var lines: [String] = []
        for (index, series) in drawn.enumerated() {
            if index > 0 { lines.append("") }
            lines += chart(series, width: width, height: height, style: style)
        }
        if histories.omitted > 0 {
            lines += ReportText.note("… \(plural(histories.omitted, "more account")) not drawn: --account ACCOUNT draws one, "
                                     + "--top N the N most active", width: width, style: style)
        }
        return lines
    }

    /// One account's chart: a title line, `height` rows of plot with the balance axis, the time axis, its dates.
    static func chart(_ series: BalanceSeries, width: Int, height: Int, style: TextStyle) -> [String] {
        let points = series.points
        let first = points[0], last = points[points.count - 1]
        let account = series.account.truncated(to: width)
        var lines = ReportText.wrap(items: [account, plural(series.entries, "entry", "entries"),
                                            "\(first.balance.grouped) → \(last.balance.grouped)"], separator: " · ", width: width)
        lines[0] = style.paint(account, .bold) + lines[0].dropFirst(account.count)
        let highest = points.map(\.balance).max()!, lowest = points.map(\.balance).min()!
        let labelWidth = max(highest.grouped.columns, lowest.grouped.columns)
        var canvas = BrailleCanvas(columns: max(1, width - labelWidth - 2), rows: height)

        let start = first.date.secondsSinceEpoch, end = last.date.secondsSinceEpoch
        let times = points.map(\.date.secondsSinceEpoch)
        let (earliest, latest) = (min(start, times.min()!), max(end, times.max()!))
        func x(_ seconds: Int64) -> Int {
            guard latest > earliest else { return 0 }
            return Int((Double(seconds - earliest) / Double(latest - earliest) * Double(canvas.dotWidth - 1)).rounded())
        }
        // Balances are scaled through Double for positions only; the labels print the exact amounts.
        func y(_ balance: Money) -> Int {
            guard highest > lowest else { return canvas.dotHeight / 2 }
            return Int((Double(highest.cents - balance.cents) / Double(highest.cents - lowest.cents)
                        * Double(canvas.dotHeight - 1)).rounded())
        }
        var previous: (x: Int, y: Int)?
        for (point, seconds) in zip(points, times) {
            let dot = (x: x(seconds), y: y(point.balance))
            if let previous { canvas.line(from: previous, to: dot) } else { canvas.set(x: dot.x, y: dot.y) }
            previous = dot
        }

        let topRow = 0, bottomRow = height - 1
        let flatRow = (canvas.dotHeight / 2) / 4
        for (row, plot) in canvas.lines().enumerated() {
            let label: String?
            if highest == lowest {
                label = row == flatRow ? highest.grouped : nil
            } else {
                label = row == topRow ? highest.grouped : row == bottomRow ? lowest.grouped : nil
            }
            let axis = label.map { $0.padded(to: labelWidth, right: true) + " ┤" } ?? String(repeating: " ", count: labelWidth) + " │"
            lines.append((style.paint(axis, .dim) + style.paint(plot.trimmingTrailingSpaces, .cyan)).trimmingTrailingSpaces)
        }
        lines.append(String(repeating: " ", count: labelWidth) + style.paint(" └" + String(repeating: "─", count: canvas.columns), .dim))
        lines.append((String(repeating: " ", count: labelWidth + 2) + dateLabels(first.date, last.date, width: canvas.columns))
            .trimmingTrailingSpaces)
        return lines
    }

    /// The first date under the start of the time axis and the last under its end (days; with times when the
    /// chart spans a single day); only what fits.
    static func dateLabels(_ first: TransactionDate, _ last: TransactionDate, width: Int) -> String {
        let sameDay = first.dayDescription == last.dayDescription
        let left = sameDay ? String(first.description.prefix(16)) : first.dayDescription
        let right = sameDay ? String(last.description.dropFirst(11).prefix(5)) : last.dayDescription
        if first == last || left.columns + 1 + right.columns > width {
            return left.columns <= width ? left : ""
        }
        return left + String(repeating: " ", count: width - left.columns - right.columns) + right
    }
}
