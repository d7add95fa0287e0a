import CCRC32C
import NIOCore
import ZooKeeperProtocol

/// The on-disk format of a transaction log file, `log.<first zxid, 16 hex digits>`:
///
///     header:  "LSZL" magic · UInt32 format version (1) · Int64 first zxid          (16 bytes)
///     records: UInt32 payload length · UInt32 CRC-32C of the payload · payload      (repeated)
///     payload: TxnHeader (session, cxid, zxid, time) then the Txn, jute-encoded
///
/// Big-endian throughout. Records are appended in zxid order with no gaps. A crash can leave the newest file with a
/// partial last record (a torn tail), which the length and CRC detect; recovery truncates it.
package enum TxnLogFormat {
    package static let magic: UInt32 = 0x4C53_5A4C  // "LSZL"
    package static let version: UInt32 = 1
    package static let headerBytes = 16
    package static let recordHeaderBytes = 8
    /// No single transaction is larger than a request frame (jute.maxbuffer) plus its header; a length above this is
    /// garbage, not a record.
    package static let maxRecordBytes = 64 * 1024 * 1024

    package static func fileName(firstZxid: Zxid) -> String { "log." + hex16(firstZxid.rawValue) }

    package static func hex16(_ value: Int64) -> String {
        let digits = String(UInt64(bitPattern: value), radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    /// Parses the zxid from "log.<hex>" or "snapshot.<hex>" names.
    package static func zxid(fromName name: String, prefix: String) -> Zxid? {
        guard name.hasPrefix(prefix), name.count == prefix.count + 16 else { return nil }
        return UInt64(name.dropFirst(prefix.count), radix: 16).map { Zxid(Int64(bitPattern: $0)) }
    }

    package static func header(firstZxid: Zxid) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeInteger(magic)
        buffer.writeInteger(version)
        buffer.writeInteger(firstZxid.rawValue)
        return Array(buffer.readableBytesView)
    }

    /// Appends one framed record to `buffer`.
    package static func append(_ record: TxnRecord, to buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(UInt32(0))
        record.write(to: &buffer)
        let payloadLength = buffer.writerIndex - start - recordHeaderBytes
        let crc = buffer.withUnsafeReadableBytes { raw in
            crc32c_update(0, raw.baseAddress! + (start - buffer.readerIndex) + recordHeaderBytes, payloadLength)
        }
        buffer.setInteger(UInt32(payloadLength), at: start)
        buffer.setInteger(crc, at: start + 4)
    }

    package static func crc(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { crc32c_update(0, $0.baseAddress, $0.count) }
    }

    /// What reading a log file's bytes found.
    package struct Scan {
        var firstZxid: Zxid
        var records: [TxnRecord]
        /// Offset just past the last good record.
        var validBytes: Int
        /// Why reading stopped before the end, if it did.
        var damage: String?
    }

    /// Reads every record up to the first damaged one. Throws only when the header is not ours.
    package static func scan(_ bytes: [UInt8], path: String) throws(CoordinatorStorageError) -> Scan {
        guard bytes.count >= headerBytes else {
            throw .unrecognizedFile(path: path, reason: "\(bytes.count) bytes is shorter than the log header")
        }
        var header = ByteBuffer(bytes: bytes[0..<headerBytes])
        guard header.readInteger(as: UInt32.self) == magic else { throw .unrecognizedFile(path: path, reason: "bad magic") }
        let version = header.readInteger(as: UInt32.self)!
        guard version == Self.version else { throw .unrecognizedFile(path: path, reason: "unknown log format version \(version)") }
        var scan = Scan(firstZxid: Zxid(header.readInteger(as: Int64.self)!), records: [], validBytes: headerBytes)
        var offset = headerBytes
        while offset < bytes.count {
            guard bytes.count - offset >= recordHeaderBytes else {
                scan.damage = "partial record header"
                break
            }
            let length = Int(bytes[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            let expectedCRC = bytes[offset + 4..<offset + 8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard length > 0, length <= maxRecordBytes, offset + recordHeaderBytes + length <= bytes.count else {
                scan.damage = length == 0 ? "zero-length record" : "record of \(length) bytes runs past the end"
                break
            }
            let payload = bytes[offset + recordHeaderBytes..<offset + recordHeaderBytes + length]
            guard crc(payload) == expectedCRC else {
                scan.damage = "CRC mismatch"
                break
            }
            guard let record = try? TxnRecord(decoding: ByteBuffer(bytes: payload)) else {
                scan.damage = "undecodable record"
                break
            }
            scan.records.append(record)
            offset += recordHeaderBytes + length
            scan.validBytes = offset
        }
        return scan
    }
}

extension TxnRecord {
    package init(decoding buffer: ByteBuffer) throws(JuteDecodingError) {
        var reader = JuteReader(buffer)
        self = try TxnRecord(from: &reader)
    }
}
