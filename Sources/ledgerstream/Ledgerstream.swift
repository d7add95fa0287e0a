import ArgumentParser

/// The root command. Subcommands are git-style; each lives in its own file.
@main
struct Ledgerstream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledgerstream",
        abstract: "Stream bank transactions: a Kafka-compatible broker, a ZooKeeper-compatible coordinator, an exactly-once SQLite sink and terminal dashboards in one binary.",
        version: "0.1.0",
        subcommands: [DemoCommand.self, BrokerCommand.self, ZooKeeperCommand.self, TopicCommand.self, GroupCommand.self, ProduceCommand.self, ConsumeCommand.self, TransactionsCommand.self, UserCommand.self, AclCommand.self, ShellCommand.self, ReportCommand.self, DumpLog.self]
    )
}
