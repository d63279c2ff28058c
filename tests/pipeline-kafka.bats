#!/usr/bin/env bats
# Kafka to Kafka on a real broker: running aggregates per user (fs-agg
# without windows: one result per event, each (user, n) once, so a lost
# or doubled result shows) produced to a topic in one transaction per
# checkpoint (fs-produce --transactional-id); a read_committed consumer
# of the output sees each result once, also when the pipeline is killed
# with SIGKILL mid-stream and run again: the transactions open at the
# kills are aborted, one committed just before a kill is not committed
# again, and the restart produces the rest from the checkpoint.

load test_helper
load kafka_helper

EVENTS=20000
AGG=(fs-agg --key user --agg n=count --agg spend=sum:amount --agg top=max:amount)

# A 3-partition topic keyed by user: each user's events stay in order,
# so each user's running aggregates are the same whatever the
# interleaving of the partitions.
suite_setup() {
	require_kafka || return 1
	B=$FS_KAFKA_BROKERS
	IN=$(uniq_name clicks)
	OUT=$(uniq_name features)
	C="$T/ckpt"
	kafka_create_topic "$IN" 3
	kafka_create_topic "$OUT" 3
	fs-gen --count "$EVENTS" --users 50 --seed 13 --rate 100 > events.ndjson
	fs-produce -b "$B" -t "$IN" -k user < events.ndjson
	"${AGG[@]}" < events.ndjson | sort > expected.ndjson
}

teardown() {
	if [ -n "${PID:-}" ]; then
		kill -9 -- "-$PID" 2> /dev/null || true
	fi
}

# Writes pipe.sh: the topic from the beginning to its end, a barrier
# every 100 messages, so a transaction commits every 100 results.
write_pipeline() {
	cat > pipe.sh <<-EOF
	set -o pipefail
	fs-consume -b '$B' -t '$IN' -o beginning -e -V --stats \
	        --checkpoint-dir '$C' --checkpoint-records 100 |
	    ${AGG[*]} --checkpoint-dir '$C' |
	    fs-produce -b '$B' -t '$OUT' -k user --transactional-id '$OUT' \
	        --checkpoint-dir '$C'
	EOF
}

# What a read_committed consumer (fs-consume's default) sees, sorted.
committed() {
	fs-consume -b "$B" -t "$OUT" -o beginning -e -V | sort
}

# fs-consume's last line on stderr: "fs-consume: N messages" (--stats).
consumed() {
	printf '%s\n' "$1" | grep ' messages$'
}

newest_complete() {
	local id
	id=$(fs-ckpt list "$C" 2>/dev/null |
		sed -n 's/^{"id":\([0-9]*\),"complete":true,.*/\1/p' | head -n 1)
	echo "${id:-0}"
}

complete_after() {
	[ "$(newest_complete)" -gt "$1" ]
}

# Kills the pipeline started as $PID once a checkpoint newer than $1 is
# complete: often between a commit and the file of the next checkpoint.
kill_after_checkpoint() {
	wait_for 60 complete_after "$1" ||
		fail "no checkpoint after $1: $(fs-ckpt list "$C" 2>&1; cat ./*.err)"
	kill -0 "$PID" || fail "the pipeline finished before the kill"
	kill -9 -- "-$PID"
	{ wait "$PID"; } 2> /dev/null || true
}

@test "pipeline-kafka: running aggregates produced in transactions: a read_committed consumer sees each result once" {
	write_pipeline
	run --separate-stderr bash pipe.sh
	assert_success
	assert_equal "$(consumed "$stderr")" "fs-consume: $EVENTS messages"
	run --separate-stderr committed
	assert_success
	assert_equal "${#lines[@]}" "$EVENTS"
	assert_equal "$output" "$(cat expected.ndjson)"
}

@test "pipeline-kafka: killed with SIGKILL mid-stream twice and run again, a read_committed consumer sees every result exactly once" {
	write_pipeline
	setsid bash pipe.sh 2> run1.err &
	PID=$!
	kill_after_checkpoint 0
	first=$(newest_complete)
	setsid bash pipe.sh 2> run2.err &
	PID=$!
	kill_after_checkpoint "$first"
	second=$(newest_complete)
	# Not all was committed at the kill.
	[ "$(committed | wc -l)" -lt "$EVENTS" ] || fail "everything was committed at the kill"
	run --separate-stderr bash pipe.sh
	assert_success
	# Resumed from the newest complete checkpoint (every 100 messages).
	assert_equal "$(consumed "$stderr")" "fs-consume: $((EVENTS - second * 100)) messages"
	run --separate-stderr committed
	assert_success
	assert_equal "${#lines[@]}" "$EVENTS"
	assert_equal "$output" "$(cat expected.ndjson)"
	run --separate-stderr fs-ckpt list "$C"
	assert_line -n 0 --regexp '^\{"id":[0-9]+,"complete":true,"stages":\{"fs-agg":"ok","fs-consume":"ok","fs-produce":"ok"\}\}$'
}
