import CoreMetrics
import KafkaProtocol
import KafkaSecurity
import Synchronization

// InitProducerId (key 22), v0-5. Idempotent producers (TransactionalId null) always get a new, never reused
// producer id with epoch 0, as Apache Kafka does; the transaction timeout is ignored for them (clients send -1, 0 or
// 2147483647). With a TransactionalId the transaction coordinator answers: the id's producer id with its next epoch
// (fencing older instances and aborting their open transaction), or KIP-360's retry/bump rules when the request (v3+)
// names the producer's current id and epoch.
//
// ACLs: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); an idempotent producer needs
// IDEMPOTENT_WRITE on the cluster or WRITE on some topic (CLUSTER_AUTHORIZATION_FAILED), as Kafka 3.x.
extension Broker {
    func handleInitProducerId(_ request: InitProducerIdRequest, _ context: RequestContext) -> RequestOutcome {
        func answer(_ error: ErrorCode, _ producerId: Int64 = -1, _ epoch: Int16 = -1) -> RequestOutcome {
            context.respond(InitProducerIdResponse(throttleTimeMs: 0, errorCode: error.rawValue,
                                                   producerId: error == .none ? producerId : -1,
                                                   producerEpoch: error == .none ? epoch : -1))
        }
        guard let transactionalId = request.transactionalId else {
            guard context.authorize(.idempotentWrite, .cluster)
                || security.authorizeAny(context.principal, host: context.clientHost, .write, type: .topic)
            else { return answer(.clusterAuthorizationFailed) }
            do {
                return answer(.none, try producerIds.next(), 0)
            } catch {
                logger.error("allocating a producer id failed", metadata: ["error": "\(error)"])
                return answer(.coordinatorNotAvailable)
            }
        }
        guard context.authorize(.write, transactionalId: transactionalId) else { return answer(.transactionalIdAuthorizationFailed) }
        // Both or neither of the current id and epoch (v3+); one without the other is malformed.
        var expected: (producerId: Int64, epoch: Int16)?
        if context.version >= 3 {
            switch (request.producerId, request.producerEpoch) {
            case (-1, -1): expected = nil
            case (-1, _), (_, -1): return answer(.invalidRequest)
            case (let producerId, let epoch): expected = (producerId, epoch)
            }
        }
        let result = transactions.initProducerId(
            transactionalId: transactionalId, timeoutMs: request.transactionTimeoutMs, expected: expected)
        return answer(Self.fencing(result.error, knownFrom: 4, version: context.version), result.producerId, result.producerEpoch)
    }
}

/// Hands out producer ids from blocks reserved in the metadata store, so ids are unique across restarts.
final class ProducerIdAllocator: Sendable {
    static let blockSize: Int64 = 1000
    private let store: MetadataStore
    private let block = Mutex<Range<Int64>>(0..<0)
    /// Counts every id handed out.
    private let allocated: Counter

    init(store: MetadataStore, allocated: Counter) {
        self.store = store
        self.allocated = allocated
    }

    func next() throws -> Int64 {
        try block.withLock { block in
            if block.isEmpty { block = try store.reserveProducerIds(Self.blockSize) }
            let id = block.lowerBound
            block = (id + 1)..<block.upperBound
            allocated.increment()
            return id
        }
    }
}
