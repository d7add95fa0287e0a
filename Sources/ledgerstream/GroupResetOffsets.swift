import ArgumentParser
import Foundation
import KafkaClient
import KafkaProtocol
import LedgerDomain

extension GroupCommand {
    /// `group reset-offsets`: kafka-consumer-groups.sh --reset-offsets. Previews by default; commits only with
    /// --execute, and only while the group is inactive (Empty or Dead), as the Kafka tool insists.
    struct ResetOffsets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-offsets",
            abstract: "Move an inactive group's committed offsets (preview unless --execute; refused while it has members).",
            discussion: """
                Exactly one of --topic (repeatable; TOPIC or TOPIC:P,P,...) and --all-topics (every partition the \
                group has committed), and exactly one --to-* or --shift-by. New offsets are clamped to the \
                partition's [log start, log end], as kafka-consumer-groups.sh does.
                """)

        @Option(help: "The group whose offsets to reset.")
        var group: String

        @Option(name: .customLong("topic"), help: "A topic, or TOPIC:P,P,... for some partitions (repeatable).")
        var topics: [String] = []

        @Flag(help: "Every partition the group has committed offsets for.")
        var allTopics = false

        @Flag(help: "Reset to each partition's log start.")
        var toEarliest = false

        @Flag(help: "Reset to each partition's log end.")
        var toLatest = false

        @Option(help: "Reset to this offset.")
        var toOffset: Int64?

        @Option(help: "Reset to the first offset at or after this time: YYYY-MM-DDTHH:mm:SS[.sss][Z|±hh:mm] (local time without a zone).")
        var toDatetime: String?

        // Unconditional, so that `--shift-by -5` works as in kafka-consumer-groups.sh (a leading dash is a value here).
        @Option(parsing: .unconditional, help: "Move each committed offset by N (negative: back).")
        var shiftBy: Int64?

        @Flag(help: "Commit the new offsets (without it the plan is only printed).")
        var execute = false

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        @OptionGroup var client: ClientOptions

        func validate() throws {
            guard allTopics != !topics.isEmpty else { throw ValidationError("give exactly one of --topic and --all-topics") }
            let targets = [toEarliest, toLatest, toOffset != nil, toDatetime != nil, shiftBy != nil].filter { $0 }.count
            guard targets == 1 else {
                throw ValidationError("give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by")
            }
            _ = try target()
            for spec in topics { _ = try Self.parseTopic(spec) }
        }

        func target() throws -> OffsetResetTarget {
            if toEarliest { return .earliest }
            if toLatest { return .latest }
            if let toOffset { return .offset(toOffset) }
            if let shiftBy { return .shiftBy(shiftBy) }
            guard let text = toDatetime, let ms = Self.parseDatetime(text) else {
                throw ValidationError("--to-datetime expects YYYY-MM-DDTHH:mm:SS[.sss][Z|±hh:mm], got '\(toDatetime ?? "")'")
            }
            return .datetime(ms)
        }

        /// TOPIC or TOPIC:P,P,...; nil partitions: all of the topic's.
        static func parseTopic(_ spec: String) throws -> (topic: String, partitions: [Int32]?) {
            guard let colon = spec.lastIndex(of: ":") else { return (spec, nil) }
            let numbers = spec[spec.index(after: colon)...].split(separator: ",").map { Int32($0.trimmingCharacters(in: .whitespaces)) }
            guard !numbers.isEmpty, numbers.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw ValidationError("--topic expects TOPIC or TOPIC:P,P,..., got '\(spec)'")
            }
            return (String(spec[..<colon]), numbers.map { $0! })
        }

        /// Kafka's accepted forms: with or without milliseconds, with a zone (Z, ±hh:mm, ±hhmm) or without (local).
        static func parseDatetime(_ text: String) -> Int64? {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            for pattern in ["yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "yyyy-MM-dd'T'HH:mm:ssXXX", "yyyy-MM-dd'T'HH:mm:ss.SSSXX",
                            "yyyy-MM-dd'T'HH:mm:ssXX", "yyyy-MM-dd'T'HH:mm:ss.SSS", "yyyy-MM-dd'T'HH:mm:ss"] {
                formatter.dateFormat = pattern
                if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
            }
            return nil
        }

        func run() async throws {
            let target = try target()
            try await withClient(client, command: "group reset-offsets") { kafka in
                let details = try await kafka.describeGroup(group)
                // Like kafka-consumer-groups.sh, a group with members is refused even for a preview: its members
                // would overwrite the new positions with their next commit.
                if !["Empty", "Dead"].contains(details.state) {
                    printError("group reset-offsets",
                               "Assignments can only be reset if the group '\(group)' is inactive, but the current state is \(details.state).")
                    throw ExitCodes.failure
                }
                let committedByTopic = try await kafka.committedOffsets(group: group)
                var committed: [TopicPartition: Int64] = [:]
                for (topic, offsets) in committedByTopic {
                    for (partition, offset) in offsets { committed[TopicPartition(topic: topic, partition: partition)] = offset }
                }
                var partitions: [TopicPartition] = []
                if allTopics {
                    partitions = Array(committed.keys)
                } else {
                    for spec in topics {
                        let (topic, chosen) = try Self.parseTopic(spec)
                        let all = try await kafka.topic(topic).partitions.map(\.partition)
                        for partition in chosen ?? all {
                            guard all.contains(partition) else {
                                throw ValidationError("partition \(topic)-\(partition) does not exist")
                            }
                            partitions.append(TopicPartition(topic: topic, partition: partition))
                        }
                    }
                }
                let bounds = try await Self.logBounds(kafka, partitions, target: target)
                let plan: [PartitionOffsetReset]
                do {
                    plan = try planOffsetReset(target: target, partitions: partitions, committed: committed, bounds: bounds)
                } catch let error as OffsetResetError {
                    printError("group reset-offsets", error.description)
                    throw ExitCodes.failure
                }
                if execute {
                    try await kafka.commitGroupOffsets(
                        group: group, offsets: Dictionary(uniqueKeysWithValues: plan.map { ($0.partition, $0.new) }))
                }
                print(plan: plan)
            }
        }

        func print(plan: [PartitionOffsetReset]) {
            if format == .json {
                printFlushed(JSONValue.object([
                    ("group", .string(group)), ("executed", .bool(execute)),
                    ("partitions", .array(plan.map { p in
                        .object([("topic", .string(p.partition.topic)), ("partition", .number(p.partition.partition)),
                                 ("current_offset", p.current.map { .number($0) } ?? .null), ("new_offset", .number(p.new))])
                    })),
                ]).text)
                return
            }
            let rows = plan.map { p in
                [group, p.partition.topic, "\(p.partition.partition)", p.current.map(String.init) ?? "-", "\(p.new)"]
            }
            var lines = Table.render(header: ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"], rows: rows)
            lines.append(execute ? "Committed the new offsets of \(plan.count) partition\(plan.count == 1 ? "" : "s")."
                                 : "Preview only: nothing was changed; run again with --execute to commit these offsets.")
            printFlushed(lines.joined(separator: "\n"))
        }

        /// Log start and end of each partition, and the offset for the time with --to-datetime (ListOffsets).
        static func logBounds(
            _ kafka: KafkaClient, _ partitions: [TopicPartition], target: OffsetResetTarget
        ) async throws -> [TopicPartition: PartitionLogBounds] {
            var bounds: [TopicPartition: PartitionLogBounds] = [:]
            for (topic, members) in Dictionary(grouping: partitions, by: \.topic) {
                let numbers = members.map(\.partition)
                let starts = try await kafka.listOffsets(topic: topic, partitions: numbers, timestamp: -2)
                let ends = try await kafka.listOffsets(topic: topic, partitions: numbers, timestamp: -1)
                var forTime: [Int32: Int64] = [:]
                if case .datetime(let ms) = target {
                    forTime = try await kafka.listOffsets(topic: topic, partitions: numbers, timestamp: ms)
                }
                for partition in numbers {
                    guard let start = starts[partition], let end = ends[partition] else { continue }
                    bounds[TopicPartition(topic: topic, partition: partition)] = PartitionLogBounds(
                        logStart: start, logEnd: end, offsetForTime: forTime[partition].flatMap { $0 >= 0 ? $0 : nil })
                }
            }
            return bounds
        }
    }
}
