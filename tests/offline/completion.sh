#!/bin/sh
# The bash completion of inferwatchd, run in bash: every long option of `inferwatchd --help` is
# offered, --log-* values complete, -c completes configuration files.
: "${top_srcdir:?run from make check}" "${top_builddir:?run from make check}"
. "$top_srcdir/tests/offline/tap.sh"

command -v bash >/dev/null 2>&1 || skip_all "bash is not installed"
comp=$top_srcdir/completion/inferwatchd.bash
daemon=$top_builddir/daemon/inferwatchd
[ -f "$comp" ] || fail_all "$comp exists"
[ -x "$daemon" ] || fail_all "$daemon was built"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/etc"
: > "$tmp/etc/inferwatch.conf"
: > "$tmp/etc/notes.txt"

# complete WORD...: the candidates (one a line, sorted) for the last word of "inferwatchd WORD...".
complete_words() {
        (cd "$tmp" && bash -c '
                . "$0"
                COMP_WORDS=(inferwatchd "$@")
                COMP_CWORD=$#
                _inferwatchd
                printf "%s\n" "${COMPREPLY[@]}" | sort' "$comp" "$@")
}
# expect_words DESCRIPTION EXPECTED WORD...: EXPECTED is a space-separated sorted list.
expect_words() {
        desc=$1 want=$(printf '%s\n' $2 | sort)
        shift 2
        got=$(complete_words "$@" 2>&1)
        if [ "$got" = "$want" ]; then
                ok "$desc"
        else
                not_ok "$desc"
                printf 'got:\n%s\nexpected:\n%s\n' "$got" "$want" | diag
        fi
}

plan 7

# Every long option of --help, as "--name" or "--name=" (those taking a value).
options=$(complete_words -- "--")
missing=
for o in $("$daemon" --help | grep -o -- '--[a-z-]*=\{0,1\}' | sort -u); do
        printf '%s\n' "$options" | grep -qx -- "$o" || missing="$missing $o"
done
if [ -z "$missing" ]; then
        ok "every long option of inferwatchd --help is completed"
else
        not_ok "every long option of inferwatchd --help is completed"
        echo "missing:$missing" | diag
fi

expect_words "--log-level= completes the priorities" "debug" --log-level = de
expect_words "--log-level completes every priority" "emerg alert crit err warning notice info debug" --log-level ""
expect_words "--log-target completes auto, journal, stderr" "auto journal stderr" --log-target ""
expect_words "--log-format completes text, json" "text json" --log-format = ""
expect_words "-c completes configuration files first" "etc/inferwatch.conf" -c etc/
expect_words "--config completes any file when no .conf matches" "etc/notes.txt" --config etc/n
