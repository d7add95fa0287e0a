import NIOCore

/// A znode's metadata as clients see it (68 bytes on the wire).
///
/// `version` counts data changes, `cversion` child changes (creations plus deletions), `aversion` ACL changes.
/// `ephemeralOwner` is the owning session of an ephemeral node, else 0. `ctime`/`mtime` are wall-clock milliseconds;
/// `pzxid` is the zxid of the last change to the children.
public struct Stat: JuteRecord, CustomStringConvertible {
    public var czxid: Zxid
    public var mzxid: Zxid
    public var ctime: Int64
    public var mtime: Int64
    public var version: Int32
    public var cversion: Int32
    public var aversion: Int32
    public var ephemeralOwner: SessionID
    public var dataLength: Int32
    public var numChildren: Int32
    public var pzxid: Zxid

    public init(
        czxid: Zxid = .zero, mzxid: Zxid = .zero, ctime: Int64 = 0, mtime: Int64 = 0, version: Int32 = 0,
        cversion: Int32 = 0, aversion: Int32 = 0, ephemeralOwner: SessionID = .none, dataLength: Int32 = 0,
        numChildren: Int32 = 0, pzxid: Zxid = .zero
    ) {
        self.czxid = czxid
        self.mzxid = mzxid
        self.ctime = ctime
        self.mtime = mtime
        self.version = version
        self.cversion = cversion
        self.aversion = aversion
        self.ephemeralOwner = ephemeralOwner
        self.dataLength = dataLength
        self.numChildren = numChildren
        self.pzxid = pzxid
    }

    /// The encoded size: six longs (czxid, mzxid, ctime, mtime, ephemeralOwner, pzxid) and five ints.
    public static let encodedBytes = 6 * 8 + 5 * 4

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        czxid = Zxid(try reader.readLong("Stat.czxid"))
        mzxid = Zxid(try reader.readLong("Stat.mzxid"))
        ctime = try reader.readLong("Stat.ctime")
        mtime = try reader.readLong("Stat.mtime")
        version = try reader.readInt("Stat.version")
        cversion = try reader.readInt("Stat.cversion")
        aversion = try reader.readInt("Stat.aversion")
        ephemeralOwner = SessionID(try reader.readLong("Stat.ephemeralOwner"))
        dataLength = try reader.readInt("Stat.dataLength")
        numChildren = try reader.readInt("Stat.numChildren")
        pzxid = Zxid(try reader.readLong("Stat.pzxid"))
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(czxid.rawValue)
        buffer.writeInteger(mzxid.rawValue)
        buffer.writeInteger(ctime)
        buffer.writeInteger(mtime)
        buffer.writeInteger(version)
        buffer.writeInteger(cversion)
        buffer.writeInteger(aversion)
        buffer.writeInteger(ephemeralOwner.rawValue)
        buffer.writeInteger(dataLength)
        buffer.writeInteger(numChildren)
        buffer.writeInteger(pzxid.rawValue)
    }

    public var description: String {
        "Stat(czxid: \(czxid), mzxid: \(mzxid), ctime: \(ctime), mtime: \(mtime), version: \(version), "
            + "cversion: \(cversion), aversion: \(aversion), ephemeralOwner: \(ephemeralOwner), "
            + "dataLength: \(dataLength), numChildren: \(numChildren), pzxid: \(pzxid))"
    }
}
