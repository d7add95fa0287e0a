import Ledger
import Report

/// The dashboard's charts as SVG drawn on the server: no script and no chart library in the page, and every chart
/// readable without colour — numbers are written in the heatmap's cells and beside the bars, withdrawals are
/// hatched where deposits are solid, and each account's balance is its own small chart (lines of several accounts on
/// one chart could only be told apart by colour). Each chart is an image with a title and a description for screen
/// readers; the page puts the same numbers in a table beside it.
enum SVGCharts {
    static let width = 640

    /// Section 3: transactions per account and type, a cell per pair shaded by its count, the count written in it.
    static func heatmap(_ activity: AccountActivity, id: String) -> String {
        let accounts = activity.accounts
        guard !accounts.isEmpty else { return "" }
        let label = 150, cell = (width - label) / 2, row = 28, top = 24
        let height = top + row * accounts.count
        let highest = max(1, accounts.map { max($0.deposits, $0.withdrawals) }.max() ?? 1)
        var svg = open(id: id, height: height, title: "Transactions per account and type",
                       description: "Counts of deposits and withdrawals for \(plural(accounts.count, "account")).")
        svg += text(x: label + cell / 2, y: 16, "deposit", anchor: "middle", className: "axis")
        svg += text(x: label + cell + cell / 2, y: 16, "withdrawal", anchor: "middle", className: "axis")
        for (index, totals) in accounts.enumerated() {
            let y = top + index * row
            svg += text(x: label - 8, y: y + row / 2 + 5, short(totals.account, 20), anchor: "end", className: "label")
            for (column, count) in [totals.deposits, totals.withdrawals].enumerated() {
                // Shade from 8 % to 100 % of the ink: the darkest cell is the busiest pair.
                let level = count == 0 ? 0 : 0.08 + 0.92 * Double(count) / Double(highest)
                let x = label + column * cell
                svg += "<rect x=\"\(x + 1)\" y=\"\(y + 1)\" width=\"\(cell - 2)\" height=\"\(row - 2)\" class=\"cell\" fill-opacity=\"\(fixed(level))\">"
                svg += "<title>\(escaped(totals.account)): \(plural(count, column == 0 ? "deposit" : "withdrawal"))</title></rect>"
                svg += text(x: x + cell / 2, y: y + row / 2 + 5, grouped(count), anchor: "middle",
                            className: level > 0.55 ? "count inverse" : "count")
            }
        }
        return svg + "</svg></div>"
    }

    /// Section 4: amounts deposited (solid) and withdrawn (hatched) per account, one bar each on a shared scale.
    static func bars(_ activity: AccountActivity, id: String) -> String {
        let accounts = activity.accounts
        guard !accounts.isEmpty else { return "" }
        let label = 150, row = 22, group = row * 2 + 10, top = 8, valueRoom = 130
        let plot = width - label - valueRoom
        let height = top + group * accounts.count
        let highest = max(1, accounts.map { max($0.deposited.cents, $0.withdrawn.cents) }.max() ?? 1)
        var svg = open(id: id, height: height, title: "Amounts deposited and withdrawn per account",
                       description: "Deposits are solid bars, withdrawals hatched bars, each labelled with its amount.")
        svg += "<defs><pattern id=\"\(id)-hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
        svg += "<rect width=\"6\" height=\"6\" class=\"hatch-ground\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" class=\"hatch-line\"/></pattern></defs>"
        for (index, totals) in accounts.enumerated() {
            let y = top + index * group
            svg += text(x: label - 8, y: y + row + 4, short(totals.account, 20), anchor: "end", className: "label")
            for (kind, (name, amount)) in [("deposited", totals.deposited), ("withdrawn", totals.withdrawn)].enumerated() {
                let barY = y + kind * row
                let length = amount.cents == 0 ? 0 : max(1, Int(Double(plot) * Double(amount.cents) / Double(highest)))
                let fill = kind == 0 ? "class=\"bar-deposit\"" : "fill=\"url(#\(id)-hatch)\" class=\"bar-withdrawal\""
                svg += "<rect x=\"\(label)\" y=\"\(barY + 2)\" width=\"\(length)\" height=\"\(row - 4)\" \(fill)>"
                svg += "<title>\(escaped(totals.account)) \(name): \(amount.grouped)</title></rect>"
                svg += text(x: label + length + 6, y: barY + row - 6, "\(name) \(amount.grouped)", anchor: "start", className: "value")
            }
        }
        return svg + "</svg></div>"
    }

    /// Section 5: one account's balance over the period, with its highest and lowest balances and first and last
    /// dates on the axes, and the zero line when the balance crosses it.
    static func balance(_ series: BalanceSeries, id: String) -> String {
        let points = series.points
        guard let first = points.first, let last = points.last else { return "" }
        let left = 110, right = 12, top = 10, plotHeight = 110, bottom = 22
        let height = top + plotHeight + bottom
        let plotWidth = width - left - right
        let highest = points.map(\.balance.cents).max()!, lowest = points.map(\.balance.cents).min()!
        let (start, end) = (first.date.secondsSinceEpoch, last.date.secondsSinceEpoch)
        func x(_ date: TransactionDate) -> Double {
            end == start ? Double(left + plotWidth / 2)
                : Double(left) + Double(plotWidth) * Double(date.secondsSinceEpoch - start) / Double(end - start)
        }
        func y(_ cents: Int64) -> Double {
            highest == lowest ? Double(top + plotHeight / 2)
                : Double(top) + Double(plotHeight) * Double(highest - cents) / Double(highest - lowest)
        }
        var svg = open(id: id, height: height, title: "Balance of \(series.account)",
                       description: "\(plural(series.entries, "entry", "entries")) from \(first.date) to \(last.date); balance from \(first.balance.grouped) to \(last.balance.grouped), highest \(Money(cents: highest).grouped), lowest \(Money(cents: lowest).grouped).")
        svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotHeight)\" class=\"axis-line\"/>"
        svg += "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(left + plotWidth)\" y2=\"\(top + plotHeight)\" class=\"axis-line\"/>"
        if lowest < 0 && highest > 0 {
            svg += "<line x1=\"\(left)\" y1=\"\(fixed(y(0)))\" x2=\"\(left + plotWidth)\" y2=\"\(fixed(y(0)))\" class=\"zero-line\"/>"
        }
        svg += text(x: left - 6, y: top + 10, Money(cents: highest).grouped, anchor: "end", className: "axis")
        if highest != lowest { svg += text(x: left - 6, y: top + plotHeight, Money(cents: lowest).grouped, anchor: "end", className: "axis") }
        svg += text(x: left, y: height - 6, first.date.description, anchor: "start", className: "axis")
        if end != start { svg += text(x: left + plotWidth, y: height - 6, last.date.description, anchor: "end", className: "axis") }
        if points.count == 1 {
            svg += "<circle cx=\"\(fixed(x(first.date)))\" cy=\"\(fixed(y(first.balance.cents)))\" r=\"3\" class=\"line-point\"/>"
        } else {
            // A step line: a balance holds until the next entry changes it.
            var path = "M\(fixed(x(first.date))),\(fixed(y(first.balance.cents)))"
            for point in points.dropFirst() {
                path += "H\(fixed(x(point.date)))V\(fixed(y(point.balance.cents)))"
            }
            svg += "<path d=\"\(path)\" class=\"line\"/>"
        }
        return svg + "</svg></div>"
    }

    /// Each chart sits in a box of its own that scrolls sideways on a narrow screen, so its text never shrinks below
    /// reading size (the style sheet gives charts a minimum width).
    private static func open(id: String, height: Int, title: String, description: String) -> String {
        "<div class=\"scroll\"><svg id=\"\(id)\" class=\"chart\" role=\"img\" viewBox=\"0 0 \(width) \(height)\" preserveAspectRatio=\"xMinYMin meet\" "
            + "aria-labelledby=\"\(id)-title \(id)-desc\" xmlns=\"http://www.w3.org/2000/svg\">"
            + "<title id=\"\(id)-title\">\(escaped(title))</title><desc id=\"\(id)-desc\">\(escaped(description))</desc>"
    }

    private static func text(x: Int, y: Int, _ content: String, anchor: String, className: String) -> String {
        "<text x=\"\(x)\" y=\"\(y)\" text-anchor=\"\(anchor)\" class=\"\(className)\">\(escaped(content))</text>"
    }

    /// A coordinate with at most two decimals (smaller pages than Double's 17 digits).
    static func fixed(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let sign = hundredths < 0 ? "-" : ""
        let whole = abs(hundredths) / 100, fraction = abs(hundredths) % 100
        if fraction == 0 { return sign + String(whole) }
        if fraction % 10 == 0 { return sign + String(whole) + "." + String(fraction / 10) }
        return sign + String(whole) + "." + (fraction < 10 ? "0" : "") + String(fraction)
    }

    private static func short(_ text: String, _ length: Int) -> String {
        text.count <= length ? text : String(text.prefix(length - 1)) + "…"
    }
}
