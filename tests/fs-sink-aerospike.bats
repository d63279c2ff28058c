#!/usr/bin/env bats
# fs-sink-aerospike: writes NDJSON records into Aerospike (the protocol
# fixture of tests/aerospike/), read back with fs-get and with the official
# Python client.

load test_helper

FIXTURE="$FS_ROOT/build/fixtures/asfixture"

suite_setup() {
	SET=$(uniq_name s)
}

# A private fixture for tests that inject faults or change its settings.
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

ctl() {
	"$FIXTURE" --ctl "$AS" "$@"
}

# Waits (20 s at most) until the fixture holds N records.
await_records() {
	local n
	for n in $(seq 1 400); do
		ctl fixture-stats | grep -q "^records=$1;" && return 0
		sleep 0.05
	done
	echo "the fixture never held $1 records" >&2
	return 1
}

sink() {
	fs-sink-aerospike --hosts "$AS" -n test -s "$SET" "$@"
}

get() {
	fs-get --hosts "$AS" -n test -s "$SET" "$@"
}

@test "fs-sink-aerospike: every member but the key becomes a bin, with its type" {
	require_aerospike
	AS=$FS_AEROSPIKE
	cat >in.ndjson <<-'EOF'
	{"user":"u1","clicks":3,"ctr":0.25,"country":"fr","vip":true,"tags":["a","b"],"hist":{"d1":2,"d2":[1,2.5]},"blob":{"@bytes":"AAH/"}}
	{"user":42,"clicks":1}
	EOF
	run --separate-stderr sink --key user in.ndjson
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr get u1 42
	assert_success
	assert_line -n 0 '{"key":"u1","found":true,"generation":1,"ttl":-1,"bins":{"clicks":3,"ctr":0.25,"country":"fr","vip":true,"tags":["a","b"],"hist":{"d1":2,"d2":[1,2.5]},"blob":{"@bytes":"AAH/"}}}'
	assert_line -n 1 '{"key":42,"found":true,"generation":1,"ttl":-1,"bins":{"clicks":1}}'
}

@test "fs-sink-aerospike: the official client reads what the sink wrote" {
	require_aerospike
	AS=$FS_AEROSPIKE
	python=$("$FS_ROOT/scripts/aerospike-venv")
	printf '%s\n' '{"user":"u1","a":1,"b":"x","f":2.5,"l":[1,{"z":true}],"m":{"k":null},"bl":{"@bytes":"AAH/"}}' \
		'{"user":7,"n":-1,"t":false}' >in.ndjson
	run --separate-stderr sink --key user --send-key in.ndjson
	assert_success
	printf '{"set":"%s","key":"u1"}\n{"set":"%s","key":7}\n' "$SET" "$SET" >keys.ndjson
	run --separate-stderr "$python" "$TESTS/aerospike/read_official.py" "$AS" <keys.ndjson
	assert_success
	assert_line -n 0 "{\"bins\":{\"a\":1,\"b\":\"x\",\"bl\":{\"@bytes\":\"AAH/\"},\"f\":2.5,\"l\":[1,{\"z\":true}],\"m\":{\"k\":null}},\"found\":true,\"gen\":1,\"key\":\"u1\",\"ns\":\"test\",\"set\":\"$SET\",\"ttl\":-1}"
	assert_line -n 1 "{\"bins\":{\"n\":-1,\"t\":false},\"found\":true,\"gen\":1,\"key\":7,\"ns\":\"test\",\"set\":\"$SET\",\"ttl\":-1}"
}

@test "fs-sink-aerospike: its requests are byte for byte the official client's, rows read quick or by jansson alike" {
	require_aerospike
	python=$("$FS_ROOT/scripts/aerospike-venv")
	run --separate-stderr "$python" "$TESTS/fs-sink-aerospike-wire.py" \
		"$FS_AEROSPIKE" "$FS_BIN/fs-sink-aerospike" "$SET"
	echo "$output"
	assert_success
	refute_output --partial "not ok"
	assert_line "1..16"
}

@test "fs-sink-aerospike: fs-get reads what the official client wrote" {
	require_aerospike
	AS=$FS_AEROSPIKE
	python=$("$FS_ROOT/scripts/aerospike-venv")
	printf '{"set":"%s","key":"w1","bins":{"a":1,"f":2.5,"l":[1,{"z":true}],"bl":{"@bytes":"AAH/"},"t":true}}\n' \
		"$SET" | "$python" "$TESTS/aerospike/write_official.py" "$AS" >/dev/null
	run --separate-stderr get --bins-only w1
	assert_success
	assert_output '{"a":1,"f":2.5,"l":[1,{"z":true}],"bl":{"@bytes":"AAH/"},"t":true}'
}

@test "fs-sink-aerospike: a string holding \u0000 is stored whole, NUL byte and all" {
	require_aerospike
	AS=$FS_AEROSPIKE
	python=$("$FS_ROOT/scripts/aerospike-venv")
	printf '%s\n' '{"id":"a","s":"x\u0000y","l":["\u0000"]}' >in.ndjson
	run --separate-stderr sink --key id --send-key in.ndjson
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr get --bins-only a
	assert_success
	assert_output '{"s":"x\u0000y","l":["\u0000"]}'
	# The official Python client finds the record and its bins, but its
	# binding turns strings into C strings, both ways: it reads "x" here,
	# and stores "x" when given "x\x00y" itself.
	printf '{"set":"%s","key":"a"}\n' "$SET" >keys.ndjson
	run --separate-stderr "$python" "$TESTS/aerospike/read_official.py" "$AS" <keys.ndjson
	assert_success
	assert_output "{\"bins\":{\"l\":[\"\"],\"s\":\"x\"},\"found\":true,\"gen\":1,\"key\":\"a\",\"ns\":\"test\",\"set\":\"$SET\",\"ttl\":-1}"
}

@test "fs-sink-aerospike: a compound key is the fields joined with ':'" {
	require_aerospike
	AS=$FS_AEROSPIKE
	echo '{"user":42,"country":"fr","n":1}' >in.ndjson
	run --separate-stderr sink --key user,country in.ndjson
	assert_success
	run --separate-stderr get --bins-only 42:fr
	assert_success
	assert_output '{"n":1}'
	echo '{"user":43,"country":"de","n":2}' | sink --key user,country --key-separator /
	run --separate-stderr get --bins-only 43/de
	assert_output '{"n":2}'
}

@test "fs-sink-aerospike: --bins picks and renames fields, nested ones too" {
	require_aerospike
	AS=$FS_AEROSPIKE
	echo '{"id":"k","a":1,"b":2,"user":{"age":30}}' >in.ndjson
	run --separate-stderr sink --key id --bins a,user.age=age,missing in.ndjson
	assert_success
	run --separate-stderr get --bins-only k
	assert_output '{"a":1,"age":30}'
}

@test "fs-sink-aerospike: -B is --bins; the old -b and -h HOSTS still work (fs(7), Short options)" {
	require_aerospike
	echo '{"id":"k","a":1,"b":2}' >in.ndjson
	run --separate-stderr fs-sink-aerospike --hosts "$FS_AEROSPIKE" -n test -s "$SET" -k id -B a in.ndjson
	assert_success
	run --separate-stderr fs-get --hosts "$FS_AEROSPIKE" -n test -s "$SET" --bins-only k
	assert_output '{"a":1}'
	echo '{"id":"k2","a":1,"b":2}' >in.ndjson
	run --separate-stderr fs-sink-aerospike -h "$FS_AEROSPIKE" -n test -s "$SET" -k id -b b in.ndjson
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr fs-get -h "$FS_AEROSPIKE" -n test -s "$SET" --bins-only k2
	assert_output '{"b":2}'
	run -0 --separate-stderr fs-sink-aerospike -h
	assert_line --index 0 --partial "usage: fs-sink-aerospike "
}

@test "fs-sink-aerospike: a --bins field no record had is named at exit; --strict makes it exit 1" {
	require_aerospike
	AS=$FS_AEROSPIKE
	printf '%s\n' '{"id":"k1","clicks":1}' '{"id":"k2","clicks":2,"spend":null}' > in.ndjson
	run --separate-stderr sink --key id --bins clicks,spnd=spend,spend in.ndjson
	assert_success
	assert_equal "$stderr" "fs-sink-aerospike: field 'spnd' (in --bins clicks,spnd=spend,spend) was absent in all 2 records"
	run --separate-stderr get --bins-only k1
	assert_output '{"clicks":1}'
	run --separate-stderr sink --strict --key id --bins clicks,spnd in.ndjson
	assert_failure 1
	assert_equal "$stderr" "fs-sink-aerospike: field 'spnd' (in --bins clicks,spnd) was absent in all 2 records"
	# the writes were made all the same
	run --separate-stderr get --bins-only k2
	assert_output '{"clicks":2}'
	# a field present in one record, even as null, is not named
	run --separate-stderr sink --strict --key id --bins clicks,spend in.ndjson
	assert_success
	assert_equal "$stderr" ""
}

@test "fs-sink-aerospike: a typo'd --key, rejected record by record, is named at exit too" {
	require_aerospike
	AS=$FS_AEROSPIKE
	printf '%s\n' '{"id":"k1","clicks":1}' '{"id":"k2","clicks":2}' > in.ndjson
	run --separate-stderr sink -q --strict --on-error skip --key usr in.ndjson
	assert_failure 1
	assert_equal "$stderr" "fs-sink-aerospike: field 'usr' (in --key usr) was absent in all 2 records
fs-sink-aerospike: 2 records rejected"
}

@test "fs-sink-aerospike: null removes a bin; update merges, replace replaces" {
	require_aerospike
	AS=$FS_AEROSPIKE
	echo '{"id":"k","a":1,"b":2,"c":3}' | sink --key id
	echo '{"id":"k","a":null,"d":4}' | sink --key id
	run --separate-stderr get --bins-only k
	# The server moves the last bin into the removed one's place.
	assert_output '{"c":3,"b":2,"d":4}'
	echo '{"id":"k","e":5}' | sink --key id --exists replace
	run --separate-stderr get k
	assert_output '{"key":"k","found":true,"generation":3,"ttl":-1,"bins":{"e":5}}'
}

@test "fs-sink-aerospike: a record of nulls only is a no-op for a missing key" {
	require_aerospike
	AS=$FS_AEROSPIKE
	echo '{"id":"gone","a":null}' >in.ndjson
	run --separate-stderr sink --key id --stats in.ndjson
	assert_success
	assert_regex "$stderr" 'stats: 1 lines, 1 written, 0 stale, 0 failed'
	run --separate-stderr get gone
	assert_output '{"key":"gone","found":false}'
}

@test "fs-sink-aerospike: --exists create-only dead-letters a record that exists, with its line" {
	require_aerospike
	AS=$FS_AEROSPIKE
	printf '%s\n' '{"id":"k","a":1}' '{"id":"k","a":2}' '{"id":"j","a":3}' >in.ndjson
	run --separate-stderr sink --key id --exists create-only --dead-letter dl.ndjson in.ndjson
	assert_success
	assert_equal "$stderr" "fs-sink-aerospike: in.ndjson:2: aerospike: record exists (5)
fs-sink-aerospike: 1 record rejected"
	assert_file_equals dl.ndjson '{"id":"k","a":2}'
	run --separate-stderr get --bins-only k j
	assert_output '{"a":1}
{"a":3}'
}

@test "fs-sink-aerospike: writes of one key are applied in input order" {
	require_aerospike
	AS=$FS_AEROSPIKE
	for i in $(seq 1 500); do
		printf '{"id":"k%d","v":%d}\n' $((i % 3)) "$i"
	done >in.ndjson
	run --separate-stderr sink --key id --in-flight 64 --batch 1 in.ndjson
	assert_success
	run --separate-stderr get --bins-only k0 k1 k2
	assert_output '{"v":498}
{"v":499}
{"v":500}'
	run --separate-stderr sink --key id --in-flight 8 --batch 50 in.ndjson
	run --separate-stderr get --bins-only k0 k1 k2
	assert_output '{"v":498}
{"v":499}
{"v":500}'
}

@test "fs-sink-aerospike: --monotonic never moves a feature back in time" {
	require_aerospike
	AS=$FS_AEROSPIKE
	printf '%s\n' '{"id":"k","f":1,"ts":2000}' '{"id":"k","f":0,"ts":1000}' \
		'{"id":"k","f":2,"ts":"1970-01-01T00:00:02Z"}' '{"id":"j","f":9,"ts":5}' >in.ndjson
	run --separate-stderr sink --key id --monotonic --stats in.ndjson
	assert_success
	assert_regex "$stderr" 'stats: 4 lines, 3 written, 1 stale, 0 failed'
	run --separate-stderr get --bins-only k j
	assert_output '{"f":2,"ts":2000}
{"f":9,"ts":5}'
	# a replay of older data, as after a restore, changes nothing
	echo '{"id":"k","f":-1,"ts":1999}' | sink --key id --monotonic --time-bin ts
	run --separate-stderr get --bins-only k
	assert_output '{"f":2,"ts":2000}'
}

@test "fs-sink-aerospike: --monotonic in batches skips older rows too" {
	require_aerospike
	AS=$FS_AEROSPIKE
	for i in $(seq 1 200); do
		printf '{"id":"k%d","v":%d,"ts":%d}\n' $((i % 10)) "$i" $((1000 - i))
	done >in.ndjson
	run --separate-stderr sink --key id --monotonic --batch 50 --in-flight 4 --stats in.ndjson
	assert_success
	assert_regex "$stderr" 'stats: 200 lines, 10 written, 190 stale, 0 failed'
	run --separate-stderr get --bins-only k1 k0
	assert_output '{"v":1,"ts":999}
{"v":10,"ts":990}'
}

@test "fs-sink-aerospike: a bin name over 15 bytes is rejected with its line" {
	require_aerospike
	AS=$FS_AEROSPIKE
	printf '%s\n' '{"id":"a","ok":1}' '{"id":"b","a_much_too_long_name":1}' >in.ndjson
	run -1 --separate-stderr sink --key id in.ndjson
	assert_equal "$stderr" "fs-sink-aerospike: in.ndjson:2: bin name 'a_much_too_long_name' is too long (at most 15 bytes)"
}

@test "fs-sink-aerospike: a record over the namespace's size limit is rejected with its line" {
	require_aerospike
	AS=$FS_AEROSPIKE
	{
		echo '{"id":"small","v":1}'
		printf '{"id":"big","s":"%s"}\n' "$(head -c 2000000 /dev/zero | tr '\0' x)"
	} >in.ndjson
	run --separate-stderr sink --key id --dead-letter dl.ndjson in.ndjson
	assert_success
	assert_equal "$stderr" "fs-sink-aerospike: in.ndjson:2: aerospike: record too big (13): larger than the namespace's max-record-size
fs-sink-aerospike: 1 record rejected"
	run cmp dl.ndjson <(sed -n 2p in.ndjson)
	assert_success
}

@test "fs-sink-aerospike: bad lines and bad keys are reported and skipped on request" {
	require_aerospike
	AS=$FS_AEROSPIKE
	printf '%s\n' '{"id":"a","v":1}' '{oops' '{"v":2}' '{"id":1.5,"v":3}' '{"id":"b"}' '{"id":"c","v":4}' >in.ndjson
	run --separate-stderr sink --key id --on-error skip in.ndjson
	assert_success
	assert_equal "${stderr_lines[0]%%: column*}" "fs-sink-aerospike: in.ndjson:2: invalid JSON"
	assert_equal "${stderr_lines[1]}" "fs-sink-aerospike: in.ndjson:3: missing key field 'id'"
	assert_equal "${stderr_lines[2]}" "fs-sink-aerospike: in.ndjson:4: key field 'id' is not a string or an integer"
	assert_equal "${stderr_lines[3]}" "fs-sink-aerospike: in.ndjson:5: no bins to write"
	assert_equal "${stderr_lines[4]}" "fs-sink-aerospike: 4 records rejected"
	run --separate-stderr get --bins-only a c
	assert_output '{"v":1}
{"v":4}'
}

@test "fs-sink-aerospike: control records are consumed, not written" {
	require_aerospike
	AS=$FS_AEROSPIKE
	printf '%s\n' '{"@fs":"watermark","ts":5}' '{"id":"a","v":1}' '{"@fs":"barrier","id":1}' \
	    '{"@fs":"end","id":2}' >in.ndjson
	run --separate-stderr sink --key id --stats in.ndjson
	assert_success
	assert_regex "$stderr" 'stats: 4 lines, 1 written, 0 stale, 0 failed, 3 control'
}

@test "fs-sink-aerospike: a barrier is acknowledged after every write before it" {
	require_aerospike
	AS=$FS_AEROSPIKE
	{
		for i in $(seq 1 300); do printf '{"id":"k%d","v":%d}\n' "$i" "$i"; done
		echo '{"@fs":"barrier","id":1}'
		for i in $(seq 301 310); do printf '{"id":"k%d","v":%d}\n' "$i" "$i"; done
		echo '{"@fs":"end","id":2}'
	} >in.ndjson
	run --separate-stderr sink --key id --checkpoint-dir ck in.ndjson
	assert_success
	run --separate-stderr fs-ckpt show ck fs-sink-aerospike 1
	assert_success
	assert_output '{"written":300,"stale":0}'
	# the end is the last barrier
	run --separate-stderr fs-ckpt show ck fs-sink-aerospike 2
	assert_output '{"written":310,"stale":0}'
	run --separate-stderr get --bins-only k1 k300
	assert_output '{"v":1}
{"v":300}'
}

@test "fs-sink-aerospike: batches leave full while the input is ahead of the server" {
	private_fixture
	# the server slower than the input: every reply held 20 ms
	ctl 'fixture-set:delay-ms=20' >/dev/null
	for i in $(seq 1 1000); do
		printf '{"id":"k%d","a":%d,"b":"x%d","c":1.5,"d":true,"e":%d}\n' "$i" "$i" "$i" $((i % 7))
	done >in.ndjson
	run --separate-stderr sink --key id --batch 100 --in-flight 2 --linger 60s --stats in.ndjson
	assert_success
	assert_regex "$stderr" 'stats: 1000 lines, 1000 written, 0 stale, 0 failed, 0 control; 10 requests,'
	run --separate-stderr ctl fixture-stats
	assert_output --partial ';batches=10;batch-rows=1000;'
}

@test "fs-sink-aerospike: a barrier sends the batch that lingers and waits for it" {
	private_fixture
	mkfifo in.fifo
	sink --key id --batch 100 --linger 60s --checkpoint-dir ck <in.fifo 2>err.txt 3>&- &
	pid=$!
	exec 7>in.fifo
	for i in $(seq 1 150); do printf '{"id":"k%d","v":%d}\n' "$i" "$i"; done >&7
	echo '{"@fs":"barrier","id":1}' >&7
	# well within the linger: the barrier did not wait for it
	for n in $(seq 1 600); do
		fs-ckpt show ck fs-sink-aerospike 1 >/dev/null 2>&1 && break
		sleep 0.05
	done
	run --separate-stderr fs-ckpt show ck fs-sink-aerospike 1
	assert_output '{"written":150,"stale":0}'
	run --separate-stderr ctl fixture-stats
	assert_output --partial 'records=150;'
	assert_output --partial ';batches=2;batch-rows=150;'
	echo '{"@fs":"end","id":2}' >&7
	exec 7>&-
	wait "$pid"
}

@test "fs-sink-aerospike: a checkpoint is not complete without it, even one taken while it cannot reach the cluster" {
	run --separate-stderr fs-sink-aerospike -h 127.0.0.1:1 -n test --key id \
	    --checkpoint-dir ck < /dev/null
	assert_failure 1
	# a stage before it checkpoints records the sink never wrote
	printf '%s\n' '{"@fs":"barrier","id":1}' '{"@fs":"end","id":2}' |
	    fs-window --tumble 1m --checkpoint-dir ck > /dev/null
	run --separate-stderr fs-ckpt list ck
	assert_output '{"id":2,"complete":false,"stages":{"fs-sink-aerospike":"missing","fs-window":"ok"}}
{"id":1,"complete":false,"stages":{"fs-sink-aerospike":"missing","fs-window":"ok"}}'
}

@test "fs-sink-aerospike: --ttl never and --ttl 1h set the record's expiry" {
	require_aerospike
	AS=$FS_AEROSPIKE
	echo '{"id":"n","v":1}' | sink --key id --ttl never
	echo '{"id":"h","v":1}' | sink --key id --ttl 1h
	run --separate-stderr get n
	assert_output '{"key":"n","found":true,"generation":1,"ttl":-1,"bins":{"v":1}}'
	run --separate-stderr get h
	assert_output --regexp '^\{"key":"h","found":true,"generation":1,"ttl":[0-9]+,"bins":\{"v":1\}\}$'
	# the time left: an hour, less however long the machine took
	ttl=${output#*\"ttl\":}
	ttl=${ttl%%,*}
	(( ttl > 3000 && ttl <= 3600 )) || fail "ttl $ttl is not about an hour"
}

@test "fs-sink-aerospike: a TTL refused for want of nsup-period says so" {
	private_fixture -- --nsup-period 0
	echo '{"id":"a","v":1}' >in.ndjson
	run -1 --separate-stderr sink --key id --ttl 1d in.ndjson
	assert_equal "$stderr" "fs-sink-aerospike: in.ndjson:1: aerospike: operation forbidden (22): the namespace refuses records that expire; it runs without nsup-period (set nsup-period, or write with --ttl never)"
	run --separate-stderr sink --key id --ttl never in.ndjson
	assert_success
}

@test "fs-sink-aerospike: hot keys (14) and device overload (18) are retried with backoff" {
	private_fixture
	ctl 'fixture-set:fail-code=14;fail-count=3' >/dev/null
	echo '{"id":"a","v":1}' >in.ndjson
	run --separate-stderr sink --key id --stats in.ndjson
	assert_success
	assert_regex "$stderr" '1 written, 0 stale, 0 failed, 0 control; 4 requests, 3 retries'
	ctl 'fixture-set:fail-code=18;fail-count=10' >/dev/null
	run -1 --separate-stderr sink --key id --retries 2 in.ndjson
	assert_equal "$stderr" "fs-sink-aerospike: in.ndjson:1: aerospike: device overload (18), still after 2 retries"
}

@test "fs-sink-aerospike: other result codes are dead-lettered and counted" {
	private_fixture
	ctl 'fixture-set:fail-code=13;fail-count=1' >/dev/null
	printf '%s\n' '{"id":"a","v":1}' '{"id":"b","v":2}' >in.ndjson
	run --separate-stderr sink --key id --in-flight 1 --dead-letter dl.ndjson in.ndjson
	assert_success
	assert_equal "$stderr" "fs-sink-aerospike: in.ndjson:1: aerospike: record too big (13): larger than the namespace's max-record-size
fs-sink-aerospike: 1 record rejected"
	assert_file_equals dl.ndjson '{"id":"a","v":1}'
}

@test "fs-sink-aerospike: batch answers that come back out of order are matched to their rows" {
	private_fixture
	# A server may answer a batch's rows in any order (rows of a namespace
	# on a device go through its transaction threads); the fixture turns
	# them around.
	ctl 'fixture-set:batch-reverse=1' >/dev/null
	printf '%s\n' '{"id":"b","v":0}' '{"id":"d","v":0}' | sink --key id
	printf '%s\n' '{"id":"a","v":1}' '{"id":"b","v":2}' '{"id":"c","v":3}' \
		'{"id":"d","v":4}' '{"id":"e","v":5}' >in.ndjson
	run --separate-stderr sink --key id --exists create-only --batch 5 \
		--linger 60s --in-flight 1 --stats --dead-letter dl.ndjson in.ndjson
	assert_success
	assert_regex "$stderr" 'stats: 5 lines, 3 written, 0 stale, 2 failed, 0 control; 1 requests'
	# each rejected row named by its own line (in the order answered)
	assert_regex "$stderr" "in.ndjson:2: aerospike: record exists \(5\)"
	assert_regex "$stderr" "in.ndjson:4: aerospike: record exists \(5\)"
	assert_equal "$(sort dl.ndjson)" '{"id":"b","v":2}
{"id":"d","v":4}'
	run --separate-stderr get --bins-only a b c d e
	assert_success
	assert_output '{"v":1}
{"v":0}
{"v":3}
{"v":0}
{"v":5}'
}

@test "fs-sink-aerospike: connections closed mid-stream lose nothing" {
	private_fixture
	ctl 'fixture-set:close-every=7' >/dev/null
	for i in $(seq 1 1000); do printf '{"id":"k%d","v":%d}\n' "$i" "$i"; done >in.ndjson
	run --separate-stderr sink --key id --in-flight 16 --stats in.ndjson
	assert_success
	assert_regex "$stderr" 'stats: 1000 lines, 1000 written, 0 stale, 0 failed'
	ctl 'fixture-reset' >/dev/null
	run --separate-stderr ctl fixture-stats
	assert_output --regexp '^records=1000;'
}

@test "fs-sink-aerospike: a server restart mid-stream loses nothing" {
	private_fixture
	for i in $(seq 1 3000); do printf '{"id":"k%d","v":%d}\n' "$i" "$i"; done >in.ndjson
	{
		head -n 1000 in.ndjson
		# restart once the first thousand are in
		until ctl fixture-stats | grep -q '^records=1000;'; do sleep 0.05; done
		ctl 'fixture-restart:down-ms=300' >/dev/null
		tail -n +1001 in.ndjson
	} | sink --key id --in-flight 8 --retries 10 --stats 2>err.txt || {
		cat err.txt
		false
	}
	run --separate-stderr ctl fixture-stats
	assert_output --regexp '^records=3000;'
	run grep --count 'stats: 3000 lines, 3000 written' err.txt
	assert_output 1
}

@test "fs-sink-aerospike: a node stopped for seconds and started again is ridden out with the defaults" {
	# a real restart: the process stops, its port refuses connections,
	# a new process (an empty store) starts on the same port 3 s later
	private_fixture
	port=${AS##*:}
	for i in $(seq 1 2000); do printf '{"id":"k%d","v":%d}\n' "$i" "$i"; done >in.ndjson
	{
		head -n 1000 in.ndjson
		await_records 1000
		"$FS_ROOT/scripts/aerospike-fixture-stop"
		tail -n +1001 in.ndjson
		sleep 3
		"$FS_ROOT/scripts/aerospike-fixture-start" --port "$port" >/dev/null
	} | sink --key id --stats 2>err.txt || {
		cat err.txt
		false
	}
	run grep -c 'stats: 2000 lines, 2000 written, 0 stale, 0 failed' err.txt
	assert_output 1
	# every write made while the node was down reached the new process
	run --separate-stderr ctl fixture-stats
	assert_output --regexp '^records=1000;'
	run --separate-stderr get --bins-only k1001 k2000
	assert_output '{"v":1001}
{"v":2000}'
}

@test "fs-sink-aerospike: a write not done within --total-timeout fails, with its line" {
	private_fixture
	mkfifo in.fifo
	{
		echo '{"id":"a","v":1}'
		await_records 1
		"$FS_ROOT/scripts/aerospike-fixture-stop"
		echo '{"id":"b","v":2}'
	} >in.fifo &
	start=$(date +%s%N)
	run -1 --separate-stderr sink --key id --total-timeout 1s <in.fifo
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	assert_regex "${stderr_lines[0]}" '^fs-sink-aerospike: -:2: not written within the total time-out \(1000 ms\); last attempt: .+'
	(( elapsed < 10000 )) || fail "gave up after $elapsed ms, not about 1 s"
}

@test "fs-sink-aerospike: writes move to another node when theirs goes away" {
	# two single-node fixtures given as seeds: both own every partition,
	# the second one's map wins; when it goes down, the first takes over
	export FS_ASFIXTURE_STATE="$T/a"
	A=$("$FS_ROOT/scripts/aerospike-fixture-start")
	A=${A#FS_AEROSPIKE=}
	export FS_ASFIXTURE_STATE="$T/fixture"
	B=$("$FS_ROOT/scripts/aerospike-fixture-start")
	B=${B#FS_AEROSPIKE=}
	for i in $(seq 1 400); do printf '{"id":"k%d","v":%d}\n' "$i" "$i"; done >in.ndjson
	{
		head -n 200 in.ndjson
		until "$FIXTURE" --ctl "$B" fixture-stats | grep -q '^records=200;'; do sleep 0.05; done
		"$FIXTURE" --ctl "$B" 'fixture-restart:down-ms=60000' >/dev/null
		tail -n +201 in.ndjson
	} | fs-sink-aerospike --hosts "$A,$B" -n test -s "$SET" --key id --retries 10 --stats 2>err.txt || {
		cat err.txt
		false
	}
	run grep -c 'stats: 400 lines, 400 written, 0 stale, 0 failed' err.txt
	assert_output 1
	run --separate-stderr "$FIXTURE" --ctl "$A" fixture-stats
	assert_output --regexp '^records=200;'
	FS_ASFIXTURE_STATE="$T/a" "$FS_ROOT/scripts/aerospike-fixture-stop"
}

@test "fs-sink-aerospike: a slow server times out, and in-flight stays bounded" {
	private_fixture
	ctl 'fixture-set:delay-ms=300' >/dev/null
	echo '{"id":"a","v":1}' >in.ndjson
	run -1 --separate-stderr sink --key id --timeout 50ms --retries 1 in.ndjson
	assert_equal "$stderr" "fs-sink-aerospike: in.ndjson:1: not written after 1 retries: $AS: no answer within 50 ms"
	ctl 'fixture-set:delay-ms=20' >/dev/null
	for i in $(seq 1 40); do printf '{"id":"k%d","v":%d}\n' "$i" "$i"; done >in.ndjson
	run --separate-stderr sink --key id --in-flight 4 --batch 1 --stats in.ndjson
	assert_success
	assert_regex "$stderr" 'stats: 40 lines, 40 written, 0 stale, 0 failed, 0 control; 40 requests, 0 retries, 0 timeouts, 0 connection errors, 4 connections'
}

@test "fs-sink-aerospike: waiting on a slow server with every slot in use costs no CPU" {
	private_fixture
	ctl 'fixture-set:delay-ms=50' >/dev/null
	for i in $(seq 1 100); do printf '{"id":"k%d","v":%d}\n' "$i" "$i"; done >in.ndjson
	# the first line alone, so the sink waits on its input; then the rest,
	# more than in-flight and pending hold: about 2.5 s of slow answers
	{
		head -n 1 in.ndjson
		sleep 0.3
		tail -n +2 in.ndjson
	} | /usr/bin/time -f '%e %U %S' -o time.txt \
	    fs-sink-aerospike --hosts "$AS" -n test -s "$SET" --key id --in-flight 2 --batch 1 --stats 2>err.txt || {
		cat err.txt
		false
	}
	run grep -c 'stats: 100 lines, 100 written' err.txt
	assert_output 1
	read -r wall user sys <time.txt
	echo "wall ${wall}s, user ${user}s, sys ${sys}s"
	# a busy-polling sink burns most of a core; a blocked one next to none
	awk -v w="$wall" -v u="$user" -v s="$sys" \
	    'BEGIN { exit !(w >= 2 && u + s < 0.2 * w) }' ||
	    fail "CPU ${user}+${sys}s over ${wall}s of wall time"
}

@test "fs-sink-aerospike: --stats are printed on a failed exit too" {
	require_aerospike
	AS=$FS_AEROSPIKE
	printf '%s\n' '{"id":"a","ok":1}' '{"id":"b","a_much_too_long_name":1}' >in.ndjson
	run -1 --separate-stderr sink --key id --stats in.ndjson
	assert_equal "${stderr_lines[0]}" "fs-sink-aerospike: in.ndjson:2: bin name 'a_much_too_long_name' is too long (at most 15 bytes)"
	assert_regex "${stderr_lines[1]}" '^fs-sink-aerospike: stats: 2 lines, [01] written, 0 stale, 1 failed, 0 control; '
	assert_regex "${stderr_lines[2]}" '^fs-sink-aerospike: stats: latency us: '
	# a write the server refuses, under --on-error fail
	private_fixture
	ctl 'fixture-set:fail-code=13;fail-count=1' >/dev/null
	echo '{"id":"a","ok":1}' >in.ndjson
	run -1 --separate-stderr sink --key id --stats in.ndjson
	assert_equal "${stderr_lines[0]}" "fs-sink-aerospike: in.ndjson:1: aerospike: record too big (13): larger than the namespace's max-record-size"
	assert_regex "${stderr_lines[1]}" '^fs-sink-aerospike: stats: 1 lines, 0 written, 0 stale, 1 failed, 0 control; 1 requests, '
}

@test "fs-sink-aerospike: SIGTERM stops reading, and the writes made are kept, exit 0" {
	require_aerospike
	AS=$FS_AEROSPIKE
	mkfifo in.fifo
	fs-sink-aerospike --hosts "$AS" -n test -s "$SET" --key id --stats <in.fifo 2>err.txt 3>&- &
	pid=$!
	exec 7>in.fifo
	echo '{"id":"t1","v":1}' >&7
	until get --bins-only t1 >/dev/null 2>&1; do sleep 0.05; done
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	exec 7>&-
	assert_equal "$status" 0
	run grep -c 'stats: 1 lines, 1 written' err.txt
	assert_output 1
}

@test "fs-sink-aerospike: an unknown namespace and an unreachable host are fatal" {
	require_aerospike
	AS=$FS_AEROSPIKE
	run -1 --separate-stderr fs-sink-aerospike --hosts "$AS" -n nope --key id </dev/null
	assert_equal "$stderr" "fs-sink-aerospike: aerospike: namespace 'nope' not found on any node"
	run -1 --separate-stderr fs-sink-aerospike --hosts 127.0.0.1:1 -n test --key id </dev/null
	assert_equal "$stderr" "fs-sink-aerospike: aerospike: 127.0.0.1:1: connect: Connection refused"
}

@test "fs-sink-aerospike: a seed host that is down is passed over" {
	require_aerospike
	echo '{"id":"a","v":1}' >in.ndjson
	run --separate-stderr fs-sink-aerospike --hosts "127.0.0.1:1,$FS_AEROSPIKE" -n test -s "$SET" --key id in.ndjson
	assert_success
	AS=$FS_AEROSPIKE
	run --separate-stderr get --bins-only a
	assert_output '{"v":1}'
}

@test "fs-sink-aerospike: --user logs in; a wrong password or no login is an error" {
	private_fixture -- --user bob --password 's3cret'
	echo '{"id":"a","v":1}' >in.ndjson
	echo 's3cret' >pw.txt
	run --separate-stderr sink --key id -u bob --password-file pw.txt in.ndjson
	assert_success
	FS_AEROSPIKE_PASSWORD=s3cret run --separate-stderr fs-get --hosts "$AS" -n test -s "$SET" -u bob --bins-only a
	assert_output '{"v":1}'
	FS_AEROSPIKE_PASSWORD=wrong run -1 --separate-stderr sink --key id -u bob in.ndjson
	assert_equal "$stderr" "fs-sink-aerospike: aerospike: login as 'bob': invalid password (62)"
	run -1 --separate-stderr sink --key id in.ndjson
	assert_equal "$stderr" "fs-sink-aerospike: aerospike: $AS: info: ERROR:80:not authenticated"
}

@test "fs-sink-aerospike: --user against a server without security says so" {
	require_aerospike
	AS=$FS_AEROSPIKE
	echo '{"id":"a","v":1}' >in.ndjson
	FS_AEROSPIKE_PASSWORD=x run -1 --separate-stderr sink --key id -u bob in.ndjson
	assert_equal "$stderr" "fs-sink-aerospike: aerospike: login as 'bob': security not supported (51): the server has no security (Community Edition?); drop --user"
}

@test "fs-sink-aerospike: usage errors exit 2" {
	run -2 --separate-stderr fs-sink-aerospike --key id
	assert_equal "${stderr_lines[0]}" "fs-sink-aerospike: -n NAMESPACE is required"
	run -2 --separate-stderr fs-sink-aerospike -n test
	assert_equal "${stderr_lines[0]}" "fs-sink-aerospike: --key FIELDS is required"
	run -2 --separate-stderr fs-sink-aerospike -n test --key id --bins a=waytoolongbinname
	assert_equal "${stderr_lines[0]}" "fs-sink-aerospike: --bins: a bin name is 1 to 15 bytes: 'waytoolongbinname'"
	run -2 --separate-stderr fs-sink-aerospike -n test --key id --ttl 5
	assert_equal "${stderr_lines[0]}" "fs-sink-aerospike: --ttl: expected a duration from 1s to 3650d, never, keep or default: '5'"
	run -2 --separate-stderr fs-sink-aerospike -n test --key id --exists maybe
	assert_equal "${stderr_lines[0]}" "fs-sink-aerospike: --exists: expected update, update-only, replace, replace-only or create-only: 'maybe'"
	run -2 --separate-stderr fs-sink-aerospike -n a_namespace_name_longer_than_31b --key id
	assert_equal "${stderr_lines[0]}" "fs-sink-aerospike: -n: a namespace name is at most 31 bytes: 'a_namespace_name_longer_than_31b'"
}
