import NIOCore

/// Kafka's murmur2 hash (org.apache.kafka.common.utils.Utils.murmur2), so keyed records land on the same partition
/// as with the Java client, librdkafka's "murmur2_random" and kafka-python: partition = toPositive(hash) % count.
public enum Murmur2 {
    public static func hash<Bytes: Collection>(_ data: Bytes) -> Int32 where Bytes.Element == UInt8 {
        if let hashed = data.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) { return hashed }
        return Array(data).withUnsafeBytes { hash($0) }
    }

    /// Kafka's murmur2 (the Java client's `Utils.murmur2`) over raw bytes: the partitioner hashes every keyed record,
    /// so this reads the key where it lies instead of copying it into an array first.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        let length = bytes.count
        let seed: UInt32 = 0x9747_B28C
        let m: UInt32 = 0x5BD1_E995
        let r: UInt32 = 24
        var h: UInt32 = seed ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        for i in 0..<blocks {
            var k = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = length & ~3
        switch length % 4 {
        case 3:
            h ^= UInt32(bytes[tail + 2]) << 16
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h = h &* m
        case 2:
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h = h &* m
        case 1:
            h ^= UInt32(bytes[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// The partition the Java client's default partitioner picks for `key`.
    public static func partition(forKey key: ByteBuffer, partitionCount: Int32) -> Int32 {
        partition(hash: key.withUnsafeReadableBytes { hash($0) }, partitionCount: partitionCount)
    }

    /// The partition of a key whose murmur2 hash is `hash`: toPositive(hash) % count, as Kafka's clients.
    public static func partition(hash: Int32, partitionCount: Int32) -> Int32 {
        precondition(partitionCount > 0)
        return (hash & 0x7FFF_FFFF) % partitionCount
    }
}
