/// A grid of braille characters used as a dot matrix: each character cell holds 2 × 4 dots, so a chart gets twice
/// the horizontal and four times the vertical resolution of plain characters.
struct BrailleCanvas {
    let columns: Int
    let rows: Int
    private var cells: [UInt8]

    init(columns: Int, rows: Int) {
        self.columns = max(1, columns)
        self.rows = max(1, rows)
        cells = Array(repeating: 0, count: self.columns * self.rows)
    }

    var dotWidth: Int { columns * 2 }
    var dotHeight: Int { rows * 4 }

    /// The bit of each dot in a cell, by [row][column] (Unicode's braille numbering: dots 1-2-3-7 on the left).
    private static let bits: [[UInt8]] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]

    /// Sets the dot at (x, y), y = 0 at the top; dots outside are ignored.
    mutating func set(x: Int, y: Int) {
        guard x >= 0, x < dotWidth, y >= 0, y < dotHeight else { return }
        cells[(y / 4) * columns + x / 2] |= Self.bits[y % 4][x % 2]
    }

    /// A straight line of dots between two dots, both included (Bresenham).
    mutating func line(from start: (x: Int, y: Int), to end: (x: Int, y: Int)) {
        var (x, y) = start
        let dx = abs(end.x - x), dy = -abs(end.y - y)
        let stepX = x < end.x ? 1 : -1, stepY = y < end.y ? 1 : -1
        var error = dx + dy
        while true {
            set(x: x, y: y)
            if x == end.x && y == end.y { return }
            let doubled = 2 * error
            if doubled >= dy {
                error += dy
                x += stepX
            }
            if doubled <= dx {
                error += dx
                y += stepY
            }
        }
    }

    /// Whether a row of cells has any dot.
    func rowHasDots(_ row: Int) -> Bool {
        cells[(row * columns)..<((row + 1) * columns)].contains { $0 != 0 }
    }

    /// One string per row of cells; empty cells are spaces (not the blank braille pattern, which some fonts draw
    /// as faint dots).
    func lines() -> [String] {
        (0..<rows).map { row in
            String(String.UnicodeScalarView(cells[(row * columns)..<((row + 1) * columns)].map { bits in
                bits == 0 ? " " : Unicode.Scalar(0x2800 + UInt32(bits))!
            }))
        }
    }
}
