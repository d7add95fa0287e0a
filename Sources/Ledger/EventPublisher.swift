import KafkaClient
import NIOCore

/// Produces transaction events to a topic, keyed by account (so each account's events stay ordered in one
/// partition), with the JSON value the original pipeline used. Used by `produce --csv`, `demo` and the shell.
public enum EventPublisher {
    /// Events are handed to the producer in chunks of this many: their keys and values are written into one buffer
    /// and handed out as slices of it, saving two small allocations per event on files of millions of rows.
    static let chunkSize = 1024

    /// Sends every event (returns once all are buffered; `producer.close()` or `flush()` waits for the outcomes,
    /// which `onDelivery` reports). `onProgress` gets the number handed over so far.
    public static func send(
        _ events: some Collection<TransactionEvent>, to topic: String, with producer: KafkaProducer,
        onDelivery: DeliveryCallback? = nil, onProgress: (Int) -> Void = { _ in }
    ) async throws {
        var json: [UInt8] = []
        var chunk: [OutgoingRecord] = []
        chunk.reserveCapacity(chunkSize)
        var lengths: [(key: Int, value: Int)] = []
        lengths.reserveCapacity(chunkSize)
        var sent = 0
        var remaining = events[...]
        while !remaining.isEmpty {
            let part = remaining.prefix(chunkSize)
            remaining = remaining.dropFirst(part.count)
            var bytes = ByteBufferAllocator().buffer(capacity: part.count * 160)
            lengths.removeAll(keepingCapacity: true)
            for event in part {
                json.removeAll(keepingCapacity: true)
                event.appendJSON(to: &json)
                lengths.append((bytes.writeString(event.account), bytes.writeBytes(json)))
            }
            // Slices only once the buffer is complete: writing to a buffer that slices share would copy it.
            chunk.removeAll(keepingCapacity: true)
            var position = bytes.readerIndex
            for (keyLength, valueLength) in lengths {
                chunk.append(OutgoingRecord(key: bytes.getSlice(at: position, length: keyLength)!,
                                            value: bytes.getSlice(at: position + keyLength, length: valueLength)!))
                position += keyLength + valueLength
            }
            try await producer.send(topic: topic, records: chunk, onDelivery: onDelivery)
            sent += chunk.count
            onProgress(sent)
        }
    }
}
