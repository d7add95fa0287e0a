import ArgumentParser
import KafkaClient
import KafkaProtocol
import Ledger

/// `ledgerstream topic …`: kafka-topics.sh for any Kafka-compatible cluster.
struct TopicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topic",
        abstract: "Create, describe, list, alter and delete topics.",
        subcommands: [Create.self, Describe.self, List.self, Alter.self, Delete.self],
        defaultSubcommand: List.self
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a topic.")

        @Argument(help: "Topic name: letters, digits, '.', '_' and '-'.")
        var name: String

        @Option(help: "Number of partitions (default: the broker's num.partitions).")
        var partitions: Int32?

        @Option(help: "Replication factor (a single ledgerstream broker supports 1).")
        var replicationFactor: Int16?

        @Option(name: .customLong("config"), help: "A topic config, key=value (repeatable), e.g. retention.ms=86400000.")
        var configs: [String] = []

        @Flag(help: "Succeed without changes if the topic already exists.")
        var ifNotExists = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let parsed = try parseConfigAssignments(configs)
            try await withClient(client, command: "topic create") { kafka in
                do {
                    try await kafka.createTopic(name, partitions: partitions ?? -1, replicationFactor: replicationFactor ?? -1, configs: parsed)
                    printFlushed("Created topic \(name).")
                } catch KafkaClientError.broker(.topicAlreadyExists, let message) where ifNotExists {
                    _ = message
                    printFlushed("Topic \(name) already exists.")
                }
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show partitions, leaders, offsets and every config with its value and source.")

        @Argument(help: "Topics to describe (default: all).", completion: .custom(topicNames))
        var names: [String] = []

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await withClient(client, command: "topic describe") { kafka in
                let topics = names.isEmpty ? try await kafka.listTopics().map(\.name) : names
                var jsonTopics: [String] = []
                for name in topics {
                    let description = try await kafka.describeTopic(name)
                    if format == .json {
                        jsonTopics.append(Self.json(description))
                    } else {
                        print(Self.text(description))
                    }
                }
                if format == .json { printFlushed("[" + jsonTopics.joined(separator: ",") + "]") }
            }
        }

        static func text(_ topic: TopicDescription) -> String {
            let overrides = topic.configs.filter(\.isOverride).map { "\($0.name)=\($0.value ?? "")" }.joined(separator: ",")
            var lines = ["Topic: \(topic.name)\tTopicId: \(topic.id)\tPartitionCount: \(topic.partitions.count)\tReplicationFactor: \(topic.partitions.first?.replicas.count ?? 0)\tConfigs: \(overrides)"]
            let header = ["Partition", "Leader", "Replicas", "Isr", "LogStartOffset", "LastStableOffset", "HighWatermark",
                          "OpenTransactions"]
            let rows = topic.partitions.map { p in
                ["\(p.partition)", "\(p.leader)", p.replicas.map(String.init).joined(separator: ","),
                 p.isr.map(String.init).joined(separator: ","), "\(p.logStartOffset)", "\(p.lastStableOffset)",
                 "\(p.highWatermark)", openTransactions(p)]
            }
            lines += Table.render(header: header, rows: rows).map { "\t" + $0 }
            lines.append("\tConfigs:")
            lines += Table.render(header: ["Config", "Value", "Source", "Synonyms"], rows: topic.configs.map { config in
                [config.name, config.value ?? "(null)", config.source,
                 config.synonyms.map { "\($0.source):\($0.name)=\($0.value ?? "(null)")" }.joined(separator: ", ")]
            }).map { "\t" + $0 }
            return lines.joined(separator: "\n")
        }

        /// `producer:ID@OFFSET` per open transaction (where it started), "-" for none, "?" if the broker cannot say.
        static func openTransactions(_ partition: TopicDescription.Partition) -> String {
            guard let open = partition.openTransactions else { return "?" }
            if open.isEmpty { return "-" }
            return open.map { "producer:\($0.producerId)@\($0.openTransactionStart ?? -1)" }.joined(separator: ",")
        }

        static func json(_ topic: TopicDescription) -> String {
            JSONValue.object([
                ("name", .string(topic.name)), ("id", .string(topic.id.description)),
                ("partitions", .array(topic.partitions.map { p in
                    .object([("partition", .number(p.partition)), ("leader", .number(p.leader)),
                             ("replicas", .array(p.replicas.map { .number($0) })), ("isr", .array(p.isr.map { .number($0) })),
                             ("log_start_offset", .number(p.logStartOffset)), ("last_stable_offset", .number(p.lastStableOffset)),
                             ("high_watermark", .number(p.highWatermark)),
                             ("open_transactions", p.openTransactions.map { open in
                                 .array(open.map { .object([("producer_id", .number($0.producerId)),
                                                            ("producer_epoch", .number($0.producerEpoch)),
                                                            ("start_offset", .number($0.openTransactionStart ?? -1))]) })
                             } ?? .null)])
                })),
                ("configs", .object(topic.configs.map { ($0.name, .optional($0.value)) })),
                ("config_sources", .object(topic.configs.map { ($0.name, .string($0.source)) })),
                ("overrides", .array(topic.configs.filter(\.isOverride).map { .string($0.name) })),
            ]).text
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List topic names.")

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await withClient(client, command: "topic list") { kafka in
                let names = try await kafka.listTopics().map(\.name)
                if format == .json {
                    printFlushed(JSONValue.array(names.map(JSONValue.string)).text)
                } else if !names.isEmpty {
                    printFlushed(names.joined(separator: "\n"))
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete topics and their data.")

        @Argument(help: "Topics to delete.", completion: .custom(topicNames))
        var names: [String]

        @Flag(help: "Succeed for topics that do not exist.")
        var ifExists = false

        @OptionGroup var client: ClientOptions

        func validate() throws {
            if names.isEmpty { throw ValidationError("name at least one topic to delete") }
        }

        func run() async throws {
            var failed = false
            try await withClient(client, command: "topic delete") { kafka in
                for name in names {
                    do {
                        try await kafka.deleteTopic(name)
                        printFlushed("Deleted topic \(name).")
                    } catch KafkaClientError.broker(.unknownTopicOrPartition, _) {
                        if !ifExists {
                            printError("topic delete", "topic '\(name)' does not exist")
                            failed = true
                        }
                    }
                }
            }
            if failed { throw ExitCodes.failure }
        }
    }
}

/// `--config key=value` options as a dictionary (the last of a repeated key wins).
func parseConfigAssignments(_ entries: [String]) throws -> [String: String] {
    var parsed: [String: String] = [:]
    for entry in entries {
        guard let equals = entry.firstIndex(of: "=") else { throw ValidationError("--config expects key=value, got '\(entry)'") }
        parsed[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
    }
    return parsed
}

/// Plain-text tables: columns padded to their widest cell.
enum Table {
    static func render(header: [String], rows: [[String]]) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }
    }
}
