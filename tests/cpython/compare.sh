#!/usr/bin/env bash
# Transparency under a real test suite: CPython's socket test suites run
# untraced and under socktap must give the same outcome for every test.
#   tests/cpython/compare.sh [BUILD_DIR]    (default: build)
# Writes tests/cpython/results-<python version>.txt: one line per test,
# "outcome-untraced outcome-traced name", and exits non-zero on any
# difference.  Needs a python3 with its test package (CPython's own
# build, or Debian's libpython3.11-testsuite).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
socktap=$build/socktap
py=${PYTHON:-python3}
tests=(test_socket test_socketserver test_httpservers test_ssl
       test_asyncio.test_sock_lowlevel test_asyncio.test_streams
       test_asyncio.test_sendfile)
# test_socket's VSOCK class hangs on these virtual machines even untraced
exclude=(-i '*VSOCK*')
# the suites that need it only use loopback
resources=(-u network)

"$py" -c 'import test.support' 2>/dev/null || {
	echo "compare.sh: $py has no test package" >&2; exit 2; }
ver=$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

outcomes() {	# junit xml -> "name outcome" lines, sorted
	"$py" - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
rows = []
for tc in ET.parse(sys.argv[1]).iter("testcase"):
    kind = "ok"
    for k in ("failure", "error", "skipped"):
        if tc.find(k) is not None:
            kind = k
    cls = tc.get("classname")
    name = "%s.%s" % (cls, tc.get("name")) if cls else tc.get("name")
    rows.append("%s %s" % (name, kind))
print("\n".join(sorted(rows)))
PY
}

for t in "${tests[@]}"; do
	echo "== $t" >&2
	"$py" -m test --junit-xml "$tmp/$t.p.xml" "${resources[@]}" "${exclude[@]}" "$t" \
		> "$tmp/$t.plain" 2>&1 || true
	"$socktap" -q --no-summary -w /dev/null -- \
		"$py" -m test --junit-xml "$tmp/$t.t.xml" "${resources[@]}" "${exclude[@]}" "$t" \
		> "$tmp/$t.traced" 2>&1 || true
	for k in p t; do
		if [ -s "$tmp/$t.$k.xml" ]; then
			outcomes "$tmp/$t.$k.xml" > "$tmp/$t.$k"
		else	# the whole module did not run: one line says so
			echo "$t.(module) not-run" > "$tmp/$t.$k"
		fi
	done
	join -a1 -a2 -e missing -o 0,1.2,2.2 "$tmp/$t.p" "$tmp/$t.t" \
		> "$tmp/$t.joined"
done
out=$top/tests/cpython/results-$ver.txt
{
	echo "# CPython $ver socket suites, untraced vs under socktap"
	echo "# outcome-untraced outcome-traced test"
	cat "$tmp"/*.joined | awk '{print $2, $3, $1}'
} > "$out"
total=$(grep -vc '^#' "$out")
diff=$(grep -v '^#' "$out" | awk '$1 != $2' | wc -l)
echo "compare.sh: $total tests, $diff different; see $out"
[ "$diff" -eq 0 ]
