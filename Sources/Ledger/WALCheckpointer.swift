import Dispatch
import Logging
import SQLiteStore

#if canImport(Glibc)
import Glibc
#endif

/// Copies the sink database's write-ahead log back into the database file from a thread and connection of its own,
/// so the sink's writer does not stop to do it.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold: the writer copies up to 64 MB of
/// pages and fsyncs the database before it can apply the next batch (measured: 15-20% of the sink's time over a
/// million rows). A PASSIVE checkpoint from another connection never blocks the writer or readers. It cannot always
/// finish while the writer keeps appending, so the writer keeps SQLite's own checkpoint as a backstop at a higher
/// threshold (``writerBackstopPages``): by then most pages are already copied, and a completed checkpoint lets the
/// log restart from the top, which bounds its size.
public final class WALCheckpointer: Sendable {
    /// The writer's own automatic checkpoint, in pages (256 MiB with 4 KiB pages).
    public static let writerBackstopPages = 65_536

    private let stopRequested = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)

    /// Starts checkpointing `path` whenever its log has grown past `thresholdBytes`, looking every `intervalMs`.
    /// Each checkpoint's time goes to `metrics`.
    public init(
        path: String, thresholdBytes: Int = 64 << 20, intervalMs: Int = 200,
        logger: Logger = Logger(label: "ledgerstream.checkpointer"), metrics: SinkMetrics = .disabled
    ) {
        let stopRequested = self.stopRequested
        let stopped = self.stopped
        DispatchQueue(label: "ledgerstream.wal-checkpointer").async {
            defer { stopped.signal() }
            let database: SQLiteDatabase
            do {
                // No busy wait: a PASSIVE checkpoint that finds the database busy simply tries again next time.
                database = try SQLiteDatabase.openFile(path: path, busyTimeoutMs: 0)
            } catch {
                logger.warning("background checkpoints disabled", metadata: ["db": "\(path)", "error": "\(error)"])
                _ = stopRequested.wait(timeout: .distantFuture)
                return
            }
            while stopRequested.wait(timeout: .now() + .milliseconds(intervalMs)) == .timedOut {
                guard Self.fileSize(path + "-wal") >= thresholdBytes else { continue }
                do {
                    let started = ContinuousClock.now
                    try database.execute("PRAGMA wal_checkpoint(PASSIVE);")
                    metrics.checkpointed(nanoseconds: started.duration(to: .now).nanoseconds)
                } catch {
                    logger.debug("background checkpoint skipped", metadata: ["error": "\(error)"])
                }
            }
            database.close()
        }
    }

    /// Stops the thread and waits for it (a checkpoint in progress completes first).
    public func stop() {
        stopRequested.signal()
        stopped.wait()
    }

    private static func fileSize(_ path: String) -> Int {
        var status = stat()
        return stat(path, &status) == 0 ? Int(status.st_size) : 0
    }
}
