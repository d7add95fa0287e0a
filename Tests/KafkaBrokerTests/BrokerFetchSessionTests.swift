import KafkaProtocol
import NIOCore
import Testing

@testable import KafkaBroker

/// Fetch sessions through the broker's request path with topic ids (Fetch v13+), which only ledgerstream's own
/// consumer exercises among the tested clients.
@Suite(.serialized) struct BrokerFetchSessionTests {
    static func fetch(_ harness: BrokerHarness, sessionId: Int32, epoch: Int32, _ partitions: [(KafkaUUID, Int32, Int64)],
                      forgotten: [(KafkaUUID, Int32)] = [], version: Int16 = 16) throws -> FetchResponse {
        let topics = Dictionary(grouping: partitions, by: \.0).map { id, parts in
            FetchRequest.FetchTopic(topicId: id, partitions: parts.map { .init(partition: $0.1, fetchOffset: $0.2, partitionMaxBytes: 1 << 20) })
        }
        let forgottenTopics = Dictionary(grouping: forgotten, by: \.0).map { id, parts in
            FetchRequest.ForgottenTopic(topicId: id, partitions: parts.map(\.1))
        }
        return try harness.call(FetchRequest(maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: sessionId,
                                             sessionEpoch: epoch, topics: topics, forgottenTopicsData: forgottenTopics), version: version)
    }

    static func answered(_ response: FetchResponse) -> [KafkaUUID: [Int32: Int16]] {
        Dictionary(uniqueKeysWithValues: response.responses.map { ($0.topicId, Dictionary(uniqueKeysWithValues: $0.partitions.map { ($0.partitionIndex, $0.errorCode) })) })
    }

    @Test func topicIdSessionsForgetByIdAndReportDeletedTopics() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("a", partitions: 2)
        try harness.createTopic("b")
        let a = try #require(harness.broker.topics.topic(named: "a")?.id)
        let b = try #require(harness.broker.topics.topic(named: "b")?.id)
        #expect(try harness.produce("a", batch: BrokerHarness.batch(["x"])).errorCode == 0)

        let full = try Self.fetch(harness, sessionId: 0, epoch: 0, [(a, 0, 0), (a, 1, 0), (b, 0, 0)])
        #expect(full.errorCode == 0 && full.sessionId != 0)
        #expect(Self.answered(full) == [a: [0: 0, 1: 0], b: [0: 0]])
        let sid = full.sessionId
        // p0 moved past its record; nothing else changed.
        #expect(Self.answered(try Self.fetch(harness, sessionId: sid, epoch: 1, [(a, 0, 1)])).isEmpty)
        // Forgotten by topic id: b's new record is not read.
        #expect(Self.answered(try Self.fetch(harness, sessionId: sid, epoch: 2, [], forgotten: [(b, 0)])).isEmpty)
        #expect(try harness.produce("b", batch: BrokerHarness.batch(["y"])).errorCode == 0)
        #expect(Self.answered(try Self.fetch(harness, sessionId: sid, epoch: 3, [])).isEmpty)
        // A session of topic ids cannot continue with a name-based version.
        #expect(try Self.fetch(harness, sessionId: sid, epoch: 4, [], version: 12).errorCode == ErrorCode.fetchSessionTopicIdError.rawValue)
        // Topic a deleted: its partitions answer UNKNOWN_TOPIC_ID, and keep doing so; recreated, it has a new id.
        _ = try harness.call(DeleteTopicsRequest(topicNames: ["a"], timeoutMs: 1), version: 5)
        let gone = try Self.fetch(harness, sessionId: sid, epoch: 4, [])
        #expect(Self.answered(gone) == [a: [0: ErrorCode.unknownTopicId.rawValue, 1: ErrorCode.unknownTopicId.rawValue]])
        try harness.createTopic("a", partitions: 2)
        let reborn = try #require(harness.broker.topics.topic(named: "a")?.id)
        #expect(reborn != a)
        let switched = try Self.fetch(harness, sessionId: sid, epoch: 5, [(reborn, 0, 0)], forgotten: [(a, 0), (a, 1)])
        #expect(switched.errorCode == 0 && Self.answered(switched) == [reborn: [0: 0]])
        #expect(harness.broker.fetchSessions.withLock { $0.sessions[sid]?.partitions.count } == 1)
    }
}
