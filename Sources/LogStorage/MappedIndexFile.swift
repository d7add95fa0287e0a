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
    private let fd: Int32
    private var mapping: UnsafeMutableRawPointer?
    private var mappedBytes = 0
    private(set) var entryCount = 0
    private(set) var isClosed = false

    /// Opens or creates the file. With `preallocateTo`, the file is grown (sparsely) to that many bytes so entries
    /// can be appended; without it the file is mapped at its current size.
    init(path: String, entrySize: Int, preallocateTo maxBytes: Int?) throws(StorageError) {
        self.path = path
        self.entrySize = entrySize
        self.fd = try FileIO.open(path, flags: O_RDWR | O_CREAT)
        do {
            let size = try FileIO.fileSize(fd, path: path)
            entryCount = size / entrySize
            if let maxBytes {
                let capacity = max(maxBytes / entrySize, entryCount) * entrySize
                if capacity != size { try FileIO.truncate(fd, to: capacity, path: path) }
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
        } catch {
            Glibc.close(fd)
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
        guard let pointer = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), pointer != MAP_FAILED else {
            throw .io(operation: "mmap", path: path, errno: errno)
        }
        mapping = pointer
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

    /// Appends one entry; `fill` stores its fields (big-endian) at the given address.
    func append(_ fill: (UnsafeMutableRawPointer) -> Void) {
        precondition(!isFull, "index \(path) is full")
        fill(mapping! + entryCount * entrySize)
        entryCount += 1
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
        try FileIO.truncate(fd, to: bytes, path: path)
        try map(bytes: bytes)
    }

    /// Grows the file back to `maxBytes` so that entries can be appended again (a segment reopened as active).
    func preallocate(to maxBytes: Int) throws(StorageError) {
        let capacity = max(maxBytes / entrySize, entryCount) * entrySize
        guard capacity != mappedBytes else { return }
        if let mapping { munmap(mapping, mappedBytes) }
        mapping = nil
        mappedBytes = 0
        try FileIO.truncate(fd, to: capacity, path: path)
        try map(bytes: capacity)
    }

    func flush() throws(StorageError) {
        if let mapping, mappedBytes > 0, msync(mapping, mappedBytes, MS_SYNC) != 0 {
            throw .io(operation: "msync", path: path, errno: errno)
        }
    }

    func close() {
        guard !isClosed else { return }
        if let mapping { munmap(mapping, mappedBytes) }
        mapping = nil
        mappedBytes = 0
        Glibc.close(fd)
        isClosed = true
    }
}
