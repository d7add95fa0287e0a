import FileSystem

#if canImport(Glibc)
import Glibc
#endif

/// Why the coordinator's data directory could not be read or written. Recovery reports damaged files with these
/// instead of trapping: a torn tail of the newest log is repaired silently, anything else is named here.
public enum CoordinatorStorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// A log file other than the newest is damaged at `offset` (the newest one would simply be truncated there).
    case corruptLog(path: String, offset: Int, reason: String)
    /// The transactions on disk do not continue each other (a file is missing or from another data directory).
    case inconsistent(String)
    /// A file ledgerstream did not write (wrong magic or version).
    case unrecognizedFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .io(let operation, let path, let code):
            return "\(operation) failed on \(path): \(String(cString: strerror(code)))"
        case .corruptLog(let path, let offset, let reason):
            return "transaction log \(path) is damaged at byte \(offset) (\(reason)); it is not the newest log, so it is not truncated automatically"
        case .inconsistent(let what):
            return "the coordinator's data directory is inconsistent: \(what)"
        case .unrecognizedFile(let path, let reason):
            return "\(path) is not a ledgerstream coordinator file: \(reason)"
        }
    }
}

/// Runs file-system calls, reporting their failure as ``CoordinatorStorageError/io(operation:path:errno:)``.
@inline(__always)
package func storageIO<T>(_ body: () throws(FileSystemError) -> T) throws(CoordinatorStorageError) -> T {
    do { return try body() } catch { throw .io(operation: error.operation, path: error.path, errno: error.errno) }
}
