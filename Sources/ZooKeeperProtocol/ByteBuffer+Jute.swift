import NIOCore

/// Writers for jute's binary encoding (see ``JuteReader`` for the layout). Integers use `writeInteger`, which is
/// big-endian by default.
extension ByteBuffer {
    /// A `buffer`: Int32 length (−1 for nil) and the bytes.
    @inlinable
    public mutating func writeJuteBuffer(_ bytes: [UInt8]?) {
        guard let bytes else {
            writeInteger(Int32(-1))
            return
        }
        writeInteger(Int32(bytes.count))
        writeBytes(bytes)
    }

    /// A `ustring`: Int32 length of the UTF-8 bytes (−1 for nil) and the bytes.
    @inlinable
    public mutating func writeJuteString(_ string: String?) {
        guard let string else {
            writeInteger(Int32(-1))
            return
        }
        let lengthIndex = writerIndex
        writeInteger(Int32(0))
        let count = writeString(string)
        setInteger(Int32(count), at: lengthIndex)
    }

    @inlinable
    public mutating func writeJuteBool(_ value: Bool) {
        writeInteger(UInt8(value ? 1 : 0))
    }

    /// A `vector`: Int32 count and the elements, each written by `element`.
    @inlinable
    public mutating func writeJuteVector<C: Collection>(_ values: C, _ element: (inout ByteBuffer, C.Element) -> Void) {
        writeInteger(Int32(values.count))
        for value in values { element(&self, value) }
    }

    @inlinable
    public mutating func writeJuteStrings<C: Collection<String>>(_ values: C) {
        writeJuteVector(values) { $0.writeJuteString($1) }
    }

    public mutating func writeJuteRecord(_ record: some JuteRecord) {
        record.write(to: &self)
    }
}
