import Synchronization
import Testing
import Timekeeping

@Suite struct TimeSourceTests {
    @Test func systemClocksMove() async throws {
        let time = SystemTimeSource()
        let start = time.monotonicNanos()
        try await time.sleep(milliseconds: 5)
        #expect(time.monotonicNanos() - start >= 5_000_000)
        #expect(time.wallClockMs() > 1_700_000_000_000)
    }

    @Test func manualTimeWakesSleepersOnlyWhenAdvancedPastTheirTime() async throws {
        let time = ManualTimeSource(wallClockMs: 1000)
        let woken = Woken()
        let first = Task { try await time.sleep(milliseconds: 100); woken.record(100) }
        let second = Task { try await time.sleep(milliseconds: 50); woken.record(50) }
        while time.sleeperCount < 2 { await Task.yield() }
        time.advance(byMilliseconds: 49)
        #expect(woken.values.isEmpty)
        time.advance(byMilliseconds: 1)
        try await second.value
        #expect(woken.values == [50])
        time.advance(byMilliseconds: 50)
        try await first.value
        #expect(woken.values == [50, 100])
        #expect(time.monotonicMs() == 100 && time.wallClockMs() == 1100)
    }

    @Test func cancellingASleeperEndsItsSleep() async {
        let time = ManualTimeSource()
        let sleeper = Task { try await time.sleep(milliseconds: 1_000_000) }
        while time.sleeperCount < 1 { await Task.yield() }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(time.sleeperCount == 0)
    }
}

/// What woke up, in order.
final class Woken: Sendable {
    private let list = Mutex<[Int]>([])
    func record(_ value: Int) { list.withLock { $0.append(value) } }
    var values: [Int] { list.withLock { $0 } }
}
