import FileSystem
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import LogStorage

/// An index file is sparse: a store into one of its pages that the disk cannot back kills the process (SIGBUS), as
/// the broker did on a full disk after a batch's own write had fitted. Index entries take their blocks from fallocate
/// first; when the disk has none, the entry is left out (an index is sparse) and the append still succeeds.
@Suite struct IndexSpaceTests {
    func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("index-space-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func anEntryWithoutABlockIsLeftOutAndTheNextOneGoesIn() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let disk = try FaultInjectingFileSystem(root: dir)
        let index = try OffsetIndex(fileSystem: disk, path: dir + "/0.index", baseOffset: 0, preallocateTo: 1 << 20)
        #expect(index.append(offset: 10, position: 100))
        // The first append reserved a whole step: entries within it need no new block.
        disk.inject(FaultRule([.reserve], errno: ENOSPC))
        let perStep = MappedIndexFile.reserveStep / 8
        for entry in 1..<perStep { #expect(index.append(offset: Int64(10 + entry), position: 100 + entry)) }
        // The next step's block is refused: the entry is left out, nothing is stored.
        #expect(!index.append(offset: 1_000_000, position: 5_000_000))
        #expect(index.entryCount == perStep)
        #expect(index.lookup(1_000_000).offset == Int64(10 + perStep - 1))
        disk.removeAllFaults()
        #expect(index.append(offset: 1_000_000, position: 5_000_000))
        #expect(index.entryCount == perStep + 1 && index.lookup(2_000_000).position == 5_000_000)
    }

    @Test func appendsSucceedAndReadBackWhileTheIndexesGetNoBlocks() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let disk = try FaultInjectingFileSystem(root: dir)
        var config = LogConfig()
        config.indexIntervalBytes = 100
        disk.inject(FaultRule([.reserve], pathContains: "index", errno: ENOSPC))
        let (log, _) = try openLog(dir, config: config, fileSystem: disk)
        var firstOffsets: [Int64] = []
        for i in 0..<200 {
            firstOffsets.append(try log.append(makeBatch(count: 3, valueSize: 40, tag: "b\(i)")).baseOffset)
        }
        #expect(firstOffsets == (0..<200).map { Int64($0 * 3) })
        // Every batch is found from its first offset, by a scan from the segment's start.
        for (i, offset) in firstOffsets.enumerated() {
            let headers = batchHeaders(try log.readBytes(from: offset + 1, maxBytes: 1))
            #expect(headers.first?.baseOffset == offset, "batch \(i)")
        }
        disk.removeAllFaults()
        _ = try log.append(makeBatch(count: 3, valueSize: 40, tag: "after"))
        try log.close()
        let (reopened, _) = try openLog(dir, config: config, clean: true, fileSystem: disk)
        #expect(reopened.logEndOffset == 603)
        #expect(batchHeaders(try reopened.readBytes(from: 300, maxBytes: 1)).first?.baseOffset == 300)
    }
}
