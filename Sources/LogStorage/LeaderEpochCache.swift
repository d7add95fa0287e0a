/// Which leader epoch wrote which offsets of a partition: Kafka's `LeaderEpochFileCache`, without the file.
///
/// An entry `(epoch, startOffset)` says that the leader of `epoch` wrote its first record at `startOffset`; the epoch
/// ends where the next entry starts (or at the log end, for the latest one). Entries are strictly increasing in both
/// epoch and start offset. Consumers and followers use this through OffsetForLeaderEpoch to find where their copy of
/// the log diverged from the leader's (KIP-101, KIP-320). Pure value: the owner persists it (``LeaderEpochCheckpoint``).
public struct LeaderEpochCache: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var epoch: Int32
        public var startOffset: Int64

        public init(epoch: Int32, startOffset: Int64) {
            self.epoch = epoch
            self.startOffset = startOffset
        }
    }

    /// Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.
    public static let undefinedEpoch: Int32 = -1
    public static let undefinedOffset: Int64 = -1

    /// Oldest first; epochs and start offsets strictly increasing.
    public private(set) var entries: [Entry]

    public init(entries: [Entry] = []) {
        self.entries = []
        for entry in entries { assign(epoch: entry.epoch, startOffset: entry.startOffset) }
    }

    public var latestEpoch: Int32? { entries.last?.epoch }
    public var earliestEntry: Entry? { entries.first }

    /// Records that `epoch` starts at `startOffset`. Like Kafka, entries that would break monotonicity (an equal or
    /// larger epoch, or a start at or after `startOffset`) are removed first; assigning the latest epoch again at the
    /// same or a later offset changes nothing. Returns whether the cache changed (and should be persisted).
    @discardableResult
    public mutating func assign(epoch: Int32, startOffset: Int64) -> Bool {
        precondition(epoch >= 0 && startOffset >= 0, "a leader epoch entry is never negative")
        if let last = entries.last, last.epoch == epoch, startOffset >= last.startOffset { return false }
        entries.removeAll { $0.epoch >= epoch || $0.startOffset >= startOffset }
        entries.append(Entry(epoch: epoch, startOffset: startOffset))
        return true
    }

    /// The answer to OffsetForLeaderEpoch for `requestedEpoch`: the largest known epoch at or below it and the start
    /// offset of the first epoch above it (the log end for the latest epoch), as Kafka's `endOffsetFor`. An epoch
    /// older than every entry answers with the first entry's start offset (the data before it is gone); an unknown
    /// epoch newer than every entry, or -1, answers (-1, -1).
    public func endOffset(for requestedEpoch: Int32, logEndOffset: Int64) -> (epoch: Int32, offset: Int64) {
        guard requestedEpoch != Self.undefinedEpoch else { return (Self.undefinedEpoch, Self.undefinedOffset) }
        if let latest = entries.last, latest.epoch == requestedEpoch { return (requestedEpoch, logEndOffset) }
        guard let higher = entries.firstIndex(where: { $0.epoch > requestedEpoch }) else {
            return (Self.undefinedEpoch, Self.undefinedOffset)
        }
        let start = entries[higher].startOffset
        return higher == 0 ? (requestedEpoch, start) : (entries[higher - 1].epoch, start)
    }

    /// The log was truncated to end at `endOffset`: entries starting at or after it are gone with their records.
    @discardableResult
    public mutating func truncateFromEnd(endOffset: Int64) -> Bool {
        guard endOffset >= 0, let last = entries.last, last.startOffset >= endOffset else { return false }
        entries.removeAll { $0.startOffset >= endOffset }
        return true
    }

    /// The log start moved to `startOffset`: entries wholly below it are dropped, and the last one starting at or
    /// below it now starts there (its epoch still covers the first remaining records).
    @discardableResult
    public mutating func truncateFromStart(startOffset: Int64) -> Bool {
        guard let covering = entries.lastIndex(where: { $0.startOffset <= startOffset }) else { return false }
        let kept = Entry(epoch: entries[covering].epoch, startOffset: startOffset)
        if covering == 0 && entries[0] == kept { return false }
        entries.removeFirst(covering + 1)
        entries.insert(kept, at: 0)
        return true
    }

    /// The epoch that wrote `offset`, or nil if no entry covers it (older than every entry).
    public func epoch(containing offset: Int64) -> Int32? {
        entries.last(where: { $0.startOffset <= offset })?.epoch
    }
}
