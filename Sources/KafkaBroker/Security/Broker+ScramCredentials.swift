import KafkaProtocol
import KafkaSecurity

// DescribeUserScramCredentials (50) and AlterUserScramCredentials (51), v0, with Kafka's validation and messages.
// Describe needs DESCRIBE on the cluster, Alter needs ALTER. Only salts and derived keys are stored.
extension Broker {
    func handleDescribeUserScramCredentials(_ request: DescribeUserScramCredentialsRequest, _ context: RequestContext) -> RequestOutcome {
        guard context.authorize(.describe, .cluster) else {
            return context.respond(DescribeUserScramCredentialsResponse(
                throttleTimeMs: 0, errorCode: ErrorCode.clusterAuthorizationFailed.rawValue,
                errorMessage: "Request is not authorized: \(context.principal) may not Describe the cluster",
                results: (request.users ?? []).map { _ in
                    .init(user: "", errorCode: ErrorCode.clusterAuthorizationFailed.rawValue, errorMessage: nil, credentialInfos: [])
                }))
        }
        let users = security.scramUsers
        func describe(_ name: String) -> DescribeUserScramCredentialsResponse.DescribeUserScramCredentialsResult {
            guard let credentials = users[name], !credentials.isEmpty else {
                return .init(user: name, errorCode: ErrorCode.resourceNotFound.rawValue,
                             errorMessage: "Attempt to describe a user credential that does not exist: \(name)", credentialInfos: [])
            }
            return .init(user: name, errorCode: 0, errorMessage: nil, credentialInfos: credentials.values
                .sorted { $0.mechanism.rawValue < $1.mechanism.rawValue }
                .map { .init(mechanism: $0.mechanism.rawValue, iterations: Int32($0.iterations)) })
        }
        var results: [DescribeUserScramCredentialsResponse.DescribeUserScramCredentialsResult] = []
        if let requested = request.users, !requested.isEmpty {
            var counts: [String: Int] = [:]
            for user in requested { counts[user.name, default: 0] += 1 }
            var seen: Set<String> = []
            for user in requested where seen.insert(user.name).inserted {
                if counts[user.name]! > 1 {
                    results.append(.init(user: user.name, errorCode: ErrorCode.duplicateResource.rawValue,
                                         errorMessage: "Cannot describe SCRAM credentials for the same user twice in a single request: \(user.name)",
                                         credentialInfos: []))
                } else {
                    results.append(describe(user.name))
                }
            }
        } else {
            results = users.keys.sorted().map(describe)
        }
        return context.respond(DescribeUserScramCredentialsResponse(throttleTimeMs: 0, errorCode: 0, errorMessage: nil, results: results))
    }

    func handleAlterUserScramCredentials(_ request: AlterUserScramCredentialsRequest, _ context: RequestContext) -> RequestOutcome {
        let names = Set(request.deletions.map(\.name) + request.upsertions.map(\.name))
        guard context.authorize(.alter, .cluster) else {
            return context.respond(AlterUserScramCredentialsResponse(throttleTimeMs: 0, results: names.sorted().map {
                .init(user: $0, errorCode: ErrorCode.clusterAuthorizationFailed.rawValue,
                      errorMessage: "Request is not authorized: \(context.principal) may not Alter the cluster")
            }))
        }
        var counts: [String: Int] = [:]
        for name in request.deletions.map(\.name) + request.upsertions.map(\.name) { counts[name, default: 0] += 1 }
        var results: [AlterUserScramCredentialsResponse.AlterUserScramCredentialsResult] = []
        var reported: Set<String> = []
        func refuse(_ user: String, _ code: ErrorCode, _ message: String) {
            guard reported.insert(user).inserted else { return }
            results.append(.init(user: user, errorCode: code.rawValue, errorMessage: message))
        }
        let existing = security.scramUsers
        var deletions: [(user: String, mechanism: ScramMechanism)] = []
        var upsertions: [(user: String, credential: ScramCredential)] = []
        for deletion in request.deletions {
            if counts[deletion.name]! > 1 {
                refuse(deletion.name, .duplicateResource, "A user credential cannot be altered twice in the same request")
            } else if deletion.name.isEmpty {
                refuse(deletion.name, .unacceptableCredential, "Username must not be empty")
            } else if let mechanism = ScramMechanism(rawValue: deletion.mechanism) {
                if existing[deletion.name]?[mechanism] == nil {
                    refuse(deletion.name, .resourceNotFound, "Attempt to delete a user credential that does not exist")
                } else {
                    deletions.append((deletion.name, mechanism))
                }
            } else {
                refuse(deletion.name, .unsupportedSaslMechanism, "Unknown SCRAM mechanism")
            }
        }
        for upsertion in request.upsertions {
            let iterations = Int(upsertion.iterations)
            if counts[upsertion.name]! > 1 {
                refuse(upsertion.name, .duplicateResource, "A user credential cannot be altered twice in the same request")
            } else if upsertion.name.isEmpty {
                refuse(upsertion.name, .unacceptableCredential, "Username must not be empty")
            } else if let mechanism = ScramMechanism(rawValue: upsertion.mechanism) {
                if iterations < ScramMechanism.minIterations {
                    refuse(upsertion.name, .unacceptableCredential, "Too few iterations")
                } else if iterations > ScramMechanism.maxIterations {
                    refuse(upsertion.name, .unacceptableCredential, "Too many iterations")
                } else if upsertion.salt.readableBytes == 0 || upsertion.saltedPassword.readableBytes != mechanism.keyByteCount {
                    refuse(upsertion.name, .unacceptableCredential,
                           "The salt must not be empty and the salted password must be \(mechanism.keyByteCount) bytes for \(mechanism)")
                } else {
                    upsertions.append((upsertion.name, ScramCredential(
                        mechanism: mechanism, salt: Array(upsertion.salt.readableBytesView),
                        saltedPassword: Array(upsertion.saltedPassword.readableBytesView), iterations: iterations)))
                }
            } else {
                refuse(upsertion.name, .unsupportedSaslMechanism, "Unknown SCRAM mechanism")
            }
        }
        do {
            try security.alterScramCredentials(deletions: deletions, upsertions: upsertions)
        } catch {
            logger.error("cannot store SCRAM credentials", metadata: ["error": "\(error)"])
            for name in (deletions.map(\.user) + upsertions.map(\.user)) {
                refuse(name, .unknownServerError, "the broker could not store the credential: \(error)")
            }
            return context.respond(AlterUserScramCredentialsResponse(throttleTimeMs: 0, results: results))
        }
        for (user, _) in deletions where reported.insert(user).inserted { results.append(.init(user: user, errorCode: 0, errorMessage: nil)) }
        for (user, credential) in upsertions where reported.insert(user).inserted {
            results.append(.init(user: user, errorCode: 0, errorMessage: nil))
            logger.info("SCRAM credential stored", metadata: ["user": "\(user)", "mechanism": "\(credential.mechanism)", "by": "\(context.principal)"])
        }
        return context.respond(AlterUserScramCredentialsResponse(throttleTimeMs: 0, results: results))
    }
}
