import KafkaProtocol

/// An operating error of the storage layer: something outside the program went wrong or a caller asked for
/// something the log cannot do. Broken invariants are not errors: they trap.
public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed. `operation` names it, `path` the file, `errno` says why.
    case io(operation: String, path: String, errno: Int32)
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
