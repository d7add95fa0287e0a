import KafkaProtocol
import KafkaSecurity
import NIOCore

/// A user's SCRAM credentials as the broker describes them (never the credential itself).
public struct ScramUserDescription: Sendable, Equatable {
    public var user: String
    public var credentials: [(mechanism: ScramMechanism, iterations: Int)]

    public static func == (lhs: ScramUserDescription, rhs: ScramUserDescription) -> Bool {
        lhs.user == rhs.user && lhs.credentials.map(\.mechanism) == rhs.credentials.map(\.mechanism)
            && lhs.credentials.map(\.iterations) == rhs.credentials.map(\.iterations)
    }
}

/// Kafka's security administration (kafka-acls.sh, kafka-configs.sh --alter --add-config SCRAM-…) over any cluster:
/// SCRAM users through AlterUserScramCredentials / DescribeUserScramCredentials (KIP-554), ACLs through CreateAcls,
/// DescribeAcls and DeleteAcls.
extension KafkaClient {
    /// Stores a SCRAM credential for `user`. Only a random salt and the salted password (PBKDF2) go over the wire.
    public func upsertScramUser(_ user: String, password: String, mechanism: ScramMechanism, iterations: Int = 8192) async throws {
        let salt = secureRandomBytes(32)
        let salted = mechanism.saltedPassword(password, salt: salt, iterations: iterations)
        let request = AlterUserScramCredentialsRequest(upsertions: [.init(
            name: user, mechanism: mechanism.rawValue, iterations: Int32(iterations), salt: ByteBuffer(bytes: salt),
            saltedPassword: ByteBuffer(bytes: salted))])
        try await alterScram(request)
    }

    /// Deletes `user`'s credential for `mechanism`.
    public func deleteScramUser(_ user: String, mechanism: ScramMechanism) async throws {
        try await alterScram(AlterUserScramCredentialsRequest(deletions: [.init(name: user, mechanism: mechanism.rawValue)]))
    }

    private func alterScram(_ request: AlterUserScramCredentialsRequest) async throws {
        let connection = try await controllerConnection()
        let response = try await connection.send(request)
        for result in response.results where result.errorCode != 0 {
            throw Self.securityError(ErrorCode(rawValue: result.errorCode), result.errorMessage, what: "changing SCRAM credentials of \(result.user)")
        }
    }

    /// Every SCRAM user, or the ones named (an unknown one is an error).
    public func describeScramUsers(_ users: [String]? = nil) async throws -> [ScramUserDescription] {
        let connection = try await controllerConnection()
        let response = try await connection.send(DescribeUserScramCredentialsRequest(users: users?.map { .init(name: $0) }))
        if response.errorCode != 0 {
            throw Self.securityError(ErrorCode(rawValue: response.errorCode), response.errorMessage, what: "describing SCRAM users")
        }
        return try response.results.map { result in
            if result.errorCode != 0 {
                throw Self.securityError(ErrorCode(rawValue: result.errorCode), result.errorMessage, what: "describing \(result.user)")
            }
            return ScramUserDescription(user: result.user, credentials: result.credentialInfos.compactMap { info in
                ScramMechanism(rawValue: info.mechanism).map { ($0, Int(info.iterations)) }
            })
        }
    }

    public func createAcls(_ bindings: [AclBinding]) async throws {
        let connection = try await controllerConnection()
        let response = try await connection.send(CreateAclsRequest(creations: bindings.map {
            .init(resourceType: $0.resourceType.rawValue, resourceName: $0.resourceName, resourcePatternType: $0.patternType.rawValue,
                  principal: $0.principal, host: $0.host, operation: $0.operation.rawValue, permissionType: $0.permission.rawValue)
        }))
        for (binding, result) in zip(bindings, response.results) where result.errorCode != 0 {
            throw Self.securityError(ErrorCode(rawValue: result.errorCode), result.errorMessage, what: "creating \(binding)")
        }
    }

    public func describeAcls(_ filter: AclBindingFilter) async throws -> [AclBinding] {
        let connection = try await controllerConnection()
        let response = try await connection.send(DescribeAclsRequest(
            resourceTypeFilter: filter.resourceType.rawValue, resourceNameFilter: filter.resourceName,
            patternTypeFilter: filter.patternType.rawValue, principalFilter: filter.principal, hostFilter: filter.host,
            operation: filter.operation.rawValue, permissionType: filter.permission.rawValue))
        if response.errorCode != 0 {
            throw Self.securityError(ErrorCode(rawValue: response.errorCode), response.errorMessage, what: "describing ACLs")
        }
        return response.resources.flatMap { resource in
            resource.acls.compactMap { acl -> AclBinding? in
                guard let type = ResourceType(rawValue: resource.resourceType), let pattern = PatternType(rawValue: resource.patternType),
                      let operation = AclOperation(rawValue: acl.operation), let permission = AclPermission(rawValue: acl.permissionType)
                else { return nil }
                return AclBinding(resourceType: type, resourceName: resource.resourceName, patternType: pattern, principal: acl.principal,
                                  host: acl.host, operation: operation, permission: permission)
            }
        }
    }

    /// Deletes every binding the filter matches; returns them.
    public func deleteAcls(_ filter: AclBindingFilter) async throws -> [AclBinding] {
        let connection = try await controllerConnection()
        let response = try await connection.send(DeleteAclsRequest(filters: [.init(
            resourceTypeFilter: filter.resourceType.rawValue, resourceNameFilter: filter.resourceName,
            patternTypeFilter: filter.patternType.rawValue, principalFilter: filter.principal, hostFilter: filter.host,
            operation: filter.operation.rawValue, permissionType: filter.permission.rawValue)]))
        var removed: [AclBinding] = []
        for result in response.filterResults {
            if result.errorCode != 0 {
                throw Self.securityError(ErrorCode(rawValue: result.errorCode), result.errorMessage, what: "deleting ACLs")
            }
            for acl in result.matchingAcls {
                guard let type = ResourceType(rawValue: acl.resourceType), let pattern = PatternType(rawValue: acl.patternType),
                      let operation = AclOperation(rawValue: acl.operation), let permission = AclPermission(rawValue: acl.permissionType)
                else { continue }
                removed.append(AclBinding(resourceType: type, resourceName: acl.resourceName, patternType: pattern, principal: acl.principal,
                                          host: acl.host, operation: operation, permission: permission))
            }
        }
        return removed
    }

    /// Authorization refusals and a disabled authorizer become errors that say so.
    static func securityError(_ code: ErrorCode, _ message: String?, what: String) -> KafkaClientError {
        switch code {
        case .clusterAuthorizationFailed, .topicAuthorizationFailed, .groupAuthorizationFailed, .transactionalIdAuthorizationFailed:
            return .notAuthorized("\(what): \(message ?? "\(code)")")
        case .securityDisabled:
            return .broker(code, message: "\(what): the broker has no authorizer (set authorizer.class.name to enable ACLs)")
        default:
            return .broker(code, message: "\(what)\(message.map { ": \($0)" } ?? "")")
        }
    }
}
