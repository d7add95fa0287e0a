import ArgumentParser
import KafkaClient
import KafkaProtocol
import Ledger

/// `ledgerstream transactions …`: kafka-transactions.sh's list and describe, for any cluster implementing KIP-664.
struct TransactionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transactions",
        abstract: "List and describe transactional producers and their open transactions.",
        discussion: """
            States are Kafka's: Empty (no transaction yet), Ongoing (open), PrepareCommit/PrepareAbort (decided, \\
            markers being written), CompleteCommit/CompleteAbort (the last one finished). `topic describe` shows, per \\
            partition, the last stable offset and which producers' open transactions hold it back.
            """,
        subcommands: [List.self, Describe.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List transactional ids with their producer and state.")

        @Option(name: .customLong("state"), help: "Only ids in this state (repeatable), e.g. Ongoing.")
        var states: [String] = []

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await withClient(client, command: "transactions list") { kafka in
                let listed = try await kafka.listTransactions(states: states)
                if format == .json {
                    printFlushed(JSONValue.array(listed.map {
                        .object([("transactional_id", .string($0.transactionalId)), ("producer_id", .number($0.producerId)),
                                 ("state", .string($0.state))])
                    }).text)
                } else if !listed.isEmpty {
                    let rows = listed.map { [$0.transactionalId, "\($0.producerId)", $0.state] }
                    printFlushed(Table.render(header: ["TransactionalId", "ProducerId", "State"], rows: rows).joined(separator: "\n"))
                }
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show a transactional id's producer, state, timeout and open transaction.")

        @Argument(help: "Transactional ids to describe.")
        var ids: [String]

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        @OptionGroup var client: ClientOptions

        func validate() throws {
            if ids.isEmpty { throw ValidationError("name at least one transactional id") }
        }

        func run() async throws {
            try await withClient(client, command: "transactions describe") { kafka in
                var described: [TransactionDetails] = []
                for id in ids { described.append(try await kafka.describeTransaction(id)) }
                if format == .json {
                    printFlushed(JSONValue.array(described.map(Self.json)).text)
                } else {
                    printFlushed(described.map(Self.text).joined(separator: "\n"))
                }
            }
        }

        static func text(_ details: TransactionDetails) -> String {
            let partitions = details.partitions.map(\.description).joined(separator: ",")
            return [
                "TransactionalId: \(details.transactionalId)", "ProducerId: \(details.producerId)",
                "ProducerEpoch: \(details.producerEpoch)", "State: \(details.state)", "TimeoutMs: \(details.timeoutMs)",
                "StartTimeMs: \(details.startTimeMs.map(String.init) ?? "-")",
                "Partitions: \(partitions.isEmpty ? "-" : partitions)",
            ].joined(separator: "\t")
        }

        static func json(_ details: TransactionDetails) -> JSONValue {
            .object([
                ("transactional_id", .string(details.transactionalId)), ("producer_id", .number(details.producerId)),
                ("producer_epoch", .number(details.producerEpoch)), ("state", .string(details.state)),
                ("timeout_ms", .number(details.timeoutMs)),
                ("start_time_ms", details.startTimeMs.map { .number($0) } ?? .null),
                ("partitions", .array(details.partitions.map { .string($0.description) })),
            ])
        }
    }
}
