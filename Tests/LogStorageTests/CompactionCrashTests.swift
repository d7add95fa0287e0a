import FileSystem
import KafkaProtocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import LogStorage

/// Goal: a cleaner that dies at any step (writing `.cleaned` files, renaming them to `.swap`, retiring the old
/// segments, renaming the swap into place, writing its checkpoint) leaves a log that opens, serves the same latest
/// value for every key, and can be cleaned again. Method: one cleaning is run to count its file-system calls, then
/// once per call with that call failing (torn at a seeded byte), followed by a crash or a power cut.
@Suite struct CompactionCrashTests {
    static let mutating: Set<FileOperation> = [.write, .truncate, .sync, .rename, .remove, .syncDirectory, .open]

    /// Writes five keys six times each (one segment per batch), durably; returns the latest values.
    static func prepare(_ disk: FaultInjectingFileSystem, _ dir: String, clock: ManualClock) throws -> (LogManager, [String: String]) {
        let manager = try LogManager(directory: dir, clock: clock, logger: quietLogger, fileSystem: disk)
        let log = try manager.openLog(topic: "t", partition: 0, config: compactConfig())
        var expected: [String: String] = [:]
        for version in 0..<6 {
            let batch = (0..<5).map { ("key-\($0)", "value-\($0)-\(version)-padding-to-roll-every-batch") }
            _ = try log.append(keyedBatch(batch))
            for (key, value) in batch { expected[key] = value }
        }
        _ = try log.append(keyedBatch([("last", "x")]))
        expected["last"] = "x"
        try log.flush()
        try manager.writeCheckpoints()
        return (manager, expected)
    }

    static func reopenAndCheck(_ disk: FaultInjectingFileSystem, _ dir: String, clock: ManualClock, expected: [String: String]) throws -> [String] {
        disk.removeAllFaults()
        let manager = try LogManager(directory: dir, clock: clock, logger: quietLogger, fileSystem: disk)
        let log = try manager.openLog(topic: "t", partition: 0, config: compactConfig())
        var problems: [String] = []
        if try latestValues(log) != expected { problems.append("latest values differ after reopening: \(try latestValues(log))") }
        let leftovers = try disk.listDirectory(dir + "/t-0").filter { $0.hasSuffix(".cleaned") || $0.hasSuffix(".swap") }
        if !leftovers.isEmpty { problems.append("leftover cleaner files \(leftovers)") }
        manager.cleanDirtiestLog()
        if try latestValues(log) != expected { problems.append("latest values differ after cleaning again") }
        if try visibleRecords(log).count != expected.count { problems.append("\(try visibleRecords(log).count) records after cleaning again") }
        try manager.shutdown()
        return problems
    }

    @Test func aCleanerDyingAtAnyCallLeavesTheSameLatestValues() throws {
        let calls = try withScratchDirectory { dir in
            let disk = try FaultInjectingFileSystem(root: dir)
            let clock = ManualClock()
            let (manager, expected) = try Self.prepare(disk, dir, clock: clock)
            disk.clearCalls()
            let stats = try #require(manager.cleanDirtiestLog())
            #expect(stats.recordsRemoved == 25)
            let calls = disk.callCount(Self.mutating)
            disk.crash()
            #expect(try Self.reopenAndCheck(disk, dir, clock: clock, expected: expected).isEmpty)
            return calls
        }
        #expect(calls > 20)
        for point in 1...calls {
            for powerCut in [false, true] {
                try withScratchDirectory { dir in
                    let disk = try FaultInjectingFileSystem(root: dir, seed: UInt64(point))
                    let clock = ManualClock()
                    let (manager, expected) = try Self.prepare(disk, dir, clock: clock)
                    disk.inject(FaultRule(Self.mutating, trigger: .nth(point), errno: EIO, tear: .randomPrefix))
                    manager.cleanDirtiestLog()
                    if powerCut { try disk.powerCut() } else { disk.crash() }
                    let problems = try Self.reopenAndCheck(disk, dir, clock: clock, expected: expected)
                    #expect(problems.isEmpty, "call \(point) failing, then \(powerCut ? "a power cut" : "a crash"): \(problems)")
                }
            }
        }
    }

    /// The swap interrupted after its commit point (`.log.swap` durable) is finished by the next open, whatever
    /// else was already renamed.
    @Test func anOpenFinishesASwapInterruptedAfterItsCommitPoint() throws {
        try withScratchDirectory { dir in
            let disk = try FaultInjectingFileSystem(root: dir)
            let clock = ManualClock()
            let (manager, expected) = try Self.prepare(disk, dir, clock: clock)
            // The first rename of an old segment to `.deleted` fails: the swap files are in place, nothing else.
            disk.inject(FaultRule([.rename], trigger: .nth(5), errno: EIO, tear: .nothing))
            manager.cleanDirtiestLog()
            let names = try disk.listDirectory(dir + "/t-0")
            #expect(names.contains { $0.hasSuffix(".log.swap") })
            disk.crash()
            #expect(try Self.reopenAndCheck(disk, dir, clock: clock, expected: expected).isEmpty)
        }
    }
}
