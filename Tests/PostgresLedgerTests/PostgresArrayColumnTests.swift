import LedgerDomain
import NIOCore
import PostgresNIO
import Testing

@testable import PostgresLedger

@Suite struct PostgresArrayColumnTests {
    private func encoded(_ column: PostgresArrayColumn) -> [UInt8] {
        var buffer = ByteBuffer()
        column.encode(into: &buffer, context: .default)
        return Array(buffer.readableBytesView)
    }

    private func int32(_ value: Int32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }
    private func int64(_ value: Int64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }

    @Test func bigintsWithANullAreAOneDimensionalArrayFlaggedAsHoldingNulls() {
        var column = PostgresArrayColumn(.int8)
        column.append(Int64(-2))
        column.append(Int64?.none)
        column.append(Int64.max)
        #expect(column.psqlType == .int8Array)
        #expect(column.count == 3)
        let header = int32(1) + int32(1) + int32(Int32(PostgresDataType.int8.rawValue)) + int32(3) + int32(1)
        #expect(encoded(column) == header + int32(8) + int64(-2) + int32(-1) + int32(8) + int64(.max))
    }

    @Test func integersWithoutNullsAreNotFlagged() {
        var column = PostgresArrayColumn(.int4)
        column.append(Int32(7))
        let header = int32(1) + int32(0) + int32(Int32(PostgresDataType.int4.rawValue)) + int32(1) + int32(1)
        #expect(encoded(column) == header + int32(4) + int32(7))
    }

    @Test func anEmptyColumnHasNoDimensions() {
        let column = PostgresArrayColumn(.text)
        #expect(encoded(column) == int32(0) + int32(0) + int32(Int32(PostgresDataType.text.rawValue)))
    }

    @Test func textsAreLengthPrefixedUTF8AndANulByteBecomesAReplacementCharacter() {
        var column = PostgresArrayColumn(.text)
        column.append(text: "C1\té")
        column.append(text: "a\u{0}b")
        column.append(text: String?.none)
        let bytes = encoded(column)
        let elements = Array(bytes.dropFirst(20))
        #expect(elements == int32(5) + Array("C1\té".utf8) + int32(5) + [0x61, 0xEF, 0xBF, 0xBD, 0x62] + int32(-1))
    }

    @Test func timestampsAreMicrosecondsSince2000() {
        #expect(TransactionDate(year: 2000, month: 1, day: 1).postgresMicroseconds == 0)
        #expect(TransactionDate(year: 2000, month: 1, day: 2, hour: 0, minute: 0, second: 1).postgresMicroseconds == 86_401_000_000)
        #expect(TransactionDate(year: 1999, month: 12, day: 31, hour: 23, minute: 59, second: 59).postgresMicroseconds == -1_000_000)
        // 2024-02-29 12:30:15, a leap day: 8,825 days after 2000-01-01.
        #expect(TransactionDate(year: 2024, month: 2, day: 29, hour: 12, minute: 30, second: 15).postgresMicroseconds
                == (8_825 * 86_400 + 12 * 3600 + 30 * 60 + 15) * 1_000_000)
        // 0001-01-01, the earliest date the ledger accepts: 730,119 days before 2000-01-01.
        #expect(TransactionDate(year: 1, month: 1, day: 1).postgresMicroseconds == -730_119 * 86_400 * 1_000_000)
        var column = PostgresArrayColumn(.timestamp)
        column.append(TransactionDate(year: 2000, month: 1, day: 1, hour: 0, minute: 0, second: 2))
        #expect(Array(encoded(column).dropFirst(20)) == int32(8) + int64(2_000_000))
    }
}
