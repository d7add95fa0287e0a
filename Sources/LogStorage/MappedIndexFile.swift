import FileSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A memory-mapped file of fixed-size entries, the common part of ``OffsetIndex`` and ``TimeIndex``.
///
/// While a segment is active its index file is preallocated to `maxBytes` (sparse, as Kafka does) and mapped
/// read-write; appending an entry is a store into the mapping. When the segment rolls or the log closes, the file is
/// trimmed to exactly `entryCount * entrySize` bytes, so the next open knows the entry count from the file size.
/// After a crash a preallocated file may end in zero entries: those are not entries, because no valid entry is all
/// zero (the first batch of a segment never gets one), and they are dropped on open.
///
/// Not thread-safe: owned by one ``Segment``, used under its partition's lock.
final class MappedIndexFile {
    let path: String
    let entrySize: Int
    private let file: any OpenFile
    private var mapping: UnsafeMutableRawPointer?
    private var mappedBytes = 0
    private(set) var entryCount = 0
    private(set) var isClosed = false
    /// Bytes from the start of the file known to have disk blocks: entries written, then space reserved ahead.
    private var reservedBytes = 0
    /// The file system cannot reserve blocks (fallocate unsupported): entries are stored without a reservation.
    private var reservationUnsupported = false
    /// Blocks are reserved this many bytes at a time (8,192 offset entries).
    static let reserveStep = 64 * 1024

    /// Opens or creates the file. With `preallocateTo`, the file is grown (sparsely) to that many bytes so entries
    /// can be appended; without it the file is mapped at its current size.
    init(fileSystem: any FileSystem, path: String, entrySize: Int, preallocateTo maxBytes: Int?) throws(StorageError) {
        self.path = path
        self.entrySize = entrySize
        self.file = try io { () throws(FileSystemError) in try fileSystem.open(path, .create) }
        do {
            let size = try io { () throws(FileSystemError) in try file.size() }
            entryCount = size / entrySize
            if let maxBytes {
                let capacity = max(maxBytes / entrySize, entryCount) * entrySize
                if capacity != size { try truncateFile(to: capacity) }
                try map(bytes: capacity)
            } else {
                try map(bytes: size)
            }
            // Drop trailing all-zero slots (preallocated space that was never written before a crash). Entries are
            // written front to back, so the written ones form a prefix: binary search for its end instead of paging
            // through megabytes of sparse zeros.
            var low = 0
            var high = entryCount
            while low < high {
                let mid = (low + high) / 2
                if isZeroEntry(mid) { high = mid } else { low = mid + 1 }
            }
            entryCount = low
            reservedBytes = entryCount * entrySize
        } catch {
            file.close()
            throw error
        }
    }

    deinit {
        if !isClosed { close() }
    }

    var capacity: Int { mappedBytes / entrySize }
    var isFull: Bool { entryCount >= capacity }

    private func map(bytes: Int) throws(StorageError) {
        if let mapping { munmap(mapping, mappedBytes) }
        mapping = nil
        mappedBytes = 0
        guard bytes > 0 else { return }
        mapping = try io { () throws(FileSystemError) in try file.map(length: bytes, writable: true) }
        mappedBytes = bytes
    }

    private func isZeroEntry(_ index: Int) -> Bool {
        let base = mapping! + index * entrySize
        for i in 0..<entrySize where base.load(fromByteOffset: i, as: UInt8.self) != 0 { return false }
        return true
    }

    /// Reads a big-endian integer at byte `offset` of entry `index`.
    @inline(__always)
    func read<T: FixedWidthInteger>(_ index: Int, at offset: Int, as: T.Type) -> T {
        precondition(index >= 0 && index < entryCount, "index entry \(index) out of range 0..<\(entryCount)")
        return T(bigEndian: mapping!.loadUnaligned(fromByteOffset: index * entrySize + offset, as: T.self))
    }

    /// Appends one entry; `fill` stores its fields (big-endian) at the given address. Returns false, storing nothing,
    /// when the disk has no block for it: the file is sparse, and a store into a page the disk cannot back kills the
    /// process with SIGBUS (seen on a full disk, after the batch's own write had fitted). Blocks are reserved ahead
    /// with fallocate instead; an index is sparse anyway, so a batch without its entry is only found by a longer scan.
    @discardableResult
    func append(_ fill: (UnsafeMutableRawPointer) -> Void) -> Bool {
        precondition(!isFull, "index \(path) is full")
        let end = (entryCount + 1) * entrySize
        if end > reservedBytes && !reservationUnsupported {
            let upTo = min((end + Self.reserveStep - 1) / Self.reserveStep * Self.reserveStep, mappedBytes)
            do throws(FileSystemError) {
                try file.reserve(at: reservedBytes, length: upTo - reservedBytes)
                reservedBytes = upTo
            } catch {
                if error.isOutOfSpace { return false }
                if error.errno == EOPNOTSUPP { reservationUnsupported = true }
                // Any other failure: store as before reservations existed (the disk is failing anyway).
            }
        }
        fill(mapping! + entryCount * entrySize)
        entryCount += 1
        return true
    }

    /// Forgets entries from `count` on (used when the log is truncated or the index rebuilt).
    func truncate(toEntries count: Int) {
        precondition(count >= 0 && count <= entryCount)
        if count < entryCount, let mapping {
            memset(mapping + count * entrySize, 0, (entryCount - count) * entrySize)
        }
        entryCount = count
    }

    /// Greatest entry index whose key (read by `key`) is <= `target`, or nil if every key is greater.
    func largestIndex(atMost target: Int64, key: (Int) -> Int64) -> Int? {
        var low = 0
        var high = entryCount - 1
        var found: Int?
        while low <= high {
            let mid = (low + high) / 2
            if key(mid) <= target {
                found = mid
                low = mid + 1
            } else {
                high = mid - 1
            }
        }
        return found
    }

    /// Shrinks the file to its entries (segment rolled or log closing); the index becomes read-only in practice.
    func trimToEntries() throws(StorageError) {
        let bytes = entryCount * entrySize
        if let mapping { munmap(mapping, mappedBytes) }
        mapping = nil
        mappedBytes = 0
        try truncateFile(to: bytes)
        try map(bytes: bytes)
        reservedBytes = min(reservedBytes, bytes)
    }

    /// Grows the file back to `maxBytes` so that entries can be appended again (a segment reopened as active).
    func preallocate(to maxBytes: Int) throws(StorageError) {
        let capacity = max(maxBytes / entrySize, entryCount) * entrySize
        guard capacity != mappedBytes else { return }
        if let mapping { munmap(mapping, mappedBytes) }
        mapping = nil
        mappedBytes = 0
        try truncateFile(to: capacity)
        try map(bytes: capacity)
    }

    private func truncateFile(to bytes: Int) throws(StorageError) {
        try io { () throws(FileSystemError) in try file.truncate(to: bytes) }
    }

    /// fdatasync, which also writes back the pages stored through the mapping.
    func flush() throws(StorageError) {
        try io { () throws(FileSystemError) in try file.sync() }
    }

    func close() {
        guard !isClosed else { return }
        if let mapping { munmap(mapping, mappedBytes) }
        mapping = nil
        mappedBytes = 0
        file.close()
        isClosed = true
    }
}
