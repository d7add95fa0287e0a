// storage-bench: throughput of the segment log for 16 KiB record batches of 100-byte records.
//
// Prints, as medians of several runs:
//  1. the raw cost of the two ways to append to a file that issue #2 asked to compare, pwrite(2) of each batch vs
//     stores through a shared mapping (with the file grown in 8 MiB chunks and pre-faulted with MADV_POPULATE_WRITE),
//     and pwrite into blocks reserved ahead with fallocate, the kernel path the log's active segment takes;
//  2. PartitionLog.append (validation with CRC-32C and record walk, offset assignment, reservation, pwritev, indexes);
//  3. PartitionLog.read locating zero-copy regions, readBytes copying out, and a CRC-verifying read.
//
// Usage: storage-bench [directory] [GiB per run, default 1] [runs, default 3]
import CSystemCalls
import Foundation
import KafkaProtocol
import Logging
import LogStorage
import NIOCore
import Timekeeping

let arguments = CommandLine.arguments
let base = arguments.count > 1 ? arguments[1] : FileManager.default.currentDirectoryPath + "/.bench-storage"
let gibibytes = arguments.count > 2 ? Double(arguments[2]) ?? 1 : 1
let runs = arguments.count > 3 ? Int(arguments[3]) ?? 3 : 3
let totalBytes = Int(gibibytes * Double(1 << 30))
let batchTarget = 16 * 1024

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
func gbps(_ bytes: Int, _ seconds: Double) -> String { String(format: "%.2f GB/s", Double(bytes) / seconds / 1e9) }

/// One 16 KiB batch of 100-byte records (as a producer would send it).
func makeBatch() -> ByteBuffer {
    var builder = RecordBatchBuilder()
    var i = 0
    let value = ByteBuffer(repeating: UInt8(ascii: "x"), count: 100)
    while builder.sizeInBytes + 110 <= batchTarget {
        builder.append(ProducerRecord(key: nil, value: value, timestamp: 1_700_000_000_000 + Int64(i)))
        i += 1
    }
    return builder.build()
}

let batch = makeBatch()
let batchBytes = batch.readableBytes
let recordsPerBatch = Int(RecordBatchHeader(batch)!.recordCount)
let batchesPerRun = totalBytes / batchBytes
print("storage-bench: \(batchesPerRun) batches of \(batchBytes) bytes (\(recordsPerBatch) records of 100 bytes) per run, \(runs) runs, in \(base)")
print("CRC-32C hardware path: \(CRC32C.usesHardware)")

try? FileManager.default.removeItem(atPath: base)
try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: base) }

// 1. Raw append strategies, measured in the same iteration as the log's append (below), so that both meet the page
// cache and the disk's writeback in the same state: run by run, they alternate.
var pwriteRuns: [Double] = []
var reservedRuns: [Double] = []
var mmapRuns: [Double] = []
let raw = [UInt8](repeating: 7, count: batchBytes)

/// Seconds to pwrite every batch of a run at the end of a new file; with `reserving`, disk blocks are reserved 8 MiB
/// ahead first (fallocate KEEP_SIZE), as the log's active segment does.
func timePwrites(_ path: String, reserving: Bool) -> Double {
    let fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0o644)
    defer {
        close(fd)
        unlink(path)
    }
    var reserved = 0
    let start = now()
    raw.withUnsafeBytes { bytes in
        for i in 0..<batchesPerRun {
            let offset = i * batchBytes
            if reserving && offset + batchBytes > reserved {
                _ = ls_reserve_keep_size(fd, Int64(reserved), Int64(8 << 20))
                reserved += 8 << 20
            }
            _ = pwrite(fd, bytes.baseAddress, batchBytes, off_t(offset))
        }
    }
    return now() - start
}

@MainActor func measureRawAppends(run: Int) {
    let path = base + "/raw-\(run)"
    pwriteRuns.append(timePwrites(path, reserving: false))
    reservedRuns.append(timePwrites(path, reserving: true))

    let fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0o644)
    let mapped = batchesPerRun * batchBytes
    let map = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!
    let chunk = 8 << 20
    var allocated = 0
    let start = now()
    raw.withUnsafeBytes { bytes in
        for i in 0..<batchesPerRun {
            let offset = i * batchBytes
            if offset + batchBytes > allocated {
                _ = posix_fallocate(fd, off_t(allocated), off_t(chunk))
                _ = madvise(map + allocated, chunk, 23)  // MADV_POPULATE_WRITE
                allocated += chunk
            }
            (map + offset).copyMemory(from: bytes.baseAddress!, byteCount: batchBytes)
        }
    }
    mmapRuns.append(now() - start)
    munmap(map, mapped)
    close(fd)
    unlink(path)
}

// 2 and 3. The real log.
var logger = Logger(label: "bench")
logger.logLevel = .error
var appendRuns: [Double] = []
var locateRuns: [Double] = []
var copyRuns: [Double] = []
var verifyRuns: [Double] = []
for run in 0..<runs {
    measureRawAppends(run: run)
    let (log, _) = try PartitionLog.open(
        topic: "bench", partition: Int32(run), directory: base + "/bench-\(run)", config: LogConfig(),
        recoveryPoint: nil, cleanShutdown: false, logStartOffset: nil, clock: SystemTimeSource(), logger: logger)
    var start = now()
    for _ in 0..<batchesPerRun { _ = try log.append(batch) }
    appendRuns.append(now() - start)

    // Locate: the fetch path, which hands file regions to sendfile without touching the bytes.
    let end = log.logEndOffset
    var offset: Int64 = 0
    var located = 0
    start = now()
    while offset < end {
        let result = try log.read(from: offset, maxBytes: 1 << 20)
        located += result.byteCount
        offset = result.firstBatchOffset! + Int64(result.byteCount / batchBytes * recordsPerBatch)
    }
    locateRuns.append(now() - start)
    precondition(located == batchesPerRun * batchBytes)

    // Copy out of the mapping (in-process consumers).
    offset = 0
    start = now()
    while offset < end {
        let bytes = try log.readBytes(from: offset, maxBytes: 1 << 20)
        offset += Int64(bytes.readableBytes / batchBytes * recordsPerBatch)
    }
    copyRuns.append(now() - start)

    // Verify: copy out and check every batch's CRC (what a careful consumer does).
    offset = 0
    start = now()
    while offset < end {
        let bytes = try log.readBytes(from: offset, maxBytes: 1 << 20)
        try bytes.withUnsafeReadableBytes { raw in
            var position = 0
            while position < raw.count { position += try RecordBatchValidator.validateFrame(raw, at: position).totalSize }
        }
        offset += Int64(bytes.readableBytes / batchBytes * recordsPerBatch)
    }
    verifyRuns.append(now() - start)
    try log.delete()
}

let bytesPerRun = batchesPerRun * batchBytes
print("")
print("| what (16 KiB batches, medians of \(runs)) | throughput |")
print("|---|---|")
print("| raw pwrite per batch | \(gbps(bytesPerRun, median(pwriteRuns))) |")
print("| raw pwrite per batch into blocks reserved ahead (fallocate KEEP_SIZE per 8 MiB, as the log does) | \(gbps(bytesPerRun, median(reservedRuns))) |")
print("| raw mmap store per batch (fallocate + MADV_POPULATE_WRITE per 8 MiB) | \(gbps(bytesPerRun, median(mmapRuns))) |")
print("| PartitionLog.append (validate CRC + records, assign offsets, pwritev, index) | \(gbps(bytesPerRun, median(appendRuns))) = \(String(format: "%.1f", Double(batchesPerRun * recordsPerBatch) / median(appendRuns) / 1e6)) M records/s |")
print("| PartitionLog.append ÷ raw pwrite, same run (target ≥ 0.90) | \(String(format: "%.2f", median(pwriteRuns) / median(appendRuns))) |")
print("| PartitionLog.append ÷ raw pwrite into reserved blocks (the log's own work) | \(String(format: "%.2f", median(reservedRuns) / median(appendRuns))) |")
print("| PartitionLog.read, zero-copy regions for sendfile (1 MiB reads) | \(gbps(bytesPerRun, median(locateRuns))) |")
print("| PartitionLog.readBytes, copy out of the mapping | \(gbps(bytesPerRun, median(copyRuns))) |")
print("| readBytes + CRC-32C check of every batch | \(gbps(bytesPerRun, median(verifyRuns))) |")
