#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import NIOCore

/// Where a transaction event came from: one row of an imported file, named by the file's content (not its path: a
/// renamed or copied file is the same import) and the row's line.
///
/// `produce --csv` puts it on every record as the header ``headerKey``, and the sink applies each source at most
/// once (the ledger keeps which lines of each file it applied), so importing a file again — after a failure, or by mistake — applies only
/// the rows not applied yet. Header value: `<32 hex digits>:<line>`, the first 128 bits of the file's SHA-256 and
/// the 1-based line number, readable in `kcat -J` or `consume --format json`.
public struct EventSource: Hashable, Sendable, CustomStringConvertible {
    public static let headerKey = "ledgerstream.source"
    /// Hex digits of the digest kept: 128 bits, so two different files share one with negligible probability.
    static let digestHexLength = 32

    /// The file's content digest: ``digestHexLength`` lowercase hex digits.
    public var fileDigest: String
    /// The 1-based line of the row in the file.
    public var line: Int64

    public init(fileDigest: String, line: Int64) {
        self.fileDigest = fileDigest
        self.line = line
    }

    /// The digest of a file's content, as ``fileDigest`` holds it.
    public static func digest(of bytes: [UInt8]) -> String {
        var digester = Digester()
        bytes.withUnsafeBytes { digester.update($0) }
        return digester.finish()
    }

    /// The same digest, of a file read a block at a time.
    public struct Digester: Sendable {
        private var hasher = SHA256()

        public init() {}

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            hasher.update(bufferPointer: bytes)
        }

        public func finish() -> String {
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            var text: [UInt8] = []
            text.reserveCapacity(EventSource.digestHexLength)
            for byte in hasher.finalize().prefix(EventSource.digestHexLength / 2) {
                text.append(hex[Int(byte >> 4)])
                text.append(hex[Int(byte & 0xF)])
            }
            return String(decoding: text, as: UTF8.self)
        }
    }

    public var headerValue: String { "\(fileDigest):\(line)" }

    public var description: String { "line \(line) of the file with digest \(fileDigest)" }

    /// Parses a header value; nil unless it is exactly `<32 lowercase hex>:<positive line>`. A file's rows come one
    /// after another: when the digest is `previous`'s, its string is shared instead of built again.
    public init?(headerValue bytes: ByteBufferView, previous: EventSource? = nil) {
        // In place: indexing a ByteBufferView byte by byte costs a retain and a release of its storage per byte.
        guard let parsed = bytes.withContiguousStorageIfAvailable({ EventSource(headerBytes: UnsafeRawBufferPointer($0), previous: previous) })
            ?? Array(bytes).withUnsafeBytes({ EventSource(headerBytes: $0, previous: previous) }) else { return nil }
        self = parsed
    }

    /// The same from raw bytes.
    public init?(headerBytes bytes: UnsafeRawBufferPointer, previous: EventSource? = nil) {
        let colon = Self.digestHexLength
        guard bytes.count > colon + 1, bytes.count <= colon + 19, bytes[colon] == UInt8(ascii: ":") else { return nil }
        var line: Int64 = 0
        for byte in bytes[(colon + 1)...] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            line = line * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        let digest = UnsafeRawBufferPointer(rebasing: bytes[..<colon])
        guard line > 0 else { return nil }
        // The previous record's digest was checked when it was read: the same bytes need no second check (measured:
        // checking every hex digit was about 200 instructions a record).
        if let previous, previous.fileDigest.utf8.withContiguousStorageIfAvailable({
            $0.count == digest.count && memcmp($0.baseAddress!, digest.baseAddress!, digest.count) == 0
        }) == true {
            fileDigest = previous.fileDigest
        } else {
            guard digest.allSatisfy({
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
            }) else { return nil }
            fileDigest = String(decoding: digest, as: UTF8.self)
        }
        self.line = line
    }

    /// The source named in a record's headers, if any (the last one wins, as with Kafka headers read by key).
    public init?(headers: [(key: String, value: ByteBuffer?)], previous: EventSource? = nil) {
        guard let header = headers.last(where: { $0.key == Self.headerKey }), let value = header.value,
              let parsed = value.withUnsafeReadableBytes({ EventSource(headerBytes: $0, previous: previous) }) else { return nil }
        self = parsed
    }
}
