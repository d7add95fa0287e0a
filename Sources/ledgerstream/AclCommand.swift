import ArgumentParser
import KafkaClient
import KafkaSecurity
import Ledger

/// `ledgerstream acl …`: kafka-acls.sh's create, list and delete, with its option names, for any cluster with an
/// authorizer.
struct AclCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acl",
        abstract: "Create, list and delete ACLs (who may do what on which topics, groups, transactional ids, the cluster).",
        discussion: """
            ACLs take effect when the broker runs with authorizer.class.name=kafka.security.authorizer.AclAuthorizer (or \\
            StandardAuthorizer). Principals are User:NAME (SASL user) or User:CN=…,O=… (client certificate subject). \\
            A DENY wins over an ALLOW; READ, WRITE, DELETE and ALTER imply DESCRIBE. Example: \\
            ledgerstream acl create --allow-principal User:sink --operation Read --topic transactions --group ledgerstream-sink
            """,
        subcommands: [Create.self, List.self, Delete.self],
        defaultSubcommand: List.self
    )

    /// kafka-acls.sh's resource and entry options.
    struct Selection: ParsableArguments {
        @Option(help: "Principals to allow, e.g. User:alice (repeatable).")
        var allowPrincipal: [String] = []

        @Option(help: "Principals to deny (repeatable).")
        var denyPrincipal: [String] = []

        @Option(help: "Hosts the allow applies from (repeatable; default *, every host).")
        var allowHost: [String] = []

        @Option(help: "Hosts the deny applies from (repeatable; default *).")
        var denyHost: [String] = []

        @Option(help: "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All (repeatable).")
        var operation: [String] = []

        @Option(help: "Topic name (or prefix with --resource-pattern-type prefixed; * for every topic).")
        var topic: String?

        @Option(help: "Consumer group id (or prefix; * for every group).")
        var group: String?

        @Option(help: "Transactional id (or prefix; * for every id).")
        var transactionalId: String?

        @Flag(help: "The cluster itself (create topics, idempotent writes, ACL and user administration).")
        var cluster = false

        @Option(help: "literal or prefixed; list and delete also take any and match.")
        var resourcePatternType: String = "literal"

        func resources() throws -> [(ResourceType, String)] {
            var chosen: [(ResourceType, String)] = []
            if let topic { chosen.append((.topic, topic)) }
            if let group { chosen.append((.group, group)) }
            if let transactionalId { chosen.append((.transactionalId, transactionalId)) }
            if cluster { chosen.append((.cluster, Resource.cluster.name)) }
            return chosen
        }

        func patternType(allowFilters: Bool) throws -> PatternType {
            let allowed: [PatternType] = allowFilters ? [.literal, .prefixed, .any, .match] : [.literal, .prefixed]
            guard let pattern = PatternType.allCases.first(where: { $0.description == resourcePatternType.uppercased() }),
                  allowed.contains(pattern)
            else {
                throw ValidationError("--resource-pattern-type must be \(allowed.map { $0.description.lowercased() }.joined(separator: ", "))")
            }
            return pattern
        }

        func operations() throws -> [AclOperation] {
            try operation.map { name in
                guard let parsed = AclOperation(name: name), parsed != .unknown, parsed != .any else {
                    throw ValidationError("unknown operation \(name): use Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All")
                }
                return parsed
            }
        }

        func checkPrincipals() throws {
            for principal in allowPrincipal + denyPrincipal where KafkaPrincipal(parsing: principal) == nil {
                throw ValidationError("principal \(principal) must look like User:NAME")
            }
        }

        /// The bindings named by the options (create), or the entries' parts (filters).
        func entries() -> [(principal: String, host: String, permission: AclPermission)] {
            let allowHosts = allowHost.isEmpty ? ["*"] : allowHost
            let denyHosts = denyHost.isEmpty ? ["*"] : denyHost
            return allowPrincipal.flatMap { principal in allowHosts.map { (principal, $0, AclPermission.allow) } }
                + denyPrincipal.flatMap { principal in denyHosts.map { (principal, $0, AclPermission.deny) } }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Add ACLs: each principal × host × operation × resource given.")

        @OptionGroup var selection: Selection
        @OptionGroup var client: ClientOptions

        func validate() throws {
            try selection.checkPrincipals()
            if selection.allowPrincipal.isEmpty && selection.denyPrincipal.isEmpty {
                throw ValidationError("name who: --allow-principal or --deny-principal")
            }
            if try selection.operations().isEmpty { throw ValidationError("name what: --operation") }
            if try selection.resources().isEmpty { throw ValidationError("name on what: --topic, --group, --transactional-id or --cluster") }
            _ = try selection.patternType(allowFilters: false)
        }

        func run() async throws {
            let pattern = try selection.patternType(allowFilters: false)
            let operations = try selection.operations()
            var bindings: [AclBinding] = []
            for (type, name) in try selection.resources() {
                for entry in selection.entries() {
                    for operation in operations {
                        bindings.append(AclBinding(resourceType: type, resourceName: name, patternType: type == .cluster ? .literal : pattern,
                                                   principal: entry.principal, host: entry.host, operation: operation,
                                                   permission: entry.permission))
                    }
                }
            }
            if let problem = bindings.lazy.compactMap(\.problem).first { throw ValidationError(problem) }
            try await withClient(client, command: "acl create") { kafka in
                try await kafka.createAcls(bindings)
                for binding in bindings { printFlushed("created \(binding)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List ACLs, all or those on the resources given.")

        @OptionGroup var selection: Selection

        @Option(help: "Only ACLs of this principal.")
        var principal: String?

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let resources = try selection.resources()
            let pattern = resources.isEmpty ? PatternType.any : try selection.patternType(allowFilters: true)
            let filters = resources.isEmpty
                ? [AclBindingFilter(principal: principal)]
                : resources.map { AclBindingFilter(resourceType: $0.0, resourceName: $0.1, patternType: pattern, principal: principal) }
            try await withClient(client, command: "acl list") { kafka in
                var found: [AclBinding] = []
                for filter in filters { found += try await kafka.describeAcls(filter) }
                if format == .json {
                    printFlushed(JSONValue.array(found.map(Self.json)).text)
                } else if !found.isEmpty {
                    let rows = found.map {
                        ["\($0.resourceType)", $0.patternType.description, $0.resourceName, $0.principal, $0.host, "\($0.operation)",
                         "\($0.permission)"]
                    }
                    printFlushed(Table.render(header: ["ResourceType", "Pattern", "Name", "Principal", "Host", "Operation", "Permission"],
                                              rows: rows).joined(separator: "\n"))
                }
            }
        }

        static func json(_ binding: AclBinding) -> JSONValue {
            .object([
                ("resource_type", .string("\(binding.resourceType)")), ("pattern_type", .string(binding.patternType.description)),
                ("resource_name", .string(binding.resourceName)), ("principal", .string(binding.principal)),
                ("host", .string(binding.host)), ("operation", .string("\(binding.operation)")),
                ("permission", .string("\(binding.permission)")),
            ])
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete",
            abstract: "Remove ACLs matching the options (resource, and optionally principals, hosts and operations).")

        @OptionGroup var selection: Selection
        @OptionGroup var client: ClientOptions

        func validate() throws {
            try selection.checkPrincipals()
            if try selection.resources().isEmpty { throw ValidationError("name on what: --topic, --group, --transactional-id or --cluster") }
            _ = try selection.patternType(allowFilters: true)
        }

        func run() async throws {
            let pattern = try selection.patternType(allowFilters: true)
            let operations = try selection.operations()
            let entries: [(principal: String?, host: String?, permission: AclPermission)] = selection.entries().isEmpty
                ? [(nil, nil, .any)]
                : selection.entries().map { (principal: $0.principal,
                                             host: (selection.allowHost + selection.denyHost).isEmpty ? nil : $0.host, permission: $0.permission) }
            var filters: [AclBindingFilter] = []
            for (type, name) in try selection.resources() {
                for entry in entries {
                    for operation in operations.isEmpty ? [AclOperation.any] : operations {
                        filters.append(AclBindingFilter(resourceType: type, resourceName: name, patternType: pattern, principal: entry.principal,
                                                        host: entry.host, operation: operation, permission: entry.permission))
                    }
                }
            }
            try await withClient(client, command: "acl delete") { kafka in
                var removed: [AclBinding] = []
                for filter in filters { removed += try await kafka.deleteAcls(filter) }
                for binding in removed { printFlushed("deleted \(binding)") }
                if removed.isEmpty { printFlushed("no ACL matched") }
            }
        }
    }
}
