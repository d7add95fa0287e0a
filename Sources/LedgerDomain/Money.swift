/// An amount of money in integer minor units (cents). No floating point is ever involved: amounts are parsed from
/// and printed to decimal text directly.
public struct Money: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var cents: Int64

    public init(cents: Int64) {
        self.cents = cents
    }

    public static let zero = Money(cents: 0)

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.cents < rhs.cents }
    public static func + (lhs: Money, rhs: Money) -> Money { Money(cents: lhs.cents + rhs.cents) }
    public static func - (lhs: Money, rhs: Money) -> Money { Money(cents: lhs.cents - rhs.cents) }
    public var magnitude: Money { Money(cents: cents.magnitude > UInt64(Int64.max) ? Int64.max : Int64(cents.magnitude)) }
    public var isNegative: Bool { cents < 0 }

    /// Why text is not an amount.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case empty
        case notANumber(String)
        case tooManyDecimals(String)
        case tooLarge(String)

        public var description: String {
            switch self {
            case .empty: return "amount is empty"
            case .notANumber(let text): return "amount '\(text)' is not a number"
            case .tooManyDecimals(let text): return "amount '\(text)' has more than two decimals"
            case .tooLarge(let text): return "amount '\(text)' is too large"
            }
        }
    }

    /// Parses `[+-]digits[.digits]` (a comma also works as the decimal separator). At most two decimals, trailing
    /// zeros beyond them allowed ("12.500"); no exponents, no thousands separators, no floating point.
    public init(parsing text: String) throws(ParseError) {
        var trimmed = text.trimmingSpaces()
        self = try trimmed.withUTF8 { bytes in Result { () throws(ParseError) in try Money(bytes: bytes) } }.get()
    }

    /// The same on raw bytes, without allocating (the CSV reader and the sink parse millions of amounts).
    /// Surrounding ASCII spaces and tabs are ignored.
    public init(bytes input: UnsafeBufferPointer<UInt8>) throws(ParseError) {
        if let plain = Self.plainAmount(input) {
            self = plain
        } else {
            self = try Self.anyAmount(input)
        }
    }

    /// `init(bytes:)` for every form it accepts, and the error for text it refuses.
    static func anyAmount(_ input: UnsafeBufferPointer<UInt8>) throws(ParseError) -> Money {
        var start = 0
        var end = input.count
        while start < end && (input[start] == 32 || input[start] == 9) { start += 1 }
        while end > start && (input[end - 1] == 32 || input[end - 1] == 9) { end -= 1 }
        guard start < end else { throw .empty }
        func text() -> String { String(decoding: UnsafeBufferPointer(rebasing: input[start..<end]), as: UTF8.self) }
        var index = start
        var negative = false
        if input[index] == UInt8(ascii: "-") || input[index] == UInt8(ascii: "+") {
            negative = input[index] == UInt8(ascii: "-")
            index += 1
        }
        var value: Int64 = 0
        var digits = 0
        var fractionDigits = 0
        var seenPoint = false
        var overflow = false
        var excessDecimals = false
        while index < end {
            let byte = input[index]
            index += 1
            if byte == UInt8(ascii: ".") || byte == UInt8(ascii: ",") {
                guard !seenPoint else { throw .notANumber(text()) }
                seenPoint = true
                continue
            }
            guard byte >= 48 && byte <= 57 else { throw .notANumber(text()) }
            digits += 1
            if seenPoint {
                fractionDigits += 1
                // A third decimal and beyond may only be trailing zeros.
                if fractionDigits > 2 {
                    if byte != 48 { excessDecimals = true }
                    continue
                }
            }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (plus, overflow2) = times.addingReportingOverflow(Int64(byte - 48))
            overflow = overflow || overflow1 || overflow2
            value = plus
        }
        guard digits > 0 else { throw .notANumber(text()) }
        guard !excessDecimals else { throw .tooManyDecimals(text()) }
        for _ in min(fractionDigits, 2)..<2 {
            let (times, overflowScale) = value.multipliedReportingOverflow(by: 10)
            overflow = overflow || overflowScale
            value = times
        }
        guard !overflow else { throw .tooLarge(text()) }
        return Money(cents: negative ? -value : value)
    }

    /// The amount of text in the form nearly every amount has, `[-]digits[.d[d]]` with at most 15 whole digits, or nil
    /// for anything else (which the general parser then accepts or refuses). Those bounds keep the value far from
    /// overflowing, so the digits are summed without the general loop's overflow, separator and decimal bookkeeping
    /// (measured by callgrind over `produce --csv` of bank rows: 129 instructions an amount against 261; the producer
    /// parses every amount twice and the sink once more).
    @inline(__always)
    static func plainAmount(_ input: UnsafeBufferPointer<UInt8>) -> Money? {
        guard let bytes = input.baseAddress, !input.isEmpty, input.count <= 19 else { return nil }
        let end = input.count
        let negative = bytes[0] == UInt8(ascii: "-")
        var index = negative ? 1 : 0
        let wholeStart = index
        var value: Int64 = 0
        while index < end {
            let digit = bytes[index] &- 48
            guard digit <= 9 else { break }
            value = value &* 10 &+ Int64(digit)
            index &+= 1
        }
        let wholeDigits = index - wholeStart
        guard wholeDigits > 0, wholeDigits <= 15 else { return nil }
        var scale: Int64 = 100
        if index < end {
            guard bytes[index] == UInt8(ascii: "."), end - index <= 3 else { return nil }
            index &+= 1
            while index < end {
                let digit = bytes[index] &- 48
                guard digit <= 9 else { return nil }
                value = value &* 10 &+ Int64(digit)
                scale /= 10
                index &+= 1
            }
        }
        value &*= scale
        return Money(cents: negative ? -value : value)
    }

    /// Decimal text with exactly two decimals: "1000.00", "-12.50".
    public var description: String { withDecimalText { String(decoding: $0, as: UTF8.self) } }

    /// Calls `body` with ``description`` (or, `compact`, ``compactDescription``) as UTF-8 in a stack buffer: no
    /// string is made.
    public func withDecimalText<T, E: Error>(compact: Bool = false, _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> T) throws(E) -> T {
        var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return try withUnsafeMutableBytes(of: &storage) { raw throws(E) -> T in
            let bytes = raw.bindMemory(to: UInt8.self)
            var position = bytes.count
            var remaining = cents.magnitude
            func push(_ byte: UInt8) {
                position -= 1
                bytes[position] = byte
            }
            let fraction = remaining % 100
            remaining /= 100
            if !compact || fraction % 10 != 0 {
                push(UInt8(48 + fraction % 10))
            }
            if !compact || fraction != 0 {
                push(UInt8(48 + fraction / 10))
                push(UInt8(ascii: "."))
            }
            repeat {
                push(UInt8(48 + remaining % 10))
                remaining /= 10
            } while remaining > 0
            if cents < 0 { push(UInt8(ascii: "-")) }
            return try body(UnsafeBufferPointer(rebasing: bytes[position...]))
        }
    }

    /// The shortest exact decimal: "1000", "12.5", "12.05" (the JSON number form the original producer wrote).
    public var compactDescription: String { withDecimalText(compact: true) { String(decoding: $0, as: UTF8.self) } }

    /// Grouped for people: "1,234,567.89".
    public var grouped: String {
        let sign = cents < 0 ? "-" : ""
        let absolute = cents.magnitude
        var whole = String(absolute / 100)
        var groups: [String] = []
        while whole.count > 3 {
            groups.insert(String(whole.suffix(3)), at: 0)
            whole.removeLast(3)
        }
        groups.insert(whole, at: 0)
        let fraction = absolute % 100
        return "\(sign)\(groups.joined(separator: ",")).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

extension String {
    func trimmingSpaces() -> String {
        // ASCII fast path: most fields have no surrounding space at all.
        let utf8 = self.utf8
        if let first = utf8.first, let last = utf8.last, first > 32, first < 128, last > 32, last < 128 { return self }
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[start...end])
    }
}
