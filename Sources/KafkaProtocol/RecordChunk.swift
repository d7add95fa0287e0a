import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Many records to produce, laid out in one byte array: their keys, values and header values one after another, and
/// per record a few offsets into it.
///
/// A producer that sends millions of small records (`produce --csv`) builds one chunk per thousand records instead of
/// a ``ProducerRecord`` each. A `ProducerRecord` holds up to four reference-counted values (key, value, the headers
/// array and each header's value), retained and released at every hand-over between the caller, the producer and the
/// batch builder: measured, those retains and releases were about a third of `produce --csv`'s CPU. A chunk has
/// none per record; ``RecordBatchBuilder/append(_:of:timestamp:)`` copies a record's bytes straight into the batch.
public struct RecordChunk: Sendable {
    /// Where a field lies in `bytes`; a length of -1 is a null field.
    struct Span: Sendable {
        var start: Int32
        var length: Int32

        static let null = Span(start: 0, length: -1)
        var isNull: Bool { length < 0 }
        var count: Int { max(Int(length), 0) }
    }

    struct Header: Sendable {
        var key: Span
        var value: Span
    }

    struct Entry: Sendable {
        var key: Span
        var value: Span
        var firstHeader: Int32
        var headerCount: Int32
        /// `Int64.min`: none given (the producer stamps its clock).
        var timestamp: Int64
    }

    private(set) var bytes: [UInt8] = []
    private(set) var entries: [Entry] = []
    private(set) var headers: [Header] = []
    /// Header keys written so far and where: a key repeated on every record is stored once.
    private var headerKeys: [(key: String, span: Span)] = []

    /// - Parameters:
    ///   - records: how many records to reserve room for.
    ///   - bytes: how many bytes of keys, values and header values to reserve room for.
    public init(records: Int = 0, bytes: Int = 0) {
        entries.reserveCapacity(records)
        self.bytes.reserveCapacity(bytes)
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Empties the chunk, keeping its memory for the next records.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
        headers.removeAll(keepingCapacity: true)
        headerKeys.removeAll(keepingCapacity: true)
    }

    /// Appends a record (a nil key or value is a null one); `timestamp` nil lets the producer stamp its clock.
    public mutating func append(keyBytes key: UnsafeRawBufferPointer?, valueBytes value: UnsafeRawBufferPointer?,
                                timestamp: Int64? = nil) {
        let keySpan = store(key)
        let valueSpan = store(value)
        entries.append(Entry(key: keySpan, value: valueSpan, firstHeader: Int32(headers.count), headerCount: 0,
                             timestamp: timestamp ?? .min))
    }

    /// Appends a record whose key is text.
    public mutating func append(key: String?, value: [UInt8]?, timestamp: Int64? = nil) {
        guard var key else {
            return value.withUnsafeOptionalBytes { append(keyBytes: nil, valueBytes: $0, timestamp: timestamp) }
        }
        key.withUTF8 { keyBytes in
            value.withUnsafeOptionalBytes { append(keyBytes: UnsafeRawBufferPointer(keyBytes), valueBytes: $0, timestamp: timestamp) }
        }
    }

    /// Adds a header to the last record appended.
    public mutating func addHeader(_ key: String, valueBytes value: UnsafeRawBufferPointer?) {
        precondition(!entries.isEmpty, "RecordChunk.addHeader: append a record first")
        let keySpan: Span
        // By bytes: `==` on strings would also match a canonically equivalent spelling.
        if let known = headerKeys.first(where: { Self.sameUTF8($0.key, key) }) {
            keySpan = known.span
        } else {
            var text = key
            keySpan = text.withUTF8 { store(UnsafeRawBufferPointer($0)) }
            if headerKeys.count < 8 { headerKeys.append((key, keySpan)) }
        }
        headers.append(Header(key: keySpan, value: store(value)))
        entries[entries.count - 1].headerCount += 1
    }

    /// Whether two strings are the same bytes, compared with memcmp in place: the generic comparison of two UTF-8
    /// views went through an iterator per byte (measured: 7 % of `produce --csv`'s CPU, one header key looked up per
    /// record; through the buffers' generic comparison still about 570 instructions for a 19-byte key).
    private static func sameUTF8(_ a: String, _ b: String) -> Bool {
        let count = a.utf8.count
        guard count == b.utf8.count else { return false }
        let compared = a.utf8.withContiguousStorageIfAvailable { a in
            b.utf8.withContiguousStorageIfAvailable { b in count == 0 || memcmp(a.baseAddress!, b.baseAddress!, count) == 0 }
        }
        return (compared ?? nil) ?? a.utf8.elementsEqual(b.utf8)
    }

    public mutating func addHeader(_ key: String, value: [UInt8]?) {
        value.withUnsafeOptionalBytes { addHeader(key, valueBytes: $0) }
    }

    private mutating func store(_ field: UnsafeRawBufferPointer?) -> Span {
        guard let field else { return .null }
        precondition(bytes.count + field.count <= Int32.max, "RecordChunk: a chunk holds at most 2 GiB")
        let span = Span(start: Int32(bytes.count), length: Int32(field.count))
        bytes.append(contentsOf: field)
        return span
    }

    // MARK: Reading records back

    /// Bytes the record adds to an uncompressed batch, at most: the same bound as ``ProducerRecord/estimatedSize``.
    public func estimatedSize(at index: Int) -> Int {
        let entry = entries[index]
        var size = 21 + entry.key.count + entry.value.count
        for header in headers[Int(entry.firstHeader)..<Int(entry.firstHeader + entry.headerCount)] {
            size += 10 + header.key.count + header.value.count
        }
        return size
    }

    public func hasKey(at index: Int) -> Bool { !entries[index].key.isNull }

    /// Calls `body` with the record's key bytes (nil for a null key), in place.
    public func withKey<T>(at index: Int, _ body: (UnsafeRawBufferPointer?) throws -> T) rethrows -> T {
        try bytes.withUnsafeBytes { try body(Self.field(entries[index].key, in: $0)) }
    }

    /// The record as a ``ProducerRecord`` (copies: for tests and slow paths).
    public func record(at index: Int, timestamp defaultTimestamp: Int64) -> ProducerRecord {
        let entry = entries[index]
        return ProducerRecord(
            key: buffer(entry.key), value: buffer(entry.value),
            headers: headers[Int(entry.firstHeader)..<Int(entry.firstHeader + entry.headerCount)].map {
                (key: String(decoding: bytes[Int($0.key.start)..<Int($0.key.start + $0.key.length)], as: UTF8.self),
                 value: buffer($0.value))
            },
            timestamp: entry.timestamp == .min ? defaultTimestamp : entry.timestamp)
    }

    private func buffer(_ span: Span) -> ByteBuffer? {
        span.isNull ? nil : ByteBuffer(bytes: bytes[Int(span.start)..<Int(span.start + span.length)])
    }

    static func field(_ span: Span, in base: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        span.isNull ? nil : UnsafeRawBufferPointer(rebasing: base[Int(span.start)..<Int(span.start) + span.count])
    }
}

extension Optional where Wrapped == [UInt8] {
    /// The array's bytes, or nil for nil.
    fileprivate func withUnsafeOptionalBytes<T>(_ body: (UnsafeRawBufferPointer?) throws -> T) rethrows -> T {
        guard let self else { return try body(nil) }
        return try self.withUnsafeBytes { try body($0) }
    }
}
