import ArgumentParser
import KafkaClient

extension TopicCommand {
    /// `topic alter`: kafka-topics.sh --alter --partitions and kafka-configs.sh --alter --add-config/--delete-config.
    struct Alter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "alter",
            abstract: "Add partitions to a topic or change its configs.")

        @Argument(help: "Topic to change.", completion: .custom(topicNames))
        var name: String

        @Option(help: "Grow the topic to this many partitions (never fewer).")
        var partitions: Int32?

        @Option(name: .customLong("config"), help: "Set a topic config, key=value (repeatable).")
        var configs: [String] = []

        @Option(name: .customLong("delete-config"), help: "Remove a topic config so the default applies again (repeatable).")
        var deleteConfigs: [String] = []

        @OptionGroup var client: ClientOptions

        func validate() throws {
            if partitions == nil && configs.isEmpty && deleteConfigs.isEmpty {
                throw ValidationError("give --partitions, --config or --delete-config")
            }
            _ = try parsedConfigs()
        }

        func parsedConfigs() throws -> [String: String] { try parseConfigAssignments(configs) }

        func run() async throws {
            let set = try parsedConfigs()
            try await withClient(client, command: "topic alter") { kafka in
                if let partitions {
                    try await kafka.createPartitions(topic: name, count: partitions)
                    printFlushed("Topic \(name) now has \(partitions) partitions.")
                }
                if !set.isEmpty || !deleteConfigs.isEmpty {
                    try await kafka.alterTopicConfigs(topic: name, set: set, delete: deleteConfigs)
                    let changes = set.keys.sorted().map { "\($0)=\(set[$0]!)" } + deleteConfigs.map { "-\($0)" }
                    printFlushed("Changed configs of topic \(name): \(changes.joined(separator: ", ")).")
                }
            }
        }
    }
}
