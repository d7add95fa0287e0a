import FileSystem
import Foundation
import KafkaProtocol
import NIOCore
import Testing

@testable import LogStorage

/// Log compaction: what the cleaner keeps and removes, and that what it leaves survives reopening.
@Suite struct CompactionTests {
    /// A manager on `dir` with the compacted log t-0 open.
    private func open(
        _ dir: String, config: LogConfig = compactConfig(), clock: ManualClock, fileSystem: any FileSystem = PosixFileSystem()
    ) throws -> (LogManager, PartitionLog) {
        let manager = try LogManager(directory: dir, clock: clock, logger: quietLogger, fileSystem: fileSystem)
        return (manager, try manager.openLog(topic: "t", partition: 0, config: config))
    }

    /// Ten keys written twenty times each, over many segments.
    private func writeVersions(_ log: PartitionLog, keys: Int = 10, versions: Int = 20) throws -> [String: String] {
        var expected: [String: String] = [:]
        for version in 0..<versions {
            let batch = (0..<keys).map { ("key-\($0)", "value-\($0)-\(version)") }
            _ = try log.append(keyedBatch(batch))
            for (key, value) in batch { expected[key] = value }
        }
        return expected
    }

    @Test func keepsOnlyTheLatestRecordPerKeyWithItsOffset() throws {
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            var (manager, log) = try open(dir, clock: clock)
            let expected = try writeVersions(log)
            _ = try log.append(keyedBatch([("other", "x")]))  // rolls: everything before is closed and cleanable
            let before = log.sizeInBytes
            let latestOffsets = Dictionary(try visibleRecords(log).map { ($0.key, $0.offset) }, uniquingKeysWith: max)
            let stats = try #require(manager.cleanDirtiestLog())
            #expect(stats.recordsKept == 10 && stats.recordsRemoved == 190)
            #expect(log.sizeInBytes < before / 3)  // 19 segments left as 61-byte offset placeholders
            var visible = try visibleRecords(log)
            #expect(visible.count == 11)
            for record in visible { #expect(latestOffsets[record.key] == record.offset) }
            #expect(try latestValues(log).filter { $0.key != "other" } == expected)
            #expect(manager.cleanDirtiestLog() == nil)  // nothing dirty is left
            // The checkpoint and the cleaned segments survive a clean restart and a crash.
            try manager.shutdown()
            (manager, log) = try open(dir, clock: clock)
            visible = try visibleRecords(log)
            #expect(visible.count == 11)
            #expect(manager.cleanDirtiestLog() == nil)
            let checkpoint = try String(contentsOfFile: dir + "/cleaner-offset-checkpoint", encoding: .utf8)
            #expect(checkpoint == "0\n1\nt 0 \(stats.cleanedUpTo)\n")
            // New versions make the log dirty again; the next cleaning dedupes across old and new segments.
            _ = try log.append(keyedBatch([("key-3", "newest")]))
            _ = try log.append(keyedBatch([("other", "y")]))
            #expect(manager.cleanDirtiestLog() != nil)
            var latest = expected
            latest["key-3"] = "newest"
            latest["other"] = "y"
            #expect(try latestValues(log) == latest)
            #expect(try visibleRecords(log).count == 12)  // "other" twice: the newest is in the active segment
            try manager.shutdown()
        }
    }

    @Test func theBackgroundCleanerCleansWhileAppendsGoOnAndStopsAtShutdown() throws {
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            let (manager, log) = try open(dir, clock: clock)
            var cleaner = LogCleanerConfig()
            cleaner.backoffMs = 10
            manager.startCleaner(cleaner)
            var expected: [String: String] = [:]
            for version in 0..<50 {
                let batch = (0..<10).map { ("key-\($0)", "value-\($0)-\(version)") }
                _ = try log.append(keyedBatch(batch))
                for (key, value) in batch { expected[key] = value }
            }
            _ = try log.append(keyedBatch([("other", "x")]))
            let deadline = Date().addingTimeInterval(20)
            while try visibleRecords(log).count > 11 && Date() < deadline { usleep(10_000) }
            #expect(try visibleRecords(log).count == 11)
            #expect(try latestValues(log).filter { $0.key != "other" } == expected)
            try manager.shutdown()
        }
    }

    @Test func tombstonesStayUntilTheirDeleteHorizonThenGo() throws {
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            // 100-byte segments: every batch rolls.
            let (manager, log) = try open(dir, config: compactConfig(segmentBytes: 100, deleteRetentionMs: 1_000), clock: clock)
            _ = try log.append(keyedBatch([("a", "1"), ("b", "1")]))
            _ = try log.append(keyedBatch([("a", nil)]))
            _ = try log.append(keyedBatch([("c", "1")]))
            #expect(manager.cleanDirtiestLog() != nil)
            // The tombstone is kept (a consumer reading from the start must see the delete), with a horizon.
            let tombstone = try #require(try allBatches(log).first { $0.records.contains { $0.value == nil } })
            #expect(tombstone.header.attributes & 0x40 != 0)
            #expect(tombstone.header.baseTimestamp == clock.wallClockMs() + 1_000)
            #expect(tombstone.records.map(\.timestamp) == [1_000])  // record timestamps survive re-basing
            #expect(try visibleRecords(log).map(\.key) == ["b", "a", "c"])
            // Before the horizon another cleaning keeps it; after it the tombstone goes.
            _ = try log.append(keyedBatch([("d", "1")]))
            #expect(manager.cleanDirtiestLog() != nil)
            #expect(try visibleRecords(log).map(\.key) == ["b", "a", "c", "d"])
            clock.advance(by: 1_001)
            _ = try log.append(keyedBatch([("e", "1")]))
            #expect(manager.cleanDirtiestLog() != nil)
            #expect(try visibleRecords(log).map(\.key) == ["b", "c", "d", "e"])
            #expect(try latestValues(log) == ["b": "1", "c": "1", "d": "1", "e": "1"])
            try manager.shutdown()
        }
    }

    @Test func abortedTransactionsAreRemovedAndMarkersGoOnceTheirDataIsGone() throws {
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            let (manager, log) = try open(dir, config: compactConfig(segmentBytes: 100, deleteRetentionMs: 1_000), clock: clock)
            _ = try log.append(keyedBatch([("a", "aborted")], producerId: 5, epoch: 0, sequence: 0, transactional: true))
            _ = try log.append(keyedBatch([("b", "committed")], producerId: 6, epoch: 0, sequence: 0, transactional: true))
            _ = try log.appendMarker(producerId: 5, producerEpoch: 0, marker: ControlRecord(kind: .abort))
            _ = try log.appendMarker(producerId: 6, producerEpoch: 0, marker: ControlRecord(kind: .commit))
            _ = try log.append(keyedBatch([("c", "plain")]))
            _ = try log.append(keyedBatch([("d", "plain")]))
            #expect(manager.cleanDirtiestLog() != nil)
            // The aborted record is gone; the producer's last batch stays, emptied, for its sequence state.
            #expect(try visibleRecords(log).map(\.value) == ["committed", "plain", "plain"])
            let batches = try allBatches(log)
            let emptied = try #require(batches.first { $0.header.producerId == 5 && !$0.header.isControl })
            #expect(emptied.header.recordCount == 0 && emptied.header.lastOffset == 0 && emptied.header.isTransactional)
            #expect(batches.filter(\.header.isControl).count == 2)  // data of both was met in this pass
            // read_committed readers are still told about the aborted transaction.
            let read = try log.read(from: 0, maxBytes: 1 << 20, readCommitted: true)
            #expect(read.abortedTransactions?.map(\.producerId) == [5])
            // Once the producers expired, later cleanings drop the emptied batch, then give the ABORT marker its
            // horizon, then remove it. The COMMIT marker stays while its transaction's record does.
            for tag in ["e", "f", "g"] {
                clock.advance(by: 1_001)
                log.expireProducers(idleBefore: clock.wallClockMs())
                _ = try log.append(keyedBatch([(tag, "plain")]))
                #expect(manager.cleanDirtiestLog() != nil)
            }
            let after = try allBatches(log)
            #expect(!after.contains { $0.header.producerId == 5 })
            #expect(after.filter(\.header.isControl).map(\.header.producerId) == [6])
            #expect(try visibleRecords(log).map(\.value) == ["committed", "plain", "plain", "plain", "plain", "plain"])
            #expect(log.lastStableOffset == log.logEndOffset)
            try manager.shutdown()
        }
    }

    @Test func aProducersAbortedTransactionInTheCleanPartDoesNotHideItsLaterCommittedOne() throws {
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            let (manager, log) = try open(dir, config: compactConfig(segmentBytes: 100), clock: clock)
            _ = try log.append(keyedBatch([("a", "aborted")], producerId: 5, epoch: 0, sequence: 0, transactional: true))
            _ = try log.appendMarker(producerId: 5, producerEpoch: 0, marker: ControlRecord(kind: .abort))
            _ = try log.append(keyedBatch([("z", "roll")]))
            #expect(manager.cleanDirtiestLog() != nil)
            // The same producer's next transaction, committed, writes "a" twice: only the second may stay.
            _ = try log.append(keyedBatch([("a", "first")], producerId: 5, epoch: 0, sequence: 1, transactional: true))
            _ = try log.append(keyedBatch([("a", "second")], producerId: 5, epoch: 0, sequence: 2, transactional: true))
            _ = try log.appendMarker(producerId: 5, producerEpoch: 0, marker: ControlRecord(kind: .commit))
            _ = try log.append(keyedBatch([("z", "roll again")]))
            #expect(manager.cleanDirtiestLog() != nil)
            #expect(try visibleRecords(log).map(\.value) == ["roll", "second", "roll again"])
            try manager.shutdown()
        }
    }

    @Test func theLastBatchOfAnIdempotentProducerSurvivesCleaningAndReopening() throws {
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            var (manager, log) = try open(dir, clock: clock)
            _ = try log.append(keyedBatch([("k", "old")], producerId: 9, epoch: 0, sequence: 0))
            _ = try log.append(keyedBatch([("k", "new")]))
            _ = try log.append(keyedBatch([("z", "roll")]))
            #expect(manager.cleanDirtiestLog() != nil)
            #expect(try visibleRecords(log).map(\.value) == ["new", "roll"])
            // Reopen after a crash (no clean shutdown, snapshots removed): the producer state is rebuilt from the
            // emptied batch, so a retry is recognised and the next sequence accepted.
            let snapshots = try FileManager.default.contentsOfDirectory(atPath: dir + "/t-0").filter { $0.hasSuffix(".snapshot") }
            for name in snapshots { try FileManager.default.removeItem(atPath: dir + "/t-0/" + name) }
            log.closeForTest()
            manager.releaseLockForTest()
            (manager, log) = try open(dir, clock: clock)
            #expect(log.producers.first { $0.producerId == 9 }?.lastSequence == 0)
            let retry = try log.append(keyedBatch([("k", "old")], producerId: 9, epoch: 0, sequence: 0))
            #expect(retry.wasDuplicate)
            #expect(try log.append(keyedBatch([("k", "next")], producerId: 9, epoch: 0, sequence: 1)).wasDuplicate == false)
            try manager.shutdown()
        }
    }

    @Test(arguments: [CompressionCodec.gzip, .zstd, .lz4])
    func compressedBatchesAreRewrittenWithTheirCodec(_ codec: CompressionCodec) throws {
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            let (manager, log) = try open(dir, config: compactConfig(segmentBytes: 400), clock: clock)
            for version in 0..<5 {
                _ = try log.append(keyedBatch((0..<8).map { ("key-\($0 % (version + 2))", "value-\($0)-\(version)-padding-padding") },
                                              compression: codec))
            }
            _ = try log.append(keyedBatch([("roll", String(repeating: "x", count: 500))]))
            let expected = try latestValues(log)
            #expect(manager.cleanDirtiestLog() != nil)
            let batches = try allBatches(log).filter { $0.header.recordCount > 0 && $0.records.first?.key.map({ String(buffer: $0) }) != "roll" }
            #expect(batches.allSatisfy { $0.header.compression == codec })
            #expect(try latestValues(log) == expected)
            #expect(Set(try visibleRecords(log).map(\.key)).count == (try visibleRecords(log)).count)
            try manager.shutdown()
        }
    }

    @Test func aFullOffsetMapCleansUpToWhereItGotAndTheNextCleaningGoesOn() throws {
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            let (manager, log) = try open(dir, clock: clock)
            // Forty keys, each written three times, ten per batch.
            var expected: [String: String] = [:]
            for version in 0..<12 {
                let batch = (0..<10).map { ("key-\((version * 10 + $0) % 40)", "value-\(version)-\($0)") }
                _ = try log.append(keyedBatch(batch))
                for (key, value) in batch { expected[key] = value }
            }
            _ = try log.append(keyedBatch([("other", "x")]))
            var cleaner = LogCleanerConfig()
            cleaner.dedupeBufferSize = 24 * 34  // 30 keys at the 0.9 load factor: three of the twelve batches
            let first = try #require(manager.cleanDirtiestLog(config: cleaner))
            #expect(first.cleanedUpTo == 30 && first.mapMemoryBytes == 24 * 34)
            var rounds = 1
            while manager.cleanDirtiestLog(config: cleaner) != nil { rounds += 1 }
            #expect(rounds == 4)
            #expect(try latestValues(log).filter { $0.key != "other" } == expected)
            #expect(try visibleRecords(log).count == 41)
            try manager.shutdown()
        }
    }

    /// A failure a retry cannot fix (here a batch with more records than the offset map holds) marks the log
    /// uncleanable, as Kafka does, instead of re-reading it every backoff; a restart gives it another chance.
    @Test func aCleaningThatCannotSucceedMarksTheLogUncleanableUntilARestart() throws {
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            var (manager, log) = try open(dir, clock: clock)
            let expected = try writeVersions(log)
            var tiny = LogCleanerConfig()
            tiny.dedupeBufferSize = 24 * 5  // four keys, fewer than one batch's ten records
            #expect(manager.cleanDirtiestLog(config: tiny) == nil)
            #expect(manager.uncleanableLogs == ["t-0"])
            #expect(manager.cleanDirtiestLog() == nil)  // skipped, even with a map large enough
            #expect(try latestValues(log) == expected)
            try manager.shutdown()
            (manager, log) = try open(dir, clock: clock)
            #expect(manager.uncleanableLogs.isEmpty)
            #expect(manager.cleanDirtiestLog() != nil)
            #expect(try latestValues(log) == expected)
            try manager.shutdown()
        }
    }

    @Test func minCompactionLagKeepsYoungRecordsAndMaxCompactionLagForcesACleaning() throws {
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            var config = compactConfig(segmentBytes: 100)
            config.minCompactionLagMs = 60_000
            let (manager, log) = try open(dir, config: config, clock: clock)
            let now = clock.wallClockMs()
            _ = try log.append(keyedBatch([("k", "old")], timestamp: now - 120_000))
            _ = try log.append(keyedBatch([("k", "young")], timestamp: now))
            _ = try log.append(keyedBatch([("k", "newest")], timestamp: now))
            // Only the first segment is old enough, and alone it holds nothing to remove.
            let first = try #require(manager.cleanDirtiestLog())
            #expect(first.recordsRemoved == 0 && first.cleanedUpTo == 1)
            clock.advance(by: 60_001)
            _ = try log.append(keyedBatch([("other", "x")], timestamp: clock.wallClockMs()))
            #expect(manager.cleanDirtiestLog() != nil)
            #expect(try visibleRecords(log).map(\.value) == ["newest", "x"])
            try manager.shutdown()
        }
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            var config = compactConfig(segmentBytes: 100)
            config.minCleanableDirtyRatio = 0.99
            config.maxCompactionLagMs = 60_000
            let (manager, log) = try open(dir, config: config, clock: clock)
            _ = try log.append(keyedBatch([("k", "v1")], timestamp: clock.wallClockMs()))
            _ = try log.append(keyedBatch([("k", "v2")], timestamp: clock.wallClockMs()))
            _ = try log.append(keyedBatch([("z", "roll")], timestamp: clock.wallClockMs()))
            #expect(manager.cleanDirtiestLog() != nil)  // all dirty: ratio 1
            _ = try log.append(keyedBatch([("k", "v3")], timestamp: clock.wallClockMs()))
            _ = try log.append(keyedBatch([("z", "roll again")], timestamp: clock.wallClockMs()))
            #expect(manager.cleanDirtiestLog() == nil)  // ratio below 0.99
            clock.advance(by: 60_001)
            #expect(manager.cleanDirtiestLog() != nil)  // the oldest dirty record is past max.compaction.lag.ms
            #expect(try visibleRecords(log).map(\.value) == ["roll", "v3", "roll again"])
            try manager.shutdown()
        }
    }

    @Test func retentionDeletesOnlyLogsWhosePolicyIncludesDelete() throws {
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            for (policy, deletes) in [(CleanupPolicy.compact, false), (CleanupPolicy(delete: true, compact: true), true)] {
                var config = compactConfig()
                config.cleanupPolicy = policy
                config.retentionMs = 10
                let (log, _) = try openLog(dir + "/\(policy)", config: config, clock: clock)
                for i in 0..<3 { _ = try log.append(keyedBatch([("k\(i)", "v")])) }
                clock.advance(by: 1_000_000)
                #expect((try log.applyRetention() > 0) == deletes, "\(policy)")
                try log.close()
            }
        }
    }

    @Test func theLogStartOffsetOfDeleteRecordsSurvivesCleaningAndReopening() throws {
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            var config = compactConfig(segmentBytes: 1_000)
            config.cleanupPolicy = CleanupPolicy(delete: true, compact: true)
            var (manager, log) = try open(dir, config: config, clock: clock)
            for version in 0..<4 { _ = try log.append(keyedBatch((0..<5).map { ("k\($0)", "v\(version)") })) }
            _ = try log.append(keyedBatch([("roll", String(repeating: "x", count: 1_000))]))
            // Inside the first segment: the segment stays, reads start at 7.
            #expect(try log.deleteRecords(before: 7) == 7)
            #expect(manager.cleanDirtiestLog() != nil)
            #expect(log.logStartOffset == 7)
            #expect(try visibleRecords(log).map(\.value) == ["v3", "v3", "v3", "v3", "v3", String(repeating: "x", count: 1_000)])
            try manager.shutdown()
            (manager, log) = try open(dir, config: config, clock: clock)
            #expect(log.logStartOffset == 7)
            #expect(try visibleRecords(log).count == 6)
            try manager.shutdown()
        }
    }

    @Test func aRecordWithoutKeyIsRefusedOnACompactedTopic() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir, config: compactConfig(), clock: ManualClock())
            for codec in [CompressionCodec.none, .gzip] {
                var builder = RecordBatchBuilder()
                builder.compression = codec
                builder.append(ProducerRecord(key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v"), timestamp: 1))
                builder.append(ProducerRecord(key: nil, value: ByteBuffer(string: "v"), timestamp: 1))
                #expect(throws: StorageError.invalidBatch(.badRecord(
                    index: 1, reason: "Compacted topic cannot accept message without key in topic partition t-0."))) {
                    try log.append(builder.build())
                }
            }
            #expect(log.logEndOffset == 0)
            try log.close()
        }
    }

    @Test func aQuietActiveSegmentOfACompactedLogRollsAfterSegmentMs() throws {
        try withTemporaryDirectory { dir in
            let clock = ManualClock()
            var config = compactConfig(segmentBytes: 1 << 20)
            config.segmentMs = 5_000
            let (log, _) = try openLog(dir, config: config, clock: clock)
            #expect(try !log.rollIfIdleForCompaction())  // empty: nothing to roll
            _ = try log.append(keyedBatch([("k", "v")]))
            clock.advance(by: 4_999)
            #expect(try !log.rollIfIdleForCompaction())
            clock.advance(by: 1)
            #expect(try log.rollIfIdleForCompaction())
            #expect(log.segmentBaseOffsets == [0, 1])
            try log.close()
        }
    }
}

extension PartitionLog {
    /// Closes the files without the clean-close writes, as a killed process leaves them.
    func closeForTest() { core.withLock { $0.closeWithoutWriting() } }
}

extension LogManager {
    /// Gives up the directory lock without a clean shutdown (the process died).
    func releaseLockForTest() {
        state.withLock {
            $0.lock?.close()
            $0.lock = nil
            $0.isShutDown = true
        }
    }
}
