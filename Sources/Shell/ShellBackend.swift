import KafkaClient
import Ledger

/// Whether the sink has applied everything in the topic, which decides whether a balance read from the database is
/// current.
public enum SinkLag: Equatable, Sendable {
    case caughtUp
    /// This many records are in the topic but not yet in the database.
    case behind(Int64)
    /// The broker could not be asked (the reason).
    case unknown(String)
}

/// What the shell needs from the outside world: the ledger database (read), the topic (write), and the sink's
/// progress. The real one is ``LiveShellBackend``; tests use an in-memory one.
public protocol ShellBackend {
    func accounts() async throws -> [AccountSummary]
    func history(account: String, count: Int) async throws -> [LedgerEntry]
    /// Produces the event (acks=all, idempotent) and returns where it landed once acknowledged.
    func publish(_ event: TransactionEvent) async throws -> RecordMetadata
    /// Waits until the sink has applied the record at `position`; false if it has not within `timeoutMs`.
    func waitUntilApplied(_ position: RecordMetadata, timeoutMs: Int) async throws -> Bool
    func sinkLag() async -> SinkLag
    /// The date-time stamped on new transactions (now, local time, as the original GUI did).
    func now() -> TransactionDate
    /// The command that runs the sink filling this ledger, for messages that suggest it.
    var sinkCommand: String { get }
}

extension ShellBackend {
    public var sinkCommand: String { "ledgerstream consume --sink sqlite" }
}
