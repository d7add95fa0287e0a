import ArgumentParser
import KafkaClient
import Ledger
import NIOCore
import Synchronization

/// `produce --csv FILE`: check every row of a transactions file, then send one event per row, keyed by account.
///
/// The file is read twice, a block at a time (see ``CSVFileReader``): the first pass checks every row, counts them
/// and digests the file, so that a file with a bad row sends nothing; the second sends. Memory stays constant
/// whatever the file's size.
struct CSVImport {
    let command: ProduceCommand
    let file: String
    /// Invalid rows printed in full; the rest are counted.
    static let errorsShown = 50

    func run() async throws {
        let reader = CSVFileReader(path: file)
        let size = reader.size ?? 0

        // Pass 1: check (on two threads, for a large file without quotes).
        let checking = SharedProgressLine()
        let check: CSVFileReader.Check
        do {
            check = try await reader.check(keepingErrors: Self.errorsShown, progress: { read in
                guard size >= 1 << 24 else { return }
                checking.update { "checking \(file) " + ProgressLine.bar(done: read >> 20, total: size >> 20) + " MiB" }
            })
        } catch let error as CSVFileReader.ReadError {
            checking.finish()
            printError("produce", error.description)
            throw ExitCodes.ioError
        }
        checking.finish()
        let checked = check.summary
        let errors = check.errors
        let errorCount = check.errorCount
        let rowCount = checked.validRows
        if errorCount > 0 {
            for error in errors { printError("produce", error.description) }
            if errorCount > errors.count { printError("produce", "… and \(errorCount - errors.count) more invalid rows") }
            if !command.skipInvalid {
                printError("produce", "\(errorCount) invalid row\(errorCount == 1 ? "" : "s") in \(file); nothing was sent (fix them, or use --skip-invalid)")
                throw ExitCodes.dataError
            }
        }

        // Pass 2: send. Every record names its row (the file's digest and the line): the sink applies each row once,
        // so importing the file again after a failure, or by mistake, adds only what is missing.
        let topic = command.topic
        let failures = Mutex<[String]>([])
        var stats = ProducerStats()
        var sentSummary: CSVFileReader.Summary?
        let progress = ProgressLine()
        try await withClient(command.client, command: "produce", clientId: "ledgerstream-csv") { kafka in
            let producer = KafkaProducer(client: kafka, config: try command.producerConfig)
            func stoppedSending(because reason: String) async {
                let acknowledged = await producer.stats.acknowledged
                printError("produce", "stopped sending \(file): \(reason); \(acknowledged) of \(rowCount) transactions acknowledged. "
                    + "Import the file again once the cluster is back: rows already there are not added twice")
            }
            let onDelivery: DeliveryCallback = { result in
                if case .failure(let error) = result { failures.withLock { if $0.count < 5 { $0.append(error.description) } } }
            }
            do {
                try await command.sending(with: producer) {
                    var rows: [TransactionCSV.Row] = []
                    var sent = 0
                    sentSummary = try await reader.read(item: { item in
                        if case .row(let row) = item { rows.append(row) }
                    }, endOfBlock: { _ in
                        guard !rows.isEmpty else { return }
                        let before = sent
                        try await EventPublisher.send(rows: rows, fileDigest: checked.digest, to: topic, with: producer,
                                                      onDelivery: onDelivery) { done in
                            // A batch that failed was retried for delivery.timeout.ms: the import cannot complete, and
                            // sending on would wait that long again for every buffer.memory's worth of rows (with the
                            // broker gone, a 10M-row file was still sending minutes later). Stop after this chunk;
                            // importing again adds what is missing.
                            if let failure = failures.withLock({ $0.first }) { throw CSVImportError.deliveryFailed(failure) }
                            if rowCount >= 10_000 { progress.update("sending \(file) " + ProgressLine.bar(done: before + done, total: rowCount)) }
                        }
                        sent += rows.count
                        rows.removeAll(keepingCapacity: true)
                    })
                    // The records name the checked content: a file changed in between would have sent rows under a
                    // digest that is not theirs.
                    if sentSummary?.digest != checked.digest {
                        throw CSVImportError.changedWhileSending(file)
                    }
                }
            } catch let error as KafkaClientError where command.transactionalId != nil {
                progress.finish()
                printError("produce", "transaction \(command.transactionalId!) aborted, none of \(file) is visible to read_committed consumers: \(error)")
                throw ExitCodes.failure
            } catch let error as CSVFileReader.ReadError {
                progress.finish()
                printError("produce", error.description + (command.transactionalId.map { " (transaction \($0) aborted)" } ?? ""))
                throw ExitCodes.ioError
            } catch CSVImportError.deliveryFailed(let failure) {
                progress.finish()
                let reason = CSVImportError.deliveryFailed(failure).description
                if let transactionalId = command.transactionalId {
                    printError("produce", "transaction \(transactionalId) aborted, none of \(file) is visible to read_committed consumers: \(reason)")
                } else {
                    await stoppedSending(because: reason)
                }
                throw ExitCodes.failure
            } catch KafkaClientError.timeout(let reason) {
                // buffer.memory stayed full for max.block.ms: nothing sent was being answered.
                progress.finish()
                await stoppedSending(because: reason)
                throw ExitCodes.failure
            } catch let error as CSVImportError {
                progress.finish()
                printError("produce", error.description + (command.transactionalId.map { " (transaction \($0) aborted: none of it is visible to read_committed consumers)" } ?? ""))
                throw ExitCodes.dataError
            }
            stats = await producer.stats
        }
        progress.finish()
        if stats.failed > 0 {
            printError("produce", "\(stats.acknowledged) of \(rowCount) transactions acknowledged, \(stats.failed) failed: \(failures.withLock { $0.first } ?? "unknown error")")
            throw ExitCodes.failure
        }
        let skipped = errorCount == 0 ? "" : ", \(errorCount) invalid row\(errorCount == 1 ? "" : "s") skipped"
        if !command.quiet {
            let committed = command.transactionalId.map { " in committed transaction \($0)" } ?? ""
            printError("produce", "\(stats.acknowledged) transactions from \(file) acknowledged by \(topic)\(committed)\(skipped)")
        }
    }
}

enum CSVImportError: Error, CustomStringConvertible {
    case changedWhileSending(String)
    /// A batch failed after its retries (delivery.timeout.ms); the first failure's description.
    case deliveryFailed(String)

    var description: String {
        switch self {
        case .changedWhileSending(let file):
            "\(file) changed while it was being sent: the rows sent name the content that was checked, not the new one; import the file again once it no longer changes"
        case .deliveryFailed(let failure):
            "a batch failed (\(failure))"
        }
    }
}
