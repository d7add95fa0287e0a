import KafkaProtocol
import KafkaSecurity
import LogStorage

// Produce (key 0), v3-10. Each partition's records are validated and appended by the partition log (CRC-32C,
// framing, idempotent sequence checks, offset assignment). acks 0/1/-1 are equivalent for durability on one broker:
// the answer is sent once the batch is in the page cache (it then survives a process kill; see the README for power
// loss). acks=0 gets no response; if such a request fails, the connection is closed, as Kafka does, so the producer
// notices. Parked fetches on the partitions written are woken at once.
//
// Transactions: every batch of the request is looked at. Transactional batches need the request's transactional id
// (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka answers a producer not allowed to use one) and one producer
// id and epoch across the request (else INVALID_PRODUCER_ID_MAPPING); both refuse the whole request. Each partition's
// transactional batches are then checked against the transaction coordinator under the log's lock (Kafka's KIP-890
// verification): the partition must be in the producer's open transaction (INVALID_TXN_STATE), at its current epoch
// (INVALID_PRODUCER_EPOCH), and the transaction not being decided (NOT_ENOUGH_REPLICAS, retriable).
extension Broker {
    func handleProduce(_ request: ProduceRequest, _ context: RequestContext) -> RequestOutcome {
        typealias PartitionResponse = ProduceResponse.TopicProduceResponse.PartitionProduceResponse
        var responses: [ProduceResponse.TopicProduceResponse] = []
        var written: [(topic: String, partition: Int32)] = []
        var firstError: String?
        let refusal = transactionalRefusal(request, context)
        for topicData in request.topicData {
            let topic = topics.topic(named: topicData.name)
            // ACLs: WRITE on the topic, checked before existence (an unauthorized client learns nothing).
            let mayWrite = context.authorize(.write, topic: topicData.name)
            var partitions: [PartitionResponse] = []
            for data in topicData.partitionData {
                let result: PartitionResponse
                if !mayWrite {
                    result = PartitionResponse(
                        index: data.index, errorCode: ErrorCode.topicAuthorizationFailed.rawValue, baseOffset: -1,
                        logAppendTimeMs: -1, logStartOffset: -1,
                        errorMessage: "\(context.principal) is not authorized to Write to topic \(topicData.name)")
                } else if let refusal {
                    result = PartitionResponse(
                        index: data.index, errorCode: refusal.rawValue, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1,
                        errorMessage: refusal == .transactionalIdAuthorizationFailed
                            ? "transactional batches need the request's transactional id"
                            : "transactional batches of more than one producer in one request")
                } else {
                    result = producePartition(topic, topicData.name, data, request, context)
                }
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

    /// A request-wide refusal of transactional batches, if any (see the comment at the top).
    /// With ACLs, transactional batches also need WRITE on the transactional id.
    private func transactionalRefusal(_ request: ProduceRequest, _ context: RequestContext) -> ErrorCode? {
        var producer: (id: Int64, epoch: Int16)?
        var refusal: ErrorCode?
        for topicData in request.topicData {
            for data in topicData.partitionData {
                guard case .bytes(let records)? = data.records else { continue }
                RecordBatchHeader.forEachHeader(in: records) { header in
                    guard header.isTransactional else { return true }
                    if request.transactionalId == nil {
                        refusal = .transactionalIdAuthorizationFailed
                    } else if let id = request.transactionalId, !context.authorize(.write, transactionalId: id) {
                        refusal = .transactionalIdAuthorizationFailed
                    } else if let producer, producer != (header.producerId, header.producerEpoch) {
                        refusal = .invalidProducerIdMapping
                    }
                    producer = (header.producerId, header.producerEpoch)
                    return refusal == nil
                }
                if let refusal { return refusal }
            }
        }
        return nil
    }

    private func producePartition(
        _ topic: Topic?, _ topicName: String, _ data: ProduceRequest.TopicProduceData.PartitionProduceData,
        _ request: ProduceRequest, _ context: RequestContext
    ) -> ProduceResponse.TopicProduceResponse.PartitionProduceResponse {
        typealias Response = ProduceResponse.TopicProduceResponse.PartitionProduceResponse
        func failure(_ code: ErrorCode, _ message: String) -> Response {
            Response(index: data.index, errorCode: code.rawValue, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1,
                     errorMessage: message)
        }
        guard [-1, 0, 1].contains(request.acks) else {
            return failure(.invalidRequiredAcks, "acks must be -1 (all), 0 or 1")
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
        do {
            let result = try log.append(records, verify: transactionCheck(request.transactionalId, topicName, data.index))
            if let traffic = topic.metrics, !result.wasDuplicate {
                traffic.bytesIn.increment(by: result.byteCount)
                traffic.recordsIn.increment(by: result.recordCount)
            }
            return Response(index: data.index, errorCode: 0, baseOffset: result.baseOffset,
                            logAppendTimeMs: result.logAppendTimeMs, logStartOffset: result.logStartOffset)
        } catch {
            let code = Self.errorCode(for: error, version: context.version)
            // An offline or full log directory is logged once by its health, not once per request.
            if code == .kafkaStorageError, case .io = error {
                logger.error("append failed", metadata: ["log": "\(log.name)", "error": "\(error)"])
            }
            return failure(code, error.description)
        }
    }

    /// The check run under the log's lock for a partition's transactional batches: the coordinator must have this
    /// partition in the producer's open transaction.
    private func transactionCheck(
        _ transactionalId: String?, _ topic: String, _ partition: Int32
    ) -> (@Sendable ([RecordBatchHeader]) throws(StorageError) -> Void)? {
        guard let transactionalId else { return nil }
        let transactions = self.transactions
        let key = TopicPartition(topic: topic, partition: partition)
        return { headers throws(StorageError) in
            for header in headers where header.isTransactional {
                let verdict = transactions.verifyWrite(transactionalId: transactionalId, producerId: header.producerId,
                                                       producerEpoch: header.producerEpoch, partition: key)
                guard verdict == .none else {
                    throw .refused(verdict, reason: "transactional batch of producer \(header.producerId) (epoch \(header.producerEpoch)) for \(key): \(verdict)")
                }
            }
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
        case .producer(.nonTransactionalWriteInTransaction): return .invalidTxnState
        case .refused(let code, _): return code
        case .closed: return .notLeaderOrFollower
        case .io, .noSpace, .outOfResources, .logDirectoryOffline, .unusableDirectory: return .kafkaStorageError
        }
    }
}
