import Logging
import Synchronization

/// Whether a log directory still takes writes: Kafka's LogDirFailureChannel, one per directory, shared by every
/// partition log in it.
///
/// A failed write, sync, truncate, rename or unlink (any errno but ENOSPC/EDQUOT on a non-sync call) takes the
/// directory offline for good: from then on every write to any of its logs fails at once with
/// ``StorageError/logDirectoryOffline(path:cause:)``. Retrying is not safe: after a failed fsync the kernel may
/// already have dropped the dirty pages while still showing them to reads (PostgreSQL's "fsyncgate"), so a later
/// sync that succeeds proves nothing. Recovery on the next start, on a working disk, decides what survived. Reads
/// keep working meanwhile. The failure is logged once, with the path and the errno's text.
///
/// A full disk is not a failure of the directory: the refused write is cut off again and the next one tries anew.
/// It is logged once when it starts and once when writes succeed again.
public final class LogDirectoryHealth: Sendable {
    public let path: String
    private let logger: Logger
    private let offline = Atomic<Bool>(false)
    private let outOfSpace = Atomic<Bool>(false)
    private let cause = Mutex<String?>(nil)

    public init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    public var isOffline: Bool { offline.load(ordering: .acquiring) }

    /// Why the directory went offline, nil while it is online.
    public var offlineCause: String? { cause.withLock { $0 } }

    func ensureOnline() throws(StorageError) {
        if isOffline { throw .logDirectoryOffline(path: path, cause: offlineCause ?? "unknown") }
    }

    /// Runs a step that writes to the directory, classifying its failure: an I/O error takes the directory offline,
    /// a full disk is reported as such, anything else passes through.
    @inline(__always)
    func writing<T>(_ body: () throws(StorageError) -> T) throws(StorageError) -> T {
        try ensureOnline()
        let result: T
        do {
            result = try body()
        } catch {
            switch error {
            case .io: throw takeOffline(error)
            case .noSpace: noteOutOfSpace(error)
            default: break
            }
            throw error
        }
        if outOfSpace.load(ordering: .relaxed) { noteWriteSucceeded() }
        return result
    }

    /// Marks the directory offline because of `error` (logged the first time only) and returns the error callers get.
    func takeOffline(_ error: StorageError) -> StorageError {
        let reason = error.description
        let first = cause.withLock { cause -> Bool in
            guard cause == nil else { return false }
            cause = reason
            return true
        }
        if first {
            offline.store(true, ordering: .releasing)
            logger.error("log directory is offline: no more writes to it until a restart on a working disk", metadata: [
                "directory": "\(path)", "error": "\(reason)",
            ])
        }
        return .logDirectoryOffline(path: path, cause: offlineCause ?? reason)
    }

    private func noteOutOfSpace(_ error: StorageError) {
        if !outOfSpace.exchange(true, ordering: .acquiringAndReleasing) {
            logger.error("log directory is full: appends are refused until space is freed", metadata: [
                "directory": "\(path)", "error": "\(error)",
            ])
        }
    }

    private func noteWriteSucceeded() {
        if outOfSpace.exchange(false, ordering: .acquiringAndReleasing) {
            logger.notice("log directory has space again: appends resumed", metadata: ["directory": "\(path)"])
        }
    }
}
