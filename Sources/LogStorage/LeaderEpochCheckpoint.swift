import FileSystem

/// A partition's `leader-epoch-checkpoint` file in Kafka's format (version 0): line 1 the version `0`, line 2 the
/// entry count, then one `epoch startOffset` line per entry, oldest first. Written atomically (temporary file, fsync,
/// rename, directory sync) so a crash leaves the old file or the new one.
struct LeaderEpochCheckpoint {
    static let fileName = "leader-epoch-checkpoint"

    let path: String
    let fileSystem: any FileSystem

    init(directory: String, fileSystem: any FileSystem) {
        self.path = directory + "/" + Self.fileName
        self.fileSystem = fileSystem
    }

    static func encode(_ entries: [LeaderEpochCache.Entry]) -> [UInt8] {
        var text = "0\n\(entries.count)\n"
        for entry in entries { text += "\(entry.epoch) \(entry.startOffset)\n" }
        return Array(text.utf8)
    }

    /// The entries of a well-formed file; nil for a damaged one (wrong version, count or line shape, or entries that
    /// are not strictly increasing), which the log then rebuilds from its batches.
    static func decode(_ bytes: [UInt8]) -> [LeaderEpochCache.Entry]? {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 2, lines[0] == "0", let count = Int(lines[1]), count >= 0, lines.count >= 2 + count,
              lines[(2 + count)...].allSatisfy(\.isEmpty) else { return nil }
        var entries: [LeaderEpochCache.Entry] = []
        for line in lines[2..<(2 + count)] {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, let epoch = Int32(fields[0]), let offset = Int64(fields[1]), epoch >= 0, offset >= 0
            else { return nil }
            if let previous = entries.last, previous.epoch >= epoch || previous.startOffset >= offset { return nil }
            entries.append(.init(epoch: epoch, startOffset: offset))
        }
        return entries
    }

    func write(_ entries: [LeaderEpochCache.Entry]) throws(StorageError) {
        try io { () throws(FileSystemError) in try fileSystem.writeFileAtomically(path, contents: Self.encode(entries)) }
    }

    /// nil when the file is missing or damaged; an unreadable one (an I/O error) fails the log's open like any other.
    func read() throws(StorageError) -> [LeaderEpochCache.Entry]? {
        guard fileSystem.exists(path) else { return nil }
        return Self.decode(try io { () throws(FileSystemError) in try fileSystem.readFile(path) })
    }
}
