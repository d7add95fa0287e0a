import FoundationEssentials

/// Standard base64 with padding (RFC 4648 §4), as Java's and ZooKeeper's digest ids use it.
package enum Base64 {
    package static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}

/// ZooKeeper's digest scheme (`DigestAuthenticationProvider`): the credentials `user:password` become the id
/// `user:base64(sha1("user:password"))`, which is what digest ACL entries name.
public enum ZooKeeperDigest {
    /// The digest id of `credentials` ("user:password"; without a colon the whole string is the user).
    public static func id(forCredentials credentials: String) -> String {
        let user = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return user + ":" + Base64.encode(Hashes.sha1(Array(credentials.utf8)))
    }

    /// The digest id of a user and password (kazoo's `make_digest_acl_credential`).
    public static func id(user: String, password: String) -> String {
        id(forCredentials: "\(user):\(password)")
    }
}
