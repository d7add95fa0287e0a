#!/bin/bash

__ledgerstream_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__ledgerstream_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__ledgerstream_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__ledgerstream_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_ledgerstream() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __ledgerstream_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    demo|broker|zookeeper|topic|group|produce|consume|transactions|user|acl|shell|report|dump-log|help)
        # Offer subcommand argument completions
        "_ledgerstream_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'demo broker zookeeper topic group produce consume transactions user acl shell report dump-log help' -- "${cur}"))
        ;;
    esac
}

_ledgerstream_demo() {
    repeating_flags=()
    non_repeating_flags=(--keep-running --verbose -v --version -h --help)
    repeating_options=()
    non_repeating_options=(--dir --csv --topic --port --log-level --metrics-listener --ready-max-lag)
    __ledgerstream_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--dir')
        __ledgerstream_add_completions -d
        return
        ;;
    '--csv')
        __ledgerstream_add_completions -o plusdirs -fX '!*.@(csv)'
        return
        ;;
    '--topic')
        __ledgerstream_add_completions -W "$(__ledgerstream_custom_complete ---completion demo -- --topic "${COMP_CWORD}" "$(__ledgerstream_cursor_index_in_current_word)")"
        return
        ;;
    '--port')
        return
        ;;
    '--log-level')
        __ledgerstream_add_completions -W 'trace'$'\n''debug'$'\n''info'$'\n''notice'$'\n''warning'$'\n''error'$'\n''critical'
        return
        ;;
    '--metrics-listener')
        return
        ;;
    '--ready-max-lag')
        return
        ;;
    esac
}

_ledgerstream_broker() {
    repeating_flags=()
    non_repeating_flags=(--verbose -v --version -h --help)
    repeating_options=(--override)
    non_repeating_options=(--listeners --advertised-listeners --log-dirs --num-partitions --auto-create-topics-enable --log-segment-bytes --log-retention-hours --log-retention-ms --log-retention-bytes --message-max-bytes --socket-request-max-bytes --node-id --zookeeper --metrics-listener --log-level)
    __ledgerstream_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--listeners')
        return
        ;;
    '--advertised-listeners')
        return
        ;;
    '--log-dirs')
        __ledgerstream_add_completions -d
        return
        ;;
    '--num-partitions')
        return
        ;;
    '--auto-create-topics-enable')
        return
        ;;
    '--log-segment-bytes')
        return
        ;;
    '--log-retention-hours')
        return
        ;;
    '--log-retention-ms')
        return
        ;;
    '--log-retention-bytes')
        return
        ;;
    '--message-max-bytes')
        return
        ;;
    '--socket-request-max-bytes')
        return
        ;;
    '--node-id')
        return
        ;;
    '--zookeeper')
        return
        ;;
    '--metrics-listener')
        return
        ;;
    '--override')
        return
        ;;
    '--log-level')
        __ledgerstream_add_completions -W 'trace'$'\n''debug'$'\n''info'$'\n''notice'$'\n''warning'$'\n''error'$'\n''critical'
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_zookeeper() {
    repeating_flags=()
    non_repeating_flags=(--verbose -v --version -h --help)
    repeating_options=(--override)
    non_repeating_options=(--client-port --client-port-address --data-dir --tick-time --metrics-listener --log-level)
    __ledgerstream_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--client-port')
        return
        ;;
    '--client-port-address')
        return
        ;;
    '--data-dir')
        __ledgerstream_add_completions -d
        return
        ;;
    '--tick-time')
        return
        ;;
    '--metrics-listener')
        return
        ;;
    '--override')
        return
        ;;
    '--log-level')
        __ledgerstream_add_completions -W 'trace'$'\n''debug'$'\n''info'$'\n''notice'$'\n''warning'$'\n''error'$'\n''critical'
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_topic() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ledgerstream_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    create|describe|list|alter|delete)
        # Offer subcommand argument completions
        "_ledgerstream_topic_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'create describe list alter delete' -- "${cur}"))
        ;;
    esac
}

_ledgerstream_topic_create() {
    repeating_flags=()
    non_repeating_flags=(--if-not-exists --version -h --help)
    repeating_options=(--config -X)
    non_repeating_options=(--partitions --replication-factor -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--partitions')
        return
        ;;
    '--replication-factor')
        return
        ;;
    '--config')
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_topic_describe() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(-X)
    non_repeating_options=(--format -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--format')
        __ledgerstream_add_completions -W 'text'$'\n''json'
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    *)
        __ledgerstream_add_completions -W "$(__ledgerstream_custom_complete ---completion topic describe -- positional@0 "${COMP_CWORD}" "$(__ledgerstream_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ledgerstream_topic_list() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(-X)
    non_repeating_options=(--format -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--format')
        __ledgerstream_add_completions -W 'text'$'\n''json'
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_topic_alter() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(--config --delete-config -X)
    non_repeating_options=(--partitions -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--partitions')
        return
        ;;
    '--config')
        return
        ;;
    '--delete-config')
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ledgerstream_add_completions -W "$(__ledgerstream_custom_complete ---completion topic alter -- positional@0 "${COMP_CWORD}" "$(__ledgerstream_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ledgerstream_topic_delete() {
    repeating_flags=()
    non_repeating_flags=(--if-exists --version -h --help)
    repeating_options=(-X)
    non_repeating_options=(-b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    *)
        __ledgerstream_add_completions -W "$(__ledgerstream_custom_complete ---completion topic delete -- positional@0 "${COMP_CWORD}" "$(__ledgerstream_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ledgerstream_group() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ledgerstream_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    list|describe|delete|reset-offsets)
        # Offer subcommand argument completions
        "_ledgerstream_group_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'list describe delete reset-offsets' -- "${cur}"))
        ;;
    esac
}

_ledgerstream_group_list() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(-X)
    non_repeating_options=(--format -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--format')
        __ledgerstream_add_completions -W 'text'$'\n''json'
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_group_describe() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(-X)
    non_repeating_options=(--format -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--format')
        __ledgerstream_add_completions -W 'text'$'\n''json'
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_group_delete() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(-X)
    non_repeating_options=(-b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_group_reset-offsets() {
    repeating_flags=()
    non_repeating_flags=(--all-topics --to-earliest --to-latest --execute --version -h --help)
    repeating_options=(--topic -X)
    non_repeating_options=(--group --to-offset --to-datetime --shift-by --format -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--group')
        return
        ;;
    '--topic')
        return
        ;;
    '--to-offset')
        return
        ;;
    '--to-datetime')
        return
        ;;
    '--shift-by')
        return
        ;;
    '--format')
        __ledgerstream_add_completions -W 'text'$'\n''json'
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_produce() {
    repeating_flags=()
    non_repeating_flags=(--skip-invalid --no-idempotence --quiet -q --version -h --help)
    repeating_options=(--header -X)
    non_repeating_options=(--topic --csv --key --key-delimiter --partition --acks --linger-ms --compression --transactional-id --transaction-timeout-ms -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--topic')
        __ledgerstream_add_completions -W "$(__ledgerstream_custom_complete ---completion produce -- --topic "${COMP_CWORD}" "$(__ledgerstream_cursor_index_in_current_word)")"
        return
        ;;
    '--csv')
        __ledgerstream_add_completions -o plusdirs -fX '!*.@(csv)'
        return
        ;;
    '--key')
        return
        ;;
    '--key-delimiter')
        return
        ;;
    '--header')
        return
        ;;
    '--partition')
        return
        ;;
    '--acks')
        return
        ;;
    '--linger-ms')
        return
        ;;
    '--compression')
        return
        ;;
    '--transactional-id')
        return
        ;;
    '--transaction-timeout-ms')
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __ledgerstream_add_completions -W "$(__ledgerstream_custom_complete ---completion produce -- positional@0 "${COMP_CWORD}" "$(__ledgerstream_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ledgerstream_consume() {
    repeating_flags=()
    non_repeating_flags=(--from-beginning -e --exit-at-end --verbose -v --version -h --help)
    repeating_options=(--partition -X)
    non_repeating_options=(--sink --db -g --group --session-timeout-ms --offset -n --num --format --isolation-level -b --bootstrap-server --brokers --command-config --metrics-listener --ready-max-lag --log-level)
    __ledgerstream_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--sink')
        __ledgerstream_add_completions -W 'sqlite'$'\n''postgres'
        return
        ;;
    '--db')
        __ledgerstream_add_completions -o plusdirs -fX '!*.@(db|sqlite)'
        return
        ;;
    '-g'|'--group')
        return
        ;;
    '--session-timeout-ms')
        return
        ;;
    '--offset')
        return
        ;;
    '--partition')
        return
        ;;
    '-n'|'--num')
        return
        ;;
    '--format')
        return
        ;;
    '--isolation-level')
        __ledgerstream_add_completions -W 'read_uncommitted'$'\n''read_committed'
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    '--metrics-listener')
        return
        ;;
    '--ready-max-lag')
        return
        ;;
    '--log-level')
        __ledgerstream_add_completions -W 'trace'$'\n''debug'$'\n''info'$'\n''notice'$'\n''warning'$'\n''error'$'\n''critical'
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    *)
        __ledgerstream_add_completions -W "$(__ledgerstream_custom_complete ---completion consume -- positional@0 "${COMP_CWORD}" "$(__ledgerstream_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_ledgerstream_transactions() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ledgerstream_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    list|describe)
        # Offer subcommand argument completions
        "_ledgerstream_transactions_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'list describe' -- "${cur}"))
        ;;
    esac
}

_ledgerstream_transactions_list() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(--state -X)
    non_repeating_options=(--format -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--state')
        return
        ;;
    '--format')
        __ledgerstream_add_completions -W 'text'$'\n''json'
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_transactions_describe() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(-X)
    non_repeating_options=(--format -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--format')
        __ledgerstream_add_completions -W 'text'$'\n''json'
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_user() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ledgerstream_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    add|list|delete)
        # Offer subcommand argument completions
        "_ledgerstream_user_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'add list delete' -- "${cur}"))
        ;;
    esac
}

_ledgerstream_user_add() {
    repeating_flags=()
    non_repeating_flags=(--password-stdin --version -h --help)
    repeating_options=(--mechanism -X)
    non_repeating_options=(--password --iterations -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--password')
        return
        ;;
    '--mechanism')
        return
        ;;
    '--iterations')
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_user_list() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(-X)
    non_repeating_options=(--format -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--format')
        __ledgerstream_add_completions -W 'text'$'\n''json'
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_user_delete() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(--mechanism -X)
    non_repeating_options=(-b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--mechanism')
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_acl() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ledgerstream_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    create|list|delete)
        # Offer subcommand argument completions
        "_ledgerstream_acl_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'create list delete' -- "${cur}"))
        ;;
    esac
}

_ledgerstream_acl_create() {
    repeating_flags=()
    non_repeating_flags=(--cluster --version -h --help)
    repeating_options=(--allow-principal --deny-principal --allow-host --deny-host --operation -X)
    non_repeating_options=(--topic --group --transactional-id --resource-pattern-type -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--allow-principal')
        return
        ;;
    '--deny-principal')
        return
        ;;
    '--allow-host')
        return
        ;;
    '--deny-host')
        return
        ;;
    '--operation')
        return
        ;;
    '--topic')
        return
        ;;
    '--group')
        return
        ;;
    '--transactional-id')
        return
        ;;
    '--resource-pattern-type')
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_acl_list() {
    repeating_flags=()
    non_repeating_flags=(--cluster --version -h --help)
    repeating_options=(--allow-principal --deny-principal --allow-host --deny-host --operation -X)
    non_repeating_options=(--topic --group --transactional-id --resource-pattern-type --principal --format -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--allow-principal')
        return
        ;;
    '--deny-principal')
        return
        ;;
    '--allow-host')
        return
        ;;
    '--deny-host')
        return
        ;;
    '--operation')
        return
        ;;
    '--topic')
        return
        ;;
    '--group')
        return
        ;;
    '--transactional-id')
        return
        ;;
    '--resource-pattern-type')
        return
        ;;
    '--principal')
        return
        ;;
    '--format')
        __ledgerstream_add_completions -W 'text'$'\n''json'
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_acl_delete() {
    repeating_flags=()
    non_repeating_flags=(--cluster --version -h --help)
    repeating_options=(--allow-principal --deny-principal --allow-host --deny-host --operation -X)
    non_repeating_options=(--topic --group --transactional-id --resource-pattern-type -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--allow-principal')
        return
        ;;
    '--deny-principal')
        return
        ;;
    '--allow-host')
        return
        ;;
    '--deny-host')
        return
        ;;
    '--operation')
        return
        ;;
    '--topic')
        return
        ;;
    '--group')
        return
        ;;
    '--transactional-id')
        return
        ;;
    '--resource-pattern-type')
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_shell() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(-X)
    non_repeating_options=(-b --bootstrap-server --brokers --command-config --db --topic --history-file --apply-timeout)
    __ledgerstream_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    '--db')
        __ledgerstream_add_completions -o plusdirs -fX '!*.@(db|sqlite)'
        return
        ;;
    '--topic')
        __ledgerstream_add_completions -W "$(__ledgerstream_custom_complete ---completion shell -- --topic "${COMP_CWORD}" "$(__ledgerstream_cursor_index_in_current_word)")"
        return
        ;;
    '--history-file')
        __ledgerstream_add_completions -f
        return
        ;;
    '--apply-timeout')
        return
        ;;
    esac
}

_ledgerstream_report() {
    repeating_flags=()
    non_repeating_flags=(-f --follow --serve --desk --version -h --help)
    repeating_options=(-X)
    non_repeating_options=(--db --from --to --account --limit --top --width --color --format --desk-token-file --topic --apply-timeout -b --bootstrap-server --brokers --command-config)
    __ledgerstream_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--db')
        __ledgerstream_add_completions -o plusdirs -fX '!*.@(db|sqlite)'
        return
        ;;
    '--from')
        return
        ;;
    '--to')
        return
        ;;
    '--account')
        return
        ;;
    '--limit')
        return
        ;;
    '--top')
        return
        ;;
    '--width')
        return
        ;;
    '--color')
        __ledgerstream_add_completions -W 'auto'$'\n''always'$'\n''never'
        return
        ;;
    '--format')
        __ledgerstream_add_completions -W 'text'$'\n''json'$'\n''csv'
        return
        ;;
    '--desk-token-file')
        __ledgerstream_add_completions -f
        return
        ;;
    '--topic')
        __ledgerstream_add_completions -W "$(__ledgerstream_custom_complete ---completion report -- --topic "${COMP_CWORD}" "$(__ledgerstream_cursor_index_in_current_word)")"
        return
        ;;
    '--apply-timeout')
        return
        ;;
    '-b'|'--bootstrap-server'|'--brokers')
        return
        ;;
    '-X')
        return
        ;;
    '--command-config')
        __ledgerstream_add_completions -f
        return
        ;;
    esac
}

_ledgerstream_dump-log() {
    repeating_flags=()
    non_repeating_flags=(--records --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __ledgerstream_offer_flags_options 1
}

_ledgerstream_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __ledgerstream_offer_flags_options -1
}

complete -o filenames -F _ledgerstream ledgerstream
