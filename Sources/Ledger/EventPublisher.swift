import KafkaClient
import KafkaProtocol
import NIOCore

/// Produces transaction events to a topic, keyed by account (so each account's events stay ordered in one
/// partition), with the JSON value the original pipeline used. Used by `produce --csv`, `demo` and the shell.
public enum EventPublisher {
    /// Events are handed to the producer in chunks of this many: their keys and values are written into one buffer
    /// and handed out as slices of it, saving two small allocations per event on files of millions of rows.
    static let chunkSize = 1024

    /// Sends every event (returns once all are buffered; `producer.close()` or `flush()` waits for the outcomes,
    /// which `onDelivery` reports). `onProgress` gets the number handed over so far, after each chunk; an error it
    /// throws stops the sending (`produce --csv` stops at the first batch that failed).
    public static func send(
        _ events: some Collection<TransactionEvent>, to topic: String, with producer: KafkaProducer,
        onDelivery: DeliveryCallback? = nil, onProgress: (Int) throws -> Void = { _ in }
    ) async throws {
        try await send(events.lazy.map { ($0, 0) }, fileDigest: nil, to: topic, with: producer, onDelivery: onDelivery,
                       onProgress: onProgress)
    }

    /// Sends the rows of an imported file, each with its ``EventSource`` header (the file's digest and the row's
    /// line), so that the sink applies every row at most once however often the file is imported.
    public static func send(
        rows: some Collection<TransactionCSV.Row>, fileDigest: String, to topic: String, with producer: KafkaProducer,
        onDelivery: DeliveryCallback? = nil, onProgress: (Int) throws -> Void = { _ in }
    ) async throws {
        try await send(rows.lazy.map { ($0.event, $0.line) }, fileDigest: fileDigest, to: topic, with: producer,
                       onDelivery: onDelivery, onProgress: onProgress)
    }

    /// The same for an array (what `produce --csv` hands over): a concrete type, so the loop is compiled for it here
    /// instead of running generic code through type metadata for every row.
    public static func send(
        rows: [TransactionCSV.Row], fileDigest: String, to topic: String, with producer: KafkaProducer,
        onDelivery: DeliveryCallback? = nil, onProgress: (Int) throws -> Void = { _ in }
    ) async throws {
        try await send(rows.lazy.map { ($0.event, $0.line) }, fileDigest: fileDigest, to: topic, with: producer,
                       onDelivery: onDelivery, onProgress: onProgress)
    }

    /// Events with their lines; the source header is added when `fileDigest` is given. Each chunk of events goes to
    /// the producer as one ``RecordChunk``: keys, values and headers written into one buffer, nothing allocated or
    /// reference-counted per event.
    private static func send(
        _ events: some Collection<(TransactionEvent, Int)>, fileDigest: String?, to topic: String, with producer: KafkaProducer,
        onDelivery: DeliveryCallback?, onProgress: (Int) throws -> Void
    ) async throws {
        let digest = fileDigest.map { Array(($0 + ":").utf8) }
        var source: [UInt8] = []
        var chunk = RecordChunk(records: chunkSize, bytes: chunkSize * (digest == nil ? 160 : 216))
        var sent = 0
        var remaining = events[...]
        while !remaining.isEmpty {
            let part = remaining.prefix(chunkSize)
            remaining = remaining.dropFirst(part.count)
            chunk.removeAll()
            for (event, line) in part {
                // The value goes from the encoder's stack buffer straight into the chunk.
                var account = event.account
                account.withUTF8 { key in
                    event.withJSON { chunk.append(keyBytes: UnsafeRawBufferPointer(key), valueBytes: $0) }
                }
                if let digest {
                    source.removeAll(keepingCapacity: true)
                    source.append(contentsOf: digest)
                    appendDecimal(line, to: &source)
                    chunk.addHeader(EventSource.headerKey, value: source)
                }
            }
            try await producer.send(topic: topic, chunk: chunk, onDelivery: onDelivery)
            sent += chunk.count
            try onProgress(sent)
        }
    }

    /// Appends `value`'s decimal digits (the line number in a source header) without building a string. The digits
    /// are written backwards into a buffer on the stack: reversing them in place in `bytes` went through a slice of
    /// the array, which copied it (measured: an allocation and about 300 instructions per record).
    static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: UInt.max has 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
    }
}
