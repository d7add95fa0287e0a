import ArgumentParser
import FoundationEssentials
import Glibc
import KafkaProtocol
import LogStorage
import NIOCore

/// `ledgerstream dump-log`: print the segments and batches of a partition directory, checking every CRC
/// (what `kafka-dump-log.sh` does for Kafka). Reads the files directly, so it works on a stopped broker's data, and on
/// a running one's (a segment the cleaner swaps out while it reads is said to be gone, not an error).
///
/// Compacted logs: offsets the cleaner removed show as gaps, batches it kept tombstones or markers in show their
/// delete horizon, and the cleaner's own files (`.cleaned` being written, `.swap` being swapped in, `.deleted` on
/// their way out) are listed, with the partition's `cleaner-offset-checkpoint` entry.
struct DumpLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-log",
        abstract: "Print the segments and record batches of a partition directory, validating each batch."
    )

    @Argument(help: "A partition directory (<data dir>/<topic>-<partition>) or a segment .log file.")
    var path: String

    @Flag(name: .long, help: "Also print every record's offset, timestamp, key and value.")
    var records = false

    func run() throws {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw ValidationError("\(path) does not exist")
        }
        let files = (status.st_mode & S_IFMT) == S_IFDIR
            ? try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".log") }.sorted().map { path + "/" + $0 }
            : [path]
        var invalid = 0
        if (status.st_mode & S_IFMT) == S_IFDIR { try printCleanerState(directory: path) }
        for file in files {
            print("segment \(file)")
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch where !FileManager.default.fileExists(atPath: file) {
                // A running broker's cleaner or retention replaced it between the listing and the read.
                print("  gone while reading (swapped by the cleaner or removed by retention): run again for the current files")
                continue
            }
            let name = file.split(separator: "/").last.map(String.init) ?? file
            invalid += data.withUnsafeBytes { dump(bytes: $0, baseOffset: Int64(name.prefix(20))) }
            let index = String(file.dropLast(".log".count)) + ".txnindex"
            if FileManager.default.fileExists(atPath: index) {
                let aborted = try TransactionIndex.entries(ofFile: index)
                print("  aborted transactions (\(index)): \(aborted.count)")
                for entry in aborted {
                    print("    producerId: \(entry.producerId) firstOffset: \(entry.firstOffset) lastOffset: \(entry.lastOffset) lastStableOffset: \(entry.lastStableOffset)")
                }
            }
        }
        if invalid > 0 { throw ExitCode(1) }
    }

    /// The cleaner's progress for this partition and any files of an unfinished cleaning.
    private func printCleanerState(directory: String) throws {
        let trimmed = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let name = trimmed.split(separator: "/").last.map(String.init) ?? trimmed
        let parent = trimmed.contains("/") ? String(trimmed[..<trimmed.lastIndex(of: "/")!]) : "."
        if let dash = name.lastIndex(of: "-"),
           let text = try? String(contentsOfFile: parent + "/cleaner-offset-checkpoint", encoding: .utf8) {
            let wanted = "\(name[..<dash]) \(name[name.index(after: dash)...]) "
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(wanted) }) {
                print("cleaner checkpoint: compacted up to offset \(line.dropFirst(wanted.count))")
            }
        }
        let cleanerFiles = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            .filter { $0.hasSuffix(".cleaned") || $0.hasSuffix(".swap") || $0.hasSuffix(".deleted") }
        for file in cleanerFiles {
            let role = file.hasSuffix(".cleaned") ? "being written by the cleaner; removed on the next open"
                : file.hasSuffix(".swap") ? "compacted, being swapped in; the next open finishes the swap"
                : "replaced or deleted segment; removed on the next open"
            let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + file)[.size] as? Int) ?? 0
            print("cleaner file \(file): \(size) bytes (\(role))")
        }
    }

    /// Prints each batch; returns 1 if the file ends in bytes that are not a valid batch.
    /// - Parameter baseOffset: the segment's base offset (from its file name), where its offsets begin.
    private func dump(bytes: UnsafeRawBufferPointer, baseOffset: Int64?) -> Int {
        var position = 0
        var batches = 0
        var previousEnd = baseOffset
        while position < bytes.count {
            let header: RecordBatchHeader
            do {
                header = try RecordBatchValidator.validateFrame(bytes, at: position)
            } catch {
                print("  at byte \(position): \(error) (\(bytes.count - position) bytes not readable as batches)")
                return 1
            }
            if let previousEnd, header.baseOffset > previousEnd {
                print("  offsets \(previousEnd)...\(header.baseOffset - 1): removed by compaction")
            }
            previousEnd = header.nextOffset
            let horizon = header.deleteHorizonMs.map { " deleteHorizonMs: \($0)" } ?? ""
            print("  baseOffset: \(header.baseOffset) lastOffset: \(header.lastOffset) count: \(header.recordCount) position: \(position) size: \(header.totalSize) maxTimestamp: \(header.maxTimestamp) compression: \(header.compression) producerId: \(header.producerId) producerEpoch: \(header.producerEpoch) baseSequence: \(header.baseSequence) isTransactional: \(header.isTransactional) isControl: \(header.isControl) crc: \(header.crc)\(horizon) valid: true")
            if header.isControl {
                let marker = ControlRecord(controlBatch: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + header.totalSize)]))
                print("    | endTxnMarker: \(marker.map { $0.kind == .commit ? "COMMIT" : "ABORT" } ?? "unreadable") coordinatorEpoch: \(marker?.coordinatorEpoch ?? -1)")
            }
            if records && !header.isControl {
                var buffer = ByteBuffer()
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + header.totalSize)]))
                do {
                    for record in try RecordBatchHeader.records(in: buffer) {
                        let key = record.key.map { String(buffer: $0) } ?? "null"
                        let value = record.value.map { String(buffer: $0) } ?? "null"
                        print("    | offset: \(record.offset) timestamp: \(record.timestamp) key: \(key) value: \(value)")
                    }
                } catch {
                    print("    | records not readable: \(error)")
                }
            }
            position += header.totalSize
            batches += 1
        }
        print("  \(batches) batches, \(bytes.count) bytes")
        return 0
    }
}
