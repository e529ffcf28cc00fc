#!/bin/sh
# The journal catalog, parsed by journalctl as the systemd package's trigger would: exactly one
# entry per event type, under the MESSAGE_ID the daemon logs it with, and nothing else.
: "${top_srcdir:?run from make check}" "${top_builddir:?run from make check}"
. "$top_srcdir/tests/offline/tap.sh"

catalog=$top_srcdir/systemd/inferwatch.catalog
list_events=$top_builddir/tests/tools/list-events
command -v journalctl >/dev/null 2>&1 || skip_all "journalctl is not installed"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$list_events" > "$tmp/events" 2>"$tmp/err" || fail_all "$list_events runs" "$tmp/err"
n_events=$(wc -l < "$tmp/events")
plan $((n_events + 4))

mkdir -p "$tmp/root/usr/lib/systemd/catalog"
cp "$catalog" "$tmp/root/usr/lib/systemd/catalog/"
check "journalctl --update-catalog parses it" journalctl --root="$tmp/root" --update-catalog
journalctl --root="$tmp/root" --list-catalog > "$tmp/listed" 2>&1

while read -r type id priority; do
        in_file=$(grep -c "^-- $id\$" "$catalog")
        if [ "$in_file" -eq 1 ] && grep -q "^$id inferwatch: ." "$tmp/listed"; then
                ok "$type: one catalog entry ($id)"
        else
                not_ok "$type: one catalog entry ($id)"
                echo "entries in the file: $in_file; journalctl --list-catalog: $(grep -c "^$id " "$tmp/listed")" | diag
        fi
done < "$tmp/events"

extra=$(cut -d' ' -f1 "$tmp/listed" | while read -r id; do
        grep -q " $id " "$tmp/events" || echo "$id"
done)
if [ -z "$extra" ]; then
        ok "no catalog entry without an event type"
else
        not_ok "no catalog entry without an event type"
        printf '%s\n' "$extra" | diag
fi

n_listed=$(wc -l < "$tmp/listed")
if [ "$n_listed" -eq "$n_events" ]; then
        ok "journalctl lists $n_listed entries for $n_events event types"
else
        not_ok "journalctl lists $n_listed entries for $n_events event types"
fi

# Every entry says where to get help (journalctl -x shows it).
n_entries=$(grep -c '^-- ' "$catalog")
n_support=$(grep -c '^Support: https://' "$catalog")
if [ "$n_support" -eq "$n_entries" ]; then
        ok "every entry has a Support: URL ($n_support of $n_entries)"
else
        not_ok "every entry has a Support: URL ($n_support of $n_entries)"
fi
