#!/usr/bin/env bats
# Kafka to Kafka on a real broker: running aggregates per user (fs-agg
# without windows: one result per event, each (user, n) once, so a lost
# or doubled result shows) produced to a topic in one transaction per
# checkpoint (fs-produce --transactional-id); a read_committed consumer
# of the output sees each result once.

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

@test "pipeline-kafka: running aggregates produced in transactions: a read_committed consumer sees each result once" {
	write_pipeline
	run --separate-stderr bash pipe.sh
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep ' messages$')" "fs-consume: $EVENTS messages"
	run --separate-stderr committed
	assert_success
	assert_equal "${#lines[@]}" "$EVENTS"
	assert_equal "$output" "$(cat expected.ndjson)"
}
