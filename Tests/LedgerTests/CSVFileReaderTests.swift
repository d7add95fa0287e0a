import Foundation
import LedgerDomain
import Synchronization
import Testing

@testable import Ledger

/// The check of `produce --csv` finds the same rows, lines, errors and digest whether the file goes in one pass or in
/// two halves on two threads, wherever the halves meet and the blocks end.
@Suite struct CSVFileReaderTests {
    /// A file of `rows` rows with bad ones here and there (bad dates, amounts, field counts, a blank line), CRLF line
    /// ends on some, and optionally a quoted field.
    func sampleFile(rows: Int, seed: UInt64, quoted: Bool = false) throws -> String {
        // Which rows are bad, their line ends and amounts follow from the row and the seed (a failure names its seed).
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var text = "transaction_date;account;transaction_value;balance\n"
        for index in 0..<rows {
            let end = next() % 7 == 0 ? "\r\n" : "\n"
            switch next() % 23 {
            case 0: text += "31/02/2024;C\(index % 13);10.00;10.00" + end
            case 1: text += "1/1/2024;C\(index % 13);ten;" + end
            case 2: text += "1/1/2024;C\(index % 13);1.00" + end
            case 3: text += end
            case 4 where quoted: text += "2/2/2024;\"C;\(index)\";1.00;" + end
            default: text += "\(1 + index % 28)/\(1 + index % 12)/2024;C\(index % 13);\(next() % 100_000).\(next() % 90 + 10);" + end
            }
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString).csv").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    func expectSame(_ a: CSVFileReader.Check, _ b: CSVFileReader.Check, _ comment: Comment) {
        #expect(a.summary.bytes == b.summary.bytes, comment)
        #expect(a.summary.digest == b.summary.digest, comment)
        #expect(a.summary.lines == b.summary.lines, comment)
        #expect(a.summary.validRows == b.summary.validRows, comment)
        #expect(a.errors == b.errors, comment)
        #expect(a.errorCount == b.errorCount, comment)
    }

    @Test func halvesFindWhatOnePassFinds() async throws {
        for seed in UInt64(1)...4 {
            let path = try sampleFile(rows: 400, seed: seed)
            defer { unlink(path) }
            let whole = try await CSVFileReader(path: path).check(keepingErrors: 1000, splitBytes: .max, progress: { _ in })
            #expect(!whole.inHalves && whole.errorCount > 10)
            for blockSize in [7, 64, 97, 1000, 1 << 20] {
                let reported = Largest()
                let halves = try await CSVFileReader(path: path, blockSize: blockSize)
                    .check(keepingErrors: 1000, splitBytes: 1, progress: { read in reported.value.withLock { $0 = max($0, read) } })
                #expect(halves.inHalves, "seed \(seed), block \(blockSize)")
                expectSame(halves, whole, "seed \(seed), block \(blockSize)")
                #expect(reported.value.withLock { $0 } == whole.summary.bytes)
            }
            // The errors kept are the first ones in file order, from either half.
            let firstFew = try await CSVFileReader(path: path, blockSize: 64).check(keepingErrors: 5, splitBytes: 1, progress: { _ in })
            #expect(firstFew.errors == Array(whole.errors.prefix(5)) && firstFew.errorCount == whole.errorCount)
        }
    }

    /// A quote anywhere may open a field that holds a line break, so such a file is checked in one pass.
    @Test func aFileWithQuotesIsCheckedInOnePass() async throws {
        let path = try sampleFile(rows: 300, seed: 9, quoted: true)
        defer { unlink(path) }
        let whole = try await CSVFileReader(path: path).check(keepingErrors: 1000, splitBytes: .max, progress: { _ in })
        let asked = try await CSVFileReader(path: path, blockSize: 50).check(keepingErrors: 1000, splitBytes: 1, progress: { _ in })
        #expect(!asked.inHalves)
        expectSame(asked, whole, "quoted")
    }

    /// A header that is wrong stops the check at line 1 either way; a file of a header only has no rows.
    @Test func aBadHeaderOrNoRows() async throws {
        let directory = FileManager.default.temporaryDirectory.path
        for (name, text) in [("bad-header", "date;who;amount\n1/1/2024;C1;1.00\n2/1/2024;C1;1.00\n"),
                             ("header-only", "transaction_date;account;transaction_value;balance\n"),
                             ("no-final-newline", "transaction_date;account;transaction_value;balance\n1/1/2024;C1;1.00;\n2/1/2024;C1;x;")] {
            let path = directory + "/\(name)-\(UUID().uuidString).csv"
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            defer { unlink(path) }
            let whole = try await CSVFileReader(path: path).check(keepingErrors: 10, splitBytes: .max, progress: { _ in })
            let halves = try await CSVFileReader(path: path, blockSize: 16).check(keepingErrors: 10, splitBytes: 1, progress: { _ in })
            expectSame(halves, whole, "\(name)")
        }
    }
}

/// The largest progress figure reported, from either thread.
final class Largest: Sendable {
    let value = Mutex(0)
}
