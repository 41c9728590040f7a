#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# No two files of tools/gnomond/daemon/ call each other in a loop (issue
# 12, section 3): the file-level call graph, built from the daemon's
# objects (nm: what each defines, what each leaves undefined), has no
# cycle.  A file A calls B when A uses a symbol B defines.  The files of
# one part count as one, as the issue allows for the files of one module:
# X_Y.c is part X when X.c is there too (storage_files.c with storage.c).
# Every cycle lies inside one strongly connected component of that graph;
# each component of more than one part is reported with the calls inside
# it, which are the edges to cut.  The first test plants a two-file loop in a
# scratch directory, so the checker is seen to fail when it must.  An
# object whose source is gone (a renamed file's, in a tree built before)
# is not read.  Several OBJDIRs are checked each on its own
# (call_cycles_layers.sh: every other layer but raft/ and sim/, which the
# issue lets be one module each).
#
#	daemon_call_cycles.sh [OBJDIR...] (default build/obj/tools/gnomond/daemon)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/ktap.sh"

[ $# -gt 0 ] || set -- "$top/build/obj/tools/gnomond/daemon"

# current FILE.o: its source is still in the tree (always true outside
# build/obj/).
current()
{
	local src=${1%.o}.c
	case $src in
	*/build/obj/*) [ -e "${src%%/build/obj/*}/${src#*/build/obj/}" ] ;;
	*) [ -e "$1" ] ;;
	esac
}

# objects DIR: DIR's current objects.
objects()
{
	local o
	for o in "$1"/*.o; do
		[ -e "$o" ] && current "$o" && echo "$o"
	done
}

# part DIR FILE.o: the part the file belongs to, as "X.c".
part()
{
	local base=${2%.o} p
	base=${base##*/}
	p=${base%%_*}
	if [ "$p" != "$base" ] && [ -e "$1/$p.o" ] && current "$1/$p.o"; then
		echo "$p.c"
	else
		echo "$base.c"
	fi
}

# graph DIR: one line per call between two parts of DIR: "from to symbol".
graph()
{
	local o f
	for o in $(objects "$1"); do
		f=$(part "$1" "$o")
		nm -g --defined-only "$o" | awk -v f="$f" 'NF == 3 { print "D", f, $3 }'
		nm -u "$o" | awk -v f="$f" '{ print "U", f, $NF }'
	done | awk '
		$1 == "D" { def[$3] = $2; next }
		{ use[++n] = $2 " " $3 }
		END {
			for (i = 1; i <= n; i++) {
				split(use[i], u, " ")
				if ((u[2] in def) && def[u[2]] != u[1])
					print u[1], def[u[2]], u[2]
			}
		}' | sort -u
}

# cycles: the graph on stdin; prints, for each component of more than one
# file, "component FILE..." then its calls "  FROM -> TO: SYMBOL...".
# Tarjan's algorithm, in awk.
cycles()
{
	awk '
	function visit(v,    i, w) {
		index_of[v] = low[v] = ++counter
		stack[++sp] = v
		on_stack[v] = 1
		for (i = 1; i <= nout[v]; i++) {
			w = out[v, i]
			if (!(w in index_of)) {
				visit(w)
				if (low[w] < low[v])
					low[v] = low[w]
			} else if (on_stack[w] && index_of[w] < low[v]) {
				low[v] = index_of[w]
			}
		}
		if (low[v] == index_of[v]) {
			ncomp++
			do {
				w = stack[sp--]
				on_stack[w] = 0
				comp[w] = ncomp
				size[ncomp]++
			} while (w != v)
		}
	}
	{
		if (!(($1, $2) in edge)) {
			out[$1, ++nout[$1]] = $2
			edge[$1, $2] = ""
			from[++nedges] = $1
			to[nedges] = $2
		}
		edge[$1, $2] = edge[$1, $2] " " $3
		node[$1] = node[$2] = 1
	}
	END {
		for (v in node)
			if (!(v in index_of))
				visit(v)
		for (c = 1; c <= ncomp; c++) {
			if (size[c] < 2)
				continue
			line = "component"
			for (v in node)
				if (comp[v] == c)
					line = line " " v
			print line
			for (i = 1; i <= nedges; i++)
				if (comp[from[i]] == c && comp[to[i]] == c)
					print "  " from[i] " -> " to[i] ":" \
					      edge[from[i], to[i]]
		}
	}' | while IFS= read -r line; do
		case $line in
		component*)
			echo "component $(tr ' ' '\n' <<<"${line#component }" |
					  sort | paste -sd ' ')" ;;
		*)
			echo "$line" ;;
		esac
	done
}

files=0
for objdir; do
	n=$(objects "$objdir" | wc -l)
	if [ "$n" -eq 0 ]; then
		ktap_plan 1
		ktap_fail "objects of $objdir" "none: build first (make userspace)"
		ktap_finish
		exit
	fi
	files=$((files + n))
done
ktap_plan $((files + 1))

# The control: a.c and b.c call each other, c.c calls a.c only, c.c and
# c_more.c (one part) call each other.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
printf 'void b(void);\nvoid a(void) { b(); }\n' >"$scratch/a.c"
printf 'void a(void);\nvoid b(void) { a(); }\n' >"$scratch/b.c"
printf 'void a(void);\nvoid e(void);\nvoid c(void) { a(); e(); }\n' \
	>"$scratch/c.c"
printf 'void c(void);\nvoid e(void) { c(); }\n' >"$scratch/c_more.c"
for f in a b c c_more; do
	cc -c -o "$scratch/$f.o" "$scratch/$f.c" || break
done
ktap_eq "a planted loop of two files is found" \
	"component a.c b.c|  a.c -> b.c: b|  b.c -> a.c: a" \
	"$(graph "$scratch" | cycles | paste -sd '|')"

for objdir; do
	report=$(graph "$objdir" | cycles)
	if [ -n "$report" ]; then
		ktap_diag "call cycles between the files of $objdir:"
		while IFS= read -r line; do
			ktap_diag "$line"
		done <<<"$report"
	fi
	where=${objdir#*/build/obj/}
	for o in $(objects "$objdir"); do
		f=$where/$(basename "$o" .o).c
		if grep -q "^component.* $(part "$objdir" "$o")\( \|$\)" <<<"$report"; then
			ktap_fail "$f is in no call cycle" "in a component above"
		else
			ktap_ok "$f is in no call cycle"
		fi
	done
done
ktap_finish
