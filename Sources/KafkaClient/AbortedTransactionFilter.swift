import KafkaProtocol
import NIOCore

/// A read_committed consumer's view of one partition's fetch response: drops the batches of aborted transactions,
/// which the broker still returns, using the response's list of aborted transactions (producer id and first offset)
/// and the ABORT markers in the data. Kafka's Java consumer algorithm (`CompletedFetch`): an aborted transaction
/// applies to its producer's transactional batches from its first offset until that producer's ABORT marker.
struct AbortedTransactionFilter {
    /// Not yet reached, ordered by first offset.
    private var pending: [FetchResponse.FetchableTopicResponse.PartitionData.AbortedTransaction]
    /// Producers whose transactional batches are being dropped.
    private var abortedProducers: Set<Int64> = []

    init(_ aborted: [FetchResponse.FetchableTopicResponse.PartitionData.AbortedTransaction]) {
        pending = aborted.sorted { $0.firstOffset > $1.firstOffset }  // popped from the end
    }

    /// Whether the batch's records reach the caller. Control batches never do; they end their producer's abort.
    mutating func shouldDeliver(_ header: RecordBatchHeader, batch: ByteBuffer) -> Bool {
        guard header.producerId >= 0 else { return !header.isControl }
        while let next = pending.last, next.firstOffset <= header.lastOffset {
            abortedProducers.insert(next.producerId)
            pending.removeLast()
        }
        if header.isControl {
            if ControlRecord(controlBatch: batch)?.kind == .abort { abortedProducers.remove(header.producerId) }
            return false
        }
        return !(header.isTransactional && abortedProducers.contains(header.producerId))
    }
}
