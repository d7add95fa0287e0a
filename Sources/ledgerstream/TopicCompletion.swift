import FoundationEssentials
import KafkaClient
import Synchronization

/// Dynamic completion of topic names in the shell completion scripts (`completions/`): the arguments and options
/// that take an existing topic say `completion: .custom(topicNames)`, and the scripts run
/// `ledgerstream ---completion … WORDS` when Tab is pressed there, which ends up here.
///
/// The cluster is the one the command line names with `-b`/`--bootstrap-server`/`--brokers` (already typed), else
/// $LEDGERSTREAM_BOOTSTRAP_SERVERS, else localhost:9092, as for the commands themselves. It gets
/// `TopicCompletion.deadline` (0.5 s) overall; when it is down, slow or unreachable the answer is no completions and
/// nothing is printed, so Tab never hangs a shell or writes errors into it. Internal topics (`__…`) are left out.
@Sendable func topicNames(_ words: [String], _ index: Int, _ prefix: String) async -> [String] {
    await TopicCompletion.names(words: words, index: index, prefix: prefix)
}

enum TopicCompletion {
    /// The whole budget: connecting, the metadata request and closing.
    static let deadline: Duration = .milliseconds(500)

    static func names(words: [String], index: Int, prefix: String,
                      environment: [String: String] = ProcessInfo.processInfo.environment) async -> [String] {
        let servers = bootstrapServers(in: words, completing: index)
            ?? environment[KafkaClient.bootstrapEnvironmentVariable] ?? "localhost:9092"
        guard let addresses = try? BrokerAddress.list(servers) else { return [] }
        let topics: [TopicInfo] = await firstOf(deadline: deadline) { () async -> [TopicInfo]? in
            let client = KafkaClient(bootstrap: addresses, clientId: "ledgerstream-completion")
            let topics = try? await client.listTopics()
            await client.close()
            return topics
        } ?? []
        return topics
            .filter { !$0.isInternal && !$0.name.hasPrefix("__") && $0.name.hasPrefix(prefix) }
            .map(\.name)
    }

    /// The value of the last bootstrap option among `words` (`-b X`, `--bootstrap-server X`, `--brokers X`, or
    /// `--long=X`), ignoring the word being completed. Bash hands the words over split at its COMP_WORDBREAKS, so
    /// `host:9093` arrives as `host`, `:`, `9093` and `--brokers=X` as `--brokers`, `=`, `X`: the pieces are glued back.
    static func bootstrapServers(in words: [String], completing index: Int) -> String? {
        let names: Set<String> = ["-b", "--bootstrap-server", "--brokers"]
        var found: String?
        var position = 0
        while position < words.count {
            let word = words[position]
            if word == "--" { break }
            var start = position + 1
            if names.contains(word) {
                if start < words.count, start != index, words[start] == "=" { start += 1 }
            } else if let equals = word.firstIndex(of: "="), names.contains(String(word[..<equals])) {
                found = String(word[word.index(after: equals)...])
                position += 1
                continue
            } else {
                position += 1
                continue
            }
            guard start < words.count, start != index else {
                position = start
                continue
            }
            var value = words[start]
            var next = start + 1
            while next < words.count, next != index, words[next] == ":" || words[next - 1] == ":" {
                value += words[next]
                next += 1
            }
            found = value
            position = next
        }
        return found.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The result of `work`, or nil if it takes longer than `deadline`. Unlike a task group, this returns at the
    /// deadline even if `work` ignores cancellation (a TCP connect to a silent host does): the straggler is left to
    /// the process exit, which follows at once when completing.
    static func firstOf<T: Sendable>(deadline: Duration, _ work: @escaping @Sendable () async -> T?) async -> T? {
        let waiter = Waiter<T?>()
        return await withCheckedContinuation { continuation in
            waiter.install(continuation)
            let worker = Task { waiter.finish(await work()) }
            Task {
                try? await Task.sleep(for: deadline)
                worker.cancel()
                waiter.finish(nil)
            }
        }
    }

    /// A continuation resumed exactly once, by whichever finishes first.
    private final class Waiter<T: Sendable>: Sendable {
        private let continuation = Mutex<CheckedContinuation<T, Never>?>(nil)

        func install(_ continuation: CheckedContinuation<T, Never>) {
            self.continuation.withLock { $0 = continuation }
        }

        func finish(_ value: T) {
            continuation.withLock { $0.take() }?.resume(returning: value)
        }
    }
}
