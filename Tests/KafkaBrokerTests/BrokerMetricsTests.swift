import KafkaProtocol
import NIOCore
import Operations
import Testing

@testable import KafkaBroker

/// The broker's metrics through a real registry: what a scrape shows after real requests.
@Suite(.serialized) struct BrokerMetricsTests {
    /// A registry without process metrics, and a broker harness whose metrics go into it.
    static func instrumented(configure: (inout BrokerConfig) -> Void = { _ in }) throws -> (BrokerHarness, MetricsRegistry) {
        let registry = MetricsRegistry(descriptions: BrokerMetrics.catalog.map { MetricDescription($0.name, $0.help) },
                                       includeProcessMetrics: false)
        let harness = try BrokerHarness(configure: configure, metrics: BrokerMetrics(factory: registry.factory))
        return (harness, registry)
    }

    /// The value of one series in a scrape (`name{labels}` exactly as rendered), nil when absent.
    static func value(_ scrape: String, _ series: String) -> Double? {
        for line in scrape.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// Kafka's `ApiKeys` names (the `request` tag of its RequestMetrics) for every API ledgerstream implements.
    static let kafkaNames: [Int16: String] = [
        0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
        10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups",
        16: "ListGroups", 17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics",
        21: "DeleteRecords", 22: "InitProducerId", 23: "OffsetForLeaderEpoch", 24: "AddPartitionsToTxn",
        25: "AddOffsetsToTxn", 26: "EndTxn", 28: "TxnOffsetCommit", 29: "DescribeAcls", 30: "CreateAcls", 31: "DeleteAcls",
        32: "DescribeConfigs", 33: "AlterConfigs", 35: "DescribeLogDirs", 36: "SaslAuthenticate", 37: "CreatePartitions",
        42: "DeleteGroups", 44: "IncrementalAlterConfigs", 47: "OffsetDelete", 50: "DescribeUserScramCredentials",
        51: "AlterUserScramCredentials", 60: "DescribeCluster", 61: "DescribeProducers", 65: "DescribeTransactions",
        66: "ListTransactions", 68: "ConsumerGroupHeartbeat", 69: "ConsumerGroupDescribe", 71: "GetTelemetrySubscriptions",
        75: "DescribeTopicPartitions",
    ]

    @Test func apiLabelsAreKafkasNames() {
        for (key, _) in ApiKey.schemas {
            #expect(BrokerMetrics.apiName(ApiKey(rawValue: key)) == Self.kafkaNames[key], "API key \(key)")
        }
        #expect(Set(ApiKey.schemas.keys) == Set(Self.kafkaNames.keys))
        // Keys ledgerstream does not implement share one label, so a client cannot mint a series per number.
        #expect(BrokerMetrics.apiName(ApiKey(rawValue: 57)) == "unknown")
        #expect(BrokerMetrics.apiName(ApiKey(rawValue: 31_000)) == "unknown")
    }

    /// Every non-zero code of a response counts once per occurrence, top-level and nested (Kafka's errorCounts);
    /// NONE is not counted.
    @Test func errorCountsComeFromEveryLevelOfTheResponse() {
        let registry = MetricsRegistry(includeProcessMetrics: false)
        let metrics = BrokerMetrics(factory: registry.factory)
        typealias Partition = ProduceResponse.TopicProduceResponse.PartitionProduceResponse
        let produce = ProduceResponse(responses: [
            .init(name: "a", partitionResponses: [
                Partition(index: 0, errorCode: 3), Partition(index: 1, errorCode: 0), Partition(index: 2, errorCode: 3),
            ]),
            .init(name: "b", partitionResponses: [Partition(index: 0, errorCode: 6)]),
        ], throttleTimeMs: 0)
        metrics.countErrors(in: produce, api: .produce, version: 9)
        let fetch = FetchResponse(throttleTimeMs: 0, errorCode: ErrorCode.fetchSessionIdNotFound.rawValue, sessionId: 0, responses: [
            .init(topic: "a", topicId: .zero, partitions: [
                .init(partitionIndex: 0, errorCode: ErrorCode.offsetOutOfRange.rawValue, highWatermark: 0, lastStableOffset: 0,
                      logStartOffset: 0, abortedTransactions: nil, preferredReadReplica: -1, records: .empty),
            ]),
        ])
        metrics.countErrors(in: fetch, api: .fetch, version: 11)
        let scrape = registry.renderString()
        let errors = "ledgerstream_broker_request_errors_total"
        #expect(Self.value(scrape, #"\#(errors){api="Produce",version="9",error="UNKNOWN_TOPIC_OR_PARTITION"}"#) == 2)
        #expect(Self.value(scrape, #"\#(errors){api="Produce",version="9",error="NOT_LEADER_OR_FOLLOWER"}"#) == 1)
        #expect(Self.value(scrape, #"\#(errors){api="Fetch",version="11",error="FETCH_SESSION_ID_NOT_FOUND"}"#) == 1)
        #expect(Self.value(scrape, #"\#(errors){api="Fetch",version="11",error="OFFSET_OUT_OF_RANGE"}"#) == 1)
        #expect(!scrape.contains(#"error="NONE""#))
    }

    /// Requests through the broker: counted per API and version; an error in the answer, a malformed request and an
    /// unsupported version each show under the request's API.
    @Test func requestsAndTheirErrorsAreCounted() throws {
        let (harness, registry) = try Self.instrumented { $0.autoCreateTopics = false }
        defer { harness.close() }
        _ = try harness.call(MetadataRequest(topics: [], allowAutoTopicCreation: false), version: 9)
        let missing = try harness.produce("missing", batch: BrokerHarness.batch(["x"]))
        #expect(missing.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
        var malformed = ByteBufferAllocator().buffer(capacity: 16)
        malformed.writeInteger(Int16(3))  // Metadata v9, cut off after the header's correlation id
        malformed.writeInteger(Int16(9))
        malformed.writeInteger(Int32(7))
        guard case .closed = harness.sendRaw(malformed) else { Issue.record("a malformed request was answered"); return }
        var unsupported = ByteBufferAllocator().buffer(capacity: 16)
        unsupported.writeInteger(Int16(0))  // Produce v99
        unsupported.writeInteger(Int16(99))
        unsupported.writeInteger(Int32(8))
        guard case .closed = harness.sendRaw(unsupported) else { Issue.record("an unsupported version was answered"); return }

        let scrape = registry.renderString()
        #expect(Self.value(scrape, #"ledgerstream_broker_requests_total{api="Metadata",version="9"}"#) == 2)
        #expect(Self.value(scrape, #"ledgerstream_broker_requests_total{api="Produce",version="9"}"#) == 1)
        #expect(Self.value(scrape, #"ledgerstream_broker_requests_total{api="Produce",version="unsupported"}"#) == 1)
        let errors = "ledgerstream_broker_request_errors_total"
        #expect(Self.value(scrape, #"\#(errors){api="Produce",version="9",error="UNKNOWN_TOPIC_OR_PARTITION"}"#) == 1)
        #expect(Self.value(scrape, #"\#(errors){api="Metadata",version="9",error="INVALID_REQUEST"}"#) == 1)
        #expect(Self.value(scrape, #"\#(errors){api="Produce",version="unsupported",error="UNSUPPORTED_VERSION"}"#) == 1)
        #expect(Self.value(scrape, #"ledgerstream_broker_request_local_time_seconds_count{api="Produce"}"#) == 2)
    }

    /// Produce and fetch move the topic counters; the scrape-time collector shows each live partition's log and
    /// drops every series of a deleted topic.
    @Test func partitionsAndTopicTrafficFollowTheTopics() throws {
        let (harness, registry) = try Self.instrumented()
        defer { harness.close() }
        try harness.createTopic("kept", partitions: 2)
        try harness.createTopic("doomed")
        #expect(try harness.produce("kept", partition: 1, batch: BrokerHarness.batch(["a", "b", "c"])).errorCode == 0)
        #expect(try harness.produce("doomed", batch: BrokerHarness.batch(["z"])).errorCode == 0)
        let fetched = try harness.fetch("kept", partition: 1, offset: 1)
        #expect(try BrokerHarness.values(fetched.responses[0].partitions[0]).count == 3)  // the whole batch
        harness.broker.collectMetrics()

        var scrape = registry.renderString()
        #expect(Self.value(scrape, #"ledgerstream_broker_topic_records_in_total{topic="kept"}"#) == 3)
        #expect((Self.value(scrape, #"ledgerstream_broker_topic_bytes_in_total{topic="kept"}"#) ?? 0) > 61)
        #expect(Self.value(scrape, #"ledgerstream_broker_topic_records_out_total{topic="kept"}"#) == 3)
        #expect(Self.value(scrape, #"ledgerstream_broker_topic_bytes_out_total{topic="kept"}"#)
            == Self.value(scrape, #"ledgerstream_broker_topic_bytes_in_total{topic="kept"}"#))
        #expect(Self.value(scrape, #"ledgerstream_broker_log_end_offset{topic="kept",partition="1"}"#) == 3)
        #expect(Self.value(scrape, #"ledgerstream_broker_log_end_offset{topic="kept",partition="0"}"#) == 0)
        #expect(Self.value(scrape, #"ledgerstream_broker_log_start_offset{topic="kept",partition="1"}"#) == 0)
        #expect(Self.value(scrape, #"ledgerstream_broker_log_segments{topic="kept",partition="1"}"#) == 1)
        #expect(Self.value(scrape, #"ledgerstream_broker_log_size_bytes{topic="kept",partition="1"}"#)
            == Self.value(scrape, #"ledgerstream_broker_topic_bytes_in_total{topic="kept"}"#))
        #expect(Self.value(scrape, #"ledgerstream_broker_log_end_offset{topic="doomed",partition="0"}"#) == 1)

        let deleted = try harness.call(DeleteTopicsRequest(topicNames: ["doomed"], timeoutMs: 1), version: 5)
        #expect(deleted.responses[0].errorCode == 0)
        harness.broker.collectMetrics()
        scrape = registry.renderString()
        #expect(!scrape.contains(#"topic="doomed""#), "series of the deleted topic remain")
        #expect(harness.metrics.partitionSeriesCount == 2)
        #expect(Self.value(scrape, #"ledgerstream_broker_log_end_offset{topic="kept",partition="1"}"#) == 3)
        #expect(Self.value(scrape, "ledgerstream_broker_under_min_isr_partitions") == 0)
    }

    /// Groups by state and the rebalance count, read from the coordinator at scrape time.
    @Test func groupsAndProducerIdsAreCollected() throws {
        let (harness, registry) = try Self.instrumented()
        defer { harness.close() }
        let join = try harness.call(JoinGroupRequest(
            groupId: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: "", groupInstanceId: nil,
            protocolType: "consumer", protocols: [.init(name: "range", metadata: ByteBuffer())]), version: 3)
        #expect(join.errorCode == 0)
        let idempotent = try harness.call(InitProducerIdRequest(transactionalId: nil, transactionTimeoutMs: -1), version: 4)
        #expect(idempotent.errorCode == 0)
        harness.broker.collectMetrics()
        let scrape = registry.renderString()
        #expect(Self.value(scrape, #"ledgerstream_broker_groups{protocol="classic",state="CompletingRebalance"}"#) == 1)
        #expect(Self.value(scrape, #"ledgerstream_broker_groups{protocol="classic",state="Stable"}"#) == 0)
        #expect(Self.value(scrape, #"ledgerstream_broker_groups{protocol="consumer",state="Stable"}"#) == 0)
        #expect(Self.value(scrape, "ledgerstream_broker_group_rebalances_total") == 1)
        #expect(Self.value(scrape, "ledgerstream_broker_producer_ids_allocated_total") == 1)
        #expect(Self.value(scrape, "ledgerstream_broker_parked_fetches") == 0)
    }

    /// A topic only validated (CreateTopics validateOnly) gets no series.
    @Test func validatedTopicsGetNoSeries() throws {
        let (harness, registry) = try Self.instrumented()
        defer { harness.close() }
        _ = try harness.call(CreateTopicsRequest(topics: [.init(name: "dry", numPartitions: 1, replicationFactor: 1)],
                                                 timeoutMs: 1000, validateOnly: true), version: 5)
        harness.broker.collectMetrics()
        #expect(!registry.renderString().contains(#"topic="dry""#))
    }
}
