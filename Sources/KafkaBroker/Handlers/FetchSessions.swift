import KafkaProtocol

// The broker's side of incremental fetch sessions (KIP-227): turns a Fetch request into a session context
// (FetchSessionCache.newContext), the session's partitions back into the topics to read, and the answer into what
// the session caches and what the response carries. The session is updated once, with the response actually sent.
extension Broker {
    typealias SessionKey = FetchSessionCache.PartitionKey

    static func sessionKey(topicId: KafkaUUID, topic: String, partition: Int32, usesTopicIds: Bool) -> SessionKey {
        usesTopicIds ? SessionKey(topicId: topicId, topic: "", partition: partition)
            : SessionKey(topicId: .zero, topic: topic, partition: partition)
    }

    /// The session context for `request`, and the topics to read: the request's own, or for an incremental request
    /// every partition of the session with its cached fetch offset and max bytes.
    func fetchSessionContext(_ request: FetchRequest, version: Int16) -> (FetchSessionCache.Context, [FetchRequest.FetchTopic]) {
        let usesTopicIds = version >= 13
        let requested = sessionPartitions(request, usesTopicIds: usesTopicIds)
        let forgotten = request.forgottenTopicsData.flatMap { topic in
            topic.partitions.map { Self.sessionKey(topicId: topic.topicId, topic: topic.topic, partition: $0, usesTopicIds: usesTopicIds) }
        }
        let now = clock.wallClockMs()
        let context = fetchSessions.withLock {
            $0.newContext(sessionId: request.sessionId, epoch: request.sessionEpoch, usesTopicIds: usesTopicIds,
                          privileged: request.replicaId >= 0 && version <= 14, partitions: requested, forgotten: forgotten, nowMs: now)
        }
        guard case .incremental(_, _, let partitions) = context else { return (context, request.topics) }
        var fetchTopics: [FetchRequest.FetchTopic] = []
        for entry in partitions {
            let partition = FetchRequest.FetchTopic.FetchPartition(
                partition: entry.key.partition, currentLeaderEpoch: entry.currentLeaderEpoch, fetchOffset: entry.fetchOffset,
                partitionMaxBytes: entry.maxBytes)
            if let last = fetchTopics.last, last.topicId == entry.key.topicId && last.topic == entry.key.topic {
                fetchTopics[fetchTopics.count - 1].partitions.append(partition)
            } else {
                fetchTopics.append(.init(topic: entry.key.topic, topicId: entry.key.topicId, partitions: [partition]))
            }
        }
        return (context, fetchTopics)
    }

    /// The response to send for `response` (every partition read) under `context`, updating the session cache.
    func completeFetchSession(
        _ response: FetchResponse, context: FetchSessionCache.Context, request: FetchRequest, version: Int16, clientId: String
    ) -> FetchResponse {
        let usesTopicIds = version >= 13
        func answered() -> [FetchSessionCache.Answered] {
            response.responses.flatMap { topic in
                topic.partitions.map { data in
                    FetchSessionCache.Answered(
                        key: Self.sessionKey(topicId: topic.topicId, topic: topic.topic, partition: data.partitionIndex, usesTopicIds: usesTopicIds),
                        recordBytes: data.records?.byteCount ?? 0, highWatermark: data.highWatermark,
                        lastStableOffset: data.lastStableOffset, logStartOffset: data.logStartOffset, errorCode: data.errorCode)
                }
            }
        }
        var response = response
        let now = clock.wallClockMs()
        switch context {
        case .sessionless, .error:
            response.sessionId = FetchSessionCache.noSession
        case .full:
            let requested = sessionPartitions(request, usesTopicIds: usesTopicIds)
            let answers = answered()
            response.sessionId = fetchSessions.withLock {
                $0.completeFull(requested: requested, answered: answers, usesTopicIds: usesTopicIds,
                                privileged: request.replicaId >= 0 && version <= 14, nowMs: now)
            }
            logger.debug("fetch session opened", metadata: [
                "sessionId": "\(response.sessionId)", "partitions": "\(requested.count)", "client": "\(clientId)",
            ])
        case .incremental(let id, let epoch, _):
            let answers = answered()
            guard let keep = fetchSessions.withLock({ $0.completeIncremental(sessionId: id, epoch: epoch, answered: answers) }) else {
                return FetchResponse(throttleTimeMs: 0, errorCode: ErrorCode.invalidFetchSessionEpoch.rawValue, sessionId: id, responses: [])
            }
            response.sessionId = id
            response.responses = response.responses.compactMap { topic in
                var topic = topic
                topic.partitions.removeAll { data in
                    !keep.contains(Self.sessionKey(topicId: topic.topicId, topic: topic.topic, partition: data.partitionIndex,
                                                   usesTopicIds: usesTopicIds))
                }
                return topic.partitions.isEmpty ? nil : topic
            }
        }
        return response
    }

    /// The request's partitions as the session keeps them.
    private func sessionPartitions(_ request: FetchRequest, usesTopicIds: Bool) -> [FetchSessionCache.Requested] {
        request.topics.flatMap { topic in
            let name = usesTopicIds ? (topics.topic(id: topic.topicId)?.name ?? "") : topic.topic
            return topic.partitions.map { partition in
                FetchSessionCache.Requested(
                    key: Self.sessionKey(topicId: topic.topicId, topic: topic.topic, partition: partition.partition, usesTopicIds: usesTopicIds),
                    name: name, fetchOffset: partition.fetchOffset, maxBytes: partition.partitionMaxBytes,
                    currentLeaderEpoch: partition.currentLeaderEpoch)
            }
        }
    }
}
