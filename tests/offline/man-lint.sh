#!/bin/sh
# mandoc -Tlint on the generated man pages. Accepted, because scdoc writes them for every page
# and they change nothing in the rendering:
#   STYLE messages (lower-case title in .TH, input lines over 80 bytes): -W warning hides them;
#   "skipping paragraph macro: PP empty", "PP after SH" and "PP after SS": scdoc opens every
#   block with .P, also right after a heading.
# Anything else at level WARNING or above fails.
: "${top_srcdir:?run from make check}" "${top_builddir:?run from make check}"
. "$top_srcdir/tests/offline/tap.sh"

command -v mandoc >/dev/null 2>&1 || skip_all "mandoc is not installed"
pages="docs/inferwatchd.8 docs/inferwatch.conf.5"
plan 2

for page in $pages; do
        file=$(built_or_shipped "$page")
        if [ ! -f "$file" ]; then
                not_ok "mandoc -Tlint $page"
                echo "$page is missing" | diag
                continue
        fi
        out=$(mandoc -Tlint -W warning "$file" 2>&1 |
                grep -v -e 'WARNING: skipping paragraph macro: PP empty$' \
                        -e 'WARNING: skipping paragraph macro: PP after S[HS]$')
        if [ -z "$out" ]; then
                ok "mandoc -Tlint $page"
        else
                not_ok "mandoc -Tlint $page"
                printf '%s\n' "$out" | diag
        fi
done
