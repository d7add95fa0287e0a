import KafkaProtocol
import Logging

/// Where a sink writes the ledger: the SQLite file (``SinkWriter``) or a PostgreSQL database (the PostgresLedger
/// module). The ``SinkRunner`` drives either the same way: it claims the partitions it consumes, then applies batches
/// in order, one at a time.
public protocol LedgerStore: AnyObject, Sendable {
    /// The sink's metrics (the runner records partitions' positions and ends there, for the lag).
    var metrics: SinkMetrics { get }
    /// The ledger's location for messages: a file path, or a PostgreSQL URL without its password.
    var location: String { get }
    /// Takes ownership of `partitions` for `owner`: their owner generation goes up in the database, in one
    /// transaction, so that a sink that held one before can no longer commit to it. Partitions not named are no longer
    /// this store's. Returns where each partition resumes (missing: nothing applied yet, from the beginning).
    func claim(_ partitions: [TopicPartition], owner: String) async throws -> [TopicPartition: Int64]
    /// Applies a batch in one transaction with its partitions' next offsets. Throws ``LedgerStoreError/fenced(_:owners:)``
    /// (and writes nothing) if another sink claimed one of its partitions since this one did.
    func apply(_ batch: [LedgerSink.DecodedRecord], decodeNanoseconds: Int64) async throws -> ApplyReport
    /// Starts what runs beside the writer while a runner uses the store (SQLite: WAL checkpoints on a connection of
    /// their own), until `stopBackgroundWork`.
    func startBackgroundWork(logger: Logger) async throws
    func stopBackgroundWork() async
    /// Closes the connections. The store is not used afterwards.
    func close() async
}

/// Failures of a ledger store that the sink handles itself.
public enum LedgerStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another sink claimed these partitions since this one did (its names, when known): the batch was not written.
    case fenced([TopicPartition], owners: [String])
    /// After a reconnect the ledger's stored offsets were behind what this sink had committed (these, per
    /// partition): the database lost commits it had acknowledged (a crash with synchronous_commit off, a failover to
    /// a replica that lagged). The batch was not written; consuming must start again from these offsets.
    case rewound([TopicPartition: Int64])

    public var description: String {
        switch self {
        case .fenced(let partitions, let owners):
            let names = partitions.map { "\($0.topic)/\($0.partition)" }.joined(separator: ", ")
            let by = Set(owners).sorted()
            return "partition\(partitions.count == 1 ? "" : "s") \(names) now belong\(partitions.count == 1 ? "s" : "") to another sink"
                + (by.isEmpty ? "" : " (\(by.joined(separator: ", ")))") + ": this sink wrote nothing of them"
        case .rewound(let offsets):
            let names = offsets.sorted { $0.key < $1.key }.map { "\($0.key.topic)/\($0.key.partition) at \($0.value)" }.joined(separator: ", ")
            return "the ledger's stored offsets went back (\(names)): the database lost commits it had acknowledged "
                + "(a crash with synchronous_commit off, or a failover to a replica that lagged); consuming again from there"
        }
    }
}
