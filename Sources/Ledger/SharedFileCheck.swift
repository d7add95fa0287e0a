import CSystemCalls
#if canImport(Glibc)
import Glibc
#endif

/// Whether several processes can write one SQLite ledger safely. SQLite serialises writers with file locks and, in
/// WAL mode, a shared-memory index beside the database: both need every process on one machine and a local file
/// system. Network and clustered file systems (NFS, SMB, 9p, FUSE mounts such as sshfs, Ceph, …) break WAL's shared
/// memory and often the locks, which would let two sinks write at once: refused.
public enum SharedFileCheck {
    /// statfs f_type values of file systems that may span machines.
    static let networkFileSystems: [Int: String] = [
        0x6969: "NFS", 0x517B: "SMB", 0xFF53_4D42: "CIFS", 0xFE53_4D42: "SMB2", 0x0102_1997: "9p", 0x6573_5546: "FUSE",
        0x00C3_6400: "Ceph", 0x5346_414F: "AFS", 0x7375_7245: "Coda", 0x0116_1970: "GFS2", 0x7461_636F: "OCFS2",
        0x0BD0_0BD0: "Lustre", 0x1373: "devfs",
    ]

    /// Why several sinks may not share the SQLite file at `path` (nil: they may).
    public static func unsafeForSeveralWriters(path: String) -> String? {
        if path == ":memory:" || path.isEmpty { return "an in-memory database belongs to one process" }
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        var type: Int64 = 0
        guard ls_filesystem_type(directory.isEmpty ? "/" : directory, &type) == 0 else {
            return "its directory \(directory) cannot be examined (\(String(cString: strerror(errno))))"
        }
        return reason(forFileSystemType: type)
    }

    /// Why a file system of this statfs type cannot hold a ledger several sinks share (nil: it can).
    static func reason(forFileSystemType type: Int64) -> String? {
        guard let name = networkFileSystems[Int(type)] else { return nil }
        return "it is on a \(name) file system, where SQLite's WAL shared memory and locks do not hold across processes"
    }
}
