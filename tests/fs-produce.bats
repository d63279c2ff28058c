#!/usr/bin/env bats
# fs-produce against the real broker of scripts/kafka-start, read back
# with fs-consume.

load test_helper
load kafka_helper

suite_setup() {
	require_kafka
	B=$FS_KAFKA_BROKERS
	pc= pp=
}

teardown() {
	local p
	# shellcheck disable=SC2086
	for p in $pc $pp; do
		kill -9 "$p" 2>/dev/null || true
	done
}

# An envelope as fs-consume prints it, less the members the broker
# assigns (topic, offset, timestamp type), for comparing with the input.
strip_assigned() {
	sed -E 's/^\{"topic":"[^"]*","partition":([0-9]+),"offset":[0-9]+,/{"partition":\1,/; s/"timestamp_type":"create",//'
}

@test "fs-produce: 100 000 envelopes round-trip through 4 partitions byte-identical" {
	local t
	t=$(uniq_name rt)
	kafka_create_topic "$t" 4
	# keys, headers (one repeated), JSON and text and binary values
	awk 'BEGIN {
		for (i = 0; i < 100000; i++) {
			v = (i % 7 == 0) ? "\"text " i " \\\\ \\\"q\\\"\"" : \
			    (i % 1000 == 1) ? "\"/wAB" "\",\"value_encoding\":\"base64\"" : \
			    "{\"i\":" i ",\"s\":\"" sprintf("%060d", i) "\",\"f\":[1,2.5,true]}"
			printf "{\"partition\":%d,\"timestamp\":%d,\"key\":\"k%d\",\"headers\":{\"h\":[\"a%d\",\"b\"],\"z\":\"\\u00e9\"},\"value\":%s}\n", \
			    i % 4, 1700000000000 + i, i, i, v
		}
	}' > in.ndjson
	run --separate-stderr fs-produce -b "$B" -E -t "$t" < in.ndjson
	assert_success
	assert_equal "$stderr" ""
	fs-consume -b "$B" -t "$t" -o beginning -e > out.ndjson
	assert_equal "$(wc -l < out.ndjson)" 100000
	strip_assigned < out.ndjson | sort > got
	# jansson writes U+00E9 as UTF-8, as fs-consume does
	sed 's/\\u00e9/\xc3\xa9/' in.ndjson | sort > want
	cmp got want
	# and each partition kept its order
	run bash -c "grep '\"partition\":2,' out.ndjson | grep -o '\"key\":\"k[0-9]*\"' | tr -dc '0-9\n' | sort -n -c"
	assert_success
}

@test "fs-produce: a topic dumped with fs-consume replays into another topic unchanged" {
	local a b
	a=$(uniq_name src) b=$(uniq_name dst)
	printf '{"x":1}\n{"x":"y"}\n' | fs-produce -b "$B" -t "$a" -k x -H h=x
	printf 'not json' | kcat -b "$B" -P -t "$a"
	printf '\377\376binary' > bin
	kcat -b "$B" -P -t "$a" -k kb bin
	fs-consume -b "$B" -t "$a" -o beginning -e > dump
	run --separate-stderr fs-produce -b "$B" -E -t "$b" < dump
	assert_success
	fs-consume -b "$B" -t "$b" -o beginning -e > dump2
	assert_equal "$(sed "s/\"topic\":\"$b\"/\"topic\":\"$a\"/" dump2)" "$(cat dump)"
	kcat -b "$B" -C -t "$b" -o 3 -c 1 -f '%s' > bin2
	cmp bin bin2
}

@test "fs-produce: -k, -H, --value-field and --timestamp build the message from fields" {
	local t
	t=$(uniq_name rec)
	printf '%s\n' \
	    '{"user":{"id":"u1"},"country":"FR","ts":"2026-01-01T00:00:00Z","f":{"clicks":3}}' \
	    '{"user":{"id":"u2"},"country":"DE","ts":1767225600001,"f":{"clicks":4}}' > in
	run --separate-stderr fs-produce -b "$B" -t "$t" -k user.id -H cc=country \
	    --value-field f --timestamp < in
	assert_success
	run --separate-stderr fs-consume -b "$B" -t "$t" -o beginning -e
	assert_output "{\"topic\":\"$t\",\"partition\":0,\"offset\":0,\"timestamp\":1767225600000,\"timestamp_type\":\"create\",\"key\":\"u1\",\"headers\":{\"cc\":\"FR\"},\"value\":{\"clicks\":3}}
{\"topic\":\"$t\",\"partition\":0,\"offset\":1,\"timestamp\":1767225600001,\"timestamp_type\":\"create\",\"key\":\"u2\",\"headers\":{\"cc\":\"DE\"},\"value\":{\"clicks\":4}}"
}

@test "fs-produce: a -H field no record had is named at exit; one present in some records is not" {
	local t
	t=$(uniq_name hdr)
	printf '%s\n' '{"user":"u1","country":"FR"}' '{"user":"u2","cc":null}' > in
	run --separate-stderr fs-produce -b "$B" -t "$t" -k user -H country=country -H cc=cc -H src=sorce < in
	assert_success
	assert_equal "$stderr" "fs-produce: field 'sorce' (in -H src=sorce) was absent in all 2 records"
	run --separate-stderr fs-consume -b "$B" -t "$t" -o beginning -e -V
	assert_output $'{"user":"u1","country":"FR"}\n{"user":"u2","cc":null}'
}

@test "fs-produce: --strict makes a field no record had an error, exit 1 once the messages are delivered" {
	local t
	t=$(uniq_name strict)
	printf '%s\n' '{"user":"u1"}' '{"user":"u2"}' > in
	run --separate-stderr fs-produce -b "$B" -t "$t" --strict -H src=sorce < in
	assert_failure 1
	assert_equal "$stderr" "fs-produce: field 'sorce' (in -H src=sorce) was absent in all 2 records"
	run --separate-stderr fs-consume -b "$B" -t "$t" -o beginning -e -V
	assert_output $'{"user":"u1"}\n{"user":"u2"}'
	# a typo'd -k or --value-field: every record is bad input, and the field named
	run --separate-stderr fs-produce -b "$B" -t "$t" -q --strict --on-error skip -k usr < in
	assert_failure 1
	assert_equal "$stderr" $'fs-produce: field \'usr\' (in -k usr) was absent in all 2 records\nfs-produce: 2 records rejected'
	run --separate-stderr fs-produce -b "$B" -t "$t" -q --strict --on-error skip --value-field feats < in
	assert_failure 1
	assert_equal "$stderr" $'fs-produce: field \'feats\' (in --value-field feats) was absent in all 2 records\nfs-produce: 2 records rejected'
}

@test "fs-produce: a compound key is the JSON array of the fields; the record is the value" {
	local t
	t=$(uniq_name key)
	echo '{"a":"x","b":2}' | fs-produce -b "$B" -t "$t" -k a,b
	run --separate-stderr fs-consume -b "$B" -t "$t" -o beginning -e
	assert_output --partial ',"key":["x",2],"headers":{},"value":{"a":"x","b":2}}'
}

@test "fs-produce: -p sends every record to one partition" {
	local t
	t=$(uniq_name part)
	kafka_create_topic "$t" 3
	printf '{"n":1}\n{"n":2}\n' | fs-produce -b "$B" -t "$t" -p 2
	run --separate-stderr fs-consume -b "$B" -t "$t" -p 2 -o beginning -e -V
	assert_output $'{"n":1}\n{"n":2}'
}

@test "fs-produce: control records are not produced; a barrier checkpoints the sink" {
	local t
	t=$(uniq_name ctl)
	printf '%s\n' '{"n":1}' '{"@fs":"watermark","ts":5}' '{"n":2}' '{"@fs":"barrier","id":1}' '{"n":3}' \
	    '{"@fs":"end","id":2}' > in
	run --separate-stderr fs-produce -b "$B" -t "$t" --checkpoint-dir ck < in
	assert_success
	run fs-ckpt verify ck/fs-produce/00000000000000000001.ckpt
	assert_success
	run --separate-stderr fs-consume -b "$B" -t "$t" -o beginning -e -V
	assert_output $'{"n":1}\n{"n":2}\n{"n":3}'
}

@test "fs-produce: a bad line is an error with its line number, after what came before is delivered" {
	local t
	t=$(uniq_name bad)
	printf '{"n":1}\n{"n":\n{"n":3}\n' > in
	run --separate-stderr fs-produce -b "$B" -t "$t" < in
	assert_failure 1
	assert_equal "$stderr" "fs-produce: -:2: invalid JSON: column 5: unexpected token near end of file"
	run --separate-stderr fs-consume -b "$B" -t "$t" -o beginning -e -V
	assert_output '{"n":1}'
}

@test "fs-produce: a missing key field is rejected; --on-error skip goes on" {
	local t
	t=$(uniq_name skip)
	printf '{"id":1}\n{"x":2}\n{"id":3}\n' > in
	run --separate-stderr fs-produce -b "$B" -t "$t" -k id --on-error skip < in
	assert_success
	assert_equal "$stderr" $'fs-produce: -:2: missing key field \'id\'\nfs-produce: 1 record rejected'
	run --separate-stderr fs-consume -b "$B" -t "$t" -o beginning -e -V
	assert_output $'{"id":1}\n{"id":3}'
}

@test "fs-produce: a key field holding an object or an array is bad input naming the field and its type" {
	local t
	t=$(uniq_name keyobj)
	printf '%s\n' '{"user":"u1"}' '{"user":{"id":2}}' '{"user":"u3"}' > in
	run --separate-stderr fs-produce -b "$B" -t "$t" -k user < in
	assert_failure 1
	assert_equal "$stderr" "fs-produce: -:2: key field 'user' is an object, not a string, number, boolean or null"
	run --separate-stderr fs-consume -b "$B" -t "$t" -o beginning -e -V
	assert_output '{"user":"u1"}'
}

@test "fs-produce: keys as fs(7) says: objects and arrays rejected, also in a compound key; null, booleans and numbers are keys" {
	local t
	t=$(uniq_name keytypes)
	printf '%s\n' '{"n":1,"u":[1,2],"c":1}' '{"n":2,"u":null,"c":2}' \
	    '{"n":3,"u":true,"c":3}' '{"n":4,"u":3.5,"c":4}' \
	    '{"n":5,"u":"s","c":{"x":1}}' '{"n":6,"u":-7,"c":6}' > in
	run --separate-stderr fs-produce -b "$B" -t "$t" -k u --on-error skip < in
	assert_success
	assert_equal "$stderr" "fs-produce: -:1: key field 'u' is an array, not a string, number, boolean or null
fs-produce: 1 record rejected"
	run --separate-stderr fs-produce -b "$B" -t "$t" -k u,c --dead-letter dl < in
	assert_success
	assert_equal "$stderr" "fs-produce: -:1: key field 'u' is an array, not a string, number, boolean or null
fs-produce: -:5: key field 'c' is an object, not a string, number, boolean or null
fs-produce: 2 records rejected"
	assert_file_equals dl "$(sed -n '1p;5p' in)"
	# one field: null is no key (as in an envelope), the others their JSON
	fs-consume -b "$B" -t "$t" -o beginning -e |
	    sed -E 's/.*"key":(.*),"headers".*"value":\{"n":([0-9]+).*/\2 \1/' > got
	assert_file_equals got "$(printf '%s\n' '2 null' '3 true' '4 3.5' '5 "s"' '6 -7' \
	    '2 [null,2]' '3 [true,3]' '4 [3.5,4]' '6 [-7,6]')"
}

@test "fs-produce: a delivery that fails is never silent: reported per line, exit 1" {
	printf '{"n":1}\n{"n":2}\n' > in
	# the broker answers, and refuses the topic
	run --separate-stderr fs-produce -b "$B" -t 'bad!topic' < in
	assert_failure 1
	assert_equal "$stderr" "fs-produce: -:1: delivery to bad!topic failed: Broker: Invalid topic
fs-produce: -:2: delivery to bad!topic failed: Broker: Invalid topic
fs-produce: 2 messages not delivered"
}

@test "fs-produce: --dead-letter keeps the lines whose delivery failed, with the reason" {
	printf '{"n":1}\n' > in
	run --separate-stderr fs-produce -b "$B" -t 'bad!topic' --dead-letter dl < in
	assert_success
	assert_equal "$stderr" \
	    $'fs-produce: -:1: delivery to bad!topic failed: Broker: Invalid topic\nfs-produce: 1 record rejected'
	assert_file_equals dl '{"n":1}'
}

@test "fs-produce: no broker at start is a clear error after the metadata time-out, not when the first message times out" {
	local start
	printf '{"n":1}\n' > in
	start=$SECONDS
	run --separate-stderr timeout -k 5 60 fs-produce -b 127.0.0.1:1 -t x --metadata-timeout 1s < in
	assert_failure 1
	assert_equal "$stderr" "fs-produce: no broker reachable in 1s: '127.0.0.1:1': Connect to ipv4#127.0.0.1:1 failed: Connection refused"
	# transactional: not after init_transactions' minute either
	run --separate-stderr timeout -k 5 60 fs-produce -b 127.0.0.1:1 -t x --metadata-timeout 1s \
	    --transactional-id x --checkpoint-dir ck < in
	assert_failure 1
	assert_equal "$stderr" "fs-produce: no broker reachable in 1s: '127.0.0.1:1': Connect to ipv4#127.0.0.1:1 failed: Connection refused"
	[ $((SECONDS - start)) -le 8 ] || fail "took $((SECONDS - start))s"
}

# The same path as above, waiting out the defaults: nothing for the
# sanitizers that the test above does not run.
# bats test_tags=no-asan
@test "fs-produce: with no broker at start the metadata time-out is 2s by default, 10s under fs-run" {
	local start
	printf '{"n":1}\n' > in
	start=$SECONDS
	# by default within 2s, as fs-consume
	run --separate-stderr timeout -k 5 60 fs-produce -b 127.0.0.1:1 -t x < in
	assert_failure 1
	assert_equal "$stderr" "fs-produce: no broker reachable in 2s: '127.0.0.1:1': Connect to ipv4#127.0.0.1:1 failed: Connection refused"
	[ $((SECONDS - start)) -le 6 ] || fail "took $((SECONDS - start))s"
	# under fs-run (FS_RUN_ATTEMPT) within 10s, the metadata time-out
	run --separate-stderr timeout -k 5 60 env FS_RUN_ATTEMPT=1 fs-produce -b 127.0.0.1:1 -t x < in
	assert_failure 1
	assert_equal "$stderr" "fs-produce: no broker reachable in 10s: '127.0.0.1:1': Connect to ipv4#127.0.0.1:1 failed: Connection refused"
}

@test "fs-produce: a malformed broker address is a usage error naming it, given with -b, -X or -F" {
	run --separate-stderr timeout -k 5 60 fs-produce -b FS_KAFKA_BROKERS=127.0.0.1:9092 -t x <<< '{"n":1}'
	assert_failure 2
	assert_equal "$stderr" "fs-produce: -b: not a host:port list ('=' in a host name): 'FS_KAFKA_BROKERS=127.0.0.1:9092'
Try 'fs-produce --help' for more information."
	run --separate-stderr fs-produce -X bootstrap.servers=localhost:9092,kafka:0 -t x < /dev/null
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-produce: -X: not a host:port list (a port not in 1-65535): 'localhost:9092,kafka:0': 'bootstrap.servers=localhost:9092,kafka:0'"
	printf 'bootstrap.servers = ::1:9092\n' > k.conf
	run --separate-stderr fs-produce -F k.conf -t x < /dev/null
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-produce: k.conf:1: not a host:port list (an IPv6 address not in [brackets]): '::1:9092': 'bootstrap.servers=::1:9092'"
	# what librdkafka reads is accepted: protocols, brackets, spaces, no port
	run --separate-stderr fs-produce -b "SSL://a:1, [::1]:2 b" -t x --metadata-timeout 1s < /dev/null
	assert_failure 1
	[[ "$stderr" == "fs-produce: no broker reachable in 1s: 'SSL://a:1, [::1]:2 b'"* ]] || fail "$stderr"
}

@test "fs-produce: usage errors exit 2" {
	run --separate-stderr fs-produce -b "$B"
	assert_failure 2
	run --separate-stderr fs-produce -b "$B" -E -k id
	assert_failure 2
	run --separate-stderr fs-produce -b "$B" -t x -X nope=1
	assert_failure 2
	run --separate-stderr fs-produce -b "$B" -t x -H novalue
	assert_failure 2
	run --separate-stderr fs-produce -b "$B" -t x --metadata-timeout 500ms
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-produce: --metadata-timeout: from 1s to 24d: '500ms'"
}

@test "fs-produce: transactional pipeline killed mid-stream, restarted: read_committed sees each record once" {
	local src dst tx
	src=$(uniq_name txs) dst=$(uniq_name txd) tx=$(uniq_name tx)
	seq 0 10499 | sed 's/.*/{"n":&}/' | fs-produce -b "$B" -t "$src"
	mkfifo pipe
	fs-consume -b "$B" -t "$src" -o beginning -V --checkpoint-dir ck \
	    --checkpoint-records 1000 > pipe 3>&- &
	pc=$!
	fs-produce -b "$B" -t "$dst" --transactional-id "$tx" --checkpoint-dir ck \
	    < pipe 3>&- &
	pp=$!
	wait_for 60 test -f ck/fs-produce/00000000000000000010.ckpt
	# records 10000..10499 are in the open transaction: kill both
	kill -9 "$pp" "$pc"
	wait "$pp" "$pc" 2>/dev/null || true
	fs-consume -b "$B" -t "$src" -o beginning -V -e --checkpoint-dir ck \
	    --checkpoint-records 1000 |
	fs-produce -b "$B" -t "$dst" --transactional-id "$tx" --checkpoint-dir ck
	fs-consume -b "$B" -t "$dst" -o beginning -e -V | tr -dc '0-9\n' | sort -n > got
	seq 0 10499 > want
	cmp got want
}

@test "fs-produce: SIGTERM aborts the open transaction" {
	local t
	t=$(uniq_name txa)
	mkfifo pipe
	fs-produce -b "$B" -t "$t" --transactional-id "$t" < pipe 2> err 3>&- &
	pp=$!
	exec 5> pipe
	printf '{"n":1}\n' >&5
	wait_for 30 bash -c "kcat -b '$B' -C -t '$t' -X isolation.level=read_uncommitted -o beginning -e -q 2>/dev/null | grep -q n"
	kill -TERM "$pp"
	exec 5>&-
	wait "$pp"
	assert_file_equals err "fs-produce: stopped by a signal: aborting the open transaction (1 message)"
	run --separate-stderr fs-consume -b "$B" -t "$t" -o beginning -e -V
	assert_success
	assert_output ""
}

@test "fs-produce: Kafka to Kafka features, pipeline killed -9 and restarted: each feature committed once, as a batch run computes them" {
	local src dst i
	src=$(uniq_name e2e) dst=$(uniq_name e2eo)
	fs-gen --count 5000 > events
	fs-produce -b "$B" -t "$src" -k user < events
	fs-window --tumble 1m < events | fs-agg --key user --agg clicks=count |
	    grep -v '"@fs"' | sort > want
	pipeline() {    # [-e]: the four stages over named pipes, pids in $pids
		rm -f p1 p2 p3
		mkfifo p1 p2 p3
		fs-consume -b "$B" -t "$src" -G "$src-g" -o beginning -V "$@" \
		    --watermarks --checkpoint-dir ck --checkpoint-records 1000 > p1 3>&- &
		pids="$!"
		fs-window --tumble 1m --checkpoint-dir ck < p1 > p2 3>&- &
		pids="$pids $!"
		fs-agg --key user --agg clicks=count --checkpoint-dir ck < p2 > p3 3>&- &
		pids="$pids $!"
		fs-produce -b "$B" -t "$dst" -k user --transactional-id "$dst" \
		    --checkpoint-dir ck < p3 3>&- &
		pids="$pids $!"
	}
	pipeline -X session.timeout.ms=6000
	pc=$pids
	wait_for 60 test -f ck/fs-produce/00000000000000000003.ckpt
	kill -9 $pids
	for i in $pids; do wait "$i" 2>/dev/null || true; done
	pc=
	pipeline -e
	pc=$pids
	for i in $pids; do wait "$i"; done
	pc=
	fs-consume -b "$B" -t "$dst" -o beginning -e -V | sort > got
	cmp got want
}

# The messages of topic t as "fs-barrier value" lines, in order.
barrier_and_value() {
	fs-consume -b "$B" -t "$1" -o beginning -e |
	    sed -E 's/.*"headers":\{"fs-barrier":"[^"\/]*\/([0-9]+)"\},"value":(.*)\}$/\1 \2/'
}

@test "fs-produce: each message names the barrier that commits its transaction in the header fs-barrier" {
	local t
	t=$(uniq_name txh)
	kafka_create_topic "$t" 1
	printf '%s\n' '{"n":1}' '{"@fs":"barrier","id":1}' '{"n":2}' '{"n":3}' \
	    '{"@fs":"barrier","id":2}' '{"n":4}' '{"@fs":"end","id":3}' > in
	run --separate-stderr fs-produce -b "$B" -t "$t" --transactional-id "$t" \
	    --checkpoint-dir ck < in
	assert_success
	assert_equal "$stderr" ""
	run barrier_and_value "$t"
	assert_output "$(printf '%s\n' '1 {"n":1}' '2 {"n":2}' '2 {"n":3}' '3 {"n":4}')"
}

@test "fs-produce: restarted after a commit whose checkpoint file was not written, it drops that transaction's records instead of committing them twice" {
	local t
	t=$(uniq_name txr)
	kafka_create_topic "$t" 1
	printf '%s\n' '{"n":1}' '{"n":2}' '{"@fs":"barrier","id":1}' '{"n":3}' \
	    '{"n":4}' '{"@fs":"barrier","id":2}' '{"@fs":"end","id":3}' |
	    fs-produce -b "$B" -t "$t" --transactional-id "$t" --checkpoint-dir ck
	# killed after committing barrier 2's transaction, before its file
	rm ck/fs-produce/00000000000000000002.ckpt ck/fs-produce/00000000000000000003.ckpt
	printf '%s\n' '{"@fs":"restore","id":1}' '{"n":3}' '{"n":4}' \
	    '{"@fs":"barrier","id":2}' '{"n":5}' '{"@fs":"barrier","id":3}' \
	    '{"@fs":"end","id":4}' > in
	run --separate-stderr fs-produce -b "$B" -t "$t" --transactional-id "$t" \
	    --checkpoint-dir ck -v < in
	assert_success
	assert_equal "$stderr" "$(printf '%s\n' \
	    'fs-produce: the transaction of barrier 2 was committed before the restart: its 2 messages are not produced again' \
	    'fs-produce: restored checkpoint 1' \
	    'fs-produce: 2 records of the transaction of barrier 2 dropped: committed before the restart' \
	    'fs-produce: checkpoint 2 written' \
	    'fs-produce: checkpoint 3 written' \
	    'fs-produce: checkpoint 4 written')"
	run barrier_and_value "$t"
	assert_output "$(printf '%s\n' '1 {"n":1}' '1 {"n":2}' '2 {"n":3}' '2 {"n":4}' '3 {"n":5}')"
	test -f ck/fs-produce/00000000000000000002.ckpt
}

# A run killed after committing the transaction of barrier 2 ({"n":3})
# and before writing its checkpoint file, as a kill between the two
# leaves it: the restart resumes from checkpoint 1.
killed_after_commit() {
	printf '%s\n' '{"n":1}' '{"n":2}' '{"@fs":"barrier","id":1}' '{"n":3}' \
	    '{"@fs":"barrier","id":2}' '{"@fs":"end","id":3}' |
	    fs-produce -b "$B" -t "$1" --transactional-id "$1" --checkpoint-dir ck
	rm ck/fs-produce/00000000000000000002.ckpt ck/fs-produce/00000000000000000003.ckpt
}

@test "fs-produce: after a commit whose checkpoint file was not written, a replay whose barrier comes later loses nothing" {
	local t
	t=$(uniq_name txl)
	kafka_create_topic "$t" 1
	killed_after_commit "$t"
	# The replay reads further before its barrier 2 (a time-driven
	# barrier): {"n":4} was not in the committed transaction.
	printf '%s\n' '{"@fs":"restore","id":1}' '{"n":3}' '{"n":4}' \
	    '{"@fs":"barrier","id":2}' '{"n":5}' '{"@fs":"end","id":3}' |
	    fs-produce -b "$B" -t "$t" --transactional-id "$t" --checkpoint-dir ck
	run barrier_and_value "$t"
	assert_output "$(printf '%s\n' '1 {"n":1}' '1 {"n":2}' '2 {"n":3}' '2 {"n":4}' '3 {"n":5}')"
}

@test "fs-produce: after a commit whose checkpoint file was not written, a replay whose barrier comes earlier doubles nothing" {
	local t
	t=$(uniq_name txe)
	kafka_create_topic "$t" 1
	killed_after_commit "$t"
	printf '%s\n' '{"@fs":"restore","id":1}' '{"@fs":"barrier","id":2}' \
	    '{"n":3}' '{"n":4}' '{"@fs":"end","id":3}' |
	    fs-produce -b "$B" -t "$t" --transactional-id "$t" --checkpoint-dir ck
	run barrier_and_value "$t"
	assert_output "$(printf '%s\n' '1 {"n":1}' '1 {"n":2}' '2 {"n":3}' '3 {"n":4}')"
}

@test "fs-produce: a replay whose barrier comes earlier, killed before the rest of the committed transaction came: the next restart still drops it" {
	local t
	t=$(uniq_name txk)
	kafka_create_topic "$t" 1
	killed_after_commit "$t"
	# The replay's barrier 2 comes before {"n":3}, which it has still to
	# drop when it is killed after writing checkpoint 2.
	printf '%s\n' '{"@fs":"restore","id":1}' '{"@fs":"barrier","id":2}' > in
	run -1 fs-produce -b "$B" -t "$t" --transactional-id "$t" --checkpoint-dir ck < in
	test -f ck/fs-produce/00000000000000000002.ckpt
	printf '%s\n' '{"@fs":"restore","id":2}' '{"n":3}' '{"n":4}' '{"@fs":"end","id":3}' > in
	run --separate-stderr fs-produce -b "$B" -t "$t" --transactional-id "$t" \
	    --checkpoint-dir ck -v < in
	assert_success
	assert_equal "$stderr" "$(printf '%s\n' \
	    'fs-produce: 1 message committed before checkpoint 2 still to come: not produced again' \
	    'fs-produce: restored checkpoint 2' \
	    'fs-produce: 1 record of the transaction of barrier 2 dropped: committed before the restart' \
	    'fs-produce: checkpoint 3 written')"
	run barrier_and_value "$t"
	assert_output "$(printf '%s\n' '1 {"n":1}' '1 {"n":2}' '2 {"n":3}' '3 {"n":4}')"
}

@test "fs-produce: one of two sinks, restarted after committing two transactions past the checkpoint the slower sink completed, it drops the records of both" {
	local t
	t=$(uniq_name tx2)
	kafka_create_topic "$t" 1
	# The other sink of a tee: it wrote checkpoint 1 and no more.
	printf '%s\n' '{"@fs":"barrier","id":1}' > other.in
	run -1 fs-window --tumble 1m --stage other-sink --checkpoint-dir ck < other.in
	test -f ck/other-sink/00000000000000000001.ckpt
	# fs-produce went on: the transactions of barriers 2 and 3 committed,
	# then the pipeline was killed.
	printf '%s\n' '{"n":1}' '{"n":2}' '{"@fs":"barrier","id":1}' '{"n":3}' \
	    '{"@fs":"barrier","id":2}' '{"n":4}' '{"@fs":"barrier","id":3}' '{"n":5}' > in
	run -1 fs-produce -b "$B" -t "$t" --transactional-id "$t" --checkpoint-dir ck < in
	run -0 fs-ckpt list ck
	assert_line --index 0 --regexp '^\{"id":3,"complete":false,'
	assert_line --index 2 --regexp '^\{"id":1,"complete":true,'
	# The restart resumes from checkpoint 1, the newest complete.
	printf '%s\n' '{"@fs":"restore","id":1}' '{"n":3}' '{"@fs":"barrier","id":2}' \
	    '{"n":4}' '{"@fs":"barrier","id":3}' '{"n":5}' '{"@fs":"end","id":4}' > in
	run --separate-stderr fs-produce -b "$B" -t "$t" --transactional-id "$t" \
	    --checkpoint-dir ck -v < in
	assert_success
	assert_equal "$stderr" "$(printf '%s\n' \
	    'fs-produce: the transactions of barriers 2 to 3 were committed before the restart: their 2 messages are not produced again' \
	    'fs-produce: restored checkpoint 1' \
	    'fs-produce: checkpoint 2 written' \
	    'fs-produce: 2 records of the transactions of barriers 2 to 3 dropped: committed before the restart' \
	    'fs-produce: checkpoint 3 written' \
	    'fs-produce: checkpoint 4 written')"
	run barrier_and_value "$t"
	assert_output "$(printf '%s\n' '1 {"n":1}' '1 {"n":2}' '2 {"n":3}' '3 {"n":4}' '4 {"n":5}')"
}

@test "fs-produce: the same before the first checkpoint, with --stats counting the records dropped" {
	local t
	t=$(uniq_name txz)
	kafka_create_topic "$t" 3
	printf '%s\n' '{"n":1}' '{"n":2}' '{"@fs":"barrier","id":1}' > in
	# the input stops after the barrier: killed upstream
	run fs-produce -b "$B" -t "$t" -k n --transactional-id "$t" --checkpoint-dir ck < in
	assert_failure 1
	rm ck/fs-produce/00000000000000000001.ckpt
	printf '%s\n' '{"n":3}' '{"@fs":"end","id":2}' >> in
	run --separate-stderr fs-produce -b "$B" -t "$t" -k n --transactional-id "$t" \
	    --checkpoint-dir ck --stats < in
	assert_success
	assert_equal "$stderr" "$(printf '%s\n' \
	    'fs-produce: the transaction of barrier 1 was committed before the restart: its 2 messages are not produced again' \
	    'fs-produce: 2 records of the transaction of barrier 1 dropped: committed before the restart' \
	    'fs-produce: checkpoint 1 written' \
	    'fs-produce: checkpoint 2 written' \
	    'fs-produce: 1 produced, 1 delivered, 0 failed' \
	    'fs-produce: 2 dropped: committed before the restart')"
	barrier_and_value "$t" | sort > got
	assert_file_equals got "$(printf '%s\n' '1 {"n":1}' '1 {"n":2}' '2 {"n":3}')"
}

@test "fs-produce: run again after the end of the stream, it produces nothing twice" {
	local t
	t=$(uniq_name txe)
	kafka_create_topic "$t" 1
	# the end is the last barrier: {"n":2} is committed as its transaction
	printf '%s\n' '{"n":1}' '{"@fs":"barrier","id":1}' '{"n":2}' '{"@fs":"end","id":2}' |
	    fs-produce -b "$B" -t "$t" --transactional-id "$t" --checkpoint-dir ck
	# run again on the same directory, with nothing new: nothing produced
	printf '%s\n' '{"@fs":"restore","id":2}' '{"@fs":"end","id":3}' |
	    fs-produce -b "$B" -t "$t" --transactional-id "$t" --checkpoint-dir ck
	# and with something new: only that
	printf '%s\n' '{"@fs":"restore","id":3}' '{"n":3}' '{"@fs":"end","id":4}' |
	    fs-produce -b "$B" -t "$t" --transactional-id "$t" --checkpoint-dir ck
	run barrier_and_value "$t"
	assert_output "$(printf '%s\n' '1 {"n":1}' '2 {"n":2}' '4 {"n":3}')"
}

@test "fs-produce: an input cut short after a barrier commits nothing after it, and exits 1" {
	local t
	t=$(uniq_name txc)
	kafka_create_topic "$t" 1
	printf '%s\n' '{"n":1}' '{"@fs":"barrier","id":1}' '{"n":2}' > in
	run --separate-stderr fs-produce -b "$B" -t "$t" --transactional-id "$t" --checkpoint-dir ck < in
	assert_failure 1
	assert_equal "$stderr" "$(printf '%s\n' \
	    'fs-produce: input ended without the end of the stream after checkpoint 1: a stage upstream stopped or died; nothing fired (a restart resumes from the checkpoint)' \
	    'fs-produce: input cut short: aborting the open transaction (1 message)')"
	run barrier_and_value "$t"
	assert_output '1 {"n":1}'
}

@test "fs-produce: in a new checkpoint directory, the fs-barrier headers of an earlier pipeline's messages are not taken for its own" {
	local t
	t=$(uniq_name txn)
	kafka_create_topic "$t" 1
	printf '%s\n' '{"n":1}' '{"@fs":"barrier","id":1}' '{"@fs":"end","id":2}' > in
	fs-produce -b "$B" -t "$t" --transactional-id "$t" --checkpoint-dir ck1 < in
	run --separate-stderr fs-produce -b "$B" -t "$t" --transactional-id "$t" \
	    --checkpoint-dir ck2 --stats < in
	assert_success
	assert_equal "$stderr" "$(printf '%s\n' \
	    'fs-produce: checkpoint 1 written' \
	    'fs-produce: checkpoint 2 written' \
	    'fs-produce: 1 produced, 1 delivered, 0 failed')"
	run barrier_and_value "$t"
	assert_output "$(printf '%s\n' '1 {"n":1}' '1 {"n":1}')"
}

@test "fs-produce: on a Kafka checkpoint store too, restarted after a commit before the first checkpoint was written, it drops that transaction's records; a new store drops nothing" {
	local t ck
	t=$(uniq_name txk) ck="kafka://$B/$(uniq_name ckpt)"
	kafka_create_topic "$t" 3
	printf '%s\n' '{"n":1}' '{"n":2}' '{"@fs":"barrier","id":1}' > in
	# the input stops after the barrier: killed upstream
	run fs-produce -b "$B" -t "$t" -k n --transactional-id "$t" --checkpoint-dir "$ck" < in
	assert_failure 1
	# as if killed after committing, before the checkpoint's commit marker
	printf '%s\n' '{"key":"fs-produce/00000000000000000001/commit","value":null}' |
	    fs-produce -b "$B" -t "${ck##*/}" -E
	printf '%s\n' '{"n":3}' '{"@fs":"end","id":2}' >> in
	run --separate-stderr fs-produce -b "$B" -t "$t" -k n --transactional-id "$t" \
	    --checkpoint-dir "$ck" --stats < in
	assert_success
	assert_equal "$stderr" "$(printf '%s\n' \
	    'fs-produce: the transaction of barrier 1 was committed before the restart: its 2 messages are not produced again' \
	    'fs-produce: 2 records of the transaction of barrier 1 dropped: committed before the restart' \
	    'fs-produce: checkpoint 1 written' \
	    'fs-produce: checkpoint 2 written' \
	    'fs-produce: 1 produced, 1 delivered, 0 failed' \
	    'fs-produce: 2 dropped: committed before the restart')"
	barrier_and_value "$t" | sort > got
	assert_file_equals got "$(printf '%s\n' '1 {"n":1}' '1 {"n":2}' '2 {"n":3}')"
	# the same input in a new store: the topic's messages are another
	# pipeline's, none is dropped
	run --separate-stderr fs-produce -b "$B" -t "$t" -k n --transactional-id "$t" \
	    --checkpoint-dir "kafka://$B/$(uniq_name ckpt)" --stats < in
	assert_success
	assert_equal "$stderr" "$(printf '%s\n' \
	    'fs-produce: checkpoint 1 written' \
	    'fs-produce: checkpoint 2 written' \
	    'fs-produce: 3 produced, 3 delivered, 0 failed')"
}
