import CCompression
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The record area of a compressed v2 batch (the bytes after the 61-byte header) is one compressed stream. These
/// turn it back into plain records, and plain records into one, through the C codecs in `CCompression`.
extension CompressionCodec {
    /// The largest record area a batch may decompress to. A 1 MB batch of very repetitive records stays far below;
    /// a hostile one (a "decompression bomb") is refused instead of exhausting memory.
    public static let maxDecompressedBytes = 256 << 20

    /// The decompressed bytes of `compressed`.
    public func decompress(
        _ compressed: UnsafeRawBufferPointer, limit: Int = CompressionCodec.maxDecompressedBytes
    ) throws(RecordBatchError) -> ByteBuffer {
        let source = compressed.bindMemory(to: UInt8.self)
        let decode: (UnsafePointer<UInt8>?, Int, Int, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
                     UnsafeMutablePointer<Int>?) -> ls_codec_status
        switch self {
        case .none: return ByteBuffer(bytes: compressed)
        case .gzip: decode = ls_gzip_decompress
        case .snappy: decode = ls_snappy_decompress
        case .lz4: decode = ls_lz4_decompress
        case .zstd: decode = ls_zstd_decompress
        case .unknown: throw .unknownCompression(position: 0, attributes: -1)
        }
        var output: UnsafeMutablePointer<UInt8>?
        var length = 0
        try check(decode(source.baseAddress, source.count, limit, &output, &length), limit: limit)
        return Self.adopt(output, length)
    }

    /// `plain` compressed with this codec. Snappy is decode-only here (Kafka clients rarely produce it).
    public func compress(_ plain: UnsafeRawBufferPointer) throws(RecordBatchError) -> ByteBuffer {
        let source = plain.bindMemory(to: UInt8.self)
        var output: UnsafeMutablePointer<UInt8>?
        var length = 0
        let status: ls_codec_status
        switch self {
        case .none: return ByteBuffer(bytes: plain)
        case .gzip: status = ls_gzip_compress(source.baseAddress, source.count, -1, &output, &length)
        case .lz4: status = ls_lz4_compress(source.baseAddress, source.count, &output, &length)
        case .zstd: status = ls_zstd_compress(source.baseAddress, source.count, 0, &output, &length)
        case .snappy: throw .decompressionFailed(codec: self, reason: "ledgerstream does not write snappy; use gzip, lz4 or zstd")
        case .unknown: throw .unknownCompression(position: 0, attributes: -1)
        }
        try check(status, limit: 0)
        return Self.adopt(output, length)
    }

    /// The name Kafka uses in `compression.type`.
    public var name: String {
        switch self {
        case .none: return "none"
        case .gzip: return "gzip"
        case .snappy: return "snappy"
        case .lz4: return "lz4"
        case .zstd: return "zstd"
        case .unknown: return "unknown"
        }
    }

    public init?(name: String) {
        switch name.lowercased() {
        case "none": self = .none
        case "gzip": self = .gzip
        case "snappy": self = .snappy
        case "lz4": self = .lz4
        case "zstd": self = .zstd
        default: return nil
        }
    }

    private func check(_ status: ls_codec_status, limit: Int) throws(RecordBatchError) {
        switch status {
        case LS_CODEC_OK: return
        case LS_CODEC_CORRUPT: throw .decompressionFailed(codec: self, reason: "the compressed data is corrupt or truncated")
        case LS_CODEC_UNAVAILABLE: throw .codecUnavailable(codec: self)
        case LS_CODEC_TOO_LARGE: throw .decompressionFailed(codec: self, reason: "decompresses to more than \(limit) bytes")
        default: throw .decompressionFailed(codec: self, reason: "out of memory")
        }
    }

    /// Copies the C codec's malloc'd output into a ByteBuffer and frees it.
    private static func adopt(_ bytes: UnsafeMutablePointer<UInt8>?, _ length: Int) -> ByteBuffer {
        defer { free(bytes) }
        guard let bytes else { return ByteBuffer() }
        return ByteBuffer(bytes: UnsafeRawBufferPointer(start: bytes, count: length))
    }
}
