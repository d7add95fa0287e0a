import KafkaProtocol

/// Where `group reset-offsets` moves a group's positions (kafka-consumer-groups.sh --reset-offsets --to-…).
public enum OffsetResetTarget: Sendable, Equatable {
    case earliest
    case latest
    case offset(Int64)
    /// The first offset whose timestamp is at or after this time (ms since the epoch), found with ListOffsets.
    case datetime(Int64)
    case shiftBy(Int64)
}

/// One partition of a reset: where the group is and where it will be.
public struct PartitionOffsetReset: Sendable, Equatable {
    public var partition: TopicPartition
    /// The committed offset, nil when the group has none for the partition.
    public var current: Int64?
    public var new: Int64
}

/// A partition's log bounds and, for `--to-datetime`, the offset found for the time (nil: no record that late).
public struct PartitionLogBounds: Sendable, Equatable {
    public var logStart: Int64
    public var logEnd: Int64
    public var offsetForTime: Int64?

    public init(logStart: Int64, logEnd: Int64, offsetForTime: Int64? = nil) {
        self.logStart = logStart
        self.logEnd = logEnd
        self.offsetForTime = offsetForTime
    }
}

public enum OffsetResetError: Error, Equatable, CustomStringConvertible {
    /// --shift-by needs a committed offset to shift.
    case noCommittedOffset(TopicPartition)
    case unknownPartition(TopicPartition)

    public var description: String {
        switch self {
        case .noCommittedOffset(let p):
            "Cannot shift offset for partition \(p.topic)-\(p.partition) since there is no current committed offset"
        case .unknownPartition(let p): "partition \(p.topic)-\(p.partition) does not exist"
        }
    }
}

/// The new offsets as kafka-consumer-groups.sh computes them (ConsumerGroupCommand.prepareOffsetsToReset): earliest
/// and latest are the log start and end; --to-datetime takes the offset ListOffsets found for the time, or the log
/// end when no record is that recent; --to-offset and --shift-by (from the committed offset) are clamped into
/// [log start, log end] (checkOffsetsRange). Pure: the caller fetches offsets and bounds and commits the result.
public func planOffsetReset(
    target: OffsetResetTarget, partitions: [TopicPartition], committed: [TopicPartition: Int64],
    bounds: [TopicPartition: PartitionLogBounds]
) throws(OffsetResetError) -> [PartitionOffsetReset] {
    try partitions.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }.map { partition throws(OffsetResetError) in
        guard let bound = bounds[partition] else { throw .unknownPartition(partition) }
        let current = committed[partition]
        let new: Int64
        switch target {
        case .earliest: new = bound.logStart
        case .latest: new = bound.logEnd
        case .datetime: new = bound.offsetForTime ?? bound.logEnd
        case .offset(let offset): new = min(max(offset, bound.logStart), bound.logEnd)
        case .shiftBy(let delta):
            guard let current else { throw .noCommittedOffset(partition) }
            let (shifted, overflow) = current.addingReportingOverflow(delta)
            new = overflow ? (delta > 0 ? bound.logEnd : bound.logStart) : min(max(shifted, bound.logStart), bound.logEnd)
        }
        return PartitionOffsetReset(partition: partition, current: current, new: new)
    }
}
