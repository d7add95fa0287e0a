import KafkaProtocol

/// The per-topic settings of a log, under Kafka's topic config names, with Kafka's defaults.
///
/// A topic's effective config is the broker's defaults (from `server.properties`, Kafka's `log.*` names) overridden
/// by the topic's own settings (CreateTopics configs, `topic create --config`). Only the keys below are accepted;
/// an unknown key or a bad value is a ``LogConfigError`` naming the key, and changes nothing.
public struct LogConfig: Sendable, Equatable {
    /// Roll a new segment once the active one would exceed this many bytes (1 GiB).
    public var segmentBytes: Int = 1 << 30
    /// Roll a new segment once the active one's first batch is this old (7 days).
    public var segmentMs: Int64 = 604_800_000
    /// Preallocated size of each index file (10 MiB: 1,310,720 offset entries). A full index forces a roll.
    public var segmentIndexBytes: Int = 10 << 20
    /// Bytes appended between two offset index entries (4 KiB, Kafka's default).
    public var indexIntervalBytes: Int = 4096
    /// Delete whole segments whose newest record is older than this (7 days); -1 keeps everything.
    public var retentionMs: Int64 = 604_800_000
    /// Delete the oldest segments while the log is larger than this; -1 means no size limit.
    public var retentionBytes: Int64 = -1
    /// fsync after this many messages; Int64.max (Kafka's default) leaves flushing to the OS.
    public var flushMessages: Int64 = .max
    /// fsync when the oldest unflushed data is this old; Int64.max leaves flushing to the OS.
    public var flushMs: Int64 = .max
    /// Largest record batch accepted (1 MiB + 12 bytes, Kafka's default).
    public var maxMessageBytes: Int = 1_048_588
    /// CreateTime keeps producer timestamps; LogAppendTime stamps batches with the broker's clock.
    public var timestampType: TimestampType = .createTime
    /// `cleanup.policy`: whether old segments are deleted by retention, compacted, or both.
    public var cleanupPolicy: CleanupPolicy = .delete
    /// Compact a log only once this fraction of it (by bytes) has not been cleaned yet (0.5).
    public var minCleanableDirtyRatio: Double = 0.5
    /// Records younger than this are never compacted (0: no lag).
    public var minCompactionLagMs: Int64 = 0
    /// A log whose oldest dirty record is older than this is compacted whatever its dirty ratio (Long.MAX: never).
    public var maxCompactionLagMs: Int64 = .max
    /// How long tombstones (and transaction markers) survive after the cleaner first saw them (1 day), so that a
    /// consumer reading from the start sees the delete (Kafka's KIP-534 delete horizon).
    public var deleteRetentionMs: Int64 = 86_400_000
    /// The explicitly set keys and their values, as given (shown by DescribeConfigs as DYNAMIC_TOPIC_CONFIG).
    public private(set) var overrides: [String: String] = [:]

    public init() {}

    /// Applies `settings` (Kafka topic config names) on top of this config. Throws on the first bad entry and then
    /// leaves `self` unchanged.
    public func applying(_ settings: [String: String]) throws(LogConfigError) -> LogConfig {
        var config = self
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) {
            try config.set(key, value)
        }
        return config
    }

    private mutating func set(_ key: String, _ value: String) throws(LogConfigError) {
        guard let descriptor = LogConfig.keys.first(where: { $0.name == key }) else {
            throw .unknownKey(key)
        }
        try descriptor.apply(&self, value)
        overrides[key] = value
    }

    /// Every supported key with its effective value and whether it was set explicitly, in name order.
    public var entries: [(name: String, value: String, isOverride: Bool)] {
        LogConfig.keys.map { ($0.name, $0.read(self), overrides[$0.name] != nil) }
    }

    /// The broker-level property (Kafka's `server.properties` name) that sets each topic key's default.
    public static let brokerPropertyNames: [String: String] = [
        "log.segment.bytes": "segment.bytes",
        "log.roll.ms": "segment.ms",
        "log.roll.hours": "segment.ms",
        "log.index.size.max.bytes": "segment.index.bytes",
        "log.index.interval.bytes": "index.interval.bytes",
        "log.retention.ms": "retention.ms",
        "log.retention.minutes": "retention.ms",
        "log.retention.hours": "retention.ms",
        "log.retention.bytes": "retention.bytes",
        "log.flush.interval.messages": "flush.messages",
        "log.flush.interval.ms": "flush.ms",
        "message.max.bytes": "max.message.bytes",
        "log.message.timestamp.type": "message.timestamp.type",
        "log.cleanup.policy": "cleanup.policy",
        "log.cleaner.min.cleanable.ratio": "min.cleanable.dirty.ratio",
        "log.cleaner.delete.retention.ms": "delete.retention.ms",
        "log.cleaner.min.compaction.lag.ms": "min.compaction.lag.ms",
        "log.cleaner.max.compaction.lag.ms": "max.compaction.lag.ms",
    ]

    /// Converts a broker property value to the topic key's unit (hours and minutes become milliseconds).
    public static func topicValue(forBrokerProperty property: String, value: String) throws(LogConfigError) -> (String, String) {
        guard let key = brokerPropertyNames[property] else { throw .unknownKey(property) }
        let multiplier: Int64
        switch property {
        case "log.roll.hours", "log.retention.hours": multiplier = 3_600_000
        case "log.retention.minutes": multiplier = 60_000
        default: return (key, value)
        }
        guard let number = Int64(value) else { throw .invalidValue(key: property, value: value, expected: "an integer") }
        return (key, number < 0 ? "-1" : String(number * multiplier))
    }

    struct Key: Sendable {
        let name: String
        let apply: @Sendable (inout LogConfig, String) throws(LogConfigError) -> Void
        let read: @Sendable (LogConfig) -> String
    }

    private static func integer(
        _ name: String, _ range: ClosedRange<Int64>,
        get: @escaping @Sendable (LogConfig) -> Int64, set: @escaping @Sendable (inout LogConfig, Int64) -> Void
    ) -> Key {
        Key(name: name, apply: { (config: inout LogConfig, value: String) throws(LogConfigError) in
            guard let number = Int64(value), range.contains(number) else {
                throw .invalidValue(key: name, value: value, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            set(&config, number)
        }, read: { String(get($0)) })
    }

    /// The accepted topic config keys. Positions in the 32-bit relative offsets of index entries limit
    /// segment.bytes to Int32.max, as in Kafka.
    static let keys: [Key] = [
        Key(name: "cleanup.policy", apply: { (config: inout LogConfig, value: String) throws(LogConfigError) in
            guard let policy = CleanupPolicy(parsing: value) else {
                throw .invalidValue(key: "cleanup.policy", value: value, expected: "delete, compact or compact,delete")
            }
            config.cleanupPolicy = policy
        }, read: { $0.cleanupPolicy.description }),
        Key(name: "compression.type", apply: { (_: inout LogConfig, value: String) throws(LogConfigError) in
            guard value == "producer" else {
                throw .invalidValue(key: "compression.type", value: value,
                                    expected: "producer (batches are stored as the producer compressed them)")
            }
        }, read: { _ in "producer" }),
        integer("delete.retention.ms", 0...Int64.max, get: { $0.deleteRetentionMs }, set: { $0.deleteRetentionMs = $1 }),
        integer("flush.messages", 1...Int64.max, get: { $0.flushMessages }, set: { $0.flushMessages = $1 }),
        integer("flush.ms", 0...Int64.max, get: { $0.flushMs }, set: { $0.flushMs = $1 }),
        integer("index.interval.bytes", 0...Int64(Int32.max), get: { Int64($0.indexIntervalBytes) }, set: { $0.indexIntervalBytes = Int($1) }),
        integer("max.compaction.lag.ms", 1...Int64.max, get: { $0.maxCompactionLagMs }, set: { $0.maxCompactionLagMs = $1 }),
        integer("max.message.bytes", 0...Int64(Int32.max), get: { Int64($0.maxMessageBytes) }, set: { $0.maxMessageBytes = Int($1) }),
        Key(name: "message.timestamp.type", apply: { (config: inout LogConfig, value: String) throws(LogConfigError) in
            switch value {
            case "CreateTime": config.timestampType = .createTime
            case "LogAppendTime": config.timestampType = .logAppendTime
            default: throw .invalidValue(key: "message.timestamp.type", value: value, expected: "CreateTime or LogAppendTime")
            }
        }, read: { $0.timestampType == .createTime ? "CreateTime" : "LogAppendTime" }),
        Key(name: "min.cleanable.dirty.ratio", apply: { (config: inout LogConfig, value: String) throws(LogConfigError) in
            guard let ratio = Double(value), (0...1).contains(ratio) else {
                throw .invalidValue(key: "min.cleanable.dirty.ratio", value: value, expected: "a number in 0...1")
            }
            config.minCleanableDirtyRatio = ratio
        }, read: { String($0.minCleanableDirtyRatio) }),
        integer("min.compaction.lag.ms", 0...Int64.max, get: { $0.minCompactionLagMs }, set: { $0.minCompactionLagMs = $1 }),
        Key(name: "min.insync.replicas", apply: { (_: inout LogConfig, value: String) throws(LogConfigError) in
            guard value == "1" else {
                throw .invalidValue(key: "min.insync.replicas", value: value, expected: "1 (single broker)")
            }
        }, read: { _ in "1" }),
        integer("retention.bytes", -1...Int64.max, get: { $0.retentionBytes }, set: { $0.retentionBytes = $1 }),
        integer("retention.ms", -1...Int64.max, get: { $0.retentionMs }, set: { $0.retentionMs = $1 }),
        integer("segment.bytes", 14...Int64(Int32.max), get: { Int64($0.segmentBytes) }, set: { $0.segmentBytes = Int($1) }),
        integer("segment.index.bytes", 4096...Int64(Int32.max), get: { Int64($0.segmentIndexBytes) }, set: { $0.segmentIndexBytes = Int($1) }),
        integer("segment.ms", 1...Int64.max, get: { $0.segmentMs }, set: { $0.segmentMs = $1 }),
    ]

    public static var keyNames: [String] { keys.map(\.name) }
}

/// Kafka's `cleanup.policy`: a comma-separated list of `delete` (retention removes old segments) and `compact` (the
/// cleaner keeps the latest record per key), in either order.
public struct CleanupPolicy: Sendable, Equatable, CustomStringConvertible {
    public var delete: Bool
    public var compact: Bool

    public static let delete = CleanupPolicy(delete: true, compact: false)
    public static let compact = CleanupPolicy(delete: false, compact: true)

    public init(delete: Bool, compact: Bool) {
        self.delete = delete
        self.compact = compact
    }

    /// Nil for an empty list or an unknown word. Spaces around words are ignored, as Kafka's list parsing does.
    public init?(parsing text: String) {
        let words = text.split(separator: ",").map { $0.trimmingCharacters(in: " ") }
        guard !words.isEmpty, words.allSatisfy({ $0 == "delete" || $0 == "compact" }) else { return nil }
        self.init(delete: words.contains("delete"), compact: words.contains("compact"))
    }

    public var description: String {
        switch (compact, delete) {
        case (true, true): return "compact,delete"
        case (true, false): return "compact"
        default: return "delete"
        }
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop(while: { $0 == set }).reversed().drop(while: { $0 == set }).reversed())
    }
}

/// A topic or broker setting that ledgerstream cannot accept (Kafka's INVALID_CONFIG).
public enum LogConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownKey(String)
    case invalidValue(key: String, value: String, expected: String)

    public var description: String {
        switch self {
        case .unknownKey(let key):
            return "unknown config '\(key)' (supported: \(LogConfig.keyNames.joined(separator: ", ")))"
        case .invalidValue(let key, let value, let expected):
            return "invalid value '\(value)' for \(key): expected \(expected)"
        }
    }
}
