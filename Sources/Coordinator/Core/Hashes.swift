import Crypto

/// The hashes ZooKeeper's authentication needs: SHA-1 for digest ids, MD5 for SASL DIGEST-MD5 (both fixed by the
/// protocols, not chosen for strength).
package enum Hashes {
    package static func sha1(_ bytes: [UInt8]) -> [UInt8] { Array(Insecure.SHA1.hash(data: bytes)) }
    package static func md5(_ bytes: [UInt8]) -> [UInt8] { Array(Insecure.MD5.hash(data: bytes)) }
}
