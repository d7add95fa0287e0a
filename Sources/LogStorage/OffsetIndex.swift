import FileSystem

/// Kafka's sparse offset index for one segment (`<base offset>.index`).
///
/// Format: 8-byte entries, `uint32 relativeOffset` (offset - segment base offset) then `uint32 position` (byte offset
/// of a batch start in the `.log` file), both big-endian, strictly increasing. An entry is added only after more than
/// `index.interval.bytes` have been appended since the previous one (that is what makes it sparse); it maps the last
/// offset of the batch being appended to that batch's position, and the first batch of a segment never gets one.
/// Lookup returns the greatest entry <= the target; the caller scans batch headers forward from there. There is no
/// checksum: after a crash the index of every unflushed segment is rebuilt from the log.
///
/// Not thread-safe.
struct OffsetIndex {
    static let entrySize = 8
    let baseOffset: Int64
    let file: MappedIndexFile

    init(fileSystem: any FileSystem, path: String, baseOffset: Int64, preallocateTo maxBytes: Int?) throws(StorageError) {
        self.baseOffset = baseOffset
        self.file = try MappedIndexFile(fileSystem: fileSystem, path: path, entrySize: Self.entrySize, preallocateTo: maxBytes)
    }

    var entryCount: Int { file.entryCount }
    var isFull: Bool { file.isFull }

    func offset(at index: Int) -> Int64 { baseOffset + Int64(file.read(index, at: 0, as: UInt32.self)) }
    func position(at index: Int) -> Int { Int(file.read(index, at: 4, as: UInt32.self)) }

    /// The offset of the last entry, or the base offset when empty.
    var lastOffset: Int64 { entryCount == 0 ? baseOffset : offset(at: entryCount - 1) }

    /// Adds an entry; false if the disk had no room for it (see ``MappedIndexFile/append(_:)``).
    @discardableResult
    func append(offset: Int64, position: Int) -> Bool {
        precondition(offset > lastOffset || entryCount == 0, "offset index entries must increase: \(offset) after \(lastOffset)")
        precondition(offset - baseOffset <= Int64(UInt32.max) && position <= Int(UInt32.max))
        return file.append { entry in
            entry.storeBytes(of: UInt32(offset - baseOffset).bigEndian, toByteOffset: 0, as: UInt32.self)
            entry.storeBytes(of: UInt32(position).bigEndian, toByteOffset: 4, as: UInt32.self)
        }
    }

    /// The greatest indexed (offset, position) with offset <= target, or (baseOffset, 0) if there is none.
    func lookup(_ target: Int64) -> (offset: Int64, position: Int) {
        guard let index = file.largestIndex(atMost: target, key: offset(at:)) else { return (baseOffset, 0) }
        return (offset(at: index), position(at: index))
    }

    /// Drops entries pointing at or beyond byte `position` of the log (the log was truncated there).
    func truncate(toPositionBelow position: Int) {
        var keep = entryCount
        while keep > 0 && self.position(at: keep - 1) >= position { keep -= 1 }
        file.truncate(toEntries: keep)
    }

    func reset() { file.truncate(toEntries: 0) }

    /// Whether the entries are well formed: offsets and positions strictly increase. A failed check means the file
    /// is damaged and must be rebuilt from the log.
    func isSane(logSize: Int) -> Bool {
        var previousOffset: Int64 = -1
        var previousPosition = -1
        for i in 0..<entryCount {
            let o = offset(at: i), p = position(at: i)
            if o <= previousOffset || p <= previousPosition || p >= max(logSize, 1) { return false }
            previousOffset = o
            previousPosition = p
        }
        return true
    }
}

/// Kafka's time index for one segment (`<base offset>.timeindex`).
///
/// Format: 12-byte entries, `int64 timestamp` then `uint32 relativeOffset`, big-endian. An entry is written next to
/// each offset index entry, and only when the segment's maximum timestamp has grown since the last one, so timestamps
/// strictly increase. Entry (t, o) means: every record before offset o has a timestamp <= t. Used by ListOffsets
/// by timestamp and by time-based retention.
///
/// Not thread-safe.
struct TimeIndex {
    static let entrySize = 12
    let baseOffset: Int64
    let file: MappedIndexFile

    init(fileSystem: any FileSystem, path: String, baseOffset: Int64, preallocateTo maxBytes: Int?) throws(StorageError) {
        self.baseOffset = baseOffset
        self.file = try MappedIndexFile(fileSystem: fileSystem, path: path, entrySize: Self.entrySize, preallocateTo: maxBytes)
    }

    var entryCount: Int { file.entryCount }
    var isFull: Bool { file.isFull }

    func timestamp(at index: Int) -> Int64 { file.read(index, at: 0, as: Int64.self) }
    func offset(at index: Int) -> Int64 { baseOffset + Int64(file.read(index, at: 8, as: UInt32.self)) }

    var lastTimestamp: Int64? { entryCount == 0 ? nil : timestamp(at: entryCount - 1) }

    /// Adds (timestamp, offset) if the timestamp is larger than the last entry's.
    func maybeAppend(timestamp: Int64, offset: Int64) {
        if let last = lastTimestamp, timestamp <= last { return }
        guard !isFull else { return }
        precondition(offset >= baseOffset && offset - baseOffset <= Int64(UInt32.max))
        file.append { entry in
            entry.storeBytes(of: timestamp.bigEndian, toByteOffset: 0, as: Int64.self)
            entry.storeBytes(of: UInt32(offset - baseOffset).bigEndian, toByteOffset: 8, as: UInt32.self)
        }
    }

    /// The entry with the greatest timestamp strictly below `target`: every record up to its offset is older than
    /// `target`, so a search for the first record at or after `target` may start there.
    func lookupStrictlyBelow(_ target: Int64) -> (timestamp: Int64, offset: Int64)? {
        guard target > Int64.min, let index = file.largestIndex(atMost: target - 1, key: timestamp(at:)) else { return nil }
        return (timestamp(at: index), offset(at: index))
    }

    func truncate(toOffsetBelow offset: Int64) {
        var keep = entryCount
        while keep > 0 && self.offset(at: keep - 1) >= offset { keep -= 1 }
        file.truncate(toEntries: keep)
    }

    func reset() { file.truncate(toEntries: 0) }

    func isSane() -> Bool {
        var previous = Int64.min
        var previousOffset: Int64 = -1
        for i in 0..<entryCount {
            let t = timestamp(at: i), o = offset(at: i)
            if t <= previous || o < previousOffset { return false }
            previous = t
            previousOffset = o
        }
        return true
    }
}
