import KafkaClient
import Ledger

/// The REPL's state machine: which account is logged in, and what each command does and says. Input comes parsed
/// (``ShellInput``); output goes through `print` (results) and `fail` (errors, so piped use can tell them apart).
/// No terminal and no sockets here: everything outside goes through ``ShellBackend``.
///
/// Every mistake gets a message (the original GUI ignored them silently).
public final class ShellSession {
    let backend: any ShellBackend
    let print: (String) -> Void
    let fail: (String) -> Void
    /// How long a deposit or withdrawal waits for the sink to apply it before saying so.
    let applyTimeoutMs: Int
    public private(set) var account: String?
    /// Errors reported so far (piped runs exit non-zero when there were any).
    public private(set) var errorCount = 0
    /// Account names seen last, for Tab completion.
    public private(set) var knownAccounts: [String] = []

    public init(backend: any ShellBackend, applyTimeoutMs: Int = 5000, print: @escaping (String) -> Void, fail: @escaping (String) -> Void) {
        self.backend = backend
        self.applyTimeoutMs = applyTimeoutMs
        self.print = print
        self.fail = fail
    }

    public var prompt: String { account.map { "ledgerstream \($0)> " } ?? "ledgerstream> " }

    private func error(_ message: String) {
        errorCount += 1
        fail(message)
    }

    /// Runs one line. Returns false when the shell should end.
    public func handle(_ line: String) async -> Bool {
        switch ShellInput.parse(line) {
        case .failure(let problem):
            error(problem.description)
            return true
        case .success(.quit):
            return false
        case .success(let input):
            do {
                try await run(input)
            } catch {
                self.error(Self.describe(error))
            }
            return true
        }
    }

    private func run(_ input: ShellInput) async throws {
        switch input {
        case .empty, .quit:
            break
        case .help:
            let width = ShellInput.commands.map(\.usage.count).max() ?? 0
            for command in ShellInput.commands {
                print("  " + command.usage + String(repeating: " ", count: width - command.usage.count) + "  " + command.summary)
            }
        case .accounts:
            try await listAccounts()
        case .login(let name):
            try await login(name)
        case .logout:
            guard let current = account else { return error("not logged in") }
            account = nil
            print("logged out of \(current)")
        case .balance:
            guard let current = try await loggedIn() else { return }
            try await showBalance(of: current)
        case .deposit(let text):
            try await transact(text, type: .deposit)
        case .withdraw(let text):
            try await transact(text, type: .withdrawal)
        case .history(let count):
            guard let current = try await loggedIn() else { return }
            let entries = try await backend.history(account: current, count: count)
            guard !entries.isEmpty else { return print("no transactions for \(current) yet") }
            let rows = entries.map { [$0.date.description, $0.type.rawValue, $0.amount.grouped, $0.balance.grouped] }
            for line in Self.table(header: ["date", "type", "amount", "balance"], rows: rows, rightAligned: [2, 3]) { print(line) }
        }
    }

    // MARK: Commands

    private func listAccounts() async throws {
        let accounts = try await backend.accounts()
        knownAccounts = accounts.map(\.account)
        guard !accounts.isEmpty else {
            return print("no accounts yet: the database fills as `\(backend.sinkCommand)` applies transactions")
        }
        let rows = accounts.map { [$0.account, $0.balance.grouped, String($0.entries), $0.lastDate] }
        for line in Self.table(header: ["account", "balance", "transactions", "last transaction"], rows: rows, rightAligned: [1, 2]) {
            print(line)
        }
    }

    private func login(_ name: String) async throws {
        let accounts = try await backend.accounts()
        knownAccounts = accounts.map(\.account)
        guard let found = accounts.first(where: { $0.account == name })
            ?? accounts.first(where: { $0.account.lowercased() == name.lowercased() }) else {
            return error("unknown account '\(name)' — known accounts: \(Self.list(knownAccounts))")
        }
        account = found.account
        print("logged in to \(found.account) — balance \(found.balance.grouped)")
    }

    /// The logged-in account, or nil after saying how to log in.
    private func loggedIn() async throws -> String? {
        if let account { return account }
        let known = try await backend.accounts().map(\.account)
        knownAccounts = known
        error("not logged in — use `login ACCOUNT`" + (known.isEmpty ? "" : " (accounts: \(Self.list(known)))"))
        return nil
    }

    private var teller: Teller { Teller(backend: backend, applyTimeoutMs: applyTimeoutMs) }

    private func showBalance(of account: String) async throws {
        let balance = try await teller.balance(of: account)
        switch await backend.sinkLag() {
        case .caughtUp:
            print("\(account): \(balance.grouped)")
        case .behind(let count):
            print("\(account): \(balance.grouped) — not current: \(count) transaction\(count == 1 ? "" : "s") in the topic not applied yet (is `\(backend.sinkCommand)` running?)")
        case .unknown(let why):
            print("\(account): \(balance.grouped) — as last applied; cannot tell whether it is current (\(why))")
        }
    }

    private func transact(_ text: String, type: TransactionType) async throws {
        guard let current = try await loggedIn() else { return }
        switch try await teller.transact(account: current, amountText: text, type: type) {
        case .applied(let message, _, let note):
            print(message)
            if let note { print(note) }
        case .refused(let message), .notYetApplied(let message):
            error(message)
        }
    }

    // MARK: Formatting

    static func describe(_ error: any Error) -> String {
        if let error = error as? KafkaClientError { return error.description }
        if let error = error as? any CustomStringConvertible { return error.description }
        return "\(error)"
    }

    /// "A, B, C" — at most 20 names, then how many more.
    static func list(_ names: [String]) -> String {
        guard !names.isEmpty else { return "none yet" }
        let shown = names.prefix(20).joined(separator: ", ")
        return names.count > 20 ? shown + " and \(names.count - 20) more (`accounts` lists them)" : shown
    }

    static func table(header: [String], rows: [[String]], rightAligned: Set<Int>) -> [String] {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func format(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        return [format(header), format(widths.map { String(repeating: "─", count: $0) })] + rows.map(format)
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
