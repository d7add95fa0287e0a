/// Kafka's ACL authorizer (AclAuthorizer / StandardAuthorizer semantics) as a pure value: bindings in, decisions out.
///
/// A request is allowed when the principal is a super user, or when no DENY binding matches and an ALLOW binding
/// matches. "Matches" means: the binding covers the resource (literal name, literal `*`, or a prefix), names the
/// principal or `User:*`, the client's host or `*`, and the operation or `All`; an ALLOW of READ, WRITE, DELETE or
/// ALTER also grants DESCRIBE, and ALTER_CONFIGS grants DESCRIBE_CONFIGS. A resource that no binding covers at all is
/// open to everyone only with `allow.everyone.if.no.acl.found=true`.
public struct Authorizer: Sendable {
    public var superUsers: Set<String>
    public var allowEveryoneIfNoAclFound: Bool
    public private(set) var bindings: [AclBinding] = []
    /// Literal bindings by resource (wildcards under the name `*`), and prefixed ones by type.
    private var literal: [Resource: [AclBinding]] = [:]
    private var prefixed: [ResourceType: [AclBinding]] = [:]

    public init(superUsers: Set<String> = [], allowEveryoneIfNoAclFound: Bool = false, bindings: [AclBinding] = []) {
        self.superUsers = superUsers
        self.allowEveryoneIfNoAclFound = allowEveryoneIfNoAclFound
        for binding in bindings { add(binding) }
    }

    /// Parses `super.users`: principals separated by semicolons.
    public static func parseSuperUsers(_ text: String) throws(SecurityConfigError) -> Set<String> {
        var users: Set<String> = []
        for part in text.split(separator: ";") {
            let name = String(part).trimmingSpaces()
            if name.isEmpty { continue }
            guard KafkaPrincipal(parsing: name) != nil else {
                throw .invalid("super.users: '\(name)' is not a principal of the form User:name")
            }
            users.insert(name)
        }
        return users
    }

    /// Adds a binding; returns false when an identical one exists.
    @discardableResult
    public mutating func add(_ binding: AclBinding) -> Bool {
        guard !bindings.contains(binding) else { return false }
        bindings.append(binding)
        if binding.patternType == .prefixed {
            prefixed[binding.resourceType, default: []].append(binding)
        } else {
            literal[Resource(binding.resourceType, binding.resourceName), default: []].append(binding)
        }
        return true
    }

    /// Removes every binding the filter matches; returns them.
    public mutating func remove(matching filter: AclBindingFilter) -> [AclBinding] {
        let removed = bindings.filter(filter.matches)
        guard !removed.isEmpty else { return [] }
        let remaining = bindings.filter { !filter.matches($0) }
        self = Authorizer(superUsers: superUsers, allowEveryoneIfNoAclFound: allowEveryoneIfNoAclFound, bindings: remaining)
        return removed
    }

    public func bindings(matching filter: AclBindingFilter) -> [AclBinding] { bindings.filter(filter.matches) }

    /// Every binding that covers `resource`.
    private func covering(_ resource: Resource) -> [AclBinding] {
        var result = literal[resource] ?? []
        if resource.name != AclBinding.wildcard { result += literal[Resource(resource.type, AclBinding.wildcard)] ?? [] }
        for binding in prefixed[resource.type] ?? [] where resource.name.hasPrefix(binding.resourceName) {
            result.append(binding)
        }
        return result
    }

    public func authorize(_ principal: KafkaPrincipal, host: String, _ operation: AclOperation, _ resource: Resource) -> Bool {
        let name = principal.description
        if superUsers.contains(name) { return true }
        let applicable = covering(resource)
        if applicable.isEmpty { return allowEveryoneIfNoAclFound }
        let wildcardPrincipal = "\(principal.type):*"
        func applies(_ binding: AclBinding) -> Bool {
            (binding.principal == name || binding.principal == wildcardPrincipal)
                && (binding.host == AclBinding.wildcard || binding.host == host)
        }
        let denied = applicable.contains { binding in
            binding.permission == .deny && applies(binding) && (binding.operation == operation || binding.operation == .all)
        }
        if denied { return false }
        let granting = operation.impliedBy
        return applicable.contains { binding in
            binding.permission == .allow && applies(binding)
                && (binding.operation == .all || granting.contains(binding.operation))
        }
    }

    /// Kafka's authorizeByResourceType: whether some resource of `type` allows `operation` to the principal, with no
    /// DENY covering it (InitProducerId lets an idempotent producer in when it may write to any topic).
    public func authorizeByResourceType(_ principal: KafkaPrincipal, host: String, _ operation: AclOperation,
                                        _ type: ResourceType) -> Bool {
        let name = principal.description
        if superUsers.contains(name) { return true }
        let wildcardPrincipal = "\(principal.type):*"
        let mine = bindings.filter { binding in
            binding.resourceType == type && (binding.principal == name || binding.principal == wildcardPrincipal)
                && (binding.host == AclBinding.wildcard || binding.host == host)
        }
        let denies = mine.filter { $0.permission == .deny && ($0.operation == operation || $0.operation == .all) }
        let allows = mine.filter { $0.permission == .allow && ($0.operation == .all || operation.impliedBy.contains($0.operation)) }
        if denies.contains(where: { $0.patternType == .literal && $0.resourceName == AclBinding.wildcard }) { return false }
        for allow in allows {
            if allow.patternType == .literal && allow.resourceName == AclBinding.wildcard { return true }
            let shadowed = denies.contains { deny in
                switch (deny.patternType, allow.patternType) {
                case (.literal, .literal): return deny.resourceName == allow.resourceName
                case (.prefixed, _): return allow.resourceName.hasPrefix(deny.resourceName)
                default: return false
                }
            }
            if !shadowed { return true }
        }
        return allowEveryoneIfNoAclFound && !bindings.contains { $0.resourceType == type }
    }

    /// The operations `principal` may perform on `resource`, as the bitfield of operation codes that Metadata,
    /// DescribeGroups and DescribeCluster return when asked (bit n for code n).
    public func authorizedOperations(_ principal: KafkaPrincipal, host: String, _ resource: Resource,
                                     among operations: [AclOperation]) -> Int32 {
        operations.reduce(Int32(0)) { bits, operation in
            authorize(principal, host: host, operation, resource) ? bits | (1 << Int32(operation.rawValue)) : bits
        }
    }
}
