// ledger-bench: rows/s of the bank pipeline for a generated CSV (1,000,000 rows by default).
//
// Measures, each on its own: CSV parsing and validation; the SQLite sink applying pre-encoded events (file database,
// WAL, 5000-row transactions); `ledgerstream produce --csv` against a release broker; `ledgerstream consume --sink
// sqlite -e` draining the topic; and end to end, the sink running while the file is produced, from the first row sent
// to the last row committed.
//
// Usage: ledger-bench PATH_TO_RELEASE_LEDGERSTREAM [rows] [work dir]   ("-" as the path: in-process stages only)
import Foundation
import Ledger

let arguments = CommandLine.arguments
guard arguments.count > 1 else {
    print("usage: ledger-bench PATH_TO_LEDGERSTREAM [rows] [work dir]")
    exit(2)
}
let binary = arguments[1]
let rowCount = arguments.count > 2 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000
let work = arguments.count > 3 ? arguments[3] : NSTemporaryDirectory() + "ledger-bench-\(getpid())"
try? FileManager.default.removeItem(atPath: work)
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: work) }

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
func rate(_ rows: Int, _ seconds: Double) -> String { String(format: "%9.0f rows/s  (%.2f s)", Double(rows) / seconds, seconds) }

// The CSV: 1,000 accounts, signed amounts with cents, the original format.
var generator = SystemRandomNumberGenerator()
var csv = "transaction_date;account;transaction_value;balance\n"
csv.reserveCapacity(rowCount * 40)
for i in 0..<rowCount {
    let cents = Int.random(in: 1...500_000, using: &generator) * (Bool.random(using: &generator) ? 1 : -1)
    let sign = cents < 0 ? "-" : ""
    let absolute = abs(cents)
    csv += "\(1 + i % 28)/\(1 + i % 12)/2024;C\(i % 1000);\(sign)\(absolute / 100).\(absolute % 100 < 10 ? "0" : "")\(absolute % 100);\n"
}
let csvPath = work + "/transactions.csv"
try csv.write(toFile: csvPath, atomically: false, encoding: .utf8)
print("ledger-bench: \(rowCount) rows (\(csv.utf8.count / 1_000_000) MB) in \(work)")

// 1. Parse.
let bytes = Array(csv.utf8)
var start = now()
let parsed = TransactionCSV(bytes: bytes, file: csvPath)
let parseSeconds = now() - start
precondition(parsed.errors.isEmpty && parsed.rows.count == rowCount)

// 2. Sink alone.
let records = parsed.rows.enumerated().map { index, row in
    SinkRecord(topic: "bench", partition: Int32(index % 4), offset: Int64(index / 4), bytes: Array(row.event.jsonText.utf8))
}
start = now()
var decodedAmount: Int64 = 0
for record in records { decodedAmount &+= try TransactionEvent(json: record.value!).amount.cents }
let decodeSeconds = now() - start
precondition(decodedAmount != 0)
let sink = try LedgerSink(database: LedgerDatabase.open(path: work + "/sink-only.db"))
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
let sinkCPUStart = cpuSeconds()
start = now()
var index = 0
while index < records.count {
    _ = try sink.apply(Array(records[index..<min(index + 50_000, records.count)]))
    index += 50_000
}
let sinkSeconds = now() - start
let sinkCPU = cpuSeconds() - sinkCPUStart

if binary == "-" {
    print("parse + validate CSV: \(rate(rowCount, parseSeconds))")
    print("decode JSON events:   \(rate(rowCount, decodeSeconds))")
    print("SQLite sink alone:    \(rate(rowCount, sinkSeconds)), CPU \(String(format: "%.2f", sinkCPU)) s")
    try? FileManager.default.removeItem(atPath: work)
    exit(0)
}

// 3-5. Through a broker, with real processes.
func launch(_ args: [String]) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = args
    process.standardError = FileHandle.nullDevice
    return process
}

let broker = try launch(["broker", "--listeners", "PLAINTEXT://127.0.0.1:0", "--log-dirs", work + "/broker"])
let brokerOut = Pipe()
broker.standardOutput = brokerOut
try broker.run()
defer { broker.terminate() }
var port = ""
let readyLine = String(decoding: brokerOut.fileHandleForReading.availableData, as: UTF8.self)
if let range = readyLine.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
    port = String(readyLine[range].split(separator: ":")[1])
}
precondition(!port.isEmpty, "broker did not start: \(readyLine)")
let bootstrap = "127.0.0.1:\(port)"

func runToEnd(_ args: [String]) throws -> Double {
    let process = try launch(args + ["-b", bootstrap])
    process.standardOutput = FileHandle.nullDevice
    let begin = now()
    try process.run()
    process.waitUntilExit()
    precondition(process.terminationStatus == 0, "\(args) failed")
    return now() - begin
}

_ = try runToEnd(["topic", "create", "bench", "--partitions", "4"])
let produceSeconds = try runToEnd(["produce", "--csv", csvPath, "--topic", "bench", "-q"])
let drainSeconds = try runToEnd(["consume", "bench", "--sink", "sqlite", "--db", work + "/drain.db", "-e"])

// End to end: the sink is already running when the file starts going out.
_ = try runToEnd(["topic", "create", "e2e", "--partitions", "4"])
let e2eDatabase = work + "/e2e.db"
let sinkProcess = try launch(["consume", "e2e", "--sink", "sqlite", "--db", e2eDatabase, "-b", bootstrap])
sinkProcess.standardOutput = FileHandle.nullDevice
try sinkProcess.run()
Thread.sleep(forTimeInterval: 1)
start = now()
_ = try runToEnd(["produce", "--csv", csvPath, "--topic", "e2e", "-q"])
// Watch the sink's stored offsets (a few rows), not COUNT(*) over the growing table, which would compete for CPU.
let reader = try LedgerQueries(database: LedgerDatabase.open(path: e2eDatabase, readOnly: true))
while try reader.sinkPositions().reduce(0, { $0 + $1.nextOffset }) < rowCount { Thread.sleep(forTimeInterval: 0.02) }
let endToEndSeconds = now() - start
let finalCount = try reader.entryCount()
precondition(finalCount == rowCount)
sinkProcess.terminate()
sinkProcess.waitUntilExit()

print("")
print("| stage | rate |")
print("|---|---|")
print("| parse + validate CSV | \(rate(rowCount, parseSeconds)) |")
print("| SQLite sink alone (50,000-row transactions, WAL) | \(rate(rowCount, sinkSeconds)) |")
print("| produce --csv to the broker | \(rate(rowCount, produceSeconds)) |")
print("| consume --sink sqlite, draining the topic | \(rate(rowCount, drainSeconds)) |")
print("| end to end: produce while the sink runs, until the last row is committed | \(rate(rowCount, endToEndSeconds)) |")
