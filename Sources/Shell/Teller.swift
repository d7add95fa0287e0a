import KafkaClient
import Ledger

/// What became of a deposit or withdrawal asked for at the shell or at the web desk.
public enum TellerOutcome: Sendable, Equatable {
    /// The sink applied it: the message to show, the account's balance after it, and a note when other transactions
    /// reached the account meanwhile.
    case applied(message: String, balance: Money, note: String?)
    /// Nothing was produced: the amount is not valid, or the withdrawal would overdraw the account.
    case refused(String)
    /// Safely in the topic, but no sink applied it in time.
    case notYetApplied(String)
}

/// The teller's job, shared by `shell` and the web desk so both validate alike and say the same things: check the
/// amount (digits, at most two decimals, above zero) and the balance, produce the event through ``ShellBackend``
/// (acks=all, idempotent) stating the balance expected after it, and wait for the sink to apply it.
public struct Teller {
    let backend: any ShellBackend
    /// How long to wait for the sink to apply a transaction before saying so.
    let applyTimeoutMs: Int

    public init(backend: any ShellBackend, applyTimeoutMs: Int) {
        self.backend = backend
        self.applyTimeoutMs = applyTimeoutMs
    }

    /// The amount `text` parsed, or why it is not one.
    public static func amount(_ text: String) -> Result<Money, TellerRefusal> {
        do {
            let amount = try Money(parsing: text)
            guard amount.cents > 0 else { return .failure(TellerRefusal("the amount must be greater than zero (got \(text))")) }
            return .success(amount)
        } catch {
            switch error {
            case .tooManyDecimals: return .failure(TellerRefusal("'\(text)' has more than two decimals (cents are the smallest unit)"))
            case .tooLarge: return .failure(TellerRefusal("'\(text)' is too large"))
            case .empty, .notANumber:
                return .failure(TellerRefusal("'\(text)' is not an amount (use digits with at most two decimals, for example 125.50)"))
            }
        }
    }

    /// The account's balance as the sink last applied it (zero for an account without entries).
    public func balance(of account: String) async throws -> Money {
        try await backend.accounts().first { $0.account == account }?.balance ?? .zero
    }

    /// Validates, produces and waits. Throws only when the broker or the ledger cannot be reached.
    public func transact(account: String, amountText: String, type: TransactionType) async throws -> TellerOutcome {
        let amount: Money
        switch Self.amount(amountText) {
        case .failure(let refusal): return .refused(refusal.message)
        case .success(let parsed): amount = parsed
        }
        let balance = try await balance(of: account)
        if type == .withdrawal && amount > balance {
            return .refused("refused: withdrawing \(amount.grouped) would take \(account) below zero (balance \(balance.grouped))")
        }
        let expected = type == .deposit ? balance + amount : balance - amount
        // The balance we expect is stated in the event, as the original GUI did: if another transaction lands on the
        // account first, the sink flags the difference instead of it going unnoticed.
        let event = TransactionEvent(date: backend.now(), account: account, amount: amount, type: type, statedBalance: expected)
        let position = try await backend.publish(event)
        let verb = type == .deposit ? "deposit" : "withdrawal"
        guard try await backend.waitUntilApplied(position, timeoutMs: applyTimeoutMs) else {
            return .notYetApplied("\(verb) of \(amount.grouped) is safely in \(position.topic) (partition \(position.partition), offset \(position.offset)) but no sink applied it within \(applyTimeoutMs / 1000) s — is `\(backend.sinkCommand)` running? `balance` will show it once applied")
        }
        let now = try await self.balance(of: account)
        let note = now == expected ? nil
            : "note: other transactions reached \(account) meanwhile (expected \(expected.grouped)); see `history`"
        return .applied(message: "\(verb) of \(amount.grouped) applied — \(account) balance \(now.grouped)", balance: now, note: note)
    }
}

/// Why the teller refused an amount, in the words shown to the agent.
public struct TellerRefusal: Error, Sendable, Equatable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }
}
