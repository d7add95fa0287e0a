import KafkaProtocol
import Testing

@testable import TransactionCoordinator

/// The transaction coordinator's decision tables (Kafka's TransactionCoordinator), driven with explicit times and no
/// I/O: every state a request can meet, the errors clients act on, fencing, timeouts and restarts.
@Suite struct TransactionCoordinatorTests {
    /// A coordinator that applies its own decisions, as the broker does after storing them.
    struct Harness {
        var coordinator = TransactionCoordinator()
        var nextProducerId: Int64 = 1000
        var now: Int64 = 1_000_000
        var completions: [TransactionCompletion] = []

        mutating func apply(_ update: TransactionUpdate?) {
            guard let update else { return }
            coordinator.apply(update.metadata)
            if let completion = update.completion { completions.append(completion) }
        }

        /// InitProducerId; returns (error, pid, epoch).
        mutating func initProducer(
            _ id: String = "tx", timeoutMs: Int32 = 60_000, expected: (Int64, Int16)? = nil
        ) -> (ErrorCode, Int64, Int16) {
            var next = nextProducerId
            let decision = coordinator.initProducerId(
                transactionalId: id, timeoutMs: timeoutMs, expected: expected.map { (producerId: $0.0, epoch: $0.1) },
                now: now, newProducerId: { defer { next += 1 }; return next })
            nextProducerId = next
            apply(decision.update)
            return (decision.error, decision.producerId, decision.producerEpoch)
        }

        mutating func add(_ pid: Int64, _ epoch: Int16, _ partitions: [TopicPartition], id: String = "tx") -> ErrorCode {
            let decision = coordinator.addPartitions(transactionalId: id, producerId: pid, producerEpoch: epoch,
                                                     partitions: Set(partitions), now: now)
            apply(decision.update)
            return decision.error
        }

        mutating func addOffsets(_ pid: Int64, _ epoch: Int16, group: String, id: String = "tx") -> ErrorCode {
            let decision = coordinator.addOffsets(transactionalId: id, producerId: pid, producerEpoch: epoch, groupId: group, now: now)
            apply(decision.update)
            return decision.error
        }

        mutating func end(_ pid: Int64, _ epoch: Int16, commit: Bool, id: String = "tx") -> ErrorCode {
            let decision = coordinator.endTransaction(transactionalId: id, producerId: pid, producerEpoch: epoch, commit: commit, now: now)
            apply(decision.update)
            return decision.error
        }

        /// The broker wrote every pending completion's markers.
        mutating func finishCompletions() {
            for completion in completions {
                if let done = coordinator.completeTransaction(completion, now: now) { coordinator.apply(done) }
            }
            completions = []
        }

        func state(_ id: String = "tx") -> TransactionState? { coordinator.transactions[id]?.state }
    }

    let p0 = TopicPartition(topic: "t", partition: 0)
    let p1 = TopicPartition(topic: "t", partition: 1)

    @Test func aCommittedTransactionGoesThroughEveryState() {
        var h = Harness()
        let (error, pid, epoch) = h.initProducer()
        #expect(error == .none && pid == 1000 && epoch == 0)
        #expect(h.state() == .empty)
        #expect(h.add(pid, epoch, [p0]) == .none)
        #expect(h.state() == .ongoing)
        #expect(h.coordinator.transactions["tx"]?.startTimeMs == h.now)
        h.now += 10
        #expect(h.add(pid, epoch, [p0, p1]) == .none)
        #expect(h.coordinator.transactions["tx"]?.startTimeMs == h.now - 10)
        #expect(h.addOffsets(pid, epoch, group: "g") == .none)
        #expect(h.end(pid, epoch, commit: true) == .none)
        #expect(h.state() == .prepareCommit)
        #expect(h.completions == [TransactionCompletion(transactionalId: "tx", producerId: pid, producerEpoch: epoch,
                                                        commit: true, partitions: [p0, p1], groups: ["g"])])
        // While the markers are being written everything waits.
        #expect(h.add(pid, epoch, [p0]) == .concurrentTransactions)
        #expect(h.end(pid, epoch, commit: true) == .concurrentTransactions)
        #expect(h.end(pid, epoch, commit: false) == .invalidTxnState)
        #expect(h.initProducer().0 == .concurrentTransactions)
        h.finishCompletions()
        #expect(h.state() == .completeCommit)
        #expect(h.coordinator.transactions["tx"]?.partitions.isEmpty == true)
        // A retried EndTxn gets the same answer; the opposite decision is refused.
        #expect(h.end(pid, epoch, commit: true) == .none)
        #expect(h.end(pid, epoch, commit: false) == .invalidTxnState)
        // The next transaction starts from CompleteCommit.
        #expect(h.add(pid, epoch, [p1]) == .none)
        #expect(h.state() == .ongoing && h.coordinator.transactions["tx"]?.partitions == [p1])
    }

    @Test func abortsMirrorCommits() {
        var h = Harness()
        let (_, pid, epoch) = h.initProducer()
        _ = h.add(pid, epoch, [p0])
        #expect(h.end(pid, epoch, commit: false) == .none)
        #expect(h.state() == .prepareAbort)
        #expect(h.end(pid, epoch, commit: false) == .concurrentTransactions)
        #expect(h.end(pid, epoch, commit: true) == .invalidTxnState)
        h.finishCompletions()
        #expect(h.state() == .completeAbort)
        #expect(h.end(pid, epoch, commit: false) == .none)
        #expect(h.end(pid, epoch, commit: true) == .invalidTxnState)
    }

    @Test func endingWithoutATransactionIsAnInvalidState() {
        var h = Harness()
        let (_, pid, epoch) = h.initProducer()
        #expect(h.end(pid, epoch, commit: true) == .invalidTxnState)
        #expect(h.end(pid, epoch, commit: false) == .invalidTxnState)
        #expect(h.completions.isEmpty)
    }

    @Test func wrongProducerIdsAndEpochsAreRefused() {
        var h = Harness()
        let (_, pid, epoch) = h.initProducer()
        #expect(h.add(pid, epoch, [p0], id: "other") == .invalidProducerIdMapping)
        #expect(h.add(pid + 1, epoch, [p0]) == .invalidProducerIdMapping)
        #expect(h.add(pid, epoch + 1, [p0]) == .producerFenced)
        #expect(h.add(pid, epoch - 1, [p0]) == .producerFenced)
        #expect(h.end(pid, epoch, commit: true, id: "") == .invalidRequest)
        #expect(h.end(pid, epoch + 1, commit: true) == .producerFenced)
        #expect(h.state() == .empty)
    }

    @Test func initProducerIdValidatesTheTimeout() {
        var h = Harness()
        #expect(h.initProducer(timeoutMs: 0).0 == .invalidTransactionTimeout)
        #expect(h.initProducer(timeoutMs: 900_001).0 == .invalidTransactionTimeout)
        #expect(h.initProducer(timeoutMs: 900_000).0 == .none)
        #expect(h.initProducer("").0 == .invalidRequest)
        #expect(h.coordinator.transactions["tx"]?.timeoutMs == 900_000)
    }

    @Test func aNewInstanceBumpsTheEpochAndFencesTheOldOne() {
        var h = Harness()
        let (_, pid, epoch) = h.initProducer()
        #expect(h.initProducer() == (.none, pid, epoch + 1))
        // The old instance is a zombie now.
        #expect(h.add(pid, epoch, [p0]) == .producerFenced)
        #expect(h.end(pid, epoch, commit: true) == .producerFenced)
    }

    @Test func aNewInstanceAbortsTheOpenTransactionOfTheOldOne() {
        var h = Harness()
        let (_, pid, epoch) = h.initProducer()
        _ = h.add(pid, epoch, [p0, p1])
        // The new instance is told to retry while the old transaction is aborted with a bumped epoch.
        #expect(h.initProducer().0 == .concurrentTransactions)
        #expect(h.state() == .prepareAbort)
        #expect(h.completions.map(\.producerEpoch) == [epoch + 1])
        #expect(h.completions.map(\.commit) == [false])
        #expect(h.completions.first?.partitions == [p0, p1])
        #expect(h.end(pid, epoch, commit: true) == .producerFenced)
        #expect(h.initProducer().0 == .concurrentTransactions)
        h.finishCompletions()
        #expect(h.state() == .completeAbort)
        #expect(h.initProducer() == (.none, pid, epoch + 2))
        #expect(h.state() == .empty)
    }

    @Test func kip360EpochBumpsAndTheirRetries() {
        var h = Harness()
        let (_, pid, epoch) = h.initProducer()
        // The producer asks to keep its id with a new epoch.
        #expect(h.initProducer(expected: (pid, epoch)) == (.none, pid, epoch + 1))
        // The answer was lost: the retry with the old epoch gets the same answer, not another bump.
        #expect(h.initProducer(expected: (pid, epoch)) == (.none, pid, epoch + 1))
        #expect(h.coordinator.transactions["tx"]?.producerEpoch == epoch + 1)
        // Another producer id, or an epoch that is neither current nor the previous one, is a zombie.
        #expect(h.initProducer(expected: (pid + 5, epoch + 1)).0 == .producerFenced)
        #expect(h.initProducer(expected: (pid, epoch + 7)).0 == .producerFenced)
    }

    @Test func anExhaustedEpochRotatesToANewProducerId() {
        var h = Harness()
        let (_, pid, _) = h.initProducer()
        var metadata = h.coordinator.transactions["tx"]!
        metadata.producerEpoch = Int16.max - 1
        h.coordinator.apply(metadata)
        let (error, newPid, newEpoch) = h.initProducer(expected: (pid, Int16.max - 1))
        #expect(error == .none && newPid != pid && newEpoch == 0)
        #expect(h.coordinator.transactions["tx"]?.lastProducerId == pid)
        // A retry of that request, with the old id and exhausted epoch, is recognised.
        #expect(h.initProducer(expected: (pid, Int16.max - 1)) == (.none, newPid, 0))
    }

    @Test func timedOutTransactionsAreFencedAndAborted() {
        var h = Harness()
        let (_, pid, epoch) = h.initProducer(timeoutMs: 1000)
        _ = h.add(pid, epoch, [p0])
        #expect(h.coordinator.nextDeadline == h.now + 1000)
        #expect(h.coordinator.timedOut(now: h.now + 1000).isEmpty)
        h.now += 1001
        let updates = h.coordinator.timedOut(now: h.now)
        #expect(updates.count == 1)
        for update in updates { h.apply(update) }
        #expect(h.state() == .prepareAbort)
        #expect(h.coordinator.transactions["tx"]?.producerEpoch == epoch + 1)
        #expect(h.completions.first?.producerEpoch == epoch + 1)
        h.finishCompletions()
        #expect(h.coordinator.nextDeadline == nil)
        // The timed-out producer's later requests are fenced; a new instance continues with the next epoch.
        #expect(h.add(pid, epoch, [p0]) == .producerFenced)
        #expect(h.end(pid, epoch, commit: false) == .producerFenced)
        #expect(h.initProducer(timeoutMs: 1000) == (.none, pid, epoch + 2))
    }

    @Test func writesAndOffsetCommitsAreVerifiedAgainstTheOpenTransaction() {
        var h = Harness()
        let (_, pid, epoch) = h.initProducer()
        func write(_ partition: TopicPartition, epoch e: Int16 = epoch, pid p: Int64 = pid) -> ErrorCode {
            h.coordinator.verifyWrite(transactionalId: "tx", producerId: p, producerEpoch: e, partition: partition)
        }
        #expect(write(p0) == .invalidTxnState)
        _ = h.add(pid, epoch, [p0])
        #expect(write(p0) == .none)
        #expect(write(p1) == .invalidTxnState)
        #expect(write(p0, epoch: epoch - 1) == .invalidProducerEpoch)
        #expect(write(p0, pid: 7) == .invalidProducerIdMapping)
        #expect(h.coordinator.verifyWrite(transactionalId: "nope", producerId: pid, producerEpoch: epoch, partition: p0)
                    == .invalidProducerIdMapping)
        #expect(h.coordinator.verifyOffsetCommit(transactionalId: "tx", producerId: pid, producerEpoch: epoch, groupId: "g")
                    == .invalidTxnState)
        _ = h.addOffsets(pid, epoch, group: "g")
        #expect(h.coordinator.verifyOffsetCommit(transactionalId: "tx", producerId: pid, producerEpoch: epoch, groupId: "g") == .none)
        _ = h.end(pid, epoch, commit: true)
        #expect(write(p0) == .notEnoughReplicas)
        h.finishCompletions()
        #expect(write(p0) == .invalidTxnState)
    }

    @Test func addingWhatIsAlreadyThereChangesNothing() {
        var h = Harness()
        let (_, pid, epoch) = h.initProducer()
        let first = h.coordinator.addPartitions(transactionalId: "tx", producerId: pid, producerEpoch: epoch, partitions: [p0], now: h.now)
        #expect(first.update != nil)
        h.apply(first.update)
        let again = h.coordinator.addPartitions(transactionalId: "tx", producerId: pid, producerEpoch: epoch, partitions: [p0], now: h.now)
        #expect(again.error == .none && again.update == nil)
    }

    @Test func aRestartedCoordinatorFinishesDecidedTransactions() {
        var h = Harness()
        let (_, pid, epoch) = h.initProducer()
        _ = h.add(pid, epoch, [p0])
        _ = h.end(pid, epoch, commit: true)
        // The process dies after storing PrepareCommit: a new coordinator loads what was stored.
        let restarted = TransactionCoordinator(loaded: Array(h.coordinator.transactions.values))
        #expect(restarted.pendingCompletions == h.completions)
        var r = Harness(coordinator: restarted, nextProducerId: 2000, now: h.now)
        r.completions = restarted.pendingCompletions
        r.finishCompletions()
        #expect(r.state() == .completeCommit)
        #expect(r.coordinator.pendingCompletions.isEmpty)
    }

    @Test func aStaleCompletionChangesNothing() {
        var h = Harness()
        let (_, pid, epoch) = h.initProducer()
        _ = h.add(pid, epoch, [p0])
        _ = h.end(pid, epoch, commit: false)
        var stale = h.completions[0]
        stale.producerEpoch += 1
        #expect(h.coordinator.completeTransaction(stale, now: h.now) == nil)
    }

    @Test func idleIdsExpireButOpenTransactionsNever() {
        var h = Harness()
        _ = h.initProducer("idle")
        let (_, pid, epoch) = h.initProducer("busy")
        _ = h.add(pid, epoch, [p0], id: "busy")
        let later = h.now + h.coordinator.config.idExpirationMs
        #expect(h.coordinator.expiredIds(now: later) == ["idle"])
        #expect(h.coordinator.expiredIds(now: later - 1).isEmpty)
    }

    @Test func listingFiltersByStateProducerAndDuration() {
        var h = Harness()
        let (_, a, ea) = h.initProducer("a")
        _ = h.initProducer("b")
        _ = h.add(a, ea, [p0], id: "a")
        h.now += 5000
        let all = h.coordinator.list(states: [], producerIds: [], now: h.now)
        #expect(all.transactions.map(\.transactionalId) == ["a", "b"] && all.unknownStates.isEmpty)
        let ongoing = h.coordinator.list(states: ["Ongoing", "Bogus"], producerIds: [], now: h.now)
        #expect(ongoing.transactions.map(\.transactionalId) == ["a"] && ongoing.unknownStates == ["Bogus"])
        #expect(h.coordinator.list(states: [], producerIds: [a], now: h.now).transactions.map(\.transactionalId) == ["a"])
        #expect(h.coordinator.list(states: ["Ongoing"], producerIds: [], minimumDurationMs: 5000, now: h.now).transactions.isEmpty)
        #expect(h.coordinator.list(states: ["Ongoing"], producerIds: [], minimumDurationMs: 4999, now: h.now).transactions.count == 1)
        #expect(h.coordinator.list(states: ["Bogus"], producerIds: [], now: h.now).transactions.isEmpty)
        #expect(h.coordinator.describe("zzz") == .failure(.init(code: .transactionalIdNotFound)))
        #expect((try? h.coordinator.describe("a").get())?.partitions == [p0])
    }
}
