#!/usr/bin/env bats
# The live/backfill promise: the same pipeline gives the same features
# whether its events come from the topic (fs-consume) or from an archive
# of the topic (fs-backfill); a backfill up to T handed over to the live
# consumer from T has neither gap nor overlap; and a training set built
# from backfilled features takes nothing from after each label's time.

load test_helper
load kafka_helper

# fs-window derives watermarks from event times until the first one
# arrives; reading a 3-partition topic from the beginning, fs-consume
# sends its first (the least of the partitions') only once every
# partition has delivered, so the derived ones must not run ahead of
# the partitions read last: --max-out-of-orderness covers the topic.
FEATURES=(fs-window --tumble 10s --max-out-of-orderness 1h)
AGG=(fs-agg --key user --agg n=count --agg spend=sum:amount)

features() {
	"${FEATURES[@]}" | "${AGG[@]}"
}

# The feature rows alone, in a canonical order.
rows() {
	grep -v '"@fs"' "$1" | sort
}

# A 3-partition topic holding 3000 click events keyed by user, with the
# Kafka timestamp set from the event time; its archive as fs-consume
# dumps it, one file per partition (one of them gzip-compressed).
suite_setup() {
	require_kafka || return 1
	B=$FS_KAFKA_BROKERS
	TOPIC=$(uniq_name clicks)
	kafka_create_topic "$TOPIC" 3
	fs-gen --count 3000 --users 20 --seed 11 --rate 50 > events.ndjson
	fs-produce -b "$B" -t "$TOPIC" -k user --timestamp < events.ndjson
	fs-consume -b "$B" -t "$TOPIC" -o beginning -e > dump.ndjson
	for p in 0 1 2; do
		grep "\"partition\":$p," dump.ndjson > "part-$p.ndjson" || true
	done
	gzip part-1.ndjson
}

@test "pipeline-backfill: the archive holds every message of the topic" {
	assert_equal "$(wc -l < dump.ndjson)" 3000
	assert_equal "$(cat part-0.ndjson part-2.ndjson | wc -l)" \
		"$((3000 - $(zcat part-1.ndjson.gz | wc -l)))"
}

@test "pipeline-backfill: live from the topic and backfill from its archive give identical features" {
	fs-consume -b "$B" -t "$TOPIC" -o beginning -e -V --watermarks | features > live.out
	fs-backfill --format kafka --watermarks part-*.ndjson* | features > backfill.out
	[ "$(rows live.out | wc -l)" -gt 100 ] || fail "too few feature rows: $(rows live.out | wc -l)"
	assert_equal "$(rows backfill.out)" "$(rows live.out)"
	# The backfill is the events themselves, in event-time order.
	fs-backfill --format kafka part-*.ndjson* > replay.ndjson
	assert_equal "$(sort replay.ndjson)" "$(sort events.ndjson)"
	assert_equal "$(fs-backfill --sort replay.ndjson)" "$(cat replay.ndjson)"
}

@test "pipeline-backfill: backfill up to T, then live from T: no gap, no overlap" {
	T=$(sed -n 1777p events.ndjson | sed 's/^{"ts":\([0-9]*\),.*/\1/')
	fs-backfill --format kafka --to "$T" part-*.ndjson* > before.ndjson
	fs-consume -b "$B" -t "$TOPIC" -o "@$T" -e -V > after.ndjson
	# Every event exactly once.
	assert_equal "$(cat before.ndjson after.ndjson | sort)" "$(sort events.ndjson)"
	# The cut is at T on both sides.
	assert_equal "$(fs-backfill --from "$T" before.ndjson | wc -l)" 0
	assert_equal "$(fs-backfill --sort --to "$T" after.ndjson | wc -l)" 0
	# One pipeline fed by the backfill and then by the live consumer
	# computes what the live consumer alone computes.
	{
		fs-backfill --format kafka --watermarks --to "$T" part-*.ndjson*
		fs-consume -b "$B" -t "$TOPIC" -o "@$T" -e -V --watermarks
	} | features > handoff.out
	fs-consume -b "$B" -t "$TOPIC" -o beginning -e -V --watermarks | features > live.out
	assert_equal "$(rows handoff.out)" "$(rows live.out)"
}
