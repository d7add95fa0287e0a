import FileSystem
import Foundation
import Testing

@testable import LogStorage

/// The leader-epoch cache (Kafka's LeaderEpochFileCache semantics), its checkpoint file, and how a log keeps both.
@Suite struct LeaderEpochCacheTests {
    typealias Entry = LeaderEpochCache.Entry

    @Test func endOffsetForEpochFollowsKafka() {
        let cache = LeaderEpochCache(entries: [Entry(epoch: 2, startOffset: 10), Entry(epoch: 5, startOffset: 30), Entry(epoch: 7, startOffset: 50)])
        // The latest epoch ends at the log end.
        #expect(cache.endOffset(for: 7, logEndOffset: 80) == (7, 80))
        // A known older epoch ends where the next one starts.
        #expect(cache.endOffset(for: 5, logEndOffset: 80) == (5, 50))
        // An unknown epoch between two answers with the largest one below it.
        #expect(cache.endOffset(for: 3, logEndOffset: 80) == (2, 30))
        #expect(cache.endOffset(for: 6, logEndOffset: 80) == (5, 50))
        // Below every entry: the requested epoch and the first start offset (the data before is gone).
        #expect(cache.endOffset(for: 1, logEndOffset: 80) == (1, 10))
        // Above every entry, or undefined: -1/-1.
        #expect(cache.endOffset(for: 9, logEndOffset: 80) == (-1, -1))
        #expect(cache.endOffset(for: -1, logEndOffset: 80) == (-1, -1))
        #expect(LeaderEpochCache().endOffset(for: 0, logEndOffset: 0) == (-1, -1))
    }

    @Test func assignKeepsEntriesMonotonic() {
        var cache = LeaderEpochCache()
        do { let changed = cache.assign(epoch: 0, startOffset: 0); #expect(changed) }
        do { let changed = cache.assign(epoch: 0, startOffset: 5); #expect(!changed, "the same epoch later changes nothing") }
        do { let changed = cache.assign(epoch: 1, startOffset: 5); #expect(changed) }
        // An older or equal epoch, or a start at or before the last one, removes the entries it contradicts.
        do { let changed = cache.assign(epoch: 3, startOffset: 5); #expect(changed) }
        #expect(cache.entries == [Entry(epoch: 0, startOffset: 0), Entry(epoch: 3, startOffset: 5)])
        do { let changed = cache.assign(epoch: 2, startOffset: 8); #expect(changed) }
        #expect(cache.entries == [Entry(epoch: 0, startOffset: 0), Entry(epoch: 2, startOffset: 8)])
        // A new epoch on an empty log replaces the previous one at the same offset.
        var empty = LeaderEpochCache(entries: [Entry(epoch: 0, startOffset: 0)])
        empty.assign(epoch: 1, startOffset: 0)
        #expect(empty.entries == [Entry(epoch: 1, startOffset: 0)])
    }

    @Test func truncationFromBothEnds() {
        var cache = LeaderEpochCache(entries: [Entry(epoch: 1, startOffset: 0), Entry(epoch: 2, startOffset: 10), Entry(epoch: 4, startOffset: 20)])
        do { let changed = cache.truncateFromEnd(endOffset: 25); #expect(!changed) }
        do { let changed = cache.truncateFromEnd(endOffset: 20); #expect(changed) }
        #expect(cache.entries.map(\.epoch) == [1, 2])
        do { let changed = cache.truncateFromStart(startOffset: 12); #expect(changed) }
        #expect(cache.entries == [Entry(epoch: 2, startOffset: 12)])
        do { let changed = cache.truncateFromStart(startOffset: 12); #expect(!changed) }
        do { let changed = cache.truncateFromStart(startOffset: 5); #expect(!changed, "a start below every entry changes nothing") }
        #expect(cache.epoch(containing: 15) == 2 && cache.epoch(containing: 3) == nil)
    }

    @Test func checkpointFormatRoundTripsAndRejectsDamage() {
        let entries = [Entry(epoch: 0, startOffset: 0), Entry(epoch: 3, startOffset: 42)]
        let bytes = LeaderEpochCheckpoint.encode(entries)
        #expect(String(decoding: bytes, as: UTF8.self) == "0\n2\n0 0\n3 42\n")
        #expect(LeaderEpochCheckpoint.decode(bytes) == entries)
        #expect(LeaderEpochCheckpoint.decode(Array("0\n0\n".utf8)) == [])
        for damaged in ["1\n1\n0 0\n", "0\n2\n0 0\n", "0\n1\n0\n", "0\n2\n3 0\n2 5\n", "0\n1\nx 0\n", "0\n1\n0 0\n7 7\n"] {
            #expect(LeaderEpochCheckpoint.decode(Array(damaged.utf8)) == nil, "\(damaged)")
        }
    }

    @Test func logBumpsEpochPerLeadershipAndStampsBatches() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            #expect(try log.becomeLeader() == 0)
            _ = try log.append(makeBatch(count: 3))
            try log.close()
            let (reopened, _) = try openLog(dir, clean: true)
            #expect(reopened.leaderEpoch == 0)
            #expect(try reopened.becomeLeader() == 1)
            _ = try reopened.append(makeBatch(count: 2))
            let headers = batchHeaders(try reopened.readBytes(from: 0, maxBytes: 1 << 20))
            #expect(headers.map(\.partitionLeaderEpoch) == [0, 1])
            #expect(reopened.leaderEpochEntries == [Entry(epoch: 0, startOffset: 0), Entry(epoch: 1, startOffset: 3)])
            #expect(reopened.endOffset(forEpoch: 0) == (0, 3))
            #expect(reopened.endOffset(forEpoch: 1) == (1, 5))
            #expect(reopened.leaderEpoch(ofOffset: 4) == 1)
            let text = try String(contentsOfFile: dir + "/t-0/leader-epoch-checkpoint", encoding: .utf8)
            #expect(text == "0\n2\n0 0\n1 3\n")
            try reopened.close()
        }
    }

    @Test func missingOrDamagedCheckpointIsRebuiltFromTheBatches() throws {
        for damage in ["remove", "garbage", "stale"] {
            try withTemporaryDirectory { dir in
                let (log, _) = try openLog(dir)
                try log.becomeLeader()
                _ = try log.append(makeBatch(count: 3))
                try log.becomeLeader()
                _ = try log.append(makeBatch(count: 2))
                try log.becomeLeader()
                try log.close()
                let path = dir + "/t-0/leader-epoch-checkpoint"
                switch damage {
                case "remove": try FileManager.default.removeItem(atPath: path)
                case "garbage": try "0\n5\n1 2\n".write(toFile: path, atomically: true, encoding: .utf8)
                default: try "0\n1\n0 0\n".write(toFile: path, atomically: true, encoding: .utf8)
                }
                let (reopened, _) = try openLog(dir, clean: true)
                #expect(reopened.leaderEpochEntries == [Entry(epoch: 0, startOffset: 0), Entry(epoch: 1, startOffset: 3)], "\(damage)")
                #expect(try reopened.becomeLeader() == 2)
                try reopened.close()
            }
        }
    }

    @Test func logStartAdvanceForgetsOlderEpochs() throws {
        try withTemporaryDirectory { dir in
            let (log, _) = try openLog(dir)
            try log.becomeLeader()
            _ = try log.append(makeBatch(count: 3))
            try log.becomeLeader()
            _ = try log.append(makeBatch(count: 3))
            #expect(try log.deleteRecords(before: 4) == 4)
            #expect(log.leaderEpochEntries == [Entry(epoch: 1, startOffset: 4)])
            #expect(log.endOffset(forEpoch: 0) == (0, 4))
            try log.close()
        }
    }
}

extension LeaderEpochCacheTests {
    @Test func aQuietPartitionStillMovesToANewEpochEveryStart() throws {
        try withTemporaryDirectory { dir in
            for expected in Int32(0)...3 {
                let (log, _) = try openLog(dir, clean: true)
                #expect(try log.becomeLeader() == expected)
                try log.close()
            }
            let (log, _) = try openLog(dir, clean: true)
            #expect(log.leaderEpochEntries == [Entry(epoch: 3, startOffset: 0)])
            #expect(log.endOffset(forEpoch: 1) == (1, 0))
            try log.close()
        }
    }
}
