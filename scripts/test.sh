#!/bin/sh
# The whole test suite from a clean clone: dependencies, a -Werror build with `make check`, and a
# second build under AddressSanitizer + UndefinedBehaviorSanitizer. Ends with one line
# "N passed, N failed, N skipped"; exits non-zero when anything failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/deps.sh"
iw_install_deps || { echo "could not install the build dependencies"; exit 1; }
jobs=$(nproc 2>/dev/null || echo 2)

cd "$top" && ./autogen.sh >/dev/null 2>&1 || { echo "autogen.sh failed"; ./autogen.sh; exit 1; }

status=0
run_build() { # name, configure flags...
        name=$1
        shift
        dir="$top/build-$name"
        mkdir -p "$dir" && cd "$dir" || return 1
        echo "== $name: configure $*"
        "$top/configure" -q "$@" >configure.out 2>&1 || { cat configure.out; return 1; }
        echo "== $name: build"
        make -j"$jobs" >make.out 2>&1 || { tail -n 40 make.out; return 1; }
        echo "== $name: make check"
        make -j"$jobs" check >check.out 2>&1
        r=$?
        grep -E '^(FAIL|ERROR|XPASS|SKIP):' check.out | head -n 60
        grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' check.out
        [ $r -eq 0 ] || { for f in $(grep -lE '^:test-result: (FAIL|ERROR)' $(find . -name '*.trs') 2>/dev/null); do
                echo "---- ${f%.trs}.log"; tail -n 60 "${f%.trs}.log"; done; }
        return $r
}

run_build werror --enable-werror || status=1
run_build sanitizers --enable-werror --enable-sanitizers || status=1

# Sum the automake summaries of both builds.
total() { cat "$top"/build-*/check.out 2>/dev/null | sed -n "s/^# $1: *//p" | awk '{s += $1} END {print s + 0}'; }
pass=$(total PASS)
fail=$(( $(total FAIL) + $(total ERROR) + $(total XPASS) ))
skip=$(total SKIP)
[ "$fail" -eq 0 ] || status=1
[ "$pass" -gt 0 ] || status=1
echo "$pass passed, $fail failed, $skip skipped"
exit $status
