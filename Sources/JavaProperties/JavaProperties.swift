/// Parses the `.properties` format of Kafka's `server.properties` and ZooKeeper's `zoo.cfg`/`zookeeper.properties`
/// (java.util.Properties): `key=value`, `key: value` or `key value`; `#` and `!` comment lines; a trailing backslash
/// continues a line; `\t \n \r \f \uXXXX` escapes. Later keys override earlier ones.
public struct JavaProperties: Sendable, Equatable {
    /// Key-value pairs in file order (duplicates resolved in favour of the last).
    public private(set) var entries: [(key: String, value: String)] = []
    /// Where each key was defined, for error messages: 1-based line numbers.
    public private(set) var lines: [String: Int] = [:]

    public init() {}

    public init(_ pairs: [(String, String)]) {
        for (key, value) in pairs { set(key, value, line: 0) }
    }

    public subscript(key: String) -> String? {
        entries.last(where: { $0.key == key })?.value
    }

    public var keys: [String] { entries.map(\.key) }

    public mutating func set(_ key: String, _ value: String, line: Int = 0) {
        entries.removeAll { $0.key == key }
        entries.append((key, value))
        lines[key] = line
    }

    public static func == (lhs: JavaProperties, rhs: JavaProperties) -> Bool {
        lhs.entries.map { "\($0.key)=\($0.value)" } == rhs.entries.map { "\($0.key)=\($0.value)" }
    }

    public init(parsing text: String) {
        var logical = ""
        var startLine = 0
        var continuing = false
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if continuing {
                line = line.drop(while: { $0 == " " || $0 == "\t" || $0 == "\u{0C}" })
            } else {
                line = line.drop(while: { $0 == " " || $0 == "\t" || $0 == "\u{0C}" })
                if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
                startLine = index + 1
                logical = ""
            }
            // An odd number of trailing backslashes continues the line.
            let trailing = line.reversed().prefix(while: { $0 == "\\" }).count
            if trailing % 2 == 1 {
                logical += line.dropLast()
                continuing = true
                continue
            }
            logical += line
            continuing = false
            let (key, value) = Self.split(logical)
            set(key, value, line: startLine)
        }
        if continuing {
            let (key, value) = Self.split(logical)
            set(key, value, line: startLine)
        }
    }

    /// Splits a logical line at the first unescaped '=', ':' or whitespace.
    private static func split(_ line: String) -> (String, String) {
        var key = ""
        var rest = Substring(line)
        var escaped = false
        while let char = rest.first {
            if escaped {
                key.append(char)
                escaped = false
            } else if char == "\\" {
                escaped = true
                key.append(char)
            } else if char == "=" || char == ":" || char == " " || char == "\t" {
                break
            } else {
                key.append(char)
            }
            rest = rest.dropFirst()
        }
        rest = rest.drop(while: { $0 == " " || $0 == "\t" })
        if let first = rest.first, first == "=" || first == ":" { rest = rest.dropFirst() }
        rest = rest.drop(while: { $0 == " " || $0 == "\t" })
        return (unescape(key), unescape(String(rest)))
    }

    private static func unescape(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var out = ""
        var iterator = Array(text).makeIterator()
        while let char = iterator.next() {
            guard char == "\\", let next = iterator.next() else {
                out.append(char)
                continue
            }
            switch next {
            case "t": out.append("\t")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "f": out.append("\u{0C}")
            case "u":
                var hex = ""
                for _ in 0..<4 { if let h = iterator.next() { hex.append(h) } }
                if let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) { out.append(Character(scalar)) }
            default: out.append(next)
            }
        }
        return out
    }
}
