function __ledgerstream_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __ledgerstream_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __ledgerstream_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __ledgerstream_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __ledgerstream_parse_tokens -S
    set -l unparsed_tokens (__ledgerstream_tokens -pc)
    switch $unparsed_tokens[1]
    case 'ledgerstream'
        __ledgerstream_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'demo'
            __ledgerstream_parse_subcommand 0 'dir=' 'csv=' 'topic=' 'port=' 'keep-running' 'v/verbose' 'log-level=' 'metrics-listener=' 'ready-max-lag=' 'version' 'h/help'
        case 'broker'
            __ledgerstream_parse_subcommand 1 'listeners=' 'advertised-listeners=' 'log-dirs=' 'num-partitions=' 'auto-create-topics-enable=' 'log-segment-bytes=' 'log-retention-hours=' 'log-retention-ms=' 'log-retention-bytes=' 'message-max-bytes=' 'socket-request-max-bytes=' 'node-id=' 'zookeeper=' 'metrics-listener=' 'override=+' 'v/verbose' 'log-level=' 'version' 'h/help'
        case 'zookeeper'
            __ledgerstream_parse_subcommand 1 'client-port=' 'client-port-address=' 'data-dir=' 'tick-time=' 'metrics-listener=' 'override=+' 'v/verbose' 'log-level=' 'version' 'h/help'
        case 'topic'
            __ledgerstream_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'create'
                __ledgerstream_parse_subcommand 1 'partitions=' 'replication-factor=' 'config=+' 'if-not-exists' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            case 'describe'
                __ledgerstream_parse_subcommand -r 1 'format=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            case 'list'
                __ledgerstream_parse_subcommand 0 'format=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            case 'alter'
                __ledgerstream_parse_subcommand 1 'partitions=' 'config=+' 'delete-config=+' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            case 'delete'
                __ledgerstream_parse_subcommand -r 1 'if-exists' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            end
        case 'group'
            __ledgerstream_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'list'
                __ledgerstream_parse_subcommand 0 'format=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            case 'describe'
                __ledgerstream_parse_subcommand -r 1 'format=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            case 'delete'
                __ledgerstream_parse_subcommand -r 1 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            case 'reset-offsets'
                __ledgerstream_parse_subcommand 0 'group=' 'topic=+' 'all-topics' 'to-earliest' 'to-latest' 'to-offset=' 'to-datetime=' 'shift-by=' 'execute' 'format=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            end
        case 'produce'
            __ledgerstream_parse_subcommand 1 'topic=' 'csv=' 'skip-invalid' 'key=' 'key-delimiter=' 'header=+' 'partition=' 'acks=' 'linger-ms=' 'compression=' 'no-idempotence' 'transactional-id=' 'transaction-timeout-ms=' 'q/quiet' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
        case 'consume'
            __ledgerstream_parse_subcommand -r 1 'sink=' 'db=' 'g/group=' 'session-timeout-ms=' 'from-beginning' 'offset=' 'partition=+' 'n/num=' 'e/exit-at-end' 'format=' 'isolation-level=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'metrics-listener=' 'ready-max-lag=' 'v/verbose' 'log-level=' 'version' 'h/help'
        case 'transactions'
            __ledgerstream_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'list'
                __ledgerstream_parse_subcommand 0 'state=+' 'format=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            case 'describe'
                __ledgerstream_parse_subcommand -r 1 'format=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            end
        case 'user'
            __ledgerstream_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'add'
                __ledgerstream_parse_subcommand 1 'password=' 'password-stdin' 'mechanism=+' 'iterations=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            case 'list'
                __ledgerstream_parse_subcommand -r 1 'format=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            case 'delete'
                __ledgerstream_parse_subcommand 1 'mechanism=+' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            end
        case 'acl'
            __ledgerstream_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'create'
                __ledgerstream_parse_subcommand 0 'allow-principal=+' 'deny-principal=+' 'allow-host=+' 'deny-host=+' 'operation=+' 'topic=' 'group=' 'transactional-id=' 'cluster' 'resource-pattern-type=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            case 'list'
                __ledgerstream_parse_subcommand 0 'allow-principal=+' 'deny-principal=+' 'allow-host=+' 'deny-host=+' 'operation=+' 'topic=' 'group=' 'transactional-id=' 'cluster' 'resource-pattern-type=' 'principal=' 'format=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            case 'delete'
                __ledgerstream_parse_subcommand 0 'allow-principal=+' 'deny-principal=+' 'allow-host=+' 'deny-host=+' 'operation=+' 'topic=' 'group=' 'transactional-id=' 'cluster' 'resource-pattern-type=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
            end
        case 'shell'
            __ledgerstream_parse_subcommand 0 'b/bootstrap-server=' 'X=+' 'command-config=' 'db=' 'topic=' 'history-file=' 'apply-timeout=' 'version' 'h/help'
        case 'report'
            __ledgerstream_parse_subcommand 1 'db=' 'from=' 'to=' 'account=' 'limit=' 'top=' 'width=' 'color=' 'format=' 'f/follow' 'serve' 'desk' 'desk-token-file=' 'topic=' 'apply-timeout=' 'b/bootstrap-server=' 'X=+' 'command-config=' 'version' 'h/help'
        case 'dump-log'
            __ledgerstream_parse_subcommand 1 'records' 'version' 'h/help'
        case 'help'
            __ledgerstream_parse_subcommand -r 1 'version'
        end
    end
end

function __ledgerstream_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __ledgerstream_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __ledgerstream_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __ledgerstream_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__ledgerstream_tokens -p)
    if test -z "$(__ledgerstream_tokens -t)"
        set -l index (count (__ledgerstream_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'ledgerstream' -f
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'demo' -d 'Run the whole pipeline once: broker, topic, CSV import, exactly-once SQLite sink, report.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'broker' -d 'Run a Kafka-compatible broker (speaks the Kafka wire protocol).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'zookeeper' -d 'Run a ZooKeeper-compatible coordinator (speaks the ZooKeeper client protocol).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'topic' -d 'Create, describe, list, alter and delete topics.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'group' -d 'List, describe, delete consumer groups and reset their offsets.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'produce' -d 'Send records to a topic: one per line of standard input, or bank transactions from a CSV file.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'consume' -d 'Print records from topics, as JSON lines or with a kcat-style template.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'transactions' -d 'List and describe transactional producers and their open transactions.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'user' -d 'Add, list and delete SCRAM users (SASL SCRAM-SHA-256/512 logins).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'acl' -d 'Create, list and delete ACLs (who may do what on which topics, groups, transactional ids, the cluster).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'shell' -d 'Work on accounts interactively: balances, deposits, withdrawals, history.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'report' -d 'Show the ledger as text dashboards: transactions, a heatmap, deposit/withdrawal bars, balance charts, reconciliation.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'dump-log' -d 'Print the segments and record batches of a partition directory, validating each batch.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream demo" dir' -l 'dir' -d 'Directory for the demo\'s broker data and ledger database (recreated on each run).' -rfa '(__ledgerstream_complete_directories)'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream demo" csv' -l 'csv' -d 'Transactions to import (the original CSV format).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'csv\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream demo" topic' -l 'topic' -d 'Topic name.' -rfka '(__ledgerstream_custom_completion ---completion demo -- --topic (count (__ledgerstream_tokens -pc)) (__ledgerstream_tokens -tC))'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream demo" port' -l 'port' -d 'Broker port (default: 9092 with --keep-running, so other commands find it; else any free port).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream demo" keep-running' -l 'keep-running' -d 'Keep the broker and the sink running after the report, until Ctrl-C.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream demo" v verbose' -l 'verbose' -s 'v' -d 'Log more detail (same as --log-level debug).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream demo" log-level' -l 'log-level' -d 'Log level: trace, debug, info, notice, warning, error or critical.' -rfka 'trace debug info notice warning error critical'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream demo" metrics-listener' -l 'metrics-listener' -d 'Serve the sink\'s Prometheus metrics at http://HOST:PORT/metrics, with /healthz and /readyz (off unless given; port 0 picks a free one).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream demo" ready-max-lag' -l 'ready-max-lag' -d '/readyz answers 200 once the sink\'s lag (records still to apply, over all partitions) is at most this.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream demo" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream demo" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream broker" -eq 1' -F
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" listeners' -l 'listeners' -d 'Listener(s), e.g. PLAINTEXT://127.0.0.1:9092 (port 0 picks a free port). Property: listeners.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" advertised-listeners' -l 'advertised-listeners' -d 'Address(es) advertised to clients. Property: advertised.listeners.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" log-dirs' -l 'log-dirs' -d 'Data directory. Property: log.dirs.' -rfa '(__ledgerstream_complete_directories)'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" num-partitions' -l 'num-partitions' -d 'Partitions of auto-created topics. Property: num.partitions.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" auto-create-topics-enable' -l 'auto-create-topics-enable' -d 'Create topics on first use: true or false. Property: auto.create.topics.enable.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" log-segment-bytes' -l 'log-segment-bytes' -d 'Segment size in bytes. Property: log.segment.bytes.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" log-retention-hours' -l 'log-retention-hours' -d 'Retention in hours. Property: log.retention.hours.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" log-retention-ms' -l 'log-retention-ms' -d 'Retention in milliseconds. Property: log.retention.ms.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" log-retention-bytes' -l 'log-retention-bytes' -d 'Retention in bytes per partition (-1: none). Property: log.retention.bytes.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" message-max-bytes' -l 'message-max-bytes' -d 'Largest record batch accepted. Property: message.max.bytes.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" socket-request-max-bytes' -l 'socket-request-max-bytes' -d 'Largest request accepted. Property: socket.request.max.bytes.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" node-id' -l 'node-id' -d 'This broker\'s id. Properties: node.id, broker.id.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" zookeeper' -l 'zookeeper' -d 'Register in ZooKeeper at host:port[/chroot]. Property: zookeeper.connect.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" metrics-listener' -l 'metrics-listener' -d 'Serve Prometheus metrics, /healthz and /readyz at [http://]HOST:PORT (off unless given; port 0 picks a free one). Property: metrics.listener.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker"' -l 'override' -d 'Set any property: --override key=value (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" v verbose' -l 'verbose' -s 'v' -d 'Log more detail (same as --log-level debug).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" log-level' -l 'log-level' -d 'Log level: trace, debug, info, notice, warning, error or critical.' -rfka 'trace debug info notice warning error critical'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream broker" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream zookeeper" -eq 1' -F
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream zookeeper" client-port' -l 'client-port' -d 'Client port (0 picks a free port). Property: clientPort.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream zookeeper" client-port-address' -l 'client-port-address' -d 'Address to listen on. Property: clientPortAddress.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream zookeeper" data-dir' -l 'data-dir' -d 'Data directory (transaction log and snapshots). Property: dataDir.' -rfa '(__ledgerstream_complete_directories)'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream zookeeper" tick-time' -l 'tick-time' -d 'Tick length in milliseconds (session timeouts are 2 to 20 ticks by default). Property: tickTime.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream zookeeper" metrics-listener' -l 'metrics-listener' -d 'Serve Prometheus metrics, /healthz and /readyz at HOST:PORT (host 127.0.0.1 if omitted, port 0 picks a free one). Properties: metricsProvider.className=...PrometheusMetricsProvider, metricsProvider.httpHost, metricsProvider.httpPort.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream zookeeper"' -l 'override' -d 'Set any property: --override key=value (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream zookeeper" v verbose' -l 'verbose' -s 'v' -d 'Log more detail (same as --log-level debug).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream zookeeper" log-level' -l 'log-level' -d 'Log level: trace, debug, info, notice, warning, error or critical.' -rfka 'trace debug info notice warning error critical'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream zookeeper" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream zookeeper" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream topic" -eq 1' -fa 'create' -d 'Create a topic.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream topic" -eq 1' -fa 'describe' -d 'Show partitions, leaders, offsets and every config with its value and source.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream topic" -eq 1' -fa 'list' -d 'List topic names.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream topic" -eq 1' -fa 'alter' -d 'Add partitions to a topic or change its configs.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream topic" -eq 1' -fa 'delete' -d 'Delete topics and their data.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic create" partitions' -l 'partitions' -d 'Number of partitions (default: the broker\'s num.partitions).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic create" replication-factor' -l 'replication-factor' -d 'Replication factor (a single ledgerstream broker supports 1).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic create"' -l 'config' -d 'A topic config, key=value (repeatable), e.g. retention.ms=86400000.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic create" if-not-exists' -l 'if-not-exists' -d 'Succeed without changes if the topic already exists.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic create" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic create"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic create" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic create" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic create" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream topic describe" -ge 1' -fka '(__ledgerstream_custom_completion ---completion topic describe -- positional@0 (count (__ledgerstream_tokens -pc)) (__ledgerstream_tokens -tC))'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic describe" format' -l 'format' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic describe" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic describe"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic describe" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic describe" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic describe" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic list" format' -l 'format' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic list" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic list"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic list" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic list" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream topic alter" -eq 1' -fka '(__ledgerstream_custom_completion ---completion topic alter -- positional@0 (count (__ledgerstream_tokens -pc)) (__ledgerstream_tokens -tC))'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic alter" partitions' -l 'partitions' -d 'Grow the topic to this many partitions (never fewer).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic alter"' -l 'config' -d 'Set a topic config, key=value (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic alter"' -l 'delete-config' -d 'Remove a topic config so the default applies again (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic alter" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic alter"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic alter" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic alter" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic alter" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream topic delete" -ge 1' -fka '(__ledgerstream_custom_completion ---completion topic delete -- positional@0 (count (__ledgerstream_tokens -pc)) (__ledgerstream_tokens -tC))'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic delete" if-exists' -l 'if-exists' -d 'Succeed for topics that do not exist.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic delete" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic delete"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic delete" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic delete" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream topic delete" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream group" -eq 1' -fa 'list' -d 'List consumer groups with their type (classic or consumer), protocol type and state.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream group" -eq 1' -fa 'describe' -d 'Show a group\'s state, members, and per partition its committed offset, log end, lag and owner.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream group" -eq 1' -fa 'delete' -d 'Delete groups that have no active members, with their committed offsets.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream group" -eq 1' -fa 'reset-offsets' -d 'Move an inactive group\'s committed offsets (preview unless --execute; refused while it has members).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group list" format' -l 'format' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group list" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group list"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group list" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group list" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group describe" format' -l 'format' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group describe" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group describe"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group describe" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group describe" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group describe" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group delete" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group delete"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group delete" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group delete" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group delete" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets" group' -l 'group' -d 'The group whose offsets to reset.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets"' -l 'topic' -d 'A topic, or TOPIC:P,P,... for some partitions (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets" all-topics' -l 'all-topics' -d 'Every partition the group has committed offsets for.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets" to-earliest' -l 'to-earliest' -d 'Reset to each partition\'s log start.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets" to-latest' -l 'to-latest' -d 'Reset to each partition\'s log end.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets" to-offset' -l 'to-offset' -d 'Reset to this offset.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets" to-datetime' -l 'to-datetime' -d 'Reset to the first offset at or after this time: YYYY-MM-DDTHH:mm:SS[.sss][Z|±hh:mm] (local time without a zone).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets" shift-by' -l 'shift-by' -d 'Move each committed offset by N (negative: back).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets" execute' -l 'execute' -d 'Commit the new offsets (without it the plan is only printed).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets" format' -l 'format' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream group reset-offsets" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream produce" -eq 1' -fka '(__ledgerstream_custom_completion ---completion produce -- positional@0 (count (__ledgerstream_tokens -pc)) (__ledgerstream_tokens -tC))'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" topic' -l 'topic' -d 'Topic to write to (same as the argument).' -rfka '(__ledgerstream_custom_completion ---completion produce -- --topic (count (__ledgerstream_tokens -pc)) (__ledgerstream_tokens -tC))'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" csv' -l 'csv' -d 'Read bank transactions from this CSV file (the original format: transaction_date;account;transaction_value;balance).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'csv\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" skip-invalid' -l 'skip-invalid' -d 'With --csv: send the valid rows and report the bad ones instead of sending nothing.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" key' -l 'key' -d 'The key of every record.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" key-delimiter' -l 'key-delimiter' -d 'Split each line at the first occurrence of this delimiter into key and value (kcat -K).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce"' -l 'header' -d 'A header key=value added to every record (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" partition' -l 'partition' -d 'Write every record to this partition (default: by key hash, else sticky).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" acks' -l 'acks' -d 'Acknowledgements: 0, 1 or all.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" linger-ms' -l 'linger-ms' -d 'Wait up to this many ms to fill batches.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" compression' -l 'compression' -d 'Compress batches (compression.type): none, gzip, lz4 or zstd.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" no-idempotence' -l 'no-idempotence' -d 'Turn idempotence off.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" transactional-id' -l 'transactional-id' -d 'Send the whole input as one transaction under this transactional.id (a rerun with the same id fences and aborts a killed earlier run).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" transaction-timeout-ms' -l 'transaction-timeout-ms' -d 'With --transactional-id: the broker aborts the transaction if it is still open after this long (transaction.timeout.ms).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" q quiet' -l 'quiet' -s 'q' -d 'Print nothing on success.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream produce" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream consume" -ge 1' -fka '(__ledgerstream_custom_completion ---completion consume -- positional@0 (count (__ledgerstream_tokens -pc)) (__ledgerstream_tokens -tC))'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" sink' -l 'sink' -d 'Apply the records to a ledger instead of printing them: sqlite or postgres.' -rfka 'sqlite postgres'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" db' -l 'db' -d 'The ledger: a SQLite file, or a PostgreSQL URL postgres://user@host:port/dbname (env LEDGERSTREAM_DB, then DATABASE_URL; default ledgerstream.db).' -rfa '(set -l exts \'db\' \'sqlite\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" g group' -s 'g' -l 'group' -d 'Consumer group: join it (commit positions) instead of reading partitions directly.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" session-timeout-ms' -l 'session-timeout-ms' -d 'With --group: how long the group waits for a silent member before reassigning its partitions (session.timeout.ms).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" from-beginning' -l 'from-beginning' -d 'Start at the earliest offset when there is no committed one (default: only new records).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" offset' -l 'offset' -d 'Start offset: beginning, end, a number, or @TIMESTAMP_MS (with --partition or without --group).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume"' -l 'partition' -d 'Read only this partition (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" n num' -s 'n' -l 'num' -d 'Stop after this many records.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" e exit-at-end' -s 'e' -l 'exit-at-end' -d 'Stop when every partition has been read to its end.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" format' -l 'format' -d 'Output: json (default: one object per line) or a template such as \'%k=%s\\n\'.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" isolation-level' -l 'isolation-level' -d 'read_committed or read_uncommitted (default: read_committed with --sink, else read_uncommitted).' -rfka 'read_uncommitted read_committed'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" metrics-listener' -l 'metrics-listener' -d 'Serve the sink\'s Prometheus metrics at http://HOST:PORT/metrics, with /healthz and /readyz (off unless given; port 0 picks a free one).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" ready-max-lag' -l 'ready-max-lag' -d '/readyz answers 200 once the sink\'s lag (records still to apply, over all partitions) is at most this.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" v verbose' -l 'verbose' -s 'v' -d 'Log more detail (same as --log-level debug).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" log-level' -l 'log-level' -d 'Log level: trace, debug, info, notice, warning, error or critical.' -rfka 'trace debug info notice warning error critical'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream consume" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream transactions" -eq 1' -fa 'list' -d 'List transactional ids with their producer and state.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream transactions" -eq 1' -fa 'describe' -d 'Show a transactional id\'s producer, state, timeout and open transaction.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions list"' -l 'state' -d 'Only ids in this state (repeatable), e.g. Ongoing.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions list" format' -l 'format' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions list" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions list"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions list" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions list" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions describe" format' -l 'format' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions describe" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions describe"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions describe" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions describe" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream transactions describe" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream user" -eq 1' -fa 'add' -d 'Create a SCRAM user, or replace its password.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream user" -eq 1' -fa 'list' -d 'List SCRAM users and their mechanisms.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream user" -eq 1' -fa 'delete' -d 'Delete a SCRAM user\'s credentials.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user add" password' -l 'password' -d 'The password (or --password-stdin).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user add" password-stdin' -l 'password-stdin' -d 'Read the password from the first line of standard input.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user add"' -l 'mechanism' -d 'SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable; default SCRAM-SHA-256).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user add" iterations' -l 'iterations' -d 'PBKDF2 iterations, 4096-16384.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user add" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user add"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user add" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user add" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user add" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user list" format' -l 'format' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user list" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user list"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user list" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user list" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user delete"' -l 'mechanism' -d 'Only this mechanism (repeatable; default: every mechanism the user has).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user delete" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user delete"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user delete" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user delete" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream user delete" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream acl" -eq 1' -fa 'create' -d 'Add ACLs: each principal × host × operation × resource given.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream acl" -eq 1' -fa 'list' -d 'List ACLs, all or those on the resources given.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_positional "ledgerstream acl" -eq 1' -fa 'delete' -d 'Remove ACLs matching the options (resource, and optionally principals, hosts and operations).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create"' -l 'allow-principal' -d 'Principals to allow, e.g. User:alice (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create"' -l 'deny-principal' -d 'Principals to deny (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create"' -l 'allow-host' -d 'Hosts the allow applies from (repeatable; default *, every host).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create"' -l 'deny-host' -d 'Hosts the deny applies from (repeatable; default *).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create"' -l 'operation' -d 'Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create" topic' -l 'topic' -d 'Topic name (or prefix with --resource-pattern-type prefixed; * for every topic).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create" group' -l 'group' -d 'Consumer group id (or prefix; * for every group).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create" transactional-id' -l 'transactional-id' -d 'Transactional id (or prefix; * for every id).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create" cluster' -l 'cluster' -d 'The cluster itself (create topics, idempotent writes, ACL and user administration).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create" resource-pattern-type' -l 'resource-pattern-type' -d 'literal or prefixed; list and delete also take any and match.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl create" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list"' -l 'allow-principal' -d 'Principals to allow, e.g. User:alice (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list"' -l 'deny-principal' -d 'Principals to deny (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list"' -l 'allow-host' -d 'Hosts the allow applies from (repeatable; default *, every host).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list"' -l 'deny-host' -d 'Hosts the deny applies from (repeatable; default *).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list"' -l 'operation' -d 'Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list" topic' -l 'topic' -d 'Topic name (or prefix with --resource-pattern-type prefixed; * for every topic).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list" group' -l 'group' -d 'Consumer group id (or prefix; * for every group).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list" transactional-id' -l 'transactional-id' -d 'Transactional id (or prefix; * for every id).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list" cluster' -l 'cluster' -d 'The cluster itself (create topics, idempotent writes, ACL and user administration).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list" resource-pattern-type' -l 'resource-pattern-type' -d 'literal or prefixed; list and delete also take any and match.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list" principal' -l 'principal' -d 'Only ACLs of this principal.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list" format' -l 'format' -d 'Output format: text or json.' -rfka 'text json'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete"' -l 'allow-principal' -d 'Principals to allow, e.g. User:alice (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete"' -l 'deny-principal' -d 'Principals to deny (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete"' -l 'allow-host' -d 'Hosts the allow applies from (repeatable; default *, every host).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete"' -l 'deny-host' -d 'Hosts the deny applies from (repeatable; default *).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete"' -l 'operation' -d 'Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All (repeatable).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete" topic' -l 'topic' -d 'Topic name (or prefix with --resource-pattern-type prefixed; * for every topic).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete" group' -l 'group' -d 'Consumer group id (or prefix; * for every group).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete" transactional-id' -l 'transactional-id' -d 'Transactional id (or prefix; * for every id).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete" cluster' -l 'cluster' -d 'The cluster itself (create topics, idempotent writes, ACL and user administration).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete" resource-pattern-type' -l 'resource-pattern-type' -d 'literal or prefixed; list and delete also take any and match.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream acl delete" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream shell" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream shell"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream shell" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream shell" db' -l 'db' -d 'The ledger: a SQLite file, or a PostgreSQL URL postgres://user@host:port/dbname (env LEDGERSTREAM_DB, then DATABASE_URL; default ledgerstream.db).' -rfa '(set -l exts \'db\' \'sqlite\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream shell" topic' -l 'topic' -d 'Topic transactions are produced to.' -rfka '(__ledgerstream_custom_completion ---completion shell -- --topic (count (__ledgerstream_tokens -pc)) (__ledgerstream_tokens -tC))'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream shell" history-file' -l 'history-file' -d 'History file (default ~/.ledgerstream_history; env LEDGERSTREAM_HISTORY).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream shell" apply-timeout' -l 'apply-timeout' -d 'Seconds to wait for the sink to apply a new transaction before saying it has not.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream shell" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream shell" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" db' -l 'db' -d 'The ledger: a SQLite file, or a PostgreSQL URL postgres://user@host:port/dbname (env LEDGERSTREAM_DB, then DATABASE_URL; default ledgerstream.db).' -rfa '(set -l exts \'db\' \'sqlite\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" from' -l 'from' -d 'First day of the period (inclusive).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" to' -l 'to' -d 'Last day of the period (inclusive).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" account' -l 'account' -d 'The account whose balance is charted (default: the --top most active).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" limit' -l 'limit' -d 'Transactions and issues listed: the latest N (default 20; 0 for all; csv: all).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" top' -l 'top' -d 'Accounts in the charts: the N most active in the period (0 for all).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" width' -l 'width' -d 'Columns to fit (default: the terminal\'s, else $COLUMNS, else 100).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" color' -l 'color' -d 'Colour: auto (on a terminal, unless NO_COLOR is set), always or never.' -rfka 'auto always never'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" format' -l 'format' -d 'Output: text, json or csv.' -rfka 'text json csv'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" f follow' -s 'f' -l 'follow' -d 'Keep running and redraw as new transactions arrive (Ctrl-C stops).'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" serve' -l 'serve' -d 'Serve the dashboard as a live web page (on 127.0.0.1:8501 unless an address follows) until Ctrl-C.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" desk' -l 'desk' -d 'With --serve: the transaction desk (deposits and withdrawals), behind a login with the desk token.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" desk-token-file' -l 'desk-token-file' -d 'With --desk: read the desk token from FILE (default: $LEDGERSTREAM_DESK_TOKEN).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" topic' -l 'topic' -d 'With --desk: the topic transactions are produced to.' -rfka '(__ledgerstream_custom_completion ---completion report -- --topic (count (__ledgerstream_tokens -pc)) (__ledgerstream_tokens -tC))'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" apply-timeout' -l 'apply-timeout' -d 'With --desk: seconds to wait for the sink to apply a transaction before saying it has not.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" b bootstrap-server brokers' -s 'b' -l 'bootstrap-server' -l 'brokers' -d 'Broker(s) to bootstrap from: host:port[,host:port…] (env LEDGERSTREAM_BOOTSTRAP_SERVERS; default localhost:9092).' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report"' -s 'X' -d 'A client property, librdkafka style (repeatable): security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm; reconnect.backoff.ms, reconnect.backoff.max.ms; for produce delivery.timeout.ms (message.timeout.ms), max.block.ms, request.timeout.ms, buffer.memory (queue.buffering.max.kbytes); for consume default.api.timeout.ms. Any other name is ignored with a warning.' -rfka ''
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" command-config' -l 'command-config' -d 'A Kafka client properties file, as Kafka\'s tools take (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.*).' -rF
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream report" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream dump-log" records' -l 'records' -d 'Also print every record\'s offset, timestamp, key and value.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream dump-log" version' -l 'version' -d 'Show the version.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream dump-log" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'ledgerstream' -n '__ledgerstream_should_offer_completions_for_flags_or_options "ledgerstream help" version' -l 'version' -d 'Show the version.'
