import FuzzSupport
import KafkaProtocol
import NIOCore

/// The record batches of one produced partition, through the validator the broker runs before appending
/// (`RecordBatchValidator.validateProduced`: framing, CRC-32C, counts, producer fields, and every record, compressed
/// batches decompressed). What it accepts must be readable: the headers tile the input exactly, each batch is a
/// magic-2 data batch of a known codec, and the consumer's record reader returns exactly `recordCount` records with
/// consecutive offsets (unless the codec's library is missing here). The frame-only pass must accept the same batches.
///
/// The input is validated as it is, and again with every batch's CRC-32C set right: a mutation almost always breaks
/// the checksum, and without the second pass the fuzzer would never get past it to the records and the codecs.
@main
enum RecordBatchFuzz {
    static func main() { runLibFuzzer(fuzzRecordBatch) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecordBatch(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    check(UnsafeRawBufferPointer(input))
    var fixed = Array(input)
    if fixChecksums(&fixed) { fixed.withUnsafeBytes { check($0) } }
    return 0
}

/// Sets the CRC-32C of each batch that its length frames within `bytes`; false if none needed it.
private func fixChecksums(_ bytes: inout [UInt8]) -> Bool {
    var changed = false
    var position = 0
    bytes.withUnsafeMutableBytes { raw in
        while raw.count - position >= RecordBatchHeader.size {
            let length = Int(Int32(bigEndian: raw.loadUnaligned(fromByteOffset: position + 8, as: Int32.self)))
            let end = position + RecordBatchHeader.lengthFieldEnd + length
            guard length >= RecordBatchHeader.size - RecordBatchHeader.lengthFieldEnd, end <= raw.count else { break }
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(position + RecordBatchHeader.crcStart)..<end]))
            let crcAt = position + RecordBatchHeader.crcStart - 4
            if raw.loadUnaligned(fromByteOffset: crcAt, as: UInt32.self) != crc.bigEndian {
                raw.storeBytes(of: crc.bigEndian, toByteOffset: crcAt, as: UInt32.self)
                changed = true
            }
            position = end
        }
    }
    return changed
}

private func check(_ bytes: UnsafeRawBufferPointer) {
    let size = bytes.count
    let headers: [RecordBatchHeader]
    do {
        headers = try RecordBatchValidator.validateProduced(bytes)
    } catch {
        require(!error.description.isEmpty, "an empty description for \(error)")
        _ = error.isCorruption
        return
    }
    do {
        let framesOnly = try RecordBatchValidator.validateProduced(bytes, checkRecords: false)
        require(framesOnly == headers, "the frame-only pass read other headers")
    } catch {
        fatalError("invariant broken: the frame-only pass refuses what full validation accepts: \(error)")
    }
    let buffer = ByteBuffer(bytes: bytes)
    var position = 0
    for header in headers {
        require(header.magic == 2 && header.recordCount > 0 && header.lastOffsetDelta == header.recordCount - 1,
                "accepted a batch with magic \(header.magic), \(header.recordCount) records, lastOffsetDelta \(header.lastOffsetDelta)")
        require(!header.isControl && header.compression != .unknown, "accepted a control batch or an unknown codec")
        require(header.totalSize >= RecordBatchHeader.size && position + header.totalSize <= size,
                "batch at \(position) of \(header.totalSize) bytes does not fit the \(size) bytes")
        let batch = buffer.getSlice(at: position, length: header.totalSize)!
        require(RecordBatchHeader(batch) == header, "the batch at \(position) reads another header alone")
        // The broker stores the batch at offsets of its own (the CRC does not cover baseOffset): it must read whole.
        var stored = batch
        stored.setInteger(Int64(0), at: stored.readerIndex + RecordBatchHeader.baseOffsetPosition)
        checkReads(stored, header: header, at: position, allowOffsetOverflow: false)
        // As produced, only an offset past Int64.max may keep it from reading.
        checkReads(batch, header: header, at: position,
                   allowOffsetOverflow: header.baseOffset > Int64.max - Int64(header.lastOffsetDelta))
        position += header.totalSize
    }
    require(position == size, "the accepted batches cover \(position) of \(size) bytes")
}

/// The consumer's record reader on a validated batch: exactly `recordCount` records at consecutive offsets, unless
/// the codec's library is missing here (the broker stores such batches unchecked) or, where allowed, the batch is
/// refused because its offsets run past Int64.max.
private func checkReads(_ batch: ByteBuffer, header: RecordBatchHeader, at position: Int, allowOffsetOverflow: Bool) {
    let baseOffset = batch.getInteger(at: batch.readerIndex, as: Int64.self)!
    do {
        let records = try RecordBatchHeader.records(in: batch)
        require(records.count == Int(header.recordCount),
                "validated batch at \(position) has recordCount \(header.recordCount) but reads as \(records.count) records")
        for (index, record) in records.enumerated() {
            require(record.offset == baseOffset + Int64(index), "record \(index) has offset \(record.offset)")
        }
    } catch .codecUnavailable {
        // Stored unchecked by the broker too: nothing to compare.
    } catch .badRecord(_, let reason) where allowOffsetOverflow {
        require(reason.contains("past the largest offset"), "batch at \(position) refused: \(reason)")
    } catch {
        fatalError("invariant broken: validated batch at \(position) (base offset \(baseOffset)) does not read: \(error)")
    }
}
