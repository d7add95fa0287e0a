#if canImport(Glibc)
import Glibc
#endif

/// Buffered writes to standard output: one write(2) per 64 KiB instead of one per record.
final class OutputWriter {
    private var buffer: [UInt8] = []
    private let limit = 64 * 1024

    init() {
        buffer.reserveCapacity(limit * 2)
    }

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= limit { flush() }
    }

    func write(bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= limit { flush() }
    }

    func flush() {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 {
                if errno == EINTR { continue }
                break  // stdout closed (e.g. piped into head): drop the rest
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    deinit {
        flush()
    }
}

/// Reads standard input line by line in large chunks (far faster than readLine for millions of lines). A final line
/// without a newline is returned too; a trailing "\r" is kept (the caller decides).
struct LineReader {
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    private let fd: Int32

    init(fd: Int32 = STDIN_FILENO) {
        self.fd = fd
    }

    mutating func next() -> ArraySlice<UInt8>? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 10) {
                let line = buffer[start..<newline]
                start = newline + 1
                return line
            }
            if eof {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                start = buffer.count
                return line
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            var chunk = [UInt8](repeating: 0, count: 256 * 1024)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 {
                if count < 0 && errno == EINTR { continue }
                eof = true
            } else {
                buffer.append(contentsOf: chunk[0..<count])
            }
        }
    }
}
