# test_helper.bash - loaded by every bats suite: `load test_helper`.
#
# Puts the build under test first in PATH (build/bin, or $FS_BIN for the
# sanitizer run), fixes the locale, gives each test a scratch directory
# ($T), and loads bats-support and bats-assert.

FS_ROOT="$(cd "$(dirname "${BATS_TEST_FILENAME}")/.." && pwd)"
FS_BIN="${FS_BIN:-$FS_ROOT/build/bin}"
export PATH="$FS_BIN:$PATH"
export LC_ALL=C
# The Kafka tools read a default configuration file when no -F is given
# (fs-consume(1)): none of the user's (~/.config/kcat.conf) here.
export FS_KAFKA_CONFIG=/dev/null
unset KCAT_CONFIG
TESTS="$FS_ROOT/tests"
DATA="$FS_ROOT/tests/data"

# Sanitizer builds: fail on the first report, and keep leaks out of the
# exit status of tools that exit() with state still allocated on purpose.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=0:exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}"

bats_require_minimum_version 1.5.0

load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

setup() {
	T="$BATS_TEST_TMPDIR"
	cd "$T" || return 1
	if declare -F suite_setup >/dev/null; then
		suite_setup
	fi
}

# The services `make test` starts (scripts/test) export their addresses.
# A suite that needs one fails when it is missing: a broken service start
# must never pass as green.
require_kafka() {
	if [ -z "${FS_KAFKA_BROKERS:-}" ]; then
		echo "FS_KAFKA_BROKERS is not set: start scripts/kafka-start" >&2
		return 1
	fi
}

require_aerospike() {
	if [ -z "${FS_AEROSPIKE:-}" ]; then
		echo "FS_AEROSPIKE is not set: start scripts/aerospike-fixture-start" >&2
		return 1
	fi
}

# A unique name for topics, sets and stages, per test.
uniq_name() {
	echo "${1:-t}-$$-${BATS_TEST_NUMBER}-$RANDOM"
}

# Asserts that a file's content equals the given text exactly.
assert_file_equals() {
	local file="$1" expected="$2"
	assert_equal "$(cat "$file")" "$expected"
}

# The records an Aerospike fixture at $1 holds for data: all of them
# less the feature registry's in namespace $2 (fs-registry(5): each
# view's record and the index record).
store_records() {
	local all views
	all=$("$FS_ROOT/build/fixtures/asfixture" --ctl "$1" fixture-stats |
		sed 's/^records=\([0-9]*\);.*/\1/')
	views=$(fs-features --hosts "$1" -n "$2" list | wc -l)
	[ "$views" -eq 0 ] || views=$((views + 1))
	echo $((all - views))
}
