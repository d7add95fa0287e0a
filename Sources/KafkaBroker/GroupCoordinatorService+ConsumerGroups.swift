import GroupCoordinator
import KafkaProtocol

/// The KIP-848 consumer group protocol's calls into the coordinator. Consumer groups answer at once (nothing is
/// parked); their session and rebalance timeouts run on the service's timer like the classic ones.
extension GroupCoordinatorService {
    func consumerGroupHeartbeat(_ input: ConsumerHeartbeatInput, topics: ConsumerTopicsImage) -> ConsumerHeartbeatOutcome {
        let time = now
        let outcome = state.withLock { $0.coordinator.consumerGroupHeartbeat(input, topics: topics, now: time) }
        perform([])  // re-arms the timer for the member's new session deadline
        return outcome
    }

    func describeConsumerGroup(_ groupId: String, topics: ConsumerTopicsImage) -> ConsumerGroupDescription {
        state.withLock { $0.coordinator.describeConsumerGroup(groupId, topics: topics) }
    }

    /// OffsetFetch v9's member check (NONE for classic groups and admin fetches).
    func validateOffsetFetch(groupId: String, memberId: String?, memberEpoch: Int32) -> ErrorCode {
        state.withLock { $0.coordinator.validateConsumerGroupOffsetFetch(groupId: groupId, memberId: memberId, memberEpoch: memberEpoch) }
    }

    /// One ListGroups entry, with its group type (ListGroups v5).
    struct ListedGroup {
        var groupId: String
        var protocolType: String
        var state: String
        var type: String
    }

    /// Classic and consumer groups, by group id; `typesFilter` (case-insensitive) empty means every type.
    func listGroups(statesFilter: [String], typesFilter: [String]) -> [ListedGroup] {
        let types = Set(typesFilter.map { $0.lowercased() })
        let (classic, consumer) = state.withLock { state in
            (state.coordinator.listGroups(statesFilter: statesFilter),
             state.coordinator.listConsumerGroups(statesFilter: statesFilter))
        }
        var listed: [ListedGroup] = []
        if types.isEmpty || types.contains("classic") {
            listed += classic.map { ListedGroup(groupId: $0.groupId, protocolType: $0.protocolType, state: $0.state, type: "classic") }
        }
        if types.isEmpty || types.contains("consumer") {
            listed += consumer.map { ListedGroup(groupId: $0.groupId, protocolType: $0.protocolType, state: $0.state, type: "consumer") }
        }
        return listed.sorted { $0.groupId < $1.groupId }
    }
}
