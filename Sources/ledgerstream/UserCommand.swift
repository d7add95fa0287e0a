import ArgumentParser
import KafkaClient
import KafkaSecurity
import Ledger

/// `ledgerstream user …`: SCRAM users (kafka-configs.sh --entity-type users --alter --add-config 'SCRAM-SHA-256=…'),
/// through AlterUserScramCredentials, so it works against any Kafka 2.7+ cluster.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Add, list and delete SCRAM users (SASL SCRAM-SHA-256/512 logins).",
        discussion: """
            The broker stores a salt and keys derived from the password, never the password. Clients then log in with \\
            -X security.protocol=SASL_SSL -X sasl.mechanism=SCRAM-SHA-256 -X sasl.username=NAME -X sasl.password=….
            """,
        subcommands: [Add.self, List.self, Delete.self],
        defaultSubcommand: List.self
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Create a SCRAM user, or replace its password.")

        @Argument(help: "The user name.")
        var name: String

        @Option(help: "The password (or --password-stdin).")
        var password: String?

        @Flag(help: "Read the password from the first line of standard input.")
        var passwordStdin = false

        @Option(help: "SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable; default SCRAM-SHA-256).")
        var mechanism: [String] = []

        @Option(help: "PBKDF2 iterations, 4096-16384.")
        var iterations = 8192

        @OptionGroup var client: ClientOptions

        func validate() throws {
            if name.isEmpty { throw ValidationError("the user name must not be empty") }
            if (password == nil) == !passwordStdin { throw ValidationError("give the password with --password or --password-stdin") }
            guard (ScramMechanism.minIterations...ScramMechanism.maxIterations).contains(iterations) else {
                throw ValidationError("--iterations must be \(ScramMechanism.minIterations)-\(ScramMechanism.maxIterations)")
            }
            _ = try mechanisms()
        }

        func mechanisms() throws -> [ScramMechanism] {
            if mechanism.isEmpty { return [.sha256] }
            return try mechanism.map { name in
                guard let parsed = ScramMechanism(name: name) else {
                    throw ValidationError("unknown mechanism \(name): use SCRAM-SHA-256 or SCRAM-SHA-512")
                }
                return parsed
            }
        }

        func run() async throws {
            let secret: String
            if let password {
                secret = password
            } else {
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    throw ValidationError("--password-stdin: standard input has no password")
                }
                secret = line
            }
            let chosen = try mechanisms()
            try await withClient(client, command: "user add") { kafka in
                for scram in chosen {
                    try await kafka.upsertScramUser(name, password: secret, mechanism: scram, iterations: iterations)
                }
                printFlushed("user \(name): \(chosen.map(\.description).joined(separator: ", ")) credential stored (\(iterations) iterations)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List SCRAM users and their mechanisms.")

        @Argument(help: "Only these users (an unknown one is an error).")
        var names: [String] = []

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await withClient(client, command: "user list") { kafka in
                let users = try await kafka.describeScramUsers(names.isEmpty ? nil : names)
                if format == .json {
                    printFlushed(JSONValue.array(users.map { user in
                        .object([("user", .string(user.user)), ("credentials", .array(user.credentials.map {
                            .object([("mechanism", .string($0.mechanism.description)), ("iterations", .number(Int64($0.iterations)))])
                        }))])
                    }).text)
                } else if !users.isEmpty {
                    let rows = users.flatMap { user in user.credentials.map { [user.user, $0.mechanism.description, "\($0.iterations)"] } }
                    printFlushed(Table.render(header: ["User", "Mechanism", "Iterations"], rows: rows).joined(separator: "\n"))
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a SCRAM user's credentials.")

        @Argument(help: "The user name.")
        var name: String

        @Option(help: "Only this mechanism (repeatable; default: every mechanism the user has).")
        var mechanism: [String] = []

        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await withClient(client, command: "user delete") { kafka in
                var chosen: [ScramMechanism] = []
                for name in mechanism {
                    guard let parsed = ScramMechanism(name: name) else {
                        throw ValidationError("unknown mechanism \(name): use SCRAM-SHA-256 or SCRAM-SHA-512")
                    }
                    chosen.append(parsed)
                }
                if chosen.isEmpty { chosen = try await kafka.describeScramUsers([name]).flatMap { $0.credentials.map(\.mechanism) } }
                for scram in chosen { try await kafka.deleteScramUser(name, mechanism: scram) }
                printFlushed("user \(name): \(chosen.map(\.description).joined(separator: ", ")) credential deleted")
            }
        }
    }
}
