import LedgerDomain
import NIOCore
import PostgresNIO

/// One column of a batch's rows, as a one-dimensional PostgreSQL array in the binary format, written straight into a
/// buffer as rows are added (no Swift array of values, no allocation per field). A batch goes in with one
/// `INSERT … SELECT FROM unnest($1, $2, …)` of such columns.
///
/// Why not COPY: postgres-nio 1.33 traps (a precondition in its copy state machine) when the server goes away in the
/// middle of a COPY, which takes the sink down instead of letting it reconnect. An ordinary statement fails cleanly,
/// and binary arrays cost the server less parsing than COPY's text format.
struct PostgresArrayColumn: PostgresDynamicTypeEncodable {
    /// The element types a ledger batch needs.
    enum Element {
        case int4, int8, text, timestamp

        var type: PostgresDataType {
            switch self {
            case .int4: .int4
            case .int8: .int8
            case .text: .text
            case .timestamp: .timestamp
            }
        }

        var arrayType: PostgresDataType {
            switch self {
            case .int4: .int4Array
            case .int8: .int8Array
            case .text: .textArray
            case .timestamp: .timestampArray
            }
        }
    }

    let element: Element
    private var elements: ByteBuffer
    private(set) var count = 0
    private var hasNulls = false

    init(_ element: Element, capacity: Int = 0) {
        self.element = element
        elements = ByteBufferAllocator().buffer(capacity: capacity)
    }

    var psqlType: PostgresDataType { element.arrayType }
    var psqlFormat: PostgresFormat { .binary }

    mutating func append(_ value: Int32) {
        precondition(element == .int4, "an int4 value in a \(element) column")
        elements.writeMultipleIntegers(Int32(4), value)
        count += 1
    }

    mutating func append(_ value: Int64) {
        precondition(element == .int8, "an int8 value in a \(element) column")
        elements.writeMultipleIntegers(Int32(8), value)
        count += 1
    }

    mutating func append(_ value: Int64?) {
        if let value { append(value) } else { appendNull() }
    }

    mutating func appendNull() {
        elements.writeInteger(Int32(-1))
        hasNulls = true
        count += 1
    }

    /// A UTF-8 text. PostgreSQL's texts cannot hold a NUL byte: it becomes U+FFFD, as a reader of the value would
    /// expect of an unprintable byte, rather than failing the batch.
    mutating func append(text bytes: UnsafeBufferPointer<UInt8>) {
        precondition(element == .text, "a text in a \(element) column")
        let lengthAt = elements.writerIndex
        elements.writeInteger(Int32(0))
        if bytes.contains(0) {
            for byte in bytes {
                if byte == 0 { elements.writeBytes([0xEF, 0xBF, 0xBD]) } else { elements.writeInteger(byte) }
            }
        } else {
            elements.writeBytes(bytes)
        }
        elements.setInteger(Int32(elements.writerIndex - lengthAt - 4), at: lengthAt)
        count += 1
    }

    mutating func append(text value: String) {
        var value = value
        value.withUTF8 { append(text: $0) }
    }

    mutating func append(text value: String?) {
        if let value { append(text: value) } else { appendNull() }
    }

    /// A timestamp without time zone: microseconds since 2000-01-01 00:00:00, PostgreSQL's binary form.
    mutating func append(_ date: TransactionDate) {
        precondition(element == .timestamp, "a timestamp in a \(element) column")
        elements.writeMultipleIntegers(Int32(8), date.postgresMicroseconds)
        count += 1
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        // ndim, flags (has nulls), element type; then the one dimension's size and lower bound; then the elements.
        guard count > 0 else {
            buffer.writeMultipleIntegers(Int32(0), Int32(0), element.type.rawValue)
            return
        }
        buffer.writeMultipleIntegers(Int32(1), Int32(hasNulls ? 1 : 0), element.type.rawValue, Int32(count), Int32(1))
        buffer.writeImmutableBuffer(elements)
    }
}

extension TransactionDate {
    /// Microseconds since 2000-01-01 00:00:00 (PostgreSQL's epoch for binary timestamps), in the proleptic Gregorian
    /// calendar that PostgreSQL uses.
    var postgresMicroseconds: Int64 {
        let seconds = Int64(Self.daysSinceCivilEpoch(year: year, month: month, day: day) - Self.daysFrom1970To2000) * 86_400
            + Int64(hour * 3600 + minute * 60 + second)
        return seconds * 1_000_000
    }

    private static let daysFrom1970To2000 = 10_957

    /// Days from 1970-01-01 to the given date (Howard Hinnant's days_from_civil).
    static func daysSinceCivilEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
