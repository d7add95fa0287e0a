import ZooKeeperProtocol

/// How the coordinator authenticates clients and enforces ACLs: Apache ZooKeeper's authentication providers and the
/// system properties that configure them, as plain values (``ZooKeeperServerConfig`` fills them in from zoo.cfg).
///
/// Schemes, as in ZooKeeper 3.8:
/// - `world` — only `world:anyone`, which matches everybody.
/// - `ip` — always on; every connection carries `ip:<client address>`; an ACL id is an IPv4 address with an optional
///   `/bits` prefix length (ZooKeeper's `IPAuthenticationProvider` does not match IPv6).
/// - `digest` — on unless `zookeeper.DigestAuthenticationProvider.enabled=false`; `addauth digest user:password` gives
///   the id `user:base64(sha1("user:password"))`.
/// - `sasl` — ACL ids are usernames; valid in ACLs only with `authProvider.N=…SASLAuthenticationProvider`; sessions get
///   `sasl:<user>` after a DIGEST-MD5 exchange against the JAAS `Server` section's `user_<name>="<password>"` entries.
/// - `x509` — the subject DN of a client certificate on the secure client port.
/// - `auth` — only in ACLs being set: stands for every authenticated id of the requester.
/// - `super` — not a scheme clients use: the super user (``superDigest``, ``superUsers``, ``x509SuperUser``) passes
///   every check.
public struct SecurityPolicy: Sendable, Equatable {
    /// `zookeeper.skipACL=yes`: no permission checks at all.
    public var skipACL = false
    /// `zookeeper.DigestAuthenticationProvider.enabled` (default true).
    public var digestEnabled = true
    /// `zookeeper.DigestAuthenticationProvider.superDigest`: `super:<base64 sha1>`; a session whose digest credentials
    /// hash to it is the super user.
    public var superDigest: String?
    /// `authProvider.N=org.apache.zookeeper.server.auth.SASLAuthenticationProvider`: `sasl` ids are valid in ACLs.
    public var saslProviderEnabled = false
    /// `authProvider.N=org.apache.zookeeper.server.auth.X509AuthenticationProvider` (or a secure client port): `x509`
    /// ids are valid in ACLs.
    public var x509ProviderEnabled = false
    /// DIGEST-MD5 users (name → password) from the JAAS `Server` section; nil when no JAAS file is configured, and
    /// then SASL requests fail.
    public var saslUsers: [String: String]?
    /// `zookeeper.SASLAuthenticationProvider.superPassword`: the password of the SASL user `super`.
    public var saslSuperPassword: String?
    /// `zookeeper.superUser` (and `zookeeper.superUser.*`): SASL users that are super users.
    public var superUsers: Set<String> = []
    /// `zookeeper.X509AuthenticationProvider.superUser`: the certificate subject DN of the super user.
    public var x509SuperUser: String?
    /// `zookeeper.letAnySaslUserDoX`: an ACL entry `sasl:<this>` matches every SASL user.
    public var letAnySaslUserDoX: String?
    /// `zookeeper.enforce.auth.schemes` with `zookeeper.enforce.auth.enabled=true` (or `sasl` with
    /// `zookeeper.sessionRequireClientSASLAuth=true`): a session must hold an id of one of these schemes before any
    /// request other than auth and sasl; otherwise it is answered SessionClosedRequireSaslAuth and the connection
    /// closed. Empty: not enforced.
    public var enforcedSchemes: [String] = []

    /// The realm (and digest-uri host) ZooKeeper uses for DIGEST-MD5 (`SecurityUtils`), which clients know too.
    public static let saslRealm = "zk-sasl-md5"
    /// The SASL service name (`zookeeper.sasl.client.username`'s default).
    public static let saslService = "zookeeper"

    public init() {}

    /// Whether DIGEST-MD5 negotiation is available (a JAAS `Server` section was configured).
    public var saslConfigured: Bool { saslUsers != nil }

    /// The authentication provider of `scheme`, if that scheme is enabled (ZooKeeper's `ProviderRegistry`).
    package func provider(_ scheme: String) -> AuthScheme? {
        switch scheme {
        case "ip": return .ip
        case "digest": return digestEnabled ? .digest : nil
        case "sasl": return saslProviderEnabled ? .sasl : nil
        case "x509": return x509ProviderEnabled ? .x509 : nil
        default: return nil
        }
    }

    /// Whether an authenticated id of the provider `scheme` matches the ACL id `expression` (`AuthenticationProvider
    /// .matches`).
    package func matches(scheme: AuthScheme, id: String, expression: String) -> Bool {
        switch scheme {
        case .ip: return IPv4Pattern.matches(address: id, pattern: expression)
        case .digest: return id == expression
        case .sasl: return id == "super" || id == expression || (letAnySaslUserDoX.map { expression == $0 } ?? false)
        case .x509: return id == expression || (x509SuperUser.map { id == $0 } ?? false)
        }
    }
}

/// The authentication providers ZooKeeper registers (besides `world`, which is handled inline).
package enum AuthScheme: Sendable {
    case ip, digest, sasl, x509

    /// `AuthenticationProvider.isAuthenticated`: whether ids of this scheme stand for a verified identity (and so take
    /// part in the `auth` expansion). An address proves nothing.
    package var isAuthenticated: Bool { self != .ip }

    /// `AuthenticationProvider.isValid`: whether `id` is a well-formed ACL id of this scheme.
    package func isValid(_ id: String) -> Bool {
        switch self {
        case .ip: return IPv4Pattern(id) != nil
        case .digest:
            // Java's id.split(":").length == 2: trailing empty parts are dropped.
            var parts = id.split(separator: ":", omittingEmptySubsequences: false)
            while parts.last?.isEmpty == true { parts.removeLast() }
            return parts.count == 2
        case .sasl:
            // Kerberos principal syntax: anything without '@', or name[/host]@REALM.
            guard id.contains("@") else { return true }
            let atParts = id.split(separator: "@", omittingEmptySubsequences: false)
            guard atParts.count == 2, !atParts[1].contains("/") else { return false }
            return atParts[0].split(separator: "/", omittingEmptySubsequences: false).count <= 2
        case .x509:
            // An X.500 distinguished name: comma-separated type=value pairs (or empty).
            return id.isEmpty || id.split(separator: ",").allSatisfy { $0.contains("=") }
        }
    }
}

/// An IPv4 address with an optional prefix length, as ZooKeeper's `IPAuthenticationProvider` reads ACL ids.
package struct IPv4Pattern: Equatable {
    package var address: UInt32
    package var bits: Int

    package init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.parse(String(parts[0])) else { return nil }
        self.address = address
        if parts.count == 2 {
            guard let bits = Int(parts[1]), (0...32).contains(bits) else { return nil }
            self.bits = bits
        } else {
            bits = 32
        }
    }

    package static func parse(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard let byte = Int(octet), (0...255).contains(byte) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    package static func matches(address: String, pattern: String) -> Bool {
        guard let pattern = IPv4Pattern(pattern), let remote = parse(address) else { return false }
        let mask: UInt32 = pattern.bits == 0 ? 0 : ~UInt32(0) << UInt32(32 - pattern.bits)
        return remote & mask == pattern.address & mask
    }
}

/// Who is asking: the ids a connection holds (its address, credentials added by auth packets, a SASL user, a
/// certificate subject) under a ``SecurityPolicy``. Decides permission checks (ZooKeeper's `checkACL`) and turns the
/// ACLs of create and setACL into what is stored (`fixupACL`).
public struct AccessContext: Sendable, Equatable {
    public var ids: [ZooKeeperID]
    public var policy: SecurityPolicy

    public init(ids: [ZooKeeperID], policy: SecurityPolicy) {
        self.ids = ids
        self.policy = policy
    }

    /// No ids, default policy: only `world:anyone` entries grant anything.
    public static let anonymous = AccessContext(ids: [], policy: SecurityPolicy())

    public var isSuper: Bool { ids.contains { $0.scheme == "super" } }

    /// Whether `acl` grants any of `perms` to this requester. An empty ACL grants everything, as in ZooKeeper.
    public func permits(_ acl: [ACL], _ perms: Permissions) -> Bool {
        if policy.skipACL || acl.isEmpty || isSuper { return true }
        for entry in acl where !entry.perms.isDisjoint(with: perms) {
            if entry.id == .anyone { return true }
            guard let scheme = policy.provider(entry.id.scheme) else { continue }
            for id in ids where id.scheme == entry.id.scheme {
                if policy.matches(scheme: scheme, id: id.id, expression: entry.id.id) { return true }
            }
        }
        return false
    }

    package func check(_ acl: [ACL], _ perms: Permissions) throws(KeeperError) {
        guard permits(acl, perms) else { throw KeeperError(.noAuth) }
    }

    /// ZooKeeper's `fixupACL`: duplicates dropped; empty → InvalidACL; `world` only as `world:anyone`; `auth` replaced
    /// by the requester's authenticated ids (InvalidACL if it has none); other schemes must be enabled and the id well
    /// formed for them.
    public func fixup(_ acl: [ACL]) throws(KeeperError) -> [ACL] {
        var unique: [ACL] = []
        for entry in acl where !unique.contains(entry) { unique.append(entry) }
        guard !unique.isEmpty else { throw KeeperError(.invalidACL) }
        var result: [ACL] = []
        for entry in unique {
            if entry.id == .anyone {
                result.append(entry)
            } else if entry.id.scheme == "auth" {
                let authenticated = ids.filter { policy.provider($0.scheme)?.isAuthenticated == true }
                guard !authenticated.isEmpty else { throw KeeperError(.invalidACL) }
                result += authenticated.map { ACL(perms: entry.perms, id: $0) }
            } else {
                guard let scheme = policy.provider(entry.id.scheme), scheme.isValid(entry.id.id) else {
                    throw KeeperError(.invalidACL)
                }
                result.append(entry)
            }
        }
        return result
    }

    /// The ACL as getACL shows it: digest ids are masked (`user:x`) unless the requester has ADMIN on the node.
    package func visible(_ acl: [ACL]) -> [ACL] {
        guard !permits(acl, .admin) else { return acl }
        return acl.map { entry in
            guard entry.id.scheme == "digest", let colon = entry.id.id.firstIndex(of: ":") else { return entry }
            return ACL(perms: entry.perms, id: ZooKeeperID(scheme: "digest", id: entry.id.id[..<colon] + ":x"))
        }
    }
}
