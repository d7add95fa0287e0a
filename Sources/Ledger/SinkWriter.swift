import KafkaProtocol
import Logging
import NIOPosix
import SQLiteStore
import Synchronization

/// The SQLite ledger store: a ``LedgerSink`` behind a lock, written on a thread of its own so the runner fetches and
/// decodes the next batch meanwhile. Only one batch is ever being written (the runner waits for it before handing
/// over the next), so the lock is uncontended; it makes the hand-over safe.
public final class SinkWriter: LedgerStore {
    private let sink: Mutex<LedgerSink>
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let checkpointer = Mutex<WALCheckpointer?>(nil)
    public let metrics: SinkMetrics
    /// The database file's path.
    public let location: String

    public init(_ sink: sending LedgerSink) {
        metrics = sink.metrics
        location = sink.database.path
        self.sink = Mutex(sink)
        thread.start()
    }

    public func claim(_ partitions: [TopicPartition], owner: String) async throws -> [TopicPartition: Int64] {
        // Another sink's batch holds the write lock for a moment; one paused mid-transaction holds it until it goes on
        // or dies. Either way the claim waits (the busy timeout, then again) rather than failing the sink.
        var backoffMs: UInt64 = 100
        while true {
            do {
                return try await thread.runIfActive { try self.sink.withLock { try $0.claim(partitions, owner: owner) } }
            } catch let error as SQLiteError where error.isBusy {
                try await Task.sleep(nanoseconds: backoffMs * 1_000_000)
                backoffMs = min(backoffMs * 2, 2000)
            }
        }
    }

    public func apply(_ batch: [LedgerSink.DecodedRecord], decodeNanoseconds: Int64) async throws -> ApplyReport {
        try await thread.runIfActive { try self.sink.withLock { try $0.apply(decoded: batch, decodeNanoseconds: decodeNanoseconds) } }
    }

    func resumeOffset(topic: String, partition: Int32) -> Int64? {
        sink.withLock { $0.resumeOffset(topic: topic, partition: partition) }
    }

    /// Moves WAL checkpoints off the writer: raises the writer's own automatic checkpoint to a backstop and starts
    /// a ``WALCheckpointer`` on the database file (stopped by `close`).
    public func startBackgroundWork(logger: Logger) async throws {
        try sink.withLock { sink in
            try sink.database.execute("PRAGMA wal_autocheckpoint = \(WALCheckpointer.writerBackstopPages);")
        }
        let started = WALCheckpointer(path: location, logger: logger, metrics: metrics)
        checkpointer.withLock { $0 = started }
    }

    public func stopBackgroundWork() async {
        if let running = checkpointer.withLock({ value -> WALCheckpointer? in defer { value = nil }; return value }) {
            try? await thread.runIfActive { running.stop() }
        }
    }

    public func close() async {
        await stopBackgroundWork()
        try? await thread.shutdownGracefully()
    }
}
