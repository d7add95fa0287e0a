import Foundation
import KafkaProtocol
import Logging
import NIOCore
import Testing

import FileSystem

@testable import LogStorage

/// Opening logs after crashes and with damaged files: faults are injected by writing bad bytes into the files.
@Suite struct RecoveryTests {
    private func fillLog(_ dir: String, batches: Int = 10, config: LogConfig = LogConfig()) throws -> [Int64] {
        let (log, _) = try openLog(dir, config: config)
        var ends: [Int64] = []
        for i in 0..<batches { ends.append(try log.append(makeBatch(count: 5, tag: "b\(i)")).lastOffset) }
        return ends  // the log is dropped without close: an unclean shutdown
    }

    private func fileSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    }

    private func truncateFile(_ path: String, by bytes: Int) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(try fileSize(path) - bytes))
        try handle.close()
    }

    private func overwrite(_ path: String, at offset: Int, with bytes: [UInt8]) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(offset))
        handle.write(Data(bytes))
        try handle.close()
    }

    @Test func reopeningAfterAnUncleanShutdownKeepsEverything() throws {
        try withTemporaryDirectory { dir in
            _ = try fillLog(dir)
            let (log, report) = try openLog(dir)
            #expect(report.recoveredSegments == 1 && report.truncatedBytes == 0)
            #expect(log.logEndOffset == 50)
            #expect(try records(try log.readBytes(from: 0, maxBytes: 1 << 20)).count == 50)
            #expect(try log.append(makeBatch(count: 1)).baseOffset == 50)
        }
    }

    @Test func aTornTailIsCutAtTheLastValidBatch() throws {
        try withTemporaryDirectory { dir in
            _ = try fillLog(dir)
            let path = segmentPath(dir, 0, ".log")
            let fullSize = try fileSize(path)
            try truncateFile(path, by: 17)  // the last batch loses its end
            let (log, report) = try openLog(dir)
            #expect(log.logEndOffset == 45)
            #expect(report.truncatedBytes > 0)
            #expect(try fileSize(path) < fullSize - 17)
            #expect(try log.append(makeBatch(count: 2)).baseOffset == 45)
            #expect(try records(try log.readBytes(from: 40, maxBytes: 1 << 20)).map(\.offset) == Array(40...46))
        }
    }

    @Test func aCorruptBatchAndEverythingAfterItAreDropped() throws {
        try withTemporaryDirectory { dir in
            _ = try fillLog(dir)
            let path = segmentPath(dir, 0, ".log")
            let batchSize = try fileSize(path) / 10
            try overwrite(path, at: batchSize * 6 + 70, with: [0xDE, 0xAD])  // inside batch 6's records
            let (log, report) = try openLog(dir)
            #expect(log.logEndOffset == 30)
            #expect(report.truncatedBytes == batchSize * 4)
        }
    }

    @Test func garbageAfterTheLastBatchIsDropped() throws {
        try withTemporaryDirectory { dir in
            _ = try fillLog(dir, batches: 3)
            let path = segmentPath(dir, 0, ".log")
            let size = try fileSize(path)
            try overwrite(path, at: size, with: (0..<500).map { _ in UInt8.random(in: 0...255) })
            let (log, report) = try openLog(dir)
            #expect(log.logEndOffset == 15 && report.truncatedBytes == 500)
            #expect(try fileSize(path) == size)
        }
    }

    @Test func segmentsAfterACorruptOneAreDeleted() throws {
        try withTemporaryDirectory { dir in
            var config = LogConfig()
            config.segmentBytes = 2000
            _ = try fillLog(dir, batches: 30, config: config)
            let (probe, _) = try openLog(dir, config: config)
            let bases = probe.segmentBaseOffsets
            try probe.close()
            #expect(bases.count >= 3)
            // Damage the second segment; the third and later ones cannot be trusted after it.
            try overwrite(segmentPath(dir, bases[1], ".log"), at: 100, with: [1, 2, 3, 4])
            let (log, report) = try openLog(dir, config: config, recoveryPoint: bases[1])
            #expect(report.deletedSegments == bases.count - 2)
            #expect(log.segmentBaseOffsets.count == 2)
            #expect(log.logEndOffset < bases[2])
            for base in bases[2...] { #expect(!FileManager.default.fileExists(atPath: segmentPath(dir, base, ".log"))) }
        }
    }

    @Test func segmentsBelowTheRecoveryPointAreTrustedAndNotRescanned() throws {
        try withTemporaryDirectory { dir in
            var config = LogConfig()
            config.segmentBytes = 2000
            _ = try fillLog(dir, batches: 30, config: config)
            let (probe, _) = try openLog(dir, config: config)
            let bases = probe.segmentBaseOffsets
            try probe.close()
            let (_, report) = try openLog(dir, config: config, recoveryPoint: bases[bases.count - 1])
            #expect(report.recoveredSegments == 1)  // only the active segment is validated
        }
    }

    @Test func aDamagedIndexIsRebuilt() throws {
        try withTemporaryDirectory { dir in
            var config = LogConfig()
            config.indexIntervalBytes = 100
            _ = try fillLog(dir, batches: 20, config: config)
            do {
                let (log, _) = try openLog(dir, config: config)
                try log.close()
            }
            // Offsets going backwards in the index: it fails its sanity check.
            try overwrite(segmentPath(dir, 0, ".index"), at: 8, with: [0, 0, 0, 0, 0, 0, 0, 1])
            let (log, _) = try openLog(dir, config: config, clean: true)
            for target in stride(from: Int64(0), to: 100, by: 7) {
                #expect(batchHeaders(try log.readBytes(from: target, maxBytes: 1)).first!.lastOffset >= target)
            }
        }
    }

    @Test func openingNeverCrashesOnGarbageFiles() throws {
        var rng = SeededGenerator(seed: 7)
        for round in 0..<20 {
            try withTemporaryDirectory { dir in
                let partition = dir + "/t-0"
                try FileManager.default.createDirectory(atPath: partition, withIntermediateDirectories: true)
                let garbage = (0..<Int.random(in: 0...3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                _ = FileManager.default.createFile(atPath: partition + "/" + Segment.fileName(0, ".log"), contents: Data(garbage))
                if round % 2 == 0 {
                    let index = (0..<Int.random(in: 0...100, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    _ = FileManager.default.createFile(atPath: partition + "/" + Segment.fileName(0, ".index"), contents: Data(index))
                    _ = FileManager.default.createFile(atPath: partition + "/" + Segment.fileName(0, ".timeindex"), contents: Data(index))
                }
                let snapshot = (0..<50).map { _ in UInt8.random(in: 0...255, using: &rng) }
                _ = FileManager.default.createFile(atPath: partition + "/" + Segment.fileName(0, ".snapshot"), contents: Data(snapshot))
                let (log, _) = try openLog(dir, clean: round % 3 == 0)
                _ = try log.append(makeBatch(count: 2))
                #expect(try records(try log.readBytes(from: log.logEndOffset - 2, maxBytes: 1 << 20)).count == 2)
            }
        }
    }

    @Test func cleanShutdownThenReopenNeedsNoRecovery() throws {
        try withTemporaryDirectory { dir in
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            do {
                let manager = try LogManager(directory: dir, logger: logger)
                let log = try manager.openLog(topic: "orders", partition: 2, config: LogConfig())
                for _ in 0..<5 { _ = try log.append(makeBatch(count: 3)) }
                _ = try log.deleteRecords(before: 4)
                try manager.shutdown()
            }
            let manager = try LogManager(directory: dir, logger: logger)
            #expect(manager.previousShutdownWasClean)
            #expect(try manager.partitionsOnDisk().map { "\($0.topic)/\($0.partition)" } == ["orders/2"])
            let log = try manager.openLog(topic: "orders", partition: 2, config: LogConfig())
            #expect(log.logEndOffset == 15 && log.logStartOffset == 4 && log.recoveryPoint == 15)
            // A second manager on the same directory is refused while this one holds it.
            #expect(throws: StorageError.self) { try LogManager(directory: dir, logger: logger) }
            try manager.shutdown()
        }
    }

    @Test func deletingATopicRemovesItsDirectories() throws {
        try withTemporaryDirectory { dir in
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let manager = try LogManager(directory: dir, logger: logger)
            for p in 0..<3 { _ = try manager.openLog(topic: "gone", partition: Int32(p), config: LogConfig()).append(makeBatch(count: 1)) }
            _ = try manager.openLog(topic: "kept", partition: 0, config: LogConfig())
            try manager.deleteLogs(topic: "gone")
            #expect(try manager.partitionsOnDisk().map(\.topic) == ["kept"])
            #expect(manager.log(topic: "gone", partition: 0) == nil)
            try manager.shutdown()
        }
    }

    @Test func checkpointFilesRoundTripInKafkaFormat() throws {
        try withTemporaryDirectory { dir in
            let checkpoint = OffsetCheckpoint(path: dir + "/cp", fileSystem: PosixFileSystem())
            let offsets: [OffsetCheckpoint.Key: Int64] = [.init(topic: "a.b-c", partition: 3): 42, .init(topic: "x", partition: 0): 7]
            try checkpoint.write(offsets)
            #expect(checkpoint.read() == offsets)
            #expect(try String(contentsOfFile: dir + "/cp", encoding: .utf8) == "0\n2\na.b-c 3 42\nx 0 7\n")
            try "0\n5\nbroken".write(toFile: dir + "/cp", atomically: true, encoding: .utf8)
            #expect(checkpoint.read().isEmpty)
        }
    }

    @Test func producerSnapshotsRoundTripAndRejectDamage() {
        var state = ProducerStateManager()
        var header = RecordBatchHeader(baseOffset: 10, lastOffsetDelta: 2, producerId: 5, producerEpoch: 1, baseSequence: 0, recordCount: 3)
        state.record(header, appendTimeMs: 100)
        header.baseOffset = 13
        header.baseSequence = 3
        state.record(header, appendTimeMs: 200)
        var bytes = state.snapshotBytes()
        #expect(ProducerStateManager.load(snapshot: bytes) == state)
        bytes[20] ^= 1
        #expect(ProducerStateManager.load(snapshot: bytes) == nil)
        #expect(ProducerStateManager.load(snapshot: []) == nil)
    }
}
