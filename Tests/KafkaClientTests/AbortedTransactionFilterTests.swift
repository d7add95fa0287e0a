import KafkaProtocol
import NIOCore
import Testing

@testable import KafkaClient

/// The read_committed consumer's filter over one partition's fetch response (Kafka's CompletedFetch rules).
@Suite struct AbortedTransactionFilterTests {
    typealias Aborted = FetchResponse.FetchableTopicResponse.PartitionData.AbortedTransaction

    private func batch(_ pid: Int64, base: Int64, count: Int32, transactional: Bool = true) -> (RecordBatchHeader, ByteBuffer) {
        var builder = RecordBatchBuilder()
        builder.producerId = pid
        builder.producerEpoch = 0
        builder.baseSequence = 0
        builder.baseOffset = base
        builder.isTransactional = transactional
        for i in 0..<count { builder.append(ProducerRecord(key: nil, value: ByteBuffer(string: "\(i)"), timestamp: 1)) }
        let bytes = builder.build()
        return (RecordBatchHeader(bytes)!, bytes)
    }

    private func marker(_ pid: Int64, at offset: Int64, _ kind: ControlRecord.Kind) -> (RecordBatchHeader, ByteBuffer) {
        var bytes = ControlRecord(kind: kind).batch(producerId: pid, producerEpoch: 0, timestamp: 1)
        bytes.setInteger(offset, at: bytes.readerIndex, endianness: .big)
        return (RecordBatchHeader(bytes)!, bytes)
    }

    @Test func abortedBatchesAreDroppedUntilTheirProducersAbortMarker() {
        var filter = AbortedTransactionFilter([Aborted(producerId: 1, firstOffset: 0)])
        let sequence: [((RecordBatchHeader, ByteBuffer), Bool)] = [
            (batch(1, base: 0, count: 3), false),  // aborted transaction of producer 1
            (batch(2, base: 3, count: 2), true),  // producer 2, committed later
            (marker(1, at: 5, .abort), false),  // ends producer 1's abort
            (marker(2, at: 6, .commit), false),  // markers never reach the caller
            (batch(1, base: 7, count: 2), true),  // producer 1's next transaction
            (batch(3, base: 9, count: 1, transactional: false), true),  // idempotent, never filtered
            (batch(-1, base: 10, count: 1, transactional: false), true),  // plain
        ]
        for ((header, bytes), expected) in sequence {
            let delivered = filter.shouldDeliver(header, batch: bytes)
            #expect(delivered == expected, "batch at \(header.baseOffset)")
        }
    }

    @Test func anAbortedTransactionStartingLaterDoesNotDropEarlierBatches() {
        var filter = AbortedTransactionFilter([Aborted(producerId: 1, firstOffset: 4)])
        let early = batch(1, base: 0, count: 2)
        let late = batch(1, base: 4, count: 2)
        let deliveredEarly = filter.shouldDeliver(early.0, batch: early.1)
        let deliveredLate = filter.shouldDeliver(late.0, batch: late.1)
        #expect(deliveredEarly && !deliveredLate)
    }
}
