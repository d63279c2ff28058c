#!/usr/bin/env bats
# fs-consume against the real broker of scripts/kafka-start.

load test_helper
load kafka_helper

# Six messages with every kind of key, value and header, at known
# timestamps, written once for the suite by fs-produce -E.
fixture() {
	cat <<'EOF'
{"partition":0,"timestamp":1700000000000,"key":"k1","headers":{"h":"a"},"value":{"n":1,"ts":1700000000000}}
{"partition":0,"timestamp":1700000001000,"key":null,"headers":{"h":["a","b"],"bin":{"base64":"/w=="},"nil":null},"value":"plain text"}
{"partition":0,"timestamp":1700000002000,"key":{"id":7},"headers":{},"value":"/wA=","value_encoding":"base64"}
{"partition":0,"timestamp":1700000003000,"key":"k4","headers":{},"value":"{\"spaced\": true}"}
{"partition":0,"timestamp":1700000004000,"key":"42","headers":{},"value":null}
{"partition":0,"timestamp":1700000005000,"key":"k6","headers":{},"value":{"n":6,"ts":1700000005000}}
EOF
}

# The envelopes fs-consume must print for the fixture, offsets 0..5.
expected() {
	cat <<EOF
{"topic":"$TOPIC","partition":0,"offset":0,"timestamp":1700000000000,"timestamp_type":"create","key":"k1","headers":{"h":"a"},"value":{"n":1,"ts":1700000000000}}
{"topic":"$TOPIC","partition":0,"offset":1,"timestamp":1700000001000,"timestamp_type":"create","key":null,"headers":{"h":["a","b"],"bin":{"base64":"/w=="},"nil":null},"value":"plain text"}
{"topic":"$TOPIC","partition":0,"offset":2,"timestamp":1700000002000,"timestamp_type":"create","key":{"id":7},"headers":{},"value":"/wA=","value_encoding":"base64"}
{"topic":"$TOPIC","partition":0,"offset":3,"timestamp":1700000003000,"timestamp_type":"create","key":"k4","headers":{},"value":"{\"spaced\": true}"}
{"topic":"$TOPIC","partition":0,"offset":4,"timestamp":1700000004000,"timestamp_type":"create","key":42,"headers":{},"value":null}
{"topic":"$TOPIC","partition":0,"offset":5,"timestamp":1700000005000,"timestamp_type":"create","key":"k6","headers":{},"value":{"n":6,"ts":1700000005000}}
EOF
}

setup_file() {
	require_kafka
	TOPIC=$(uniq_name fsc)
	export TOPIC
	kafka_create_topic "$TOPIC" 1
	fixture | fs-produce -b "$FS_KAFKA_BROKERS" -E -t "$TOPIC"
}

suite_setup() {
	require_kafka
	B=$FS_KAFKA_BROKERS
	pid= pa= pb= KSTATE=
}

# A failed test must not leave consumers or a second broker behind.
teardown() {
	local p
	for p in $pid $pa $pb; do
		kill -9 "$p" 2>/dev/null || true
	done
	if [ -n "$KSTATE" ]; then
		FS_KAFKA_STATE="$KSTATE" "$FS_ROOT/scripts/kafka-stop"
	fi
}

@test "fs-consume: -o beginning -e prints every message as an envelope, then exits 0" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o beginning -e
	assert_success
	assert_equal "$stderr" ""
	assert_output "$(expected)"
}

@test "fs-consume: -o N starts at offset N" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o 4 -e
	assert_success
	assert_output "$(expected | sed -n 5,6p)"
}

@test "fs-consume: -o -N starts N messages before the end" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o -2 -e
	assert_success
	assert_output "$(expected | sed -n 5,6p)"
}

@test "fs-consume: -o end -e prints nothing and exits 0" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o end -e
	assert_success
	assert_output ""
}

@test "fs-consume: -e ends at the last message of each partition, as the fetch that brought it reported, without another fetch's wait" {
	# A fetch that finds nothing new is held at the broker for
	# fetch.wait.max.ms, here 30s: -e must not need one to know that
	# partitions it read to their high watermark are at their end.
	local t p
	t=$(uniq_name fsce)
	kafka_create_topic "$t" 3
	for p in 0 1 2; do
		seq 1 10 | awk -v p="$p" '{ printf "{\"p\":%d,\"n\":%d}\n", p, $1 }' |
			fs-produce -b "$B" -t "$t" -p "$p"
	done
	run --separate-stderr timeout 20 fs-consume -b "$B" -t "$t" -o beginning \
		-e -V -X fetch.wait.max.ms=30000
	assert_success
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 30
	assert_equal "$(printf '%s\n' "$output" | grep -c '"p":2')" 10
}

@test "fs-consume: -o @TIME starts at the first message at or after TIME" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o @1700000002500 -e
	assert_success
	assert_output "$(expected | sed -n 4,6p)"
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o @2023-11-14T22:13:22Z -e
	assert_success
	assert_output "$(expected | sed -n 3,6p)"
}

@test "fs-consume: -o twice is a time slice: start at one time, stop before another" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o @1700000001000 -o @1700000003000
	assert_success
	assert_output "$(expected | sed -n 2,3p)"
}

@test "fs-consume: -o N -o M stops before offset M, without -e" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o 1 -o 3
	assert_success
	assert_output "$(expected | sed -n 2,3p)"
}

@test "fs-consume: -o beginning -o end reads what is there at start" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o beginning -o end
	assert_success
	assert_output "$(expected)"
}

@test "fs-consume: -c COUNT exits after COUNT messages" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o beginning -c 2
	assert_success
	assert_output "$(expected | sed -n 1,2p)"
}

@test "fs-consume: -o stored resumes from the group's committed offset" {
	local g
	g=$(uniq_name grp)
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -G "$g" -o beginning -c 3
	assert_success
	assert_output "$(expected | sed -n 1,3p)"
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -G "$g" -o stored -e
	assert_success
	assert_output "$(expected | sed -n 4,6p)"
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -G "$g" --lag
	assert_success
	assert_output "{\"topic\":\"$TOPIC\",\"partition\":0,\"committed\":6,\"end\":6,\"lag\":0}"
}

@test "fs-consume: --lag reports a group that never committed as lagging by everything" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -G "$(uniq_name none)" --lag
	assert_success
	assert_output "{\"topic\":\"$TOPIC\",\"partition\":0,\"committed\":null,\"end\":6,\"lag\":6}"
}

@test "fs-consume: -V emits value objects alone; other values are rejected with topic/partition@offset" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o beginning -e -V
	assert_failure 1
	assert_output '{"n":1,"ts":1700000000000}'
	assert_equal "$stderr" "fs-consume: $TOPIC/0@1: invalid JSON: column 5: invalid token near 'plain'"
}

@test "fs-consume: -V --on-error skip reports each bad value and counts them" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o beginning -e -V --on-error skip
	assert_success
	assert_output $'{"n":1,"ts":1700000000000}\n{"spaced": true}\n{"n":6,"ts":1700000005000}'
	assert_equal "$stderr" "fs-consume: $TOPIC/0@1: invalid JSON: column 5: invalid token near 'plain'
fs-consume: $TOPIC/0@2: invalid JSON: column 2: NUL byte
fs-consume: $TOPIC/0@4: null value (tombstone)
fs-consume: 3 records rejected"
}

@test "fs-consume: -V --dead-letter keeps the bad values' bytes" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o 1 -o 4 -V -q --dead-letter dl
	assert_success
	assert_output '{"spaced": true}'
	printf 'plain text\n\377\000\n' > expected.dl
	cmp dl expected.dl
}

@test "fs-consume: -L prints the cluster metadata as one JSON object" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -L
	assert_success
	port=${B##*:}
	assert_output "{\"brokers\":[{\"id\":1,\"host\":\"127.0.0.1\",\"port\":$port}],\"topics\":[{\"topic\":\"$TOPIC\",\"partitions\":[{\"partition\":0,\"leader\":1,\"replicas\":[1],\"isrs\":[1],\"low\":0,\"high\":6}]}]}"
}

@test "fs-consume: -Q prints the offset for a time per partition" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -Q -o @1700000003000
	assert_success
	assert_output "{\"topic\":\"$TOPIC\",\"partition\":0,\"timestamp\":1700000003000,\"offset\":3}"
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -Q -o @1800000000000
	assert_output "{\"topic\":\"$TOPIC\",\"partition\":0,\"timestamp\":1800000000000,\"offset\":null}"
}

@test "fs-consume: an unknown topic is an error, exit 1" {
	run --separate-stderr fs-consume -b "$B" -t "$(uniq_name nosuch)" -e
	assert_failure 1
	assert_output ""
	[[ "$stderr" == "fs-consume: topic '"*"': Broker: Unknown topic or partition" ]]
}

@test "fs-consume: no broker at start is a clear error after the metadata time-out" {
	run --separate-stderr fs-consume -b 127.0.0.1:9 -t x -e --metadata-timeout 1s
	assert_failure 1
	assert_equal "$stderr" "fs-consume: no broker reachable in 1s: '127.0.0.1:9': Connect to ipv4#127.0.0.1:9 failed: Connection refused"
}

@test "fs-consume: -X passes properties to librdkafka; a bad one is a usage error" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -X client.id=fs-test -X fetch.wait.max.ms=50 -o -1 -e
	assert_success
	assert_output "$(expected | sed -n 6p)"
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -X no.such.property=1
	assert_failure 2
	[[ "$stderr" == "fs-consume: -X: No such configuration property: \"no.such.property\": 'no.such.property=1'"* ]]
}

@test "fs-consume: -F reads librdkafka properties from a file" {
	printf '# comment\n\nbootstrap.servers = %s\nclient.id=fs-test\n' "$B" > k.conf
	run --separate-stderr fs-consume -F k.conf -t "$TOPIC" -o -1 -e
	assert_success
	assert_output "$(expected | sed -n 6p)"
}

@test "fs-consume: usage errors exit 2" {
	run --separate-stderr fs-consume -b "$B"
	assert_failure 2
	run --separate-stderr fs-consume -b "$B" -t x -o yesterday
	assert_failure 2
	run --separate-stderr fs-consume -b "$B" -t x -o 1 -o -5
	assert_failure 2
	run --separate-stderr fs-consume -b "$B" -t x -G g -o 5
	assert_failure 2
	run --separate-stderr fs-consume -b "$B" -t x -Q
	assert_failure 2
}

@test "fs-consume: SIGINT stops a live consumer cleanly, exit 0" {
	fs-consume -b "$B" -t "$TOPIC" -o beginning > out 2> err 3>&- &
	pid=$!
	wait_for 30 lines_are out 6
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 0
	assert_file_equals out "$(expected)"
}

# n records {"n":FROM}..{"n":FROM+COUNT-1}
records() {
	seq "$1" $(($1 + $2 - 1)) | sed 's/.*/{"n":&}/'
}

@test "fs-consume: after kill -9, a restart resumes at the last checkpoint: no gap, no duplicate" {
	local t
	t=$(uniq_name ck)
	records 0 550 | fs-produce -b "$B" -t "$t"
	fs-consume -b "$B" -t "$t" -o beginning -V --checkpoint-dir ck \
	    --checkpoint-records 100 > run1 3>&- &
	pid=$!
	# the restore 0 of a fresh start, the definition (fs(7)), 550
	# records, 5 barriers
	wait_for 30 lines_are run1 557
	kill9 "$pid"
	records 550 450 | fs-produce -b "$B" -t "$t"
	# the group's committed offsets and -o do not matter: the checkpoint does
	run --separate-stderr fs-consume -b "$B" -t "$t" -o end -e -V \
	    --checkpoint-dir ck --checkpoint-records 100
	assert_success
	printf '%s\n' "$output" > run2
	assert_equal "$(head -1 run2)" '{"@fs":"restore","id":5}'
	assert_equal "$(sed -n 2p run2)" "{\"@fs\":\"def\",\"lineage\":[{\"stage\":\"source\",\"tool\":\"fs-consume\",\"topics\":[\"$t\"],\"format\":\"json\",\"time_field\":\"ts\",\"watermark_bound\":1}]}"
	assert_equal "$(sed -n 3p run2)" '{"n":500}'
	assert_equal "$(tail -2 run2)" '{"@fs":"barrier","id":10}
{"@fs":"end","id":11}'
	{ sed '/"id":5}/q' run1; cat run2; } | grep -v '"@fs"' > all
	records 0 1000 > expected
	cmp all expected
}

@test "fs-consume: -G: two members of a group split the partitions, each message read once" {
	local t g
	t=$(uniq_name grp) g=$(uniq_name g)
	kafka_create_topic "$t" 4
	fs-consume -b "$B" -t "$t" -G "$g" -o beginning -V -v > a 2> a.err 3>&- &
	pa=$!
	wait_for 30 grep -q 'assigned 4 partitions' a.err
	fs-consume -b "$B" -t "$t" -G "$g" -o beginning -V -v > b 2> b.err 3>&- &
	pb=$!
	wait_for 60 grep -q 'assigned 2 partitions' b.err
	wait_for 60 bash -c "tail -1 a.err | grep -q 'assigned 2 partitions'"
	seq 1 1000 | sed 's/.*/{"id":&}/' | fs-produce -b "$B" -t "$t" -k id
	wait_for 30 bash -c '[ $(cat a b | wc -l) -eq 1000 ]'
	kill -INT "$pa" "$pb"
	wait "$pa"
	wait "$pb"
	[ -s a ] && [ -s b ]
	cat a b | tr -dc '0-9\n' | sort -n > got
	seq 1 1000 > want
	cmp got want
}

@test "fs-consume: --watermarks trails the largest event time by the out-of-orderness" {
	local t
	t=$(uniq_name wm)
	printf '%s\n' '{"ts":1000}' '{"ts":5000}' '{"ts":3000}' '{"ts":"1970-01-01T00:00:07Z"}' |
	    fs-produce -b "$B" -t "$t"
	run --separate-stderr fs-consume -b "$B" -t "$t" -o beginning -e -V \
	    --watermarks --max-out-of-orderness 1s
	assert_success
	# largest - 1s + 1: fs's watermark for Flink's largest - 1s; the
	# definition record (fs(7)) first
	assert_output '{"@fs":"def","lineage":[{"stage":"source","tool":"fs-consume","topics":["'"$t"'"],"format":"json","time_field":"ts","watermark_bound":1000}]}
{"@fs":"watermark","ts":-9223372036854775808}
{"ts":1000}
{"@fs":"watermark","ts":1}
{"ts":5000}
{"@fs":"watermark","ts":4001}
{"ts":3000}
{"ts":"1970-01-01T00:00:07Z"}
{"@fs":"watermark","ts":6001}'
}

@test "fs-consume: --watermarks is the minimum over partitions" {
	local t
	t=$(uniq_name wm2)
	kafka_create_topic "$t" 2
	printf '%s\n' '{"ts":1000}' '{"ts":2000}' | fs-produce -b "$B" -t "$t" -p 0
	printf '%s\n' '{"ts":10000}' '{"ts":20000}' | fs-produce -b "$B" -t "$t" -p 1
	run --separate-stderr fs-consume -b "$B" -t "$t" -o beginning -e -V --watermarks
	assert_success
	assert_equal "$(grep -c '"@fs"' <<<"$output" | tr -d ' ')" "$(grep '"@fs"' <<<"$output" | sort -u | wc -l | tr -d ' ')"
	assert_equal "$(grep '"@fs"' <<<"$output" | tail -1)" '{"@fs":"watermark","ts":2000}'
	run bash -c "grep -o '\"watermark\",\"ts\":[0-9]*' <<<'$output' | tr -dc '0-9\n' | sort -n -c"
	assert_success
}

@test "fs-consume: restarted from a checkpoint at the end of every partition, the watermark comes back at once" {
	local t
	t=$(uniq_name wmr)
	kafka_create_topic "$t" 2
	printf '%s\n' '{"ts":1000}' '{"ts":2000}' | fs-produce -b "$B" -t "$t" -p 0
	printf '%s\n' '{"ts":10000}' '{"ts":20000}' | fs-produce -b "$B" -t "$t" -p 1
	fs-consume -b "$B" -t "$t" -o beginning -V --watermarks --checkpoint-dir ck \
	    --checkpoint-records 4 > run1 3>&- &
	pid=$!
	wait_for 30 grep -q '"@fs":"barrier","id":1' run1
	kill9 "$pid"
	assert_equal "$(sed -n '/"watermark","ts":[0-9]/p' run1)" '{"@fs":"watermark","ts":2000}'
	# Nothing left to read: only the checkpoint knows partition 0 is at
	# 2000, and the windows before it must fire without new records.
	fs-consume -b "$B" -t "$t" -o beginning -V --watermarks --checkpoint-dir ck \
	    --checkpoint-records 4 > run2 3>&- &
	pid=$!
	wait_for 30 grep -q '"ts":2000' run2
	kill9 "$pid"
	assert_equal "$(head -4 run2 | grep -v '"@fs":"def"')" '{"@fs":"restore","id":1}
{"@fs":"watermark","ts":-9223372036854775808}
{"@fs":"watermark","ts":2000}'
}

@test "fs-consume: --watermarks first tells fs-window to wait, so a multi-partition backlog has no late records" {
	local t
	t=$(uniq_name wm3)
	kafka_create_topic "$t" 3
	fs-gen --count 3000 --users 30 > ev.ndjson
	fs-produce -b "$B" -t "$t" -k user < ev.ndjson
	fs-window tumble 10s < ev.ndjson | fs-agg --key user --agg n=count |
	    grep -v '"@fs"' | sort > want
	run --separate-stderr bash -c "fs-consume -b '$B' -t '$t' -o beginning -e -V --watermarks |
	    fs-window tumble 10s | fs-agg --key user --agg n=count | grep -v '\"@fs\"' | sort > got"
	assert_success
	[[ "$stderr" != *late* ]] || fail "late records: $stderr"
	cmp got want
}

@test "fs-consume: with many small checkpoints the group still commits the newest complete one" {
	local t g
	t=$(uniq_name many) g=$(uniq_name g)
	kafka_create_topic "$t" 1
	fs-gen --count 3000 --users 30 | fs-produce -b "$B" -t "$t"
	fs-consume -b "$B" -t "$t" -G "$g" -o beginning -e -V --checkpoint-dir ck \
	    --checkpoint-records 200 |
	    fs-agg --key user --agg n=count --checkpoint-dir ck > /dev/null
	run --separate-stderr fs-consume -b "$B" -t "$t" -G "$g" --lag
	assert_success
	assert_output "{\"topic\":\"$t\",\"partition\":0,\"committed\":3000,\"end\":3000,\"lag\":0}"
}

@test "fs-consume: a broker stopped and restarted mid-consume loses and doubles nothing" {
	local t state port
	state="$BATS_TEST_TMPDIR/kafka" port=$((19400 + RANDOM % 500))
	KSTATE=$state
	run env FS_KAFKA_STATE="$state" FS_KAFKA_PORT="$port" "$FS_ROOT/scripts/kafka-start"
	assert_success
	local b2="127.0.0.1:$port"
	t=$(uniq_name rs)
	records 0 500 | fs-produce -b "$b2" -t "$t"
	fs-consume -b "$b2" -t "$t" -o beginning -V > out 2> err 3>&- &
	pid=$!
	wait_for 30 lines_are out 500
	FS_KAFKA_STATE="$state" "$FS_ROOT/scripts/kafka-stop" --keep
	run env FS_KAFKA_STATE="$state" FS_KAFKA_PORT="$port" "$FS_ROOT/scripts/kafka-start"
	assert_success
	records 500 500 | fs-produce -b "$b2" -t "$t"
	wait_for 60 lines_are out 1000
	kill -INT "$pid"
	wait "$pid"
	FS_KAFKA_STATE="$state" "$FS_ROOT/scripts/kafka-stop"
	records 0 1000 > expected
	cmp out expected
}

@test "fs-consume: with checkpoints, the group's offsets are committed only for complete checkpoints" {
	local src dst
	src=$(uniq_name cks) dst=$(uniq_name ckd)
	records 0 300 | fs-produce -b "$B" -t "$src"
	# a downstream stage that never checkpoints: nothing completes
	mkdir -p ck1/never
	fs-consume -b "$B" -t "$src" -G "$src-g1" -o beginning -e -V -q \
	    --checkpoint-dir ck1 --checkpoint-records 100 > /dev/null
	run --separate-stderr fs-consume -b "$B" -t "$src" -G "$src-g1" --lag
	assert_output "{\"topic\":\"$src\",\"partition\":0,\"committed\":null,\"end\":300,\"lag\":300}"
	# the sink completes each checkpoint: then they are committed
	fs-consume -b "$B" -t "$src" -G "$src-g2" -o beginning -e -V \
	    --checkpoint-dir ck2 --checkpoint-records 100 |
	fs-produce -b "$B" -t "$dst" --checkpoint-dir ck2
	run --separate-stderr fs-consume -b "$B" -t "$src" -G "$src-g2" --lag
	assert_output "{\"topic\":\"$src\",\"partition\":0,\"committed\":300,\"end\":300,\"lag\":0}"
}

@test "fs-consume: -G with -t ^REGEX subscribes to every matching topic" {
	local p
	p=$(uniq_name rx)
	echo '{"t":"a"}' | fs-produce -b "$B" -t "$p-a"
	echo '{"t":"b"}' | fs-produce -b "$B" -t "$p-b"
	run --separate-stderr fs-consume -b "$B" -t "^$p-.*" -G "$p-g" -o beginning -e -V
	assert_success
	assert_equal "$(sort <<<"$output")" $'{"t":"a"}\n{"t":"b"}'
}

@test "fs-consume: a silent partition stops holding back the watermark after --idle-timeout" {
	local t
	t=$(uniq_name idle)
	kafka_create_topic "$t" 2
	printf '%s\n' '{"ts":1000}' '{"ts":9000}' | fs-produce -b "$B" -t "$t" -p 0
	fs-consume -b "$B" -t "$t" -o beginning -V --watermarks --idle-timeout 200ms \
	    --max-out-of-orderness 1s > out 3>&- &
	pid=$!
	wait_for 30 grep -q '"ts":8001' out
	kill -INT "$pid"
	wait "$pid"
	# (a watermark 1 may come between the two, when the partitions went
	# idle before the first message arrived)
	assert_equal "$(grep -v '"@fs"' out)" $'{"ts":1000}\n{"ts":9000}'
	assert_equal "$(tail -1 out)" '{"@fs":"watermark","ts":8001}'
}

@test "fs-consume: -G with the cooperative-sticky assignor" {
	local t
	t=$(uniq_name coop)
	printf '%s\n' '{"n":1}' '{"n":2}' | fs-produce -b "$B" -t "$t"
	run --separate-stderr fs-consume -b "$B" -t "$t" -G "$t-g" -o beginning -e -V \
	    -X partition.assignment.strategy=cooperative-sticky
	assert_success
	assert_output $'{"n":1}\n{"n":2}'
}

# Values {"ts":T} with T = 4*i + p on partition p of a 4-partition topic:
# every time distinct, each partition in order.
four_partitions() {
	local t="$1" n="$2" p
	kafka_create_topic "$t" 4
	for p in 0 1 2 3; do
		awk -v n="$n" -v p="$p" 'BEGIN { for (i = 0; i < n; i++)
		    printf "{\"ts\":%d}\n", 4 * i + p }' |
		    fs-produce -b "$B" -t "$t" -p "$p"
	done
}

# Records at or below the watermark before them (late), counted.
late_records() {
	awk '/"@fs":"watermark"/ { sub(/.*"ts":/, ""); sub(/}.*/, ""); wm = $0 + 0; next }
	    /"ts":/ { s = $0; sub(/.*"ts":/, "", s); sub(/}.*/, "", s);
	    if (s + 0 <= wm) late++ }
	    END { print late + 0 }' "$1"
}

@test "fs-consume: a partition that is only not read (full pipe) is not idle: no record comes after a watermark past it" {
	local t
	t=$(uniq_name slowread)
	four_partitions "$t" 5000
	# The reader pauses often, so fs-consume blocks on the full pipe far
	# longer than --idle-timeout while partitions wait their turn.
	run --separate-stderr bash -c "fs-consume -b '$B' -t '$t' -o beginning -e -V \
	    --watermarks --idle-timeout 100ms |
	    python3 -c 'import sys, time
for i, l in enumerate(sys.stdin):
    sys.stdout.write(l)
    if i % 1000 == 999: time.sleep(0.3)' > out"
	assert_success
	assert_equal "$(grep -vc '"@fs"' out)" 20000
	assert_equal "$(late_records out)" 0
	grep -q '"@fs":"watermark"' out
}

@test "fs-consume: --idle-timeout 0 is accepted: partitions are never idle" {
	local t
	t=$(uniq_name idle0)
	kafka_create_topic "$t" 2
	printf '%s\n' '{"ts":1000}' '{"ts":9000}' | fs-produce -b "$B" -t "$t" -p 0
	run --separate-stderr fs-consume -b "$B" -t "$t" -o beginning -e -V --watermarks \
	    --idle-timeout 0
	assert_success
	# partition 1 never delivers, and is never idle: only the first
	# watermark (after the definition record)
	assert_equal "$(grep -c '"@fs":"watermark"' <<<"$output")" 1
}

@test "fs-consume: -G with checkpoints: a restart at once after kill -9 resumes every partition from the checkpoint" {
	local t g pid
	t=$(uniq_name grp) g=$(uniq_name g)
	kafka_create_topic "$t" 4
	fs-gen --count 20000 --users 50 | fs-produce -b "$B" -t "$t" -k user
	fs-gen --count 20000 --users 50 | fs-agg --key user --agg n=count |
	    awk -F'"' '{ n[$4] = $0 } END { for (u in n) print n[u] }' | sort > want
	pipeline() {
		fs-consume -b "$B" -t "$t" -G "$g" -o beginning -V "$@" \
		    --checkpoint-dir ck --checkpoint-interval 300ms |
		    fs-agg --key user --agg n=count --checkpoint-dir ck
	}
	# Killed mid-stream, restarted at once, killed again, restarted to
	# the end: the last count of each user is the whole count.
	# Partitions in the newest checkpoint of this source.
	newest_partitions() {
		local f id
		f=$(ls ck/fs-consume/*.ckpt 2>/dev/null | tail -1)
		[ -n "$f" ] || { echo 0; return; }
		id=$(basename "$f" .ckpt)
		fs-ckpt show ck fs-consume "$((10#$id))" | jq '.offsets | length'
	}
	(pipeline >> out 2>> err) 3>&- &
	pid=$!
	all_partitions() { test "$(newest_partitions)" = 4; }
	wait_for 30 all_partitions
	pkill -9 -f "fs-consume -b $B -t $t -G $g" || true
	pkill -9 -f "fs-agg --key user --agg n=count --checkpoint-dir ck$" || true
	wait "$pid" || true
	(pipeline >> out 2>> err) 3>&- &
	pid=$!
	# long enough for checkpoints, taken while the group may still
	# hold the killed member's partitions
	sleep 3
	pkill -9 -f "fs-consume -b $B -t $t -G $g" || true
	pkill -9 -f "fs-agg --key user --agg n=count --checkpoint-dir ck$" || true
	wait "$pid" || true
	# whatever the group was doing, no checkpoint lost a partition
	assert_equal "$(newest_partitions)" 4
	run --separate-stderr bash -c "$(declare -f pipeline); B='$B' t='$t' g='$g'; pipeline -e >> out"
	assert_success
	grep -v '"@fs"' out | awk -F'"' '{ n[$4] = $0 } END { for (u in n) print n[u] }' | sort > got
	cmp got want
}

# --- kcat parity: -f, -K, -J, -X list and dump, the configuration file --

@test "fs-consume: -f prints kcat's tokens, nothing added: %t %p %o %k %K %S %T %h %s" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o beginning -e -c 2 \
	    -f '%t %p %o [%k] %K %S %T {%h} %s\n'
	assert_success
	assert_output "$TOPIC 0 0 [k1] 2 26 1700000000000 {h=a} {\"n\":1,\"ts\":1700000000000}
$TOPIC 0 1 [] -1 10 1700000001000 {h=a,h=b,bin=$(printf '\377'),nil=NULL} plain text"
	# a tombstone: %s nothing, %S -1
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o 4 -c 1 -f '%k:%s:%S'
	assert_success
	assert_output "42::-1"
}

@test "fs-consume: -f escapes and %R are kcat's: \\t \\n \\xHH \\DDD, %% and a big-endian length" {
	fs-consume -b "$B" -t "$TOPIC" -o 3 -c 1 -f '%%\t\x41\065|%R%s' > out
	printf '%%\tA5|\000\000\000\020{"spaced": true}' > want
	cmp out want
}

@test "fs-consume: -f with an unknown or unfinished token is a usage error" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -f '%o %x'
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-consume: -f: unknown token '%x': '%o %x'"
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -f 'at %'
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-consume: -f: '%' at the end: 'at %'"
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -f '%s' -V
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-consume: -f, -J, -K and -V exclude each other"
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -K : --watermarks
	assert_failure 2
}

@test "fs-consume: -K DELIM prints key DELIM value a line, as kcat -K" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o 3 -e -K '\t'
	assert_success
	assert_output $'k4\t{"spaced": true}\n42\t\nk6\t{"n":6,"ts":1700000005000}'
}

@test "fs-consume: -J writes kcat's envelope: ts, tstype, broker, headers as an array, payload a string" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o beginning -e -J
	assert_success
	assert_output "{\"topic\":\"$TOPIC\",\"partition\":0,\"offset\":0,\"tstype\":\"create\",\"ts\":1700000000000,\"broker\":1,\"headers\":[\"h\",\"a\"],\"key\":\"k1\",\"payload\":\"{\\\"n\\\":1,\\\"ts\\\":1700000000000}\"}
{\"topic\":\"$TOPIC\",\"partition\":0,\"offset\":1,\"tstype\":\"create\",\"ts\":1700000001000,\"broker\":1,\"headers\":[\"h\",\"a\",\"h\",\"b\",\"bin\",{\"base64\":\"/w==\"},\"nil\",null],\"key\":null,\"payload\":\"plain text\"}
{\"topic\":\"$TOPIC\",\"partition\":0,\"offset\":2,\"tstype\":\"create\",\"ts\":1700000002000,\"broker\":1,\"key\":\"{\\\"id\\\":7}\",\"payload\":\"/wA=\",\"payload_encoding\":\"base64\"}
{\"topic\":\"$TOPIC\",\"partition\":0,\"offset\":3,\"tstype\":\"create\",\"ts\":1700000003000,\"broker\":1,\"key\":\"k4\",\"payload\":\"{\\\"spaced\\\": true}\"}
{\"topic\":\"$TOPIC\",\"partition\":0,\"offset\":4,\"tstype\":\"create\",\"ts\":1700000004000,\"broker\":1,\"key\":\"42\",\"payload\":null}
{\"topic\":\"$TOPIC\",\"partition\":0,\"offset\":5,\"tstype\":\"create\",\"ts\":1700000005000,\"broker\":1,\"key\":\"k6\",\"payload\":\"{\\\"n\\\":6,\\\"ts\\\":1700000005000}\"}"
	# what kcat's scripts do with it
	run bash -c "fs-consume -b '$B' -t '$TOPIC' -o 5 -c 1 -J | jq -c '.payload | fromjson'"
	assert_output '{"n":6,"ts":1700000005000}'
}

@test "fs-consume: -J and -f are byte for byte what kcat writes (when kcat is installed)" {
	command -v kcat > /dev/null || skip "kcat is not installed"
	local t
	t=$(uniq_name kcatx)
	printf 'k\001ey|val\t"q"\\/\037\177\303\251\n|empty key\n' > in
	kcat -P -b "$B" -t "$t" -K '|' -H a=1 -H e= -l in
	for args in "-J" "-f %t/%p/%o/%k/%K/%s/%S/%R/%T/%h\n" "-K \t"; do
		# shellcheck disable=SC2086
		fs-consume -b "$B" -t "$t" -o beginning -e $args > fs.out
		# shellcheck disable=SC2086
		kcat -C -b "$B" -t "$t" -o beginning -e -q $args > kcat.out
		cmp fs.out kcat.out || fail "$args: $(cat fs.out) against $(cat kcat.out)"
	done
}

@test "fs-consume: -X list prints librdkafka's properties, -X dump the configuration with secrets redacted" {
	run --separate-stderr fs-consume -X list
	assert_success
	[[ "$output" == *"bootstrap.servers"*"fetch.wait.max.ms"* ]] || fail "no property list: ${output:0:300}"
	run --separate-stderr fs-consume -b "$B" -X client.id=dumped -X sasl.password=hunter2 -X dump
	assert_success
	assert_equal "${lines[0]}" "# Global config"
	assert_line "client.id = dumped"
	assert_line "metadata.broker.list = $B"
	assert_line "sasl.password = [redacted]"
	assert_line "# Topic config"
	refute_output --partial hunter2
}

@test "fs-consume: schema.registry.* properties go to the schema registry: -X list shows them, an unknown one is a usage error, other tools pass a file's over" {
	run --separate-stderr fs-consume -X list
	assert_success
	assert_line --regexp '^schema\.registry\.basic\.auth\.user\.info +USER:PASS'
	assert_line --regexp '^schema\.registry\.ssl\.ca\.location +'
	run --separate-stderr fs-consume -b "$B" -t x -X schema.registry.ssl.ca=ca.pem
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-consume: -X: no such schema registry property: 'schema.registry.ssl.ca' (-X list shows them)"
	printf 'schema.registry.nope = 1\n' >bad.conf
	run --separate-stderr fs-produce -b "$B" -t x -F bad.conf
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-produce: bad.conf:1: no such schema registry property: 'schema.registry.nope' (-X list shows them)"
	# one file serves every tool: fs-scale has no registry and passes
	# the registry's lines over, but not a -X meant for one
	printf 'schema.registry.url = http://127.0.0.1:1\nclient.id = shared\nschema.registry.ssl.ca.location = %s\n' \
		"$T/no-such-ca.pem" >shared.conf
	FS_KAFKA_CONFIG=$T/shared.conf run --separate-stderr fs-scale -X dump
	assert_success
	assert_line "client.id = shared"
	refute_output --partial schema.registry
	run --separate-stderr fs-scale -X schema.registry.url=http://127.0.0.1:1
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-scale: -X: schema.registry.url: this tool has no schema registry"
	# and without -s fs-consume does not use the file's registry
	FS_KAFKA_CONFIG=$T/shared.conf run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o beginning -c 1 -V
	assert_success
	assert_equal "$stderr" ""
}

@test "fs-consume: without -F, the first of \$FS_KAFKA_CONFIG, ~/.config/fs/kafka.conf, \$KCAT_CONFIG, ~/.config/kcat.conf is read first" {
	local dump='fs-consume -X dump'
	unset FS_KAFKA_CONFIG
	export HOME=$T/home XDG_CONFIG_HOME=
	mkdir -p home/.config/fs
	# kcat's default file: -b may be left out
	printf '# kcat\nbootstrap.servers = %s\nclient.id=kcat-conf\n' "$B" > home/.config/kcat.conf
	run --separate-stderr fs-consume -t "$TOPIC" -o 5 -c 1 -V
	assert_success
	assert_output '{"n":6,"ts":1700000005000}'
	run $dump
	assert_line "client.id = kcat-conf"
	printf 'client.id=kcat-env\n' > kcat-env.conf
	KCAT_CONFIG=$T/kcat-env.conf run $dump
	assert_line "client.id = kcat-env"
	# fs's own file comes before kcat's, and $FS_KAFKA_CONFIG before that
	printf 'client.id=fs-conf\n' > home/.config/fs/kafka.conf
	KCAT_CONFIG=$T/kcat-env.conf run $dump
	assert_line "client.id = fs-conf"
	printf 'client.id=fs-env\n' > fs-env.conf
	FS_KAFKA_CONFIG=$T/fs-env.conf run $dump
	assert_line "client.id = fs-env"
	# -X overrides the file; -F replaces it
	run $dump -X client.id=given
	assert_line "client.id = given"
	printf 'client.id=from-f\n' > f.conf
	run $dump -F f.conf
	refute_line "client.id = fs-conf"
	assert_line "client.id = from-f"
	# a named file that cannot be read is an error; a bad line names it
	FS_KAFKA_CONFIG=$T/nonexistent run --separate-stderr fs-consume -t x
	assert_failure 1
	assert_equal "$stderr" "fs-consume: FS_KAFKA_CONFIG: cannot open: '$T/nonexistent': No such file or directory"
	printf 'no.such.property=1\n' > home/.config/fs/kafka.conf
	run --separate-stderr fs-consume -t x
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-consume: $T/home/.config/fs/kafka.conf:1: No such configuration property: \"no.such.property\": 'no.such.property=1'"
}

@test "fs-consume: a broker that cannot be reached is reported within 2s by default, naming the failure" {
	local start=$SECONDS
	run --separate-stderr fs-consume -b 127.0.0.1:9 -t x -e
	assert_failure 1
	assert_equal "$stderr" "fs-consume: no broker reachable in 2s: '127.0.0.1:9': Connect to ipv4#127.0.0.1:9 failed: Connection refused"
	run --separate-stderr fs-consume -b 127.0.0.1:9 -t x -G g -e
	assert_failure 1
	assert_equal "$stderr" "fs-consume: no broker reachable in 2s: '127.0.0.1:9': Connect to ipv4#127.0.0.1:9 failed: Connection refused"
	[ $((SECONDS - start)) -le 8 ] || fail "took $((SECONDS - start))s for two"
	run --separate-stderr fs-consume -b no-such-host.invalid:9092 -t x -e
	assert_failure 1
	[[ "$stderr" == "fs-consume: no broker reachable in 2s: 'no-such-host.invalid:9092': Failed to resolve 'no-such-host.invalid:9092'"* ]] ||
	    fail "$stderr"
}

# Waits out the 10s: the sanitizers learn nothing here that the test
# after it does not show them.
# bats test_tags=no-asan
@test "fs-consume: under fs-run a broker that cannot be reached is given 10s, so a restarting broker does not use up the restarts" {
	local start=$SECONDS
	run --separate-stderr fs-run -q --max-restarts 0 -- fs-consume -b 127.0.0.1:9 -t x -e
	assert_failure
	[[ "$stderr" == *"fs-consume: no broker reachable in 10s: '127.0.0.1:9': Connect to ipv4#127.0.0.1:9 failed: Connection refused"* ]] ||
	    fail "$stderr"
	[ $((SECONDS - start)) -ge 9 ] || fail "gave up after $((SECONDS - start))s"
}

@test "fs-consume: under fs-run --metadata-timeout still decides how long an unreachable broker is given" {
	run --separate-stderr env FS_RUN_ATTEMPT=2 fs-consume -b 127.0.0.1:9 -t x -e --metadata-timeout 1s
	assert_failure 1
	assert_equal "$stderr" "fs-consume: no broker reachable in 1s: '127.0.0.1:9': Connect to ipv4#127.0.0.1:9 failed: Connection refused"
}

@test "fs-consume: a watermark bound B makes a record at T - B late, as Flink SQL's rt - INTERVAL B does" {
	local t
	t=$(uniq_name wmb)
	# T = 60999, B = 1s: Flink's watermark 59999 closes [0, 60000), so
	# 59999 is late; after T = 60998 it is not.
	printf '%s\n' '{"u":"a","ts":1000}' '{"u":"a","ts":60999}' '{"u":"a","ts":59999}' |
	    fs-produce -b "$B" -t "$t" -p 0
	run --separate-stderr bash -c "fs-consume -b '$B' -t '$t' -o beginning -e -V \
	    --watermarks --max-out-of-orderness 1s |
	    fs-window --tumble 1m --late dead-letter --late-file late |
	    fs-agg --key u --agg n=count --data-only"
	assert_success
	assert_line --index 0 --partial '"window_start":0,'
	assert_line --index 0 --partial '"n":1'
	assert_equal "$(cat late)" '{"u":"a","ts":59999}'
	t=$(uniq_name wmb2)
	printf '%s\n' '{"u":"a","ts":1000}' '{"u":"a","ts":60998}' '{"u":"a","ts":59999}' |
	    fs-produce -b "$B" -t "$t" -p 0
	run --separate-stderr bash -c "fs-consume -b '$B' -t '$t' -o beginning -e -V \
	    --watermarks --max-out-of-orderness 1s |
	    fs-window --tumble 1m --late dead-letter --late-file late2 |
	    fs-agg --key u --agg n=count --data-only"
	assert_success
	assert_line --index 0 --partial '"n":2'
	[ ! -s late2 ] || fail "late: $(cat late2)"
}
