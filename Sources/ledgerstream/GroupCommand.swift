import ArgumentParser
import Foundation
import KafkaClient
import KafkaProtocol
import LedgerDomain

/// `ledgerstream group …`: kafka-consumer-groups.sh for any Kafka-compatible cluster.
struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group",
        abstract: "List, describe, delete consumer groups and reset their offsets.",
        subcommands: [List.self, Describe.self, Delete.self, ResetOffsets.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List consumer groups with their type (classic or consumer), protocol type and state.")

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await withClient(client, command: "group list") { kafka in
                let groups = try await kafka.listGroups()
                if format == .json {
                    printFlushed(JSONValue.array(groups.map { group in
                        .object([("group", .string(group.groupId)), ("type", .optional(group.groupType)),
                                 ("protocol_type", .string(group.protocolType)), ("state", .string(group.state))])
                    }).text)
                } else if !groups.isEmpty {
                    let rows = groups.map { [$0.groupId, $0.groupType ?? "-", $0.protocolType.isEmpty ? "-" : $0.protocolType, $0.state] }
                    printFlushed(Table.render(header: ["GROUP", "TYPE", "PROTOCOL-TYPE", "STATE"], rows: rows).joined(separator: "\n"))
                }
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "describe",
            abstract: "Show a group's state, members, and per partition its committed offset, log end, lag and owner.")

        @Argument(help: "Groups to describe.")
        var groups: [String]

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        @OptionGroup var client: ClientOptions

        func validate() throws {
            if groups.isEmpty { throw ValidationError("name at least one group to describe") }
        }

        func run() async throws {
            var missing = false
            try await withClient(client, command: "group describe") { kafka in
                var json: [JSONValue] = []
                for group in groups {
                    let details = try await kafka.describeGroup(group)
                    let positions = try await groupPositions(kafka, details)
                    // A group the coordinator does not know is reported Dead (DescribeGroups before v6).
                    if details.state == "Dead" && details.members.isEmpty && positions.isEmpty {
                        printError("group describe", "Consumer group '\(group)' does not exist.")
                        missing = true
                        continue
                    }
                    if format == .json {
                        json.append(Self.json(details, positions))
                    } else {
                        printFlushed(Self.text(details, positions))
                    }
                }
                if format == .json { printFlushed(JSONValue.array(json).text) }
            }
            if missing { throw ExitCodes.failure }
        }

        static func text(_ group: GroupDetails, _ positions: [GroupPosition]) -> String {
            var lines = ["Group: \(group.groupId)\tState: \(group.state)\tProtocolType: \(group.protocolType.isEmpty ? "-" : group.protocolType)\tProtocol: \(group.protocolName.isEmpty ? "-" : group.protocolName)\tMembers: \(group.members.count)"]
            if !group.members.isEmpty {
                let rows = group.members.map { member in
                    [member.memberId, member.clientId, member.clientHost, assignmentText(member.assignment)]
                }
                lines += Table.render(header: ["MEMBER-ID", "CLIENT-ID", "HOST", "ASSIGNMENT"], rows: rows).map { "\t" + $0 }
            }
            if !positions.isEmpty {
                let rows = positions.map { p in
                    [p.partition.topic, "\(p.partition.partition)", p.committed.map(String.init) ?? "-", "\(p.logEnd)",
                     p.lag.map(String.init) ?? "-", p.owner?.memberId ?? "-", p.owner?.clientHost ?? "-", p.owner?.clientId ?? "-"]
                }
                lines += Table.render(header: ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID",
                                               "HOST", "CLIENT-ID"], rows: rows).map { "\t" + $0 }
            }
            return lines.joined(separator: "\n")
        }

        static func assignmentText(_ assignment: [String: [Int32]]) -> String {
            if assignment.isEmpty { return "-" }
            return assignment.sorted { $0.key < $1.key }
                .map { "\($0.key):\($0.value.sorted().map(String.init).joined(separator: ","))" }.joined(separator: " ")
        }

        static func json(_ group: GroupDetails, _ positions: [GroupPosition]) -> JSONValue {
            .object([
                ("group", .string(group.groupId)), ("state", .string(group.state)),
                ("protocol_type", .string(group.protocolType)), ("protocol", .string(group.protocolName)),
                ("members", .array(group.members.map { member in
                    .object([("member_id", .string(member.memberId)), ("client_id", .string(member.clientId)),
                             ("host", .string(member.clientHost)),
                             ("assignment", .object(member.assignment.sorted { $0.key < $1.key }.map {
                                 ($0.key, .array($0.value.sorted().map { .number($0) }))
                             }))])
                })),
                ("partitions", .array(positions.map { p in
                    .object([("topic", .string(p.partition.topic)), ("partition", .number(p.partition.partition)),
                             ("committed_offset", p.committed.map { .number($0) } ?? .null),
                             ("log_end_offset", .number(p.logEnd)), ("lag", p.lag.map { .number($0) } ?? .null),
                             ("member_id", .optional(p.owner?.memberId))])
                })),
            ])
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete",
            abstract: "Delete groups that have no active members, with their committed offsets.")

        @Argument(help: "Groups to delete.")
        var groups: [String]

        @OptionGroup var client: ClientOptions

        func validate() throws {
            if groups.isEmpty { throw ValidationError("name at least one group to delete") }
        }

        func run() async throws {
            var failed = false
            try await withClient(client, command: "group delete") { kafka in
                for (group, error) in try await kafka.deleteGroups(groups) {
                    switch error {
                    case .none: printFlushed("Deleted group \(group).")
                    case .nonEmptyGroup: printError("group delete", "group '\(group)' is not empty: it has active members (\(error))")
                    case .groupIdNotFound: printError("group delete", "group '\(group)' does not exist (\(error))")
                    default: printError("group delete", "deleting group '\(group)' failed: \(error)")
                    }
                    failed = failed || error != .none
                }
            }
            if failed { throw ExitCodes.failure }
        }
    }
}

/// One partition of a group in `group describe`: committed offset, log end, lag and the member that owns it.
struct GroupPosition {
    var partition: TopicPartition
    var committed: Int64?
    var logEnd: Int64
    var owner: GroupDetails.Member?
    var lag: Int64? { committed.map { max(logEnd - $0, 0) } }
}

/// The partitions a group owns or has committed, as kafka-consumer-groups.sh --describe lists them.
func groupPositions(_ kafka: KafkaClient, _ group: GroupDetails) async throws -> [GroupPosition] {
    let committed = try await kafka.committedOffsets(group: group.groupId)
    var owners: [TopicPartition: GroupDetails.Member] = [:]
    for member in group.members {
        for (topic, partitions) in member.assignment {
            for partition in partitions { owners[TopicPartition(topic: topic, partition: partition)] = member }
        }
    }
    var partitions = Set(owners.keys)
    for (topic, offsets) in committed {
        for partition in offsets.keys { partitions.insert(TopicPartition(topic: topic, partition: partition)) }
    }
    var logEnds: [TopicPartition: Int64] = [:]
    for (topic, members) in Dictionary(grouping: partitions, by: \.topic) {
        let ends = try await kafka.listOffsets(topic: topic, partitions: members.map(\.partition), timestamp: -1)
        for (partition, end) in ends { logEnds[TopicPartition(topic: topic, partition: partition)] = end }
    }
    return partitions.sorted().map { partition in
        GroupPosition(partition: partition, committed: committed[partition.topic]?[partition.partition],
                      logEnd: logEnds[partition] ?? -1, owner: owners[partition])
    }
}
