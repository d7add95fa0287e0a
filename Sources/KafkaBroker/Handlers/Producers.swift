import KafkaProtocol
import Synchronization

// InitProducerId (key 22), v0-5. Idempotent producers (TransactionalId null) always get a new, never reused
// producer id with epoch 0, as Apache Kafka does; the transaction timeout is ignored for them (clients send -1, 0 or
// 2147483647). Transactions are not supported: a TransactionalId is refused.
extension Broker {
    func handleInitProducerId(_ request: InitProducerIdRequest, _ context: RequestContext) -> RequestOutcome {
        guard request.transactionalId == nil else {
            return context.respond(InitProducerIdResponse(
                throttleTimeMs: 0, errorCode: ErrorCode.transactionalIdAuthorizationFailed.rawValue, producerId: -1, producerEpoch: -1))
        }
        do {
            let id = try producerIds.next()
            return context.respond(InitProducerIdResponse(throttleTimeMs: 0, errorCode: 0, producerId: id, producerEpoch: 0))
        } catch {
            logger.error("allocating a producer id failed", metadata: ["error": "\(error)"])
            return context.respond(InitProducerIdResponse(
                throttleTimeMs: 0, errorCode: ErrorCode.coordinatorNotAvailable.rawValue, producerId: -1, producerEpoch: -1))
        }
    }
}

/// Hands out producer ids from blocks reserved in the metadata store, so ids are unique across restarts.
final class ProducerIdAllocator: Sendable {
    static let blockSize: Int64 = 1000
    private let store: MetadataStore
    private let block = Mutex<Range<Int64>>(0..<0)

    init(store: MetadataStore) {
        self.store = store
    }

    func next() throws -> Int64 {
        try block.withLock { block in
            if block.isEmpty { block = try store.reserveProducerIds(Self.blockSize) }
            let id = block.lowerBound
            block = (id + 1)..<block.upperBound
            return id
        }
    }
}
