/// A ZooKeeper result code (`ReplyHeader.err`): data on the wire, not a Swift error. ZooKeeper's
/// `KeeperException.Code`.
///
/// An open struct so unknown codes still round-trip.
public struct KeeperErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let ok = KeeperErrorCode(rawValue: 0)
    public static let systemError = KeeperErrorCode(rawValue: -1)
    /// In a failed multi: an operation that was not applied because an earlier one failed.
    public static let runtimeInconsistency = KeeperErrorCode(rawValue: -2)
    public static let dataInconsistency = KeeperErrorCode(rawValue: -3)
    public static let connectionLoss = KeeperErrorCode(rawValue: -4)
    /// The request body could not be decoded.
    public static let marshallingError = KeeperErrorCode(rawValue: -5)
    public static let unimplemented = KeeperErrorCode(rawValue: -6)
    public static let operationTimeout = KeeperErrorCode(rawValue: -7)
    /// An invalid path or argument.
    public static let badArguments = KeeperErrorCode(rawValue: -8)
    public static let unknownSession = KeeperErrorCode(rawValue: -12)
    public static let newConfigNoQuorum = KeeperErrorCode(rawValue: -13)
    public static let reconfigInProgress = KeeperErrorCode(rawValue: -14)
    public static let apiError = KeeperErrorCode(rawValue: -100)
    public static let noNode = KeeperErrorCode(rawValue: -101)
    public static let noAuth = KeeperErrorCode(rawValue: -102)
    public static let badVersion = KeeperErrorCode(rawValue: -103)
    public static let noChildrenForEphemerals = KeeperErrorCode(rawValue: -108)
    public static let nodeExists = KeeperErrorCode(rawValue: -110)
    public static let notEmpty = KeeperErrorCode(rawValue: -111)
    public static let sessionExpired = KeeperErrorCode(rawValue: -112)
    public static let invalidCallback = KeeperErrorCode(rawValue: -113)
    public static let invalidACL = KeeperErrorCode(rawValue: -114)
    public static let authFailed = KeeperErrorCode(rawValue: -115)
    public static let sessionMoved = KeeperErrorCode(rawValue: -118)
    public static let notReadOnly = KeeperErrorCode(rawValue: -119)
    public static let ephemeralOnLocalSession = KeeperErrorCode(rawValue: -120)
    public static let noWatcher = KeeperErrorCode(rawValue: -121)
    public static let requestTimeout = KeeperErrorCode(rawValue: -122)
    public static let reconfigDisabled = KeeperErrorCode(rawValue: -123)
    public static let sessionClosedRequireSaslAuth = KeeperErrorCode(rawValue: -124)
    public static let quotaExceeded = KeeperErrorCode(rawValue: -125)
    public static let throttled = KeeperErrorCode(rawValue: -127)

    private static let names: [Int32: String] = [
        0: "OK", -1: "SystemError", -2: "RuntimeInconsistency", -3: "DataInconsistency", -4: "ConnectionLoss",
        -5: "MarshallingError", -6: "Unimplemented", -7: "OperationTimeout", -8: "BadArguments",
        -12: "UnknownSession", -13: "NewConfigNoQuorum", -14: "ReconfigInProgress", -100: "APIError",
        -101: "NoNode", -102: "NoAuth", -103: "BadVersion", -108: "NoChildrenForEphemerals", -110: "NodeExists",
        -111: "NotEmpty", -112: "SessionExpired", -113: "InvalidCallback", -114: "InvalidACL", -115: "AuthFailed",
        -118: "SessionMoved", -119: "NotReadOnly", -120: "EphemeralOnLocalSession", -121: "NoWatcher",
        -122: "RequestTimeout", -123: "ReconfigDisabled", -124: "SessionClosedRequireSaslAuth",
        -125: "QuotaExceeded", -127: "Throttled",
    ]

    public var description: String { Self.names[rawValue] ?? "error \(rawValue)" }
}

/// A ``KeeperErrorCode`` as a thrown error, for the pure core (``DataTree`` and the request stages) where an
/// operation's outcome is either a value or a wire error code.
public struct KeeperError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: KeeperErrorCode

    public init(_ code: KeeperErrorCode) {
        precondition(code != .ok, "an error must not carry OK")
        self.code = code
    }

    public var description: String { code.description }
}
