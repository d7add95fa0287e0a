import FuzzSupport
import LedgerChecks
import LedgerDomain

/// A transaction CSV file through the parser `produce --csv` runs (`TransactionCSV(bytes:file:)`). Every row it
/// accepts must be an event the sink would apply: a valid date, a non-empty account without surrounding space, a
/// positive amount, and a record value (its JSON) that decodes back to the same event. Rows and errors name lines
/// inside the file, rows in increasing order. The block-at-a-time parser (`TransactionCSVParser`, which streams large
/// files) must give exactly the same rows and errors wherever the blocks end (a block size taken from the input), and
/// its check-only pass the same errors and as many valid rows.
@main
enum LedgerCSVFuzz {
    static func main() { runLibFuzzer(fuzzLedgerCSV) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLedgerCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let csv = TransactionCSV(bytes: Array(fuzzInput(data, size)), file: "fuzz.csv")
    var previousLine = 1
    for row in csv.rows {
        require(row.line > previousLine && row.line <= csv.lineCount,
                "row at line \(row.line) after line \(previousLine), \(csv.lineCount) lines read")
        previousLine = row.line
        checkEvent(row.event, from: "CSV line \(row.line)")
    }
    for error in csv.errors {
        require(error.line >= 1 && error.line <= max(csv.lineCount, 1), "error at line \(error.line) of \(csv.lineCount): \(error)")
        require(error.file == "fuzz.csv" && !error.message.isEmpty, "error without a file or message: \(error)")
    }
    require(csv.rows.count + csv.errors.count <= max(csv.lineCount, 1),
            "\(csv.rows.count) rows and \(csv.errors.count) errors from \(csv.lineCount) lines")
    let bytes = Array(fuzzInput(data, size))
    let blockSize = 1 + Int(bytes.first ?? 0) % 64
    let expected = csv.rows.map { TransactionCSVParser.Item.row($0) } + csv.errors.map { .error($0) }
    for checkOnly in [false, true] {
        var parser = TransactionCSVParser(file: "fuzz.csv", checkOnly: checkOnly)
        var rows: [TransactionCSVParser.Item] = [], errors: [TransactionCSVParser.Item] = []
        var pending: [UInt8] = []
        var offset = 0
        repeat {
            let block = bytes[offset..<min(offset + blockSize, bytes.count)]
            offset += block.count
            pending += block
            let consumed = parser.parse(pending[...], isLast: offset == bytes.count) { item in
                if case .row = item { rows.append(item) } else { errors.append(item) }
            }
            pending.removeFirst(consumed)
        } while offset < bytes.count
        require(pending.isEmpty, "\(pending.count) bytes left unparsed at the end")
        if checkOnly {
            require(rows.isEmpty && errors == csv.errors.map { .error($0) } && parser.validRows == csv.rows.count,
                    "check-only pass: \(parser.validRows) valid rows and \(errors.count) errors, whole file: \(csv.rows.count) and \(csv.errors.count)")
        } else {
            require(rows + errors == expected, "blocks of \(blockSize) bytes: \(rows.count) rows and \(errors.count) errors, whole file: \(csv.rows.count) and \(csv.errors.count)")
        }
    }
    return 0
}
