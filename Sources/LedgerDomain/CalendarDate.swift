/// A local date and time of day as the ledger records it: "YYYY-MM-DD HH:MM:SS" (no time zone, as in the original).
public struct TransactionDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    public static func < (lhs: TransactionDate, rhs: TransactionDate) -> Bool {
        (lhs.year, lhs.month, lhs.day, lhs.hour, lhs.minute, lhs.second) < (rhs.year, rhs.month, rhs.day, rhs.hour, rhs.minute, rhs.second)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public var isValid: Bool {
        (1...9999).contains(year) && (1...12).contains(month) && (1...Self.daysIn(month: month, year: year)).contains(day)
            && (0...23).contains(hour) && (0...59).contains(minute) && (0...59).contains(second)
    }

    /// Accepts the original `dd/mm/yyyy`, ISO `yyyy-mm-dd`, either followed by ` HH:MM[:SS]` (or `T` for ISO).
    /// Returns nil for anything else, including impossible dates such as 31/02/2024.
    public init?(parsing text: String) {
        var copy = text
        guard let parsed = copy.withUTF8({ TransactionDate(bytes: $0) }) else { return nil }
        self = parsed
    }

    /// The same, on raw bytes (the CSV reader and the sink parse millions of dates; this stays on bytes).
    public init?(bytes input: UnsafeBufferPointer<UInt8>) {
        guard let date = Self.plainDate(input) ?? Self.anyDate(input) else { return nil }
        self = date
    }

    /// The date of text in the fixed layouts nearly every date has: `D[D]/M[M]/YYYY` (bank exports) and
    /// `YYYY-MM-DD[ HH:MM:SS]` (the events' own form), read at fixed positions; nil for anything else, and for an
    /// impossible date, which `anyDate` then decides. Measured (callgrind, `produce --csv` of bank rows): 158
    /// instructions a date against 201; the sink parses every event's date, the producer every row's twice.
    static func plainDate(_ input: UnsafeBufferPointer<UInt8>) -> TransactionDate? {
        guard let bytes = input.baseAddress else { return nil }
        let count = input.count
        @inline(__always) func digit(_ index: Int) -> Int? {
            let value = bytes[index] &- 48
            return value <= 9 ? Int(value) : nil
        }
        @inline(__always) func pair(_ index: Int) -> Int? {
            guard let tens = digit(index), let ones = digit(index + 1) else { return nil }
            return tens * 10 + ones
        }
        var date: TransactionDate
        if count >= 10 && bytes[4] == UInt8(ascii: "-") {
            guard count == 10 || count == 19, bytes[7] == UInt8(ascii: "-"), let high = pair(0), let low = pair(2),
                  let month = pair(5), let day = pair(8) else { return nil }
            date = TransactionDate(year: high * 100 + low, month: month, day: day)
            if count == 19 {
                guard bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
                      let hour = pair(11), let minute = pair(14), let second = pair(17) else { return nil }
                (date.hour, date.minute, date.second) = (hour, minute, second)
            }
        } else {
            // D[D]/M[M]/YYYY: 8 to 10 bytes, the year in the last four after a slash.
            guard count >= 8, count <= 10, let high = pair(count - 4), let low = pair(count - 2),
                  bytes[count - 5] == UInt8(ascii: "/"), var day = digit(0) else { return nil }
            var index = 1
            if let next = digit(1) {
                day = day * 10 + next
                index = 2
            }
            guard bytes[index] == UInt8(ascii: "/"), index + 1 < count - 5, var month = digit(index + 1) else { return nil }
            if index + 2 < count - 5 {
                guard let next = digit(index + 2), index + 3 == count - 5 else { return nil }
                month = month * 10 + next
            }
            date = TransactionDate(year: high * 100 + low, month: month, day: day)
        }
        return date.isValid ? date : nil
    }

    /// `init(bytes:)` for every form it accepts.
    static func anyDate(_ input: UnsafeBufferPointer<UInt8>) -> TransactionDate? {
        var start = 0
        var end = input.count
        while start < end && (input[start] == 32 || input[start] == 9) { start += 1 }
        while end > start && (input[end - 1] == 32 || input[end - 1] == 9) { end -= 1 }
        var cursor = DateCursor(input: input, index: start, end: end)
        var date: TransactionDate
        guard let first = cursor.number(maxDigits: 4) else { return nil }
        let firstDigits = cursor.index - start
        if firstDigits <= 2 && cursor.consume(UInt8(ascii: "/")) {
            guard let month = cursor.number(maxDigits: 2), cursor.consume(UInt8(ascii: "/")),
                  let year = cursor.number(maxDigits: 4, minDigits: 4)
            else { return nil }
            date = TransactionDate(year: year, month: month, day: first)
        } else if firstDigits == 4 && cursor.consume(UInt8(ascii: "-")) {
            guard let month = cursor.number(maxDigits: 2), cursor.consume(UInt8(ascii: "-")), let day = cursor.number(maxDigits: 2)
            else { return nil }
            date = TransactionDate(year: first, month: month, day: day)
        } else {
            return nil
        }
        if !cursor.atEnd {
            guard cursor.consume(UInt8(ascii: " ")) || cursor.consume(UInt8(ascii: "T")) else { return nil }
            while cursor.consume(32) {}
            guard let h = cursor.number(maxDigits: 2), cursor.consume(UInt8(ascii: ":")),
                  let mi = cursor.number(maxDigits: 2, minDigits: 2)
            else { return nil }
            date.hour = h
            date.minute = mi
            if cursor.consume(UInt8(ascii: ":")) {
                guard let sec = cursor.number(maxDigits: 2, minDigits: 2) else { return nil }
                date.second = sec
            }
            guard cursor.atEnd else { return nil }
        }
        return date.isValid ? date : nil
    }

    public var description: String { withText { String(decoding: $0, as: UTF8.self) } }

    /// Calls `body` with "YYYY-MM-DD HH:MM:SS" as UTF-8 in a stack buffer: the sink binds every applied record's date
    /// this way, without allocating a string. Fields are written two digits at a time into three words (measured:
    /// about a tenth of the instructions of a digit-by-digit loop); a field too wide for its place keeps its last
    /// digits, as that loop did. Inlinable, so that the sink's call from another module is compiled for its closure:
    /// called through the generic entry point, each call went through type metadata and closure thunks (measured: 342
    /// instructions a call with the sink's closure, 204 inlined).
    @inlinable
    public func withText<T, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> T) throws(E) -> T {
        guard (0...9999).contains(year), (0...99).contains(month), (0...99).contains(day), (0...99).contains(hour),
              (0...99).contains(minute), (0...99).contains(second)
        else { return try withTextOfAnyFields(body) }
        /// Two ASCII digits as a little-endian 16-bit value (the tens first in memory).
        @inline(__always) func pair(_ value: Int) -> UInt64 {
            let tens = value / 10
            return UInt64(48 + tens) | UInt64(48 + value - tens * 10) << 8
        }
        let high = year / 100
        // "YYYY-MM-" / "DD HH:MM" / ":SS".
        var storage: (UInt64, UInt64, UInt64) = (
            (pair(high) | pair(year - high * 100) << 16 | 45 << 32 | pair(month) << 40 | 45 << 56).littleEndian,
            (pair(day) | 32 << 16 | pair(hour) << 24 | 58 << 40 | pair(minute) << 48).littleEndian,
            (58 | pair(second) << 8).littleEndian
        )
        return try withUnsafeBytes(of: &storage) { raw throws(E) -> T in
            try body(UnsafeBufferPointer(rebasing: raw.bindMemory(to: UInt8.self)[0..<19]))
        }
    }

    /// `withText` for fields outside their usual ranges (a date built by hand, not parsed): each field keeps as many
    /// of its last digits as its place holds.
    @usableFromInline
    func withTextOfAnyFields<T, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> T) throws(E) -> T {
        var bytes = [UInt8]("0000-00-00 00:00:00".utf8)
        for (value, offset, width) in [(year, 0, 4), (month, 5, 2), (day, 8, 2), (hour, 11, 2), (minute, 14, 2), (second, 17, 2)] {
            var remaining = value.magnitude
            for position in stride(from: offset + width - 1, through: offset, by: -1) {
                bytes[position] = UInt8(48 + remaining % 10)
                remaining /= 10
            }
        }
        return try bytes.withUnsafeBufferPointer { buffer throws(E) -> T in try body(buffer) }
    }

    /// Just the date: "YYYY-MM-DD".
    public var dayDescription: String { String(description.prefix(10)) }

    /// Now, in the machine's local time (the shell stamps manual transactions with it, as the original GUI did).
    public static func now() -> TransactionDate {
        var seconds = time(nil)
        var parts = tm()
        localtime_r(&seconds, &parts)
        return TransactionDate(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday),
                               hour: Int(parts.tm_hour), minute: Int(parts.tm_min), second: Int(parts.tm_sec))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a date's digits and separators. A struct with mutating methods, not local functions capturing the index:
/// those kept it in a box with a dynamic exclusivity check on every access, about 3 % of a whole import's CPU.
private struct DateCursor {
    let input: UnsafeBufferPointer<UInt8>
    var index: Int
    let end: Int

    var atEnd: Bool { index >= end }

    /// Reads `minDigits...maxDigits` digits as a number; nil if fewer.
    mutating func number(maxDigits: Int, minDigits: Int = 1) -> Int? {
        var value = 0
        var digits = 0
        while index < end, digits < maxDigits, input[index] >= 48, input[index] <= 57 {
            value = value * 10 + Int(input[index] - 48)
            digits += 1
            index += 1
        }
        return digits >= minDigits ? value : nil
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard index < end, input[index] == byte else { return false }
        index += 1
        return true
    }
}
