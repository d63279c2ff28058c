#!/usr/bin/env bats
# The Aerospike wire-protocol fixture (tests/aerospike/asfixture.c), checked
# against the official Python client and at the byte level.

load test_helper

# The fixture of the build under test: under FS_BIN=build/asan/bin the
# private fixtures below run under the sanitizers too.
FIXTURE="${FS_BIN%/bin}/fixtures/asfixture"
[ -x "$FIXTURE" ] || FIXTURE="$FS_ROOT/build/fixtures/asfixture"

# A private fixture for tests that restart it or change its faults.
private_fixture() {
	export FS_ASFIXTURE_STATE="$T/fixture"
	export FS_ASFIXTURE="$FIXTURE"
	run --separate-stderr "$FS_ROOT/scripts/aerospike-fixture-start" "$@"
	assert_success
	PRIVATE="${output#FS_AEROSPIKE=}"
}

teardown() {
	if [ -n "${FS_ASFIXTURE_STATE:-}" ]; then
		"$FS_ROOT/scripts/aerospike-fixture-stop"
	fi
}

@test "asfixture: answers the info commands clients use for discovery" {
	require_aerospike
	run --separate-stderr "$FIXTURE" --ctl "$FS_AEROSPIKE" namespaces partitions build features
	assert_success
	assert_equal "${lines[0]}" "test"
	assert_equal "${lines[1]}" "4096"
	assert_equal "${lines[2]}" "8.0.0.0"
	assert_equal "${lines[3]}" "batch-any;batch-index;blob-bits;cdt-index;cdt-list;cdt-map;cluster-stable;float;geo;sindex-exists;peers;pipelining;pquery;pscans;query-show;relaxed-sc;replicas;replicas-all;replicas-master;replicas-max;truncate-namespace;udf"
	assert_equal "$stderr" ""
}

@test "asfixture: an unknown info command is answered ERROR:4 and --ctl exits 1" {
	require_aerospike
	run -1 --separate-stderr "$FIXTURE" --ctl "$FS_AEROSPIKE" no-such-command
	assert_output "ERROR:4:unrecognized command"
}

@test "asfixture: the official Python client gets exact results for every operation" {
	require_aerospike
	python=$("$FS_ROOT/scripts/aerospike-venv")
	run --separate-stderr "$python" "$TESTS/aerospike/check_official_client.py" \
		"$FS_AEROSPIKE" "$(uniq_name official)"
	echo "$output"
	echo "$stderr"
	assert_success
	refute_output --partial "not ok"
}

@test "asfixture: rejects at the byte level what a real server rejects, and its faults fire" {
	private_fixture
	run --separate-stderr python3 "$TESTS/aerospike/check_wire.py" "$PRIVATE"
	echo "$output"
	assert_success
	refute_output --partial "not ok"
}

@test "asfixture: write_official.py and read_official.py round-trip records exactly" {
	require_aerospike
	python=$("$FS_ROOT/scripts/aerospike-venv")
	set=$(uniq_name rt)
	cat >records.ndjson <<-EOF
	{"set":"$set","key":"u1","bins":{"a":1,"b":"x","f":2.5,"l":[1,{"z":true}],"m":{"k":null},"bl":{"@bytes":"AAH/"}},"send_key":true}
	{"set":"$set","key":7,"bins":{"n":-1,"t":false}}
	{"set":"$set","key":"u2","bins":{"a":1},"exists":"update"}
	EOF
	run -1 --separate-stderr "$python" "$TESTS/aerospike/write_official.py" "$FS_AEROSPIKE" <records.ndjson
	assert_equal "${lines[0]}" "{\"gen\":1,\"key\":\"u1\",\"ns\":\"test\",\"result\":0,\"set\":\"$set\"}"
	assert_equal "${lines[1]}" "{\"gen\":1,\"key\":7,\"ns\":\"test\",\"result\":0,\"set\":\"$set\"}"
	assert_equal "${lines[2]}" "{\"key\":\"u2\",\"ns\":\"test\",\"result\":2,\"set\":\"$set\"}"
	printf '{"set":"%s","key":"u1"}\n{"set":"%s","key":7}\n{"set":"%s","key":"u2"}\n' \
		"$set" "$set" "$set" >keys.ndjson
	run --separate-stderr "$python" "$TESTS/aerospike/read_official.py" "$FS_AEROSPIKE" <keys.ndjson
	assert_success
	assert_equal "${lines[0]}" "{\"bins\":{\"a\":1,\"b\":\"x\",\"bl\":{\"@bytes\":\"AAH/\"},\"f\":2.5,\"l\":[1,{\"z\":true}],\"m\":{\"k\":null}},\"found\":true,\"gen\":1,\"key\":\"u1\",\"ns\":\"test\",\"set\":\"$set\",\"ttl\":-1}"
	assert_equal "${lines[1]}" "{\"bins\":{\"n\":-1,\"t\":false},\"found\":true,\"gen\":1,\"key\":7,\"ns\":\"test\",\"set\":\"$set\",\"ttl\":-1}"
	assert_equal "${lines[2]}" "{\"found\":false,\"key\":\"u2\",\"ns\":\"test\",\"set\":\"$set\"}"
}

@test "aerospike-fixture-start: a second start reuses the fixture; stop ends it and is idempotent" {
	private_fixture --port 0 -- --nsup-period 0 -n test -n other
	first="$PRIVATE"
	pid=$(cat "$T/fixture/pid")
	private_fixture
	assert_equal "$PRIVATE" "$first"
	run --separate-stderr "$FIXTURE" --ctl "$PRIVATE" namespaces namespace/other
	assert_success
	assert_equal "${lines[0]}" "test;other"
	assert_equal "${lines[1]}" "objects=0;replication-factor=1;nsup-period=0;default-ttl=0;max-record-size=1048576;storage-engine=memory"
	run "$FS_ROOT/scripts/aerospike-fixture-stop"
	assert_success
	run -1 kill -0 "$pid"
	run "$FS_ROOT/scripts/aerospike-fixture-stop"
	assert_success
}

@test "asfixture --user: logins as the official client makes them; nothing before login" {
	private_fixture -- --user fs --password s3cret
	python=$("$FS_ROOT/scripts/aerospike-venv")
	run --separate-stderr "$python" "$TESTS/aerospike/check_security.py" "$PRIVATE"
	echo "$output"
	assert_success
	refute_output --partial "not ok"
	run -1 --separate-stderr "$FIXTURE" --ctl "$PRIVATE" node
	assert_output "ERROR:80:not authenticated"
	run -1 --separate-stderr "$FIXTURE" --user fs --password nope --ctl "$PRIVATE" node
	assert_equal "$stderr" "asfixture: login to $PRIVATE as 'fs': result code 62"
	run --separate-stderr "$FIXTURE" --user fs --password s3cret --ctl "$PRIVATE" namespaces
	assert_success
	assert_output "test"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

@test "asfixture --partitions/--peer: two fixtures make a cluster the official client routes by" {
	python=$("$FS_ROOT/scripts/aerospike-venv")
	pa=$(free_port)
	pb=$(free_port)
	export FS_ASFIXTURE="$FIXTURE"
	FS_ASFIXTURE_STATE="$T/a" "$FS_ROOT/scripts/aerospike-fixture-start" --port "$pa" -- --partitions 0/2 --peer "$pb"
	FS_ASFIXTURE_STATE="$T/b" "$FS_ROOT/scripts/aerospike-fixture-start" --port "$pb" -- --partitions 1/2 --peer "$pa"
	run --separate-stderr "$python" "$TESTS/aerospike/check_cluster.py" two "127.0.0.1:$pa"
	echo "$output"
	assert_success
	refute_output --partial "not ok"
	run "$FIXTURE" --ctl "127.0.0.1:$pa" peers-clear-std
	assert_output "1,$pa,[[$("$FIXTURE" --ctl "127.0.0.1:$pb" node),,[127.0.0.1:$pb]]]"
	FS_ASFIXTURE_STATE="$T/b" "$FS_ROOT/scripts/aerospike-fixture-stop"
	"$FIXTURE" --ctl "127.0.0.1:$pa" fixture-set:solo=1
	run --separate-stderr "$python" "$TESTS/aerospike/check_cluster.py" solo "127.0.0.1:$pa"
	echo "$output"
	FS_ASFIXTURE_STATE="$T/a" "$FS_ROOT/scripts/aerospike-fixture-stop"
	assert_success
	refute_output --partial "not ok"
}

@test "asfixture --load: pipelined raw writes, all acknowledged, counted by the fixture" {
	private_fixture
	run --separate-stderr "$FIXTURE" --load "$PRIVATE" --connections 4 --depth 8 --count 2000
	assert_success
	assert_output --regexp '^writes=2000 seconds=[0-9.]+ writes_per_second=[0-9]+$'
	run --separate-stderr "$FIXTURE" --ctl "$PRIVATE" fixture-stats
	assert_output --partial "records=2000;requests=2000;"
}

@test "asfixture: --help on stdout, usage errors exit 2" {
	run --separate-stderr "$FIXTURE" --help
	assert_success
	assert_line --index 0 --partial "usage: asfixture"
	assert_equal "$stderr" ""
	run -2 --separate-stderr "$FIXTURE" --port 70000
	assert_equal "$stderr" "asfixture: --port must be 0..65535: '70000'
Try 'asfixture --help' for more information."
	run -2 --separate-stderr "$FIXTURE" --ctl 127.0.0.1:1
	assert_equal "$stderr" "asfixture: --ctl needs at least one command
Try 'asfixture --help' for more information."
	run -2 --separate-stderr "$FIXTURE" -n "$(printf 'n%.0s' {1..32})"
}
