#!/usr/bin/env bats
# fs-lookup: the lookup join, each record with the current Aerospike
# record of its key (the protocol fixture of tests/aerospike/), read in
# batches; checked against hand-computed rows and against fs-get.

load test_helper

FIXTURE="$FS_ROOT/build/fixtures/asfixture"

suite_setup() {
	SET=$(uniq_name l)
	AS="${FS_AEROSPIKE:-}"
}

# A private fixture for tests that inject faults.
private_fixture() {
	export FS_ASFIXTURE_STATE="$T/fixture"
	run --separate-stderr "$FS_ROOT/scripts/aerospike-fixture-start" "$@"
	assert_success
	AS="${output#FS_AEROSPIKE=}"
}

teardown() {
	if [ -n "${FS_ASFIXTURE_STATE:-}" ]; then
		"$FS_ROOT/scripts/aerospike-fixture-stop"
	fi
}

put() {
	fs-sink-aerospike --hosts "$AS" -n test -s "$SET" "$@"
}

lookup() {
	fs-lookup --hosts "$AS" -n test -s "$SET" "$@"
}

# The features of the examples: u1 and 42 with an event time in ts, u3
# without one.
put_features() {
	printf '%s\n' '{"user":"u1","ts":1000,"n":3,"f":2.5}' \
		'{"user":"u2","ts":5000,"n":7}' '{"user":42,"ts":9000,"n":1}' \
		'{"user":"u3","n":0}' | put --key user
}

@test "fs-lookup: each record gets its key's features; a missing key gets null, counted at exit" {
	require_aerospike
	put_features
	printf '%s\n' '{"user":"u1","ts":2000,"x":1}' '{"@fs":"watermark","ts":2000}' \
		'{"user":"nope","ts":3000}' '{"user":42,"ts":4000}' \
		'{"user":"u2","note":"a\u0000b"}' > in.ndjson
	run --separate-stderr lookup --key user in.ndjson
	assert_success
	assert_output '{"user":"u1","ts":2000,"x":1,"features":{"ts":1000,"n":3,"f":2.5}}
{"@fs":"watermark","ts":2000}
{"user":"nope","ts":3000,"features":null}
{"user":42,"ts":4000,"features":{"ts":9000,"n":1}}
{"user":"u2","note":"a\u0000b","features":{"ts":5000,"n":7}}'
	assert_equal "$stderr" "fs-lookup: 1 record without features: key not found"
}

@test "fs-lookup: batch answers that come back out of order still go to their records" {
	private_fixture
	put_features
	local rows0 rows
	rows0=$("$FIXTURE" --ctl "$AS" fixture-stats | sed 's/.*;batch-rows=\([0-9]*\);.*/\1/')
	# A server may answer a batch's rows in any order; the fixture turns
	# them around.  With one request in flight, held 100 ms, the keys
	# after the first one wait, and go in one batch.
	"$FIXTURE" --ctl "$AS" 'fixture-set:batch-reverse=1;delay-ms=100' >/dev/null
	printf '%s\n' '{"user":"u3"}' '{"user":"u1"}' '{"user":"nope"}' '{"user":42}' \
		'{"user":"u2"}' >in.ndjson
	run --separate-stderr lookup --key user --in-flight 1 in.ndjson
	assert_success
	assert_output '{"user":"u3","features":{"n":0}}
{"user":"u1","features":{"ts":1000,"n":3,"f":2.5}}
{"user":"nope","features":null}
{"user":42,"features":{"ts":9000,"n":1}}
{"user":"u2","features":{"ts":5000,"n":7}}'
	rows=$("$FIXTURE" --ctl "$AS" fixture-stats | sed 's/.*;batch-rows=\([0-9]*\);.*/\1/')
	[ $((rows - rows0)) -ge 2 ] || fail "no batch read: $rows0 -> $rows rows"
}

@test "fs-lookup: --max-age --as-of event: features older than the record by more than the age are null, counted" {
	require_aerospike
	put_features
	# ages: 5000 (fresh: at most 5s), 5001 (stale), -1000 (fresh),
	# 11000 (stale), no time bin (stale), no record (missing)
	printf '%s\n' '{"user":"u1","ts":6000}' '{"user":"u1","ts":6001}' \
		'{"user":"u2","ts":4000}' '{"user":42,"ts":20000}' \
		'{"user":"u3","ts":1}' '{"user":"nope","ts":1}' > in.ndjson
	run --separate-stderr lookup --key user --max-age 5s --as-of event in.ndjson
	assert_success
	assert_output '{"user":"u1","ts":6000,"features":{"ts":1000,"n":3,"f":2.5}}
{"user":"u1","ts":6001,"features":null}
{"user":"u2","ts":4000,"features":{"ts":5000,"n":7}}
{"user":42,"ts":20000,"features":null}
{"user":"u3","ts":1,"features":null}
{"user":"nope","ts":1,"features":null}'
	assert_equal "$stderr" "fs-lookup: 1 record without features: key not found
fs-lookup: 3 records without features: older than --max-age"
}

@test "fs-lookup: --prefix with --bins: a member per bin, null when missing or stale; the time bin read for the age only" {
	require_aerospike
	put_features
	printf '%s\n' '{"user":"u1","ts":6000}' '{"user":"u2","ts":6000}' \
		'{"user":42,"ts":20000}' '{"user":"nope","ts":1}' > in.ndjson
	run --separate-stderr lookup --key user -B n,f --prefix f_ --max-age 5s \
		--as-of event --on-error skip in.ndjson
	assert_success
	assert_output '{"user":"u1","ts":6000,"f_n":3,"f_f":2.5}
{"user":"u2","ts":6000,"f_n":7,"f_f":null}
{"user":42,"ts":20000,"f_n":null,"f_f":null}
{"user":"nope","ts":1,"f_n":null,"f_f":null}'
	run --separate-stderr lookup --key user -B f --into g in.ndjson
	assert_success
	assert_output '{"user":"u1","ts":6000,"g":{"f":2.5}}
{"user":"u2","ts":6000,"g":{}}
{"user":42,"ts":20000,"g":{}}
{"user":"nope","ts":1,"g":null}'
}

@test "fs-lookup: --max-age at now: the sink's event time, or the server's last update" {
	require_aerospike
	local now
	now=$(date +%s%3N)
	printf '{"user":"new","ts":%s,"n":1}\n{"user":"old","ts":1000,"n":2}\n' "$now" |
		put --key user --monotonic
	printf '%s\n' '{"user":"new"}' '{"user":"old"}' > in.ndjson
	run --separate-stderr lookup --key user -B n --max-age 1h in.ndjson
	assert_success
	assert_output '{"user":"new","features":{"n":1}}
{"user":"old","features":null}'
	# Both were written just now: fresh by their last update.
	run --separate-stderr lookup --key user -B n --max-age 1h \
		--age-from last-update in.ndjson
	assert_success
	assert_output '{"user":"new","features":{"n":1}}
{"user":"old","features":{"n":2}}'
	# Some milliseconds on, both are older than 1ms.
	local i
	for ((i = 0; i < 100; i++)); do
		run --separate-stderr lookup --key user -B n --max-age 1ms \
			--age-from last-update in.ndjson
		[ "${lines[1]:-}" = '{"user":"old","features":null}' ] && break
		sleep 0.1
	done
	assert_success
	assert_output '{"user":"new","features":null}
{"user":"old","features":null}'
	assert_equal "$stderr" "fs-lookup: 2 records without features: older than --max-age"
}

@test "fs-lookup: the features are byte for byte fs-get's bins, for every kind of value" {
	require_aerospike
	printf '%s\n' \
		'{"id":"a","i":-9007199254740993,"f":0.1,"g":1e300,"h":-2.5e-8,"s":"é\u0000\"\\/\t","u":"\ud83d\ude00","l":[1,2.0,"x",[],{}],"m":{"k":{"z":[null,true]}},"b":true,"bl":{"@bytes":"AAH/"}}' \
		'{"id":7,"z":0,"e":""}' | put --key id
	printf '%s\n' '{"id":"a"}' '{"id":7}' '{"id":"missing"}' > keys.ndjson
	fs-get --hosts "$AS" -n test -s "$SET" --key id keys.ndjson |
		sed -n 's/^{"key":[^,]*,"found":true,"generation":[0-9]*,"ttl":-*[0-9]*,"bins":\(.*\)}$/\1/p' > get.out
	lookup --key id --into bins --batch 2 keys.ndjson 2>/dev/null |
		grep -v '"bins":null}$' |
		sed -n 's/^{"id":[^,]*,"bins":\(.*\)}$/\1/p' > lookup.out
	[ "$(wc -l < get.out)" -eq 2 ] || fail "fs-get: $(cat get.out)"
	cmp get.out lookup.out
	grep -q '"s":"é\\u0000\\"\\\\/\\t"' lookup.out || fail "$(cat lookup.out)"
}

@test "fs-lookup: input order and control records kept across batches, windows and repeated keys" {
	require_aerospike
	awk 'BEGIN { for (i = 0; i < 100; i++) printf "{\"k\":\"k%d\",\"v\":%d}\n", i, 2 * i }' |
		put --key k
	awk 'BEGIN {
		for (j = 1; j <= 3000; j++) {
			i = (j * 7) % 130
			printf "{\"k\":\"k%d\",\"j\":%d}\n", i, j
			if (j % 100 == 0) printf "{\"@fs\":\"watermark\",\"ts\":%d}\n", j
			if (j % 1000 == 0) printf "{\"@fs\":\"barrier\",\"id\":%d}\n", j / 1000
		}
		print "{\"@fs\":\"end\",\"id\":4}"
	}' > in.ndjson
	awk 'BEGIN {
		for (j = 1; j <= 3000; j++) {
			i = (j * 7) % 130
			if (i < 100)
				printf "{\"k\":\"k%d\",\"j\":%d,\"f\":{\"v\":%d}}\n", i, j, 2 * i
			else
				printf "{\"k\":\"k%d\",\"j\":%d,\"f\":null}\n", i, j
			if (j % 100 == 0) printf "{\"@fs\":\"watermark\",\"ts\":%d}\n", j
			if (j % 1000 == 0) printf "{\"@fs\":\"barrier\",\"id\":%d}\n", j / 1000
		}
		print "{\"@fs\":\"end\",\"id\":4}"
	}' > expected.ndjson
	lookup --key k --into f --batch 7 --in-flight 3 --window 50 --stats \
		in.ndjson > out.ndjson 2> err || fail "status $?: $(cat err)"
	stderr=$(cat err)
	cmp out.ndjson expected.ndjson
	[[ "$stderr" == *"fs-lookup: 690 records without features: key not found"* ]] || fail "$stderr"
	[[ "$stderr" == *"stats: 3000 records, 2310 found, 690 missing, 0 stale, 0 failed, 34 control;"* ]] || fail "$stderr"
	# from a pipe, with the defaults
	cat in.ndjson | lookup --key k --into f > out2.ndjson 2> err ||
		fail "status $?: $(cat err)"
	cmp out2.ndjson expected.ndjson
}

@test "fs-lookup: a record without its key fails at its line after the records before it; skip and dead-letter pass over it" {
	require_aerospike
	put_features
	printf '%s\n' '{"user":"u2"}' '{"id":"u1"}' '{"user":"u1"}' > in.ndjson
	run -1 --separate-stderr lookup --key user -B n in.ndjson
	assert_output '{"user":"u2","features":{"n":7}}'
	assert_equal "${stderr_lines[0]}" "fs-lookup: in.ndjson:2: missing key field 'user'"
	run --separate-stderr lookup --key user -B n --on-error skip in.ndjson
	assert_success
	assert_output '{"user":"u2","features":{"n":7}}
{"user":"u1","features":{"n":3}}'
	assert_equal "$stderr" "fs-lookup: in.ndjson:2: missing key field 'user'
fs-lookup: 1 record rejected"
	run --separate-stderr lookup --key user -B n --dead-letter dl.ndjson -q in.ndjson
	assert_success
	assert_equal "$(cat dl.ndjson)" '{"id":"u1"}'
	echo '{"user":"u1"}' > noev.ndjson
	run -1 --separate-stderr lookup --key user --max-age 1s --as-of event noev.ndjson
	assert_equal "${stderr_lines[0]}" "fs-lookup: noev.ndjson:1: missing time field 'ts'"
}

@test "fs-lookup: a read the server refuses is rejected with its reason, at its line" {
	require_aerospike
	private_fixture
	put_features
	printf '%s\n' '{"user":"u1"}' '{"user":"u2"}' > in.ndjson
	"$FIXTURE" --ctl "$AS" 'fixture-set:fail-code=22;fail-count=1' >/dev/null
	# one request at a time: the first read is the one refused
	run --separate-stderr lookup --key user -B n --in-flight 1 --on-error skip in.ndjson
	assert_success
	assert_output '{"user":"u2","features":{"n":7}}'
	assert_equal "$stderr" "fs-lookup: in.ndjson:1: aerospike: operation forbidden (22)
fs-lookup: 1 record rejected"
}

@test "fs-lookup: usage errors exit 2" {
	run -2 --separate-stderr fs-lookup -n test
	assert_equal "${stderr_lines[0]}" "fs-lookup: --key FIELDS is required"
	run -2 --separate-stderr fs-lookup -n test --key u --prefix p_
	assert_equal "${stderr_lines[0]}" "fs-lookup: --prefix needs --bins: the members to write, null when a key has no record"
	run -2 --separate-stderr fs-lookup -n test --key u --as-of event
	assert_equal "${stderr_lines[0]}" "fs-lookup: --time-bin, --age-from and --as-of need --max-age"
	run -2 --separate-stderr fs-lookup -n test --key u --max-age 1s --age-from last-update --as-of event
	assert_equal "${stderr_lines[0]}" "fs-lookup: --as-of event needs --age-from time-bin: the server compares the last update with its own clock"
	run -2 --separate-stderr fs-lookup -n test --key u -B averyveryverylongbin
	assert_equal "${stderr_lines[0]}" "fs-lookup: --bins: a bin name is 1 to 15 bytes: 'averyveryverylongbin'"
}

@test "fs-lookup: --checkpoint-dir: a restore first, barriers after the records before them, the end last" {
	require_aerospike
	put_features
	printf '%s\n' '{"@fs":"restore","id":0}' '{"user":"u1"}' \
		'{"@fs":"barrier","id":1}' '{"user":"u2"}' '{"@fs":"end","id":2}' > in.ndjson
	run --separate-stderr lookup --key user -B n --checkpoint-dir ck in.ndjson
	assert_success
	assert_output '{"@fs":"restore","id":0}
{"user":"u1","features":{"n":3}}
{"@fs":"barrier","id":1}
{"user":"u2","features":{"n":7}}
{"@fs":"end","id":2}'
	assert_equal "$stderr" ""
	[ -n "$(find ck -name '*fs-lookup*' | head -n 1)" ] || fail "no checkpoint of fs-lookup in ck: $(find ck)"
	# the input stopped without its end: nothing says it is complete
	head -n 3 in.ndjson > cut.ndjson
	run -1 --separate-stderr lookup --key user -B n cut.ndjson
	assert_equal "${lines[2]}" '{"@fs":"barrier","id":1}'
}

# Waits until the file $1 has $2 lines (up to 20 s).
wait_lines() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(wc -l < "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "$1 has $(wc -l < "$1") lines, not $2: $(cat "$1")"
}

@test "fs-lookup: on a quiet input each record is written once its read is answered, not held for a batch" {
	require_aerospike
	put_features
	mkfifo in
	lookup --key user -B n < in > out 2> err 3>&- &
	local pid=$!
	exec 6> in
	echo '{"user":"u1"}' >&6
	wait_lines out 1
	echo '{"user":"u2"}' >&6
	wait_lines out 2
	exec 6>&-
	wait "$pid"
	assert_equal "$(cat out)" '{"user":"u1","features":{"n":3}}
{"user":"u2","features":{"n":7}}'
}

@test "fs-lookup: --metrics-file counts found, missing and stale records, reads and requests" {
	require_aerospike
	put_features
	mkfifo in
	lookup --key user --max-age 5s --as-of event --metrics-file m.prom \
		--metrics-interval 50ms < in > out 2> err 3>&- &
	local pid=$! i L='{tool="fs-lookup",stage="fs-lookup"}'
	exec 6> in
	printf '%s\n' '{"user":"u1","ts":1000}' '{"user":"nope","ts":1}' \
		'{"user":"u2","ts":60000}' '{"user":"u1","ts":2000}' >&6
	for ((i = 0; i < 200; i++)); do
		grep -qxF "fs_lookup_found_total$L 2" m.prom 2>/dev/null && break
		sleep 0.1
	done
	grep -qxF "fs_lookup_found_total$L 2" m.prom || fail "$(cat m.prom)"
	grep -qxF "fs_lookup_missing_total$L 1" m.prom || fail "$(cat m.prom)"
	grep -qxF "fs_lookup_stale_total$L 1" m.prom || fail "$(cat m.prom)"
	grep -qxF "fs_lookup_failed_total$L 0" m.prom || fail "$(cat m.prom)"
	grep -qE "^fs_lookup_reads_total$L [1-4]$" m.prom || fail "$(cat m.prom)"
	grep -qE "^fs_lookup_requests_total$L [1-4]$" m.prom || fail "$(cat m.prom)"
	exec 6>&-
	wait "$pid"
}
