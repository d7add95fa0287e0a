import FileSystem
import Foundation
import KafkaProtocol
import Logging
import NIOCore
import Synchronization
import Timekeeping

@testable import LogStorage

/// A fresh temporary directory, removed when the test's closure returns.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("ledgerstream-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// A fresh directory for a test on a ``FaultInjectingFileSystem``, in memory (/dev/shm) where there is one: that file
/// system models durability itself, so the real disk's speed (and a busy machine's fsync latency) only slows it down.
func withScratchDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : FileManager.default.temporaryDirectory.path
    let path = base + "/ledgerstream-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// A clock the test moves by hand.
typealias ManualClock = ManualTimeSource

extension ManualTimeSource {
    func advance(by milliseconds: Int64) { advance(byMilliseconds: milliseconds) }
}

/// Builds one batch of `count` records with values `prefix-i` and the given timestamps.
func makeBatch(
    count: Int, valueSize: Int = 20, firstTimestamp: Int64 = 1_000, timestampStep: Int64 = 1,
    producerId: Int64 = -1, epoch: Int16 = -1, baseSequence: Int32 = -1, tag: String = "v", transactional: Bool = false
) -> ByteBuffer {
    var builder = RecordBatchBuilder()
    builder.isTransactional = transactional
    builder.producerId = producerId
    builder.producerEpoch = epoch
    builder.baseSequence = baseSequence
    for i in 0..<count {
        var value = ByteBuffer(string: "\(tag)-\(i)-")
        value.writeRepeatingByte(UInt8(ascii: "x"), count: max(0, valueSize - value.readableBytes))
        builder.append(ProducerRecord(key: ByteBuffer(string: "k\(i)"), value: value,
                                      timestamp: firstTimestamp + Int64(i) * timestampStep))
    }
    return builder.build()
}

func openLog(
    _ directory: String, config: LogConfig = LogConfig(), clock: ManualClock = ManualClock(),
    recoveryPoint: Int64? = nil, clean: Bool = false, logStartOffset: Int64? = nil,
    fileSystem: any FileSystem = PosixFileSystem()
) throws -> (PartitionLog, LogLoadReport) {
    let result = try PartitionLog.open(
        topic: "t", partition: 0, directory: directory + "/t-0", config: config, recoveryPoint: recoveryPoint,
        cleanShutdown: clean, logStartOffset: logStartOffset, clock: clock, logger: quietLogger, fileSystem: fileSystem)
    return (result.log, result.report)
}

var quietLogger: Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}

/// Every batch header in `bytes`, in order.
func batchHeaders(_ bytes: ByteBuffer) -> [RecordBatchHeader] {
    var headers: [RecordBatchHeader] = []
    var rest = bytes
    while rest.readableBytes >= RecordBatchHeader.size, let header = RecordBatchHeader(rest) {
        headers.append(header)
        rest.moveReaderIndex(forwardBy: min(header.totalSize, rest.readableBytes))
    }
    return headers
}

/// Every record in `bytes` (whole batches), decoded.
func records(_ bytes: ByteBuffer) throws -> [ConsumedRecord] {
    var result: [ConsumedRecord] = []
    var rest = bytes
    while rest.readableBytes >= RecordBatchHeader.size, let header = RecordBatchHeader(rest) {
        let batch = rest.readSlice(length: header.totalSize)!
        result += try RecordBatchHeader.records(in: batch)
    }
    return result
}

func segmentPath(_ directory: String, _ base: Int64, _ suffix: String) -> String {
    directory + "/t-0/" + Segment.fileName(base, suffix)
}
