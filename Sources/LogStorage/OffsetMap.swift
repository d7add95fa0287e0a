import Crypto

/// The cleaner's key → latest offset map (Kafka's `SkimpyOffsetMap`): a fixed-size open-addressing hash table that
/// stores, per key, only the key's MD5 digest (16 bytes) and the offset of its latest record (8 bytes).
///
/// Memory is bounded by the `log.cleaner.dedupe.buffer.size` it is given, never by the data: when the table holds
/// `loadFactor` of its slots it reports itself full and the cleaner cleans up to the last offset it could map,
/// as Kafka does. A 128-bit digest makes two keys sharing a slot identity a practical impossibility (a collision
/// would make the cleaner drop a live key's record).
///
/// Not thread-safe: one per cleaning.
struct OffsetMap {
    /// Bytes per entry: the 16-byte digest and the 8-byte offset.
    static let bytesPerEntry = 24
    /// Kafka's `log.cleaner.io.buffer.load.factor` default.
    static let loadFactor = 0.9

    /// Digest halves, two per slot.
    private var digests: [UInt64]
    /// -1 marks an empty slot.
    private var offsets: [Int64]
    private(set) var size = 0
    /// The largest offset put so far, -1 when empty.
    private(set) var latestOffset: Int64 = -1
    let slots: Int

    /// - Parameters:
    ///   - memory: bytes the map may use (the dedupe buffer).
    ///   - expectedKeys: an upper bound on the keys to be put (the offsets in the dirty section), so a small log
    ///     does not allocate the whole buffer.
    init(memory: Int, expectedKeys: Int) {
        let byMemory = max(1, memory / Self.bytesPerEntry)
        let needed = Int(Double(max(expectedKeys, 1)) / Self.loadFactor) + 1
        slots = max(2, min(byMemory, needed))
        digests = [UInt64](repeating: 0, count: slots * 2)
        offsets = [Int64](repeating: -1, count: slots)
    }

    /// Bytes the table occupies.
    var memoryBytes: Int { slots * Self.bytesPerEntry }
    /// Whether one more key might not fit.
    var isFull: Bool { size >= Int(Double(slots) * Self.loadFactor) }

    static func digest(_ key: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        var md5 = Insecure.MD5()
        md5.update(bufferPointer: key)
        return md5.finalize().withUnsafeBytes { bytes in
            (bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
    }

    /// Records `offset` as the latest for `key` (callers put offsets in increasing order). The map must not be full.
    mutating func put(key: UnsafeRawBufferPointer, offset: Int64) {
        precondition(!isFull, "put into a full offset map")
        let digest = Self.digest(key)
        let slot = find(digest)
        if offsets[slot] < 0 {
            size += 1
            digests[slot * 2] = digest.0
            digests[slot * 2 + 1] = digest.1
        }
        offsets[slot] = offset
        latestOffset = max(latestOffset, offset)
    }

    /// The latest offset recorded for `key`, -1 if none.
    func get(key: UnsafeRawBufferPointer) -> Int64 {
        offsets[find(Self.digest(key))]
    }

    /// The slot holding `digest`, or the empty slot where it would go (linear probing from the digest's bits).
    private func find(_ digest: (UInt64, UInt64)) -> Int {
        var slot = Int(digest.0 % UInt64(slots))
        while offsets[slot] >= 0 && (digests[slot * 2] != digest.0 || digests[slot * 2 + 1] != digest.1) {
            slot += 1
            if slot == slots { slot = 0 }
        }
        return slot
    }
}
