import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file of a ``FaultInjectingFileSystem``: the real descriptor, with every call checked against the rules first.
final class FaultFile: OpenFile {
    let system: FaultInjectingFileSystem
    let inner: PosixFile
    /// The model's id of the file, nil for a file outside the root.
    let id: Int?
    let generation: Int

    init(system: FaultInjectingFileSystem, inner: PosixFile, id: Int?, generation: Int) {
        self.system = system
        self.inner = inner
        self.id = id
        self.generation = generation
    }

    var path: String { inner.path }

    /// Nil to go ahead; throws for a failure; returns the fault of a torn write (write the prefix, then throw).
    private func check(_ operation: FileOperation, size: Int = 0) throws(FileSystemError) -> (errno: Int32, tornBytes: Int)? {
        guard let fault = system.check(operation, path, generation: generation, size: size) else { return nil }
        if fault.tornBytes == 0 { throw FileSystemError(operation: operation.systemCall, path: path, errno: fault.errno) }
        return fault
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError) {
        guard let torn = try check(.write, size: bytes.count) else { return try inner.write(bytes, at: offset) }
        try inner.write(UnsafeRawBufferPointer(rebasing: bytes[0..<torn.tornBytes]), at: offset)
        throw FileSystemError(operation: "pwrite", path: path, errno: torn.errno)
    }

    func write(vectors: inout [iovec], byteCount: Int, at offset: Int) throws(FileSystemError) {
        guard let torn = try check(.write, size: byteCount) else {
            return try inner.write(vectors: &vectors, byteCount: byteCount, at: offset)
        }
        var gathered: [UInt8] = []
        gathered.reserveCapacity(byteCount)
        for vector in vectors where vector.iov_len > 0 {
            gathered += UnsafeRawBufferPointer(start: vector.iov_base, count: vector.iov_len)
        }
        try inner.write(Array(gathered[0..<torn.tornBytes]), at: offset)
        throw FileSystemError(operation: "pwritev", path: path, errno: torn.errno)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileSystemError) -> Int {
        _ = try check(.read)
        return try inner.read(into: buffer, at: offset)
    }

    func size() throws(FileSystemError) -> Int {
        _ = try check(.size)
        return try inner.size()
    }

    func truncate(to size: Int) throws(FileSystemError) {
        _ = try check(.truncate)
        try inner.truncate(to: size)
    }

    func reserve(at offset: Int, length: Int) throws(FileSystemError) {
        _ = try check(.reserve)
        try inner.reserve(at: offset, length: length)
    }

    func sync() throws(FileSystemError) {
        _ = try check(.sync)
        if let id { system.synced(id, contents: try inner.readAll(), generation: generation) }
    }

    func map(length: Int, writable: Bool) throws(FileSystemError) -> UnsafeMutableRawPointer {
        _ = try check(.map)
        return try inner.map(length: length, writable: writable)
    }

    func duplicate() throws(FileSystemError) -> any OpenFile {
        let copy = PosixFile(path: path, descriptor: try inner.duplicateDescriptor())
        return system.register(FaultFile(system: system, inner: copy, id: id, generation: generation))
    }

    func duplicateDescriptor() throws(FileSystemError) -> Int32 { try inner.duplicateDescriptor() }
    func tryLock() throws(FileSystemError) -> Bool { try inner.tryLock() }
    func close() { inner.close() }
}
