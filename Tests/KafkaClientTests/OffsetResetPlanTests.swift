import KafkaProtocol
import Testing

@testable import KafkaClient

/// `group reset-offsets` planning: current offsets + target + log bounds → new offsets, as kafka-consumer-groups.sh.
@Suite struct OffsetResetPlanTests {
    let p0 = TopicPartition(topic: "t", partition: 0)
    let p1 = TopicPartition(topic: "t", partition: 1)
    var bounds: [TopicPartition: PartitionLogBounds] {
        [p0: PartitionLogBounds(logStart: 10, logEnd: 50, offsetForTime: 30), p1: PartitionLogBounds(logStart: 0, logEnd: 5)]
    }

    func plan(_ target: OffsetResetTarget, committed: [TopicPartition: Int64] = [:]) throws -> [Int64] {
        try planOffsetReset(target: target, partitions: [p1, p0], committed: committed, bounds: bounds).map(\.new)
    }

    @Test func earliestAndLatestAreTheLogBounds() throws {
        #expect(try plan(.earliest) == [10, 0])
        #expect(try plan(.latest) == [50, 5])
    }

    @Test func explicitOffsetsAreClamped() throws {
        // Goal: checkOffsetsRange: below the log start → start, above the log end → end.
        #expect(try plan(.offset(3)) == [10, 3])
        #expect(try plan(.offset(60)) == [50, 5])
    }

    @Test func datetimeFallsBackToTheLogEnd() throws {
        // Goal: no record at or after the time → log end (Kafka asks for the end offsets of those partitions).
        #expect(try plan(.datetime(1_700_000_000_000)) == [30, 5])
    }

    @Test func shiftMovesTheCommittedOffsetWithinBounds() throws {
        let committed = [p0: Int64(20), p1: Int64(4)]
        #expect(try plan(.shiftBy(-15), committed: committed) == [10, 0])
        #expect(try plan(.shiftBy(2), committed: committed) == [22, 5])
        #expect(try plan(.shiftBy(Int64.max), committed: committed) == [50, 5])
        let result = try planOffsetReset(target: .shiftBy(1), partitions: [p0], committed: committed, bounds: bounds)
        #expect(result == [PartitionOffsetReset(partition: p0, current: 20, new: 21)])
    }

    @Test func shiftNeedsACommittedOffset() {
        #expect(throws: OffsetResetError.noCommittedOffset(p1)) { try plan(.shiftBy(1), committed: [p0: 20]) }
    }

    @Test func unknownPartitionsAreRefused() {
        let p9 = TopicPartition(topic: "t", partition: 9)
        #expect(throws: OffsetResetError.unknownPartition(p9)) {
            try planOffsetReset(target: .earliest, partitions: [p9], committed: [:], bounds: bounds)
        }
    }
}
