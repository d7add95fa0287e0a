import FileSystem
import KafkaProtocol

extension PartitionLog {
    /// The partition's current leader epoch: the one new batches are stamped with and that Metadata, ListOffsets and
    /// the fencing checks (CurrentLeaderEpoch) use.
    public var leaderEpoch: Int32 { core.withLock { $0.currentLeaderEpoch } }

    /// The leader-epoch entries, oldest first (for tests and tools).
    public var leaderEpochEntries: [LeaderEpochCache.Entry] { core.withLock { $0.leaderEpochs.entries } }

    /// This broker becomes the partition's leader anew, as a Kafka broker re-elected after a restart: the leader epoch
    /// moves one past every epoch the log knows, starting at the log end (Kafka's `Partition.makeLeader` →
    /// `maybeAssignEpochStartOffset`), and the checkpoint is written before any batch of the new epoch. A new
    /// partition starts at epoch 0. Returns the new epoch.
    @discardableResult
    public func becomeLeader() throws(StorageError) -> Int32 {
        try writing { (core) throws(StorageError) -> Int32 in try core.becomeLeader() }
    }

    /// OffsetForLeaderEpoch for this partition: see ``LeaderEpochCache/endOffset(for:logEndOffset:)``.
    public func endOffset(forEpoch epoch: Int32) -> (epoch: Int32, offset: Int64) {
        core.withLock { $0.leaderEpochs.endOffset(for: epoch, logEndOffset: $0.logEndOffset) }
    }

    /// The leader epoch that wrote `offset` (ListOffsets answers with it), or the current one when no entry covers it.
    public func leaderEpoch(ofOffset offset: Int64) -> Int32 {
        core.withLock { $0.leaderEpochs.epoch(containing: offset) ?? $0.currentLeaderEpoch }
    }
}

extension LogCore {
    var currentLeaderEpoch: Int32 { leaderEpochs.latestEpoch ?? 0 }

    private var leaderEpochCheckpoint: LeaderEpochCheckpoint {
        LeaderEpochCheckpoint(directory: directory, fileSystem: fileSystem)
    }

    func becomeLeader() throws(StorageError) -> Int32 {
        try ensureOpen()
        let epoch = leaderEpochs.latestEpoch.map { $0 + 1 } ?? 0
        try updateLeaderEpochs { $0.assign(epoch: epoch, startOffset: logEndOffset) }
        return epoch
    }

    /// Records that the batches about to be written at `baseOffset` are of `epoch` (persisted when it is new).
    func assignLeaderEpoch(_ epoch: Int32, startOffset: Int64) throws(StorageError) {
        try updateLeaderEpochs { $0.assign(epoch: epoch, startOffset: startOffset) }
    }

    /// The log start moved: epochs wholly below it are forgotten (Kafka's `truncateFromStart`).
    func leaderEpochsFollowLogStart() throws(StorageError) {
        try updateLeaderEpochs { $0.truncateFromStart(startOffset: logStartOffset) }
    }

    /// Applies `change` and rewrites the checkpoint if it changed anything.
    private func updateLeaderEpochs(_ change: (inout LeaderEpochCache) -> Bool) throws(StorageError) {
        var updated = leaderEpochs
        guard change(&updated) else { return }
        try leaderEpochCheckpoint.write(updated.entries)
        leaderEpochs = updated
    }

    /// Loads the checkpoint, cut to the recovered log (entries below the log start went with deleted segments). A missing or damaged file, or one that does not describe the batches on disk
    /// (data older than its first entry, or a last batch of an epoch it does not place there), is rebuilt from the
    /// batches' partitionLeaderEpoch, as Kafka does when the checkpoint is lost.
    func loadLeaderEpochs() throws(StorageError) {
        let stored = try leaderEpochCheckpoint.read()
        var cache = LeaderEpochCache(entries: stored ?? [])
        // Entries past the log end went with a torn tail. One starting exactly at the log end stays (unlike Kafka,
        // which keeps the current epoch in its controller): a leadership that wrote nothing still counts, or a quiet
        // partition would reuse its epoch after the next start.
        cache.truncateFromEnd(endOffset: logEndOffset + 1)
        cache.truncateFromStart(startOffset: logStartOffset)
        let last = try lastBatch()
        if stored == nil || !leaderEpochs(cache, describe: last) {
            if stored != nil || logEndOffset > logStartOffset {
                logger.warning("leader-epoch checkpoint missing or inconsistent; rebuilding it from the log", metadata: ["log": "\(name)"])
            }
            cache = try rebuiltLeaderEpochs()
        }
        leaderEpochs = cache
        if stored != cache.entries { try leaderEpochCheckpoint.write(cache.entries) }
    }

    private func leaderEpochs(_ cache: LeaderEpochCache, describe last: RecordBatchHeader?) -> Bool {
        guard let last, last.lastOffset >= logStartOffset else { return true }
        guard let first = cache.earliestEntry, first.startOffset <= logStartOffset else { return false }
        return last.partitionLeaderEpoch < 0 || cache.epoch(containing: last.baseOffset) == last.partitionLeaderEpoch
    }

    /// The last batch of the log, nil when the log holds none.
    private func lastBatch() throws(StorageError) -> RecordBatchHeader? {
        for segment in segments.reversed() where !segment.isEmpty {
            if let last = try segment.locate(segment.nextOffset - 1)?.header { return last }
        }
        return nil
    }

    /// Every batch's partitionLeaderEpoch, from the log start (batches of epoch -1 predate leader epochs).
    private func rebuiltLeaderEpochs() throws(StorageError) -> LeaderEpochCache {
        var cache = LeaderEpochCache()
        for segment in segments where segment.nextOffset > logStartOffset {
            var position = 0
            if let located = try segment.locate(logStartOffset) { position = located.position }
            while let header = try segment.header(at: position) {
                if header.partitionLeaderEpoch >= 0 && header.lastOffset >= logStartOffset
                    && (cache.latestEpoch ?? -1) < header.partitionLeaderEpoch {
                    cache.assign(epoch: header.partitionLeaderEpoch, startOffset: max(header.baseOffset, logStartOffset))
                }
                position += header.totalSize
            }
        }
        return cache
    }
}
