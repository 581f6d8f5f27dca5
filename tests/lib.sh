# Shared by the end-to-end test scripts: a scratch folder, pass/fail
# counting and the closing line. Source it, then call finish NAME at the end.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
finish() {
	echo
	if [ $failures -eq 0 ]; then
		echo "$1: all passed"
	else
		echo "$1: $failures failed"
		exit 1
	fi
}
