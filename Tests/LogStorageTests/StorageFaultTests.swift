import Foundation
import FileSystem
import KafkaProtocol
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import LogStorage

/// Goal: whatever file-system call fails, wherever a write tears, and whether the process then dies or the power goes,
/// a reopened log holds every acknowledged record and no unacknowledged half of anything. Method: a workload of
/// appends across segment rolls, retention, producer-state snapshots, checkpoints and a clean shutdown runs once to
/// count its file-system calls, then once per call with that call failing (EIO or ENOSPC, writes torn at a seeded
/// byte), followed by a crash or a power cut; the reopened log is checked against a ``LogModel``.
@Suite struct StorageFaultTests {
    static let topicConfig: LogConfig = {
        var config = LogConfig()
        config.segmentBytes = 700
        config.indexIntervalBytes = 100
        config.flushMessages = 1
        config.retentionBytes = 1500
        return config
    }()

    /// The workload; returns the model of what was acknowledged. Failures are expected and recorded, never fatal.
    static func workload(_ disk: FaultInjectingFileSystem, _ dir: String, clock: ManualClock) -> LogModel {
        var model = LogModel()
        guard let manager = try? LogManager(directory: dir, clock: clock, logger: quietLogger, fileSystem: disk),
              let log = try? manager.openLog(topic: "t", partition: 0, config: topicConfig)
        else { return model }
        for i in 0..<12 {
            let tag = "b\(i)"
            let count = 1 + i % 3
            do {
                let result = try log.append(makeBatch(count: count, valueSize: 40, producerId: 7, epoch: 0,
                                                      baseSequence: Int32(model.nextOffset), tag: tag))
                model.acknowledged(tag, count: count, at: result.baseOffset, durable: true)
            } catch .noSpace {
                // Refused and cut off again: not in the log.
            } catch {
                model.unacknowledged(tag, count: count)
            }
            if i % 4 == 3 {
                _ = try? log.applyRetention()
                try? log.snapshotProducerState()
                try? manager.writeCheckpoints()
            }
            model.saw(logStart: log.logStartOffset)
        }
        try? manager.shutdown()
        return model
    }

    /// Reopens after the failure, without faults, and checks the log against the model.
    static func reopenAndCheck(
        _ disk: FaultInjectingFileSystem, _ dir: String, clock: ManualClock, model: inout LogModel, powerCut: Bool
    ) throws -> [String] {
        if powerCut { try disk.powerCut() } else { disk.crash() }
        disk.removeAllFaults()
        let manager = try LogManager(directory: dir, clock: clock, logger: quietLogger, fileSystem: disk)
        let log = try manager.openLog(topic: "t", partition: 0, config: topicConfig)
        let problems = model.reconcile(with: log, afterPowerCut: powerCut)
        // The reopened log takes appends again.
        let next = log.logEndOffset
        if (try? log.append(makeBatch(count: 1, tag: "after")))?.baseOffset != next { return problems + ["no append after reopening"] }
        disk.crash()
        return problems
    }

    static let mutating: Set<FileOperation> = [.write, .truncate, .sync, .rename, .remove, .createDirectory, .syncDirectory, .open]

    @Test func everyFailurePointOfTheWorkloadKeepsAcknowledgedRecordsAndNoHalfBatches() throws {
        let calls = try withScratchDirectory { dir in
            let disk = try FaultInjectingFileSystem(root: dir)
            var model = Self.workload(disk, dir, clock: ManualClock())
            let calls = disk.calls.count { Self.mutating.contains($0.operation) }
            #expect(model.entries.count == 12 && model.entries.allSatisfy(\.acknowledged))
            #expect(try Self.reopenAndCheck(disk, dir, clock: ManualClock(), model: &model, powerCut: true).isEmpty)
            return calls
        }
        #expect(calls > 100)
        var checked = 0
        var faults: [InjectedFault: Int] = [:]
        for point in 1...calls {
            for (errno, powerCut) in [(EIO, false), (EIO, true), (ENOSPC, false), (ENOSPC, true)] {
                try withScratchDirectory { dir in
                    let disk = try FaultInjectingFileSystem(root: dir, seed: UInt64(point))
                    disk.inject(FaultRule(Self.mutating, trigger: .nth(point), errno: errno, tear: .randomPrefix))
                    let clock = ManualClock()
                    var model = Self.workload(disk, dir, clock: clock)
                    let problems = try Self.reopenAndCheck(disk, dir, clock: clock, model: &model, powerCut: powerCut)
                    #expect(problems.isEmpty, "call \(point) failing with \(InjectedFault.errnoName(errno)), \(powerCut ? "power cut" : "crash"): \(problems)")
                    faults.merge(disk.injectedFaults, uniquingKeysWith: +)
                    checked += 1
                }
            }
        }
        #expect(checked == 4 * calls && faults.values.reduce(0, +) == 4 * calls)  // every point was reached
        let summary = faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("failure points: \(calls) calls of the workload, each failed with EIO and ENOSPC, then a crash or a power cut; faults injected: \(summary)")
    }

    /// Recovery itself fails at each of its calls (cutting a torn tail, rebuilding indexes, rewriting files): the
    /// open fails cleanly, and the next open on a working disk recovers everything acknowledged.
    @Test func everyFailurePointOfRecoveryLeavesARecoverableLog() throws {
        func damagedLog(_ disk: FaultInjectingFileSystem, _ dir: String) throws -> LogModel {
            var model = LogModel()
            var config = Self.topicConfig
            config.retentionBytes = -1
            let (log, _) = try openLog(dir, config: config, fileSystem: disk)
            for i in 0..<6 { try model.append("r\(i)", count: 2, to: log, durable: true) }
            // The last append tears half way and the process dies: recovery must cut the tail.
            disk.inject(FaultRule([.write], trigger: .nth(1), errno: EIO, tear: .prefix(50)))
            #expect(throws: StorageError.self) { try log.append(makeBatch(count: 2, valueSize: 40, tag: "torn")) }
            model.unacknowledged("torn", count: 2)
            disk.removeAllFaults()
            disk.crash()
            return model
        }
        let calls = try withScratchDirectory { dir in
            let disk = try FaultInjectingFileSystem(root: dir)
            _ = try damagedLog(disk, dir)
            disk.clearCalls()
            _ = try openLog(dir, fileSystem: disk)
            return disk.calls.count { Self.mutating.contains($0.operation) }
        }
        #expect(calls >= 5)
        for point in 1...calls {
            for powerCut in [false, true] {
                try withScratchDirectory { dir in
                    let disk = try FaultInjectingFileSystem(root: dir, seed: UInt64(point))
                    var model = try damagedLog(disk, dir)
                    disk.inject(FaultRule(Self.mutating, trigger: .nth(point), errno: EIO, tear: .randomPrefix))
                    #expect(throws: StorageError.self, "recovery call \(point)") { _ = try openLog(dir, fileSystem: disk) }
                    if powerCut { try disk.powerCut() } else { disk.crash() }
                    disk.removeAllFaults()
                    let (log, _) = try openLog(dir, fileSystem: disk)
                    #expect(model.reconcile(with: log, afterPowerCut: powerCut).isEmpty, "recovery call \(point), power cut: \(powerCut)")
                }
            }
        }
    }

    @Test func aFailedSyncTakesTheDirectoryOfflineForEveryLogInIt() throws {
        try withScratchDirectory { dir in
            let disk = try FaultInjectingFileSystem(root: dir)
            let manager = try LogManager(directory: dir, logger: quietLogger, fileSystem: disk)
            var config = LogConfig()
            config.flushMessages = 1
            let a = try manager.openLog(topic: "a", partition: 0, config: config)
            let b = try manager.openLog(topic: "b", partition: 0, config: config)
            _ = try a.append(makeBatch(count: 2, tag: "x"))
            disk.inject(FaultRule([.sync], pathContains: "/a-0/", trigger: .nth(1), errno: EIO))
            #expect(throws: StorageError.self) { try a.append(makeBatch(count: 1, tag: "y")) }
            disk.removeAllFaults()
            // The sync failed once; it is never retried: both logs of the directory refuse appends from now on.
            for log in [a, b] {
                do {
                    _ = try log.append(makeBatch(count: 1, tag: "z"))
                    Issue.record("an append to an offline directory succeeded")
                } catch {
                    guard case .logDirectoryOffline(let path, let cause)? = error as? StorageError else {
                        Issue.record("unexpected \(error)")
                        continue
                    }
                    #expect(path == dir && cause.contains("fdatasync failed") && cause.contains("Input/output error"))
                }
            }
            #expect(throws: StorageError.self) { try manager.openLog(topic: "c", partition: 0, config: config) }
            // Reads of what was written keep working.
            #expect(try records(try a.readBytes(from: 0, maxBytes: 1 << 20)).count >= 2)
            manager.runMaintenance()
            try manager.shutdown()
            #expect(!disk.exists(dir + "/.clean-shutdown"))
        }
    }

    @Test func aFullDiskRefusesAppendsAndTheyResumeWithoutARestart() throws {
        try withScratchDirectory { dir in
            let disk = try FaultInjectingFileSystem(root: dir, seed: 3)
            var config = LogConfig()
            config.segmentBytes = 600
            let (log, _) = try openLog(dir, config: config, fileSystem: disk)
            _ = try log.append(makeBatch(count: 3, tag: "a"))
            let sizeBefore = log.sizeInBytes
            for errno in [ENOSPC, EDQUOT] {
                disk.inject(FaultRule([.write, .open], errno: errno, tear: .randomPrefix))
                for _ in 0..<5 {
                    do {
                        _ = try log.append(makeBatch(count: 4, valueSize: 100, tag: "full"))
                        Issue.record("an append on a full disk succeeded")
                    } catch {
                        guard case .noSpace(_, let path, let code)? = error as? StorageError else {
                            Issue.record("unexpected \(error)")
                            continue
                        }
                        #expect(code == errno && path.hasPrefix(dir))
                        #expect("\(error)".contains("is full"))
                    }
                }
                disk.removeAllFaults()
                #expect(log.sizeInBytes == sizeBefore && log.logEndOffset == 3 && !log.health.isOffline)
            }
            #expect(try log.append(makeBatch(count: 2, tag: "b")).baseOffset == 3)
            for _ in 0..<6 { _ = try log.append(makeBatch(count: 4, valueSize: 100, tag: "c")) }  // rolls again
            #expect(log.segmentCount > 1)
            disk.crash()
            let (reopened, report) = try openLog(dir, config: config, fileSystem: disk)
            #expect(report.truncatedBytes == 0)  // nothing half-written was left behind
            #expect(reopened.logEndOffset == 29)
            #expect(disk.injectedFaults.values.reduce(0, +) >= 10)
        }
    }

    /// A restart on a full disk cannot write the new leader epoch's checkpoint: the log still opens and serves in its
    /// last epoch, and moves to a new one at the next start once there is space.
    @Test func aRestartOnAFullDiskOpensTheLogInItsLastEpoch() throws {
        try withScratchDirectory { dir in
            let disk = try FaultInjectingFileSystem(root: dir)
            var manager = try LogManager(directory: dir, logger: quietLogger, fileSystem: disk)
            let first = try manager.openLog(topic: "a", partition: 0, config: LogConfig())
            _ = try first.append(makeBatch(count: 2, tag: "x"))
            let epoch = first.leaderEpoch
            try manager.shutdown()
            disk.inject(FaultRule([.write], pathContains: "leader-epoch-checkpoint", errno: ENOSPC))
            manager = try LogManager(directory: dir, logger: quietLogger, fileSystem: disk)
            let reopened = try manager.openLog(topic: "a", partition: 0, config: LogConfig())
            #expect(reopened.leaderEpoch == epoch && reopened.logEndOffset == 2)
            #expect(try records(try reopened.readBytes(from: 0, maxBytes: 1 << 20)).count == 2)
            disk.removeAllFaults()
            try manager.shutdown()
            manager = try LogManager(directory: dir, logger: quietLogger, fileSystem: disk)
            #expect(try manager.openLog(topic: "a", partition: 0, config: LogConfig()).leaderEpoch == epoch + 1)
            try manager.shutdown()
        }
    }

    /// A shutdown that cannot write its checkpoints or its clean-shutdown marker (a full disk) reports it, writes no
    /// marker, and still releases the directory lock: a restart in the same process takes the directory again and
    /// recovers. Found by the log simulation: the lock stayed held and the restart was refused as "another process".
    @Test func aShutdownThatFailsToWriteStillReleasesTheDirectory() throws {
        for failing in ["recovery-point-offset-checkpoint", ".clean-shutdown"] {
            try withScratchDirectory { dir in
                let disk = try FaultInjectingFileSystem(root: dir)
                var manager = try LogManager(directory: dir, logger: quietLogger, fileSystem: disk)
                _ = try manager.openLog(topic: "a", partition: 0, config: LogConfig()).append(makeBatch(count: 3, tag: "x"))
                disk.inject(FaultRule([.write, .open], pathContains: failing, errno: ENOSPC))
                #expect(throws: StorageError.self, "\(failing)") { try manager.shutdown() }
                #expect(!disk.exists(dir + "/.clean-shutdown"))
                disk.removeAllFaults()
                manager = try LogManager(directory: dir, logger: quietLogger, fileSystem: disk)
                #expect(try manager.openLog(topic: "a", partition: 0, config: LogConfig()).logEndOffset == 3)
                try manager.shutdown()
            }
        }
    }

    /// The directory lock is waited for briefly (a forked child may hold it between its fork and exec), and a lock
    /// held for good (another broker) is still refused.
    @Test func theDirectoryLockIsWaitedForBrieflyThenRefused() throws {
        try withScratchDirectory { dir in
            let disk = PosixFileSystem()
            try disk.makeDirectory(dir)
            let holder = try disk.open(dir + "/.lock", .create)
            #expect(try holder.tryLock())
            let released = Thread { usleep(300_000); holder.close() }
            released.start()
            let started = ContinuousClock.now
            let manager = try LogManager(directory: dir, logger: quietLogger, fileSystem: disk)
            #expect(ContinuousClock.now - started >= .milliseconds(250))
            try manager.shutdown()

            let forGood = try disk.open(dir + "/.lock", .create)
            defer { forGood.close() }
            #expect(try forGood.tryLock())
            #expect(throws: StorageError.self) { try LogManager(directory: dir, logger: quietLogger, fileSystem: disk) }
        }
    }

    /// Out of descriptors (EMFILE, ENFILE) or memory (ENOMEM) when a roll opens the next segment: the process, not
    /// the disk, is short, so the append is refused but the directory stays online, and appends resume.
    @Test func runningOutOfDescriptorsRefusesTheRollWithoutTakingTheDirectoryOffline() throws {
        for code in [EMFILE, ENFILE, ENOMEM] {
            try withScratchDirectory { dir in
                let disk = try FaultInjectingFileSystem(root: dir, seed: 4)
                var config = LogConfig()
                config.segmentBytes = 600
                let (log, _) = try openLog(dir, config: config, fileSystem: disk)
                var appended = 0
                while log.segmentCount == 1 {
                    _ = try log.append(makeBatch(count: 2, valueSize: 100, tag: "a"))
                    appended += 2
                }
                let segments = log.segmentCount
                disk.inject(FaultRule([.open, .map], errno: code))
                var refused = 0
                for _ in 0..<20 {
                    do {
                        _ = try log.append(makeBatch(count: 2, valueSize: 100, tag: "refused"))
                        appended += 2
                    } catch {
                        guard case .outOfResources(_, _, let failed)? = error as? StorageError else {
                            Issue.record("unexpected \(error)")
                            continue
                        }
                        #expect(failed == code)
                        #expect("\(error)".contains("ran out of open files or memory"))
                        refused += 1
                    }
                }
                #expect(refused >= 15, "refused \(refused)")
                #expect(!log.health.isOffline && log.segmentCount == segments)
                disk.removeAllFaults()
                for _ in 0..<10 {
                    _ = try log.append(makeBatch(count: 2, valueSize: 100, tag: "b"))
                    appended += 2
                }
                #expect(!log.health.isOffline && log.segmentCount > segments && log.logEndOffset == Int64(appended))
                disk.crash()
                let (reopened, report) = try openLog(dir, config: config, fileSystem: disk)
                #expect(report.truncatedBytes == 0 && reopened.logEndOffset == Int64(appended))
            }
        }
    }

    @Test func withFlushMessagesOneAPowerCutLosesNothingAcknowledged() throws {
        for keepingPrefixes in [false, true] {
            try withScratchDirectory { dir in
                let disk = try FaultInjectingFileSystem(root: dir, seed: 5)
                var config = LogConfig()
                config.segmentBytes = 500
                config.flushMessages = 1
                var model = LogModel()
                let (log, _) = try openLog(dir, config: config, fileSystem: disk)
                for i in 0..<20 { try model.append("p\(i)", count: 2, to: log, durable: true) }
                try disk.powerCut(keepingUnsyncedPrefixes: keepingPrefixes)
                let (reopened, _) = try openLog(dir, config: config, fileSystem: disk)
                #expect(model.reconcile(with: reopened, afterPowerCut: true).isEmpty)
                #expect(reopened.logEndOffset == 40)
            }
        }
    }

    @Test func withoutFlushingAPowerCutKeepsAPrefixAndNothingTorn() throws {
        try withScratchDirectory { dir in
            let disk = try FaultInjectingFileSystem(root: dir, seed: 9)
            var config = LogConfig()
            config.segmentBytes = 500
            var model = LogModel()
            let (log, _) = try openLog(dir, config: config, fileSystem: disk)
            for i in 0..<10 { try model.append("q\(i)", count: 2, to: log, durable: false) }
            try log.flush()
            let durableEnd = log.logEndOffset
            for i in 10..<20 { try model.append("q\(i)", count: 2, to: log, durable: false) }
            try disk.powerCut(keepingUnsyncedPrefixes: true)
            let (reopened, _) = try openLog(dir, config: config, fileSystem: disk)
            #expect(model.reconcile(with: reopened, afterPowerCut: true).isEmpty)
            #expect(reopened.logEndOffset >= durableEnd)
        }
    }
}
