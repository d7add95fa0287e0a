import FileSystem
import KafkaProtocol

/// An operating error of the storage layer: something outside the program went wrong or a caller asked for
/// something the log cannot do. Broken invariants are not errors: they trap.
public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed. `operation` names it, `path` the file, `errno` says why. A failed write, sync,
    /// rename or truncate takes the log directory offline (``logDirectoryOffline(path:cause:)``).
    case io(operation: String, path: String, errno: Int32)
    /// The disk (or quota) holding `path` is full: the write was refused and whatever part of it had landed was cut
    /// off again. Nothing else is wrong, so a later append simply tries again once space has been freed.
    case noSpace(operation: String, path: String, errno: Int32)
    /// The process ran out of open files or memory (EMFILE, ENFILE, ENOMEM): nothing is wrong with the disk, so the
    /// directory stays online, and the operation can be retried once descriptors are released.
    case outOfResources(operation: String, path: String, errno: Int32)
    /// A write or sync in this log directory failed earlier (`cause`), so the directory takes no more writes until
    /// the broker is restarted on a working disk: after a failed fsync the page cache cannot be trusted to reach the
    /// disk, so retrying is not safe (Kafka's LogDirFailureChannel). Reads of what was written keep working.
    case logDirectoryOffline(path: String, cause: String)
    /// The bytes offered for appending are not a valid sequence of v2 record batches; nothing was written.
    case invalidBatch(RecordBatchError)
    /// A batch is larger than the topic's `max.message.bytes`.
    case batchTooLarge(size: Int, limit: Int)
    /// The requested offset lies outside [log start offset, log end offset].
    case offsetOutOfRange(requested: Int64, logStartOffset: Int64, logEndOffset: Int64)
    /// An idempotent producer's batch was refused; see ``ProducerStateError``.
    case producer(ProducerStateError)
    /// The log was closed (its topic deleted or the broker shutting down).
    case closed(String)
    /// A log directory is in a state ledgerstream cannot open (for example a file where a directory must be).
    case unusableDirectory(path: String, reason: String)
    /// A check the caller runs under the log's lock refused the batches (the transaction coordinator's: the
    /// producer's transaction does not include this partition, or its epoch was fenced). Nothing was written.
    case refused(ErrorCode, reason: String)

    public var description: String {
        switch self {
        case .io(let operation, let path, let code):
            return "\(operation) failed on \(path): \(String(cString: strerror(code)))"
        case .noSpace(let operation, let path, let code):
            return "the disk holding \(path) is full (\(operation): \(String(cString: strerror(code)))); nothing was "
                + "written; free space there and retry: appends resume by themselves"
        case .outOfResources(let operation, let path, let code):
            return "\(operation) failed on \(path): \(String(cString: strerror(code))); the broker ran out of open files or "
                + "memory, not disk: nothing was written (raise the open-file limit, or lower max.connections)"
        case .logDirectoryOffline(let path, let cause):
            return "log directory \(path) is offline after a failed write (\(cause)); it takes no more writes until "
                + "the broker is restarted on a working disk (what was written stays readable)"
        case .invalidBatch(let error):
            return "invalid record batch: \(error)"
        case .batchTooLarge(let size, let limit):
            return "record batch of \(size) bytes exceeds max.message.bytes \(limit)"
        case .offsetOutOfRange(let requested, let start, let end):
            return "offset \(requested) is outside the log [\(start), \(end)]"
        case .producer(let error):
            return error.description
        case .closed(let name):
            return "log \(name) is closed"
        case .unusableDirectory(let path, let reason):
            return "cannot use \(path): \(reason)"
        case .refused(_, let reason):
            return reason
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension StorageError {
    /// A file-system failure as the log reports it: out of space on anything but a sync is ``noSpace(operation:path:errno:)``
    /// (a sync that fails may have dropped data, whatever its errno), everything else ``io(operation:path:errno:)``.
    init(_ error: FileSystemError) {
        if error.isOutOfSpace && !error.isSync {
            self = .noSpace(operation: error.operation, path: error.path, errno: error.errno)
        } else if error.isProcessLimit && !error.isSync {
            self = .outOfResources(operation: error.operation, path: error.path, errno: error.errno)
        } else {
            self = .io(operation: error.operation, path: error.path, errno: error.errno)
        }
    }
}

/// Runs file-system calls, reporting their failure as a ``StorageError``.
@inline(__always)
func io<T>(_ body: () throws(FileSystemError) -> T) throws(StorageError) -> T {
    do { return try body() } catch { throw StorageError(error) }
}
