import FileSystem

/// A log-directory checkpoint file in Kafka's text format (`recovery-point-offset-checkpoint`,
/// `log-start-offset-checkpoint`): line 1 the format version `0`, line 2 the entry count, then one
/// `topic partition offset` line per partition. Written atomically (temporary file, fsync, rename).
struct OffsetCheckpoint {
    struct Key: Hashable {
        var topic: String
        var partition: Int32
    }

    let path: String
    let fileSystem: any FileSystem

    func write(_ offsets: [Key: Int64]) throws(StorageError) {
        var text = "0\n\(offsets.count)\n"
        for (key, offset) in offsets.sorted(by: { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }) {
            text += "\(key.topic) \(key.partition) \(offset)\n"
        }
        try io { () throws(FileSystemError) in try fileSystem.writeFileAtomically(path, contents: Array(text.utf8)) }
    }

    /// The offsets in the file; empty if it does not exist. A damaged file reads as empty: the only cost is that
    /// more segments are validated on the next open.
    func read() -> [Key: Int64] {
        guard fileSystem.exists(path), let bytes = try? fileSystem.readFile(path) else { return [:] }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 2, lines[0] == "0", let count = Int(lines[1]), count >= 0, lines.count >= 2 + count else {
            return [:]
        }
        var offsets: [Key: Int64] = [:]
        for line in lines[2..<(2 + count)] {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let partition = Int32(fields[1]), let offset = Int64(fields[2]) else { return [:] }
            offsets[Key(topic: String(fields[0]), partition: partition)] = offset
        }
        return offsets
    }
}
