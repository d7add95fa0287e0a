import KafkaProtocol
import Testing

@testable import KafkaClient

/// The consumer's side of KIP-227: full then incremental requests, and falling back to full fetches on errors.
@Suite struct FetchSessionHandlerTests {
    typealias State = FetchSessionHandler.PartitionState

    static func tp(_ partition: Int32) -> TopicPartition { TopicPartition(topic: "t", partition: partition) }
    static func at(_ offset: Int64) -> State { State(fetchOffset: offset, maxBytes: 1024, topicId: .zero) }

    @Test func fullThenIncrementalWithChangesAndForgottenPartitions() {
        var handler = FetchSessionHandler()
        let full = handler.build([Self.tp(0): Self.at(0), Self.tp(1): Self.at(0)])
        #expect(full.isFull && full.sessionId == 0 && full.partitions.map(\.0) == [Self.tp(0), Self.tp(1)])
        do { let accepted = handler.handleResponse(to: full, errorCode: 0, responseSessionId: 42); #expect(accepted) }
        // Nothing changed: nothing listed.
        let quiet = handler.build([Self.tp(0): Self.at(0), Self.tp(1): Self.at(0)])
        #expect(quiet.sessionId == 42 && quiet.epoch == 1 && quiet.partitions.isEmpty && quiet.forgotten.isEmpty)
        do { let accepted = handler.handleResponse(to: quiet, errorCode: 0, responseSessionId: 42); #expect(accepted) }
        // p0 advanced, p1 dropped, p2 added.
        let changed = handler.build([Self.tp(0): Self.at(5), Self.tp(2): Self.at(0)])
        #expect(changed.epoch == 2)
        #expect(changed.partitions.map(\.0) == [Self.tp(0), Self.tp(2)] && changed.partitions[0].1.fetchOffset == 5)
        #expect(changed.forgotten.map(\.0) == [Self.tp(1)])
    }

    @Test func errorsMakeTheNextFetchFull() {
        var handler = FetchSessionHandler()
        let wanted = [Self.tp(0): Self.at(0)]
        do { let accepted = handler.handleResponse(to: handler.build(wanted), errorCode: 0, responseSessionId: 7); #expect(accepted) }
        let stale = handler.build(wanted)
        do { let accepted = handler.handleResponse(to: stale, errorCode: ErrorCode.invalidFetchSessionEpoch.rawValue, responseSessionId: 0); #expect(!accepted) }
        // The next full request names the old session, which the broker then closes.
        let reopen = handler.build(wanted)
        #expect(reopen.isFull && reopen.sessionId == 7 && reopen.partitions.count == 1)
        do { let accepted = handler.handleResponse(to: reopen, errorCode: ErrorCode.fetchSessionIdNotFound.rawValue, responseSessionId: 0); #expect(!accepted) }
        #expect(handler.build(wanted).sessionId == 0)
        // A failed fetch, or a broker that hands out no session: full again.
        handler.handleError()
        let full = handler.build(wanted)
        #expect(full.isFull)
        do { let accepted = handler.handleResponse(to: full, errorCode: 0, responseSessionId: 0); #expect(accepted) }
        #expect(handler.build(wanted).isFull)
    }

    @Test func epochsWrapToOne() {
        var handler = FetchSessionHandler()
        let wanted = [Self.tp(0): Self.at(0)]
        _ = handler.handleResponse(to: handler.build(wanted), errorCode: 0, responseSessionId: 3)
        var request = handler.build(wanted)
        request.epoch = .max
        _ = handler.handleResponse(to: request, errorCode: 0, responseSessionId: 3)
        #expect(handler.build(wanted).epoch == 1)
    }
}
