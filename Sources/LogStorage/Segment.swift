import FileSystem
import KafkaProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One segment of a partition log: `<base offset>.log` plus its `.index`, `.timeindex` and (once a transaction
/// aborts in it) `.txnindex`, all named by the base offset zero-padded to 20 digits so that `ls` sorts them (Kafka's
/// `LogFileUtils`).
///
/// Invariants: batches are stored back to back with strictly increasing offsets, all >= `baseOffset`, and every
/// offset fits the 32-bit relative offset of index entries; `nextOffset` is one past the last stored offset;
/// index entries point at batch starts.
///
/// Not thread-safe: owned by a ``PartitionLog`` and used under its lock.
final class Segment {
    let baseOffset: Int64
    let directory: String
    let fileSystem: any FileSystem
    let log: LogFile
    let offsetIndex: OffsetIndex
    let timeIndex: TimeIndex
    /// Transactions aborted by a marker in this segment.
    let txnIndex: TransactionIndex
    private let indexIntervalBytes: Int

    /// One past the last offset stored here (`baseOffset` when empty).
    private(set) var nextOffset: Int64
    /// Largest batch max-timestamp seen, and the last offset of the batch that carried it (-1 when empty).
    private(set) var maxTimestamp: Int64 = -1
    private(set) var offsetOfMaxTimestamp: Int64 = -1
    /// Max timestamp of the first batch: segment.ms rolls count from it, as Kafka's rollingBasedTimestamp does.
    private(set) var firstBatchTimestamp: Int64?
    private var bytesSinceLastIndexEntry = 0
    /// Wall-clock time of the first append in this process, for segment.ms when batches carry old timestamps.
    private(set) var createdMs: Int64

    var size: Int { log.size }
    var isEmpty: Bool { log.size == 0 }

    static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// Parses a segment file name back into its base offset (nil for anything else).
    static func baseOffset(ofFileName name: String, suffix: String = ".log") -> Int64? {
        guard name.hasSuffix(suffix) else { return nil }
        let stem = name.dropLast(suffix.count)
        guard stem.count == 20, stem.allSatisfy(\.isNumber) else { return nil }
        return Int64(stem)
    }

    /// - Parameter fileSuffix: appended to every file name (`.cleaned` for a segment the cleaner is writing).
    private init(
        fileSystem: any FileSystem, directory: String, baseOffset: Int64, config: LogConfig, active: Bool, nowMs: Int64,
        fileSuffix: String = ""
    ) throws(StorageError) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.baseOffset = baseOffset
        self.indexIntervalBytes = config.indexIntervalBytes
        self.nextOffset = baseOffset
        self.createdMs = nowMs
        let path = directory + "/" + Segment.fileName(baseOffset, "")
        log = try LogFile(
            fileSystem: fileSystem, path: path + ".log" + fileSuffix,
            reserveBytes: active ? config.segmentBytes + config.maxMessageBytes : 0)
        let preallocate = active ? config.segmentIndexBytes : nil
        offsetIndex = try OffsetIndex(
            fileSystem: fileSystem, path: path + ".index" + fileSuffix, baseOffset: baseOffset, preallocateTo: preallocate)
        timeIndex = try TimeIndex(
            fileSystem: fileSystem, path: path + ".timeindex" + fileSuffix, baseOffset: baseOffset, preallocateTo: preallocate)
        txnIndex = try TransactionIndex(fileSystem: fileSystem, path: path + ".txnindex" + fileSuffix, baseOffset: baseOffset)
    }

    /// Creates an empty segment (files are created, indexes preallocated).
    static func create(
        fileSystem: any FileSystem, directory: String, baseOffset: Int64, config: LogConfig, nowMs: Int64
    ) throws(StorageError) -> Segment {
        let segment = try Segment(
            fileSystem: fileSystem, directory: directory, baseOffset: baseOffset, config: config, active: true, nowMs: nowMs)
        if !segment.isEmpty {
            // A leftover file with this name (e.g. from a crash during a roll) is not part of the log any more.
            try segment.truncate(toOffset: baseOffset)
        }
        return segment
    }

    /// Creates the empty `<base>.*.cleaned` files the cleaner writes a compacted segment into (any leftover ones are
    /// emptied first). Appends index the batches as for an active segment.
    static func createCleaned(
        fileSystem: any FileSystem, directory: String, baseOffset: Int64, config: LogConfig, nowMs: Int64
    ) throws(StorageError) -> Segment {
        let stem = directory + "/" + fileName(baseOffset, "")
        for ext in fileExtensions {
            try io { () throws(FileSystemError) in try fileSystem.remove(stem + ext + cleanedSuffix) }
        }
        return try Segment(fileSystem: fileSystem, directory: directory, baseOffset: baseOffset, config: config,
                           active: true, nowMs: nowMs, fileSuffix: cleanedSuffix)
    }

    /// The files of a segment, by extension; a segment always has the first three, the `.txnindex` once needed.
    static let fileExtensions = [".log", ".index", ".timeindex", ".txnindex"]
    /// Files the cleaner is still writing (Kafka's `CleanedFileSuffix`): not part of the log, removed on open.
    static let cleanedSuffix = ".cleaned"
    /// Files of a compacted segment that replace the originals (Kafka's `SwapFileSuffix`): an open finishes the swap.
    static let swapSuffix = ".swap"

    /// Opens an existing segment.
    ///
    /// With `trusted` (the segment is below the recovery point, or the log was shut down cleanly) its contents are
    /// believed: only the indexes are sanity-checked (and rebuilt if damaged) and the tail after the last index
    /// entry is scanned to learn the next offset and max timestamp. Otherwise every batch is validated and a bad
    /// tail cut off (``recover(onBatch:)``).
    static func open(
        fileSystem: any FileSystem, directory: String, baseOffset: Int64, config: LogConfig, active: Bool, trusted: Bool,
        nowMs: Int64
    ) throws(StorageError) -> (segment: Segment, rebuiltIndex: Bool, droppedBytes: Int) {
        let segment = try Segment(
            fileSystem: fileSystem, directory: directory, baseOffset: baseOffset, config: config, active: active, nowMs: nowMs)
        if !trusted {
            let dropped = try segment.recover(onBatch: { _, _ in })
            return (segment, false, dropped)
        }
        let tailIsSound = try segment.loadTail()
        if !segment.offsetIndex.isSane(logSize: segment.size) || !segment.timeIndex.isSane() || !tailIsSound {
            let dropped = try segment.recover(onBatch: { _, _ in })
            return (segment, true, dropped)
        }
        return (segment, false, 0)
    }

    /// Learns nextOffset, maxTimestamp and firstBatchTimestamp by scanning from the last index entry to the end.
    /// Returns false if the scan does not end exactly at the end of the file (the segment is damaged).
    private func loadTail() throws(StorageError) -> Bool {
        guard !isEmpty else { return true }
        if let first = try header(at: 0) { firstBatchTimestamp = first.maxTimestamp }
        if let last = timeIndex.lastTimestamp {
            maxTimestamp = last
            offsetOfMaxTimestamp = timeIndex.offset(at: timeIndex.entryCount - 1)
        }
        var position = offsetIndex.entryCount == 0 ? 0 : offsetIndex.position(at: offsetIndex.entryCount - 1)
        var sinceIndex = 0
        while position < size, let header = try header(at: position) {
            guard header.baseOffset >= nextOffset, header.lastOffsetDelta >= 0 else { return false }
            noteTimestamp(header)
            nextOffset = header.nextOffset
            sinceIndex += header.totalSize
            position += header.totalSize
        }
        bytesSinceLastIndexEntry = sinceIndex
        return position == size
    }

    /// The header of the batch at `position`, or nil if no whole, plausibly framed batch starts there (fewer than
    /// 61 bytes left, or a length that is too small or runs past the end). Callers treat nil as the end of the data;
    /// only recovery looks further (at the CRC).
    func header(at position: Int) throws(StorageError) -> RecordBatchHeader? {
        guard position >= 0, position + RecordBatchHeader.size <= size else { return nil }
        guard let header = RecordBatchHeader(try log.bytes(from: position, count: RecordBatchHeader.size)),
              header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.lengthFieldEnd),
              position + header.totalSize <= size
        else { return nil }
        return header
    }

    private func noteTimestamp(_ header: RecordBatchHeader) {
        if header.maxTimestamp > maxTimestamp {
            maxTimestamp = header.maxTimestamp
            offsetOfMaxTimestamp = header.lastOffset
        }
    }

    /// Whether appending `bytes` more (with last offset `lastOffset` and max timestamp `maxTimestamp`) requires a new
    /// segment first. Time-based rolling follows Kafka: it compares the incoming batch's timestamp with the segment's
    /// first batch timestamp (so replaying old data does not roll on every append), and falls back to wall-clock time
    /// since creation when the segment has no timestamps.
    func needsRoll(forAppending bytes: Int, lastOffset: Int64, maxTimestamp incoming: Int64, config: LogConfig, nowMs: Int64) -> Bool {
        guard !isEmpty else { return false }
        if size + bytes > config.segmentBytes { return true }
        if offsetIndex.isFull || timeIndex.isFull { return true }
        if lastOffset - baseOffset > Int64(UInt32.max) { return true }
        let waited: Int64
        if let first = firstBatchTimestamp, first >= 0 {
            waited = incoming - first
        } else {
            waited = nowMs - createdMs
        }
        return waited >= config.segmentMs
    }

    /// Appends already-validated batches (headers rewritten with their offsets) given as iovecs.
    /// `batches` lists each batch's header and size in order; `byteCount` is their total size.
    func append(_ vectors: inout [iovec], byteCount: Int, batches: [RecordBatchHeader]) throws(StorageError) {
        precondition(!batches.isEmpty && batches[0].baseOffset >= nextOffset, "offsets must increase")
        var position = size
        try log.append(&vectors, byteCount: byteCount)
        for header in batches {
            indexBatch(header, at: position)
            position += header.totalSize
        }
    }

    /// Index bookkeeping for a batch stored at `position` (shared by append and recovery).
    private func indexBatch(_ header: RecordBatchHeader, at position: Int) {
        if firstBatchTimestamp == nil { firstBatchTimestamp = header.maxTimestamp }
        noteTimestamp(header)
        // An entry the disk has no room for is left out (the index is sparse) and tried again at the next batch.
        if bytesSinceLastIndexEntry > indexIntervalBytes && !offsetIndex.isFull
            && offsetIndex.append(offset: header.lastOffset, position: position) {
            timeIndex.maybeAppend(timestamp: maxTimestamp, offset: offsetOfMaxTimestamp)
            bytesSinceLastIndexEntry = 0
        }
        bytesSinceLastIndexEntry += header.totalSize
        nextOffset = header.nextOffset
    }

    /// Validates every batch from the start (length, magic, CRC, increasing offsets), rebuilds both indexes, and cuts
    /// the file after the last valid batch. `onBatch` sees each valid batch (producer state rebuild).
    /// Returns the number of bytes dropped.
    func recover(onBatch: (RecordBatchHeader, Int) -> Void) throws(StorageError) -> Int {
        offsetIndex.reset()
        timeIndex.reset()
        // Derived from the control batches; the log's producer-state replay writes it again.
        try txnIndex.truncate(toMarkersBelow: baseOffset)
        nextOffset = baseOffset
        maxTimestamp = -1
        offsetOfMaxTimestamp = -1
        firstBatchTimestamp = nil
        bytesSinceLastIndexEntry = 0
        let physical = log.physicalSize
        log.setLogicalSize(physical)
        var position = 0
        while position < physical {
            let remaining = physical - position
            let view = try log.bytes(from: position, count: min(remaining, RecordBatchHeader.size))
            guard remaining >= RecordBatchHeader.size, let peek = RecordBatchHeader(view),
                  peek.batchLength > 0, peek.totalSize <= remaining
            else { break }
            let batchBytes = try log.bytes(from: position, count: peek.totalSize)
            guard let header = try? RecordBatchValidator.validateFrame(batchBytes, at: 0),
                  header.baseOffset >= nextOffset,
                  header.lastOffsetDelta >= 0,
                  header.lastOffset - baseOffset <= Int64(UInt32.max)
            else { break }
            indexBatch(header, at: position)
            onBatch(header, position)
            position += header.totalSize
        }
        let dropped = physical - position
        if dropped > 0 { try log.truncate(to: position) }
        return dropped
    }

    /// Finds the first batch whose last offset is >= `offset`, starting from the index; nil if the segment has
    /// none (the offset is past this segment's data).
    func locate(_ offset: Int64) throws(StorageError) -> (position: Int, header: RecordBatchHeader)? {
        var position = offset <= baseOffset ? 0 : offsetIndex.lookup(offset).position
        while let header = try header(at: position) {
            if header.lastOffset >= offset { return (position, header) }
            position += header.totalSize
        }
        return nil
    }

    /// Whole batches starting with the one containing `offset`, as many as fit in `maxBytes` but at least one
    /// (KIP-74: a consumer must always be able to make progress past a batch larger than its limit), and only
    /// batches ending below `limit` (the last stable offset, for read_committed). `nextOffset` follows the last one.
    func read(
        from offset: Int64, maxBytes: Int, below limit: Int64 = .max
    ) throws(StorageError) -> (position: Int, length: Int, first: RecordBatchHeader, nextOffset: Int64)? {
        guard let (start, first) = try locate(offset), first.lastOffset < limit else { return nil }
        var end = start + first.totalSize
        var nextOffset = first.nextOffset
        while end < size, let next = try header(at: end), next.lastOffset < limit, end + next.totalSize - start <= maxBytes {
            end += next.totalSize
            nextOffset = next.nextOffset
        }
        return (start, end - start, first, nextOffset)
    }

    /// The first offset whose record timestamp is >= `timestamp`, with that timestamp; nil if no record here is that
    /// new. Records of uncompressed batches are inspected one by one; for compressed batches the batch's base
    /// offset is returned (their records cannot be read without decompressing).
    func offset(forTimestamp timestamp: Int64, atLeast minimumOffset: Int64) throws(StorageError) -> (offset: Int64, timestamp: Int64)? {
        guard maxTimestamp >= timestamp else { return nil }
        var position = 0
        if let entry = timeIndex.lookupStrictlyBelow(timestamp) {
            position = offsetIndex.lookup(entry.offset).position
        }
        while let header = try header(at: position) {
            if header.maxTimestamp >= timestamp && header.lastOffset >= minimumOffset {
                let batch = try log.bytes(from: position, count: header.totalSize)
                if let found = RecordTimestamps.first(atLeast: timestamp, minimumOffset: minimumOffset, in: batch, header: header) {
                    return found
                }
            }
            position += header.totalSize
        }
        return nil
    }

    /// Removes every batch at or after `offset` (only ever used on a segment being reset).
    func truncate(toOffset offset: Int64) throws(StorageError) {
        var position = 0
        if offset > baseOffset, let (start, header) = try locate(offset) {
            position = header.baseOffset >= offset ? start : start + header.totalSize
        } else if offset > baseOffset {
            position = size
        }
        try log.truncate(to: position)
        offsetIndex.truncate(toPositionBelow: position)
        timeIndex.truncate(toOffsetBelow: offset)
        _ = try recover(onBatch: { _, _ in })
    }

    /// The segment stops accepting appends: indexes are trimmed to their entries, and the log file's reserved blocks
    /// given back.
    func closeForAppends() throws(StorageError) {
        try log.releaseReservation()
        try offsetIndex.file.trimToEntries()
        try timeIndex.file.trimToEntries()
    }

    /// Makes the segment accept appends again (reopened as the active segment).
    func reopenForAppends(config: LogConfig) throws(StorageError) {
        try offsetIndex.file.preallocate(to: config.segmentIndexBytes)
        try timeIndex.file.preallocate(to: config.segmentIndexBytes)
    }

    func flush() throws(StorageError) {
        try log.flush()
        try txnIndex.flush()
    }

    func close() {
        log.close()
        offsetIndex.file.close()
        timeIndex.file.close()
        txnIndex.close()
    }

    /// Takes the segment out of the log on disk by renaming its `.log` file to `.log.deleted` (Kafka's
    /// asynchronous delete does the same): one atomic step, so a failure leaves the segment either whole or gone,
    /// never a leftover `.log` behind a gap. The rename is durable once the directory is synced.
    func markDeleted() throws(StorageError) {
        let path = directory + "/" + Segment.fileName(baseOffset, ".log")
        try io { () throws(FileSystemError) in try fileSystem.rename(path, path + ".deleted") }
    }

    /// Closes and unlinks the segment's files (after ``markDeleted()``). Open FileSlices keep the data readable
    /// until they are released; files a failure leaves behind are removed when the log is next opened.
    func delete() throws(StorageError) {
        close()
        let path = directory + "/" + Segment.fileName(baseOffset, "")
        try io { () throws(FileSystemError) in
            try fileSystem.remove(path + ".log.deleted")
            try fileSystem.remove(path + ".index")
            try fileSystem.remove(path + ".timeindex")
        }
        try txnIndex.delete()
    }
}

/// Reading record timestamps inside a batch (decompressing a compressed one).
enum RecordTimestamps {
    static func first(
        atLeast target: Int64, minimumOffset: Int64, in batch: UnsafeRawBufferPointer, header: RecordBatchHeader
    ) -> (offset: Int64, timestamp: Int64)? {
        // LogAppendTime batches carry one broker timestamp for all records.
        let whole = (max(header.baseOffset, minimumOffset), header.maxTimestamp)
        guard header.timestampType == .createTime else { return whole }
        if header.compression == .none {
            return first(atLeast: target, minimumOffset: minimumOffset, header: header,
                         records: RecordIterator(batch: batch, header: header))
        }
        let area = UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.size..<min(batch.count, header.totalSize)])
        // A batch that cannot be decompressed here (codec library missing) is answered as a whole.
        guard let plain = try? header.compression.decompress(area) else { return whole }
        return plain.withUnsafeReadableBytes { records in
            first(atLeast: target, minimumOffset: minimumOffset, header: header,
                  records: RecordIterator(records: records, count: Int(header.recordCount)))
        }
    }

    private static func first(
        atLeast target: Int64, minimumOffset: Int64, header: RecordBatchHeader, records: RecordIterator
    ) -> (offset: Int64, timestamp: Int64)? {
        var records = records
        while let record = records.next() {
            let offset = header.baseOffset + Int64(record.offsetDelta)
            let timestamp = header.baseTimestamp + record.timestampDelta
            if timestamp >= target && offset >= minimumOffset { return (offset, timestamp) }
        }
        return nil
    }
}
