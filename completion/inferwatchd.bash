# bash completion for inferwatchd(8): its options, the values of --log-target, --log-format and
# --log-level, and configuration files (*.conf, then any file) after -c/--config.
# Installed as /usr/share/bash-completion/completions/inferwatchd. Self-contained (no helper of
# the bash-completion package), so that it is testable on its own (tests/offline/completion.sh).

_inferwatchd() {
        local cur=${COMP_WORDS[COMP_CWORD]} prev=
        ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
        # "--log-level=de" arrives as "--log-level" "=" "de" (= is in COMP_WORDBREAKS).
        if [[ $cur == = ]]; then
                cur=
        elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
                prev=${COMP_WORDS[COMP_CWORD - 2]}
        fi
        COMPREPLY=()

        case $prev in
        -c | --config)
                compopt -o filenames 2>/dev/null
                COMPREPLY=($(compgen -f -X '!*.conf' -- "$cur") $(compgen -d -- "$cur"))
                ((${#COMPREPLY[@]} > 0)) || COMPREPLY=($(compgen -f -- "$cur"))
                return
                ;;
        --log-target)
                COMPREPLY=($(compgen -W 'auto journal stderr' -- "$cur"))
                return
                ;;
        --log-format)
                COMPREPLY=($(compgen -W 'text json' -- "$cur"))
                return
                ;;
        --log-level)
                COMPREPLY=($(compgen -W 'emerg alert crit err warning notice info debug' -- "$cur"))
                return
                ;;
        esac

        if [[ $cur == -* || -z $cur ]]; then
                COMPREPLY=($(compgen -W '-c --config= -t --check-config --once --status --json
                        --log-target= --log-format= --log-level= -V --version -h --help' -- "$cur"))
                [[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null
        fi
        return 0
}
complete -F _inferwatchd inferwatchd
