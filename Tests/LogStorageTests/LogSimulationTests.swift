import FileSystem
import Foundation
import KafkaProtocol
import Testing
import Timekeeping

#if canImport(Glibc)
import Glibc
#endif

@testable import LogStorage

/// Goal: under any mix of appends, segment rolls (by size, time and full indexes), retention, snapshots, checkpoints,
/// flushes, clean restarts, crashes and power cuts, with one-shot faults injected into any file-system call (recovery
/// included), the log always reopens to what a simple model says it may hold. Method: a seeded random walk of a few
/// hundred steps per seed against ``LogModel``. A failing seed is printed; `LEDGERSTREAM_SIM_SEED=<seed>` reruns it
/// alone.
@Suite struct LogSimulationTests {
    static var seeds: [UInt64] {
        if let text = ProcessInfo.processInfo.environment["LEDGERSTREAM_SIM_SEED"], let seed = UInt64(text) { return [seed] }
        return Array(1...8)
    }

    @Test func randomWalksOfAppendsRollsRetentionCrashesAndPowerCutsMatchTheModel() throws {
        var faults: [InjectedFault: Int] = [:]
        var crashes = 0
        var powerCuts = 0
        var acknowledged = 0
        var steps = 0
        for seed in Self.seeds {
            let simulation = try withScratchDirectory { directory in
                let simulation = try LogSimulation(seed: seed, directory: directory + "/sim")
                simulation.run(steps: 300)
                return simulation
            }
            if !simulation.problems.isEmpty {
                Issue.record("""
                    seed \(seed) failed at step \(simulation.step) (rerun with LEDGERSTREAM_SIM_SEED=\(seed)): \(simulation.problems)
                    config: \(simulation.config)
                    last steps:
                    \(simulation.trace.suffix(20).joined(separator: "\n"))
                    """)
            }
            faults.merge(simulation.disk.injectedFaults, uniquingKeysWith: +)
            crashes += simulation.disk.crashCount
            powerCuts += simulation.disk.powerCutCount
            acknowledged += simulation.acknowledged
            steps += simulation.step
        }
        if Self.seeds.count > 1 {  // the walks really exercise what they claim to
            #expect(acknowledged > 500 && powerCuts > 10 && crashes > 10 && faults.values.reduce(0, +) > 50)
        }
        let summary = faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("log simulation: seeds \(Self.seeds.map(String.init).joined(separator: ",")), \(steps) steps, \(acknowledged) "
              + "appends acknowledged; faults injected: \(summary); crashes \(crashes), power cuts \(powerCuts)")
    }
}

/// One seeded random walk (see ``LogSimulationTests``).
final class LogSimulation {
    let seed: UInt64
    let directory: String
    let disk: FaultInjectingFileSystem
    let clock = ManualClock()
    var random: SeededGenerator
    let config: LogConfig
    var manager: LogManager?
    var log: PartitionLog?
    var model = LogModel()
    private(set) var problems: [String] = []
    private(set) var acknowledged = 0
    private(set) var step = 0
    /// What each step did, for the failure report.
    private(set) var trace: [String] = []

    init(seed: UInt64, directory: String) throws {
        self.seed = seed
        random = SeededGenerator(seed: seed &* 0x9E37_79B9)
        self.directory = directory
        disk = try FaultInjectingFileSystem(root: directory, seed: seed)
        var config = LogConfig()
        config.segmentBytes = 300 + Int(random.next() % 1200)
        config.segmentIndexBytes = 8 * (3 + Int(random.next() % 8))
        config.indexIntervalBytes = 64 + Int(random.next() % 400)
        config.flushMessages = random.next() % 2 == 0 ? 1 : .max
        config.retentionBytes = random.next() % 2 == 0 ? -1 : Int64(2000 + random.next() % 4000)
        config.retentionMs = random.next() % 2 == 0 ? -1 : 120_000
        config.segmentMs = random.next() % 2 == 0 ? 604_800_000 : 30_000
        self.config = config
    }

    private func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

    private func note(_ problem: String) {
        problems.append("step \(step): \(problem)")
    }

    /// A one-shot fault on some later call of a random kind.
    private func randomFault() -> FaultRule {
        let kinds: [FileOperation] = [.write, .write, .sync, .truncate, .open, .rename, .remove, .syncDirectory, .createDirectory]
        let errnos: [Int32] = [EIO, ENOSPC, EDQUOT]
        return FaultRule([kinds[Int(random.next() % UInt64(kinds.count))]], trigger: .nth(1 + Int(random.next() % 3)),
                         errno: errnos[Int(random.next() % 3)], tear: .randomPrefix)
    }

    func run(steps: Int) {
        reopen(powerCut: false, crash: false)
        while step < steps && problems.isEmpty {
            step += 1
            var line = "\(step):"
            if chance(15) {
                let fault = randomFault()
                disk.inject(fault)
                line += " fault \(fault.operations.first!) \(InjectedFault.errnoName(fault.errno)) \(fault.trigger);"
            }
            let action = random.next() % 100
            line += [(60, " append"), (68, " retention"), (72, " maintenance"), (76, " snapshot"), (82, " flush"),
                     (88, " crash"), (95, " power cut"), (100, " clean restart")].first { action < $0.0 }!.1
            let faultsBefore = disk.injectedFaults.values.reduce(0, +)
            defer {
                let fired = disk.injectedFaults.values.reduce(0, +) - faultsBefore
                trace.append(line + (fired > 0 ? " (\(fired) fault fired)" : "") + " → end \(log?.logEndOffset ?? -1), "
                             + "recovery point \(log?.recoveryPoint ?? -1), segments \(log?.segmentBaseOffsets ?? [])")
            }
            switch action {
            case 0..<60: append()
            case 60..<68:
                clock.advance(by: Int64(random.next() % 40_000))
                _ = try? log?.applyRetention()
            case 68..<72: manager?.runMaintenance()
            case 72..<76: try? log?.snapshotProducerState()
            case 76..<82:
                if let log, (try? log.flush()) != nil { model.synced(through: log.recoveryPoint) }
            case 82..<88: reopen(powerCut: false)
            case 88..<95: reopen(powerCut: true)
            default:
                try? manager?.shutdown()
                reopen(powerCut: false)
            }
            disk.removeAllFaults()
            if let log { model.saw(logStart: log.logStartOffset) }
            // Nothing is written to an offline directory any more: restart, as an operator would after a disk repair.
            if log?.health.isOffline ?? true, problems.isEmpty { reopen(powerCut: chance(50)) }
        }
    }

    private func append() {
        guard let log else { return }
        let tag = "s\(step)"
        let count = 1 + Int(random.next() % 5)
        let before = log.logEndOffset
        do {
            let result = try log.append(makeBatch(count: count, valueSize: 10 + Int(random.next() % 90),
                                                  firstTimestamp: clock.wallClockMs(), tag: tag))
            if result.baseOffset != model.nextOffset || before != model.nextOffset {
                note("append of \(tag) got offset \(result.baseOffset), the model expected \(model.nextOffset)")
            }
            model.acknowledged(tag, count: count, at: result.baseOffset, durable: config.flushMessages == 1)
            acknowledged += 1
        } catch .noSpace {
            if log.logEndOffset != before { note("a refused append moved the log end from \(before) to \(log.logEndOffset)") }
        } catch {
            model.unacknowledged(tag, count: count)
        }
    }

    /// Crash (or power cut), possibly with a fault during the first recovery attempt, then reopen and reconcile.
    private func reopen(powerCut: Bool, crash: Bool = true) {
        do {
            if crash {
                if powerCut { try disk.powerCut(keepingUnsyncedPrefixes: chance(50)) } else { disk.crash() }
            }
            log = nil
            manager = nil
            if crash && chance(20) {
                disk.inject(randomFault())
                _ = try? open()
                disk.crash()
                disk.removeAllFaults()
            }
            disk.removeAllFaults()
            let (manager, log) = try open()
            self.manager = manager
            self.log = log
            for problem in model.reconcile(with: log, afterPowerCut: powerCut) { note(problem) }
        } catch {
            note("reopening failed on a working disk: \(error)")
        }
    }

    private func open() throws -> (LogManager, PartitionLog) {
        let manager = try LogManager(directory: directory, clock: clock, logger: quietLogger, fileSystem: disk)
        return (manager, try manager.openLog(topic: "t", partition: 0, config: config))
    }
}
