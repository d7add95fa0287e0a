#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed file-system call: which call, on which path, and errno. Each storage layer turns it into its own typed
/// error.
public struct FileSystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let errno: Int32

    public init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// The disk or the user's quota is full (ENOSPC, EDQUOT): the call may succeed once space is freed, and nothing
    /// else about the file system is known to be wrong. Every other errno means the disk can no longer be trusted.
    public var isOutOfSpace: Bool { Self.isOutOfSpace(errno) }

    public static func isOutOfSpace(_ code: Int32) -> Bool { code == ENOSPC || code == EDQUOT }

    /// The process, not the disk, ran out of something (open files: EMFILE, ENFILE; memory: ENOMEM): the call did
    /// nothing to the file, and may succeed once descriptors or memory are released.
    public var isProcessLimit: Bool { errno == EMFILE || errno == ENFILE || errno == ENOMEM }

    /// A failed fdatasync or fsync: what was written may never reach the disk, whatever the errno.
    public var isSync: Bool { operation == FileOperation.sync.systemCall || operation == FileOperation.syncDirectory.systemCall }

    public var description: String { "\(operation) failed on \(path): \(String(cString: strerror(errno)))" }
}
