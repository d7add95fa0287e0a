import Foundation
import KafkaProtocol
import NIOCore
import Testing
import Timekeeping

@testable import LogStorage

/// Append/read behaviour of a partition log: offsets, indexes, rolling, retention and idempotence.
@Suite struct PartitionLogTests {
    @Test func appendAssignsOffsetsAndReadsBackExactBytes() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            let first = try log.append(makeBatch(count: 5), leaderEpoch: 3)
            let second = try log.append(makeBatch(count: 3, tag: "w"), leaderEpoch: 3)
            #expect(first.baseOffset == 0 && first.lastOffset == 4 && first.recordCount == 5)
            #expect(second.baseOffset == 5 && second.lastOffset == 7)
            #expect(log.logEndOffset == 8 && log.highWatermark == 8 && log.logStartOffset == 0)

            let bytes = try log.readBytes(from: 0, maxBytes: 1 << 20)
            let headers = batchHeaders(bytes)
            #expect(headers.map(\.baseOffset) == [0, 5])
            #expect(headers.allSatisfy { $0.partitionLeaderEpoch == 3 })
            // The stored batches are still valid: the rewritten fields are outside the CRC.
            try bytes.withUnsafeReadableBytes { raw in
                _ = try RecordBatchValidator.validateFrame(raw, at: 0)
                _ = try RecordBatchValidator.validateFrame(raw, at: headers[0].totalSize)
            }
            let values = try records(bytes).map { String(buffer: $0.value!) }
            #expect(values.count == 8)
            #expect(values[0].hasPrefix("v-0-") && values[5].hasPrefix("w-0-"))
            #expect(try records(bytes).map(\.offset) == Array(0...7))
        }
    }

    @Test func readFromTheMiddleOfABatchReturnsTheWholeBatch() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            _ = try log.append(makeBatch(count: 10))
            _ = try log.append(makeBatch(count: 10))
            let bytes = try log.readBytes(from: 13, maxBytes: 1)
            #expect(batchHeaders(bytes).map(\.baseOffset) == [10])  // at least one batch even over maxBytes
            #expect(try log.read(from: 20, maxBytes: 100).byteCount == 0)  // the log end: empty, not an error
            #expect(throws: StorageError.offsetOutOfRange(requested: 21, logStartOffset: 0, logEndOffset: 20)) {
                try log.read(from: 21, maxBytes: 100)
            }
        }
    }

    @Test func readReturnsAZeroCopyFileRegion() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            _ = try log.append(makeBatch(count: 4))
            let result = try log.read(from: 0, maxBytes: 1 << 20)
            #expect(result.slices.count == 1)
            let region = result.slices[0].region
            #expect(region.readerIndex == 0 && region.readableBytes == result.byteCount)
            // The region's descriptor reads the same bytes as the mapping.
            var viaRegion = [UInt8](repeating: 0, count: region.readableBytes)
            try region.fileHandle.withUnsafeFileDescriptor { fd in
                _ = viaRegion.withUnsafeMutableBytes { pread(fd, $0.baseAddress, region.readableBytes, 0) }
            }
            #expect(viaRegion == Array(buffer: try log.readBytes(from: 0, maxBytes: 1 << 20)))
        }
    }

    /// The sparse index must always lead a read to the batch holding the target offset. Checked against a plain
    /// model (the list of batch ranges) over random batch sizes, with a tiny index interval so many entries exist.
    @Test func indexLookupMatchesModel() throws {
        var rng = SeededGenerator(seed: 42)
        try withTemporaryDirectory { dir in
            var config = LogConfig()
            config.indexIntervalBytes = 300
            config.segmentBytes = 64 * 1024
            let (log, _) = try openLog(dir, config: config)
            var model: [(base: Int64, last: Int64)] = []
            for _ in 0..<400 {
                let count = Int.random(in: 1...12, using: &rng)
                let result = try log.append(makeBatch(count: count, valueSize: Int.random(in: 1...60, using: &rng)))
                model.append((result.baseOffset, result.lastOffset))
            }
            #expect(log.segmentCount > 1)
            for _ in 0..<500 {
                let target = Int64.random(in: 0..<log.logEndOffset, using: &rng)
                let expected = model.first { $0.last >= target }!
                let first = batchHeaders(try log.readBytes(from: target, maxBytes: 1)).first!
                #expect(first.baseOffset == expected.base, "target \(target)")
            }
        }
    }

    @Test func rollsSegmentsBySizeWithTwentyDigitNames() throws {
        try withTemporaryDirectory { dir in
            var config = LogConfig()
            config.segmentBytes = 4096
            let (log, _) = try openLog(dir, config: config)
            for _ in 0..<100 { _ = try log.append(makeBatch(count: 5, valueSize: 50)) }
            let bases = log.segmentBaseOffsets
            #expect(bases.count > 5 && bases[0] == 0)
            for base in bases {
                #expect(FileManager.default.fileExists(atPath: segmentPath(dir, base, ".log")))
                #expect(FileManager.default.fileExists(atPath: segmentPath(dir, base, ".index")))
                #expect(FileManager.default.fileExists(atPath: segmentPath(dir, base, ".timeindex")))
            }
            #expect(Segment.fileName(bases[1], ".log").count == 24)
            // Rolled segments' indexes are trimmed to their entries, the active one stays preallocated.
            let rolledIndexSize = try FileManager.default.attributesOfItem(atPath: segmentPath(dir, bases[0], ".index"))[.size] as! Int
            #expect(rolledIndexSize % 8 == 0 && rolledIndexSize < 4096)
            // Reading everything back crosses segments in order.
            var offset: Int64 = 0
            var seen = 0
            while offset < log.logEndOffset {
                let bytes = try log.readBytes(from: offset, maxBytes: 1 << 20)
                let recs = try records(bytes)
                seen += recs.count
                offset = recs.last!.offset + 1
            }
            #expect(seen == 500)
        }
    }

    @Test func rollsSegmentsByTime() throws {
        try withTemporaryDirectory { dir in
            var config = LogConfig()
            config.segmentMs = 60_000
            let clock = ManualClock()
            let (log, _) = try openLog(dir, config: config, clock: clock)
            let now = clock.wallClockMs()
            _ = try log.append(makeBatch(count: 1, firstTimestamp: now))
            clock.advance(by: 30_000)
            _ = try log.append(makeBatch(count: 1, firstTimestamp: now + 30_000))
            #expect(log.segmentCount == 1)
            clock.advance(by: 31_000)
            _ = try log.append(makeBatch(count: 1, firstTimestamp: now + 61_000))
            #expect(log.segmentBaseOffsets == [0, 2])
        }
    }

    @Test func timeRetentionDeletesOldSegmentsAndMovesTheLogStart() throws {
        try withTemporaryDirectory { dir in
            var config = LogConfig()
            config.segmentBytes = 2048
            config.retentionMs = 3_600_000
            let clock = ManualClock()
            let (log, _) = try openLog(dir, config: config, clock: clock)
            let start = clock.wallClockMs()
            for i in 0..<30 { _ = try log.append(makeBatch(count: 4, valueSize: 40, firstTimestamp: start + Int64(i))) }
            #expect(try log.applyRetention() == 0)
            clock.advance(by: 3_600_000 + 100)
            // Everything is now older than retention: the active segment is rolled and removed too.
            #expect(try log.applyRetention() > 0)
            #expect(log.segmentCount == 1)
            #expect(log.logStartOffset == 120 && log.logEndOffset == 120)
            #expect(throws: StorageError.self) { try log.read(from: 0, maxBytes: 100) }
            let next = try log.append(makeBatch(count: 1, firstTimestamp: clock.wallClockMs()))
            #expect(next.baseOffset == 120)
        }
    }

    @Test func sizeRetentionKeepsTheNewestBytes() throws {
        try withTemporaryDirectory { dir in
            var config = LogConfig()
            config.segmentBytes = 2048
            config.retentionBytes = 5000
            config.retentionMs = -1  // the batches carry old timestamps; only size may delete here
            let (log, _) = try openLog(dir, config: config)
            for _ in 0..<40 { _ = try log.append(makeBatch(count: 4, valueSize: 40)) }
            let before = log.sizeInBytes
            try log.applyRetention()
            #expect(log.sizeInBytes <= max(5000, before - 1) && log.sizeInBytes > 5000 - 2048)
            #expect(log.logStartOffset == log.segmentBaseOffsets[0])
            #expect(batchHeaders(try log.readBytes(from: log.logStartOffset, maxBytes: 1)).count == 1)
        }
    }

    @Test func deleteRecordsMovesTheStartInsideASegment() throws {
        try withTemporaryDirectory { dir in
            var config = LogConfig()
            config.segmentBytes = 1024
            let (log, _) = try openLog(dir, config: config)
            for _ in 0..<20 { _ = try log.append(makeBatch(count: 5, valueSize: 30)) }
            let start = try log.deleteRecords(before: 57)
            #expect(start == 57 && log.logStartOffset == 57)
            #expect(log.segmentBaseOffsets[0] <= 57)
            #expect(throws: StorageError.self) { try log.read(from: 56, maxBytes: 10) }
            #expect(batchHeaders(try log.readBytes(from: 57, maxBytes: 1)).first!.lastOffset >= 57)
        }
    }

    @Test func timestampLookupFindsTheFirstRecordAtOrAfter() throws {
        try withTemporaryDirectory { dir in
            var config = LogConfig()
            config.indexIntervalBytes = 200
            config.segmentBytes = 3000
            let (log, _) = try openLog(dir, config: config)
            // Record i has timestamp 10_000 + 10 * i.
            for batch in 0..<50 {
                _ = try log.append(makeBatch(count: 4, firstTimestamp: 10_000 + Int64(batch * 40), timestampStep: 10))
            }
            for target in stride(from: Int64(9_990), through: 12_000, by: 7) {
                let expectedIndex = max(0, (target - 10_000 + 9) / 10)
                let found = try log.offset(forTimestamp: target)
                if expectedIndex >= 200 {
                    #expect(found == nil)
                } else {
                    #expect(found?.offset == expectedIndex, "target \(target)")
                    #expect(found?.timestamp == 10_000 + 10 * expectedIndex)
                }
            }
            #expect(log.maxTimestampOffset?.offset == 199)
        }
    }

    @Test func logAppendTimeStampsTheBatchAndKeepsItValid() throws {
        try withTemporaryDirectory { dir in
            var config = LogConfig()
            config.timestampType = .logAppendTime
            let clock = ManualClock(wallClockMs: 5_000_000)
            let (log, _) = try openLog(dir, config: config, clock: clock)
            let result = try log.append(makeBatch(count: 3, firstTimestamp: 1))
            #expect(result.logAppendTimeMs == 5_000_000)
            let bytes = try log.readBytes(from: 0, maxBytes: 1 << 20)
            let header = batchHeaders(bytes)[0]
            #expect(header.timestampType == .logAppendTime && header.maxTimestamp == 5_000_000)
            try bytes.withUnsafeReadableBytes { _ = try RecordBatchValidator.validateFrame($0, at: 0) }
            #expect(try records(bytes).allSatisfy { $0.timestamp == 5_000_000 })
        }
    }

    @Test func invalidBatchesAreRejectedAndNothingIsWritten() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            _ = try log.append(makeBatch(count: 2))
            let size = log.sizeInBytes

            var corrupt = makeBatch(count: 2)
            corrupt.setInteger(UInt8(0xFF), at: corrupt.readerIndex + 70)
            #expect {
                try log.append(corrupt)
            } throws: { error in
                guard case .invalidBatch(.crcMismatch) = error as? StorageError else { return false }
                return true
            }

            var badMagic = makeBatch(count: 2)
            badMagic.setInteger(Int8(1), at: badMagic.readerIndex + 16)
            #expect(throws: StorageError.invalidBatch(.unsupportedMagic(position: 0, magic: 1))) { try log.append(badMagic) }

            let truncated = makeBatch(count: 2).getSlice(at: 0, length: 40)!
            #expect(throws: StorageError.invalidBatch(.truncatedHeader(position: 0, available: 40))) { try log.append(truncated) }

            var tooLong = makeBatch(count: 2)
            tooLong.setInteger(Int32(10_000), at: tooLong.readerIndex + 8)
            #expect(throws: StorageError.self) { try log.append(tooLong) }
            #expect(throws: StorageError.invalidBatch(.empty)) { try log.append(ByteBuffer()) }

            var config = LogConfig()
            config.maxMessageBytes = 100
            log.updateConfig(config)
            #expect(throws: StorageError.self) { try log.append(makeBatch(count: 10)) }

            #expect(log.sizeInBytes == size && log.logEndOffset == 2)
        }
    }

    /// Several batches in one append are checked one after the other: each against the state the earlier ones
    /// leave, and nothing is written (nor remembered) when any is refused.
    @Test func batchesOfOneAppendAreCheckedInSequenceAndRefusedWhole() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            func joined(_ batches: ByteBuffer...) -> ByteBuffer {
                var all = ByteBuffer()
                for var batch in batches { all.writeBuffer(&batch) }
                return all
            }
            let both = try log.append(joined(makeBatch(count: 3, producerId: 4, epoch: 0, baseSequence: 0),
                                             makeBatch(count: 2, producerId: 4, epoch: 0, baseSequence: 3)))
            #expect(both.baseOffset == 0 && both.lastOffset == 4)
            // The second batch skips a sequence: the whole append is refused, the first batch included.
            #expect(throws: StorageError.producer(.outOfOrderSequence(producerId: 4, expected: 8, received: 9))) {
                try log.append(joined(makeBatch(count: 3, producerId: 4, epoch: 0, baseSequence: 5),
                                      makeBatch(count: 1, producerId: 4, epoch: 0, baseSequence: 9)))
            }
            #expect(log.logEndOffset == 5)
            // Nothing of the refused append was remembered: its first batch is accepted on its own.
            #expect(try log.append(makeBatch(count: 3, producerId: 4, epoch: 0, baseSequence: 5)).baseOffset == 5)
            // A retried batch among others cannot be answered as a duplicate: refused as out of order.
            #expect(throws: StorageError.self) {
                try log.append(joined(makeBatch(count: 3, producerId: 4, epoch: 0, baseSequence: 5),
                                      makeBatch(count: 1, producerId: 4, epoch: 0, baseSequence: 8)))
            }
            #expect(log.logEndOffset == 8)
        }
    }

    @Test func idempotentRetriesAreNotAppendedTwice() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            let first = try log.append(makeBatch(count: 3, producerId: 7, epoch: 0, baseSequence: 0))
            let second = try log.append(makeBatch(count: 2, producerId: 7, epoch: 0, baseSequence: 3))
            let retry = try log.append(makeBatch(count: 3, producerId: 7, epoch: 0, baseSequence: 0))
            #expect(retry.wasDuplicate && retry.baseOffset == first.baseOffset && retry.lastOffset == 2)
            #expect(second.baseOffset == 3 && log.logEndOffset == 5)

            #expect(throws: StorageError.producer(.outOfOrderSequence(producerId: 7, expected: 5, received: 9))) {
                try log.append(makeBatch(count: 1, producerId: 7, epoch: 0, baseSequence: 9))
            }
            // A new epoch must start at 0; afterwards the old epoch is fenced.
            #expect(throws: StorageError.producer(.outOfOrderSequence(producerId: 7, expected: 0, received: 4))) {
                try log.append(makeBatch(count: 1, producerId: 7, epoch: 1, baseSequence: 4))
            }
            _ = try log.append(makeBatch(count: 1, producerId: 7, epoch: 1, baseSequence: 0))
            #expect(throws: StorageError.producer(.staleEpoch(producerId: 7, current: 1, received: 0))) {
                try log.append(makeBatch(count: 1, producerId: 7, epoch: 0, baseSequence: 5))
            }
            // Non-idempotent batches are never checked, whatever their sequence field says (aiokafka writes 0).
            _ = try log.append(makeBatch(count: 1, producerId: -1, epoch: -1, baseSequence: 0))
            _ = try log.append(makeBatch(count: 1, producerId: -1, epoch: -1, baseSequence: 0))
            #expect(log.logEndOffset == 8)
        }
    }

    @Test func idempotenceStateSurvivesReopen() throws {
        try withTemporaryDirectory { dir in
            do {
                let (log, _) = try openLog(dir)
                _ = try log.append(makeBatch(count: 3, producerId: 9, epoch: 2, baseSequence: 0))
                // Crash-like: no close, so no snapshot; the state is rebuilt by replaying the log.
            }
            let (reopened, _) = try openLog(dir)
            let retry = try reopened.append(makeBatch(count: 3, producerId: 9, epoch: 2, baseSequence: 0))
            #expect(retry.wasDuplicate && retry.baseOffset == 0)
            _ = try reopened.append(makeBatch(count: 1, producerId: 9, epoch: 2, baseSequence: 3))
            try reopened.close()

            let (again, _) = try openLog(dir, clean: true)
            #expect(again.logEndOffset == 4)
            #expect(throws: StorageError.self) {
                try again.append(makeBatch(count: 1, producerId: 9, epoch: 2, baseSequence: 7))
            }
            #expect(try again.append(makeBatch(count: 1, producerId: 9, epoch: 2, baseSequence: 3)).wasDuplicate)
        }
    }
}

/// A small deterministic generator so random tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
