#!/usr/bin/env bats
# The chaos suite, small: scripts/chaos runs the README's pipelines as
# the README writes them, under the supervisor, on an 8-partition topic
# of the real broker, kills stages and whole pipelines with SIGKILL at
# random moments (some right after a restart), and compares the store
# or the output topic (read_committed) with the results computed from
# the events file: nothing lost, doubled or different, nothing late.
# `make chaos` runs the long variant (1,000,000 events, 20 kills).
#
# A checkpoint every second (--checkpoint-interval 1s on the source),
# so kills seconds apart still leave progress behind.  The seed is
# random; FS_CHAOS_SEED fixes it to replay a failure (each run prints
# its own).

load test_helper

CHAOS="$FS_ROOT/scripts/chaos"

suite_setup() {
	require_kafka
}

chaos() {
	run --separate-stderr "$CHAOS" --seed "${FS_CHAOS_SEED:-$RANDOM}" "$@"
	printf '%s\n' "$stderr" | grep -v '^    ' | tail -n 40
	printf '%s\n' "$output"
	assert_success
	assert_line --regexp '^chaos: lost=0 doubled=0 different=0 late=0 finished=true '
}

@test "chaos: the README's live pipeline killed 8 times ends with the store of an uninterrupted run" {
	chaos --pipeline live --events 40000 --kills 8 --checkpoint-interval 1s
}

@test "chaos: the README's live pipeline with a slow sink killed 6 times ends with the store of an uninterrupted run" {
	chaos --pipeline live --events 40000 --kills 6 --slow-sink --sink-delay 20 \
		--checkpoint-interval 1s
}

@test "chaos: the README's Kafka-to-Kafka pipeline in its consumer group killed 6 times has every row once in the output topic" {
	chaos --pipeline kafka --events 100000 --kills 6 --checkpoint-interval 1s
}

@test "chaos: the README's Kafka-to-Kafka pipeline through a broker restart, killed 4 times, has every row once in the output topic" {
	chaos --pipeline kafka --events 50000 --kills 4 --broker-restart --checkpoint-interval 1s
}

@test "chaos: a backfill into the store killed 5 times and resumed ends with the store of an uninterrupted run" {
	chaos --pipeline backfill --events 100000 --kills 5 --sink-delay 100 \
		--checkpoint-interval 1s
}
