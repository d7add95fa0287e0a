import FileSystem
import KafkaProtocol
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A duplicated handle of a segment's `.log` file, kept open for as long as any ``FileSlice`` made from it is alive,
/// so a fetch response being written with sendfile(2) survives the segment being deleted by retention, and a flush
/// outside the partition lock survives the segment being closed.
public final class SharedFileHandle: Sendable {
    let handle: NIOFileHandle
    let file: any OpenFile

    init(duplicating file: any OpenFile) throws(StorageError) {
        self.file = try io { () throws(FileSystemError) in try file.duplicate() }
        handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: try io { () throws(FileSystemError) in
            try file.duplicateDescriptor()
        })
    }

    deinit {
        try? handle.close()
    }

    /// fdatasync through the duplicated handle.
    func flush() throws(StorageError) {
        try io { () throws(FileSystemError) in try file.sync() }
    }
}

/// The data file of one segment (`<base offset>.log`): concatenated record batches.
///
/// Appends use pwritev(2) at the logical end: on this machine kind, writing fresh pages through the page cache ran
/// faster than storing through a shared mapping, which pays a page fault and a page zeroing per 4 KiB before the copy
/// (measured: 16 KiB batches, about 2 GB/s either way at best, pwrite steadier; see the storage benchmark). The file
/// is also mapped read-only for reads, so finding batch boundaries and serving in-process reads touch the page
/// cache directly. Network reads use ``slice(position:length:)`` and sendfile instead of the mapping.
///
/// Once pwrite returns, the bytes are in the page cache and survive the process being killed; surviving power loss
/// needs ``flush()`` (fdatasync). A write that fails for lack of space is cut off again, so the file never keeps a
/// partial batch the log did not accept.
///
/// The active segment reserves disk blocks ahead of its end (fallocate with FALLOC_FL_KEEP_SIZE, in chunks as large
/// as the file so far, 64 KiB to 8 MiB): a write into reserved blocks skips the file system's per-write delayed
/// allocation (space and quota reservation, extent bookkeeping), which was about a sixth of a 16 KiB pwrite's system
/// time on ext4 here. The file's size does not change, so readers, recovery and tools see exactly the batches
/// written; the blocks past the end are released when the segment stops taking appends. What all the files of the
/// process hold reserved and not yet written is bounded by a ``ReservationBudget``.
///
/// Not thread-safe: owned by one ``Segment``.
final class LogFile {
    let path: String
    private let file: any OpenFile
    /// Logical size: bytes of complete batches. Equal to the file size except transiently during recovery.
    private(set) var size: Int
    private var mapping: UnsafeMutableRawPointer?
    private var mappedBytes = 0
    /// Address space reserved when mapping, so an active segment does not remap on every append.
    private let reserveBytes: Int
    private var shared: SharedFileHandle?
    private(set) var isClosed = false
    /// End of the blocks reserved past ``size`` (see ``reserveAhead(for:)``); at most ``size`` when none are.
    private var reservedEnd = 0
    private var reservationUnsupported = false
    private let budget: ReservationBudget
    /// End of the blocks reserved with ``budget``'s consent; ``budgetHeld`` is what of them lies past ``size``.
    private var budgetedEnd = 0
    private var budgetHeld = 0

    init(fileSystem: any FileSystem, path: String, reserveBytes: Int, budget: ReservationBudget = .shared)
        throws(StorageError)
    {
        self.path = path
        self.reserveBytes = reserveBytes
        self.budget = budget
        let opened = try io { () throws(FileSystemError) in try fileSystem.open(path, .create) }
        file = opened
        do {
            size = try io { () throws(FileSystemError) in try opened.size() }
        } catch {
            opened.close()
            throw error
        }
    }

    deinit {
        if !isClosed { close() }
    }

    /// Writes `vectors` (whose lengths sum to `byteCount`) at the end of the file. If the disk is full, whatever part
    /// of them landed is cut off before the error is thrown.
    func append(_ vectors: inout [iovec], byteCount: Int) throws(StorageError) {
        precondition(!isClosed)
        reserveAhead(for: byteCount)
        do {
            try file.write(vectors: &vectors, byteCount: byteCount, at: size)
        } catch {
            let failure = StorageError(error)
            if case .noSpace = failure {
                try io { () throws(FileSystemError) in try file.truncate(to: size) }
                reservationFreed()  // the cut gave back any reserved blocks as well
            }
            throw failure
        }
        size += byteCount
        settleBudget()
    }

    /// Reserves the blocks the next `byteCount` bytes need, and a chunk beyond, when the active segment's reservation
    /// does not cover them. Best effort: the write that follows reports a full disk by itself, so a failed
    /// reservation is only not tried again before the write passes the chunk it asked for. Past the budget nothing
    /// is reserved, and the next append asks again.
    private func reserveAhead(for byteCount: Int) {
        let end = size + byteCount
        guard reserveBytes > 0, end > reservedEnd, !reservationUnsupported else { return }
        let start = max(size, reservedEnd)
        let chunk = min(max(size, Self.minimumReserveChunk), Self.maximumReserveChunk)
        let upTo = max(end, min(size + chunk, reserveBytes))
        // What this file will hold past its end, less what it holds already.
        let more = upTo - size - budgetHeld
        guard budget.claim(more) else { return }
        do throws(FileSystemError) {
            try file.reserve(at: start, length: upTo - start)
            budgetHeld += more
            budgetedEnd = upTo
        } catch {
            budget.release(more)
            if error.errno == EOPNOTSUPP { reservationUnsupported = true }
        }
        reservedEnd = upTo
    }

    /// Gives the budget back what writes have filled of the reservation.
    private func settleBudget() {
        let stillReserved = max(0, budgetedEnd - size)
        guard stillReserved < budgetHeld else { return }
        budget.release(budgetHeld - stillReserved)
        budgetHeld = stillReserved
    }

    /// Forgets the blocks reserved past the end (a cut freed them, or the file is closing) and gives the budget back
    /// what this file held.
    private func reservationFreed() {
        reservedEnd = 0
        if budgetHeld > 0 { budget.release(budgetHeld) }
        budgetHeld = 0
        budgetedEnd = 0
    }

    /// An idle partition's segment holds at most this much in reserve; a busy one's chunk grows with the segment.
    static let minimumReserveChunk = 64 << 10
    static let maximumReserveChunk = 8 << 20

    /// Gives back the blocks reserved past the end (ftruncate to the same size frees them on ext4 and XFS). Called
    /// when the segment stops taking appends; a segment reopened after a crash may hold a reservation this process
    /// did not make, so an active segment's file is always cut.
    func releaseReservation() throws(StorageError) {
        guard reserveBytes > 0, !isClosed else { return }
        try io { () throws(FileSystemError) in try file.truncate(to: size) }
        reservationFreed()
    }

    /// The bytes [position, position + count) through the read mapping. Valid until the next call that may remap
    /// (another `bytes`, `truncate` or `close`); callers hold the partition lock throughout.
    func bytes(from position: Int, count: Int) throws(StorageError) -> UnsafeRawBufferPointer {
        precondition(position >= 0 && count >= 0 && position + count <= size, "read outside the log file")
        if count == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        try ensureMapped(upTo: position + count)
        return UnsafeRawBufferPointer(start: mapping! + position, count: count)
    }

    private func ensureMapped(upTo end: Int) throws(StorageError) {
        guard end > mappedBytes else { return }
        if let mapping { munmap(mapping, mappedBytes) }
        mapping = nil
        mappedBytes = 0
        let length = max(end, reserveBytes, size)
        // Mapping past the end of the file is allowed; only pages beyond EOF fault, and reads stay below `size`.
        mapping = try io { () throws(FileSystemError) in try file.map(length: length, writable: false) }
        mappedBytes = length
    }

    /// A region for sendfile(2): the network layer writes it without copying it through user space.
    func slice(position: Int, length: Int) throws(StorageError) -> FileSlice {
        precondition(position >= 0 && length >= 0 && position + length <= size)
        let shared = try sharedHandle()
        let region = FileRegion(fileHandle: shared.handle, readerIndex: position, endIndex: position + length)
        return FileSlice(region: region, owner: shared)
    }

    /// Cuts the file at `newSize` (recovery of a torn tail).
    func truncate(to newSize: Int) throws(StorageError) {
        precondition(newSize <= size)
        try io { () throws(FileSystemError) in try file.truncate(to: newSize) }
        size = newSize
        reservationFreed()  // the cut freed the reserved blocks too
    }

    /// Re-reads the size from the file system after recovery decided how much of it is valid.
    func setLogicalSize(_ newSize: Int) {
        size = newSize
        settleBudget()
    }

    var physicalSize: Int { (try? file.size()) ?? size }

    func flush() throws(StorageError) {
        try io { () throws(FileSystemError) in try file.sync() }
    }

    /// A handle that stays valid after this file is closed, for flushing outside the partition lock.
    func sharedHandle() throws(StorageError) -> SharedFileHandle {
        if let shared { return shared }
        let created = try SharedFileHandle(duplicating: file)
        shared = created
        return created
    }

    func close() {
        guard !isClosed else { return }
        if let mapping { munmap(mapping, mappedBytes) }
        mapping = nil
        mappedBytes = 0
        shared = nil
        file.close()
        reservationFreed()  // a segment gives its blocks back (releaseReservation) when it stops taking appends
        isClosed = true
    }
}
