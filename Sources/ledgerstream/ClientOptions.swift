import ArgumentParser
import FoundationEssentials
import JavaProperties
import KafkaClient
import KafkaSecurity

/// `--bootstrap-server` / `-b` and the connection's security, shared by every client command. Servers fall back to
/// $LEDGERSTREAM_BOOTSTRAP_SERVERS, then localhost:9092, as Kafka's tools do. Security settings come from a Kafka tools
/// properties file (`--command-config`) and librdkafka-style `-X key=value` pairs, which win.
struct ClientOptions: ParsableArguments {
    @Option(name: [.customShort("b"), .customLong("bootstrap-server"), .customLong("brokers")],
            help: "Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).")
    var bootstrapServer: String?

    @Option(name: .customShort("X"), help: ArgumentHelp(
        "A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.",
        valueName: "key=value"))
    var properties: [String] = []

    @Option(help: ArgumentHelp(
        "A Kafka client properties file, as Kafka's tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).",
        valueName: "file"), completion: .file())
    var commandConfig: String?

    var servers: String {
        bootstrapServer ?? ProcessInfo.processInfo.environment[KafkaClient.bootstrapEnvironmentVariable] ?? "localhost:9092"
    }

    /// The client properties: the `--command-config` file's, then `-X` pairs, which win.
    func mergedProperties() throws -> [String: String] {
        var merged: [String: String] = [:]
        if let commandConfig {
            guard let text = try? String(contentsOfFile: commandConfig, encoding: .utf8) else {
                throw ValidationError("cannot read --command-config \(commandConfig): no such file or not readable")
            }
            for (key, value) in JavaProperties(parsing: text).entries { merged[key] = value }
        }
        for (key, value) in try settingPairs() { merged[key] = value }
        return merged
    }

    /// The `-X` pairs, in order.
    private func settingPairs() throws -> [(key: String, value: String)] {
        try properties.map { pair in
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("-X expects key=value, got '\(pair)'")
            }
            return (String(pair[..<equals]), String(pair[pair.index(after: equals)...]))
        }
    }

    /// The security settings.
    func security() throws -> ClientSecurity {
        do {
            return try ClientSecurity(properties: try mergedProperties())
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// A timing property in milliseconds (`reconnect.backoff.ms`, `delivery.timeout.ms`, …), if set; the first of
    /// `keys` that is set wins (librdkafka and Java sometimes name one setting differently).
    func milliseconds(_ keys: String..., allowZero: Bool = false) throws -> Int64? {
        try number(keys, of: "milliseconds", allowZero: allowZero)?.value
    }

    /// The producer's buffer.memory in bytes, if set: Java's `buffer.memory` (bytes) or librdkafka's
    /// `queue.buffering.max.kbytes` (KiB).
    func bufferMemoryBytes() throws -> Int? {
        if let bytes = try number(["buffer.memory"], of: "bytes") { return Int(bytes.value) }
        if let kilobytes = try number(["queue.buffering.max.kbytes"], of: "KiB") { return Int(kilobytes.value) * 1024 }
        return nil
    }

    /// The first of `keys` that is set, as a positive (or with `allowZero`, non-negative) whole number of `unit`.
    private func number(_ keys: [String], of unit: String, allowZero: Bool = false) throws -> (key: String, value: Int64)? {
        let merged = try mergedProperties()
        guard let key = keys.first(where: { merged[$0] != nil }), let text = merged[key] else { return nil }
        guard let value = Int64(text.trimmingSpaces()), value > 0 || (allowZero && value == 0), value <= Int64(Int32.max) * 1024 else {
            throw ValidationError("\(key) must be a \(allowZero ? "non-negative" : "positive") number of \(unit), got '\(text)'")
        }
        return (key, value)
    }

    /// The non-security `-X` settings some client command reads (security ones are ``ClientSecurity``'s, which
    /// refuses names it does not know).
    static let settingsRead: Set<String> = [
        "reconnect.backoff.ms", "reconnect.backoff.max.ms", "delivery.timeout.ms", "message.timeout.ms", "max.block.ms",
        "request.timeout.ms", "buffer.memory", "queue.buffering.max.kbytes", "default.api.timeout.ms",
    ]

    /// Kafka's and librdkafka's names for settings these commands take as options.
    static let optionsInstead: [String: String] = [
        "compression.type": "--compression", "compression.codec": "--compression",
        "linger.ms": "--linger-ms", "queue.buffering.max.ms": "--linger-ms",
        "acks": "--acks", "request.required.acks": "--acks",
        "enable.idempotence": "--no-idempotence",
        "transactional.id": "--transactional-id", "transaction.timeout.ms": "--transaction-timeout-ms",
        "group.id": "--group", "session.timeout.ms": "--session-timeout-ms", "isolation.level": "--isolation-level",
        "auto.offset.reset": "--from-beginning or --offset",
    ]

    /// Warns on stderr about each `-X` setting nothing here reads, naming the option that does the job if there is
    /// one: ignored without a word, `-X compression.type=gzip` sent uncompressed batches. Kafka's clients log the same
    /// warning for settings they do not know. The `--command-config` file is not checked: Kafka's tools take files
    /// shared between clients, full of settings for others.
    func warnAboutIgnoredSettings(command: String) throws {
        for (key, _) in try settingPairs() where !Self.settingsRead.contains(key) && !ClientSecurity.governs(key) {
            let instead = Self.optionsInstead[key].map { " (use \($0))" } ?? ""
            printError(command, "warning: -X \(key) is not a setting ledgerstream reads; it is ignored\(instead)")
        }
    }

    func makeClient(clientId: String, command: String) throws -> KafkaClient {
        let security = try security()
        try warnAboutIgnoredSettings(command: command)
        var backoff = ReconnectBackoff()
        if let initial = try milliseconds("reconnect.backoff.ms", allowZero: true) { backoff.initialMs = initial }
        if let maximum = try milliseconds("reconnect.backoff.max.ms") { backoff.maxMs = max(maximum, backoff.initialMs) }
        do {
            return KafkaClient(bootstrap: try BrokerAddress.list(servers), clientId: clientId, security: security,
                               reconnectBackoff: backoff)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// Turns client failures into one line on stderr and the documented exit code.
func exitCode(for error: any Error, command: String) -> ExitCode {
    switch error {
    case let error as KafkaClientError:
        printError(command, error.description)
        if case .unreachable = error { return ExitCodes.unavailable }
        if case .connectionClosed = error { return ExitCodes.unavailable }
        if case .disconnected = error { return ExitCodes.unavailable }
        if case .authenticationFailed = error { return ExitCodes.permission }
        if case .tlsFailed = error { return ExitCodes.permission }
        if case .notAuthorized = error { return ExitCodes.permission }
        if case .broker(let code, _) = error, [29, 30, 31, 53].contains(code.rawValue) { return ExitCodes.permission }
        return ExitCodes.failure
    case let code as ExitCode:
        return code
    default:
        printError(command, "\(error)")
        return ExitCodes.failure
    }
}

/// Runs a client command body, mapping errors to one-line messages and exit codes, and closing the client.
func withClient(_ options: ClientOptions, command: String, clientId: String = "ledgerstream",
                _ body: (KafkaClient) async throws -> Void) async throws {
    let client = try options.makeClient(clientId: clientId, command: command)
    do {
        try await body(client)
        await client.close()
    } catch let error as ValidationError {
        await client.close()
        throw error
    } catch {
        await client.close()
        throw exitCode(for: error, command: command)
    }
}

/// Output format for commands that print data.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
