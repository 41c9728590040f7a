#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# libgnomon's exported surface is exactly what lib/gnomon.h declares: the
# dynamic symbols the shared library defines (nm -D) against the functions
# of the header (comments stripped by the preprocessor), all in the version
# node LIBGNOMON_0, under a soname with a version.  Built without the
# version script and hidden visibility, the library also exported lib/core's
# arithmetic, the fallbacks and gnomon_status_name: this test lists them.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"

so=$(ls "$top"/build/lib/libgnomon.so.*.*.* 2>/dev/null | head -n 1)
ktap_plan 5
if [ -z "$so" ]; then
	ktap_skip_all lib_exports "libgnomon.so is not built"
fi
if ! command -v nm >/dev/null || ! command -v readelf >/dev/null; then
	ktap_skip_all lib_exports "binutils (nm, readelf) is not installed"
fi

declared=$(${CC:-cc} -fpreprocessed -dD -E -P "$top/lib/gnomon.h" |
	tr '\n' ' ' | grep -oE '\bgnomon_[a-z_]+[[:space:]]*\(' | tr -d '( ' |
	sort -u)
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TtWiDdBbRrVv]$/ {print $3}' |
	sed 's/@.*//' | grep -v '^LIBGNOMON_' | sort -u)

extra=$(comm -13 <(echo "$declared") <(echo "$exported") | tr '\n' ' ')
missing=$(comm -23 <(echo "$declared") <(echo "$exported") | tr '\n' ' ')
ktap_diag "gnomon.h declares $(wc -w <<<"$declared") functions; $(basename "$so") exports $(wc -w <<<"$exported")"
ktap_eq "nothing exported that gnomon.h does not declare" "" "${extra% }"
ktap_eq "everything gnomon.h declares is exported" "" "${missing% }"

unversioned=$(nm -D --defined-only --with-symbol-versions "$so" 2>/dev/null |
	awk '$2 ~ /^[TtWiDdBbRrVv]$/ && $3 !~ /@LIBGNOMON_0$/ && $3 !~ /^LIBGNOMON_/ {print $3}' |
	tr '\n' ' ')
ktap_eq "every export is in the version node LIBGNOMON_0" "" "${unversioned% }"

soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [[ "$soname" =~ ^libgnomon\.so\.[0-9]+$ ]]; then
	ktap_ok "the soname has a version ($soname)"
else
	ktap_fail "the soname has a version" "soname '$soname'"
fi

# A program built against the header and the shared library alone runs.
prog=$(mktemp /tmp/gnomon-exports.XXXXXX)
trap 'rm -f "$prog"' EXIT
if out=$(${CC:-cc} -std=c11 -Wall -Werror -I"$top/lib" -I"$top/kmod/include/uapi" \
	-x c -o "$prog" - -L"$(dirname "$so")" -lgnomon 2>&1 <<'PROG'
#include <stdio.h>
#include <gnomon.h>
int main(void)
{
	struct gnomon_client *c;
	struct gnomon_tt tt;

	if (gnomon_client__open(&c, GNOMON_OPEN_NO_KERNEL | GNOMON_OPEN_NO_AGENT) ||
	    gnomon_client__now(c, &tt))
		return 1;
	printf("%s %s\n", gnomon_time_source__name(gnomon_client__source(c)),
	       gnomon_status__name(tt.status));
	gnomon_client__close(c);
	return 0;
}
PROG
) && out=$(LD_LIBRARY_PATH=$(dirname "$so") "$prog" 2>&1); then
	ktap_ok "a program linked with -lgnomon runs (TT.now from $out)"
else
	ktap_fail "a program linked with -lgnomon runs" "$(tr '\n' ' ' <<<"$out")"
fi
ktap_finish
