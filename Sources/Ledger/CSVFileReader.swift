import LedgerDomain
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A transactions file read a block at a time through ``TransactionCSVParser``: memory stays constant whatever the
/// file's size (a block, the record cut by its end, and what the caller keeps of a block's rows).
public struct CSVFileReader: Sendable {
    public let path: String
    /// Read in blocks of this size: large enough that a block's syscall and parse set-up cost nothing per row (about
    /// 32,000 rows of a bank export), small enough that a block's rows, which the sending pass keeps until they are
    /// handed to the producer, stay a small part of its memory. Measured on 1M rows: 4 MiB blocks held 130,000 rows,
    /// 27 MB while their array grew, and the producer peaked at 64 MB; 1 MiB blocks, 42 MB at the same CPU time;
    /// 256 KiB blocks, 34 MB with more system time.
    public static let defaultBlockSize = 1 << 20
    let blockSize: Int

    /// - Parameter blockSize: bytes per read (tests use small ones to put block ends everywhere).
    public init(path: String, blockSize: Int = defaultBlockSize) {
        precondition(blockSize > 0)
        self.path = path
        self.blockSize = blockSize
    }

    /// What a read found besides its rows.
    public struct Summary: Sendable {
        public var bytes: Int
        /// The content's ``EventSource`` digest.
        public var digest: String
        public var lines: Int
        /// With `checkOnly`: the valid rows (which `item` does not get then).
        public var validRows: Int
    }

    public enum ReadError: Error, CustomStringConvertible {
        case cannotOpen(String, Int32)
        case cannotRead(String, Int32)

        public var description: String {
            switch self {
            case .cannotOpen(let path, let code): "cannot read \(path): \(String(cString: strerror(code)))"
            case .cannotRead(let path, let code): "reading \(path) failed: \(String(cString: strerror(code)))"
            }
        }
    }

    /// The file's size now (for a progress bar); nil if it cannot be read.
    public var size: Int? {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : nil
    }

    /// Reads the whole file: `item` gets each row or error in file order (only the errors with `checkOnly`); after
    /// each block, `endOfBlock` gets the bytes read so far (the place to hand a block's rows on, and await).
    public func read(checkOnly: Bool = false, item: (TransactionCSVParser.Item) -> Void,
                     endOfBlock: (Int) async throws -> Void) async throws -> Summary {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ReadError.cannotOpen(path, errno) }
        defer { close(descriptor) }
        var blocks = BlockParser(TransactionCSVParser(file: path, checkOnly: checkOnly), blockSize: blockSize)
        var total = 0
        while true {
            let count = blocks.block.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress!, blockSize) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ReadError.cannotRead(path, errno)
            }
            blocks.parse(count, item)
            total += count
            try await endOfBlock(total)
            if count == 0 {
                return Summary(bytes: total, digest: blocks.digester.finish(), lines: blocks.parser.lineCount,
                               validRows: blocks.parser.validRows)
            }
        }
    }

    // MARK: Checking

    /// What checking a file found.
    public struct Check: Sendable {
        public var summary: Summary
        /// The first errors found (at most the number asked for), in file order.
        public var errors: [TransactionCSV.RowError]
        public var errorCount: Int
        /// Whether the file was checked in two halves at once.
        public var inHalves: Bool
    }

    /// Checks every row without keeping any (the first pass of `produce --csv`): the file's summary and its errors.
    ///
    /// A file of `splitBytes` or more with no `"` in it is checked in two halves at once, on two threads: nothing else
    /// runs while a file is checked, and the second core would be idle (measured: the check was a fifth of the time
    /// from starting `produce --csv` to the sink's last commit). The halves meet at a line break, which without quotes
    /// is a record's end; the second half's errors get the first half's lines added. A file with a `"` anywhere (a
    /// quoted field may hold a line break) is checked in one pass, as is one whose second half changed while it was
    /// checked. `progress` gets the bytes checked so far, from either thread.
    public func check(keepingErrors limit: Int, splitBytes: Int = 8 << 20,
                      progress: @escaping @Sendable (Int) -> Void) async throws -> Check {
        if let size, size >= splitBytes, let split = try await checkInHalves(keepingErrors: limit, progress: progress) {
            return split
        }
        var errors = ErrorTally(keeping: limit)
        let summary = try await read(checkOnly: true, item: { errors.count($0) }, endOfBlock: { progress($0) })
        return Check(summary: summary, errors: errors.kept, errorCount: errors.total, inHalves: false)
    }

    /// The two-thread check; nil if the file turned out to need one pass (a quote, no line break past its middle, or a
    /// second half that changed meanwhile).
    private func checkInHalves(keepingErrors limit: Int, progress: @escaping @Sendable (Int) -> Void) async throws -> Check? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ReadError.cannotOpen(path, errno) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw ReadError.cannotRead(path, errno) }
        guard let middle = try lineStart(descriptor, atOrAfter: Int(info.st_size) / 2) else { return nil }
        let checked = ByteCount()
        var first = HalfCheck(reader: self, parser: TransactionCSVParser(file: path, checkOnly: true), from: 0, to: middle,
                              keepingErrors: limit)
        // The second half needs the header, which the first block has (else the file goes in one pass).
        repeat { try first.step(descriptor, checked: checked, progress: progress) } while !first.parserReadHeader && !first.sawQuote
        guard !first.sawQuote else { return nil }
        let second = HalfCheck(reader: self, parser: first.blocks.parser.continuing(), from: middle, to: nil, keepingErrors: limit)
        async let secondDone = Self.finish(second, descriptor, checked: checked, progress: progress)
        let firstDone = try await Self.finish(first, descriptor, checked: checked, progress: progress)
        let secondHalf = try await secondDone
        guard !firstDone.sawQuote, !secondHalf.sawQuote else { return nil }

        // The file's digest goes on over the second half, read again; it must be the bytes that half checked.
        var digester = firstDone.blocks.digester
        var again = EventSource.Digester()
        var block = [UInt8](repeating: 0, count: blockSize)
        var position = middle
        while true {
            let count = try readBlock(descriptor, into: &block, at: position)
            if count == 0 { break }
            block.withUnsafeBytes {
                digester.update(UnsafeRawBufferPointer(rebasing: $0[..<count]))
                again.update(UnsafeRawBufferPointer(rebasing: $0[..<count]))
            }
            position += count
        }
        guard position == secondHalf.position, again.finish() == secondHalf.blocks.digester.finish() else { return nil }

        let lines = firstDone.blocks.parser.lineCount
        let secondErrors = secondHalf.errors.kept.map { error in
            var moved = error
            moved.line += lines
            return moved
        }
        return Check(
            summary: Summary(bytes: position, digest: digester.finish(), lines: lines + secondHalf.blocks.parser.lineCount,
                             validRows: firstDone.blocks.parser.validRows + secondHalf.blocks.parser.validRows),
            errors: Array((firstDone.errors.kept + secondErrors).prefix(limit)),
            errorCount: firstDone.errors.total + secondHalf.errors.total, inHalves: true)
    }

    private static func finish(_ half: HalfCheck, _ descriptor: Int32, checked: ByteCount,
                               progress: @Sendable (Int) -> Void) async throws -> HalfCheck {
        var half = half
        while !half.isDone && !half.sawQuote { try half.step(descriptor, checked: checked, progress: progress) }
        return half
    }

    /// Where the first line that starts at or after `offset` starts; nil if no line break follows it.
    private func lineStart(_ descriptor: Int32, atOrAfter offset: Int) throws -> Int? {
        var window = [UInt8](repeating: 0, count: 64 * 1024)
        var position = max(offset - 1, 0)
        while true {
            let count = try readBlock(descriptor, into: &window, at: position)
            if count == 0 { return nil }
            if let newline = window[..<count].firstIndex(of: 10) { return position + newline + 1 }
            position += count
        }
    }

    func readBlock(_ descriptor: Int32, into block: inout [UInt8], at offset: Int, upTo end: Int? = nil) throws -> Int {
        let wanted = min(block.count, (end ?? Int.max) - offset)
        guard wanted > 0 else { return 0 }
        while true {
            let count = block.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress!, wanted, off_t(offset)) }
            if count >= 0 { return count }
            if errno != EINTR { throw ReadError.cannotRead(path, errno) }
        }
    }
}

/// Bytes checked so far by both halves, for the progress bar.
private final class ByteCount: Sendable {
    let value = Atomic<Int>(0)
}

/// A file's bytes parsed a block at a time, whoever reads them (`read` with read(2), a half of the check with pread):
/// read into ``block``, then ``parse(_:_:)`` digests those bytes, appends them to the record the last block ended in
/// the middle of, and parses every complete record.
private struct BlockParser: Sendable {
    var parser: TransactionCSVParser
    var digester = EventSource.Digester()
    /// What to read into. Read into a block of its own, then appended: growing `pending` by a block of zeros to read
    /// into was an element-by-element loop in debug builds (seconds per file in the tests), and a memset in release.
    var block: [UInt8]
    /// The bytes not parsed yet: the start of a record cut by the last block's end.
    private var pending: [UInt8] = []

    init(_ parser: TransactionCSVParser, blockSize: Int) {
        self.parser = parser
        block = [UInt8](repeating: 0, count: blockSize)
        pending.reserveCapacity(blockSize)
    }

    /// Parses the first `count` bytes of ``block`` after what was pending; 0 is the end of the bytes to parse.
    mutating func parse(_ count: Int, _ item: (TransactionCSVParser.Item) -> Void) {
        block.withUnsafeBytes { digester.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        pending.append(contentsOf: block[..<count])
        let consumed = parser.parse(pending[...], isLast: count == 0, item)
        pending.removeFirst(consumed)
    }
}

/// A check's errors: how many, and the first `limit` of them in file order.
private struct ErrorTally: Sendable {
    let limit: Int
    private(set) var kept: [TransactionCSV.RowError] = []
    private(set) var total = 0

    init(keeping limit: Int) { self.limit = limit }

    mutating func count(_ item: TransactionCSVParser.Item) {
        guard case .error(let error) = item else { return }
        total += 1
        if kept.count < limit { kept.append(error) }
    }
}

/// One half of a two-thread check: its range, parser, errors and digest, advanced a block at a time.
private struct HalfCheck: Sendable {
    let reader: CSVFileReader
    var blocks: BlockParser
    var position: Int
    /// The end of the range; nil: the end of the file.
    let end: Int?
    var errors: ErrorTally
    private(set) var isDone = false
    /// A `"` was read: the halves' split may be inside a quoted field, so their results are not used.
    private(set) var sawQuote = false

    init(reader: CSVFileReader, parser: TransactionCSVParser, from start: Int, to end: Int?, keepingErrors limit: Int) {
        self.reader = reader
        blocks = BlockParser(parser, blockSize: reader.blockSize)
        position = start
        self.end = end
        errors = ErrorTally(keeping: limit)
    }

    var parserReadHeader: Bool { blocks.parser.lineCount > 0 || isDone }

    mutating func step(_ descriptor: Int32, checked: ByteCount, progress: @Sendable (Int) -> Void) throws {
        let count = try reader.readBlock(descriptor, into: &blocks.block, at: position, upTo: end)
        if blocks.block.withUnsafeBytes({ memchr($0.baseAddress!, 34, count) }) != nil {
            sawQuote = true
            return
        }
        position += count
        isDone = count == 0
        blocks.parse(count) { errors.count($0) }
        progress(checked.value.add(count, ordering: .relaxed).newValue)
    }
}
