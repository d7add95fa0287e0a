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

/// A libFuzzer target: an executable over FuzzSupport, the given checks of this package and products of ledgerstream.
func fuzzTarget(_ name: String, products: [String], checks: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport"] + checks + products.map { .product(name: $0, package: ledgerstream) },
        swiftSettings: settings)
}

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
        fuzzTarget("kafka-request", products: ["KafkaProtocol"]),
        // Produced record batches through the broker's validator, cross-checked with the record reader.
        fuzzTarget("record-batch", products: ["KafkaProtocol"]),
        // A ZooKeeper frame decoded as the coordinator decodes a ConnectRequest and a request, then re-encoded.
        fuzzTarget("zookeeper-request", products: ["ZooKeeperProtocol"]),
        // A transaction CSV file through the importer's parser.
        fuzzTarget("ledger-csv", products: ["LedgerDomain"], checks: ["LedgerChecks"]),
        // A record value through the sink's transaction-event JSON decoder.
        fuzzTarget("ledger-event", products: ["LedgerDomain"], checks: ["LedgerChecks"]),
    ]
)
