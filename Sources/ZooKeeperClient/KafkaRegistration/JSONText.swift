import Coordinator
/// Just enough JSON for Kafka's znode documents: writing them in Kafka's field order, and reading the few fields the
/// registration needs back (the cluster id, the controller's broker id).
enum JSONText {
    /// A JSON string literal with the escapes JSON requires.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The value of a top-level string or number field of a JSON object, as text; nil if absent or not a scalar.
    /// Enough for `{"version":"1","id":"…"}` and `{"version":2,"brokerid":1,…}`.
    static func field(_ name: String, in json: String) -> String? {
        let scalars = Array(json.unicodeScalars)
        var index = 0
        var depth = 0
        func readString() -> String? {
            guard index < scalars.count, scalars[index] == "\"" else { return nil }
            index += 1
            var value = ""
            while index < scalars.count {
                let c = scalars[index]
                index += 1
                if c == "\"" { return value }
                if c == "\\", index < scalars.count {
                    let escaped = scalars[index]
                    index += 1
                    switch escaped {
                    case "n": value += "\n"
                    case "t": value += "\t"
                    case "r": value += "\r"
                    case "u":
                        guard index + 4 <= scalars.count,
                              let code = UInt32(String(String.UnicodeScalarView(scalars[index..<index + 4])), radix: 16),
                              let decoded = Unicode.Scalar(code)
                        else { return nil }
                        value.unicodeScalars.append(decoded)
                        index += 4
                    default: value.unicodeScalars.append(escaped)
                    }
                } else {
                    value.unicodeScalars.append(c)
                }
            }
            return nil
        }
        while index < scalars.count {
            let c = scalars[index]
            switch c {
            case "{", "[":
                depth += 1
                index += 1
            case "}", "]":
                depth -= 1
                index += 1
            case "\"":
                guard let key = readString() else { return nil }
                // A key at depth 1 followed by ':' is a field of the top-level object.
                var look = index
                while look < scalars.count && scalars[look].properties.isWhitespace { look += 1 }
                guard depth == 1, key == name, look < scalars.count, scalars[look] == ":" else { continue }
                index = look + 1
                while index < scalars.count && scalars[index].properties.isWhitespace { index += 1 }
                if index < scalars.count && scalars[index] == "\"" { return readString() }
                var number = ""
                while index < scalars.count, "-+.0123456789eE".unicodeScalars.contains(scalars[index]) {
                    number.unicodeScalars.append(scalars[index])
                    index += 1
                }
                return number.isEmpty ? nil : number
            default:
                index += 1
            }
        }
        return nil
    }
}
