import KafkaProtocol
import Testing

@testable import KafkaBroker

/// The KIP-227 session state machine, without a broker: creation, epochs, added/changed/forgotten partitions, what an
/// incremental answer carries, errors and eviction.
@Suite struct FetchSessionCacheTests {
    typealias Cache = FetchSessionCache

    static func key(_ topic: String, _ partition: Int32) -> Cache.PartitionKey {
        .init(topicId: .zero, topic: topic, partition: partition)
    }

    static func requested(_ topic: String, _ partition: Int32, offset: Int64 = 0) -> Cache.Requested {
        .init(key: key(topic, partition), name: topic, fetchOffset: offset, maxBytes: 1024, currentLeaderEpoch: -1)
    }

    static func answered(_ topic: String, _ partition: Int32, bytes: Int = 0, hw: Int64 = 10, error: Int16 = 0) -> Cache.Answered {
        .init(key: key(topic, partition), recordBytes: bytes, highWatermark: hw, lastStableOffset: hw, logStartOffset: 0, errorCode: error)
    }

    /// A cache holding one session over t-0 and t-1 (high watermark 10), and its id.
    static func openSession(_ cache: inout Cache, nowMs: Int64 = 0, privileged: Bool = false, partitions: Int32 = 2) -> Int32 {
        let parts = (0..<partitions).map { requested("t", $0) }
        #expect(cache.newContext(sessionId: 0, epoch: 0, usesTopicIds: false, privileged: privileged, partitions: parts,
                                 forgotten: [], nowMs: nowMs) == .full)
        return cache.completeFull(requested: parts, answered: (0..<partitions).map { answered("t", $0) }, usesTopicIds: false,
                                  privileged: privileged, nowMs: nowMs)
    }

    @Test func fullFetchOpensASessionAtEpochOne() {
        var cache = Cache()
        let id = Self.openSession(&cache)
        #expect(id > 0)
        #expect(cache.sessions[id]?.epoch == 1)
        #expect(cache.sessions[id]?.requested.map(\.key) == [Self.key("t", 0), Self.key("t", 1)])
    }

    @Test func incrementalFetchReadsTheWholeSessionAndAnswersOnlyChanges() {
        var cache = Cache()
        let id = Self.openSession(&cache)
        // The client only sends t-1 (its offset moved) and adds u-0.
        let context = cache.newContext(sessionId: id, epoch: 1, usesTopicIds: false, privileged: false,
                                       partitions: [Self.requested("t", 1, offset: 7), Self.requested("u", 0)], forgotten: [], nowMs: 1)
        guard case .incremental(let sessionId, let epoch, let partitions) = context else {
            Issue.record("expected an incremental context, got \(context)")
            return
        }
        #expect(sessionId == id && epoch == 2)
        #expect(partitions.map(\.key) == [Self.key("t", 0), Self.key("t", 1), Self.key("u", 0)])
        #expect(partitions[1].fetchOffset == 7)
        // t-0 unchanged, t-1 has records, u-0 is new (its offsets were never sent).
        let keep = cache.completeIncremental(sessionId: id, epoch: 2, answered: [
            Self.answered("t", 0), Self.answered("t", 1, bytes: 100), Self.answered("u", 0, hw: 0),
        ])
        #expect(keep == [Self.key("t", 1), Self.key("u", 0)])
        // Next round: only a high-watermark change or an error must be sent.
        _ = cache.newContext(sessionId: id, epoch: 2, usesTopicIds: false, privileged: false, partitions: [], forgotten: [], nowMs: 2)
        let next = cache.completeIncremental(sessionId: id, epoch: 3, answered: [
            Self.answered("t", 0, hw: 11), Self.answered("t", 1), Self.answered("u", 0, hw: 0, error: 3),
        ])
        #expect(next == [Self.key("t", 0), Self.key("u", 0)])
        // The error forgot u-0's high watermark, so it is sent again once the error is gone.
        _ = cache.newContext(sessionId: id, epoch: 3, usesTopicIds: false, privileged: false, partitions: [], forgotten: [], nowMs: 3)
        #expect(cache.completeIncremental(sessionId: id, epoch: 4, answered: [
            Self.answered("t", 0, hw: 11), Self.answered("t", 1), Self.answered("u", 0, hw: 0),
        ]) == [Self.key("u", 0)])
    }

    @Test func forgettingPartitionsAndClosing() {
        var cache = Cache()
        let id = Self.openSession(&cache)
        guard case .incremental(_, _, let left) = cache.newContext(
            sessionId: id, epoch: 1, usesTopicIds: false, privileged: false, partitions: [], forgotten: [Self.key("t", 0)], nowMs: 1)
        else { Issue.record("expected incremental"); return }
        #expect(left.map(\.key) == [Self.key("t", 1)])
        // Forgetting the last partition ends the session; the request is served sessionless.
        #expect(cache.newContext(sessionId: id, epoch: 2, usesTopicIds: false, privileged: false, partitions: [],
                                 forgotten: [Self.key("t", 1)], nowMs: 2) == .sessionless)
        #expect(cache.sessions[id] == nil)
        // Epoch -1 with a session id closes it.
        let other = Self.openSession(&cache)
        #expect(cache.newContext(sessionId: other, epoch: -1, usesTopicIds: false, privileged: false, partitions: [],
                                 forgotten: [], nowMs: 3) == .sessionless)
        #expect(cache.sessions.isEmpty)
    }

    @Test func sessionErrors() {
        var cache = Cache()
        let id = Self.openSession(&cache)
        #expect(cache.newContext(sessionId: id &+ 1, epoch: 1, usesTopicIds: false, privileged: false, partitions: [], forgotten: [], nowMs: 1)
                == .error(.fetchSessionIdNotFound))
        #expect(cache.newContext(sessionId: id, epoch: 5, usesTopicIds: false, privileged: false, partitions: [], forgotten: [], nowMs: 1)
                == .error(.invalidFetchSessionEpoch))
        #expect(cache.newContext(sessionId: id, epoch: 1, usesTopicIds: true, privileged: false, partitions: [], forgotten: [], nowMs: 1)
                == .error(.fetchSessionTopicIdError))
        // Two requests racing with the same epoch: the second is refused; an answer for a superseded epoch too.
        _ = cache.newContext(sessionId: id, epoch: 1, usesTopicIds: false, privileged: false, partitions: [], forgotten: [], nowMs: 1)
        #expect(cache.newContext(sessionId: id, epoch: 1, usesTopicIds: false, privileged: false, partitions: [], forgotten: [], nowMs: 1)
                == .error(.invalidFetchSessionEpoch))
        _ = cache.newContext(sessionId: id, epoch: 2, usesTopicIds: false, privileged: false, partitions: [], forgotten: [], nowMs: 1)
        #expect(cache.completeIncremental(sessionId: id, epoch: 2, answered: []) == nil)
        // A full fetch naming the session closes it and opens a new one.
        #expect(cache.newContext(sessionId: id, epoch: 0, usesTopicIds: false, privileged: false, partitions: [], forgotten: [], nowMs: 1) == .full)
        #expect(cache.sessions[id] == nil)
    }

    @Test func epochsWrapFromMaxToOne() {
        #expect(Cache.nextEpoch(after: 0) == 1)
        #expect(Cache.nextEpoch(after: Int32.max) == 1)
        #expect(Cache.nextEpoch(after: -1) == -1)
    }

    @Test func evictionFollowsKafka() {
        var cache = Cache(maxSlots: 2, evictionMs: 100)
        let a = Self.openSession(&cache, nowMs: 0, partitions: 1)
        let b = Self.openSession(&cache, nowMs: 0, partitions: 3)
        // Full and nothing stale or old enough: no session for the newcomer.
        #expect(Self.openSession(&cache, nowMs: 50, partitions: 5) == 0)
        // A privileged newcomer may take an unprivileged session's slot: the smallest goes.
        let follower = Self.openSession(&cache, nowMs: 60, privileged: true, partitions: 2)
        #expect(follower > 0 && cache.sessions[a] == nil && cache.sessions[b] != nil)
        // Once b is unused for longer than the eviction time, it is stale and goes first.
        _ = cache.newContext(sessionId: follower, epoch: 1, usesTopicIds: false, privileged: true, partitions: [], forgotten: [], nowMs: 150)
        let late = Self.openSession(&cache, nowMs: 150, partitions: 1)
        #expect(late > 0 && cache.sessions[b] == nil && cache.sessions[follower] != nil)
        // An old (created > eviction time ago) privileged session outranks an unprivileged newcomer.
        #expect(Self.openSession(&cache, nowMs: 200, partitions: 1) == 0)
        // No slots at all: sessions are never created.
        var none = Cache(maxSlots: 0)
        #expect(Self.openSession(&none) == 0)
    }
}
