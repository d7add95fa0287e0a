import GroupCoordinator
import KafkaProtocol
import SQLiteStore
import TransactionCoordinator

extension StoredOffset {
    var committed: CommittedOffset {
        CommittedOffset(offset: offset, leaderEpoch: leaderEpoch, metadata: metadata, commitTimestampMs: commitMs)
    }
}

/// An offset committed inside a transaction, waiting for its outcome.
struct StoredPendingOffset: Sendable, Equatable {
    var group: String
    var producerId: Int64
    var offset: StoredOffset
}

/// The transaction coordinator's durable state: one row per transactional id with the partitions and groups of its
/// open transaction, written before the coordinator acts on a change (so a restart finds every decision it made),
/// and the offsets staged by TxnOffsetCommit until their transaction ends.
extension MetadataStore {
    func loadTransactions() throws -> [TransactionMetadata] {
        try withDatabase { db in
            var byId: [String: TransactionMetadata] = [:]
            let select = try db.prepare("""
                SELECT transactional_id, producer_id, producer_epoch, last_producer_id, last_producer_epoch, timeout_ms,
                       state, start_ms, last_update_ms
                FROM transactions
                """)
            while try select.step() {
                let id = select.string(0) ?? ""
                // An unknown state name can only come from a newer version's file: keep the id, decided as aborted.
                let state = TransactionState(rawValue: select.string(6) ?? "") ?? .completeAbort
                byId[id] = TransactionMetadata(
                    transactionalId: id, producerId: select.int64(1), producerEpoch: Int16(truncatingIfNeeded: select.int64(2)),
                    lastProducerId: select.int64(3), lastProducerEpoch: Int16(truncatingIfNeeded: select.int64(4)),
                    timeoutMs: Int32(truncatingIfNeeded: select.int64(5)), state: state, startTimeMs: select.int64(7),
                    lastUpdateMs: select.int64(8))
            }
            let partitions = try db.prepare("SELECT transactional_id, topic, partition FROM transaction_partitions")
            while try partitions.step() {
                guard let id = partitions.string(0), let topic = partitions.string(1) else { continue }
                byId[id]?.partitions.insert(TopicPartition(topic: topic, partition: Int32(partitions.int64(2))))
            }
            let groups = try db.prepare("SELECT transactional_id, group_id FROM transaction_groups")
            while try groups.step() {
                guard let id = groups.string(0), let group = groups.string(1) else { continue }
                byId[id]?.groups.insert(group)
            }
            return byId.values.sorted { $0.transactionalId < $1.transactionalId }
        }
    }

    /// Stores the id's state (one SQLite transaction: the row, its partitions and its groups).
    func saveTransaction(_ metadata: TransactionMetadata) throws {
        try withDatabase { db in
            try db.transaction {
                let upsert = try db.prepare("""
                    INSERT INTO transactions (transactional_id, producer_id, producer_epoch, last_producer_id,
                                              last_producer_epoch, timeout_ms, state, start_ms, last_update_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (transactional_id) DO UPDATE SET producer_id = excluded.producer_id,
                        producer_epoch = excluded.producer_epoch, last_producer_id = excluded.last_producer_id,
                        last_producer_epoch = excluded.last_producer_epoch, timeout_ms = excluded.timeout_ms,
                        state = excluded.state, start_ms = excluded.start_ms, last_update_ms = excluded.last_update_ms
                    """)
                try upsert.bind(1, metadata.transactionalId)
                try upsert.bind(2, metadata.producerId)
                try upsert.bind(3, Int64(metadata.producerEpoch))
                try upsert.bind(4, metadata.lastProducerId)
                try upsert.bind(5, Int64(metadata.lastProducerEpoch))
                try upsert.bind(6, Int64(metadata.timeoutMs))
                try upsert.bind(7, metadata.state.rawValue)
                try upsert.bind(8, metadata.startTimeMs)
                try upsert.bind(9, metadata.lastUpdateMs)
                try upsert.run()
                for sql in ["DELETE FROM transaction_partitions WHERE transactional_id = ?",
                            "DELETE FROM transaction_groups WHERE transactional_id = ?"] {
                    let delete = try db.prepare(sql)
                    try delete.bind(1, metadata.transactionalId)
                    try delete.run()
                }
                let partition = try db.prepare(
                    "INSERT INTO transaction_partitions (transactional_id, topic, partition) VALUES (?, ?, ?)")
                for entry in metadata.partitions.sorted() {
                    try partition.bind(1, metadata.transactionalId)
                    try partition.bind(2, entry.topic)
                    try partition.bind(3, Int64(entry.partition))
                    try partition.run()
                }
                let group = try db.prepare("INSERT INTO transaction_groups (transactional_id, group_id) VALUES (?, ?)")
                for entry in metadata.groups.sorted() {
                    try group.bind(1, metadata.transactionalId)
                    try group.bind(2, entry)
                    try group.run()
                }
            }
        }
    }

    func deleteTransaction(_ transactionalId: String) throws {
        try withDatabase { db in
            let delete = try db.prepare("DELETE FROM transactions WHERE transactional_id = ?")
            try delete.bind(1, transactionalId)
            try delete.run()
        }
    }

    func loadPendingOffsets() throws -> [StoredPendingOffset] {
        try withDatabase { db in
            let select = try db.prepare("""
                SELECT group_id, producer_id, topic, partition, committed_offset, leader_epoch, metadata, commit_ms
                FROM pending_transactional_offsets
                """)
            var pending: [StoredPendingOffset] = []
            while try select.step() {
                let group = select.string(0) ?? ""
                pending.append(StoredPendingOffset(group: group, producerId: select.int64(1), offset: StoredOffset(
                    group: group, topic: select.string(2) ?? "", partition: Int32(select.int64(3)), offset: select.int64(4),
                    leaderEpoch: Int32(truncatingIfNeeded: select.int64(5)), metadata: select.string(6),
                    commitMs: select.int64(7))))
            }
            return pending
        }
    }

    /// Stages a TxnOffsetCommit's offsets (replacing the producer's earlier ones for the same partitions).
    func stagePendingOffsets(group: String, producerId: Int64, _ offsets: [StoredOffset]) throws {
        guard !offsets.isEmpty else { return }
        try withDatabase { db in
            try db.transaction {
                let upsert = try db.prepare("""
                    INSERT INTO pending_transactional_offsets (group_id, producer_id, topic, partition, committed_offset,
                                                               leader_epoch, metadata, commit_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (group_id, producer_id, topic, partition) DO UPDATE SET
                        committed_offset = excluded.committed_offset, leader_epoch = excluded.leader_epoch,
                        metadata = excluded.metadata, commit_ms = excluded.commit_ms
                    """)
                for offset in offsets {
                    try upsert.bind(1, group)
                    try upsert.bind(2, producerId)
                    try Self.bind(offset, to: upsert, from: 3)
                    try upsert.run()
                }
            }
        }
    }

    /// The transaction ended: on commit its staged offsets become the group's committed offsets; either way they are
    /// no longer pending. One SQLite transaction, so a crash leaves them either pending or committed.
    func completePendingOffsets(group: String, producerId: Int64, commit: Bool) throws {
        try withDatabase { db in
            try db.transaction {
                if commit {
                    let promote = try db.prepare("""
                        INSERT INTO group_offsets (group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_ms)
                        SELECT group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_ms
                        FROM pending_transactional_offsets WHERE group_id = ? AND producer_id = ?
                        ON CONFLICT (group_id, topic, partition) DO UPDATE SET committed_offset = excluded.committed_offset,
                            leader_epoch = excluded.leader_epoch, metadata = excluded.metadata, commit_ms = excluded.commit_ms
                        """)
                    try promote.bind(1, group)
                    try promote.bind(2, producerId)
                    try promote.run()
                }
                let delete = try db.prepare("DELETE FROM pending_transactional_offsets WHERE group_id = ? AND producer_id = ?")
                try delete.bind(1, group)
                try delete.bind(2, producerId)
                try delete.run()
            }
        }
    }
}
