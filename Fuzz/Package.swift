// swift-tools-version: 6.2
//
// Coverage-guided fuzz targets for ledgerstream's decoders, kept out of the main package so that CI's build and
// `swift test` do not pay for them. Each executable is a libFuzzer target (`LLVMFuzzerTestOneInput`, no main of its
// own: `main` hands it to libFuzzer's driver); build and run them with `Fuzz/run` (see its header), which builds with
//   swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
// Only libraries without TLS, crypto or SQLite are depended on: the instrumented build compiles them all again.
import PackageDescription

let ledgerstream = "ledgerstream"
let settings: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "ledgerstream-fuzz",
    dependencies: [
        .package(name: ledgerstream, path: ".."),
    ],
    targets: [
        // libFuzzer's driver entry point, declared for Swift.
        .systemLibrary(name: "CLibFuzzer"),
        // Running libFuzzer from `main`, and the invariant check shared by the targets.
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], swiftSettings: settings),
        // What every transaction event must satisfy, whichever decoder made it.
        .target(
            name: "LedgerChecks",
            dependencies: ["FuzzSupport", .product(name: "LedgerDomain", package: ledgerstream)],
            swiftSettings: settings),
        // A Kafka request frame (size prefix removed) decoded as the broker decodes one, then re-encoded.
        .executableTarget(
            name: "kafka-request",
            dependencies: ["FuzzSupport", .product(name: "KafkaProtocol", package: ledgerstream)],
            swiftSettings: settings),
        // Produced record batches through the broker's validator, cross-checked with the record reader.
        .executableTarget(
            name: "record-batch",
            dependencies: ["FuzzSupport", .product(name: "KafkaProtocol", package: ledgerstream)],
            swiftSettings: settings),
        // A ZooKeeper frame decoded as the coordinator decodes a ConnectRequest and a request, then re-encoded.
        .executableTarget(
            name: "zookeeper-request",
            dependencies: ["FuzzSupport", .product(name: "ZooKeeperProtocol", package: ledgerstream)],
            swiftSettings: settings),
        // A transaction CSV file through the importer's parser.
        .executableTarget(
            name: "ledger-csv",
            dependencies: ["FuzzSupport", "LedgerChecks", .product(name: "LedgerDomain", package: ledgerstream)],
            swiftSettings: settings),
        // A record value through the sink's transaction-event JSON decoder.
        .executableTarget(
            name: "ledger-event",
            dependencies: ["FuzzSupport", "LedgerChecks", .product(name: "LedgerDomain", package: ledgerstream)],
            swiftSettings: settings),
    ]
)
