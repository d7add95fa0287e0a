import KafkaClient
import Ledger
import Testing

@testable import Shell

/// An in-memory ledger and topic: `publish` appends to the topic; the "sink" applies what was published when
/// `sinkRunning` (instantly), so read-your-write and a missing sink can both be exercised.
final class MemoryBackend: ShellBackend {
    var balances: [String: Money]
    var entries: [LedgerEntry] = []
    var published: [TransactionEvent] = []
    var sinkRunning = true
    var lag = SinkLag.caughtUp
    var failPublish: KafkaClientError?

    init(balances: [String: Money]) {
        self.balances = balances
    }

    func accounts() throws -> [AccountSummary] {
        balances.keys.sorted().map { name in
            AccountSummary(account: name, balance: balances[name]!, entries: entries.filter { $0.account == name }.count, lastDate: "2024-01-05 00:00:00")
        }
    }

    func history(account: String, count: Int) throws -> [LedgerEntry] {
        Array(entries.filter { $0.account == account }.suffix(count))
    }

    func publish(_ event: TransactionEvent) async throws -> RecordMetadata {
        if let failPublish { throw failPublish }
        published.append(event)
        return RecordMetadata(topic: "transactions", partition: 0, offset: Int64(published.count - 1))
    }

    func waitUntilApplied(_ position: RecordMetadata, timeoutMs: Int) async throws -> Bool {
        guard sinkRunning else { return false }
        let event = published[Int(position.offset)]
        let balance = (balances[event.account] ?? .zero) + event.signedAmount
        balances[event.account] = balance
        entries.append(LedgerEntry(date: event.date, account: event.account, type: event.type, amount: event.amount, balance: balance,
                                   statedBalance: event.statedBalance, topic: position.topic, partition: position.partition, offset: position.offset))
        return true
    }

    func sinkLag() async -> SinkLag { lag }

    func now() -> TransactionDate { TransactionDate(year: 2024, month: 6, day: 1, hour: 12, minute: 30, second: 0) }
}

/// A session over the memory backend that records what it printed and what it reported as errors.
struct Harness {
    let backend: MemoryBackend
    let session: ShellSession
    let output: Output

    final class Output {
        var lines: [String] = []
        var errors: [String] = []
    }

    init(_ balances: [String: Money] = ["C100": Money(cents: 83_000), "C200": Money(cents: 230_000)]) {
        backend = MemoryBackend(balances: balances)
        let output = Output()
        self.output = output
        session = ShellSession(backend: backend, applyTimeoutMs: 1000, print: { output.lines.append($0) }, fail: { output.errors.append($0) })
    }

    /// Runs the lines; returns (printed, errors) for them alone.
    @discardableResult
    func run(_ lines: String...) async -> (printed: [String], errors: [String]) {
        let (printedBefore, errorsBefore) = (output.lines.count, output.errors.count)
        for line in lines { _ = await session.handle(line) }
        return (Array(output.lines[printedBefore...]), Array(output.errors[errorsBefore...]))
    }
}

@Suite struct ShellInputTests {
    @Test(arguments: [
        ("", ShellInput.empty), ("  help ", .help), ("?", .help), ("ACCOUNTS", .accounts), ("login C100", .login("C100")),
        ("balance", .balance), ("deposit 12.50", .deposit("12.50")), ("withdraw 3", .withdraw("3")), ("withdrawal 3", .withdraw("3")),
        ("history", .history(10)), ("history 25", .history(25)), ("logout", .logout), ("quit", .quit), ("exit", .quit),
    ])
    func parses(line: String, input: ShellInput) {
        #expect(ShellInput.parse(line) == .success(input))
    }

    @Test(arguments: [
        ("login", "`login` needs account (for example: login C100)"),
        ("login A B", "`login` takes one account, got 2 words"),
        ("deposit", "`deposit` needs amount (for example: deposit 125.50)"),
        ("balance now", "`balance` takes no arguments"),
        ("history x", "`history` takes a number of transactions from 1 to 10000 (for example: history 20)"),
        ("history 0", "`history` takes a number of transactions from 1 to 10000 (for example: history 20)"),
        ("transfer 5", "unknown command 'transfer' — commands: accounts, login, balance, deposit, withdraw, history, logout, help, quit (`help` explains them)"),
    ])
    func refuses(line: String, message: String) {
        #expect(ShellInput.parse(line) == .failure(ShellInput.ParseError(description: message)))
    }
}

@Suite struct ShellSessionTests {
    @Test func listsAccountsAndLogsIn() async {
        let shell = Harness()
        let accounts = await shell.run("accounts")
        #expect(accounts.printed == [
            "account   balance  transactions  last transaction",
            "───────  ────────  ────────────  ───────────────────",
            "C100       830.00             0  2024-01-05 00:00:00",
            "C200     2,300.00             0  2024-01-05 00:00:00",
        ])
        #expect(await shell.run("login c100").printed == ["logged in to C100 — balance 830.00"])
        #expect(shell.session.prompt == "ledgerstream C100> ")
        #expect(await shell.run("balance").printed == ["C100: 830.00"])
        #expect(await shell.run("logout").printed == ["logged out of C100"])
        #expect(shell.session.prompt == "ledgerstream> ")
        #expect(shell.session.errorCount == 0)
    }

    @Test func everyMistakeGetsAMessage() async {
        let shell = Harness()
        #expect(await shell.run("login C999").errors == ["unknown account 'C999' — known accounts: C100, C200"])
        #expect(await shell.run("balance").errors == ["not logged in — use `login ACCOUNT` (accounts: C100, C200)"])
        #expect(await shell.run("deposit 5").errors == ["not logged in — use `login ACCOUNT` (accounts: C100, C200)"])
        #expect(await shell.run("logout").errors == ["not logged in"])
        await shell.run("login C100")
        #expect(await shell.run("deposit abc").errors == ["'abc' is not an amount (use digits with at most two decimals, for example 125.50)"])
        #expect(await shell.run("deposit 0").errors == ["the amount must be greater than zero (got 0)"])
        #expect(await shell.run("deposit -5").errors == ["the amount must be greater than zero (got -5)"])
        #expect(await shell.run("deposit 1.234").errors == ["'1.234' has more than two decimals (cents are the smallest unit)"])
        #expect(await shell.run("deposit 99999999999999999999").errors == ["'99999999999999999999' is too large"])
        #expect(await shell.run("withdraw 830.01").errors == ["refused: withdrawing 830.01 would take C100 below zero (balance 830.00)"])
        #expect(await shell.run("frobnicate").errors.first?.hasPrefix("unknown command 'frobnicate'") == true)
        #expect(shell.backend.published.isEmpty)
        #expect(shell.session.errorCount == 11)
    }

    @Test func depositAndWithdrawShowTheAppliedBalance() async throws {
        let shell = Harness()
        await shell.run("login C100")
        #expect(await shell.run("deposit 100").printed == ["deposit of 100.00 applied — C100 balance 930.00"])
        #expect(await shell.run("withdraw 930").printed == ["withdrawal of 930.00 applied — C100 balance 0.00"])
        let sent = try #require(shell.backend.published.first)
        #expect(sent == TransactionEvent(date: TransactionDate(year: 2024, month: 6, day: 1, hour: 12, minute: 30, second: 0), account: "C100",
                                         amount: Money(cents: 10_000), type: .deposit, statedBalance: Money(cents: 93_000)))
        #expect(shell.backend.published[1].type == .withdrawal && shell.backend.published[1].statedBalance == .zero)
        let history = await shell.run("history")
        #expect(history.printed == [
            "date                 type        amount  balance",
            "───────────────────  ──────────  ──────  ───────",
            "2024-06-01 12:30:00  deposit     100.00   930.00",
            "2024-06-01 12:30:00  withdrawal  930.00     0.00",
        ])
        #expect(await shell.run("history 1").printed.count == 3)
    }

    @Test func saysPlainlyWhenNoSinkAppliesOrTheBalanceIsStale() async {
        let shell = Harness()
        await shell.run("login C200")
        shell.backend.sinkRunning = false
        let deposit = await shell.run("deposit 5")
        #expect(deposit.errors == ["deposit of 5.00 is safely in transactions (partition 0, offset 0) but no sink applied it within 1 s — is `ledgerstream consume --sink sqlite` running? `balance` will show it once applied"])
        shell.backend.lag = .behind(1)
        #expect(await shell.run("balance").printed == ["C200: 2,300.00 — not current: 1 transaction in the topic not applied yet (is `ledgerstream consume --sink sqlite` running?)"])
        shell.backend.lag = .unknown("broker not reachable at localhost:9092")
        #expect(await shell.run("balance").printed == ["C200: 2,300.00 — as last applied; cannot tell whether it is current (broker not reachable at localhost:9092)"])
    }

    @Test func aBrokerFailureIsReportedAndTheShellGoesOn() async {
        let shell = Harness()
        await shell.run("login C100")
        shell.backend.failPublish = .unreachable(servers: ["localhost:9092"], reason: "connection refused")
        let result = await shell.run("deposit 1")
        #expect(result.errors.count == 1 && result.errors[0].contains("localhost:9092"))
        #expect(await shell.session.handle("help"))
        #expect(await shell.session.handle("quit") == false)
    }

    @Test func helpListsEveryCommand() async {
        let shell = Harness()
        let help = await shell.run("help").printed
        #expect(help.count == ShellInput.commands.count)
        #expect(help[0] == "  accounts         list the accounts and their balances")
        #expect(help.contains("  deposit AMOUNT   put money in (for example: deposit 125.50)"))
    }
}
