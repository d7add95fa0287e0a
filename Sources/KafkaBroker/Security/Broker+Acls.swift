import KafkaProtocol
import KafkaSecurity

// DescribeAcls (29), CreateAcls (30), DeleteAcls (31), v0-3. Without an authorizer they answer SECURITY_DISABLED, as
// Kafka does; with one, DescribeAcls needs DESCRIBE on the cluster and the others ALTER. Changes are written to
// metadata.db before they apply.
extension Broker {
    static let noAuthorizerMessage = "No Authorizer is configured on the broker"

    func handleDescribeAcls(_ request: DescribeAclsRequest, _ context: RequestContext) -> RequestOutcome {
        func failure(_ code: ErrorCode, _ message: String) -> RequestOutcome {
            context.respond(DescribeAclsResponse(throttleTimeMs: 0, errorCode: code.rawValue, errorMessage: message, resources: []))
        }
        guard security.authorizerEnabled else { return failure(.securityDisabled, Self.noAuthorizerMessage) }
        guard context.authorize(.describe, .cluster) else {
            return failure(.clusterAuthorizationFailed, "Request is not authorized: \(context.principal) may not Describe the cluster")
        }
        let filter = Self.aclFilter(type: request.resourceTypeFilter, name: request.resourceNameFilter, pattern: request.patternTypeFilter,
                                    principal: request.principalFilter, host: request.hostFilter, operation: request.operation,
                                    permission: request.permissionType)
        guard let filter else { return failure(.invalidRequest, "the filter has an unknown resource type, pattern, operation or permission") }
        var grouped: [String: DescribeAclsResponse.DescribeAclsResource] = [:]
        var order: [String] = []
        for binding in security.acls(matching: filter) {
            let key = "\(binding.resourceType.rawValue)|\(binding.patternType.rawValue)|\(binding.resourceName)"
            if grouped[key] == nil {
                order.append(key)
                grouped[key] = .init(resourceType: binding.resourceType.rawValue, resourceName: binding.resourceName,
                                     patternType: binding.patternType.rawValue, acls: [])
            }
            grouped[key]!.acls.append(.init(principal: binding.principal, host: binding.host, operation: binding.operation.rawValue,
                                            permissionType: binding.permission.rawValue))
        }
        return context.respond(DescribeAclsResponse(throttleTimeMs: 0, errorCode: 0, errorMessage: nil,
                                                    resources: order.map { grouped[$0]! }))
    }

    func handleCreateAcls(_ request: CreateAclsRequest, _ context: RequestContext) -> RequestOutcome {
        func all(_ code: ErrorCode, _ message: String) -> RequestOutcome {
            context.respond(CreateAclsResponse(throttleTimeMs: 0, results: request.creations.map { _ in
                .init(errorCode: code.rawValue, errorMessage: message)
            }))
        }
        guard security.authorizerEnabled else { return all(.securityDisabled, "No Authorizer is configured.") }
        guard context.authorize(.alter, .cluster) else {
            return all(.clusterAuthorizationFailed, "Request is not authorized: \(context.principal) may not Alter the cluster")
        }
        var results: [CreateAclsResponse.AclCreationResult] = []
        var valid: [AclBinding] = []
        for creation in request.creations {
            guard let type = ResourceType(rawValue: creation.resourceType),
                  let pattern = PatternType(rawValue: creation.resourcePatternType),
                  let operation = AclOperation(rawValue: creation.operation),
                  let permission = AclPermission(rawValue: creation.permissionType)
            else {
                results.append(.init(errorCode: ErrorCode.invalidRequest.rawValue, errorMessage: "unknown resource type, pattern, operation or permission code"))
                continue
            }
            let binding = AclBinding(resourceType: type, resourceName: creation.resourceName, patternType: pattern,
                                     principal: creation.principal, host: creation.host, operation: operation, permission: permission)
            if let problem = binding.problem {
                results.append(.init(errorCode: ErrorCode.invalidRequest.rawValue, errorMessage: problem))
            } else {
                valid.append(binding)
                results.append(.init(errorCode: 0, errorMessage: nil))
            }
        }
        do {
            try security.createAcls(valid)
        } catch {
            logger.error("cannot store ACLs", metadata: ["error": "\(error)"])
            return all(.unknownServerError, "the broker could not store the ACLs: \(error)")
        }
        if !valid.isEmpty {
            logger.info("ACLs created", metadata: ["by": "\(context.principal)", "acls": "\(valid.map(\.description).joined(separator: "; "))"])
        }
        return context.respond(CreateAclsResponse(throttleTimeMs: 0, results: results))
    }

    func handleDeleteAcls(_ request: DeleteAclsRequest, _ context: RequestContext) -> RequestOutcome {
        func all(_ code: ErrorCode, _ message: String) -> RequestOutcome {
            context.respond(DeleteAclsResponse(throttleTimeMs: 0, filterResults: request.filters.map { _ in
                .init(errorCode: code.rawValue, errorMessage: message, matchingAcls: [])
            }))
        }
        guard security.authorizerEnabled else { return all(.securityDisabled, "No Authorizer is configured.") }
        guard context.authorize(.alter, .cluster) else {
            return all(.clusterAuthorizationFailed, "Request is not authorized: \(context.principal) may not Alter the cluster")
        }
        let filters = request.filters.map { filter in
            Self.aclFilter(type: filter.resourceTypeFilter, name: filter.resourceNameFilter, pattern: filter.patternTypeFilter,
                           principal: filter.principalFilter, host: filter.hostFilter, operation: filter.operation,
                           permission: filter.permissionType)
        }
        let removed: [[AclBinding]]
        do {
            removed = try security.deleteAcls(filters.compactMap { $0 })
        } catch {
            logger.error("cannot delete ACLs", metadata: ["error": "\(error)"])
            return all(.unknownServerError, "the broker could not store the ACL change: \(error)")
        }
        var next = removed.makeIterator()
        let results = filters.map { filter -> DeleteAclsResponse.DeleteAclsFilterResult in
            guard filter != nil else {
                return .init(errorCode: ErrorCode.invalidRequest.rawValue,
                             errorMessage: "the filter has an unknown resource type, pattern, operation or permission", matchingAcls: [])
            }
            let matches = next.next() ?? []
            return .init(errorCode: 0, errorMessage: nil, matchingAcls: matches.map { binding in
                .init(errorCode: 0, errorMessage: nil, resourceType: binding.resourceType.rawValue, resourceName: binding.resourceName,
                      patternType: binding.patternType.rawValue, principal: binding.principal, host: binding.host,
                      operation: binding.operation.rawValue, permissionType: binding.permission.rawValue)
            })
        }
        let count = removed.reduce(0) { $0 + $1.count }
        if count > 0 { logger.info("ACLs deleted", metadata: ["by": "\(context.principal)", "count": "\(count)"]) }
        return context.respond(DeleteAclsResponse(throttleTimeMs: 0, filterResults: results))
    }

    /// A wire filter as a typed one; nil when a code is unknown (or UNKNOWN).
    static func aclFilter(type: Int8, name: String?, pattern: Int8, principal: String?, host: String?, operation: Int8,
                          permission: Int8) -> AclBindingFilter? {
        guard let type = ResourceType(rawValue: type), let pattern = PatternType(rawValue: pattern),
              let operation = AclOperation(rawValue: operation), let permission = AclPermission(rawValue: permission)
        else { return nil }
        let filter = AclBindingFilter(resourceType: type, resourceName: name, patternType: pattern, principal: principal, host: host,
                                      operation: operation, permission: permission)
        return filter.problem == nil ? filter : nil
    }
}

extension RequestContext {
    /// Whether this connection's principal may perform `operation` on `resource` (always, without an authorizer).
    func authorize(_ operation: AclOperation, _ resource: Resource) -> Bool {
        // Without an authorizer this is every request's hot path: answer before taking the session's lock.
        guard security.authorizerEnabled else { return true }
        return security.authorize(session.principal, host: session.clientHost, operation, resource)
    }

    func authorize(_ operation: AclOperation, topic: String) -> Bool { authorize(operation, Resource(.topic, topic)) }
    func authorize(_ operation: AclOperation, group: String) -> Bool { authorize(operation, Resource(.group, group)) }
    func authorize(_ operation: AclOperation, transactionalId: String) -> Bool {
        authorize(operation, Resource(.transactionalId, transactionalId))
    }
}
