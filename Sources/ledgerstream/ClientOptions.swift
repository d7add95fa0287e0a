import ArgumentParser
import FoundationEssentials
import KafkaClient

/// `--bootstrap-server` / `-b`, shared by every client command. Falls back to $LEDGERSTREAM_BOOTSTRAP_SERVERS, then
/// localhost:9092, as Kafka's tools do.
struct ClientOptions: ParsableArguments {
    @Option(name: [.customShort("b"), .customLong("bootstrap-server"), .customLong("brokers")],
            help: "Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).")
    var bootstrapServer: String?

    var servers: String {
        bootstrapServer ?? ProcessInfo.processInfo.environment[KafkaClient.bootstrapEnvironmentVariable] ?? "localhost:9092"
    }

    func makeClient(clientId: String) throws -> KafkaClient {
        do {
            return KafkaClient(bootstrap: try BrokerAddress.list(servers), clientId: clientId)
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
    let client = try options.makeClient(clientId: clientId)
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
