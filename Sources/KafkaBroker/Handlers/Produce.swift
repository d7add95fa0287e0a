import KafkaProtocol
import LogStorage

// Produce (key 0), v3-10. Each partition's records are validated and appended by the partition log (CRC-32C,
// framing, idempotent sequence checks, offset assignment). acks 0/1/-1 are equivalent for durability on one broker:
// the answer is sent once the batch is in the page cache (it then survives a process kill; see the README for power
// loss). acks=0 gets no response; if such a request fails, the connection is closed, as Kafka does, so the producer
// notices. Parked fetches on the partitions written are woken at once.
extension Broker {
    func handleProduce(_ request: ProduceRequest, _ context: RequestContext) -> RequestOutcome {
        var responses: [ProduceResponse.TopicProduceResponse] = []
        var written: [(topic: String, partition: Int32)] = []
        var firstError: String?
        for topicData in request.topicData {
            let topic = topics.topic(named: topicData.name)
            var partitions: [ProduceResponse.TopicProduceResponse.PartitionProduceResponse] = []
            for data in topicData.partitionData {
                let result = producePartition(topic, data, request, context)
                if result.errorCode == 0 {
                    written.append((topicData.name, data.index))
                } else if firstError == nil {
                    firstError = "\(topicData.name)-\(data.index): \(ErrorCode(rawValue: result.errorCode)) \(result.errorMessage ?? "")"
                }
                partitions.append(result)
            }
            responses.append(.init(name: topicData.name, partitionResponses: partitions))
        }
        for (topic, partition) in written { purgatory.notify(topic: topic, partition: partition) }
        if request.acks == 0 {
            if let firstError { return .close(reason: "acks=0 produce failed, closing so the producer notices: \(firstError)") }
            return .noResponse
        }
        return context.respond(ProduceResponse(responses: responses, throttleTimeMs: 0))
    }

    private func producePartition(
        _ topic: Topic?, _ data: ProduceRequest.TopicProduceData.PartitionProduceData, _ request: ProduceRequest,
        _ context: RequestContext
    ) -> ProduceResponse.TopicProduceResponse.PartitionProduceResponse {
        typealias Response = ProduceResponse.TopicProduceResponse.PartitionProduceResponse
        func failure(_ code: ErrorCode, _ message: String) -> Response {
            Response(index: data.index, errorCode: code.rawValue, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1,
                     errorMessage: message)
        }
        guard [-1, 0, 1].contains(request.acks) else {
            return failure(.invalidRequiredAcks, "acks must be -1 (all), 0 or 1")
        }
        guard request.transactionalId == nil else {
            return failure(.transactionalIdAuthorizationFailed, "transactions are not supported by ledgerstream")
        }
        // Produce v0-v2 carry the legacy message sets (magic 0 and 1), which ledgerstream does not store. Those
        // versions are advertised anyway, as Kafka 3 does, because librdkafka before 2.11.1 refuses to compress
        // (gzip, snappy, lz4) for a broker whose Produce versions do not start at 0.
        guard context.version >= 3 else {
            return failure(.unsupportedForMessageFormat, "ledgerstream stores record batches v2 only: use Produce v3 or later")
        }
        guard let topic, let log = topic.log(data.index) else {
            return failure(.unknownTopicOrPartition, "This server does not host this topic-partition.")
        }
        guard case .bytes(let records)? = data.records, records.readableBytes > 0 else {
            return failure(context.version >= 8 ? .invalidRecord : .corruptMessage, "the request carries no record batch")
        }
        if let header = RecordBatchHeader(records), header.isTransactional {
            return failure(.transactionalIdAuthorizationFailed, "transactional batches are not supported by ledgerstream")
        }
        do {
            let result = try log.append(records, leaderEpoch: 0)
            return Response(index: data.index, errorCode: 0, baseOffset: result.baseOffset,
                            logAppendTimeMs: result.logAppendTimeMs, logStartOffset: result.logStartOffset)
        } catch {
            let code = Self.errorCode(for: error, version: context.version)
            if code == .kafkaStorageError {
                logger.error("append failed", metadata: ["log": "\(log.name)", "error": "\(error)"])
            }
            return failure(code, error.description)
        }
    }

    /// The Kafka error code for a storage failure.
    static func errorCode(for error: StorageError, version: Int16 = .max) -> ErrorCode {
        switch error {
        case .invalidBatch(let batchError):
            return batchError.isCorruption || version < 8 ? .corruptMessage : .invalidRecord
        case .batchTooLarge: return .messageTooLarge
        case .offsetOutOfRange: return .offsetOutOfRange
        case .producer(.outOfOrderSequence): return .outOfOrderSequenceNumber
        case .producer(.staleEpoch): return .invalidProducerEpoch
        case .closed: return .notLeaderOrFollower
        case .io, .unusableDirectory: return .kafkaStorageError
        }
    }
}
