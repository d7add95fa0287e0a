/// The group's timers. Kafka keeps them in purgatories; here they are deadlines the broker polls through
/// `GroupCoordinator.nextDeadline` and `tick(now:)`.
extension Group {
    enum TimerEvent: Equatable {
        /// A KIP-394 id was never used within the session timeout.
        case pendingMemberExpired(String)
        /// A member missed its session (or, if new, the new-member join timeout).
        case memberExpired(String)
        /// The join phase's wait (initial delay or rebalance timeout) is over.
        case joinDeadline
        /// Members that got their JoinGroup answer never sent SyncGroup.
        case syncDeadline
    }

    /// The earliest timer, if any; ties resolve expiries first, then by member order, so results are deterministic.
    func nextTimer() -> (deadline: Int64, event: TimerEvent)? {
        var best: (deadline: Int64, event: TimerEvent)?
        func consider(_ deadline: Int64?, _ event: @autoclosure () -> TimerEvent) {
            guard let deadline else { return }
            if let current = best, current.deadline <= deadline { return }
            best = (deadline, event())
        }
        for (memberId, deadline) in pendingMembers.sorted(by: { $0.key < $1.key }) {
            consider(deadline, .pendingMemberExpired(memberId))
        }
        for member in orderedMembers {
            consider(member.expiryDeadline, .memberExpired(member.memberId))
        }
        consider(joinDeadline, .joinDeadline)
        consider(syncDeadline, .syncDeadline)
        return best
    }

    var nextDeadline: Int64? {
        nextTimer()?.deadline
    }

    /// Fires every timer due at `now`, earliest first. Each firing removes its timer, pushes it past `now` or
    /// removes members, so the loop ends.
    mutating func runDueTimers(now: Int64, config: GroupCoordinatorConfig, into actions: inout [CoordinatorAction]) {
        while let (deadline, event) = nextTimer(), deadline <= now {
            switch event {
            case .pendingMemberExpired(let memberId):
                removePendingMember(memberId, now: now, into: &actions)
            case .memberExpired(let memberId):
                removeMemberAndUpdateGroup(memberId, now: now, config: config, into: &actions)
            case .joinDeadline:
                joinDeadlinePassed(now: now, config: config, into: &actions)
            case .syncDeadline:
                syncDeadlinePassed(now: now, config: config, into: &actions)
            }
        }
    }
}
