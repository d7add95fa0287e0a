import Foundation
import KafkaProtocol
import Logging
import NIOCore
import Testing

@testable import LogStorage

/// Transactions in the partition log: the last stable offset, markers, the aborted-transaction index, read_committed
/// reads, and their reconstruction after crashes.
@Suite struct TransactionLogTests {
    /// A transactional batch of `count` records from producer `pid` continuing at `sequence`.
    private func txnBatch(_ pid: Int64, epoch: Int16 = 0, sequence: Int32, count: Int = 3, tag: String = "t") -> ByteBuffer {
        makeBatch(count: count, producerId: pid, epoch: epoch, baseSequence: sequence, tag: tag, transactional: true)
    }

    private func commit(_ log: PartitionLog, _ pid: Int64, epoch: Int16 = 0) throws -> MarkerAppendResult {
        try log.appendMarker(producerId: pid, producerEpoch: epoch, marker: ControlRecord(kind: .commit))
    }

    private func abort(_ log: PartitionLog, _ pid: Int64, epoch: Int16 = 0) throws -> MarkerAppendResult {
        try log.appendMarker(producerId: pid, producerEpoch: epoch, marker: ControlRecord(kind: .abort))
    }

    /// Offsets of the data records a read returns (control batches skipped), and its aborted list.
    private func readOffsets(_ log: PartitionLog, from offset: Int64, committed: Bool) throws -> (offsets: [Int64], aborted: [AbortedTransaction]?) {
        let read = try log.read(from: offset, maxBytes: 1 << 20, readCommitted: committed)
        var bytes = try log.readBytes(from: offset, maxBytes: 1 << 20)
        var offsets: [Int64] = []
        var remaining = read.byteCount
        while remaining > 0, let header = RecordBatchHeader(bytes) {
            let batch = bytes.readSlice(length: header.totalSize)!
            remaining -= header.totalSize
            if !header.isControl { offsets += try RecordBatchHeader.records(in: batch).map(\.offset) }
        }
        return (offsets, read.abortedTransactions)
    }

    @Test func anOpenTransactionHoldsTheLastStableOffsetUntilItsMarker() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            _ = try log.append(txnBatch(7, sequence: 0))  // 0-2, open
            _ = try log.append(makeBatch(count: 2))  // 3-4, plain
            #expect(log.lastStableOffset == 0)
            #expect(log.logEndOffset == 5)
            #expect(try readOffsets(log, from: 0, committed: true).offsets.isEmpty)
            #expect(try readOffsets(log, from: 0, committed: false).offsets == [0, 1, 2, 3, 4])
            let marker = try commit(log, 7)
            #expect(marker.offset == 5)
            #expect(marker.completed == CompletedTransaction(producerId: 7, firstOffset: 0, lastOffset: 5, isAborted: false))
            #expect(log.lastStableOffset == 6 && log.logEndOffset == 6)
            let committed = try readOffsets(log, from: 0, committed: true)
            #expect(committed.offsets == [0, 1, 2, 3, 4])
            #expect(committed.aborted == [])
        }
    }

    @Test func readCommittedReturnsOnlyWholeBatchesBelowTheStableOffset() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            _ = try log.append(makeBatch(count: 4))  // 0-3
            _ = try log.append(txnBatch(1, sequence: 0))  // 4-6 open
            _ = try log.append(makeBatch(count: 2))  // 7-8
            #expect(try readOffsets(log, from: 0, committed: true).offsets == [0, 1, 2, 3])
            #expect(try readOffsets(log, from: 2, committed: true).offsets == [0, 1, 2, 3])  // the whole first batch
            // At or past the stable offset but inside the log: nothing, and no error.
            #expect(try readOffsets(log, from: 4, committed: true).offsets.isEmpty)
            #expect(try readOffsets(log, from: 8, committed: true).offsets.isEmpty)
            #expect(throws: StorageError.self) { try log.read(from: 10, maxBytes: 1000, readCommitted: true) }
        }
    }

    @Test func abortsAreIndexedAndListedForOverlappingReads() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            _ = try log.append(txnBatch(1, sequence: 0))  // A: 0-2
            _ = try log.append(txnBatch(2, sequence: 0))  // B: 3-5
            let aborted = try abort(log, 1)  // 6: A aborted while B is open
            #expect(aborted.completed?.isAborted == true)
            #expect(log.lastStableOffset == 3)
            _ = try commit(log, 2)  // 7
            _ = try log.append(makeBatch(count: 1))  // 8
            let expected = AbortedTransaction(producerId: 1, firstOffset: 0, lastOffset: 6, lastStableOffset: 3)
            let all = try readOffsets(log, from: 0, committed: true)
            #expect(all.offsets == [0, 1, 2, 3, 4, 5, 8])
            #expect(all.aborted == [expected])
            // A read that starts after the aborted transaction ended does not list it.
            #expect(try readOffsets(log, from: 7, committed: true).aborted == [])
            // read_uncommitted reports no list at all.
            #expect(try readOffsets(log, from: 0, committed: false).aborted == nil)
            #expect(FileManager.default.fileExists(atPath: segmentPath(dir, 0, ".txnindex")))
        }
    }

    @Test func aNonTransactionalWriteInsideAnOpenTransactionIsRefused() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            _ = try log.append(txnBatch(3, sequence: 0))
            #expect(throws: StorageError.producer(.nonTransactionalWriteInTransaction(producerId: 3, transactionStart: 0))) {
                try log.append(makeBatch(count: 1, producerId: 3, epoch: 0, baseSequence: 3))
            }
            #expect(log.logEndOffset == 3)
        }
    }

    @Test func aTransactionalBatchWithoutAProducerIsInvalid() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            #expect(throws: StorageError.invalidBatch(.transactionalWithoutProducer(position: 0))) {
                try log.append(makeBatch(count: 1, transactional: true))
            }
            #expect(log.logEndOffset == 0)
        }
    }

    @Test func aFencingMarkerMovesTheProducerToTheNewEpoch() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            _ = try log.append(txnBatch(5, epoch: 0, sequence: 0))
            // The coordinator aborts with a bumped epoch (timeout or a new producer instance).
            _ = try abort(log, 5, epoch: 1)
            #expect(throws: StorageError.producer(.staleEpoch(producerId: 5, current: 1, received: 0))) {
                try log.append(txnBatch(5, epoch: 0, sequence: 3))
            }
            #expect(throws: StorageError.producer(.staleEpoch(producerId: 5, current: 1, received: 0))) {
                try abort(log, 5, epoch: 0)
            }
            _ = try log.append(txnBatch(5, epoch: 1, sequence: 0))
            #expect(log.lastStableOffset == 4)
        }
    }

    @Test func theVerifyHookRunsUnderTheLockAndCanRefuse() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            #expect(throws: StorageError.refused(.invalidTxnState, reason: "not in the transaction")) {
                try log.append(txnBatch(1, sequence: 0), verify: { _ throws(StorageError) in
                    throw .refused(.invalidTxnState, reason: "not in the transaction")
                })
            }
            #expect(log.logEndOffset == 0)
            #expect(log.producers.isEmpty)
        }
    }

    @Test func theIndexAndStableOffsetAreRebuiltExactlyAfterACrash() throws {
        try withTemporaryDirectory { dir in
            // Small segments so transactions cross segment boundaries and snapshots are taken at rolls.
            var config = LogConfig()
            config.segmentBytes = 600
            var sequences: [Int64: Int32] = [:]
            var expectedAborted: [AbortedTransaction] = []
            var expectedStable: Int64 = 0
            var expectedProducers: [ProducerDescription] = []
            do {
                let (log, _) = try openLog(dir, config: config)
                var rng = SystemRandomNumberGenerator()
                for round in 0..<40 {
                    let pid = Int64(round % 4)
                    let sequence = sequences[pid, default: 0]
                    _ = try log.append(txnBatch(pid, sequence: sequence, count: 2, tag: "r\(round)"))
                    sequences[pid] = sequence + 2
                    if round % 3 == 2 {
                        let victim = Int64.random(in: 0..<4, using: &rng)
                        if log.hasOpenTransaction(producerId: victim) {
                            _ = Bool.random(using: &rng) ? try abort(log, victim) : try commit(log, victim)
                        }
                    }
                }
                #expect(log.segmentCount > 3)
                expectedAborted = try allAborted(log)
                expectedStable = log.lastStableOffset
                expectedProducers = log.producers
                // Dropped without close: an unclean shutdown.
            }
            // Lose every transaction index and every snapshot but the oldest: all must come back from the log.
            for name in try FileManager.default.contentsOfDirectory(atPath: dir + "/t-0") where name.hasSuffix(".txnindex") {
                try FileManager.default.removeItem(atPath: dir + "/t-0/" + name)
            }
            let (log, report) = try openLog(dir, config: config, recoveryPoint: 0)
            #expect(report.recoveredSegments == log.segmentCount)
            #expect(log.lastStableOffset == expectedStable)
            #expect(try allAborted(log) == expectedAborted)
            #expect(log.producers.map(\.currentTransactionStartOffset) == expectedProducers.map(\.currentTransactionStartOffset))
            #expect(!expectedAborted.isEmpty || expectedStable < log.logEndOffset)
        }
    }

    @Test func recoveryAboveTheRecoveryPointRebuildsOnlyWhatItMust() throws {
        try withTemporaryDirectory { dir in
            var config = LogConfig()
            config.segmentBytes = 500
            var expected: [AbortedTransaction] = []
            var recoveryPoint: Int64 = 0
            do {
                let (log, _) = try openLog(dir, config: config)
                var sequence: Int32 = 0
                for round in 0..<12 {
                    _ = try log.append(txnBatch(9, sequence: sequence, count: 2, tag: "x\(round)"))
                    sequence += 2
                    _ = round % 2 == 0 ? try abort(log, 9) : try commit(log, 9)
                    if round == 5 {
                        try log.flush()
                        recoveryPoint = log.recoveryPoint
                    }
                }
                _ = try log.append(txnBatch(9, sequence: sequence, count: 2, tag: "open"))
                expected = try allAborted(log)
            }
            #expect(expected.count == 6)
            // The tail segment's index is torn mid-entry: it is rebuilt, the trusted ones are kept.
            let bases = try FileManager.default.contentsOfDirectory(atPath: dir + "/t-0")
                .compactMap { Segment.baseOffset(ofFileName: $0, suffix: ".txnindex") }.sorted()
            let last = segmentPath(dir, bases.last!, ".txnindex")
            let size = try FileManager.default.attributesOfItem(atPath: last)[.size] as! Int
            try FileHandle(forUpdating: URL(fileURLWithPath: last)).truncate(atOffset: UInt64(size - 5))
            let (log, _) = try openLog(dir, config: config, recoveryPoint: recoveryPoint)
            #expect(try allAborted(log) == expected)
            #expect(log.lastStableOffset == log.logEndOffset - 2)
        }
    }

    @Test func aMarkerBelowTheLogStartStillClosesItsTransactionAfterACrash() throws {
        try withTemporaryDirectory { dir in
            var config = LogConfig()
            config.segmentBytes = 100  // every append to a non-empty segment rolls (and snapshots)
            do {
                let (log, _) = try openLog(dir, config: config)
                _ = try log.append(txnBatch(1, sequence: 0))  // 0-2, open; snapshots taken at the next rolls say so
                _ = try log.append(makeBatch(count: 2))  // 3-4
                _ = try commit(log, 1)  // 5, in the active segment
                #expect(log.lastStableOffset == 6)
                #expect(try log.deleteRecords(before: 6) == 6)
                try log.flush()
            }
            // Killed: the newest snapshot (at 5) still has the transaction open, and its marker is below the log start.
            let (log, _) = try openLog(dir, config: config, recoveryPoint: 6, logStartOffset: 6)
            _ = try log.append(makeBatch(count: 3))
            #expect(log.lastStableOffset == log.logEndOffset)
            #expect(log.openTransactions.isEmpty)
        }
    }

    @Test func aFailedIndexWriteKeepsTheAbortInMemoryAndTheRestartRebuildsTheFile() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            _ = try log.append(txnBatch(1, sequence: 0))
            // The index file cannot be created: a directory is in the way.
            try FileManager.default.createDirectory(atPath: segmentPath(dir, 0, ".txnindex"), withIntermediateDirectories: false)
            _ = try abort(log, 1)
            let read = try log.read(from: 0, maxBytes: 1 << 20, readCommitted: true)
            #expect(read.abortedTransactions?.map(\.producerId) == [1])
            // The flush cannot write the index: the directory goes offline (the recovery point stays below the abort).
            #expect(throws: StorageError.self) { try log.flush() }
            #expect(log.health.isOffline)
            #expect(log.recoveryPoint < log.logEndOffset)
            try FileManager.default.removeItem(atPath: segmentPath(dir, 0, ".txnindex"))
            // A restart on the repaired disk rebuilds the index from the marker in the log.
            let (reopened, _) = try openLog(dir)
            #expect(try reopened.read(from: 0, maxBytes: 1 << 20, readCommitted: true).abortedTransactions?.map(\.producerId) == [1])
            try reopened.flush()
            #expect(try TransactionIndex.entries(ofFile: segmentPath(dir, 0, ".txnindex")).map(\.producerId) == [1])
        }
    }

    @Test func snapshotsCarryOpenTransactionsAndVersion1StillLoads() {
        var state = ProducerStateManager()
        state.record(RecordBatchHeader(baseOffset: 10, attributes: 0x10, lastOffsetDelta: 1, producerId: 4,
                                       producerEpoch: 2, baseSequence: 0, recordCount: 2), appendTimeMs: 5)
        state.record(RecordBatchHeader(baseOffset: 12, lastOffsetDelta: 0, producerId: 8, producerEpoch: 0,
                                       baseSequence: 0, recordCount: 1), appendTimeMs: 6)
        #expect(state.firstUnstableOffset == 10)
        let loaded = ProducerStateManager.load(snapshot: state.snapshotBytes())
        #expect(loaded == state)
        #expect(loaded?.firstUnstableOffset == 10)
        // A version-1 snapshot (before transactions): one producer, no transaction fields.
        var v1: [UInt8] = Array("LSPS".utf8)
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.bigEndian) { v1.append(contentsOf: $0) } }
        put(Int16(1)); put(Int32(1)); put(Int64(8)); put(Int16(0)); put(Int64(6)); put(Int8(1))
        put(Int32(0)); put(Int32(0)); put(Int64(12)); put(Int64(12)); put(Int64(99))
        put(v1.withUnsafeBytes { CRC32C.checksum($0) })
        let old = ProducerStateManager.load(snapshot: v1)
        #expect(old?.producers[8]?.lastSequence == 0)
        #expect(old?.firstUnstableOffset == nil)
    }

    @Test func timestampLookupsForReadCommittedStopAtTheStableOffset() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            _ = try log.append(makeBatch(count: 2, firstTimestamp: 100))
            _ = try log.append(makeBatch(count: 2, firstTimestamp: 200, producerId: 1, epoch: 0, baseSequence: 0, transactional: true))
            #expect(try log.offset(forTimestamp: 150)?.offset == 2)
            #expect(try log.offset(forTimestamp: 150, belowStableOffset: true) == nil)
            #expect(try log.offset(forTimestamp: 100, belowStableOffset: true)?.offset == 0)
        }
    }

    /// Every aborted transaction of the log, in marker order.
    private func allAborted(_ log: PartitionLog) throws -> [AbortedTransaction] {
        log.abortedTransactions(from: log.logStartOffset, upperBound: .max)
    }
}
