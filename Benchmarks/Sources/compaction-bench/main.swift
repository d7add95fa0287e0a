// compaction-bench: how fast the log cleaner compacts, and how much memory it takes.
//
// Writes a compacted partition of 16 KiB batches of 100-byte records over `keys` distinct keys (so each key has many
// versions), rolls it, then has LogManager.cleanDirtiestLog clean it: once with the default dedupe buffer (the whole
// dirty section in one cleaning), once with a 1 MiB one (several cleanings, each bounded by the buffer). The log was
// just written, so it is read from the page cache. Prints the
// rate in MB/s of dirty log cleaned, bytes read and written, the offset map's size, and the process's peak RSS
// growth during cleaning (getrusage), which is the cleaner's memory.
//
// Usage: compaction-bench [directory] [MiB of dirty log, default 256] [distinct keys, default 100000]
import Foundation
import KafkaProtocol
import Logging
import LogStorage
import NIOCore
import Timekeeping

let arguments = CommandLine.arguments
let base = arguments.count > 1 ? arguments[1] : FileManager.default.currentDirectoryPath + "/.bench-compaction"
let mebibytes = arguments.count > 2 ? Int(arguments[2]) ?? 256 : 256
let keys = arguments.count > 3 ? Int(arguments[3]) ?? 100_000 : 100_000

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

let quiet: Logger = {
    var logger = Logger(label: "compaction-bench")
    logger.logLevel = .warning
    return logger
}()

/// Fills a fresh compacted log with `bytes` of batches cycling through the keys; returns the manager and its log.
func writeLog(directory: String, bytes: Int, logger: Logger) throws -> (LogManager, PartitionLog) {
    try? FileManager.default.removeItem(atPath: directory)
    var config = LogConfig()
    config.cleanupPolicy = .compact
    config.minCleanableDirtyRatio = 0
    config.segmentBytes = 64 << 20
    config.segmentMs = 1  // record timestamps are all equal, so only the final roll below uses it
    let manager = try LogManager(directory: directory, logger: logger)
    let log = try manager.openLog(topic: "bench", partition: 0, config: config)
    let value = ByteBuffer(repeating: UInt8(ascii: "v"), count: 100)
    var written = 0
    var next = 0
    while written < bytes {
        var builder = RecordBatchBuilder(capacity: 16 << 10)
        while builder.sizeInBytes + 130 <= 16 << 10 {
            builder.append(ProducerRecord(key: ByteBuffer(string: "key-\(next % keys)"), value: value, timestamp: 1_700_000_000_000))
            next += 1
        }
        written += try log.append(builder.build()).byteCount
    }
    usleep(2_000)
    let rolled = try log.rollIfIdleForCompaction()
    precondition(rolled, "the active segment rolls so that all of it is cleanable")
    return (manager, log)
}

print("compaction-bench: \(mebibytes) MiB of 16 KiB batches, 100-byte values, \(keys) distinct keys, in \(base)")
// The small buffer first: peak RSS only grows, so the larger map's peak would hide the smaller one's.
for (label, buffer) in [("1 MiB dedupe buffer", 1 << 20), ("default dedupe buffer (128 MiB)", LogCleanerConfig().dedupeBufferSize)] {
    let (manager, log) = try writeLog(directory: base, bytes: mebibytes << 20, logger: quiet)
    let before = log.sizeInBytes
    var cleaner = LogCleanerConfig()
    cleaner.dedupeBufferSize = buffer
    let rssBefore = peakRSSMiB()
    let started = now()
    var dirty = 0, read = 0, written = 0, rounds = 0, mapBytes = 0
    while let stats = manager.cleanDirtiestLog(config: cleaner) {
        dirty += stats.dirtyBytes
        read += stats.bytesRead
        written += stats.bytesWritten
        mapBytes = max(mapBytes, stats.mapMemoryBytes)
        rounds += 1
    }
    let seconds = now() - started
    print("""
        \(label): \(rounds) cleaning(s) in \(String(format: "%.2f", seconds)) s: \
        \(String(format: "%.1f", Double(dirty) / seconds / 1e6)) MB/s of dirty log, \
        read \(read >> 20) MiB, wrote \(written >> 20) MiB, log \(before >> 20) -> \(log.sizeInBytes >> 20) MiB, \
        offset map \(String(format: "%.1f", Double(mapBytes) / 1_048_576)) MiB, \
        peak RSS +\(String(format: "%.1f", peakRSSMiB() - rssBefore)) MiB
        """)
    try manager.shutdown()
}
try? FileManager.default.removeItem(atPath: base)
