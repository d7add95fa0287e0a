import NIOCore

/// Rows in PostgreSQL's COPY text format, written straight into a buffer: fields separated by tabs, rows ended by a
/// newline, NULL as `\N`, and backslash, tab, newline and carriage return escaped in texts. A NUL byte, which no
/// PostgreSQL text can hold, becomes U+FFFD. No allocation per field.
struct CopyTextRows {
    private(set) var buffer: ByteBuffer
    private(set) var rows = 0
    private var fieldsInRow = 0

    init(capacity: Int = 64 * 1024) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    var isEmpty: Bool { rows == 0 && fieldsInRow == 0 }

    private mutating func separate() {
        if fieldsInRow > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
        fieldsInRow += 1
    }

    mutating func null() {
        separate()
        buffer.writeStaticString("\\N")
    }

    mutating func int(_ value: Int64) {
        separate()
        if value < 0 {
            buffer.writeInteger(UInt8(ascii: "-"))
        }
        // Digits of the magnitude, most significant first (Int64.min's magnitude fits in UInt64).
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // room for 20 digits, 5 per word
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[(20 - count)..<20]))
        }
    }

    mutating func int(_ value: Int64?) {
        if let value { int(value) } else { null() }
    }

    mutating func text(_ value: String) {
        var value = value
        value.withUTF8 { text($0) }
    }

    mutating func text(_ bytes: UnsafeBufferPointer<UInt8>) {
        separate()
        // Most texts (accounts, topics, dates) need no escape: copied whole.
        if !bytes.contains(where: { $0 == UInt8(ascii: "\\") || $0 < 0x0E }) {
            buffer.writeBytes(bytes)
            return
        }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            case 0: buffer.writeBytes([0xEF, 0xBF, 0xBD])
            default: buffer.writeInteger(byte)
            }
        }
    }

    mutating func text(_ value: String?) {
        if let value { text(value) } else { null() }
    }

    mutating func endRow() {
        buffer.writeInteger(UInt8(ascii: "\n"))
        rows += 1
        fieldsInRow = 0
    }

    /// Hands over the rows written so far and starts again (for sending a long COPY in pieces).
    mutating func take() -> ByteBuffer {
        let full = buffer
        buffer = ByteBufferAllocator().buffer(capacity: max(full.readableBytes, 1024))
        return full
    }
}
