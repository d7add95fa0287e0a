import ArgumentParser
import FoundationEssentials
import Glibc
import KafkaProtocol
import LogStorage
import NIOCore

/// `ledgerstream dump-log`: print the segments and batches of a partition directory, checking every CRC
/// (what `kafka-dump-log.sh` does for Kafka). Reads the files directly, so it works on a stopped broker's data.
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
        for file in files {
            print("segment \(file)")
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            invalid += data.withUnsafeBytes { dump(bytes: $0) }
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

    /// Prints each batch; returns 1 if the file ends in bytes that are not a valid batch.
    private func dump(bytes: UnsafeRawBufferPointer) -> Int {
        var position = 0
        var batches = 0
        while position < bytes.count {
            let header: RecordBatchHeader
            do {
                header = try RecordBatchValidator.validateFrame(bytes, at: position)
            } catch {
                print("  at byte \(position): \(error) (\(bytes.count - position) bytes not readable as batches)")
                return 1
            }
            print("  baseOffset: \(header.baseOffset) lastOffset: \(header.lastOffset) count: \(header.recordCount) position: \(position) size: \(header.totalSize) maxTimestamp: \(header.maxTimestamp) compression: \(header.compression) producerId: \(header.producerId) producerEpoch: \(header.producerEpoch) baseSequence: \(header.baseSequence) isTransactional: \(header.isTransactional) isControl: \(header.isControl) crc: \(header.crc) valid: true")
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
