import FuzzSupport
import LedgerChecks
import LedgerDomain

/// A transaction CSV file through the parser `produce --csv` runs (`TransactionCSV(bytes:file:)`). Every row it
/// accepts must be an event the sink would apply: a valid date, a non-empty account without surrounding space, a
/// positive amount, and a record value (its JSON) that decodes back to the same event. Rows and errors name lines
/// inside the file, rows in increasing order.
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
    return 0
}
