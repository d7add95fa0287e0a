import FileSystem
import KafkaProtocol
import NIOCore

@testable import LogStorage

/// What a test believes a partition log holds: the batches appended, in offset order, each tagged with a unique name
/// (its records' values are `tag-i-…`), and whether the broker acknowledged it and whether it is durable. The fault
/// tests compare a reopened log against it: nothing acknowledged lost, nothing unacknowledged half-visible.
struct LogModel {
    struct Entry: Equatable {
        var tag: String
        var count: Int
        var baseOffset: Int64
        /// The append returned success.
        var acknowledged: Bool
        /// Made durable by a sync (or by a power cut the entry survived): survives a power cut.
        var durable: Bool
    }

    private(set) var entries: [Entry] = []
    /// The highest log start offset seen: retention may have deleted anything below it.
    private(set) var logStartSeen: Int64 = 0

    var nextOffset: Int64 { entries.last.map { $0.baseOffset + Int64($0.count) } ?? logStartSeen }

    mutating func acknowledged(_ tag: String, count: Int, at baseOffset: Int64, durable: Bool) {
        entries.append(Entry(tag: tag, count: count, baseOffset: baseOffset, acknowledged: true, durable: durable))
    }

    /// Appends a batch of `count` records tagged `tag` to `log` and records it as acknowledged.
    mutating func append(_ tag: String, count: Int, to log: PartitionLog, durable: Bool) throws {
        let result = try log.append(makeBatch(count: count, valueSize: 30, tag: tag))
        acknowledged(tag, count: count, at: result.baseOffset, durable: durable)
    }

    /// An append that failed after it may have reached the file (an I/O error, not a full disk): a reopened log may
    /// hold it whole, or not at all.
    mutating func unacknowledged(_ tag: String, count: Int) {
        entries.append(Entry(tag: tag, count: count, baseOffset: nextOffset, acknowledged: false, durable: false))
    }

    /// A flush through `end` succeeded: everything below it is durable.
    mutating func synced(through end: Int64) {
        for index in entries.indices where entries[index].baseOffset + Int64(entries[index].count) <= end {
            entries[index].durable = true
        }
    }

    mutating func saw(logStart: Int64) {
        logStartSeen = max(logStartSeen, logStart)
    }

    /// Checks a reopened log against the model and adopts what it found (lost unacknowledged or unsynced entries are
    /// forgotten). Returns the problems found, empty when the log is as it may be.
    mutating func reconcile(with log: PartitionLog, afterPowerCut: Bool) -> [String] {
        var problems: [String] = []
        let found: [(base: Int64, tag: String, count: Int)]
        do {
            found = try Self.batches(of: log)
        } catch {
            return ["reading the reopened log failed: \(error)"]
        }
        let start = log.logStartOffset
        if start > logStartSeen { problems.append("log start \(start) is past the highest seen, \(logStartSeen)") }
        // Entries below the reopened log start went with retention (their segments were deleted).
        var index = entries.firstIndex { $0.baseOffset >= start } ?? entries.count
        if let first = found.first, let at = entries.firstIndex(where: { $0.baseOffset == first.base }), at < index {
            index = at  // a segment whose deletion was not yet durable came back
        }
        var expectedBase = found.first?.base ?? start
        var kept = entries[..<index].map { $0 }
        for batch in found {
            if batch.base != expectedBase { problems.append("gap: batch at \(batch.base), expected \(expectedBase)") }
            expectedBase = batch.base + Int64(batch.count)
            guard index < entries.count else {
                problems.append("batch \(batch.tag) at \(batch.base) was never appended (half-visible or invented)")
                continue
            }
            var entry = entries[index]
            if entry.tag != batch.tag || entry.count != batch.count || entry.baseOffset != batch.base {
                problems.append("found \(batch.tag)×\(batch.count) at \(batch.base), expected \(entry.tag)×\(entry.count) at \(entry.baseOffset)")
            }
            if afterPowerCut { entry.durable = true }
            kept.append(entry)
            index += 1
        }
        if log.logEndOffset != expectedBase { problems.append("log end \(log.logEndOffset) but batches end at \(expectedBase)") }
        for lost in entries[index...] where lost.acknowledged && lost.baseOffset >= logStartSeen && (lost.durable || !afterPowerCut) {
            problems.append("acknowledged \(lost.tag) at \(lost.baseOffset) was lost\(afterPowerCut ? " in a power cut" : "")")
        }
        entries = kept
        logStartSeen = max(min(logStartSeen, log.logEndOffset), start)
        return problems
    }

    /// Every batch in the log from its start: base offset, tag and record count; a batch whose records do not all
    /// carry the same tag in order 0, 1, … is reported with the tag "mixed".
    static func batches(of log: PartitionLog) throws -> [(base: Int64, tag: String, count: Int)] {
        var result: [(Int64, String, Int)] = []
        var offset = log.logStartOffset
        while offset < log.logEndOffset {
            var bytes = try log.readBytes(from: offset, maxBytes: 1 << 22)
            guard bytes.readableBytes > 0 else { break }
            while bytes.readableBytes >= RecordBatchHeader.size, let header = RecordBatchHeader(bytes),
                  let batch = bytes.readSlice(length: header.totalSize) {
                let values = try RecordBatchHeader.records(in: batch).map { $0.value.map { String(buffer: $0) } ?? "" }
                let tag = values.first.map { String($0.split(separator: "-")[0]) } ?? "empty"
                let wellFormed = values.enumerated().allSatisfy { $0.element.hasPrefix("\(tag)-\($0.offset)-") }
                result.append((header.baseOffset, wellFormed ? tag : "mixed", values.count))
                offset = header.nextOffset
            }
        }
        return result
    }
}
