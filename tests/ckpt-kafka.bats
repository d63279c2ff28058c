#!/usr/bin/env bats
# The checkpoint store in Kafka (fs-checkpoint(5), --checkpoint-dir
# kafka://BROKERS/TOPIC): a pipeline killed with SIGKILL and restarted
# on the same store gives the output of an uninterrupted run; a state
# larger than one message round-trips in chunks; a checkpoint without its
# commit marker is not used.

load test_helper
load kafka_helper

suite_setup() {
	require_kafka
	B="$FS_KAFKA_BROKERS"
	PGID= FSRUN= WATCH=
}

# A pipeline left running by a failed test (its own process group);
# fs-run, asked to stop, stops its own.
teardown() {
	if [ -n "${FSRUN:-}" ]; then
		kill -TERM "$FSRUN" 2>/dev/null || true
		wait "$FSRUN" 2>/dev/null || true
	fi
	if [ -n "${PGID:-}" ]; then
		kill -9 -- "-$PGID" 2>/dev/null || true
		wait "$PGID" 2>/dev/null || true
	fi
	if [ -n "${WATCH:-}" ]; then
		kill "$WATCH" 2>/dev/null || true
		wait "$WATCH" 2>/dev/null || true
	fi
}

# The README's pipeline on topic $T with the store $C; "$@" added to
# fs-consume.
pipeline() {
	fs-consume -b "$B" -t "$T" -o beginning -V --checkpoint-dir "$C" \
	    --checkpoint-interval 1h "$@" |
	    fs-window tumble 1m --checkpoint-dir "$C" |
	    fs-agg --key user --agg n=count --agg s=sum:amount \
	        --checkpoint-dir "$C"
}

# What an uninterrupted run of the pipeline writes for events, data only
# and sorted.
uninterrupted() {
	fs-window tumble 1m < "$1" | fs-agg --key user --agg n=count \
	    --agg s=sum:amount | grep -v '"@fs"' | sort
}

# killed_and_restarted EVENTS FIRST RECORDS: produces the first FIRST
# events, runs the pipeline live with a barrier every RECORDS records
# until it has forwarded the last barrier of them, kills every stage with
# SIGKILL, produces the rest, and runs it again to the end (-e).  The
# output of the first run up to the barrier the second restores, then the
# second's, must be the uninterrupted run's.
killed_and_restarted() {
	local events="$1" first="$2" every="$3" last n
	last=$((first / every))
	head -n "$first" "$events" | fs-produce -b "$B" -t "$T" -k user
	export -f pipeline
	export B T C
	setsid bash -c "pipeline --checkpoint-records $every > run1 2> run1.err" &
	PGID=$!
	wait_for 120 grep -q "{\"@fs\":\"barrier\",\"id\":$last}" run1
	kill -9 -- "-$PGID"
	wait "$PGID" 2>/dev/null || true
	PGID=
	tail -n "+$((first + 1))" "$events" | fs-produce -b "$B" -t "$T" -k user
	pipeline -e --checkpoint-records "$every" > run2 2> run2.err ||
	    fail "the restarted run failed: $(cat run2.err)"
	n=$(head -1 run2 | sed -n 's/^{"@fs":"restore","id":\([0-9]*\)}$/\1/p')
	[ -n "$n" ] && [ "$n" -gt 0 ] ||
	    fail "the restart restored no checkpoint: $(head -1 run2)"
	grep -q "{\"@fs\":\"barrier\",\"id\":$n}" run1 ||
	    fail "checkpoint $n was restored but never forwarded by the first run"
	{ sed "/{\"@fs\":\"barrier\",\"id\":$n}/q" run1; cat run2; } |
	    grep -v '"@fs"' | sort > got
	uninterrupted "$events" > expected
	[ -s expected ]
	cmp got expected
}

@test "ckpt-kafka: a pipeline killed with SIGKILL and restarted on a Kafka store writes what an uninterrupted run writes" {
	T=$(uniq_name ev) C="kafka://$B/$(uniq_name ckpt)"
	fs-gen --count 20000 --users 300 --seed 11 > events
	killed_and_restarted events 11000 2000
	# no checkpoint directory was made on this machine
	[ ! -e kafka: ]
}

@test "ckpt-kafka: a state of 50,000 keys, larger than a chunk, round-trips through the store" {
	T=$(uniq_name big) C="kafka://$B/$(uniq_name ckpt)?chunk=65536"
	fs-gen --count 60000 --users 50000 --rate 1000 --seed 12 > events
	killed_and_restarted events 50000 25000
	# fs-agg's checkpoint 2 (50,000 keys in open windows) took many chunks
	topic="${C##*/}"
	fs-consume -b "$B" -t "${topic%%\?*}" -o beginning -e |
	    grep -c '"key":"fs-agg/00000000000000000002/0000[0-9][0-9]"' > chunks
	[ "$(cat chunks)" -ge 10 ] || fail "only $(cat chunks) chunks"
}

@test "ckpt-kafka: a checkpoint whose commit marker is missing is not used: the previous complete one is" {
	T=$(uniq_name ev) C="kafka://$B/$(uniq_name ckpt)"
	fs-gen --count 6000 --users 50 --seed 13 | fs-produce -b "$B" -t "$T" -k user
	run --separate-stderr pipeline -e --checkpoint-records 1000
	assert_success
	assert_equal "$(tail -1 <<< "$output")" '{"@fs":"end","id":7}'
	# As if fs-agg died after its chunks of 7, before its marker.
	printf '{"key":"fs-agg/00000000000000000007/commit","value":null}\n' |
	    fs-produce -b "$B" -t "${C##*/}" -E
	run --separate-stderr pipeline -e --checkpoint-records 1000
	assert_success
	assert_equal "$(head -1 <<< "$output")" '{"@fs":"restore","id":6}'
	assert_equal "$(tail -1 <<< "$output")" '{"@fs":"end","id":7}'
}

@test "ckpt-kafka: a store URL without a topic is a usage error" {
	run --separate-stderr fs-window tumble 1m --checkpoint-dir "kafka://$B" < /dev/null
	assert_failure 2
	assert_equal "$stderr" "fs-window: --checkpoint-dir: kafka://BROKERS/TOPIC: 'kafka://$B'
Try 'fs-window --help' for more information."
}

@test "ckpt-kafka: fs-ckpt lists, verifies and shows a Kafka store as it does a directory" {
	T=$(uniq_name ev) K="kafka://$B/$(uniq_name ckpt)"
	fs-gen --count 3000 --users 20 --seed 14 | fs-produce -b "$B" -t "$T" -k user
	C="$K" pipeline -e --checkpoint-records 1000 > /dev/null
	C=dir pipeline -e --checkpoint-records 1000 > /dev/null
	run --separate-stderr fs-ckpt list "$K"
	assert_success
	assert_equal "$(head -1 <<< "$output")" \
	    '{"id":4,"complete":true,"stages":{"fs-agg":"ok","fs-consume":"ok","fs-window":"ok"}}'
	fs-ckpt list dir > dir.list
	[ "$(head -1 dir.list)" = "$(head -1 <<< "$output")" ]
	for stage in fs-consume fs-window; do
		fs-ckpt show "$K" "$stage" 4 > k.state
		fs-ckpt show dir "$stage" 4 > d.state
		[ -s k.state ] && cmp k.state d.state
	done
	# fs-agg's is a chain (a full piece and deltas, compacted when each
	# store chose to): every piece shown, each a JSON text
	fs-ckpt show "$K" fs-agg 4 > k.state
	fs-ckpt show dir fs-agg 4 > d.state
	[ -s k.state ] && [ -s d.state ]
	jq -e . k.state d.state > /dev/null
	run --separate-stderr fs-ckpt latest "$K"
	assert_success
	assert_equal "$output" 4
	run --separate-stderr fs-ckpt verify "$K" dir
	assert_success
	assert_line "dir/fs-agg/00000000000000000004.ckpt: ok"
	assert_line "$K key fs-agg/00000000000000000004/commit: ok"
	# fs-agg's 4 as a writer killed before its marker leaves it
	printf '{"key":"fs-agg/00000000000000000004/commit","value":null}\n' |
	    fs-produce -b "$B" -t "${K##*/}" -E
	run --separate-stderr fs-ckpt list "$K"
	assert_success
	assert_equal "$(head -1 <<< "$output")" \
	    '{"id":4,"complete":false,"stages":{"fs-agg":"no commit marker (not written to the end)","fs-consume":"ok","fs-window":"ok"}}'
	run --separate-stderr fs-ckpt verify "$K"
	assert_failure 1
	assert_equal "$stderr" "fs-ckpt: '$K key fs-agg/00000000000000000004/commit': no commit marker (not written to the end)"
	run --separate-stderr fs-ckpt show "$K" fs-agg 4
	assert_failure 1
	run --separate-stderr fs-ckpt latest "$K"
	assert_equal "$output" 3
	# inspecting registers nothing and creates no topic
	run --separate-stderr fs-ckpt list "kafka://$B/$(uniq_name none)"
	assert_failure 1
	run --separate-stderr fs-ckpt latest "kafka://$B/$(uniq_name none)"
	assert_failure 1
	run --separate-stderr fs-ckpt list "$K"
	assert_equal "$(head -1 <<< "$output" | jq -c '.stages | keys')" '["fs-agg","fs-consume","fs-window"]'
}

# The pipeline as fs-run runs it: live at the first start (the test
# produces the rest of the events meanwhile), to the end of the topic
# (-e) at the next; fs-window writes its pid, each start its own output.
supervised() {
	cat <<'PIPE'
e=; [ "$FS_RUN_ATTEMPT" = 1 ] || e=-e
fs-consume -b "$B" -t "$T" -o beginning -V --checkpoint-dir "$C" \
    --checkpoint-interval 1h --checkpoint-records "$EVERY" $e |
    sh -c 'echo $$ > window.pid; exec fs-window tumble 1m --checkpoint-dir "$C"' |
    fs-agg --key user --agg n=count --agg s=sum:amount --checkpoint-dir "$C" \
    > "out.$FS_RUN_ATTEMPT"
PIPE
}

@test "ckpt-kafka: fs-run restarts a pipeline on a Kafka store from its newest checkpoint after a stage is killed with SIGKILL" {
	T=$(uniq_name ev) C="kafka://$B/$(uniq_name ckpt)" EVERY=2000
	export B T C EVERY
	fs-gen --count 20000 --users 300 --seed 15 > events
	head -n 11000 events | fs-produce -b "$B" -t "$T" -k user
	fs-run --backoff 10ms --grace 200ms --checkpoint-dir "$C" \
	    "$(supervised)" 2> log &
	FSRUN=$!
	wait_for 120 grep -q '{"@fs":"barrier","id":5}' out.1
	tail -n +11001 events | fs-produce -b "$B" -t "$T" -k user
	kill -9 "$(cat window.pid)"
	wait_for 120 test -s out.2
	for i in $(seq 1200); do kill -0 "$FSRUN" 2>/dev/null || break; sleep 0.1; done
	wait "$FSRUN" || fail "fs-run failed: $(cat log)"
	FSRUN=
	n=$(head -1 out.2 | sed -n 's/^{"@fs":"restore","id":\([0-9]*\)}$/\1/p')
	[ -n "$n" ] && [ "$n" -ge 5 ] || fail "restored $(head -1 out.2): $(cat log)"
	run cat log
	assert_line --index 0 "fs-run: start 1: no checkpoint: starting fresh"
	assert_line "fs-run: start 2 (restart 1): resuming from checkpoint $n"
	{ sed "/{\"@fs\":\"barrier\",\"id\":$n}/q" out.1; cat out.2; } |
	    grep -v '"@fs"' | sort > got
	uninterrupted events > expected
	[ -s expected ]
	cmp got expected
}

@test "ckpt-kafka: the store's connections take the connection properties of fs-consume's and fs-produce's -X, not the others" {
	T=$(uniq_name ev) C="kafka://$B/$(uniq_name ckpt)"
	fs-gen --count 300 --users 20 --seed 16 | fs-produce -b "$B" -t "$T" -k user
	run --separate-stderr fs-consume -b "$B" -t "$T" -o beginning -e -v \
	    -X client.id=fs-probe-c -X debug=conf -X fetch.wait.max.ms=77 \
	    --checkpoint-dir "$C"
	assert_success
	# fs-consume has no producer of its own: this one is the store's
	grep -q 'fs-probe-c#producer-[0-9]* initialized' <<< "$stderr" ||
	    fail "the store's producer did not take -X client.id: $stderr"
	[ "$(grep -c 'fetch.wait.max.ms = 77' <<< "$stderr")" = 1 ] ||
	    fail "a consumer property reached the store: $stderr"
	printf '%s\n' '{"n":1}' '{"@fs":"barrier","id":1}' '{"@fs":"end","id":2}' > in
	run --separate-stderr fs-produce -b "$B" -t "$T" -v \
	    -X client.id=fs-probe-p -X debug=conf --checkpoint-dir "$C.p" < in
	assert_success
	# fs-produce has no consumer of its own: this one is the store's
	grep -q 'fs-probe-p#consumer-[0-9]* initialized' <<< "$stderr" ||
	    fail "the store's consumer did not take -X client.id: $stderr"
}

@test "ckpt-kafka: a stage without -X sets the store's connections with X= and F= in the URL; a bad property is a usage error naming it" {
	C="kafka://$B/$(uniq_name ckpt)"
	printf 'client.id = fs-probe-f\n' > store.properties
	run --separate-stderr fs-window tumble 1m -v \
	    --checkpoint-dir "$C?chunk=4096&X=client.id=fs-probe-w&X=debug=conf" <<< '{"@fs":"end","id":1}'
	assert_success
	grep -q 'fs-probe-w#producer-[0-9]* initialized' <<< "$stderr" ||
	    fail "the store's producer did not take X=client.id: $stderr"
	grep -q 'fs-probe-w#consumer-[0-9]* initialized' <<< "$stderr" ||
	    fail "the store's consumer did not take X=client.id: $stderr"
	run --separate-stderr fs-window tumble 1m -v \
	    --checkpoint-dir "$C?F=$PWD/store.properties&X=debug=conf" <<< '{"@fs":"end","id":2}'
	assert_success
	grep -q 'fs-probe-f#consumer-[0-9]* initialized' <<< "$stderr" ||
	    fail "the store's consumer did not take the F= file: $stderr"
	run --separate-stderr fs-window tumble 1m \
	    --checkpoint-dir "$C?X=no.such.property=1" < /dev/null
	assert_failure 2
	assert_equal "$stderr" "fs-window: --checkpoint-dir: No such configuration property: \"no.such.property\": 'no.such.property=1'
Try 'fs-window --help' for more information."
	run --separate-stderr fs-window tumble 1m --checkpoint-dir "$C?X=debug" < /dev/null
	assert_failure 2
	assert_equal "$stderr" "fs-window: --checkpoint-dir: kafka://BROKERS/TOPIC?PARAM&..., PARAM chunk=BYTES, ns=NAME, X=KEY=VALUE or F=FILE: 'X=debug' in '$C?X=debug'
Try 'fs-window --help' for more information."
}

# A kill-and-compare test of timing (as chaos.bats): the code it reaches
# runs under the sanitizers in the commit-marker test above.
# bats test_tags=no-asan
@test "ckpt-kafka: a pipeline killed while fs-agg writes a checkpoint (its chunks in the topic, its marker not) restarts from the previous one, losing and doubling nothing" {
	local topic k n key marker
	T=$(uniq_name ev) topic=$(uniq_name ckpt)
	# tens of thousands of keys in open windows: fs-agg's state takes
	# a thousand chunks and more, written one at a time (a slow link)
	C="kafka://$B/$topic?chunk=1024&X=batch.num.messages=1&X=max.in.flight=1"
	fs-gen --count 60000 --users 50000 --rate 1000 --seed 17 > events
	head -n 40000 events | fs-produce -b "$B" -t "$T" -k user
	export -f pipeline
	export B T C
	setsid bash -c "pipeline --checkpoint-records 10000 > run1 2> run1.err" &
	PGID=$!
	wait_for 60 grep -q '"@fs":"restore"' run1
	fs-consume -b "$B" -t "$topic" -o beginning > store.log 2> /dev/null &
	WATCH=$!
	# At the first chunk of fs-agg's checkpoint k, stop the pipeline;
	# kill it if its marker is not in the topic yet, else try k + 1.
	for k in 2 3 4; do
		key=$(printf 'fs-agg/%020d/000000' "$k")
		marker=$(printf 'fs-agg/%020d/commit' "$k")
		wait_for 120 grep -q "\"key\":\"$key\"" store.log
		kill -STOP -- "-$PGID"
		sleep 1         # what was sent before the stop reaches the log
		grep -q "\"key\":\"$marker\"" store.log || break
		kill -CONT -- "-$PGID"
	done
	kill -9 -- "-$PGID"
	wait "$PGID" 2>/dev/null || true
	PGID=
	kill "$WATCH"
	wait "$WATCH" 2>/dev/null || true
	WATCH=
	run --separate-stderr fs-ckpt list "$C"
	assert_success
	assert_line "$(printf '{"id":%d,"complete":false,"stages":{"fs-agg":"no commit marker (not written to the end)","fs-consume":"ok","fs-window":"ok"}}' "$k")"
	tail -n +40001 events | fs-produce -b "$B" -t "$T" -k user
	pipeline -e --checkpoint-records 10000 > run2 2> run2.err ||
	    fail "the restarted run failed: $(cat run2.err)"
	n=$(head -1 run2 | sed -n 's/^{"@fs":"restore","id":\([0-9]*\)}$/\1/p')
	assert_equal "$n" "$((k - 1))"
	{ sed "/{\"@fs\":\"barrier\",\"id\":$n}/q" run1; cat run2; } |
	    grep -v '"@fs"' | sort > got
	uninterrupted events > expected
	[ -s expected ]
	cmp got expected
	# the chunks the killed writer left are gone from the index: the
	# restart rewrote checkpoint k whole
	run --separate-stderr fs-ckpt verify "$C"
	assert_success
}

@test "ckpt-kafka: namespaces (?ns=NAME) keep the checkpoints of two pipelines apart in one topic" {
	local t1 t2 ck
	t1=$(uniq_name ev) t2=$(uniq_name ev) ck=$(uniq_name ckpt)
	fs-gen --count 3000 --users 40 --seed 14 | fs-produce -b "$B" -t "$t1" -k user
	fs-gen --count 2000 --users 30 --seed 15 | fs-produce -b "$B" -t "$t2" -k user
	T=$t1 C="kafka://$B/$ck?ns=a.p0"
	run --separate-stderr pipeline -e --checkpoint-records 1000
	assert_success
	assert_equal "$(tail -1 <<< "$output")" '{"@fs":"end","id":4}'
	# another namespace, and none, in the same topic: nothing to restore
	T=$t2 C="kafka://$B/$ck?chunk=65536&ns=b.p1"
	run --separate-stderr pipeline -e --checkpoint-records 1000
	assert_success
	refute_line --regexp '"restore","id":[1-9]'
	assert_equal "$(tail -1 <<< "$output")" '{"@fs":"end","id":3}'
	T=$t2 C="kafka://$B/$ck"
	run --separate-stderr pipeline -e --checkpoint-records 1000
	assert_success
	refute_line --regexp '"restore","id":[1-9]'
	# each namespace resumes from its own end
	T=$t1 C="kafka://$B/$ck?ns=a.p0"
	run --separate-stderr pipeline -e --checkpoint-records 1000
	assert_success
	assert_equal "$(head -1 <<< "$output")" '{"@fs":"restore","id":4}'
	# every key of a namespace begins with it
	fs-consume -b "$B" -t "$ck" -o beginning -e | grep -c '"key":"a\.p0/fs-agg/' > n
	[ "$(cat n)" -ge 4 ]
}

@test "ckpt-kafka: a namespace outside letters, digits, '-', '_' and '.' is a usage error" {
	run --separate-stderr fs-window tumble 1m --checkpoint-dir "kafka://$B/ck?ns=a/b" < /dev/null
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-window: --checkpoint-dir: kafka://BROKERS/TOPIC?ns=NAME, NAME of letters, digits, '-', '_' and '.': 'kafka://$B/ck?ns=a/b'"
	run --separate-stderr fs-window tumble 1m --checkpoint-dir "kafka://$B/ck?nope=1" < /dev/null
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-window: --checkpoint-dir: kafka://BROKERS/TOPIC?PARAM&..., PARAM chunk=BYTES, ns=NAME, X=KEY=VALUE or F=FILE: 'nope=1' in 'kafka://$B/ck?nope=1'"
}
