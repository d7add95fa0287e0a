#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kinds of call a ``FaultRule`` can fail. Reads through a mapping and sendfile(2) do not pass through the seam
/// and cannot be failed.
public enum FileOperation: String, Sendable, CaseIterable, Comparable {
    case open, read, write, size, truncate, sync, map, rename, remove, createDirectory, removeDirectory, listDirectory,
        syncDirectory, reserve

    public static func < (lhs: FileOperation, rhs: FileOperation) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The POSIX call the operation stands for, as ``PosixFileSystem`` names it in its errors.
    public var systemCall: String {
        switch self {
        case .open: return "open"
        case .read: return "pread"
        case .write: return "pwrite"
        case .size: return "fstat"
        case .truncate: return "ftruncate"
        case .sync: return "fdatasync"
        case .map: return "mmap"
        case .rename: return "rename"
        case .remove: return "unlink"
        case .createDirectory: return "mkdir"
        case .removeDirectory: return "rmdir"
        case .listDirectory: return "opendir"
        case .syncDirectory: return "fsync"
        case .reserve: return "fallocate"
        }
    }

    /// The calls that change the disk.
    public static let mutating: Set<FileOperation> = [.write, .truncate, .sync, .rename, .remove, .createDirectory,
                                                      .removeDirectory, .syncDirectory]
}

/// One way to fail calls of a ``FaultInjectingFileSystem``: which calls (operation kind and path), when (always,
/// the Nth matching call, every call from the Nth, or with a seeded probability), with which errno, and for writes
/// whether a prefix of the bytes lands first (a torn write).
public struct FaultRule: Sendable {
    public enum Trigger: Sendable, Equatable {
        case always
        /// Only the Nth matching call (1-based).
        case nth(Int)
        /// The Nth matching call and every one after it.
        case from(Int)
        /// Each matching call with this probability, drawn from the file system's seeded generator.
        case probability(Double)
    }

    /// How much of a failed write reaches the file before the error.
    public enum Tear: Sendable, Equatable {
        case nothing
        /// The first `n` bytes (capped at the write's size minus one).
        case prefix(Int)
        /// A prefix of seeded random length in 0..<size.
        case randomPrefix
    }

    public var operations: Set<FileOperation>
    /// Substring the path must contain; nil matches every path.
    public var pathContains: String?
    public var trigger: Trigger
    public var errno: Int32
    public var tear: Tear
    /// Matching calls seen so far (for `.nth` and `.from`).
    var seen = 0

    public init(
        _ operations: Set<FileOperation>, pathContains: String? = nil, trigger: Trigger = .always, errno: Int32 = EIO,
        tear: Tear = .nothing
    ) {
        self.operations = operations
        self.pathContains = pathContains
        self.trigger = trigger
        self.errno = errno
        self.tear = tear
    }

    func matches(_ operation: FileOperation, _ path: String) -> Bool {
        operations.contains(operation) && (pathContains.map { path.contains($0) } ?? true)
    }
}

/// What a ``FaultInjectingFileSystem`` injected, for counting by kind.
public struct InjectedFault: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var operation: FileOperation
    public var errno: Int32
    public var torn: Bool

    public init(operation: FileOperation, errno: Int32, torn: Bool) {
        self.operation = operation
        self.errno = errno
        self.torn = torn
    }

    public static func < (lhs: InjectedFault, rhs: InjectedFault) -> Bool {
        (lhs.operation, lhs.errno, lhs.torn ? 1 : 0) < (rhs.operation, rhs.errno, rhs.torn ? 1 : 0)
    }

    public var description: String {
        "\(operation) \(Self.errnoName(errno))\(torn ? " torn" : "")"
    }

    public static func errnoName(_ code: Int32) -> String {
        switch code {
        case EIO: return "EIO"
        case ENOSPC: return "ENOSPC"
        case EDQUOT: return "EDQUOT"
        default: return "errno \(code)"
        }
    }
}

/// SplitMix64: a tiny seeded generator, so a fault schedule replays exactly from its seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
