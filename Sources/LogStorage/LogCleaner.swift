import FileSystem
import KafkaProtocol
import Logging
import NIOCore
import Timekeeping

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The broker-wide settings of the log cleaner (Kafka's `log.cleaner.*` properties that are not topic defaults).
public struct LogCleanerConfig: Sendable, Equatable {
    /// `log.cleaner.enable`: without it compacted topics are never cleaned (nor deleted by retention).
    public var enabled = true
    /// `log.cleaner.dedupe.buffer.size`: the most memory the key → offset map may take (Kafka's 128 MiB). A cleaning
    /// allocates only what its dirty section can need, so small logs cost little.
    public var dedupeBufferSize = 128 << 20
    /// `log.cleaner.backoff.ms`: the pause when no log needs cleaning.
    public var backoffMs: Int64 = 15_000
    /// `log.cleaner.io.buffer.size`: the read buffer per segment file (grown for a larger batch).
    public var ioBufferSize = 512 << 10

    public init() {}
}

/// What one cleaning did, for the log line and the tests.
public struct CleaningStats: Sendable, Equatable {
    public var bytesRead = 0
    public var bytesWritten = 0
    public var recordsKept = 0
    public var recordsRemoved = 0
    /// Bytes of the dirty section that the offset map covered.
    public var dirtyBytes = 0
    public var segmentsCleaned = 0
    public var mapMemoryBytes = 0
    /// Where the next cleaning of this log starts (the new cleaner checkpoint).
    public var cleanedUpTo: Int64 = 0
}

/// Kafka's log compaction for one log (`Cleaner.doClean`): the pure part of the cleaner, with the file I/O done
/// through the log's ``FileSystem`` and the swap done by the log under its lock.
///
/// 1. Map: the dirty section [first dirty offset, first uncleanable offset) is read segment by segment and every
///    keyed record of a data batch not aborted is put in an ``OffsetMap`` (key digest → latest offset). When the map
///    is full, the cleaning stops at the last whole batch mapped, as Kafka does.
/// 2. Rewrite: every closed segment from the start of the log up to the end of the mapped section is rewritten,
///    consecutive segments grouped up to segment.bytes, through ``CompactionFilter``: a record stays if it is the
///    latest for its key; a tombstone stays until its batch's delete horizon (now + delete.retention.ms, set the
///    first time the cleaner keeps it); aborted transactions' records go, their markers once no data of theirs
///    remains and their horizon passed; the last batch of each active producer stays (maybe empty). Offsets are
///    kept, so a cleaned log has gaps; each cleaned segment also keeps its last batch (emptied if need be), so
///    segments stay contiguous, which recovery relies on to tell a torn log from a compacted one.
/// 3. Swap: ``PartitionLog/replaceSegments(_:)`` under the log's lock. Reads and appends run meanwhile, as the
///    cleaner reads the closed segments' files through its own handles and never holds the lock before the swap.
struct LogCompaction {
    let log: PartitionLog
    let view: CleaningView
    let firstDirtyOffset: Int64
    let cleaner: LogCleanerConfig
    let fileSystem: any FileSystem
    let nowMs: Int64
    /// Checked between segments: a stopping broker does not wait for a whole cleaning.
    let shouldStop: @Sendable () -> Bool

    enum Failure: Error, CustomStringConvertible {
        case storage(StorageError)
        case batch(RecordBatchError, segment: Int64)
        case bufferTooSmall(batchRecords: Int32, capacity: Int)
        case stopped

        var description: String {
            switch self {
            case .storage(let error): return "\(error)"
            case .batch(let error, let segment): return "segment \(segment): \(error)"
            case .bufferTooSmall(let records, let capacity):
                return "log.cleaner.dedupe.buffer.size holds \(capacity) keys, fewer than one batch's \(records) records"
            case .stopped: return "the cleaner is stopping"
            }
        }
    }

    /// The dirty segments: closed, at or above the first dirty offset, wholly below the first uncleanable offset.
    var dirtySegments: [CleanableSegment] {
        view.segments.filter { $0.nextOffset > firstDirtyOffset && $0.nextOffset <= view.firstUncleanableOffset }
    }

    func run() throws(Failure) -> CleaningStats {
        var stats = CleaningStats()
        let dirty = dirtySegments
        let expectedKeys = Int(min(Int64(Int.max / 2), dirty.reduce(Int64(0)) { $0 + ($1.nextOffset - max($1.baseOffset, firstDirtyOffset)) }))
        var map = OffsetMap(memory: cleaner.dedupeBufferSize, expectedKeys: expectedKeys)
        stats.mapMemoryBytes = map.memoryBytes
        let mapEnd = try buildMap(&map, over: dirty, stats: &stats)
        stats.cleanedUpTo = mapEnd
        let filter = CompactionFilter(
            nowMs: nowMs, deleteRetentionMs: view.config.deleteRetentionMs, lastBatchOfProducer: view.lastBatchOfProducer,
            mapEnd: mapEnd)
        var transactions = CleanerTransactions(aborted: view.abortedTransactions)
        for group in groups(upTo: mapEnd) {
            if shouldStop() { throw .stopped }
            let replaced = try rewrite(group, filter: filter, map: map, transactions: &transactions, stats: &stats)
            if !replaced {
                // The log changed under the cleaner (retention, DeleteRecords): what this group held is still dirty,
                // so the next cleaning maps it again.
                stats.cleanedUpTo = min(mapEnd, max(firstDirtyOffset, group[0].baseOffset))
                break
            }
            stats.segmentsCleaned += group.count
        }
        return stats
    }

    /// Fills `map` from the dirty segments; returns the offset the map covers up to.
    private func buildMap(_ map: inout OffsetMap, over dirty: [CleanableSegment], stats: inout CleaningStats) throws(Failure) -> Int64 {
        // Only transactions ending in the dirty section: an older one of the same producer must not make its later
        // batches look aborted (Kafka's collectAbortedTransactions from the start offset).
        var transactions = CleanerTransactions(aborted: view.abortedTransactions.filter { $0.lastOffset >= firstDirtyOffset })
        var end = firstDirtyOffset
        for segment in dirty {
            if shouldStop() { throw .stopped }
            var full = false
            try forEachBatch(in: segment) { (batch, header) throws(Failure) -> Bool in
                if header.nextOffset <= firstDirtyOffset { return true }
                if header.isControl {
                    _ = transactions.controlBatch(header, kind: ControlRecord(controlBatch: batch)?.kind)
                } else if !transactions.isAborted(header) {
                    let capacity = Int(Double(map.slots) * OffsetMap.loadFactor)
                    if map.size + Int(header.recordCount) > capacity {
                        guard end > firstDirtyOffset else {
                            throw .bufferTooSmall(batchRecords: header.recordCount, capacity: capacity)
                        }
                        full = true
                        return false
                    }
                    try putKeys(of: batch, header: header, into: &map)
                }
                stats.dirtyBytes += header.totalSize
                end = header.nextOffset
                return true
            }
            if full { break }
            end = segment.nextOffset
        }
        return end
    }

    private func putKeys(of batch: UnsafeRawBufferPointer, header: RecordBatchHeader, into map: inout OffsetMap) throws(Failure) {
        let area = UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.size..<header.totalSize])
        let plain: ByteBuffer
        do { plain = try header.compression.decompress(area) } catch { throw .batch(error, segment: header.baseOffset) }
        let ok = plain.withUnsafeReadableBytes { bytes -> Bool in
            guard let records = cleanerRecords(bytes, count: Int(header.recordCount)) else { return false }
            for record in records {
                guard let key = record.key else { continue }
                map.put(key: UnsafeRawBufferPointer(rebasing: bytes[key]), offset: header.baseOffset + Int64(record.offsetDelta))
            }
            return true
        }
        if !ok { throw .batch(.badRecord(index: 0, reason: "unreadable record"), segment: header.baseOffset) }
    }

    /// The closed segments from the start of the log that overlap [.., mapEnd), in groups that each fit one segment
    /// (segment.bytes, the index size, 32-bit relative offsets), as Kafka's `groupSegmentsBySize`.
    func groups(upTo mapEnd: Int64) -> [[CleanableSegment]] {
        let cleanable = view.segments.filter { $0.baseOffset < mapEnd }
        let maxIndexEntries = view.config.segmentIndexBytes / 12
        var groups: [[CleanableSegment]] = []
        var current: [CleanableSegment] = []
        var size = 0
        for segment in cleanable {
            let fits = !current.isEmpty && size + segment.size <= view.config.segmentBytes
                && segment.nextOffset - 1 - current[0].baseOffset <= Int64(Int32.max)
                && (size + segment.size) / max(view.config.indexIntervalBytes, 1) < maxIndexEntries
            if !current.isEmpty && !fits {
                groups.append(current)
                current = []
                size = 0
            }
            current.append(segment)
            size += segment.size
        }
        if !current.isEmpty { groups.append(current) }
        return groups
    }

    /// Writes the group's compacted segment as `.cleaned` files and has the log swap it in.
    private func rewrite(
        _ group: [CleanableSegment], filter: CompactionFilter, map: borrowing OffsetMap,
        transactions: inout CleanerTransactions, stats: inout CleaningStats
    ) throws(Failure) -> Bool {
        let directory = log.directory
        let base = group[0].baseOffset
        let cleaned: Segment
        do {
            cleaned = try Segment.createCleaned(
                fileSystem: fileSystem, directory: directory, baseOffset: base, config: view.config, nowMs: nowMs)
        } catch { throw .storage(error) }
        var vectors: [iovec] = []
        var success = false
        defer {
            cleaned.close()
            if !success {
                let stem = directory + "/" + Segment.fileName(base, "")
                for ext in Segment.fileExtensions { try? fileSystem.remove(stem + ext + Segment.cleanedSuffix) }
            }
        }
        for (index, segment) in group.enumerated() {
            if shouldStop() { throw .stopped }  // the `.cleaned` files go with the defer above
            let isLast = index == group.count - 1
            try forEachBatch(in: segment) { (batch, header) throws(Failure) -> Bool in
                let keepEmpty = isLast && header.nextOffset == segment.nextOffset
                let outcome: CompactionFilter.Outcome
                do throws(RecordBatchError) {
                    outcome = try filter.filter(batch, header: header, map: map, transactions: &transactions, keepEmpty: keepEmpty)
                } catch { throw .batch(error, segment: segment.baseOffset) }
                stats.bytesRead += header.totalSize
                stats.recordsKept += outcome.keptRecords
                stats.recordsRemoved += outcome.removedRecords
                guard var bytes = outcome.bytes else { return true }
                let written = RecordBatchHeader(bytes)!
                do throws(StorageError) {
                    try bytes.withUnsafeMutableReadableBytes { raw in
                        vectors.removeAll(keepingCapacity: true)
                        vectors.append(iovec(iov_base: raw.baseAddress!, iov_len: raw.count))
                        return Result { () throws(StorageError) in
                            try cleaned.append(&vectors, byteCount: raw.count, batches: [written])
                        }
                    }.get()
                    if let aborted = outcome.aborted, header.isControl {
                        if let failure = cleaned.txnIndex.append(aborted) { throw failure }
                    }
                } catch { throw .storage(error) }
                stats.bytesWritten += written.totalSize
                return true
            }
        }
        do {
            try cleaned.closeForAppends()
            try cleaned.flush()
            try cleaned.offsetIndex.file.flush()
            try cleaned.timeIndex.file.flush()
            // Every cleaned segment has all four files, so a swap never leaves an old `.txnindex` behind.
            let txnPath = directory + "/" + Segment.fileName(base, ".txnindex" + Segment.cleanedSuffix)
            if !fileSystem.exists(txnPath) {
                try io { () throws(FileSystemError) in
                    let file = try fileSystem.open(txnPath, .create)
                    defer { file.close() }
                    try file.sync()
                }
            }
            cleaned.close()
            success = try log.replaceSegments(group)
        } catch { throw .storage(error) }
        return success
    }

    /// Calls `body` with each whole batch of the segment's file (read through a buffer of log.cleaner.io.buffer.size,
    /// grown for a larger batch) until it returns false. The file is read through a handle of its own: the segment
    /// is closed and immutable, and the log's lock is not taken.
    private func forEachBatch(
        in segment: CleanableSegment, _ body: (UnsafeRawBufferPointer, RecordBatchHeader) throws(Failure) -> Bool
    ) throws(Failure) {
        let path = log.directory + "/" + Segment.fileName(segment.baseOffset, ".log")
        let file: any OpenFile
        do { file = try io { () throws(FileSystemError) in try fileSystem.open(path, .read) } } catch { throw .storage(error) }
        defer { file.close() }
        var buffer = [UInt8](repeating: 0, count: max(cleaner.ioBufferSize, RecordBatchHeader.size))
        var bufferStart = 0
        var bufferCount = 0
        var position = 0
        func fill(from start: Int, count: Int) throws(Failure) {
            if buffer.count < count { buffer = [UInt8](repeating: 0, count: count) }
            var read = 0
            var failure: FileSystemError?
            buffer.withUnsafeMutableBytes { raw in
                do throws(FileSystemError) { read = try file.read(into: raw, at: start) } catch { failure = error }
            }
            if let failure { throw .storage(StorageError(failure)) }
            bufferStart = start
            bufferCount = read
        }
        while position < segment.size {
            if position + RecordBatchHeader.size > bufferStart + bufferCount { try fill(from: position, count: buffer.count) }
            guard position + RecordBatchHeader.size <= bufferStart + bufferCount else { break }
            let header = buffer.withUnsafeBytes { RecordBatchHeader(UnsafeRawBufferPointer(rebasing: $0[(position - bufferStart)...]))! }
            guard header.batchLength > 0, position + header.totalSize <= segment.size else { break }
            if position + header.totalSize > bufferStart + bufferCount {
                try fill(from: position, count: max(buffer.count, header.totalSize))
                guard header.totalSize <= bufferCount else { break }
            }
            let keepGoing = try buffer.withUnsafeBytes { raw in
                let start = position - bufferStart
                return Result { () throws(Failure) -> Bool in
                    try body(UnsafeRawBufferPointer(rebasing: raw[start..<(start + header.totalSize)]), header)
                }
            }.get()
            if !keepGoing { return }
            position += header.totalSize
        }
    }
}
