import Ledger
#if canImport(Glibc)
import Glibc
#endif

/// A transactions file read a block at a time through ``TransactionCSVParser``: memory stays constant whatever the
/// file's size (a block, the record cut by its end, and what the caller keeps of a block's rows).
struct CSVFileReader {
    let path: String
    /// Read in blocks of this size: large enough that a block's syscall and parse set-up cost nothing per row.
    static let blockSize = 4 << 20

    /// What a read found besides its rows.
    struct Summary {
        var bytes: Int
        /// The content's ``EventSource`` digest.
        var digest: String
        var lines: Int
        /// With `checkOnly`: the valid rows (which `item` does not get then).
        var validRows: Int
    }

    enum ReadError: Error, CustomStringConvertible {
        case cannotOpen(String, Int32)
        case cannotRead(String, Int32)

        var description: String {
            switch self {
            case .cannotOpen(let path, let code): "cannot read \(path): \(String(cString: strerror(code)))"
            case .cannotRead(let path, let code): "reading \(path) failed: \(String(cString: strerror(code)))"
            }
        }
    }

    /// The file's size now (for a progress bar); nil if it cannot be read.
    var size: Int? {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : nil
    }

    /// Reads the whole file: `item` gets each row or error in file order (only the errors with `checkOnly`); after
    /// each block, `endOfBlock` gets the bytes read so far (the place to hand a block's rows on, and await).
    func read(checkOnly: Bool = false, item: (TransactionCSVParser.Item) -> Void,
              endOfBlock: (Int) async throws -> Void) async throws -> Summary {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ReadError.cannotOpen(path, errno) }
        defer { close(descriptor) }
        var parser = TransactionCSVParser(file: path, checkOnly: checkOnly)
        var digester = EventSource.Digester()
        var pending: [UInt8] = []
        pending.reserveCapacity(Self.blockSize)
        // Read into a block of its own, then appended: growing `pending` by a block of zeros to read into was an
        // element-by-element loop in debug builds (seconds per file in the tests), and a memset in release.
        var block = [UInt8](repeating: 0, count: Self.blockSize)
        var total = 0
        while true {
            let count = block.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress!, Self.blockSize) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ReadError.cannotRead(path, errno)
            }
            block.withUnsafeBytes { digester.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            pending.append(contentsOf: block[..<count])
            total += count
            let isLast = count == 0
            let consumed = parser.parse(pending[...], isLast: isLast, item)
            pending.removeFirst(consumed)
            try await endOfBlock(total)
            if isLast {
                return Summary(bytes: total, digest: digester.finish(), lines: parser.lineCount, validRows: parser.validRows)
            }
        }
    }
}
