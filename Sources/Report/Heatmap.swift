import Ledger

/// Section 3: transactions per account and type as a heatmap. Each cell is shaded by its count relative to the
/// largest (░ ▒ ▓ █ for up to a quarter, half, three quarters, all; 256-colour backgrounds when colour is on) and
/// always shows the count itself, so it reads without colour and when copied.
public enum Heatmap {
    /// Backgrounds from dark to light, as in the original seaborn heatmap (light is most), with a readable
    /// foreground for each.
    static let ramp: [(background: UInt8, foreground: UInt8)] = [(53, 255), (125, 255), (203, 16), (223, 16)]
    static let shades: [Character] = ["░", "▒", "▓", "█"]

    public static func render(_ activity: AccountActivity, width: Int, style: TextStyle) -> [String] {
        let rows = activity.accounts
        guard !rows.isEmpty else { return ReportText.wrap("No transactions in this period.", width: width) }
        let counts = rows.flatMap { [$0.deposits, $0.withdrawals] }
        let largest = counts.max() ?? 0
        let digits = counts.map { grouped($0).columns }.max() ?? 1
        let labelWidth = max("account".count, min(TransactionsTable.accountWidth, rows.map(\.account.columns).max() ?? 0))
        // Two cells one column apart after the labels; as wide as the headers (and a little shading) allow.
        let room = (width - labelWidth - 2 - 1) / 2
        let cellWidth = max(digits + 2, min(max(digits + 6, 14), room))

        var lines: [String] = []
        let headers = TransactionType.allCases.map { center($0.rawValue, in: cellWidth) }
        lines.append(style.paint("account".padded(to: labelWidth), .bold) + "  "
                     + headers.map { style.paint($0, .bold) }.joined(separator: " "))
        for row in rows {
            let cells = [row.deposits, row.withdrawals].map { cell($0, largest: largest, width: cellWidth, style: style) }
            lines.append(row.account.padded(to: labelWidth) + "  " + cells.joined(separator: " "))
        }
        lines += legend(largest: largest, width: width, style: style)
        if activity.omitted > 0 {
            lines += ReportText.note("… \(plural(activity.omitted, "less active account")) not shown (--top N, --top 0 for all)",
                                     width: width, style: style)
        }
        return lines.map(\.trimmingTrailingSpaces).map { style.colored ? $0 : $0.truncated(to: width) }
    }

    /// 1...4: the quarter of the largest count this count reaches; 0 for none.
    static func level(_ count: Int, largest: Int) -> Int {
        guard count > 0, largest > 0 else { return 0 }
        return min(4, (count * 4 + largest - 1) / largest)
    }

    static func cell(_ count: Int, largest: Int, width: Int, style: TextStyle) -> String {
        let number = " \(grouped(count)) "
        let level = level(count, largest: largest)
        guard level > 0 else { return center(number, in: width) }
        if style.colored {
            let colors = ramp[level - 1]
            return style.paint(center(number, in: width), .cell(background: colors.background, foreground: colors.foreground))
        }
        return center(number, in: width, fill: shades[level - 1])
    }

    /// One line, or two when the width is short.
    static func legend(largest: Int, width: Int, style: TextStyle) -> [String] {
        let steps = ["≤25%", "≤50%", "≤75%", "≤100%"]
        let swatches = (0..<4).map { index -> String in
            let swatch = style.colored
                ? style.paint("  ", .cell(background: ramp[index].background, foreground: ramp[index].foreground))
                : String(shades[index])
            return swatch + " " + steps[index]
        }
        let scale = "of the largest count (\(grouped(largest)))"
        let swatchWidth = steps.map(\.columns).reduce(0, +) + 4 * ((style.colored ? 2 : 1) + 1) + 3
        if swatchWidth + 1 + scale.columns <= width { return [swatches.joined(separator: " ") + " " + scale] }
        return [swatches.joined(separator: " "), scale]
    }

    /// `text` in the middle of `width` columns, the rest filled with `fill`.
    static func center(_ text: String, in width: Int, fill: Character = " ") -> String {
        let text = text.truncated(to: width)
        let left = (width - text.columns) / 2
        let right = width - text.columns - left
        return String(repeating: fill, count: left) + text + String(repeating: fill, count: right)
    }
}
