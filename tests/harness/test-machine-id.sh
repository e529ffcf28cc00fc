#!/bin/sh
# The harness's private journald where the system has no usable machine id (containers, chroots:
# /etc/machine-id missing, empty, or not an id, with which journald exits at once and silently):
# test-journal.py runs in a mount namespace where /etc/machine-id is made so, and must pass.
: "${top_srcdir:?run from make check}"
. "$top_srcdir/tests/offline/tap.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root for a private mount namespace"
for tool in unshare mount python3; do
        command -v $tool >/dev/null 2>&1 || skip_all "$tool not found"
done
[ -e /etc/machine-id ] || skip_all "/etc/machine-id is missing here already (test-journal.py covers it)"
journal_test=$top_srcdir/tests/harness/test-journal.py
reason=$(python3 "$journal_test" 2>&1 | sed -n 's/^1\.\.0 # SKIP //p')
[ -z "$reason" ] || skip_all "$reason"
plan 3

# run_without CASE: test-journal.py with /etc/machine-id made CASE (garbage, empty, missing).
run_without() {
        d=$(mktemp -d)
        unshare -m --propagation private sh -c '
                set -e
                d=$3
                mount -t tmpfs tmpfs "$d"
                case $1 in
                garbage) echo "not a machine id" > "$d/id"; mount --bind "$d/id" /etc/machine-id ;;
                empty) : > "$d/id"; mount --bind "$d/id" /etc/machine-id ;;
                missing)
                        # A copy of /etc without the file, bound over /etc. Not an overlay of /etc:
                        # overlays stack two deep at most, and where / is one already (a container,
                        # a build chroot) the harness could not lay its own over this one.
                        cp -a /etc "$d/etc"
                        rm -f "$d/etc/machine-id"
                        mount --bind "$d/etc" /etc ;;
                esac
                exec python3 "$2"' - "$1" "$journal_test" "$d"
        r=$?
        rmdir "$d"
        return $r
}

for case in garbage empty missing; do
        out=$(run_without $case 2>&1)
        if printf '%s\n' "$out" | grep -q '^ok 1 ' && ! printf '%s\n' "$out" | grep -q '^not ok'; then
                ok "/etc/machine-id $case: the private journald runs"
        else
                not_ok "/etc/machine-id $case: the private journald runs"
                printf '%s\n' "$out" | tail -n 20 | diag
        fi
done
