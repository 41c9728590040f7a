#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make dkms-source` then `dkms add` and `dkms build` for the VM kernel,
# all in private trees (--sourcetree, --dkmstree): both modules must come out
# built for that kernel.  `make install` into a DESTDIR must lay out the
# library, headers, pkg-config file, tools and man pages.
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/selftests/ktap.sh"
ktap_plan 3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
kdir=$("$top/tools/vm/kernel-fetch" --kdir 6.1)
rel=$(cat "$top/.cache/kernels/6.1/release" 2>/dev/null)
if ! command -v dkms > /dev/null || [ -z "$kdir" ]; then
	for m in gnomon dm-gnomon-fence; do
		ktap_skip "dkms builds $m.ko" "dkms or the 6.1 headers are missing (make deps)"
	done
else
	mkdir -p "$tmp/dkms"
	make -s -C "$top" dkms-source DESTDIR="$tmp/root" > "$tmp/log" 2>&1
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$tmp"/root/usr/src/gnomon-*/dkms.conf)
	dkms add -m gnomon -v "$ver" --sourcetree "$tmp/root/usr/src" --dkmstree "$tmp/dkms" >> "$tmp/log" 2>&1 &&
	dkms build -m gnomon -v "$ver" -k "$rel" --kernelsourcedir "$kdir" \
		--sourcetree "$tmp/root/usr/src" --dkmstree "$tmp/dkms" >> "$tmp/log" 2>&1
	for m in gnomon dm-gnomon-fence; do
		ko=$(find "$tmp/dkms" -name "$m.ko" | head -n 1)
		if [ -n "$ko" ] && [ "$(/sbin/modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$rel" ]; then
			ktap_ok "dkms builds $m.ko"
		else
			sed 's/^/# /' "$tmp/log" | tail -n 20
			ktap_fail "dkms builds $m.ko" "no module for $rel"
		fi
	done
fi

make -s -C "$top" install DESTDIR="$tmp/inst" PREFIX=/usr > "$tmp/ilog" 2>&1
missing=
for f in usr/lib/libgnomon.a usr/lib/libgnomon.so.0 usr/lib/pkgconfig/libgnomon.pc \
	 usr/include/gnomon.h usr/include/linux/gnomon.h usr/bin/gnomonctl \
	 usr/share/man/man1/gnomonctl.1 usr/sbin/gnomond usr/sbin/gnomon-syncd \
	 usr/share/man/man8/gnomond.8 usr/lib/systemd/system/gnomond.service \
	 usr/lib/systemd/system/gnomon-syncd.service; do
	[ -e "$tmp/inst/$f" ] || missing="$missing $f"
done
units=$(cat "$tmp"/inst/usr/lib/systemd/system/*.service 2>/dev/null)
if [ -z "$missing" ] && grep -q 'prefix=/usr' "$tmp/inst/usr/lib/pkgconfig/libgnomon.pc" &&
   grep -q '^ExecStart=/usr/sbin/gnomond ' <<<"$units" &&
   ! grep -q /usr/local <<<"$units"; then
	ktap_ok "make install lays out library, headers, tools, man pages and units"
else
	sed 's/^/# /' "$tmp/ilog" | tail -n 20
	ktap_fail "make install lays out library, headers, tools, man pages and units" \
		"missing:$missing; $(grep -h '^ExecStart' <<<"$units")"
fi
ktap_finish
