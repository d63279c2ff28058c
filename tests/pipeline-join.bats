#!/usr/bin/env bats
# A two-source pipeline end to end, on a real broker and the Aerospike
# fixture: clicks joined live with the views of the same user and item
# in the 10 seconds before (fs-join reading a second fs-consume through
# --right), counted per user and window into Aerospike.  The store
# equals the same stages run on the files; killed with SIGKILL
# mid-stream and run again, both sources resume from the same
# checkpoint (fs-join aligns their barriers) and the store ends the same.

load test_helper
load kafka_helper

# The fixture of the build under test (ASan in the second pass).
FIXTURE="${FS_BIN%/bin}/fixtures/asfixture"
[ -x "$FIXTURE" ] || FIXTURE="$FS_ROOT/build/fixtures/asfixture"
export FS_ASFIXTURE="$FIXTURE"

JOIN=(fs-join --between -10s,0 --key user,item)
# A match comes out when its second record arrives, so the join's
# output is out of event-time order by up to 10s; fs-join's own
# watermarks allow for it, and until its first one fs-window's derived
# watermarks must too.
WINDOW=(fs-window --tumble 10s --max-out-of-orderness 1h)
AGG=(fs-agg --key user --agg pairs=count --agg items=count_distinct:item)
SINK_KEY=user,window_start

# Two topics of one partition each: the clicks and the views of 20000
# generated events (3983 and 14025 of them).
suite_setup() {
	require_kafka || return 1
	B=$FS_KAFKA_BROKERS
	CLICKS=$(uniq_name clicks)
	VIEWS=$(uniq_name views)
	SET=$(uniq_name s)
	C="$T/ckpt"
	kafka_create_topic "$CLICKS" 1
	kafka_create_topic "$VIEWS" 1
	fs-gen --count 20000 --users 20 --items 30 --seed 5 --rate 100 > events.ndjson
	grep '"event":"click"' events.ndjson > clicks.ndjson
	grep '"event":"view"' events.ndjson > views.ndjson
	fs-produce -b "$B" -t "$CLICKS" -k user < clicks.ndjson
	fs-produce -b "$B" -t "$VIEWS" -k user < views.ndjson
	# The same stages on the files, without Kafka or Aerospike: the rows,
	# and the bins the sink writes (all members but the key).
	"${JOIN[@]}" --right views.ndjson < clicks.ndjson | "${WINDOW[@]}" | "${AGG[@]}" |
		grep -v '"@fs"' > rows.ndjson
	sed 's/^{"window_start":[0-9]*,\("window_end":[0-9]*\),"user":"[^"]*",/{\1,/' \
		rows.ndjson > bins.ndjson
}

teardown() {
	if [ -n "${PID:-}" ]; then
		kill -9 -- "-$PID" 2> /dev/null || true
	fi
	if [ -n "${FS_ASFIXTURE_STATE:-}" ]; then
		"$FS_ROOT/scripts/aerospike-fixture-stop"
	fi
}

# Writes join.sh: both topics from the beginning to their end (-e),
# each source with a checkpoint every tenth of its messages (so both
# send about as many barriers), joined, counted and written into the
# set; SINK holds the sink's own options.
write_pipeline() {
	local sink="$1"
	local ck="--checkpoint-dir $C"
	cat > join.sh <<-EOF
	set -o pipefail
	fs-consume -b '$B' -t '$CLICKS' -o beginning -e -V --watermarks --stats \
	        $ck --stage consume-clicks --checkpoint-records 400 |
	    ${JOIN[*]} $ck --right <(fs-consume -b '$B' -t '$VIEWS' -o beginning -e -V \
	        --watermarks --stats $ck --stage consume-views --checkpoint-records 1400) |
	    ${WINDOW[*]} $ck |
	    ${AGG[*]} $ck |
	    fs-sink-aerospike -h '$AS' -n test -s '$SET' --key $SINK_KEY $ck $sink
	EOF
}

store() {
	fs-get -h "$AS" -n test -s "$SET" --key "$SINK_KEY" --bins-only < rows.ndjson
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

@test "pipeline-join: clicks joined live with the views before them and counted into Aerospike equal the same stages on the files" {
	require_aerospike
	AS=$FS_AEROSPIKE
	[ "$(wc -l < rows.ndjson)" -gt 300 ] || fail "too few rows: $(wc -l < rows.ndjson)"
	write_pipeline ""
	run --separate-stderr bash join.sh
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep ' messages$' | sort)" "fs-consume: 14025 messages
fs-consume: 3983 messages"
	run --separate-stderr store
	assert_success
	assert_equal "$output" "$(cat bins.ndjson)"
	# Checkpoint 10 is both sources' (the clicks' end); the views' end,
	# 11, has no clicks file and stays incomplete.
	run --separate-stderr fs-ckpt list "$C"
	assert_line -n 0 --partial '{"id":11,"complete":false,"stages":{"consume-clicks":"missing","consume-views":"ok",'
	assert_line -n 1 '{"id":10,"complete":true,"stages":{"consume-clicks":"ok","consume-views":"ok","fs-agg":"ok","fs-join":"ok","fs-sink-aerospike":"ok","fs-window":"ok"}}'
}

@test "pipeline-join: killed with SIGKILL mid-stream and run again, both sources resume from one checkpoint and the store ends as the uninterrupted run's" {
	# A fixture of this test's own answering each write after 20ms,
	# single writes 2 at a time: the sink holds the pipeline back.
	export FS_ASFIXTURE_STATE="$T/fixture"
	AS=$("$FS_ROOT/scripts/aerospike-fixture-start")
	AS="${AS#FS_AEROSPIKE=}"
	"$FIXTURE" --ctl "$AS" fixture-set:delay-ms=20 > /dev/null
	write_pipeline "--batch 1 --in-flight 2"
	setsid bash join.sh 2> run1.err &
	PID=$!
	wait_for 60 complete_after 1 ||
		fail "no complete checkpoint: $(fs-ckpt list "$C" 2>&1; cat run1.err)"
	kill -0 "$PID" || fail "the pipeline finished before the kill"
	kill -9 -- "-$PID"
	{ wait "$PID"; } 2> /dev/null || true
	k=$(newest_complete)
	"$FIXTURE" --ctl "$AS" fixture-reset > /dev/null
	run --separate-stderr store
	[ "$output" != "$(cat bins.ndjson)" ] || fail "the store was complete at the kill"

	run --separate-stderr bash join.sh
	assert_success
	# Both resumed from checkpoint k: 400 clicks and 1400 views each.
	assert_equal "$(printf '%s\n' "$stderr" | grep ' messages$' | sort -t ' ' -k 2n | tr '\n' ' ')" \
		"fs-consume: $((3983 - 400 * k)) messages fs-consume: $((14025 - 1400 * k)) messages "
	assert_equal "$(printf '%s\n' "$stderr" | grep -c "^fs-consume: resuming from checkpoint $k\$")" 2
	run --separate-stderr store
	assert_success
	assert_equal "$output" "$(cat bins.ndjson)"
	assert_equal "$(store_records "$AS" test)" \
		"$(wc -l < rows.ndjson)"
}
