/// Colours and emphasis as ANSI SGR sequences, or nothing at all when colour is off: every renderer pads and
/// measures plain text first and paints it last, so widths never count escape sequences.
public struct TextStyle: Sendable {
    public let colored: Bool

    public init(colored: Bool) {
        self.colored = colored
    }

    public static let plain = TextStyle(colored: false)

    /// What a piece of text should look like.
    public enum Paint: Sendable, Equatable {
        case none
        case bold
        case dim
        case green
        case red
        case yellow
        case cyan
        /// A 256-colour background with a 256-colour foreground (heatmap cells).
        case cell(background: UInt8, foreground: UInt8)

        var parameters: String? {
            switch self {
            case .none: return nil
            case .bold: return "1"
            case .dim: return "2"
            case .green: return "32"
            case .red: return "31"
            case .yellow: return "33"
            case .cyan: return "36"
            case .cell(let background, let foreground): return "48;5;\(background);38;5;\(foreground)"
            }
        }
    }

    public func paint(_ text: String, _ paint: Paint) -> String {
        guard colored, !text.isEmpty, let parameters = paint.parameters else { return text }
        return "\u{1B}[\(parameters)m\(text)\u{1B}[0m"
    }
}

/// Width handling on plain text. One column per character: account names and the ledger's own text are ASCII, and
/// the box, block and braille characters the charts use are one column wide.
extension String {
    var columns: Int { count }

    /// Cut to `width` columns, ending with "…" when something was cut.
    func truncated(to width: Int) -> String {
        guard count > width else { return self }
        guard width > 1 else { return String(prefix(max(0, width))) }
        return String(prefix(width - 1)) + "…"
    }

    /// Padded with spaces (or cut) to exactly `width` columns.
    func padded(to width: Int, right: Bool = false) -> String {
        let text = truncated(to: width)
        let padding = String(repeating: " ", count: width - text.count)
        return right ? padding + text : text + padding
    }

    /// Without trailing spaces (lines end where their content ends).
    var trimmingTrailingSpaces: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}

/// "1 entry", "2 entries", "1,234 entries".
public func plural(_ count: Int, _ singular: String, _ pluralForm: String? = nil) -> String {
    "\(grouped(count)) \(count == 1 ? singular : pluralForm ?? singular + "s")"
}

/// Groups of three digits: "1,234,567" (counts, to match ``Money/grouped``).
public func grouped(_ count: Int) -> String {
    let digits = String(count.magnitude)
    var result = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result += "," }
        result.append(digit)
    }
    return (count < 0 ? "-" : "") + result
}
