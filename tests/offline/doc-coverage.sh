#!/bin/sh
# The documentation against the code: every event type and MESSAGE_ID (from list-events) appears
# in inferwatchd(8); every configuration key the parser accepts (from list-config-keys) has an
# entry in its section of inferwatch.conf(5) and a line, possibly commented out, in its group of
# the example configuration conf/inferwatch.conf.
: "${top_srcdir:?run from make check}" "${top_builddir:?run from make check}"
. "$top_srcdir/tests/offline/tap.sh"

tools=$top_builddir/tests/tools
man8=$top_srcdir/docs/inferwatchd.8.scd
man5=$top_srcdir/docs/inferwatch.conf.5.scd
example=$top_srcdir/conf/inferwatch.conf

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$tools/list-events" > "$tmp/events" 2>"$tmp/err" || fail_all "list-events runs" "$tmp/err"
"$tools/list-config-keys" > "$tmp/keys" 2>"$tmp/err" || fail_all "list-config-keys runs" "$tmp/err"
plan $(($(wc -l < "$tmp/events") + 2 * $(wc -l < "$tmp/keys")))

# What a reader of inferwatchd(8) sees: the rendered page when mandoc is there, else the source.
# The sed takes out the overstrikes (X^HX bold, _^HX underlined) as col -bx would.
page=$(built_or_shipped docs/inferwatchd.8)
if command -v mandoc >/dev/null 2>&1 && [ -f "$page" ]; then
        bs=$(printf '\b')
        mandoc -Tascii -Owidth=200 "$page" | sed "s/.$bs//g" > "$tmp/man8.txt"
else
        cp "$man8" "$tmp/man8.txt"
fi

while read -r type id priority; do
        if grep -qF "$type" "$tmp/man8.txt" && grep -qF "$id" "$tmp/man8.txt"; then
                ok "inferwatchd(8) documents $type and its MESSAGE_ID $id"
        else
                not_ok "inferwatchd(8) documents $type and its MESSAGE_ID $id"
        fi
done < "$tmp/events"

# inferwatch.conf(5): keys are entries "*KEY* = ..." under "# GLOBAL SETTINGS", "# ACCOUNTS",
# "# PROJECTS" or "# WEBHOOKS"; the lists themselves open their own sections.
section_of() {
        case $1:$2 in
        global:accounts | global:projects | global:webhooks | global:metrics | global:heartbeat | global:cluster) echo "$2" | tr a-z A-Z ;;
        global:*) echo "GLOBAL SETTINGS" ;;
        *) echo "$1" | tr a-z A-Z ;;
        esac
}
# The example: top-level keys outside any list; the others inside "GROUP = ( ... );" or a group
# "GROUP = { ... };", which may be commented out as a whole.
group_lines() {
        awk -v want="$1" '
                /^#?[a-z_]+[ \t]*=[ \t]*[({]/ { if (want == "global") print; group = $1; sub(/^#/, "", group); next }
                /^#?[)}]/ { group = ""; next }
                (want == "global" && group == "") || group == want { print }
        ' "$example"
}

while read -r group key; do
        section=$(section_of "$group" "$key")
        if awk -v s="# $section" -v k="*$key*" '
                /^# / { inside = ($0 == s); next }
                inside && index($0, k) == 1 { found = 1 }
                END { exit !found }' "$man5"; then
                ok "inferwatch.conf(5) documents $key under $section"
        else
                not_ok "inferwatch.conf(5) documents $key under $section"
        fi
        if group_lines "$group" | grep -Eq "^[[:space:]]*#?[[:space:]]*$key[[:space:]]*[=:]"; then
                ok "conf/inferwatch.conf shows $key ($group)"
        else
                not_ok "conf/inferwatch.conf shows $key ($group)"
        fi
done < "$tmp/keys"
