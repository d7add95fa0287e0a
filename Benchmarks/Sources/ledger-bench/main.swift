// ledger-bench: rows/s of the bank pipeline for generated CSVs (1,000,000 rows each by default).
//
// Two data sets, each measured on its own stages: CSV parsing and validation; the SQLite sink applying pre-encoded
// events (file database, WAL, 50,000-row calls); `ledgerstream produce --csv` against a release broker;
// `ledgerstream consume --sink sqlite -e` draining the topic; and end to end, the sink running while the file is
// produced, from the first row sent to the last row committed.
//
// - "ledger": what a bank export looks like (the shape of data/client_transactions.csv): every row states the
//   running balance, withdrawals never exceed it, so nothing is flagged.
// - "random walk": signed random amounts without stated balances, so about half of all rows take their account
//   below zero and are flagged (a reconciliation_issues row each): the sink's worst case.
//
// Each process stage also reports its peak RSS (VmHWM, read while it runs) and its CPU; the end-to-end row gives the
// producer's, the broker's and the sink's CPU. Then, for the "ledger" data: `produce --csv` of a file ten times as
// large (constant memory: its peak RSS should not grow with the file), and the cost of the progress bar (the same
// produce through script(1), with stderr on its pseudo-terminal, so that the bar is drawn, and on /dev/null). A data set's topics and
// files are deleted once it has been measured (see `cleanUp`).
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
func money(_ cents: Int) -> String {
    (cents < 0 ? "-" : "") + "\(abs(cents) / 100).\(abs(cents) % 100 < 10 ? "0" : "")\(abs(cents) % 100)"
}

/// 1,000 accounts, amounts with cents, the original format (`;`, dd/mm/yyyy, signed values).
func generateCSV(ledger: Bool) -> String {
    var generator = SystemRandomNumberGenerator()
    var csv = "transaction_date;account;transaction_value;balance\n"
    csv.reserveCapacity(rowCount * 48)
    var balances = [Int](repeating: 0, count: 1000)
    for i in 0..<rowCount {
        let account = i % 1000
        var cents = Int.random(in: 1...500_000, using: &generator) * (Bool.random(using: &generator) ? 1 : -1)
        var stated = ""
        if ledger {
            if cents < 0 && -cents > balances[account] { cents = -cents }  // a withdrawal the balance cannot cover: deposit
            balances[account] += cents
            stated = money(balances[account])
        }
        csv += "\(1 + i % 28)/\(1 + i % 12)/2024;C\(account);\(money(cents));\(stated)\n"
    }
    return csv
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return cpuSeconds(in: usage)
}

/// User plus system time of a rusage, in seconds.
func cpuSeconds(in usage: rusage) -> Double {
    Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

// Through a broker, with real processes (skipped with "-" as the binary).
func launch(_ args: [String]) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = args
    process.standardError = FileHandle.nullDevice
    return process
}

/// The release broker the process stages talk to, and its address ("" with "-" as the binary).
func startBroker() throws -> (Process?, String) {
    guard binary != "-" else { return (nil, "") }
    let process = try launch(["broker", "--listeners", "PLAINTEXT://127.0.0.1:0", "--log-dirs", work + "/broker"])
    let brokerOut = Pipe()
    process.standardOutput = brokerOut
    try process.run()
    let readyLine = String(decoding: brokerOut.fileHandleForReading.availableData, as: UTF8.self)
    guard let range = readyLine.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression) else {
        fatalError("broker did not start: \(readyLine)")
    }
    return (process, "127.0.0.1:" + String(readyLine[range].split(separator: ":")[1]))
}
let (broker, bootstrap) = try startBroker()
defer { broker?.terminate() }

/// Runs a command to its end: seconds, its peak RSS in MB and its CPU seconds (user and system, from wait4).
/// With `wrapper` (a command taking a shell command line, as `script -c`), `shellSuffix` ends that line (a redirection).
func runToEnd(_ args: [String], through wrapper: [String] = [], shellSuffix: String = "") throws -> (seconds: Double, peakMB: Double, cpuSeconds: Double) {
    let begin = now()
    let commandLine = ([binary] + args + ["-b", bootstrap]).joined(separator: " ") + shellSuffix
    let pid = try spawn(wrapper.isEmpty ? [binary] + args + ["-b", bootstrap] : wrapper + [commandLine])
    let (status, peak, cpu) = reap(pid)
    precondition(status == 0, "\(args) failed")
    return (now() - begin, peak, cpu)
}

/// CPU seconds (user and system) a running process has used so far, from /proc/PID/stat (0 if it cannot be read).
func cpuSeconds(of pid: pid_t) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let afterName = stat.lastIndex(of: ")") else { return 0 }
    // Fields after the command name start at field 3 (state); utime and stime are fields 14 and 15.
    let fields = stat[stat.index(after: afterName)...].split(separator: " ")
    let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
    return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Starts `argv` with stdin, stdout and stderr on /dev/null.
func spawn(_ argv: [String]) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for descriptor in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, Int32(descriptor), "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0) }
    var pid: pid_t = 0
    let cArguments = argv.map { strdup($0) } + [nil]
    defer { for argument in cArguments { free(argument) } }
    let result = posix_spawnp(&pid, argv[0], &actions, nil, cArguments, environ)
    guard result == 0 else { throw NSError(domain: "spawn", code: Int(result)) }
    return pid
}

/// Waits for `pid`: its exit status, peak RSS in MB and CPU seconds (wait4's rusage: with its reaped children, so
/// through script(1) the measured command's too). The peak is the process's VmHWM, read every 10 ms while it
/// runs (VmHWM only grows; wait4's ru_maxrss would count this process's own memory, which the child shared until its
/// exec). Through script(1), the peak of script's child, the measured command.
func reap(_ pid: pid_t) -> (status: Int32, peakMB: Double, cpuSeconds: Double) {
    var status: Int32 = 0
    var usage = rusage()
    var peakKB = 0.0
    func highWaterKB(_ pid: pid_t) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return Double(line.split(separator: " ", omittingEmptySubsequences: true)[1])
    }
    func children(_ pid: pid_t) -> [pid_t] {
        ((try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { pid_t($0) }
    }
    while true {
        let result = wait4(pid, &status, WNOHANG, &usage)
        if result == pid { break }
        if result < 0 && errno != EINTR { break }
        for process in [pid] + children(pid) { if let kb = highWaterKB(process) { peakKB = max(peakKB, kb) } }
        usleep(10_000)
    }
    return ((status >> 8) & 0xFF, peakKB / 1024, cpuSeconds(in: usage))
}

func megabytes(_ value: Double) -> String { String(format: "%.0f MB", value) }

/// Deletes a data set's topics, databases and files once it has been measured. Each row then meets the page cache
/// as the first did: on a virtual machine, a page-cache page the guest has never touched can cost the host a fault
/// on the first write (measured here with dd: 1 GB into fresh pages at 229-376 MB/s, all of it system time, against
/// 5.4 GB/s into pages freed a moment before), so a row measured after gigabytes of earlier rows would measure the
/// host's memory, not the pipeline.
func cleanUp(tag: String, topics: [String]) throws {
    for suffix in topics { _ = try runToEnd(["topic", "delete", "\(tag)-\(suffix)"]) }
    for file in try FileManager.default.contentsOfDirectory(atPath: work) where file.hasPrefix(tag + "-") || file == tag + ".csv" {
        try FileManager.default.removeItem(atPath: work + "/" + file)
    }
}

func measure(name: String, ledger: Bool) throws {
    let tag = ledger ? "ledger" : "walk"
    defer { if !bootstrap.isEmpty { try? cleanUp(tag: tag, topics: ledger ? ["bench", "e2e", "tty"] : ["bench", "e2e"]) } }
    let csv = generateCSV(ledger: ledger)
    let csvPath = work + "/\(tag).csv"
    try csv.write(toFile: csvPath, atomically: false, encoding: .utf8)

    // 1. Parse.
    let bytes = Array(csv.utf8)
    var start = now()
    let parsed = TransactionCSV(bytes: bytes, file: csvPath)
    let parseSeconds = now() - start
    precondition(parsed.errors.isEmpty && parsed.rows.count == rowCount)

    // 2. Sink alone (pre-encoded events, as the consumer hands them over: in runs of 1,000 records per partition, about
    // what one fetch response holds for a partition of this topic; each naming its file row, as `produce --csv` does).
    let digest = EventSource.digest(of: bytes)
    let records = parsed.rows.enumerated().map { index, row in
        let (run, position) = index.quotientAndRemainder(dividingBy: 1000)
        return SinkRecord(topic: "bench", partition: Int32(run % 4), offset: Int64(run / 4 * 1000 + position),
                          bytes: Array(row.event.jsonText.utf8), source: EventSource(fileDigest: digest, line: Int64(row.line)))
    }
    let sink = try LedgerSink(database: LedgerDatabase.open(path: work + "/\(tag)-sink-only.db"))
    let sinkCPUStart = cpuSeconds()
    start = now()
    var index = 0
    var flagged = 0
    while index < records.count {
        let report = try sink.apply(Array(records[index..<min(index + 50_000, records.count)]))
        flagged += report.mismatches + report.negativeBalances
        index += 50_000
    }
    let sinkSeconds = now() - start
    let sinkCPU = cpuSeconds() - sinkCPUStart

    print("\n\(name): \(rowCount) rows (\(csv.utf8.count / 1_000_000) MB), \(flagged) flagged by the sink\n")
    print("| stage | rate |")
    print("|---|---|")
    print("| parse + validate CSV | \(rate(rowCount, parseSeconds)) |")
    print("| SQLite sink alone (50,000-row calls, WAL) | \(rate(rowCount, sinkSeconds)), CPU \(String(format: "%.2f", sinkCPU)) s |")
    guard !bootstrap.isEmpty else { return }

    // 3-5. Produce, drain, end to end.
    _ = try runToEnd(["topic", "create", "\(tag)-bench", "--partitions", "4"])
    let produce = try runToEnd(["produce", "--csv", csvPath, "--topic", "\(tag)-bench", "-q"])
    let drain = try runToEnd(["consume", "\(tag)-bench", "--sink", "sqlite", "--db", work + "/\(tag)-drain.db", "-e"])

    // End to end: the sink is already running when the file starts going out.
    _ = try runToEnd(["topic", "create", "\(tag)-e2e", "--partitions", "4"])
    let e2eDatabase = work + "/\(tag)-e2e.db"
    let sinkPID = try spawn([binary, "consume", "\(tag)-e2e", "--sink", "sqlite", "--db", e2eDatabase, "-b", bootstrap])
    Thread.sleep(forTimeInterval: 1)
    let brokerPID = broker!.processIdentifier
    let brokerCPUStart = cpuSeconds(of: brokerPID), sinkCPUBefore = cpuSeconds(of: sinkPID)
    start = now()
    let e2eProduce = try runToEnd(["produce", "--csv", csvPath, "--topic", "\(tag)-e2e", "-q"])
    // Watch the sink's stored offsets (a few rows), not COUNT(*) over the growing table, which would compete for CPU.
    let reader = try LedgerQueries(database: LedgerDatabase.open(path: e2eDatabase, readOnly: true))
    while try reader.sinkPositions().reduce(0, { $0 + $1.nextOffset }) < rowCount { Thread.sleep(forTimeInterval: 0.02) }
    let endToEndSeconds = now() - start
    let brokerCPU = cpuSeconds(of: brokerPID) - brokerCPUStart, endToEndSinkCPU = cpuSeconds(of: sinkPID) - sinkCPUBefore
    let stored = try reader.entryCount()
    precondition(stored == rowCount)
    kill(sinkPID, SIGTERM)
    let sinkPeak = reap(sinkPID).peakMB

    let target = ledger ? 600_000.0 : 400_000.0
    print("| produce --csv to the broker | \(rate(rowCount, produce.seconds)), peak RSS \(megabytes(produce.peakMB)), CPU \(String(format: "%.2f", produce.cpuSeconds)) s |")
    print("| consume --sink sqlite, draining the topic | \(rate(rowCount, drain.seconds)), peak RSS \(megabytes(drain.peakMB)) (target ≤ 64 MB), CPU \(String(format: "%.2f", drain.cpuSeconds)) s |")
    print("| end to end: produce while the sink runs, until the last row is committed | \(rate(rowCount, endToEndSeconds)), "
          + "\(String(format: "%.2f", Double(rowCount) / endToEndSeconds / target))x the target of \(Int(target)) rows/s; sink peak RSS \(megabytes(sinkPeak)); "
          + "CPU: producer \(String(format: "%.2f", e2eProduce.cpuSeconds)) s, broker \(String(format: "%.2f", brokerCPU)) s, sink \(String(format: "%.2f", endToEndSinkCPU)) s |")
    guard ledger else { return }

    // 6. Ten times the file: constant memory.
    let bigPath = work + "/\(tag)-x10.csv"
    let body = csv[csv.index(after: csv.firstIndex(of: "\n")!)...]
    _ = FileManager.default.createFile(atPath: bigPath, contents: nil)
    let big = try FileHandle(forWritingTo: URL(fileURLWithPath: bigPath))
    big.write(Data(csv.prefix(while: { $0 != "\n" }).utf8 + [10]))
    for _ in 0..<10 { big.write(Data(body.utf8)) }
    try big.close()
    _ = try runToEnd(["topic", "create", "\(tag)-x10", "--partitions", "4"])
    let tenfold = try runToEnd(["produce", "--csv", bigPath, "--topic", "\(tag)-x10", "-q"])
    try? FileManager.default.removeItem(atPath: bigPath)
    _ = try runToEnd(["topic", "delete", "\(tag)-x10"])
    print("| produce --csv of \(rowCount * 10) rows (\(csv.utf8.count * 10 / 1_000_000) MB) | \(rate(rowCount * 10, tenfold.seconds)), "
          + "peak RSS \(megabytes(tenfold.peakMB)) (\(String(format: "%.2f", tenfold.peakMB / produce.peakMB))x the \(rowCount)-row file's) |")

    // 7. The progress bar: drawn only on a terminal, so the same produce through script(1) with stderr on its
    // pseudo-terminal, and through script(1) with stderr on /dev/null (no bar, the same pseudo-terminal and shell
    // otherwise). Three alternated pairs, medians: one pair alone swung from 0.5x to 1.2x between runs.
    _ = try runToEnd(["topic", "create", "\(tag)-tty", "--partitions", "4"])
    var plainSeconds: [Double] = [], barSeconds: [Double] = []
    let script = ["script", "-qfe", "/dev/null", "-c"]
    for _ in 0..<3 {
        plainSeconds.append(try runToEnd(["produce", "--csv", csvPath, "--topic", "\(tag)-tty", "-q"], through: script,
                                         shellSuffix: " 2>/dev/null").seconds)
        barSeconds.append(try runToEnd(["produce", "--csv", csvPath, "--topic", "\(tag)-tty", "-q"], through: script).seconds)
    }
    let plain = plainSeconds.sorted()[1], withBar = barSeconds.sorted()[1]
    print("| produce --csv with the progress bar drawn (stderr on a pseudo-terminal) vs not, medians of 3 alternated pairs | "
          + "\(rate(rowCount, withBar)) vs \(rate(rowCount, plain)): \(String(format: "%.2f", plain / withBar))x |")
}

try measure(name: "ledger (stated running balances, nothing flagged)", ledger: true)
try measure(name: "random walk (no stated balances, about half the rows flagged negative)", ledger: false)
