import KafkaProtocol

/// The client side of incremental fetch sessions (KIP-227) for one broker, as Java's `FetchSessionHandler`: the
/// first fetch is full and asks for a session (epoch 0); while the broker keeps it, each next fetch names the session
/// and the next epoch and lists only the partitions added or whose fetch offset changed, plus the ones to forget. Any
/// session error, or a failed fetch, makes the next fetch full again (closing the old session), so a broker that
/// loses sessions (a restart) or hands out none (slots full) costs at most one extra round trip. Pure state.
struct FetchSessionHandler: Sendable {
    struct PartitionState: Equatable, Sendable {
        var fetchOffset: Int64
        var maxBytes: Int32
        var topicId: KafkaUUID
    }

    /// One request to send.
    struct Request: Equatable, Sendable {
        var sessionId: Int32
        var epoch: Int32
        /// The partitions to list, in order: all of them for a full request, else added or changed ones.
        var partitions: [(TopicPartition, PartitionState)]
        var forgotten: [(TopicPartition, KafkaUUID)]

        var isFull: Bool { epoch == 0 }

        static func == (lhs: Request, rhs: Request) -> Bool {
            lhs.sessionId == rhs.sessionId && lhs.epoch == rhs.epoch
                && lhs.partitions.map(\.0) == rhs.partitions.map(\.0) && lhs.partitions.map(\.1) == rhs.partitions.map(\.1)
                && lhs.forgotten.map(\.0) == rhs.forgotten.map(\.0) && lhs.forgotten.map(\.1) == rhs.forgotten.map(\.1)
        }
    }

    private(set) var sessionId: Int32 = 0
    /// 0: the next request is full.
    private(set) var nextEpoch: Int32 = 0
    /// What the broker's session holds once the request in flight is answered.
    private var sessionPartitions: [TopicPartition: PartitionState] = [:]

    /// The request that fetches `wanted` (every partition this client reads from the broker, at its position).
    mutating func build(_ wanted: [TopicPartition: PartitionState]) -> Request {
        let ordered = wanted.sorted { $0.key < $1.key }
        defer { sessionPartitions = wanted }
        if nextEpoch == 0 {
            return Request(sessionId: sessionId, epoch: 0, partitions: ordered.map { ($0.key, $0.value) }, forgotten: [])
        }
        let changed = ordered.filter { sessionPartitions[$0.key] != $0.value }.map { ($0.key, $0.value) }
        let forgotten = sessionPartitions.filter { wanted[$0.key] == nil }.sorted { $0.key < $1.key }.map { ($0.key, $0.value.topicId) }
        return Request(sessionId: sessionId, epoch: nextEpoch, partitions: changed, forgotten: forgotten)
    }

    /// The broker answered `request` with a top-level `errorCode` and `responseSessionId`. False when the answer
    /// is a session error (its partitions carry nothing; fetch again, in full).
    mutating func handleResponse(to request: Request, errorCode: Int16, responseSessionId: Int32) -> Bool {
        guard errorCode == 0 else {
            // An unknown session starts over; any other error closes the session with the next, full, request.
            if ErrorCode(rawValue: errorCode) == .fetchSessionIdNotFound { sessionId = 0 }
            nextEpoch = 0
            return false
        }
        if responseSessionId == 0 {
            // No session (the broker's cache is full, or it closed ours): the next request is full again.
            sessionId = 0
            nextEpoch = 0
        } else if request.isFull {
            sessionId = responseSessionId
            nextEpoch = 1
        } else {
            nextEpoch = request.epoch == .max ? 1 : request.epoch + 1
        }
        return true
    }

    /// The fetch failed (connection lost, timeout): the broker may or may not have seen it, so the session's epoch
    /// is unknown; the next request is full and closes the session.
    mutating func handleError() {
        nextEpoch = 0
    }
}
