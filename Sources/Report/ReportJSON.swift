import Ledger

/// `--format json`: the report's data as one JSON object, a key per section, for scripts. Amounts are integer cents
/// (`*_cents`, as in the database), so no reader ever goes through floating point; lists carry how many items were
/// left out by `--limit` / `--top`.
///
/// Keys: `header`, `transactions`, `filtered` (the period's; `from`/`to` null when open), `heatmap` (counts per
/// account and type), `bars` (amounts deposited and withdrawn), `balances` (per account, its balance points: the
/// balance after the last entry in each of up to 1000 equal time slices of the period), `reconciliation`.
public enum ReportJSON {
    public static func render(_ data: ReportData) -> String {
        JSONValue.object([
            ("header", header(data.header)),
            ("transactions", page(data.recent, extra: [])),
            ("filtered", page(data.filtered, extra: [("from", .optional(data.period.from)), ("to", .optional(data.period.to))])),
            ("heatmap", .object([
                ("accounts", .array(data.activity.accounts.map { totals in
                    .object([("account", .string(totals.account)), ("deposit", .number(totals.deposits)),
                             ("withdrawal", .number(totals.withdrawals))])
                })),
                ("omitted_accounts", .number(data.activity.omitted)),
            ])),
            ("bars", .object([
                ("accounts", .array(data.activity.accounts.map { totals in
                    .object([("account", .string(totals.account)), ("deposited_cents", .int(totals.deposited.cents)),
                             ("withdrawn_cents", .int(totals.withdrawn.cents))])
                })),
                ("omitted_accounts", .number(data.activity.omitted)),
            ])),
            ("balances", .object([
                ("accounts", .array(data.balances.series.map { series in
                    .object([
                        ("account", .string(series.account)), ("entries", .number(series.entries)),
                        ("points", .array(series.points.map { point in
                            .object([("transaction_date", .string(point.date.description)),
                                     ("balance_cents", .int(point.balance.cents))])
                        })),
                    ])
                })),
                ("omitted_accounts", .number(data.balances.omitted)),
            ])),
            ("reconciliation", .object([
                ("balance_mismatches", .number(data.reconciliation.counts.balanceMismatches)),
                ("negative_balances", .number(data.reconciliation.counts.negativeBalances)),
                ("omitted", .number(data.reconciliation.omitted)),
                ("issues", .array(data.reconciliation.latest.map(issue))),
            ])),
        ]).text
    }

    static func header(_ header: ReportHeader) -> JSONValue {
        .object([
            ("database", .string(header.databasePath)),
            ("entries", .number(header.entries)),
            ("accounts", .number(header.accounts)),
            ("rejected_records", .number(header.rejectedRecords)),
            ("sink_positions", .array(header.sinkPositions.map { position in
                .object([("topic", .string(position.topic)), ("partition", .number(position.partition)),
                         ("next_offset", .int(position.nextOffset)), ("updated_at", .string(position.updatedAt))])
            })),
        ])
    }

    static func page(_ page: TransactionPage, extra: [(String, JSONValue)]) -> JSONValue {
        .object(extra + [("total", .number(page.total)), ("omitted", .number(page.omitted)), ("rows", .array(page.entries.map(entry)))])
    }

    public static func entry(_ entry: LedgerEntry) -> JSONValue {
        .object([
            ("transaction_date", .string(entry.date.description)),
            ("account", .string(entry.account)),
            ("transaction_type", .string(entry.type.rawValue)),
            ("amount_cents", .int(entry.amount.cents)),
            ("balance_cents", .int(entry.balance.cents)),
            ("stated_balance_cents", entry.statedBalance.map { .int($0.cents) } ?? .null),
            ("topic", .string(entry.topic)),
            ("partition", .number(entry.partition)),
            ("offset", .int(entry.offset)),
        ])
    }

    static func issue(_ issue: ReconciliationIssue) -> JSONValue {
        .object([
            ("kind", .string(issue.kind.rawValue)),
            ("account", .string(issue.account)),
            ("transaction_date", .string(issue.date)),
            ("stated_balance_cents", issue.stated.map { .int($0.cents) } ?? .null),
            ("derived_balance_cents", .int(issue.derived.cents)),
            ("topic", .string(issue.topic)),
            ("partition", .number(issue.partition)),
            ("offset", .int(issue.offset)),
        ])
    }
}
