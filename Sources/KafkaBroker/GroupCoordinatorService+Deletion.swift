import GroupCoordinator
import KafkaProtocol

/// DeleteGroups and OffsetDelete: the coordinator decides, the metadata store forgets the offsets, then the
/// coordinator does. Both hold the offset-write lock (no commit can slip in between) and the coordinator's lock
/// across the store write, so the group cannot gain a member between the check and the deletion; these are rare
/// admin requests, so the short wait for one SQLite transaction is acceptable.
extension GroupCoordinatorService {
    /// One error per group, in request order.
    func deleteGroups(_ groupIds: [String]) -> [ErrorCode] {
        groupIds.map { groupId in
            withCoordinatorForDeletion { coordinator -> ErrorCode in
                let error = coordinator.groupDeletionError(groupId)
                guard error == .none else { return error }
                do {
                    try store.deleteGroupOffsets(groupId)
                } catch {
                    logger.error("deleting a group's offsets failed", metadata: ["group": "\(groupId)", "error": "\(error)"])
                    return .coordinatorNotAvailable
                }
                return coordinator.deleteGroup(groupId)
            }
        }
    }

    /// OffsetDelete: the group-level error, else each partition's (GROUP_SUBSCRIBED_TO_TOPIC or NONE).
    func deleteOffsets(groupId: String, partitions: [TopicPartition]) -> OffsetDeletionPlan {
        withCoordinatorForDeletion { coordinator in
            let plan = coordinator.planOffsetDeletion(groupId: groupId, partitions: partitions)
            guard plan.groupError == .none, !plan.deletable.isEmpty else { return plan }
            do {
                try store.deleteOffsets(group: groupId, partitions: plan.deletable)
            } catch {
                logger.error("deleting committed offsets failed", metadata: ["group": "\(groupId)", "error": "\(error)"])
                return OffsetDeletionPlan(groupError: .coordinatorNotAvailable, partitionErrors: [:])
            }
            coordinator.deleteOffsets(groupId: groupId, partitions: plan.deletable)
            return plan
        }
    }
}
