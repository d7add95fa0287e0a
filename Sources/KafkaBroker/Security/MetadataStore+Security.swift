import KafkaSecurity
import SQLiteStore

/// SCRAM credentials and ACL bindings in `metadata.db` (migration 003).
extension MetadataStore {
    func loadScramCredentials() throws -> [String: [ScramMechanism: ScramCredential]] {
        try withDatabase { db in
            var result: [String: [ScramMechanism: ScramCredential]] = [:]
            let select = try db.prepare("SELECT user_name, mechanism, salt, stored_key, server_key, iterations FROM scram_credentials")
            while try select.step() {
                guard let user = select.string(0), let mechanism = ScramMechanism(rawValue: Int8(truncatingIfNeeded: select.int64(1)))
                else { continue }
                result[user, default: [:]][mechanism] = ScramCredential(
                    mechanism: mechanism, salt: select.blob(2) ?? [], storedKey: select.blob(3) ?? [],
                    serverKey: select.blob(4) ?? [], iterations: Int(select.int64(5)))
            }
            return result
        }
    }

    /// Applies one AlterUserScramCredentials request's accepted changes in one SQLite transaction.
    func alterScramCredentials(deletions: [(user: String, mechanism: ScramMechanism)],
                               upsertions: [(user: String, credential: ScramCredential)]) throws {
        try withDatabase { db in
            try db.transaction {
                let delete = try db.prepare("DELETE FROM scram_credentials WHERE user_name = ? AND mechanism = ?")
                for (user, mechanism) in deletions {
                    try delete.bind(1, user)
                    try delete.bind(2, Int64(mechanism.rawValue))
                    try delete.run()
                }
                let upsert = try db.prepare("""
                    INSERT OR REPLACE INTO scram_credentials (user_name, mechanism, salt, stored_key, server_key, iterations)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """)
                for (user, credential) in upsertions {
                    try upsert.bind(1, user)
                    try upsert.bind(2, Int64(credential.mechanism.rawValue))
                    try upsert.bind(3, blob: credential.salt)
                    try upsert.bind(4, blob: credential.storedKey)
                    try upsert.bind(5, blob: credential.serverKey)
                    try upsert.bind(6, Int64(credential.iterations))
                    try upsert.run()
                }
            }
        }
    }

    func loadAcls() throws -> [AclBinding] {
        try withDatabase { db in
            var result: [AclBinding] = []
            let select = try db.prepare(
                "SELECT resource_type, resource_name, pattern_type, principal, host, operation, permission FROM acls")
            while try select.step() {
                guard let type = ResourceType(rawValue: Int8(truncatingIfNeeded: select.int64(0))),
                      let name = select.string(1),
                      let pattern = PatternType(rawValue: Int8(truncatingIfNeeded: select.int64(2))),
                      let principal = select.string(3), let host = select.string(4),
                      let operation = AclOperation(rawValue: Int8(truncatingIfNeeded: select.int64(5))),
                      let permission = AclPermission(rawValue: Int8(truncatingIfNeeded: select.int64(6)))
                else { continue }
                result.append(AclBinding(resourceType: type, resourceName: name, patternType: pattern, principal: principal,
                                         host: host, operation: operation, permission: permission))
            }
            return result
        }
    }

    /// Adds and removes bindings in one SQLite transaction.
    func changeAcls(adding: [AclBinding], removing: [AclBinding]) throws {
        try withDatabase { db in
            try db.transaction {
                let delete = try db.prepare("""
                    DELETE FROM acls WHERE resource_type = ? AND resource_name = ? AND pattern_type = ? AND principal = ?
                    AND host = ? AND operation = ? AND permission = ?
                    """)
                for binding in removing {
                    try bind(delete, binding)
                    try delete.run()
                }
                let insert = try db.prepare("""
                    INSERT OR IGNORE INTO acls (resource_type, resource_name, pattern_type, principal, host, operation, permission)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
                for binding in adding {
                    try bind(insert, binding)
                    try insert.run()
                }
            }
        }
    }

    private func bind(_ statement: Statement, _ binding: AclBinding) throws {
        try statement.bind(1, Int64(binding.resourceType.rawValue))
        try statement.bind(2, binding.resourceName)
        try statement.bind(3, Int64(binding.patternType.rawValue))
        try statement.bind(4, binding.principal)
        try statement.bind(5, binding.host)
        try statement.bind(6, Int64(binding.operation.rawValue))
        try statement.bind(7, Int64(binding.permission.rawValue))
    }
}
