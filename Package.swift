// swift-tools-version: 6.2
//
// ledgerstream: one binary replacing Kafka + ZooKeeper + Kafka Connect + SQLite + dashboards for streaming bank
// transactions. One module per concern; the executable target is a thin CLI over them.
import PackageDescription

/// Every target of ours: Swift 6 language mode (strict concurrency), and warnings are errors.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .treatAllWarnings(as: .error),
]

let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioEmbedded = Target.Dependency.product(name: "NIOEmbedded", package: "swift-nio")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")

let package = Package(
    name: "ledgerstream",
    products: [
        .executable(name: "ledgerstream", targets: ["ledgerstream"]),
        // Libraries, for the benchmarks package (../Benchmarks) and for embedding.
        .library(name: "KafkaProtocol", targets: ["KafkaProtocol"]),
        .library(name: "LogStorage", targets: ["LogStorage"]),
        .library(name: "Ledger", targets: ["Ledger"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // C: CRC-32C with SSE4.2 and a portable fallback (no Swift package offers CRC-32C).
        .target(name: "CCRC32C"),
        // System libraries, linked from the Debian -dev packages.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // No pkgConfig: readline's .pc adds -D flags SwiftPM prohibits.
        .systemLibrary(name: "CReadline", providers: [.apt(["libreadline-dev"])]),

        // The Kafka wire protocol: primitives, headers, generated messages, record batches. No I/O.
        .target(
            name: "KafkaProtocol",
            dependencies: ["CCRC32C", nioCore],
            exclude: ["Definitions"],
            swiftSettings: strict
        ),
        // Length-prefixed framing shared by the Kafka and ZooKeeper protocols.
        .target(name: "Framing", dependencies: [nioCore, nioPosix], swiftSettings: strict),
        // The append-only log: memory-mapped segments, sparse indexes, recovery, retention.
        .target(name: "LogStorage", dependencies: ["KafkaProtocol", logging], swiftSettings: strict),

        // A thin wrapper over the system SQLite: prepared statements, transactions, migrations.
        .target(name: "SQLiteStore", dependencies: ["CSQLite"], swiftSettings: strict),
        // The classic consumer-group protocol as a pure state machine (no I/O, time passed in).
        .target(name: "GroupCoordinator", dependencies: ["KafkaProtocol"], swiftSettings: strict),

        // Java .properties files (server.properties, zookeeper.properties).
        .target(name: "JavaProperties", swiftSettings: strict),
        // The Kafka-compatible broker: NIO server, request handlers, topics, groups, metadata store.
        .target(
            name: "KafkaBroker",
            dependencies: [
                "KafkaProtocol", "LogStorage", "GroupCoordinator", "SQLiteStore", "Framing", "JavaProperties", "Coordinator",
                nioCore, nioPosix, logging, serviceLifecycle,
            ],
            swiftSettings: strict
        ),

        // The ZooKeeper client protocol: jute records, op codes, error codes, watch events. No I/O.
        .target(name: "ZooKeeperProtocol", dependencies: [nioCore], swiftSettings: strict),
        // The ZooKeeper-compatible coordinator (DataTree, sessions, Prep → Log → Apply, txn log and snapshots, NIO
        // server), a ZooKeeper client, and the Kafka broker's registration in ZooKeeper.
        .target(
            name: "Coordinator",
            dependencies: [
                "ZooKeeperProtocol", "Framing", "JavaProperties", "CCRC32C", nioCore, nioPosix, logging, serviceLifecycle,
            ],
            swiftSettings: strict
        ),

        // A Kafka client (connections, metadata, producer, consumer, admin) for any Kafka-compatible cluster.
        .target(name: "KafkaClient", dependencies: ["KafkaProtocol", "Framing", nioCore, nioPosix], swiftSettings: strict),

        // The bank ledger: money, transaction events, CSV import, the exactly-once SQLite sink and its queries.
        .target(name: "Ledger", dependencies: ["SQLiteStore", "KafkaClient", logging], swiftSettings: strict),
        // `report`: the text dashboards as pure renderers (ledger values in, lines of text out; no I/O).
        .target(name: "Report", dependencies: ["Ledger"], swiftSettings: strict),

        // The `shell` REPL: the session state machine (pure), its Kafka + SQLite backend, readline at the edge.
        .target(name: "Shell", dependencies: ["Ledger", "KafkaClient", "CReadline", nioCore, nioPosix], swiftSettings: strict),

        // The thin command-line front end.
        .executableTarget(
            name: "ledgerstream",
            dependencies: ["KafkaBroker", "KafkaClient", "Coordinator", "Ledger", "Shell", "Report", "LogStorage", "KafkaProtocol", "JavaProperties", argumentParser, logging, serviceLifecycle],
            swiftSettings: strict
        ),

        // Developer tool: generates Sources/KafkaProtocol/Generated from Sources/KafkaProtocol/Definitions.
        .executableTarget(name: "kafka-protocol-gen", swiftSettings: strict),

        .testTarget(
            name: "KafkaProtocolTests", dependencies: ["KafkaProtocol", "Framing", nioEmbedded], resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(name: "LogStorageTests", dependencies: ["LogStorage"], swiftSettings: strict),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "SQLiteStore"], swiftSettings: strict),
        .testTarget(name: "ShellTests", dependencies: ["Shell", "Ledger", "KafkaClient"], swiftSettings: strict),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Ledger", "SQLiteStore"], swiftSettings: strict),
        .testTarget(name: "KafkaClientTests", dependencies: ["KafkaClient", "KafkaBroker", nioPosix], swiftSettings: strict),
        .testTarget(name: "GroupCoordinatorTests", dependencies: ["GroupCoordinator"], swiftSettings: strict),
        .testTarget(
            name: "CoordinatorTests", dependencies: ["Coordinator", "ZooKeeperProtocol", "JavaProperties", nioEmbedded, nioPosix],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KafkaBrokerTests",
            dependencies: [
                "KafkaBroker", "JavaProperties", nioEmbedded,
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
    ]
)
