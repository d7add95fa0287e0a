import KafkaProtocol

/// Forgetting committed offsets: DeleteGroups (every offset of the group, pending transactional ones included) and
/// OffsetDelete (chosen partitions), each in one transaction.
extension MetadataStore {
    func deleteGroupOffsets(_ group: String) throws {
        try withDatabase { db in
            try db.transaction {
                for sql in ["DELETE FROM group_offsets WHERE group_id = ?",
                            "DELETE FROM pending_transactional_offsets WHERE group_id = ?"] {
                    let statement = try db.prepare(sql)
                    try statement.bind(1, group)
                    try statement.run()
                }
            }
        }
    }

    func deleteOffsets(group: String, partitions: [TopicPartition]) throws {
        guard !partitions.isEmpty else { return }
        try withDatabase { db in
            try db.transaction {
                let delete = try db.prepare("DELETE FROM group_offsets WHERE group_id = ? AND topic = ? AND partition = ?")
                for partition in partitions {
                    try delete.bind(1, group)
                    try delete.bind(2, partition.topic)
                    try delete.bind(3, Int64(partition.partition))
                    try delete.run()
                }
            }
        }
    }
}
