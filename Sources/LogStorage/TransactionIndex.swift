import FileSystem

/// An aborted transaction as a read_committed fetch reports it: its records in [firstOffset, lastOffset] (the ABORT
/// marker's offset) from `producerId` must be dropped by the consumer.
public struct AbortedTransaction: Equatable, Sendable {
    public var producerId: Int64
    public var firstOffset: Int64
    public var lastOffset: Int64
    /// The partition's last stable offset once this transaction was decided: no transaction aborted later started
    /// below it, so a search for transactions overlapping offsets below it can stop here.
    public var lastStableOffset: Int64

    public init(producerId: Int64, firstOffset: Int64, lastOffset: Int64, lastStableOffset: Int64) {
        self.producerId = producerId
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
        self.lastStableOffset = lastStableOffset
    }
}

/// A segment's aborted-transaction index, `<base offset>.txnindex`, in Kafka's format: 34-byte entries
/// `int16 version (0), int64 producerId, int64 firstOffset, int64 lastOffset, int64 lastStableOffset`, big-endian,
/// in the order the ABORT markers were written (so ascending lastOffset). An entry lives in the segment holding its
/// marker.
///
/// Derived data: recovery rebuilds it from the log's control batches. The file is created on the first entry (most
/// segments never have one) and held in memory in full, so a read_committed fetch never touches the disk for it.
///
/// Not thread-safe: owned by one ``Segment``.
public final class TransactionIndex {
    static let entrySize = 34

    let path: String
    private let fileSystem: any FileSystem
    private(set) var entries: [AbortedTransaction] = []
    /// Opened when the file exists or the first entry is written.
    private var file: (any OpenFile)?
    private var isDirty = false
    /// An entry is in memory but its write failed: the file is rewritten whole at the next flush.
    private var needsRewrite = false
    /// The file was created by this index and its directory entry is not yet durable: the next flush syncs the
    /// directory too, or a power cut could take the whole file (and with it every aborted transaction of the
    /// segment, which a trusted segment below the recovery point never rebuilds) although its data was synced.
    private var needsDirectorySync = false

    private(set) var wasDamaged = false

    /// Opens the index if its file exists. Entries that are torn, out of order or outside `[baseOffset, ...)` are
    /// dropped with everything after them; `wasDamaged` then tells the caller to rebuild from the log.
    init(fileSystem: any FileSystem, path: String, baseOffset: Int64) throws(StorageError) {
        self.path = path
        self.fileSystem = fileSystem
        guard fileSystem.exists(path) else { return }
        let file = try io { () throws(FileSystemError) in try fileSystem.open(path, .write) }
        self.file = file
        let bytes = try io { () throws(FileSystemError) in try file.readAll() }
        let (entries, validBytes) = Self.decode(bytes, baseOffset: baseOffset)
        self.entries = entries
        if validBytes != bytes.count {
            wasDamaged = true
            try io { () throws(FileSystemError) in try file.truncate(to: validBytes) }
        }
    }

    /// The entries of a `.txnindex` file (for `dump-log`), read without changing it; a damaged tail is left out.
    public static func entries(
        ofFile path: String, fileSystem: any FileSystem = PosixFileSystem()
    ) throws(StorageError) -> [AbortedTransaction] {
        decode(try io { () throws(FileSystemError) in try fileSystem.readFile(path) }, baseOffset: .min).entries
    }

    /// The well-formed entries at the start of `bytes` (version 0, markers in increasing order, none below
    /// `baseOffset`) and how many bytes they take.
    private static func decode(_ bytes: [UInt8], baseOffset: Int64) -> (entries: [AbortedTransaction], validBytes: Int) {
        var entries: [AbortedTransaction] = []
        var previous = baseOffset == .min ? Int64.min : baseOffset - 1
        var offset = 0
        while offset + entrySize <= bytes.count {
            func int64(_ at: Int) -> Int64 {
                bytes[(offset + at)..<(offset + at + 8)].reduce(Int64(0)) { $0 << 8 | Int64($1) }
            }
            let version = Int16(bytes[offset]) << 8 | Int16(bytes[offset + 1])
            let entry = AbortedTransaction(producerId: int64(2), firstOffset: int64(10), lastOffset: int64(18),
                                           lastStableOffset: int64(26))
            guard version == 0, entry.lastOffset > previous, entry.firstOffset <= entry.lastOffset else { break }
            entries.append(entry)
            previous = entry.lastOffset
            offset += entrySize
        }
        return (entries, offset)
    }

    var lastOffset: Int64? { entries.last?.lastOffset }

    /// Adds an entry. It is in memory (and so in every read_committed answer) even if writing the file fails: the
    /// marker is already in the log, so the index must not lose it. The failure is returned, and the file is
    /// rewritten whole at the next ``flush()``, which fails (holding back the recovery point) until it succeeds.
    @discardableResult
    func append(_ entry: AbortedTransaction) -> StorageError? {
        precondition(entry.lastOffset > (lastOffset ?? Int64.min), "aborted transactions are indexed in marker order")
        entries.append(entry)
        isDirty = true
        if needsRewrite { return nil }
        do throws(StorageError) {
            let file = try openedFile()
            let position = (entries.count - 1) * Self.entrySize
            try io { () throws(FileSystemError) in try file.write(Self.encode([entry]), at: position) }
            return nil
        } catch {
            needsRewrite = true
            return error
        }
    }

    private static func encode(_ entries: [AbortedTransaction]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * entrySize)
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) } }
        for entry in entries {
            put(Int16(0))
            put(entry.producerId)
            put(entry.firstOffset)
            put(entry.lastOffset)
            put(entry.lastStableOffset)
        }
        return bytes
    }

    /// Drops entries whose marker is at or above `offset` (the log was cut there).
    func truncate(toMarkersBelow offset: Int64) throws(StorageError) {
        let keep = entries.firstIndex { $0.lastOffset >= offset } ?? entries.count
        guard keep < entries.count else { return }
        entries.removeSubrange(keep...)
        if let file, !needsRewrite { try io { () throws(FileSystemError) in try file.truncate(to: keep * Self.entrySize) } }
        wasDamaged = false
    }

    /// The aborted transactions overlapping [fetchOffset, upperBound): lastOffset >= fetchOffset and firstOffset <
    /// upperBound. `isComplete` is true when an entry proves no later one can overlap (its lastStableOffset is at or
    /// past `upperBound`), so the caller need not look at the following segments (Kafka's
    /// `TransactionIndex.collectAbortedTxns`).
    func collect(from fetchOffset: Int64, upperBound: Int64, into result: inout [AbortedTransaction]) -> Bool {
        // Entries are ordered by lastOffset: skip those that ended before the fetch.
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].lastOffset < fetchOffset { low = mid + 1 } else { high = mid }
        }
        for entry in entries[low...] {
            if entry.firstOffset < upperBound { result.append(entry) }
            if entry.lastStableOffset >= upperBound { return true }
        }
        return false
    }

    func flush() throws(StorageError) {
        guard isDirty else { return }
        if needsRewrite {
            let file = try openedFile()
            try io { () throws(FileSystemError) in
                try file.write(Self.encode(entries), at: 0)
                try file.truncate(to: entries.count * Self.entrySize)
            }
            needsRewrite = false
        }
        if let file { try io { () throws(FileSystemError) in try file.sync() } }
        if needsDirectorySync, let slash = path.lastIndex(of: "/") {
            let directory = String(path[..<slash])
            try io { () throws(FileSystemError) in try fileSystem.syncDirectory(directory) }
            needsDirectorySync = false
        }
        isDirty = false
    }

    /// The file, created on first use.
    private func openedFile() throws(StorageError) -> any OpenFile {
        if let file { return file }
        let created = try io { () throws(FileSystemError) in try fileSystem.open(path, .create) }
        file = created
        needsDirectorySync = true
        return created
    }

    func close() {
        file?.close()
        file = nil
    }

    /// Closes and unlinks the file, if there is one.
    func delete() throws(StorageError) {
        close()
        if fileSystem.exists(path) { try io { () throws(FileSystemError) in try fileSystem.remove(path) } }
        entries = []
    }
}
