import KafkaProtocol

/// Incremental fetch sessions (KIP-227), as Kafka's `FetchSession.scala` / `FetchSessionCacheShard`. Pure state: the
/// broker keeps one behind a lock and asks it for a ``Context`` per Fetch request, then reports what it answered.
///
/// A fetch with SessionEpoch 0 is full: it lists every partition and, once answered, opens a session (epoch 1) that
/// caches each partition's fetch offset and max bytes (from the request) and high watermark, last stable offset and
/// log start offset (from the response). Later requests name the session and the next epoch (1, 2, … wrapping from
/// Int32.max to 1) and list only added or changed partitions and forgotten ones; the broker reads every partition of
/// the session and answers only those with records, a changed offset or an error. A full fetch naming a session
/// closes it; epoch -1 asks for no session at all (sessionless full fetch), and with a session id closes it.
/// Sessions live by id, not by connection (a client may reconnect and continue), and are evicted only to make room:
/// stale ones first (unused for `min.incremental.fetch.session.eviction.ms`), else a smaller, older-than-that one
/// (privileged follower sessions may evict any unprivileged one).
struct FetchSessionCache {
    /// Kafka's INITIAL_EPOCH, FINAL_EPOCH and INVALID_SESSION_ID.
    static let initialEpoch: Int32 = 0
    static let finalEpoch: Int32 = -1
    static let noSession: Int32 = 0

    /// A partition of a session. Topics are named by id when the session uses topic ids (Fetch v13+), else by name.
    struct PartitionKey: Hashable, Sendable {
        var topicId: KafkaUUID
        var topic: String
        var partition: Int32
    }

    /// What a request says about one partition.
    struct Requested: Equatable, Sendable {
        var key: PartitionKey
        /// The topic's name for the response (v13+ requests carry only the id; "" when the id is unknown).
        var name: String
        var fetchOffset: Int64
        var maxBytes: Int32
        var currentLeaderEpoch: Int32
    }

    /// What an answer said about one partition: what decides whether an incremental response must carry it.
    struct Answered: Equatable, Sendable {
        var key: PartitionKey
        var recordBytes: Int
        var highWatermark: Int64
        var lastStableOffset: Int64
        var logStartOffset: Int64
        var errorCode: Int16
    }

    struct CachedPartition: Equatable, Sendable {
        var requested: Requested
        var highWatermark: Int64 = -1
        var lastStableOffset: Int64 = -1
        var logStartOffset: Int64 = -1

        /// Kafka's `maybeUpdateResponseData`: records, a changed offset or an error must be sent; an error also
        /// forgets the high watermark so the partition is sent again once the error is gone.
        mutating func mustRespond(_ answer: Answered) -> Bool {
            var must = answer.recordBytes > 0
            if highWatermark != answer.highWatermark { must = true; highWatermark = answer.highWatermark }
            if lastStableOffset != answer.lastStableOffset { must = true; lastStableOffset = answer.lastStableOffset }
            if logStartOffset != answer.logStartOffset { must = true; logStartOffset = answer.logStartOffset }
            if answer.errorCode != 0 { must = true; highWatermark = -1 }
            return must
        }
    }

    struct Session: Sendable {
        let id: Int32
        let privileged: Bool
        let usesTopicIds: Bool
        let creationMs: Int64
        var lastUsedMs: Int64
        /// The epoch the next request must carry.
        var epoch: Int32
        /// In the order partitions were added (Kafka's insertion-ordered collection).
        var order: [PartitionKey] = []
        var partitions: [PartitionKey: CachedPartition] = [:]

        /// The partitions to read, in session order.
        var requested: [Requested] { order.compactMap { partitions[$0]?.requested } }
    }

    /// How to serve one Fetch request.
    enum Context: Equatable, Sendable {
        /// Read the request's partitions; no session (epoch -1, or v0-6).
        case sessionless
        /// Read the request's partitions; open a session with them when answering (``completeFull``).
        case full
        /// Read these partitions (the whole session); answer through ``completeIncremental``.
        case incremental(sessionId: Int32, epoch: Int32, partitions: [Requested])
        /// Answer with this top-level error and session id 0.
        case error(ErrorCode)
    }

    let maxSlots: Int
    let evictionMs: Int64
    private(set) var sessions: [Int32: Session] = [:]
    private var generator: any RandomNumberGenerator

    init(maxSlots: Int = 1000, evictionMs: Int64 = 120_000, generator: any RandomNumberGenerator = SystemRandomNumberGenerator()) {
        self.maxSlots = maxSlots
        self.evictionMs = evictionMs
        self.generator = generator
    }

    /// Kafka's `FetchMetadata.nextEpoch`.
    static func nextEpoch(after epoch: Int32) -> Int32 {
        epoch < 0 ? finalEpoch : (epoch == .max ? 1 : epoch + 1)
    }

    /// Kafka's `FetchManager.newContext`. An incremental request updates the session's partitions (added, changed,
    /// forgotten) and advances its epoch here; the answer's offsets are cached by ``completeIncremental``.
    mutating func newContext(
        sessionId: Int32, epoch: Int32, usesTopicIds: Bool, privileged: Bool, partitions: [Requested],
        forgotten: [PartitionKey], nowMs: Int64
    ) -> Context {
        if epoch == Self.initialEpoch || epoch == Self.finalEpoch {
            // A full request closes the session it names.
            if sessionId != Self.noSession { sessions[sessionId] = nil }
            return epoch == Self.finalEpoch ? .sessionless : .full
        }
        guard let found = sessions[sessionId] else { return .error(.fetchSessionIdNotFound) }
        guard found.epoch == epoch else { return .error(.invalidFetchSessionEpoch) }
        guard found.usesTopicIds == usesTopicIds else { return .error(.fetchSessionTopicIdError) }
        // Taken out while it changes, so that its partition map is updated in place rather than copied.
        var session = sessions.removeValue(forKey: sessionId)!
        for requested in partitions {
            if session.partitions[requested.key] == nil {
                session.order.append(requested.key)
                session.partitions[requested.key] = CachedPartition(requested: requested)
            } else {
                session.partitions[requested.key]!.requested = requested
            }
        }
        let gone = Set(forgotten.filter { session.partitions.removeValue(forKey: $0) != nil })
        if !gone.isEmpty { session.order.removeAll { gone.contains($0) } }
        if session.partitions.isEmpty { return .sessionless }
        session.lastUsedMs = nowMs
        session.epoch = Self.nextEpoch(after: session.epoch)
        sessions[sessionId] = session
        return .incremental(sessionId: sessionId, epoch: session.epoch, partitions: session.requested)
    }

    /// A full fetch was answered: opens a session caching what was asked and answered, if there is room (or room can
    /// be made, see ``evictionCandidate``). Returns the new session's id, or 0 (the client keeps fetching in full).
    mutating func completeFull(
        requested: [Requested], answered: [Answered], usesTopicIds: Bool, privileged: Bool, nowMs: Int64
    ) -> Int32 {
        if sessions.count >= maxSlots {
            guard let victim = evictionCandidate(privileged: privileged, size: requested.count, nowMs: nowMs) else {
                return Self.noSession
            }
            sessions[victim] = nil
        }
        var id: Int32
        repeat { id = Int32.random(in: 1...Int32.max, using: &generator) } while sessions[id] != nil
        var session = Session(id: id, privileged: privileged, usesTopicIds: usesTopicIds, creationMs: nowMs, lastUsedMs: nowMs,
                              epoch: Self.nextEpoch(after: Self.initialEpoch))
        for entry in requested where session.partitions[entry.key] == nil {
            session.order.append(entry.key)
            session.partitions[entry.key] = CachedPartition(requested: entry)
        }
        for answer in answered { _ = session.partitions[answer.key]?.mustRespond(answer) }
        sessions[id] = session
        return id
    }

    /// An incremental fetch was answered with `answered` (every partition read): caches the new offsets and returns
    /// the partitions the response must carry. Nil (INVALID_FETCH_SESSION_EPOCH) when the session moved on or went
    /// away between the request and the answer (a concurrent request with the same epoch, or an eviction).
    mutating func completeIncremental(sessionId: Int32, epoch: Int32, answered: [Answered]) -> Set<PartitionKey>? {
        guard sessions[sessionId]?.epoch == epoch, var session = sessions.removeValue(forKey: sessionId) else { return nil }
        var keep: Set<PartitionKey> = []
        for answer in answered where session.partitions[answer.key]?.mustRespond(answer) == true {
            keep.insert(answer.key)
        }
        sessions[sessionId] = session
        return keep
    }

    /// Kafka's `tryEvict`: the least recently used session if unused for longer than the eviction time; else the
    /// smallest evictable session (created longer than the eviction time ago; for a privileged newcomer also any
    /// unprivileged one) if the newcomer is at least as valuable (privileged first, then more partitions).
    func evictionCandidate(privileged: Bool, size: Int, nowMs: Int64) -> Int32? {
        if let stale = sessions.values.min(by: { ($0.lastUsedMs, $0.id) < ($1.lastUsedMs, $1.id) }),
           nowMs - stale.lastUsedMs > evictionMs {
            return stale.id
        }
        let evictable = sessions.values.filter { session in
            let old = nowMs - session.creationMs > evictionMs
            return privileged ? (!session.privileged || old) : old
        }
        func rank(_ privileged: Bool, _ size: Int, _ id: Int32) -> (Int, Int, Int32) { (privileged ? 1 : 0, size, id) }
        guard let weakest = evictable.min(by: { rank($0.privileged, $0.partitions.count, $0.id) < rank($1.privileged, $1.partitions.count, $1.id) })
        else { return nil }
        return rank(privileged, size, 0) < rank(weakest.privileged, weakest.partitions.count, weakest.id) ? nil : weakest.id
    }

    var partitionCount: Int { sessions.values.reduce(0) { $0 + $1.partitions.count } }
}
