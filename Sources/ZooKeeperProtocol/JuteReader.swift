import NIOCore

/// Consuming reader over one complete ZooKeeper frame, in jute's binary encoding (ZooKeeper's `BinaryInputArchive`).
///
/// Jute types: `int` is a big-endian Int32, `long` a big-endian Int64, `boolean` one byte, `buffer` and `ustring` an
/// Int32 length (−1 = null) followed by that many bytes, `vector` an Int32 count (−1 = null) followed by the elements;
/// a record is its fields in declaration order. Every read either returns a value and moves past it, or throws: once
/// the frame decoder has cut a complete frame, running out of bytes means the frame lied about its contents.
public struct JuteReader {
    public private(set) var buffer: ByteBuffer

    public init(_ buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// Bytes not read yet.
    public var remaining: Int { buffer.readableBytes }

    @inline(__always)
    mutating func readFixed<T: FixedWidthInteger>(_: T.Type, _ field: StaticString) throws(JuteDecodingError) -> T {
        guard let value = buffer.readInteger(endianness: .big, as: T.self) else {
            throw .truncated(field: "\(field)", needed: MemoryLayout<T>.size, available: buffer.readableBytes)
        }
        return value
    }

    public mutating func readInt(_ field: StaticString = "int") throws(JuteDecodingError) -> Int32 {
        try readFixed(Int32.self, field)
    }

    public mutating func readLong(_ field: StaticString = "long") throws(JuteDecodingError) -> Int64 {
        try readFixed(Int64.self, field)
    }

    /// Jute writes `true` as 1; like Java's `readBoolean`, any non-zero byte reads as true.
    public mutating func readBool(_ field: StaticString = "boolean") throws(JuteDecodingError) -> Bool {
        try readFixed(UInt8.self, field) != 0
    }

    /// A length- or count-prefix: nil for −1 (null), an error for other negative values or more than is left.
    @inline(__always)
    mutating func readLength(_ field: StaticString, elementBytes: Int) throws(JuteDecodingError) -> Int? {
        let length = try readFixed(Int32.self, field)
        if length == -1 { return nil }
        guard length >= 0 else { throw .invalidLength(field: "\(field)", length: length) }
        // A count can never claim more elements than there are bytes left (each element takes at least one).
        guard Int(length) * elementBytes <= buffer.readableBytes else {
            throw .truncated(field: "\(field)", needed: Int(length) * elementBytes, available: buffer.readableBytes)
        }
        return Int(length)
    }

    /// A jute `buffer`: nil when the length is −1.
    public mutating func readBuffer(_ field: StaticString = "buffer") throws(JuteDecodingError) -> [UInt8]? {
        guard let length = try readLength(field, elementBytes: 1) else { return nil }
        return buffer.readBytes(length: length)!
    }

    /// A jute `ustring` (UTF-8): nil when the length is −1. Invalid UTF-8 is repaired with U+FFFD, as Java does.
    public mutating func readString(_ field: StaticString = "ustring") throws(JuteDecodingError) -> String? {
        guard let length = try readLength(field, elementBytes: 1) else { return nil }
        return buffer.readString(length: length)!
    }

    /// A `ustring` that must not be null (paths): null reads as an error.
    public mutating func readNonNullString(_ field: StaticString) throws(JuteDecodingError) -> String {
        guard let value = try readString(field) else { throw .unexpectedNull(field: "\(field)") }
        return value
    }

    /// A jute `vector`: nil when the count is −1. Elements are read by `element`.
    public mutating func readVector<T>(
        _ field: StaticString, minimumElementBytes: Int = 1, _ element: (inout JuteReader) throws(JuteDecodingError) -> T
    ) throws(JuteDecodingError) -> [T]? {
        guard let count = try readLength(field, elementBytes: minimumElementBytes) else { return nil }
        var values: [T] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try element(&self)) }
        return values
    }

    /// A vector of `ustring`s where null reads as empty (watch lists, children).
    public mutating func readStringVector(_ field: StaticString) throws(JuteDecodingError) -> [String] {
        try readVector(field, minimumElementBytes: 4) { (reader: inout JuteReader) throws(JuteDecodingError) in
            try reader.readNonNullString(field)
        } ?? []
    }

    /// Reads a nested record.
    public mutating func read<R: JuteRecord>(_: R.Type) throws(JuteDecodingError) -> R {
        try R(from: &self)
    }
}

/// Why a complete frame could not be decoded as the ZooKeeper record it should hold. The server answers
/// MarshallingError (−5) for a request body it cannot read, and closes a connection whose handshake it cannot read.
public enum JuteDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The frame ended while `needed` more bytes were expected for `field`.
    case truncated(field: String, needed: Int, available: Int)
    /// A length or count prefix is negative (and not −1, the null marker).
    case invalidLength(field: String, length: Int32)
    /// A field that may not be null (a path) was null.
    case unexpectedNull(field: String)
    /// A field holds a value outside its domain (an op code not allowed inside multi, a bad create mode).
    case invalidValue(String)

    public var description: String {
        switch self {
        case .truncated(let field, let needed, let available):
            return "record truncated in \(field): needed \(needed) bytes, \(available) left"
        case .invalidLength(let field, let length): return "invalid length \(length) for \(field)"
        case .unexpectedNull(let field): return "\(field) is null"
        case .invalidValue(let what): return what
        }
    }
}

/// A jute record: fields in declaration order, no framing of its own.
public protocol JuteRecord: Sendable, Equatable {
    init(from reader: inout JuteReader) throws(JuteDecodingError)
    func write(to buffer: inout ByteBuffer)
}

extension JuteRecord {
    /// The record's bytes, as a fresh buffer (tests, log records).
    public var serialized: ByteBuffer {
        var buffer = ByteBuffer()
        write(to: &buffer)
        return buffer
    }

    /// Decodes a record from all of `buffer`'s readable bytes (trailing bytes are ignored, as ZooKeeper does).
    public init(decoding buffer: ByteBuffer) throws(JuteDecodingError) {
        var reader = JuteReader(buffer)
        self = try Self(from: &reader)
    }
}
