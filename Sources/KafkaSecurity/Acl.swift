/// Kafka's ACL vocabulary, with the wire codes of CreateAcls / DescribeAcls / DeleteAcls.

public enum ResourceType: Int8, Sendable, CaseIterable, CustomStringConvertible {
    case unknown = 0, any = 1, topic = 2, group = 3, cluster = 4, transactionalId = 5, delegationToken = 6, user = 7

    public var description: String {
        switch self {
        case .unknown: return "Unknown"
        case .any: return "Any"
        case .topic: return "Topic"
        case .group: return "Group"
        case .cluster: return "Cluster"
        case .transactionalId: return "TransactionalId"
        case .delegationToken: return "DelegationToken"
        case .user: return "User"
        }
    }
}

public enum PatternType: Int8, Sendable, CaseIterable, CustomStringConvertible {
    case unknown = 0, any = 1, match = 2, literal = 3, prefixed = 4

    public var description: String {
        switch self {
        case .unknown: return "UNKNOWN"
        case .any: return "ANY"
        case .match: return "MATCH"
        case .literal: return "LITERAL"
        case .prefixed: return "PREFIXED"
        }
    }
}

public enum AclOperation: Int8, Sendable, CaseIterable, CustomStringConvertible {
    case unknown = 0, any = 1, all = 2, read = 3, write = 4, create = 5, delete = 6, alter = 7, describe = 8
    case clusterAction = 9, describeConfigs = 10, alterConfigs = 11, idempotentWrite = 12, createTokens = 13
    case describeTokens = 14

    /// Kafka's names (`Read`, `DescribeConfigs`…), as kafka-acls prints and accepts them.
    public var description: String {
        switch self {
        case .unknown: return "Unknown"
        case .any: return "Any"
        case .all: return "All"
        case .read: return "Read"
        case .write: return "Write"
        case .create: return "Create"
        case .delete: return "Delete"
        case .alter: return "Alter"
        case .describe: return "Describe"
        case .clusterAction: return "ClusterAction"
        case .describeConfigs: return "DescribeConfigs"
        case .alterConfigs: return "AlterConfigs"
        case .idempotentWrite: return "IdempotentWrite"
        case .createTokens: return "CreateTokens"
        case .describeTokens: return "DescribeTokens"
        }
    }

    /// Accepts `Read`, `READ`, `read`, `describe_configs`, `DescribeConfigs`.
    public init?(name: String) {
        let key = name.lowercased().replacing("_", with: "").replacing("-", with: "")
        guard let match = Self.allCases.first(where: { $0.description.lowercased() == key }) else { return nil }
        self = match
    }

    /// The operations an ALLOW of this one also grants (Kafka: READ, WRITE, DELETE and ALTER imply DESCRIBE;
    /// ALTER_CONFIGS implies DESCRIBE_CONFIGS).
    var impliedBy: [AclOperation] {
        switch self {
        case .describe: return [.describe, .read, .write, .delete, .alter]
        case .describeConfigs: return [.describeConfigs, .alterConfigs]
        default: return [self]
        }
    }
}

public enum AclPermission: Int8, Sendable, CaseIterable, CustomStringConvertible {
    case unknown = 0, any = 1, deny = 2, allow = 3

    public var description: String {
        switch self {
        case .unknown: return "Unknown"
        case .any: return "Any"
        case .deny: return "Deny"
        case .allow: return "Allow"
        }
    }
}

/// A resource a request touches: `Topic:payments`, `Group:sink`, `Cluster:kafka-cluster`.
public struct Resource: Sendable, Hashable, CustomStringConvertible {
    public var type: ResourceType
    public var name: String

    public init(_ type: ResourceType, _ name: String) {
        self.type = type
        self.name = name
    }

    public static let cluster = Resource(.cluster, "kafka-cluster")

    public var description: String { "\(type):\(name)" }
}

/// One ACL: who (principal, host) may or may not do what on which resources (a literal name, `*`, or a prefix).
public struct AclBinding: Sendable, Hashable, CustomStringConvertible {
    public var resourceType: ResourceType
    public var resourceName: String
    public var patternType: PatternType
    public var principal: String
    public var host: String
    public var operation: AclOperation
    public var permission: AclPermission

    public init(resourceType: ResourceType, resourceName: String, patternType: PatternType, principal: String, host: String,
                operation: AclOperation, permission: AclPermission) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }

    public static let wildcard = "*"

    /// Why CreateAcls refuses this binding, or nil when it can be stored.
    public var problem: String? {
        switch resourceType {
        case .topic, .group, .cluster, .transactionalId, .delegationToken, .user: break
        default: return "resource type \(resourceType) cannot be used in an ACL"
        }
        guard patternType == .literal || patternType == .prefixed else {
            return "pattern type \(patternType) cannot be used in an ACL (LITERAL or PREFIXED)"
        }
        guard !resourceName.isEmpty else { return "the resource name is empty" }
        if patternType == .prefixed && resourceName == Self.wildcard {
            return "a PREFIXED ACL cannot use the wildcard name '*'"
        }
        if resourceType == .cluster && resourceName != Resource.cluster.name {
            return "the cluster resource is named \(Resource.cluster.name)"
        }
        guard operation != .any && operation != .unknown else { return "operation \(operation) cannot be used in an ACL" }
        guard permission == .allow || permission == .deny else { return "permission \(permission) cannot be used in an ACL" }
        guard KafkaPrincipal(parsing: principal) != nil else { return "principal '\(principal)' is not of the form Type:name" }
        guard !host.isEmpty else { return "the host is empty (use * for any host)" }
        return nil
    }

    /// Whether this binding's pattern covers `resource`.
    func covers(_ resource: Resource) -> Bool {
        guard resourceType == resource.type else { return false }
        switch patternType {
        case .literal: return resourceName == Self.wildcard || resourceName == resource.name
        case .prefixed: return resource.name.hasPrefix(resourceName)
        default: return false
        }
    }

    public var description: String {
        "(principal=\(principal), host=\(host), operation=\(operation), permission=\(permission)) on " +
            "\(resourceType):\(patternType):\(resourceName)"
    }
}

/// DescribeAcls and DeleteAcls select bindings with a filter; nil fields and ANY match everything.
public struct AclBindingFilter: Sendable, Hashable {
    public var resourceType: ResourceType
    public var resourceName: String?
    public var patternType: PatternType
    public var principal: String?
    public var host: String?
    public var operation: AclOperation
    public var permission: AclPermission

    public init(resourceType: ResourceType = .any, resourceName: String? = nil, patternType: PatternType = .any,
                principal: String? = nil, host: String? = nil, operation: AclOperation = .any, permission: AclPermission = .any) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }

    public static let all = AclBindingFilter()

    /// Kafka's ResourcePatternFilter + AccessControlEntryFilter matching. MATCH selects every binding that would
    /// apply to the named resource: the literal name, the literal wildcard, and every prefix of it.
    public func matches(_ binding: AclBinding) -> Bool {
        if resourceType != .any && resourceType != binding.resourceType { return false }
        switch patternType {
        case .any:
            if let resourceName, resourceName != binding.resourceName { return false }
        case .match:
            if let resourceName {
                let resource = Resource(binding.resourceType, resourceName)
                if !binding.covers(resource) { return false }
            }
        case .literal, .prefixed:
            if patternType != binding.patternType { return false }
            if let resourceName, resourceName != binding.resourceName { return false }
        case .unknown:
            return false
        }
        if let principal, principal != binding.principal { return false }
        if let host, host != binding.host { return false }
        if operation != .any && operation != binding.operation { return false }
        if permission != .any && permission != binding.permission { return false }
        return true
    }

    /// Why the filter cannot select anything meaningful (Kafka refuses UNKNOWN values), or nil.
    public var problem: String? {
        if resourceType == .unknown { return "resource type UNKNOWN cannot be used in a filter" }
        if patternType == .unknown { return "pattern type UNKNOWN cannot be used in a filter" }
        if operation == .unknown { return "operation UNKNOWN cannot be used in a filter" }
        if permission == .unknown { return "permission UNKNOWN cannot be used in a filter" }
        return nil
    }
}
