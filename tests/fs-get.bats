#!/usr/bin/env bats
# fs-get: reads Aerospike records by key (the protocol fixture of
# tests/aerospike/), and prints the cluster's nodes.

load test_helper

FIXTURE="$FS_ROOT/build/fixtures/asfixture"

suite_setup() {
	SET=$(uniq_name g)
}

get() {
	fs-get --hosts "$FS_AEROSPIKE" -n test -s "$SET" "$@"
}

put() {
	fs-sink-aerospike --hosts "$FS_AEROSPIKE" -n test -s "$SET" "$@"
}

@test "fs-get: KEY arguments that look like integers are integer keys" {
	require_aerospike
	printf '%s\n' '{"id":7,"v":"int"}' '{"id":"7","v":"str"}' | put --key id
	run --separate-stderr get 7
	assert_success
	assert_output '{"key":7,"found":true,"generation":1,"ttl":-1,"bins":{"v":"int"}}'
	run --separate-stderr get --key-type string 7
	assert_output '{"key":"7","found":true,"generation":1,"ttl":-1,"bins":{"v":"str"}}'
	run -2 --separate-stderr get --key-type integer x
	assert_equal "${stderr_lines[0]}" "fs-get: --key-type integer: not an integer: 'x'"
}

@test "fs-get: a missing record is found:false, or an error with --bins-only" {
	require_aerospike
	echo '{"id":"a","v":1}' | put --key id
	run --separate-stderr get a nope
	assert_success
	assert_output '{"key":"a","found":true,"generation":1,"ttl":-1,"bins":{"v":1}}
{"key":"nope","found":false}'
	run -1 --separate-stderr get --bins-only a nope
	assert_output '{"v":1}'
	assert_equal "$stderr" "fs-get: not found: 'nope'"
}

@test "fs-get: --key reads the keys of NDJSON records, as the sink built them" {
	require_aerospike
	printf '%s\n' '{"u":1,"c":"fr","v":1}' '{"u":2,"c":"de","v":2}' | put --key u,c
	printf '%s\n' '{"u":2,"c":"de"}' '{"@fs":"watermark","ts":1}' '{"u":1,"c":"fr","other":true}' >keys.ndjson
	run --separate-stderr get --key u,c keys.ndjson
	assert_success
	assert_output '{"key":"2:de","found":true,"generation":1,"ttl":-1,"bins":{"v":2}}
{"key":"1:fr","found":true,"generation":1,"ttl":-1,"bins":{"v":1}}'
	echo '{"c":"fr"}' >bad.ndjson
	run -1 --separate-stderr get --key u,c bad.ndjson
	assert_equal "$stderr" "fs-get: bad.ndjson:1: missing key field 'u'"
}

@test "fs-get: a string holding a NUL byte is printed as \\u0000" {
	require_aerospike
	echo '{"id":"z","s":"x\u0000y"}' | put --key id
	run --separate-stderr get --bins-only z
	assert_success
	assert_output '{"s":"x\u0000y"}'
}

@test "fs-get: --info prints each node with its namespaces" {
	require_aerospike
	node=$("$FIXTURE" --ctl "$FS_AEROSPIKE" node)
	build=$("$FIXTURE" --ctl "$FS_AEROSPIKE" build)
	run --separate-stderr fs-get --hosts "$FS_AEROSPIKE" --info
	assert_success
	assert_output --regexp "^\\{\"node\":\"$node\",\"address\":\"$FS_AEROSPIKE\",\"build\":\"$build\",\"namespaces\":\\[([^]]*,)?\"test\"[^]]*\\],\"partition_generation\":[0-9]+\\}\$"
}

@test "fs-get: -h alone is help; -h HOSTS is the old spelling of --hosts" {
	run -0 --separate-stderr fs-get -h
	assert_line --index 0 --partial "usage: fs-get "
	assert_equal "$stderr" ""
	run -0 --separate-stderr fs-get -h -n test a
	assert_line --index 0 --partial "usage: fs-get "
	run -1 --separate-stderr fs-get -h127.0.0.1:1 -n test a
	assert_equal "$stderr" "fs-get: aerospike: 127.0.0.1:1: connect: Connection refused"
	run -1 --separate-stderr fs-get --hosts 127.0.0.1:1 -n test a
	assert_equal "$stderr" "fs-get: aerospike: 127.0.0.1:1: connect: Connection refused"
}

@test "fs-get: usage errors exit 2, an unreachable host exits 1" {
	run -2 --separate-stderr fs-get a
	assert_equal "${stderr_lines[0]}" "fs-get: -n NAMESPACE is required"
	run -2 --separate-stderr fs-get -n test
	assert_equal "${stderr_lines[0]}" "fs-get: no keys: give KEY arguments or --key FIELDS"
	run -2 --separate-stderr fs-get --info a
	assert_equal "${stderr_lines[0]}" "fs-get: --info takes no keys"
	run -1 --separate-stderr fs-get -h 127.0.0.1:1 -n test a
	assert_equal "$stderr" "fs-get: aerospike: 127.0.0.1:1: connect: Connection refused"
}
