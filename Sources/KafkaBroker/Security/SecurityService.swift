import KafkaProtocol
import KafkaSecurity
import Logging
import Synchronization

/// The broker's security state shared by every connection: SCRAM credentials and the ACL authorizer, both cached in
/// memory and written to `metadata.db` before a change takes effect.
final class SecurityService: Sendable {
    private let store: MetadataStore
    private let logger: Logger
    let authorizerEnabled: Bool
    private let credentials: Mutex<[String: [ScramMechanism: ScramCredential]]>
    private let authorizer: Mutex<Authorizer>
    private let failureLog = Mutex<(second: Int64, logged: Int, suppressed: Int)>((0, 0, 0))

    init(config: BrokerConfig, store: MetadataStore, logger: Logger) throws {
        self.store = store
        self.logger = logger
        authorizerEnabled = config.authorizerEnabled
        credentials = Mutex(try store.loadScramCredentials())
        authorizer = Mutex(Authorizer(superUsers: config.superUsers, allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound,
                                      bindings: try store.loadAcls()))
    }

    // MARK: SCRAM credentials

    func scramCredential(user: String, mechanism: ScramMechanism) -> ScramCredential? {
        credentials.withLock { $0[user]?[mechanism] }
    }

    /// Every user with a credential, and the credentials by mechanism.
    var scramUsers: [String: [ScramMechanism: ScramCredential]] { credentials.withLock { $0 } }

    func alterScramCredentials(deletions: [(user: String, mechanism: ScramMechanism)],
                               upsertions: [(user: String, credential: ScramCredential)]) throws {
        try credentials.withLock { current in
            try store.alterScramCredentials(deletions: deletions, upsertions: upsertions)
            for (user, mechanism) in deletions {
                current[user]?[mechanism] = nil
                if current[user]?.isEmpty == true { current[user] = nil }
            }
            for (user, credential) in upsertions { current[user, default: [:]][credential.mechanism] = credential }
        }
    }

    // MARK: ACLs

    /// Whether `principal` from `host` may perform `operation` on `resource`; always true without an authorizer.
    func authorize(_ principal: KafkaPrincipal, host: String, _ operation: AclOperation, _ resource: Resource) -> Bool {
        guard authorizerEnabled else { return true }
        return authorizer.withLock { $0.authorize(principal, host: host, operation, resource) }
    }

    /// Kafka's authorizeByResourceType: some ALLOW for the operation on some resource of the type, not denied for
    /// every such resource (used by InitProducerId for idempotent producers without IDEMPOTENT_WRITE).
    func authorizeAny(_ principal: KafkaPrincipal, host: String, _ operation: AclOperation, type: ResourceType) -> Bool {
        guard authorizerEnabled else { return true }
        return authorizer.withLock { $0.authorizeByResourceType(principal, host: host, operation, type) }
    }

    func authorizedOperations(_ principal: KafkaPrincipal, host: String, _ resource: Resource, among operations: [AclOperation]) -> Int32 {
        guard authorizerEnabled else {
            return operations.reduce(Int32(0)) { $0 | (1 << Int32($1.rawValue)) }
        }
        return authorizer.withLock { $0.authorizedOperations(principal, host: host, resource, among: operations) }
    }

    func acls(matching filter: AclBindingFilter) -> [AclBinding] {
        authorizer.withLock { $0.bindings(matching: filter) }
    }

    /// Stores new bindings; returns how many were new.
    func createAcls(_ bindings: [AclBinding]) throws {
        try authorizer.withLock { authorizer in
            let new = bindings.filter { !authorizer.bindings.contains($0) }
            try store.changeAcls(adding: new, removing: [])
            for binding in new { authorizer.add(binding) }
        }
    }

    /// Removes every binding matching any filter; returns the removed bindings per filter.
    func deleteAcls(_ filters: [AclBindingFilter]) throws -> [[AclBinding]] {
        try authorizer.withLock { authorizer in
            let matched = filters.map { authorizer.bindings(matching: $0) }
            let removing = Array(Set(matched.flatMap { $0 }))
            try store.changeAcls(adding: [], removing: removing)
            for filter in filters { _ = authorizer.remove(matching: filter) }
            return matched
        }
    }

    // MARK: Failed authentications

    /// Logs a failed authentication with the client's address: at most 10 lines a second, then one summary of how
    /// many more were refused, so a password-guessing storm cannot flood the log.
    func logFailedAuthentication(client: String, listener: String, mechanism: String, reason: String, nowMs: Int64) {
        let second = nowMs / 1000
        let (log, suppressedBefore) = failureLog.withLock { state -> (Bool, Int) in
            var suppressed = 0
            if state.second != second {
                suppressed = state.suppressed
                state = (second, 0, 0)
            }
            if state.logged < 10 {
                state.logged += 1
                return (true, suppressed)
            }
            state.suppressed += 1
            return (false, suppressed)
        }
        if suppressedBefore > 0 {
            logger.warning("failed authentications not logged individually", metadata: ["count": "\(suppressedBefore)"])
        }
        if log {
            logger.warning("failed authentication", metadata: [
                "client": "\(client)", "listener": "\(listener)", "mechanism": "\(mechanism)", "reason": "\(reason)",
            ])
        }
    }
}
