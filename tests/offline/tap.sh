# TAP helpers for the offline checks and the package test; sourced. A check whose tool is missing
# reports SKIP. built_or_shipped needs $top_srcdir and $top_builddir (make check sets them).
tap_n=0
tap_failed=0

plan() { echo "1..$1"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
diag() { sed 's/^/# /'; }
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }
# fail_all DESCRIPTION [FILE]: the project's own tool or build product that the whole test needs
# is missing or broken: one failure, not a skip (the "not ok" is the failure; exit 0 so that
# automake's TAP driver does not count an ERROR on top). FILE holds diagnostics.
fail_all() { plan 1; not_ok "$1"; [ -z "${2:-}" ] || diag < "$2"; exit 0; }
# check DESCRIPTION COMMAND...: ok when the command succeeds; its output becomes diagnostics,
# followed by the output of $tap_on_failure (a command, if set).
check() {
        desc=$1
        shift
        if out=$("$@" 2>&1); then
                ok "$desc"
        else
                not_ok "$desc"
                { printf '%s\n' "$out"; ${tap_on_failure:-}; } | diag
        fi
}

# A generated file: in the build tree, or in the source tree when it came with the tarball.
built_or_shipped() {
        if [ -e "$top_builddir/$1" ]; then echo "$top_builddir/$1"; else echo "$top_srcdir/$1"; fi
}
