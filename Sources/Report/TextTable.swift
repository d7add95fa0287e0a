/// A plain table: a header row, a rule of "─" under each column, then the rows; columns two spaces apart, numbers
/// right-aligned. No vertical borders: the table stays readable when copied, and narrow terminals lose no columns
/// to decoration.
struct TextTable {
    struct Cell {
        var text: String
        var paint: TextStyle.Paint = .none
    }

    struct Column {
        var header: String
        var alignRight: Bool
        var cells: [Cell]

        /// Wide enough for the header and every cell.
        var width: Int { cells.reduce(header.columns) { max($0, $1.text.columns) } }
    }

    var columns: [Column]

    static let gap = 2

    /// Columns plus the gaps between them.
    var width: Int {
        columns.reduce(0) { $0 + $1.width } + Self.gap * max(0, columns.count - 1)
    }

    /// The lines, each cut to `maxWidth` columns (cells that would cross it are truncated with "…").
    func render(style: TextStyle, maxWidth: Int) -> [String] {
        let widths = columns.map(\.width)
        let rows = columns.first?.cells.count ?? 0
        func line(_ cell: (Int) -> Cell, header: Bool) -> String {
            var out = ""
            var used = 0
            for (index, column) in columns.enumerated() {
                let separator = index == 0 ? 0 : Self.gap
                let room = maxWidth - used - separator
                guard room > 0 else { break }
                let width = min(widths[index], room)
                let content = cell(index)
                let isLast = index == columns.count - 1 || room <= widths[index]
                var text = content.text.padded(to: width, right: column.alignRight)
                if isLast && !column.alignRight { text = text.trimmingTrailingSpaces }
                out += String(repeating: " ", count: separator) + style.paint(text, header ? .bold : content.paint)
                used += separator + width
                if isLast { break }
            }
            return out.trimmingTrailingSpaces
        }
        var lines = [line({ Cell(text: columns[$0].header) }, header: true)]
        lines.append(line({ Cell(text: String(repeating: "─", count: widths[$0]), paint: .dim) }, header: false))
        for row in 0..<rows {
            lines.append(line({ columns[$0].cells[row] }, header: false))
        }
        return lines
    }
}
