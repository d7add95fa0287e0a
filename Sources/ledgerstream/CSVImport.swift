import ArgumentParser
import FoundationEssentials
import KafkaClient
import Ledger
import NIOCore
import Synchronization

/// `produce --csv FILE`: validate a transactions file, then send one event per row, keyed by account.
struct CSVImport {
    let command: ProduceCommand
    let file: String

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            printError("produce", "cannot read \(file): no such file or not readable")
            throw ExitCodes.ioError
        }
        let bytes = Array(data)
        let parsed = TransactionCSV(bytes: bytes, file: file)
        if !parsed.errors.isEmpty {
            for error in parsed.errors.prefix(50) { printError("produce", error.description) }
            if parsed.errors.count > 50 { printError("produce", "… and \(parsed.errors.count - 50) more invalid rows") }
            if !command.skipInvalid {
                printError("produce", "\(parsed.errors.count) invalid row\(parsed.errors.count == 1 ? "" : "s") in \(file); nothing was sent (fix them, or use --skip-invalid)")
                throw ExitCodes.dataError
            }
        }
        let topic = command.topic
        let rows = parsed.rows
        // Every record names its row (the file's digest and the line): the sink applies each row once, so importing
        // the file again after a failure, or by mistake, adds only what is missing.
        let digest = EventSource.digest(of: bytes)
        let progress = ProgressLine()
        let failures = Mutex<[String]>([])
        var stats = ProducerStats()
        try await withClient(command.client, command: "produce", clientId: "ledgerstream-csv") { kafka in
            let producer = KafkaProducer(client: kafka, config: try command.producerConfig)
            let onDelivery: DeliveryCallback = { result in
                if case .failure(let error) = result { failures.withLock { if $0.count < 5 { $0.append(error.description) } } }
            }
            do {
                try await command.sending(with: producer) {
                    try await EventPublisher.send(rows: rows, fileDigest: digest, to: topic, with: producer, onDelivery: onDelivery) { sent in
                        if rows.count >= 10_000 { progress.update("sending \(file) " + ProgressLine.bar(done: sent, total: rows.count)) }
                    }
                }
            } catch let error as KafkaClientError where command.transactionalId != nil {
                progress.finish()
                printError("produce", "transaction \(command.transactionalId!) aborted, none of \(file) is visible to read_committed consumers: \(error)")
                throw ExitCodes.failure
            }
            stats = await producer.stats
        }
        progress.finish()
        if stats.failed > 0 {
            printError("produce", "\(stats.acknowledged) of \(rows.count) transactions acknowledged, \(stats.failed) failed: \(failures.withLock { $0.first } ?? "unknown error")")
            throw ExitCodes.failure
        }
        let skipped = parsed.errors.isEmpty ? "" : ", \(parsed.errors.count) invalid row\(parsed.errors.count == 1 ? "" : "s") skipped"
        if !command.quiet {
            let committed = command.transactionalId.map { " in committed transaction \($0)" } ?? ""
            printError("produce", "\(stats.acknowledged) transactions from \(file) acknowledged by \(topic)\(committed)\(skipped)")
        }
    }
}
