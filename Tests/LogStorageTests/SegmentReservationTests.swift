import FileSystem
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import LogStorage

/// The active segment reserves disk blocks ahead of its end (fallocate KEEP_SIZE), so that its writes skip the file
/// system's per-write delayed allocation. The reservation must never show in the file's size, must be given back when
/// the segment stops taking appends, and must never make an append fail.
@Suite struct SegmentReservationTests {
    /// Bytes of disk the file holds (st_blocks), and its size.
    func usage(_ path: String) -> (allocated: Int, size: Int) {
        var info = stat()
        #expect(stat(path, &info) == 0, "stat \(path)")
        return (Int(info.st_blocks) * 512, Int(info.st_size))
    }

    /// Whether the file system under `directory` reserves blocks past the end (ext4, XFS and tmpfs do).
    func reservesBlocks(in directory: String) throws -> Bool {
        let probe = try PosixFileSystem().open(directory + "/probe", .create)
        defer {
            probe.close()
            unlink(directory + "/probe")
        }
        do { try probe.reserve(at: 0, length: 1 << 20) } catch { return false }
        return usage(directory + "/probe").allocated >= 1 << 20
    }

    @Test func theActiveSegmentReservesAheadWithoutGrowingAndGivesTheBlocksBackWhenItRolls() throws {
        try withTemporaryDirectory { dir in
            let disk = try FaultInjectingFileSystem(root: dir)
            var config = LogConfig()
            config.segmentBytes = 4 << 20
            let (log, _) = try openLog(dir, config: config, fileSystem: disk)
            var written = 0
            for i in 0..<5 {
                let batch = makeBatch(count: 10, valueSize: 1_000, tag: "r\(i)")
                written += batch.readableBytes
                _ = try log.append(batch)
            }
            let first = segmentPath(dir, 0, ".log")
            // One reservation of the first chunk covered all five appends.
            #expect(written < LogFile.minimumReserveChunk)
            #expect(disk.callCount([.reserve], pathContains: ".log") == 1)
            #expect(usage(first).size == written)
            let reserves = try reservesBlocks(in: dir)
            if reserves { #expect(usage(first).allocated >= LogFile.minimumReserveChunk) }

            // Fill the segment until it rolls: the rolled segment keeps only the blocks its batches need.
            while log.segmentCount == 1 { _ = try log.append(makeBatch(count: 100, valueSize: 1_000, tag: "fill")) }
            let rolled = usage(first)
            #expect(rolled.allocated < rolled.size + 64 << 10, "\(rolled)")
            #expect(rolled.size <= config.segmentBytes)

            // Closing gives back the new active segment's reservation too.
            let activeBase = log.logEndOffset
            _ = try log.append(makeBatch(count: 1, tag: "last"))
            let active = segmentPath(dir, try #require(log.segmentBaseOffsets.last), ".log")
            if reserves { #expect(usage(active).allocated >= LogFile.minimumReserveChunk) }
            try log.close()
            let closed = usage(active)
            #expect(closed.allocated < closed.size + 64 << 10, "\(closed)")

            // Reopened, every batch is there and nothing past it.
            let (reopened, _) = try openLog(dir, config: config, clean: true, fileSystem: disk)
            #expect(reopened.logEndOffset == activeBase + 1)
        }
    }

    /// A log whose data files' reservations all fail with `errno`.
    func withLogRefusingReservations(
        _ errno: Int32, _ body: (PartitionLog, FaultInjectingFileSystem, String) throws -> Void
    ) throws {
        try withScratchDirectory { dir in
            let disk = try FaultInjectingFileSystem(root: dir)
            disk.inject(FaultRule([.reserve], pathContains: ".log", errno: errno))
            let (log, _) = try openLog(dir, fileSystem: disk)
            try body(log, disk, dir)
        }
    }

    @Test func aRefusedReservationNeitherFailsTheAppendNorIsRetriedForEveryWrite() throws {
        try withLogRefusingReservations(ENOSPC) { log, disk, dir in
            var written = 0
            for i in 0..<5 {
                let batch = makeBatch(count: 10, valueSize: 1_000, tag: "n\(i)")
                written += batch.readableBytes
                #expect(try log.append(batch).baseOffset == Int64(i * 10))
            }
            // The first chunk was asked for once; the writes inside it did not ask again.
            #expect(written < LogFile.minimumReserveChunk)
            #expect(disk.callCount([.reserve], pathContains: ".log") == 1)
            // Past the chunk, it is asked for again (the disk may have room by then).
            while written <= LogFile.minimumReserveChunk {
                let batch = makeBatch(count: 100, valueSize: 1_000, tag: "m")
                written += batch.readableBytes
                _ = try log.append(batch)
            }
            #expect(disk.callCount([.reserve], pathContains: ".log") == 2)
            #expect(usage(segmentPath(dir, 0, ".log")).size == written)
        }
    }

    /// Appends `count` bytes to `file` (the budget tests need no batches, only bytes).
    func append(_ count: Int, to file: LogFile) throws {
        var bytes = [UInt8](repeating: 0x5A, count: count)
        try bytes.withUnsafeMutableBytes { raw in
            var vectors = [iovec(iov_base: raw.baseAddress, iov_len: count)]
            try file.append(&vectors, byteCount: count)
        }
    }

    @Test func theBudgetBoundsWhatAllFilesHoldReservedAndFillsAndReleasesGiveItBack() throws {
        try withScratchDirectory { dir in
            let disk = try FaultInjectingFileSystem(root: dir)
            let chunk = LogFile.minimumReserveChunk
            let budget = ReservationBudget(limit: chunk)
            let first = try LogFile(fileSystem: disk, path: dir + "/first.log", reserveBytes: 1 << 20, budget: budget)
            let second = try LogFile(fileSystem: disk, path: dir + "/second.log", reserveBytes: 1 << 20, budget: budget)

            // The first file takes the whole budget for its first chunk; what it writes comes off what it holds.
            try append(1_000, to: first)
            #expect(disk.callCount([.reserve], pathContains: "first.log") == 1)
            #expect(budget.outstanding == chunk - 1_000)

            // The second file finds no room: it writes without reserving, and asks again at its next append.
            try append(1_000, to: second)
            try append(1_000, to: second)
            #expect(disk.callCount([.reserve], pathContains: "second.log") == 0)
            #expect(second.size == 2_000)

            // The first file gives its blocks back when its segment stops taking appends; then the second reserves.
            try first.releaseReservation()
            #expect(budget.outstanding == 0)
            try append(1_000, to: second)
            #expect(disk.callCount([.reserve], pathContains: "second.log") == 1)
            #expect(budget.outstanding == chunk - 1_000)

            // Writes that fill the reservation give it back as they go.
            try append(chunk - 1_000, to: second)
            #expect(budget.outstanding == 0)

            // A cut or a close gives back everything a file holds.
            try second.releaseReservation()
            try append(1_000, to: first)
            #expect(budget.outstanding == chunk - 1_000)
            try first.truncate(to: 500)
            #expect(budget.outstanding == 0)
            try append(1_000, to: first)
            #expect(budget.outstanding == chunk - 1_000)
            first.close()
            second.close()
            #expect(budget.outstanding == 0)

            // A reservation the disk refuses holds nothing.
            disk.inject(FaultRule([.reserve], pathContains: "third.log", errno: ENOSPC))
            let third = try LogFile(fileSystem: disk, path: dir + "/third.log", reserveBytes: 1 << 20, budget: budget)
            try append(1_000, to: third)
            #expect(disk.callCount([.reserve], pathContains: "third.log") == 1)
            #expect(budget.outstanding == 0)
            third.close()
        }
    }

    @Test func aLoweredBudgetRefusesClaimsUntilEnoughIsGivenBackAndAZeroBudgetReservesNothing() throws {
        try withScratchDirectory { dir in
            let disk = try FaultInjectingFileSystem(root: dir)
            let chunk = LogFile.minimumReserveChunk
            let budget = ReservationBudget(limit: 4 * chunk)
            let first = try LogFile(fileSystem: disk, path: dir + "/first.log", reserveBytes: 1 << 20, budget: budget)
            let second = try LogFile(fileSystem: disk, path: dir + "/second.log", reserveBytes: 1 << 20, budget: budget)
            try append(1_000, to: first)
            #expect(budget.outstanding == chunk - 1_000)

            // Below what is held: nothing is taken back, and the next claim fails.
            budget.setLimit(chunk / 2)
            #expect(budget.limit == chunk / 2)
            try append(1_000, to: second)
            #expect(disk.callCount([.reserve], pathContains: "second.log") == 0)
            #expect(budget.outstanding == chunk - 1_000)

            // Once the first file gives its blocks back, the second fits a claim within the lowered budget only if its
            // chunk does: at its size (64 KiB, the smallest chunk) it does not.
            try first.releaseReservation()
            #expect(budget.outstanding == 0)
            try append(1_000, to: second)
            #expect(disk.callCount([.reserve], pathContains: "second.log") == 0)

            // Zero: never a reservation; raised again, the next append reserves.
            budget.setLimit(0)
            try append(1_000, to: second)
            #expect(disk.callCount([.reserve], pathContains: "second.log") == 0)
            budget.setLimit(4 * chunk)
            try append(1_000, to: second)
            #expect(disk.callCount([.reserve], pathContains: "second.log") == 1)
            #expect(budget.outstanding == chunk - 1_000)
            first.close()
            second.close()
            #expect(budget.outstanding == 0)
        }
    }

    @Test func theDefaultBudgetIsATwentiethOfTheFreeSpaceAtMostOneGibibyte() {
        #expect(ReservationBudget.defaultLimit(usableBytes: nil) == 1 << 30)
        #expect(ReservationBudget.defaultLimit(usableBytes: 0) == 0)
        #expect(ReservationBudget.defaultLimit(usableBytes: 2_000_000_000) == 100_000_000)
        #expect(ReservationBudget.defaultLimit(usableBytes: 1 << 40) == 1 << 30)
        #expect(ReservationBudget.defaultLimit(usableBytes: Int64.max) == 1 << 30)
    }

    @Test func aFileSystemThatCannotReserveIsNotAskedAgain() throws {
        try withLogRefusingReservations(EOPNOTSUPP) { log, disk, _ in
            var written = 0
            while written <= 3 * LogFile.minimumReserveChunk {
                let batch = makeBatch(count: 100, valueSize: 1_000, tag: "u")
                written += batch.readableBytes
                _ = try log.append(batch)
            }
            #expect(disk.callCount([.reserve], pathContains: ".log") == 1)
            #expect(log.logEndOffset == Int64(written / makeBatch(count: 100, valueSize: 1_000, tag: "u").readableBytes * 100))
        }
    }
}
