#!/bin/sh
# The man pages as "man" shows them in an 80-column terminal: troff gives no warning (e.g. "can't
# break line"), no word is hyphenated, and every event name appears whole in inferwatchd(8) (readers
# copy them into events = [...] filters).
: "${top_srcdir:?run from make check}" "${top_builddir:?run from make check}"
. "$top_srcdir/tests/offline/tap.sh"

for tool in groff preconv tbl; do
        command -v $tool >/dev/null 2>&1 || skip_all "$tool is not installed (groff-base)"
done
list_events=$top_builddir/tests/tools/list-events
[ -x "$list_events" ] || fail_all "$list_events was built"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plan 5

# man-db renders an 80-column terminal with a line length of 78 ens.
render() { preconv -e UTF-8 "$1" | tbl | groff -man -Tutf8 -rLL=78n -rLT=78n -ww 2>"$tmp/warnings"; }

for page in docs/inferwatchd.8 docs/inferwatch.conf.5; do
        file=$(built_or_shipped "$page")
        render "$file" > "$tmp/out"
        if [ -s "$tmp/warnings" ]; then
                not_ok "$page at 80 columns: no troff warning"
                diag < "$tmp/warnings"
        else
                ok "$page at 80 columns: no troff warning"
        fi
        # groff -Tutf8 hyphenates with U+2010 at the end of a line.
        if grep -n '‐$' "$tmp/out" > "$tmp/hyphenated"; then
                not_ok "$page at 80 columns: no hyphenated word"
                diag < "$tmp/hyphenated"
        else
                ok "$page at 80 columns: no hyphenated word"
        fi
done

render "$(built_or_shipped docs/inferwatchd.8)" | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g' > "$tmp/out"
missing=
for e in $("$list_events" | awk '{print $1}'); do
        grep -q -F -e "$e" "$tmp/out" || missing="$missing $e"
done
if [ -z "$missing" ]; then
        ok "inferwatchd(8) at 80 columns shows every event name whole"
else
        not_ok "inferwatchd(8) at 80 columns shows every event name whole"
        echo "broken or missing:$missing" | diag
fi
