import Testing
@testable import KafkaSecurity

/// Kafka's ACL semantics: deny wins, implied DESCRIBE, wildcards and prefixes, super users, the no-ACL default.
@Suite struct AuthorizerTests {
    let alice = KafkaPrincipal(name: "alice")
    let bob = KafkaPrincipal(name: "bob")

    func allow(_ principal: String, _ operation: AclOperation, topic: String, pattern: PatternType = .literal, host: String = "*") -> AclBinding {
        AclBinding(resourceType: .topic, resourceName: topic, patternType: pattern, principal: principal, host: host,
                   operation: operation, permission: .allow)
    }

    func deny(_ principal: String, _ operation: AclOperation, topic: String, pattern: PatternType = .literal) -> AclBinding {
        AclBinding(resourceType: .topic, resourceName: topic, patternType: pattern, principal: principal, host: "*",
                   operation: operation, permission: .deny)
    }

    @Test func writeDoesNotGrantReadButImpliesDescribe() {
        let authorizer = Authorizer(bindings: [allow("User:alice", .write, topic: "pay")])
        #expect(authorizer.authorize(alice, host: "10.0.0.1", .write, Resource(.topic, "pay")))
        #expect(!authorizer.authorize(alice, host: "10.0.0.1", .read, Resource(.topic, "pay")))
        #expect(authorizer.authorize(alice, host: "10.0.0.1", .describe, Resource(.topic, "pay")))
        #expect(!authorizer.authorize(bob, host: "10.0.0.1", .write, Resource(.topic, "pay")))
    }

    @Test func denyOverridesAllowAndOnlyForItsOperation() {
        let authorizer = Authorizer(bindings: [
            allow("User:*", .all, topic: "*"), deny("User:bob", .read, topic: "pay"),
        ])
        #expect(!authorizer.authorize(bob, host: "h", .read, Resource(.topic, "pay")))
        // A DENY of READ does not deny DESCRIBE (denies imply nothing).
        #expect(authorizer.authorize(bob, host: "h", .describe, Resource(.topic, "pay")))
        #expect(authorizer.authorize(bob, host: "h", .read, Resource(.topic, "other")))
        #expect(authorizer.authorize(alice, host: "h", .read, Resource(.topic, "pay")))
    }

    @Test func prefixedAndHostBindings() {
        let authorizer = Authorizer(bindings: [
            allow("User:bob", .write, topic: "ledger-", pattern: .prefixed), allow("User:alice", .read, topic: "pay", host: "10.0.0.9"),
        ])
        #expect(authorizer.authorize(bob, host: "h", .write, Resource(.topic, "ledger-eu")))
        #expect(!authorizer.authorize(bob, host: "h", .write, Resource(.topic, "ledge")))
        #expect(authorizer.authorize(alice, host: "10.0.0.9", .read, Resource(.topic, "pay")))
        #expect(!authorizer.authorize(alice, host: "10.0.0.8", .read, Resource(.topic, "pay")))
    }

    @Test func superUsersAndTheNoAclDefault() {
        let closed = Authorizer(superUsers: ["User:admin"], bindings: [allow("User:alice", .read, topic: "pay")])
        #expect(closed.authorize(KafkaPrincipal(name: "admin"), host: "h", .delete, Resource(.topic, "pay")))
        #expect(!closed.authorize(alice, host: "h", .read, Resource(.topic, "unprotected")))
        let open = Authorizer(allowEveryoneIfNoAclFound: true, bindings: [allow("User:alice", .read, topic: "pay")])
        #expect(open.authorize(bob, host: "h", .write, Resource(.topic, "unprotected")))
        // Any binding on the resource, for whoever, closes it to everyone else.
        #expect(!open.authorize(bob, host: "h", .read, Resource(.topic, "pay")))
    }

    @Test func authorizedOperationsBitfield() {
        let authorizer = Authorizer(bindings: [allow("User:alice", .read, topic: "pay")])
        let bits = authorizer.authorizedOperations(alice, host: "h", Resource(.topic, "pay"), among: [.read, .write, .describe])
        #expect(bits == (1 << 3) | (1 << 8))
    }

    @Test func authorizeByResourceTypeForIdempotentProducers() {
        let authorizer = Authorizer(bindings: [allow("User:bob", .write, topic: "ledger-", pattern: .prefixed),
                                               deny("User:alice", .write, topic: "*"), allow("User:alice", .write, topic: "pay")])
        #expect(authorizer.authorizeByResourceType(bob, host: "h", .write, .topic))
        #expect(!authorizer.authorizeByResourceType(alice, host: "h", .write, .topic))
        #expect(!authorizer.authorizeByResourceType(KafkaPrincipal(name: "carol"), host: "h", .write, .topic))
    }

    @Test func filtersSelectAsDescribeAndDeleteAcls() {
        var authorizer = Authorizer(bindings: [
            allow("User:alice", .read, topic: "pay"), allow("User:bob", .write, topic: "pay", pattern: .prefixed),
            allow("User:bob", .write, topic: "*"),
        ])
        #expect(authorizer.bindings(matching: .all).count == 3)
        #expect(authorizer.bindings(matching: AclBindingFilter(resourceType: .topic, resourceName: "payments", patternType: .match)).count == 2)
        #expect(authorizer.bindings(matching: AclBindingFilter(resourceName: "pay", patternType: .literal)).count == 1)
        #expect(authorizer.bindings(matching: AclBindingFilter(principal: "User:bob")).count == 2)
        let removed = authorizer.remove(matching: AclBindingFilter(principal: "User:bob", operation: .write))
        #expect(removed.count == 2)
        #expect(!authorizer.authorize(bob, host: "h", .write, Resource(.topic, "pay")))
        #expect(authorizer.authorize(alice, host: "h", .read, Resource(.topic, "pay")))
    }

    @Test func invalidBindingsAreRefusedWithAReason() throws {
        var binding = allow("User:alice", .read, topic: "pay")
        #expect(binding.problem == nil)
        binding.patternType = .match
        #expect(binding.problem != nil)
        binding = allow("alice", .read, topic: "pay")
        #expect(binding.problem != nil)
        binding = AclBinding(resourceType: .cluster, resourceName: "other", patternType: .literal, principal: "User:a", host: "*",
                             operation: .alter, permission: .allow)
        #expect(binding.problem != nil)
        #expect(AclOperation(name: "describe_configs") == .describeConfigs)
        #expect(AclOperation(name: "IdempotentWrite") == .idempotentWrite)
        #expect(throws: SecurityConfigError.self) { try Authorizer.parseSuperUsers("User:a;admin") }
        #expect(try Authorizer.parseSuperUsers(" User:a ; User:CN=x,O=y ") == ["User:a", "User:CN=x,O=y"])
    }
}
