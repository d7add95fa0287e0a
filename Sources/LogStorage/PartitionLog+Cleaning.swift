import FileSystem
import KafkaProtocol
import Logging
import NIOCore

/// A closed segment as the cleaner sees it: enough to read its file without the log's lock and to check, at the
/// swap, that it is still the same segment.
struct CleanableSegment: Sendable, Equatable {
    let baseOffset: Int64
    /// One past its last offset.
    let nextOffset: Int64
    let size: Int
    /// Largest record timestamp (-1 when none), for min/max.compaction.lag.ms.
    let maxTimestamp: Int64
    /// Max timestamp of its first batch, else its creation time: the age of its oldest dirty data.
    let firstTimestamp: Int64
    let identity: ObjectIdentifier
}

/// What the cleaner needs to know about a log, taken under its lock in one go.
struct CleaningView: Sendable {
    let config: LogConfig
    /// The closed segments (never the active one), oldest first.
    let segments: [CleanableSegment]
    let logStartOffset: Int64
    /// Kafka's first uncleanable offset: the smallest of the active segment's base, the base of the first segment
    /// with a record newer than min.compaction.lag.ms, and the first unstable offset (open transactions).
    let firstUncleanableOffset: Int64
    /// Every aborted transaction in the transaction indexes.
    let abortedTransactions: [AbortedTransaction]
    /// Per producer still remembered, the last offset of its last data batch (kept through cleaning).
    let lastBatchOfProducer: [Int64: Int64]
}

extension PartitionLog {
    /// The log as the cleaner needs it; nil when it is closed.
    func cleaningView(nowMs: Int64) -> CleaningView? {
        core.withLock { $0.cleaningView(nowMs: nowMs) }
    }

    /// For a compacted topic, rolls an active segment that has held data for segment.ms, so that it becomes
    /// cleanable even when nothing more is written. Kafka rolls only on the next append, which leaves the latest
    /// records of a quiet compacted topic uncleaned forever; ledgerstream's maintenance rolls it instead.
    /// Returns whether it rolled.
    @discardableResult
    public func rollIfIdleForCompaction() throws(StorageError) -> Bool {
        try core.withLock { (core) throws(StorageError) -> Bool in
            try health.writing { () throws(StorageError) -> Bool in try core.rollIfIdleForCompaction() }
        }
    }

    /// The cleaner's commit: replaces the consecutive closed segments `replaced` (still exactly these, or nothing is
    /// done and false returned) by the compacted segment written as `<base>.*.cleaned` files, on disk as Kafka does
    /// (`.cleaned` → `.swap`, old segments → `.deleted`, `.swap` → final names; an open finishes or drops a swap
    /// interrupted at any step) and in memory, under the lock.
    func replaceSegments(_ replaced: [CleanableSegment]) throws(StorageError) -> Bool {
        try core.withLock { (core) throws(StorageError) -> Bool in
            try health.writing { () throws(StorageError) -> Bool in try core.replaceSegments(replaced) }
        }
    }
}

extension LogCore {
    /// Kafka refuses a record without a key on a compacted topic (it could never be compacted away): the produce
    /// fails with INVALID_RECORD and nothing of it is written.
    static func requireKeys(_ records: ByteBuffer, headers: [RecordBatchHeader], log: String) throws(RecordBatchError) {
        var position = records.readerIndex
        var index = 0
        for header in headers {
            defer { position += header.totalSize }
            let parsed = try records.withUnsafeReadableBytes { bytes in
                Result { () throws(RecordBatchError) -> [CleanerRecord]? in
                    let start = position - records.readerIndex
                    let area = UnsafeRawBufferPointer(rebasing: bytes[(start + RecordBatchHeader.size)..<(start + header.totalSize)])
                    let plain = try header.compression.decompress(area)
                    return plain.withUnsafeReadableBytes { cleanerRecords($0, count: Int(header.recordCount)) }
                }
            }.get()
            guard let parsed else { throw .badRecord(index: index, reason: "malformed record") }
            if let missing = parsed.firstIndex(where: { $0.key == nil }) {
                throw .badRecord(index: index + missing, reason: "Compacted topic cannot accept message without key in topic partition \(log).")
            }
            index += parsed.count
        }
    }

    func cleaningView(nowMs: Int64) -> CleaningView? {
        guard (try? ensureOpen()) != nil else { return nil }
        let closed = segments.dropLast().map { segment in
            CleanableSegment(
                baseOffset: segment.baseOffset, nextOffset: segment.nextOffset, size: segment.size,
                maxTimestamp: segment.maxTimestamp, firstTimestamp: segment.firstBatchTimestamp.flatMap { $0 >= 0 ? $0 : nil } ?? segment.createdMs,
                identity: ObjectIdentifier(segment))
        }
        var uncleanable = active.baseOffset
        if let unstable = producerState.firstUnstableOffset { uncleanable = min(uncleanable, unstable) }
        if config.minCompactionLagMs > 0 {
            let cutoff = nowMs &- config.minCompactionLagMs
            if let young = closed.first(where: { $0.maxTimestamp > cutoff }) { uncleanable = min(uncleanable, young.baseOffset) }
        }
        var lastBatches: [Int64: Int64] = [:]
        for (pid, entry) in producerState.activeProducers {
            if let last = entry.batches.last { lastBatches[pid] = last.lastOffset }
        }
        return CleaningView(
            config: config, segments: closed, logStartOffset: logStartOffset, firstUncleanableOffset: uncleanable,
            abortedTransactions: segments.flatMap(\.txnIndex.entries), lastBatchOfProducer: lastBatches)
    }

    func rollIfIdleForCompaction() throws(StorageError) -> Bool {
        try ensureOpen()
        let now = clock.wallClockMs()
        guard config.cleanupPolicy.compact, !active.isEmpty, now - active.createdMs >= config.segmentMs else { return false }
        try roll(at: logEndOffset, nowMs: now)
        return true
    }

    func replaceSegments(_ replaced: [CleanableSegment]) throws(StorageError) -> Bool {
        try ensureOpen()
        guard let first = replaced.first,
              let start = segments.firstIndex(where: { ObjectIdentifier($0) == first.identity }),
              start + replaced.count < segments.count,
              zip(segments[start..<(start + replaced.count)], replaced).allSatisfy({ ObjectIdentifier($0) == $1.identity })
        else { return false }
        let base = first.baseOffset
        let stem = directory + "/" + Segment.fileName(base, "")
        let extensions = Segment.fileExtensions
        func path(_ offset: Int64, _ ext: String) -> String { directory + "/" + Segment.fileName(offset, ext) }
        try io { () throws(FileSystemError) in
            // 1. The commit point: `.log.swap` last, once every index is in place beside it. (`.log` comes first in
            // `extensions`: renamed first, a crash before the indexes followed would leave a `.log.swap` that the next
            // open completes with the old first segment's indexes, its `.txnindex` naming aborted transactions whose
            // markers the cleaning removed, which would hide the producer's later committed data from read_committed.)
            for ext in extensions.dropFirst() + [".log"] {
                try fileSystem.rename(stem + ext + Segment.cleanedSuffix, stem + ext + Segment.swapSuffix)
            }
            try fileSystem.syncDirectory(directory)
        }
        let old = Array(segments[start..<(start + replaced.count)])
        for segment in old { try segment.markDeleted() }
        try io { () throws(FileSystemError) in
            // 2. The old segments leave the log (the first one's indexes are replaced by the renames below).
            for segment in old where segment.baseOffset != base {
                for ext in extensions.dropFirst() { try fileSystem.remove(path(segment.baseOffset, ext)) }
            }
            try fileSystem.syncDirectory(directory)
            // 3. The compacted segment takes its final names, `.log` last.
            for ext in extensions.dropFirst() + [".log"] { try fileSystem.rename(stem + ext + Segment.swapSuffix, stem + ext) }
            try fileSystem.syncDirectory(directory)
        }
        for segment in old { segment.close() }
        let (cleaned, _, _) = try Segment.open(
            fileSystem: fileSystem, directory: directory, baseOffset: base, config: config, active: false, trusted: true,
            nowMs: clock.wallClockMs())
        segments.replaceSubrange(start..<(start + replaced.count), with: [cleaned])
        try io { () throws(FileSystemError) in
            for segment in old { try fileSystem.remove(path(segment.baseOffset, ".log.deleted")) }
        }
        return true
    }

    /// Finishes a cleaner swap that a crash interrupted: for every `<base>.log.swap`, the segments it replaces (base
    /// offsets in [base, its next offset)) are removed and the `.swap` files take their final names. Without a
    /// `.log.swap` the swap had not begun; its files are removed with the other leftovers.
    static func completeInterruptedSwaps(
        name: String, directory: String, fileSystem: any FileSystem, logger: Logger
    ) throws(StorageError) {
        let names = try io { () throws(FileSystemError) in try fileSystem.listDirectory(directory) }
        let swapped = names.compactMap { Segment.baseOffset(ofFileName: $0, suffix: ".log" + Segment.swapSuffix) }
        guard !swapped.isEmpty else { return }
        for base in swapped {
            let stem = directory + "/" + Segment.fileName(base, "")
            let end = try nextOffset(ofSegmentFile: stem + ".log" + Segment.swapSuffix, baseOffset: base, fileSystem: fileSystem)
            let bases = names.compactMap { Segment.baseOffset(ofFileName: $0) }.filter { $0 >= base && $0 < end }
            try io { () throws(FileSystemError) in
                for old in bases {
                    let oldStem = directory + "/" + Segment.fileName(old, "")
                    // The first one's indexes are either still waiting as `.swap` files (renamed over below) or
                    // already the compacted segment's.
                    for ext in Segment.fileExtensions where old != base || ext == ".log" { try fileSystem.remove(oldStem + ext) }
                }
                for ext in Segment.fileExtensions.dropFirst() + [".log"] where fileSystem.exists(stem + ext + Segment.swapSuffix) {
                    try fileSystem.rename(stem + ext + Segment.swapSuffix, stem + ext)
                }
                try fileSystem.syncDirectory(directory)
            }
            logger.notice("completed an interrupted compaction swap", metadata: [
                "log": "\(name)", "segment": "\(Segment.fileName(base, ".log"))", "replacedSegments": "\(bases.count)",
            ])
        }
    }

    /// One past the last offset of a segment file, from its batch headers (a torn tail ends the walk).
    static func nextOffset(ofSegmentFile path: String, baseOffset: Int64, fileSystem: any FileSystem) throws(StorageError) -> Int64 {
        let file = try io { () throws(FileSystemError) in try fileSystem.open(path, .read) }
        defer { file.close() }
        let size = try io { () throws(FileSystemError) in try file.size() }
        var position = 0
        var next = baseOffset
        while position + RecordBatchHeader.size <= size {
            let bytes = try io { () throws(FileSystemError) in try file.read(count: RecordBatchHeader.size, at: position) }
            guard let header = bytes.withUnsafeBytes({ RecordBatchHeader($0) }), header.batchLength > 0,
                  position + header.totalSize <= size
            else { break }
            next = header.nextOffset
            position += header.totalSize
        }
        return next
    }
}
