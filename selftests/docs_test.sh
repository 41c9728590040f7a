#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every document under Documentation/ is valid reStructuredText: docutils
# reports no warning or error (broken tables, unclosed literals, ...).
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/selftests/ktap.sh"

docs=("$top"/Documentation/*.rst)
ktap_plan ${#docs[@]}
for doc in "${docs[@]}"; do
	out=$(/usr/bin/python3 - "$doc" 2>&1 <<'PY'
import io, sys
import docutils.core
err = io.StringIO()
docutils.core.publish_doctree(open(sys.argv[1], encoding="utf-8").read(),
                              source_path=sys.argv[1],
                              settings_overrides={"report_level": 2,
                                                  "warning_stream": err})
sys.stdout.write(err.getvalue())
sys.exit(1 if err.getvalue() else 0)
PY
	)
	if [ $? -eq 0 ]; then
		ktap_ok "valid reST: $(basename "$doc")"
	else
		ktap_fail "valid reST: $(basename "$doc")" "$(head -c 300 <<< "$out")"
	fi
done
ktap_finish
