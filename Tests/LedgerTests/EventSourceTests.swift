import Foundation
import NIOCore
import SQLiteStore
import Testing

@testable import Ledger

/// Imports are idempotent end to end: each record names its file row, and the sink applies each row once.
@Suite struct EventSourceTests {
    let digest = EventSource.digest(of: Array("transaction_date;account;transaction_value\n01/01/2024;A;1\n".utf8))

    @Test func digestIsTheFirst128BitsOfTheContentsSHA256() {
        // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        #expect(EventSource.digest(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223")
        #expect(digest.count == 32)
    }

    @Test func headerValueRoundTrips() throws {
        let source = EventSource(fileDigest: digest, line: 123_456)
        let parsed = try #require(EventSource(headerValue: ByteBuffer(string: source.headerValue).readableBytesView))
        #expect(parsed == source)
        #expect(EventSource(headers: [("other", ByteBuffer(string: "x")), (EventSource.headerKey, ByteBuffer(string: source.headerValue))]) == source)
        #expect(EventSource(headers: [("other", ByteBuffer(string: source.headerValue))]) == nil)
    }

    @Test(arguments: [
        "", ":", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef:", "0123456789abcdef0123456789abcdef:0",
        "0123456789ABCDEF0123456789abcdef:1", "0123456789abcdef0123456789abcde:12", "0123456789abcdef0123456789abcdef:1x",
        "0123456789abcdef0123456789abcdef:-1", "0123456789abcdef0123456789abcdef:12345678901234567890",
        "0123456789abcdef0123456789abcdeg:1",
    ])
    func malformedHeaderValuesAreNoSource(text: String) {
        #expect(EventSource(headerValue: ByteBuffer(string: text).readableBytesView) == nil)
    }

    /// The publisher writes the header's line number digit by digit, without a string.
    @Test func lineNumbersAreWrittenAsDecimalText() throws {
        for line in [0, 7, 10, 99, 123_456, Int.max, -42, Int.min] {
            var bytes = Array("x:".utf8)
            EventPublisher.appendDecimal(line, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == "x:\(line)")
        }
        // What the sink reads back, whether the shared digest string is reused or not.
        let previous = EventSource(fileDigest: digest, line: 1)
        var value = Array("\(digest):".utf8)
        EventPublisher.appendDecimal(987_654, to: &value)
        let parsed = try #require(value.withUnsafeBytes { EventSource(headerBytes: $0, previous: previous) })
        #expect(parsed == EventSource(fileDigest: digest, line: 987_654))
    }

    @Test func lineSetIsSparseAndExact() {
        var lines = LineSet()
        let first = [lines.insert(2), lines.insert(1 << 40), lines.insert(Int64.max)]
        let again = [lines.insert(2), lines.insert(Int64.max), lines.insert(3)]
        #expect(first == [true, true, true] && again == [false, false, true])
        lines.remove(2)
        let afterRemoval = lines.insert(2)
        #expect(afterRemoval)
    }

    /// Inserts, removals, stored blocks and lookups, in order and scattered, agree with a plain set of lines: the word
    /// kept aside for the last insert is always part of the set.
    @Test func lineSetAgreesWithAPlainSet() {
        var lines = LineSet()
        var reference = Set<Int64>()
        var generator = SystemRandomNumberGenerator()
        for step in 0..<20_000 {
            // Mostly lines in order (a file's rows), sometimes anywhere in a few thousand, sometimes far away.
            let line: Int64 = step % 7 == 0 ? Int64.random(in: 0..<4096, using: &generator)
                : step % 101 == 0 ? Int64.random(in: 0..<(1 << 50), using: &generator) : Int64(step)
            switch Int.random(in: 0..<10, using: &generator) {
            case 0:
                lines.remove(line)
                reference.remove(line)
            case 1:
                let bits = UInt64.random(in: 0...UInt64.max, using: &generator)
                lines.insert(block: line >> 6, bits: bits)
                for bit in 0..<64 where bits & (1 << UInt64(bit)) != 0 { reference.insert((line >> 6) << 6 + Int64(bit)) }
            default:
                #expect(lines.insert(line) == reference.insert(line).inserted, "step \(step), line \(line)")
            }
            if step % 997 == 0 {
                #expect(lines.contains(line) == reference.contains(line))
                var fromBlocks = Set<Int64>()
                for (block, bits) in lines.blocks {
                    for bit in 0..<64 where bits & (1 << UInt64(bit)) != 0 { fromBlocks.insert(block << 6 + Int64(bit)) }
                }
                #expect(fromBlocks == reference, "step \(step)")
            }
        }
        for line in Array(reference.prefix(500)) + (0..<500).map({ _ in Int64.random(in: 0..<30_000, using: &generator) }) {
            #expect(lines.contains(line) == reference.contains(line))
        }
    }

    func withSink(_ body: (String, () throws -> LedgerSink) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        try body(path) { try LedgerSink(database: LedgerDatabase.open(path: path)) }
    }

    /// The rows of a file as an import sends them, starting at `offset` in partition 0.
    func imported(_ csv: String, from offset: Int64, digest: String? = nil) -> [SinkRecord] {
        let bytes = Array(csv.utf8)
        let fileDigest = digest ?? EventSource.digest(of: bytes)
        return TransactionCSV(bytes: bytes, file: "t").rows.enumerated().map { index, row in
            SinkRecord(topic: "transactions", partition: 0, offset: offset + Int64(index), bytes: Array(row.event.jsonText.utf8),
                       source: EventSource(fileDigest: fileDigest, line: Int64(row.line)))
        }
    }

    let file = "transaction_date;account;transaction_value\n01/01/2024;A;10\n02/01/2024;A;-3\n03/01/2024;B;7\n"

    @Test func aFileImportedTwiceIsAppliedOnce() throws {
        try withSink { path, open in
            let sink = try open()
            #expect(try sink.apply(imported(file, from: 0)).applied == 3)
            // The same file again, later in the topic: nothing applied, every row counted as already there.
            let again = try sink.apply(imported(file, from: 3))
            #expect(again.applied == 0 && again.alreadyImported == 3)
            #expect(sink.resumeOffset(topic: "transactions", partition: 0) == 6)
            // A sink opened later knows too (from the unique index), and a different file is applied.
            let reopened = try open()
            #expect(try reopened.apply(imported(file, from: 6)).alreadyImported == 3)
            let other = try reopened.apply(imported(file + "04/01/2024;B;1\n", from: 9))
            #expect(other.applied == 4 && other.alreadyImported == 0)
            #expect(reopened.balance(of: "A") == Money(cents: 1400) && reopened.balance(of: "B") == Money(cents: 1500))
            // Records without a source (the shell's, plain produce) are never deduplicated.
            let plain = SinkRecord(topic: "transactions", partition: 0, offset: 13,
                                   bytes: Array(imported(file, from: 0)[0].value!.readableBytesView))
            let plainAgain = SinkRecord(topic: "transactions", partition: 0, offset: 14, value: plain.value)
            #expect(try reopened.apply([plain, plainAgain]).applied == 2)
            let count = try SQLiteDatabase(path: path).prepare("SELECT COUNT(*), COUNT(source_id) FROM ledger_postings")
            _ = try count.step()
            #expect(count.int64(0) == 9 && count.int64(1) == 7)
        }
    }

    @Test func aRowRepeatedWithinOneBatchIsAppliedOnce() throws {
        try withSink { _, open in
            let sink = try open()
            let rows = imported(file, from: 0)
            var repeated = rows[0]
            repeated.offset = 3
            let report = try sink.apply(rows + [repeated])
            #expect(report.applied == 3 && report.alreadyImported == 1)
        }
    }

    /// A batch that fails after some rows were marked applied leaves them unmarked: applying it again applies them.
    @Test func aRolledBackBatchForgetsItsRows() throws {
        try withSink { path, open in
            let sink = try open()
            let blocker = try SQLiteDatabase(path: path)
            try blocker.execute("""
                CREATE TRIGGER refuse_third BEFORE INSERT ON ledger_postings WHEN NEW.offset = 2
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
                """)
            #expect(throws: SQLiteError.self) { try sink.apply(imported(file, from: 0)) }
            try blocker.execute("DROP TRIGGER refuse_third")
            let report = try sink.apply(imported(file, from: 0))
            #expect(report.applied == 3 && report.alreadyImported == 0)
            #expect(try open().apply(imported(file, from: 3)).alreadyImported == 3)
        }
    }

    /// The stored lines, not only a sink's memory, guard the rows: a sink whose cache of a file's applied lines is
    /// stale (another sink applied some since) finds out when it marks them, and decides its batch again.
    @Test func aSinkWithAStaleCacheOfAFilesLinesAppliesNoRowTwice() throws {
        try withSink { path, open in
            let first = try open(), second = try open()
            // The file reaches both sinks, through two partitions (it was produced twice). The second sink applies
            // its first row (and caches the file's applied lines); the first sink then applies the other two.
            let copy = imported(file, from: 0).map { var record = $0; record.partition = 1; return record }
            #expect(try second.apply([copy[0]]).applied == 1)
            let report = try first.apply(imported(file, from: 0))
            #expect(report.applied == 2 && report.alreadyImported == 1)
            // The second sink's cache says those two are not applied: marking them finds out, and it skips them.
            let again = try second.apply(Array(copy[1...]))
            #expect(again.applied == 0 && again.alreadyImported == 2)
            let database = try SQLiteDatabase(path: path)
            let count = try database.prepare("SELECT COUNT(*) FROM ledger_postings WHERE source_id IS NOT NULL")
            #expect(try count.step() && count.int64(0) == 3)
        }
    }

}
