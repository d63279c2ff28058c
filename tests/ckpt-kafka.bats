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
	PGID=
}

# A pipeline left running by a failed test (its own process group).
teardown() {
	if [ -n "${PGID:-}" ]; then
		kill -9 -- "-$PGID" 2>/dev/null || true
		wait "$PGID" 2>/dev/null || true
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
	assert_equal "${stderr%%$'\n'*}" "fs-window: --checkpoint-dir: kafka://BROKERS/TOPIC[?chunk=BYTES][&ns=NAME]: 'kafka://$B/ck?nope=1'"
}
