// swift-tools-version: 6.2
//
// Benchmarks for ledgerstream, kept out of the main package so that CI's build and `swift test` do not pay for them.
// Run them in release through ../.ci/benchmark or `swift run -c release --package-path Benchmarks <name>`.
import PackageDescription

let package = Package(
    name: "ledgerstream-benchmarks",
    dependencies: [
        .package(name: "ledgerstream", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "storage-bench",
            dependencies: [
                .product(name: "LogStorage", package: "ledgerstream"),
                .product(name: "KafkaProtocol", package: "ledgerstream"),
            ],
            swiftSettings: [.treatAllWarnings(as: .error)]
        ),
        .executableTarget(
            name: "codec-bench",
            dependencies: [
                .product(name: "KafkaProtocol", package: "ledgerstream"),
                .product(name: "LogStorage", package: "ledgerstream"),
            ],
            swiftSettings: [.treatAllWarnings(as: .error)]
        ),
        .executableTarget(
            name: "compaction-bench",
            dependencies: [
                .product(name: "LogStorage", package: "ledgerstream"),
                .product(name: "KafkaProtocol", package: "ledgerstream"),
            ],
            swiftSettings: [.treatAllWarnings(as: .error)]
        ),
        .executableTarget(
            name: "ledger-bench",
            dependencies: [.product(name: "Ledger", package: "ledgerstream")],
            swiftSettings: [.treatAllWarnings(as: .error)]
        ),
    ]
)
