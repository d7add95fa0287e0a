/// One line typed at the shell, parsed. Parsing is pure: the session decides what each command does.
public enum ShellInput: Equatable, Sendable {
    case empty
    case help
    case accounts
    case login(String)
    case balance
    /// The amount as typed; the session validates it (so it can say exactly what is wrong with it).
    case deposit(String)
    case withdraw(String)
    case history(Int)
    case logout
    case quit

    /// The commands, as `help` lists them and completion offers them.
    public static let commands: [(name: String, usage: String, summary: String)] = [
        ("accounts", "accounts", "list the accounts and their balances"),
        ("login", "login ACCOUNT", "work on an account (Tab completes account names)"),
        ("balance", "balance", "the account's balance, as applied by the sink"),
        ("deposit", "deposit AMOUNT", "put money in (for example: deposit 125.50)"),
        ("withdraw", "withdraw AMOUNT", "take money out (refused above the balance)"),
        ("history", "history [N]", "the account's last N transactions (default \(defaultHistoryCount))"),
        ("logout", "logout", "stop working on the account"),
        ("help", "help", "this list"),
        ("quit", "quit", "leave (Ctrl-D works too)"),
    ]

    public static let defaultHistoryCount = 10
    public static let maximumHistoryCount = 10_000

    /// Why a line is not a command, in words for the person who typed it.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ line: String) -> Result<ShellInput, ParseError> {
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let first = words.first else { return .success(.empty) }
        let arguments = Array(words.dropFirst())
        func noArguments(_ input: ShellInput) -> Result<ShellInput, ParseError> {
            arguments.isEmpty ? .success(input) : .failure(ParseError(description: "`\(first)` takes no arguments"))
        }
        func one(_ what: String, example: String, _ make: (String) -> ShellInput) -> Result<ShellInput, ParseError> {
            switch arguments.count {
            case 1: return .success(make(arguments[0]))
            case 0: return .failure(ParseError(description: "`\(first)` needs \(what) (for example: \(example))"))
            default: return .failure(ParseError(description: "`\(first)` takes one \(what), got \(arguments.count) words"))
            }
        }
        switch first.lowercased() {
        case "help", "?": return noArguments(.help)
        case "accounts": return noArguments(.accounts)
        case "login": return one("account", example: "login C100") { .login($0) }
        case "balance": return noArguments(.balance)
        case "deposit": return one("amount", example: "deposit 125.50") { .deposit($0) }
        case "withdraw", "withdrawal": return one("amount", example: "withdraw 40") { .withdraw($0) }
        case "history":
            guard !arguments.isEmpty else { return .success(.history(defaultHistoryCount)) }
            guard arguments.count == 1, let count = Int(arguments[0]), (1...maximumHistoryCount).contains(count) else {
                return .failure(ParseError(description: "`history` takes a number of transactions from 1 to \(maximumHistoryCount) (for example: history 20)"))
            }
            return .success(.history(count))
        case "logout": return noArguments(.logout)
        case "quit", "exit": return noArguments(.quit)
        default:
            let names = commands.map(\.name).joined(separator: ", ")
            return .failure(ParseError(description: "unknown command '\(first)' — commands: \(names) (`help` explains them)"))
        }
    }
}
