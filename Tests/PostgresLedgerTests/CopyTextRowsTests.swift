import NIOCore
import Testing

@testable import PostgresLedger

@Suite struct CopyTextRowsTests {
    private func text(_ rows: CopyTextRows) -> String {
        var rows = rows
        let buffer = rows.take()
        return String(buffer: buffer)
    }

    @Test func fieldsRowsAndNulls() {
        var rows = CopyTextRows()
        #expect(rows.isEmpty)
        rows.text("transactions")
        rows.int(Int64(3))
        rows.int(Int64?.none)
        rows.text(String?.none)
        rows.endRow()
        rows.int(Int64(-42))
        rows.int(Int64.min)
        rows.int(Int64.max)
        rows.int(Int64(0))
        rows.endRow()
        #expect(rows.rows == 2)
        #expect(text(rows) == "transactions\t3\t\\N\t\\N\n-42\t-9223372036854775808\t9223372036854775807\t0\n")
    }

    @Test func textsAreEscapedAsCopyReadsThem() {
        var rows = CopyTextRows()
        rows.text("a\\b\tc\nd\re")
        rows.text("nul\u{0}byte")
        rows.text("ünïcode ✓")
        rows.endRow()
        #expect(text(rows) == "a\\\\b\\tc\\nd\\re\tnul\u{FFFD}byte\tünïcode ✓\n")
    }

    @Test func takeStartsAgain() {
        var rows = CopyTextRows()
        rows.int(Int64(1))
        rows.endRow()
        var first = rows.take()
        #expect(first.readString(length: first.readableBytes) == "1\n")
        rows.int(Int64(2))
        rows.endRow()
        #expect(text(rows) == "2\n")
    }
}
