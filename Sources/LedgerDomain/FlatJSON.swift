/// A strict, allocation-free scanner for JSON objects whose members of interest are flat (strings, numbers, booleans,
/// null), which is all a transaction event is, plus the matching string encoder. Nested objects and arrays are
/// validated and reported as one `.composite` token (a producer may add such members; the event ignores them).
///
/// The sink decodes every consumed record with it, so it works on the bytes in place: members are reported as byte
/// ranges, and only what the caller keeps becomes a `String`. Numbers stay as their literal text so money is never
/// routed through floating point.
enum FlatJSON {
    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// One scanned value, as a range of the input.
    enum Token {
        /// The bytes between the quotes; `escaped` when they contain backslash escapes (see ``unescape(_:_:)``).
        case string(Range<Int>, escaped: Bool)
        case number(Range<Int>)
        case bool(Bool)
        case null
        case composite(Range<Int>)
    }

    /// Nesting deeper than this is refused (it is not a transaction event, and it bounds the recursion).
    static let maximumDepth = 32

    /// Walks one object and calls `member` with each top-level key (always a `.string` token) and value, in order.
    /// Trailing characters and malformed JSON are errors.
    static func scanObject(
        _ bytes: UnsafeBufferPointer<UInt8>,
        member: (_ key: Token, _ value: Token) throws(ParseError) -> Void
    ) throws(ParseError) {
        var index = 0
        let count = bytes.count
        func fail(_ what: String) -> ParseError { ParseError(description: "\(what) at byte \(index)") }
        func skipSpace() {
            while index < count {
                let byte = bytes[index]
                guard byte == 32 || byte == 9 || byte == 10 || byte == 13 else { return }
                index += 1
            }
        }
        func expect(_ byte: UInt8) throws(ParseError) {
            skipSpace()
            guard index < count, bytes[index] == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
            index += 1
        }
        func string() throws(ParseError) -> Token {
            try expect(34)
            let start = index
            var escaped = false
            while index < count {
                let byte = bytes[index]
                if byte == 34 {
                    index += 1
                    return .string(start..<(index - 1), escaped: escaped)
                }
                if byte < 32 { throw fail("control character in string") }
                if byte == 92 {
                    escaped = true
                    guard index + 1 < count else { break }
                    switch bytes[index + 1] {
                    case 34, 92, 47, UInt8(ascii: "n"), UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "b"), UInt8(ascii: "f"):
                        index += 2
                    case UInt8(ascii: "u"):
                        guard index + 6 <= count, (index + 2..<index + 6).allSatisfy({ hexValue(bytes[$0]) != nil }) else {
                            throw fail("bad \\u escape")
                        }
                        index += 6
                    default:
                        throw fail("bad escape")
                    }
                    continue
                }
                index += 1
            }
            throw fail("unterminated string")
        }
        /// An object or array starting at `index`, validated member by member.
        func composite(depth: Int) throws(ParseError) -> Token {
            guard depth < maximumDepth else { throw fail("nested too deeply") }
            let start = index
            let isObject = bytes[index] == 123
            let close: UInt8 = isObject ? 125 : 93
            index += 1
            skipSpace()
            if index < count && bytes[index] == close {
                index += 1
                return .composite(start..<index)
            }
            while true {
                if isObject {
                    _ = try string()
                    try expect(58)
                }
                _ = try value(depth: depth + 1)
                skipSpace()
                guard index < count else { throw fail("unterminated \(isObject ? "object" : "array")") }
                if bytes[index] == 44 {
                    index += 1
                    continue
                }
                try expect(close)
                return .composite(start..<index)
            }
        }
        func value(depth: Int = 0) throws(ParseError) -> Token {
            skipSpace()
            guard index < count else { throw fail("missing value") }
            switch bytes[index] {
            case 34:
                return try string()
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                func matches(_ word: StaticString) -> Bool {
                    let length = word.utf8CodeUnitCount
                    guard index + length <= count,
                          word.withUTF8Buffer({ literal in (0..<length).allSatisfy { bytes[index + $0] == literal[$0] } })
                    else { return false }
                    index += length
                    return true
                }
                if matches("null") { return .null }
                if matches("true") { return .bool(true) }
                if matches("false") { return .bool(false) }
                throw fail("unknown literal")
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                return try composite(depth: depth)
            default:
                let start = index
                while index < count {
                    let byte = bytes[index]
                    guard (byte >= 48 && byte <= 57) || byte == 45 || byte == 43 || byte == 46 || byte == 101 || byte == 69 else { break }
                    index += 1
                }
                guard index > start else { throw fail("unexpected character") }
                return .number(start..<index)
            }
        }
        try expect(123)
        skipSpace()
        if index < count && bytes[index] == 125 {
            index += 1
        } else {
            while true {
                let key = try string()
                try expect(58)
                try member(key, try value())
                skipSpace()
                guard index < count else { throw fail("unterminated object") }
                if bytes[index] == 44 {
                    index += 1
                    continue
                }
                try expect(125)
                break
            }
        }
        skipSpace()
        guard index == count else { throw fail("trailing characters") }
    }

    /// The bytes of an escaped string's content with its escapes resolved (the scanner has validated them).
    static func unescape(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws(ParseError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var index = range.lowerBound
        func code(at position: Int) -> UInt32 {
            (position..<position + 4).reduce(0) { $0 << 4 | UInt32(hexValue(bytes[$1])!) }
        }
        while index < range.upperBound {
            let byte = bytes[index]
            index += 1
            guard byte == 92 else {
                out.append(byte)
                continue
            }
            let escaped = bytes[index]
            index += 1
            switch escaped {
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "u"):
                var scalarValue = code(at: index)
                index += 4
                if (0xD800...0xDBFF).contains(scalarValue), index + 6 <= range.upperBound, bytes[index] == 92,
                   bytes[index + 1] == UInt8(ascii: "u") {
                    let low = code(at: index + 2)
                    if (0xDC00...0xDFFF).contains(low) {
                        scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
                        index += 6
                    }
                }
                guard let scalar = Unicode.Scalar(scalarValue) else {
                    throw ParseError(description: "\\u escape \(String(scalarValue, radix: 16)) is not a character")
                }
                out.append(contentsOf: String(Character(scalar)).utf8)
            default: out.append(escaped)  // " \ /
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: return byte - 48
        case 65...70: return byte - 55
        case 97...102: return byte - 87
        default: return nil
        }
    }

    /// Appends `text` as a JSON string literal (quoted, escaped).
    static func appendString(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 + 6 * bytes.count) { buffer in
                var writer = ByteWriter(buffer)
                writeString(bytes, to: &writer)
                out.append(contentsOf: writer.written)
            }
        }
    }

    /// Writes UTF-8 `text` as a JSON string literal: quoted, with `"`, `\\` and control characters escaped. At most
    /// 2 + 6 × `text.count` bytes.
    static func writeString(_ text: UnsafeBufferPointer<UInt8>, to writer: inout ByteWriter) {
        writer.write(34)
        for byte in text {
            switch byte {
            case 34: writer.write(92); writer.write(34)
            case 92: writer.write(92); writer.write(92)
            case 10: writer.write(92); writer.write(UInt8(ascii: "n"))
            case 13: writer.write(92); writer.write(UInt8(ascii: "r"))
            case 9: writer.write(92); writer.write(UInt8(ascii: "t"))
            case 0..<32:
                writer.write(#"\u00"#)
                writer.write(hexDigits[Int(byte >> 4)])
                writer.write(hexDigits[Int(byte & 15)])
            default: writer.write(byte)
            }
        }
        writer.write(34)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}

/// Sequential writes into a buffer sized beforehand by its caller (encoders that know their output's bound); writing
/// past its end is a bug and traps.
struct ByteWriter {
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    private var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        self.buffer = buffer
    }

    /// The bytes written so far.
    var written: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: buffer[0..<count]) }

    mutating func write(_ byte: UInt8) {
        precondition(count < buffer.count, "ByteWriter: the buffer is smaller than its caller's bound")
        buffer[count] = byte
        count += 1
    }

    mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        precondition(count + bytes.count <= buffer.count, "ByteWriter: the buffer is smaller than its caller's bound")
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (buffer.baseAddress! + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    mutating func write(_ literal: StaticString) {
        write(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }
}
