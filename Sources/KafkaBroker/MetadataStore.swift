import KafkaProtocol
import SQLiteStore
import Synchronization

/// A topic as persisted.
struct StoredTopic: Sendable, Equatable {
    var name: String
    var id: KafkaUUID
    var partitionCount: Int32
    var configs: [String: String]
    var createdMs: Int64
}

/// A committed consumer-group offset as persisted.
struct StoredOffset: Sendable, Equatable {
    var group: String
    var topic: String
    var partition: Int32
    var offset: Int64
    var leaderEpoch: Int32
    var metadata: String?
    var commitMs: Int64
}

/// The broker's durable metadata in `<data dir>/metadata.db` (SQLite, WAL): the cluster id, topics and their
/// configs, committed group offsets, the producer-id high-water mark, and the transaction coordinator's state
/// (`MetadataStore+Transactions.swift`). Kafka keeps these in ZooKeeper/KRaft and
/// `__consumer_offsets`; one SQLite file gives the same durability for a single node, and a committed transaction
/// survives the process being killed.
///
/// Thread-safe: one connection behind a lock. Calls block on disk, so they run on the broker's I/O threads.
final class MetadataStore: Sendable {
    private let database: Mutex<SQLiteDatabase>

    static let migrations: [(name: String, sql: String)] = [
        ("001_initial", """
            CREATE TABLE cluster (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
            CREATE TABLE topics (
                name TEXT PRIMARY KEY NOT NULL,
                topic_id TEXT NOT NULL UNIQUE,
                partitions INTEGER NOT NULL CHECK (partitions > 0),
                created_ms INTEGER NOT NULL
            );
            CREATE TABLE topic_configs (
                topic TEXT NOT NULL REFERENCES topics(name) ON DELETE CASCADE,
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (topic, key)
            );
            CREATE TABLE group_offsets (
                group_id TEXT NOT NULL,
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL CHECK (partition >= 0),
                committed_offset INTEGER NOT NULL,
                leader_epoch INTEGER NOT NULL,
                metadata TEXT,
                commit_ms INTEGER NOT NULL,
                PRIMARY KEY (group_id, topic, partition)
            );
            """),
        // The transaction coordinator's state (Kafka's __transaction_state) and offsets committed inside open
        // transactions (Kafka keeps those as transactional records in __consumer_offsets).
        ("002_transactions", """
            CREATE TABLE transactions (
                transactional_id TEXT PRIMARY KEY NOT NULL,
                producer_id INTEGER NOT NULL,
                producer_epoch INTEGER NOT NULL,
                last_producer_id INTEGER NOT NULL,
                last_producer_epoch INTEGER NOT NULL,
                timeout_ms INTEGER NOT NULL CHECK (timeout_ms > 0),
                state TEXT NOT NULL,
                start_ms INTEGER NOT NULL,
                last_update_ms INTEGER NOT NULL
            );
            CREATE TABLE transaction_partitions (
                transactional_id TEXT NOT NULL REFERENCES transactions(transactional_id) ON DELETE CASCADE,
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL CHECK (partition >= 0),
                PRIMARY KEY (transactional_id, topic, partition)
            ) WITHOUT ROWID;
            CREATE TABLE transaction_groups (
                transactional_id TEXT NOT NULL REFERENCES transactions(transactional_id) ON DELETE CASCADE,
                group_id TEXT NOT NULL,
                PRIMARY KEY (transactional_id, group_id)
            ) WITHOUT ROWID;
            CREATE TABLE pending_transactional_offsets (
                group_id TEXT NOT NULL,
                producer_id INTEGER NOT NULL,
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL CHECK (partition >= 0),
                committed_offset INTEGER NOT NULL,
                leader_epoch INTEGER NOT NULL,
                metadata TEXT,
                commit_ms INTEGER NOT NULL,
                PRIMARY KEY (group_id, producer_id, topic, partition)
            ) WITHOUT ROWID;
            """),
        // Security: SCRAM credentials (salt and derived keys, never the password) and ACL bindings, which Kafka
        // keeps in ZooKeeper (/config/users, /kafka-acl) or the KRaft metadata log.
        ("003_security", """
            CREATE TABLE scram_credentials (
                user_name TEXT NOT NULL,
                mechanism INTEGER NOT NULL CHECK (mechanism IN (1, 2)),
                salt BLOB NOT NULL,
                stored_key BLOB NOT NULL,
                server_key BLOB NOT NULL,
                iterations INTEGER NOT NULL CHECK (iterations > 0),
                PRIMARY KEY (user_name, mechanism)
            ) WITHOUT ROWID;
            CREATE TABLE acls (
                resource_type INTEGER NOT NULL,
                resource_name TEXT NOT NULL,
                pattern_type INTEGER NOT NULL,
                principal TEXT NOT NULL,
                host TEXT NOT NULL,
                operation INTEGER NOT NULL,
                permission INTEGER NOT NULL,
                PRIMARY KEY (resource_type, resource_name, pattern_type, principal, host, operation, permission)
            ) WITHOUT ROWID;
            """),
    ]

    init(path: String) throws {
        let db = try SQLiteDatabase.openFile(path: path)
        try db.migrate(Self.migrations)
        database = Mutex(db)
    }

    func withDatabase<T: Sendable>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        try database.withLock { db in try body(db) }
    }

    /// The cluster id, created (22-character base64 UUID, as Kafka's) on first use.
    func clusterId() throws -> String {
        try withDatabase { db in
            let select = try db.prepare("SELECT value FROM cluster WHERE key = 'cluster_id'")
            if try select.step(), let id = select.string(0) { return id }
            let id = KafkaUUID.random().description
            let insert = try db.prepare("INSERT INTO cluster (key, value) VALUES ('cluster_id', ?)")
            try insert.bind(1, id)
            try insert.run()
            return id
        }
    }

    /// Reserves the next `size` producer ids: the persisted high-water mark moves first, so ids are never reused,
    /// even across a crash (unused ids of a block are simply skipped).
    func reserveProducerIds(_ size: Int64) throws -> Range<Int64> {
        try withDatabase { db in
            try db.transaction {
                let select = try db.prepare("SELECT value FROM cluster WHERE key = 'next_producer_id'")
                let start = try select.step() ? Int64(select.string(0) ?? "0") ?? 0 : 0
                let upsert = try db.prepare(
                    "INSERT INTO cluster (key, value) VALUES ('next_producer_id', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
                try upsert.bind(1, String(start + size))
                try upsert.run()
                return start..<(start + size)
            }
        }
    }

    func loadTopics() throws -> [StoredTopic] {
        try withDatabase { db in
            var topics: [String: StoredTopic] = [:]
            let select = try db.prepare("SELECT name, topic_id, partitions, created_ms FROM topics ORDER BY name")
            while try select.step() {
                let name = select.string(0) ?? ""
                topics[name] = StoredTopic(
                    name: name, id: KafkaUUID(base64: select.string(1) ?? "") ?? .zero,
                    partitionCount: Int32(select.int64(2)), configs: [:], createdMs: select.int64(3))
            }
            let configs = try db.prepare("SELECT topic, key, value FROM topic_configs")
            while try configs.step() {
                guard let topic = configs.string(0), let key = configs.string(1), let value = configs.string(2) else { continue }
                topics[topic]?.configs[key] = value
            }
            return topics.values.sorted { $0.name < $1.name }
        }
    }

    func createTopic(_ topic: StoredTopic) throws {
        try withDatabase { db in
            try db.transaction {
                let insert = try db.prepare("INSERT INTO topics (name, topic_id, partitions, created_ms) VALUES (?, ?, ?, ?)")
                try insert.bind(1, topic.name)
                try insert.bind(2, topic.id.description)
                try insert.bind(3, Int64(topic.partitionCount))
                try insert.bind(4, topic.createdMs)
                try insert.run()
                try Self.replaceConfigs(db, topic: topic.name, configs: topic.configs)
            }
        }
    }

    private static func replaceConfigs(_ db: SQLiteDatabase, topic: String, configs: [String: String]) throws {
        let delete = try db.prepare("DELETE FROM topic_configs WHERE topic = ?")
        try delete.bind(1, topic)
        try delete.run()
        let insert = try db.prepare("INSERT INTO topic_configs (topic, key, value) VALUES (?, ?, ?)")
        for (key, value) in configs.sorted(by: { $0.key < $1.key }) {
            try insert.bind(1, topic)
            try insert.bind(2, key)
            try insert.bind(3, value)
            try insert.run()
        }
    }

    func setTopicConfigs(_ topic: String, _ configs: [String: String]) throws {
        try withDatabase { db in try db.transaction { try Self.replaceConfigs(db, topic: topic, configs: configs) } }
    }

    func setPartitionCount(_ topic: String, _ count: Int32) throws {
        try withDatabase { db in
            let update = try db.prepare("UPDATE topics SET partitions = ? WHERE name = ?")
            try update.bind(1, Int64(count))
            try update.bind(2, topic)
            try update.run()
        }
    }

    /// Removes the topic, its configs and every group's offsets for it, in one transaction.
    func deleteTopic(_ name: String) throws {
        try withDatabase { db in
            try db.transaction {
                for sql in ["DELETE FROM topics WHERE name = ?", "DELETE FROM group_offsets WHERE topic = ?",
                            "DELETE FROM pending_transactional_offsets WHERE topic = ?"] {
                    let statement = try db.prepare(sql)
                    try statement.bind(1, name)
                    try statement.run()
                }
            }
        }
    }

    func loadOffsets() throws -> [StoredOffset] {
        try withDatabase { db in
            let select = try db.prepare(
                "SELECT group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_ms FROM group_offsets")
            var offsets: [StoredOffset] = []
            while try select.step() {
                offsets.append(StoredOffset(
                    group: select.string(0) ?? "", topic: select.string(1) ?? "", partition: Int32(select.int64(2)),
                    offset: select.int64(3), leaderEpoch: Int32(select.int64(4)), metadata: select.string(5),
                    commitMs: select.int64(6)))
            }
            return offsets
        }
    }

    /// Persists a commit atomically: all of a request's offsets or none.
    func commitOffsets(_ offsets: [StoredOffset]) throws {
        guard !offsets.isEmpty else { return }
        try withDatabase { db in
            try db.transaction {
                let upsert = try db.prepare("""
                    INSERT INTO group_offsets (group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (group_id, topic, partition) DO UPDATE SET committed_offset = excluded.committed_offset,
                        leader_epoch = excluded.leader_epoch, metadata = excluded.metadata, commit_ms = excluded.commit_ms
                    """)
                // A plain commit supersedes a transactional one of the same partition still pending (see
                // GroupCoordinator.storeOffsets).
                let unstage = try db.prepare(
                    "DELETE FROM pending_transactional_offsets WHERE group_id = ? AND topic = ? AND partition = ?")
                for offset in offsets {
                    try upsert.bind(1, offset.group)
                    try Self.bind(offset, to: upsert, from: 2)
                    try upsert.run()
                    try unstage.bind(1, offset.group)
                    try unstage.bind(2, offset.topic)
                    try unstage.bind(3, Int64(offset.partition))
                    try unstage.run()
                }
            }
        }
    }

    /// Binds topic, partition, offset, leader epoch, metadata and commit time to six parameters from `first`.
    static func bind(_ offset: StoredOffset, to statement: Statement, from first: Int32) throws {
        try statement.bind(first, offset.topic)
        try statement.bind(first + 1, Int64(offset.partition))
        try statement.bind(first + 2, offset.offset)
        try statement.bind(first + 3, Int64(offset.leaderEpoch))
        try statement.bind(first + 4, offset.metadata)
        try statement.bind(first + 5, offset.commitMs)
    }

    func close() {
        database.withLock { $0.close() }
    }
}
