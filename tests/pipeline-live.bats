#!/usr/bin/env bats
# The live pipeline end to end, with the real tools on a real broker and
# the Aerospike fixture: click events produced to a topic, consumed,
# windowed, aggregated and written into Aerospike give the features the
# same stages compute from the file; killed with SIGKILL mid-stream and
# run again, the pipeline ends with the same store (the exactly-once
# effect of fs-checkpoint(5)), also when the newest checkpoint is
# corrupt; control records travel from the source to the sink, which
# completes the checkpoints; every stage stops cleanly on SIGTERM; and
# the README's live pipeline, as written there, keeps its promise.

load test_helper
load kafka_helper

# The fixture of the build under test (ASan in the second pass).
FIXTURE="${FS_BIN%/bin}/fixtures/asfixture"
[ -x "$FIXTURE" ] || FIXTURE="$FS_ROOT/build/fixtures/asfixture"
export FS_ASFIXTURE="$FIXTURE"
EVENTS=20000

# fs-consume sends its first watermark (the least of the partitions')
# only once every partition has delivered; until then fs-window derives
# them from event times, so they must not run ahead of the partitions
# read last: --max-out-of-orderness covers the topic.
WINDOW=(fs-window --tumble 10s --max-out-of-orderness 1h)
AGG=(fs-agg --key user --agg n=count --agg spend=sum:amount
	--agg clicks=count:if:event=click --agg top=max:amount
	--agg items=count_distinct:item --agg avg=avg:amount)
# One Aerospike record per user and window.
SINK_KEY=user,window_start
# Small fetches interleave the partitions finely, as live traffic does,
# so windows fire and checkpoints complete steadily while the sink
# writes (read from a backlog, librdkafka hands over one partition's
# fetch after another).
SMALL_FETCH="-X max.partition.fetch.bytes=16384"

# A 3-partition topic holding the events, keyed by user.  (Message
# timestamps are the time of production: a broker's time retention
# would delete messages stamped with the events' times in 2026-01.)
suite_setup() {
	require_kafka || return 1
	B=$FS_KAFKA_BROKERS
	TOPIC=$(uniq_name clicks)
	SET=$(uniq_name s)
	C="$T/ckpt"
	kafka_create_topic "$TOPIC" 3
	fs-gen --count "$EVENTS" --users 50 --seed 7 --rate 100 > events.ndjson
	fs-produce -b "$B" -t "$TOPIC" -k user < events.ndjson
}

teardown() {
	# A pipeline left running by a failed test.
	if [ -n "${PID:-}" ]; then
		kill -9 -- "-$PID" 2> /dev/null || true
	fi
	if [ -n "${FS_ASFIXTURE_STATE:-}" ]; then
		"$FS_ROOT/scripts/aerospike-fixture-stop"
	fi
}

# A fixture of this test's own, whose replies are held DELAY_MS each, so
# the sink (with few requests in flight) holds the pipeline back for
# seconds and a kill lands mid-stream; sets AS.
slow_fixture() {
	export FS_ASFIXTURE_STATE="$T/fixture"
	AS=$("$FS_ROOT/scripts/aerospike-fixture-start") || return 1
	AS="${AS#FS_AEROSPIKE=}"
	"$FIXTURE" --ctl "$AS" "fixture-set:delay-ms=$1" > /dev/null
}

# The features computed from a file without Kafka or Aerospike: the
# rows alone, and the bins the sink writes for each (every member but
# the key fields window_start and user).
expect_from() {
	"${WINDOW[@]}" "$@" | "${AGG[@]}" | grep -v '"@fs"' > rows.ndjson
	sed 's/^{"window_start":[0-9]*,\("window_end":[0-9]*\),"user":"[^"]*",/{\1,/' \
		rows.ndjson > bins.ndjson
	[ "$(wc -l < rows.ndjson)" -gt 500 ] || fail "too few rows: $(wc -l < rows.ndjson)"
}

# Writes live.sh: the live pipeline from the beginning of the topic to
# its end (-e) into the set.  CK goes to every stage (a checkpoint
# directory), SRC to fs-consume, SINK to the sink; with TEE, what
# reaches the sink is copied to that file; FILTER goes between the
# source and fs-window.
write_pipeline() {
	local ck="$1" src="$2" sink="$3" tee="${4:-}" filter="${5:-}"
	cat > live.sh <<-EOF
	set -o pipefail
	fs-consume -b '$B' -t '$TOPIC' -o beginning -e -V --watermarks $ck $src |${filter:+ $filter |}
	    ${WINDOW[*]} $ck |
	    ${AGG[*]} $ck |${tee:+ tee '$tee' |}
	    fs-sink-aerospike -h '$AS' -n test -s '$SET' --key $SINK_KEY $ck $sink
	EOF
}

# The store read back for every expected row, bins alone, in row order.
store() {
	fs-get -h "$AS" -n test -s "$SET" --key "$SINK_KEY" --bins-only < rows.ndjson
}

# Records in the fixture (all sets; a private fixture holds this test's).
fixture_records() {
	store_records "$AS" "${NS:-test}"
}

# The newest complete checkpoint in $C, or 0.
newest_complete() {
	local id
	id=$(fs-ckpt list "$C" 2>/dev/null |
		sed -n 's/^{"id":\([0-9]*\),"complete":true,.*/\1/p' | head -n 1)
	echo "${id:-0}"
}

complete_after() {
	[ "$(newest_complete)" -gt "$1" ]
}

# STDERR has LINE (a whole line).
stderr_has() {
	printf '%s\n' "$stderr" | grep -Fqx -- "$1" ||
		fail "no line '$1' on stderr: $stderr"
}

# Starts live.sh in a process group of its own (PID is its id), stderr
# appended to FILE.
start_pipeline() {
	setsid bash live.sh 2>> "$1" &
	PID=$!
}

# Kills the whole pipeline with SIGKILL once a checkpoint newer than
# AFTER is complete; fails if the pipeline had already finished (the
# kill must land mid-stream).
kill_after_checkpoint() {
	local after="$1"
	wait_for 60 complete_after "$after" ||
		fail "no checkpoint after $after: $(fs-ckpt list "$C" 2>&1; ls -R "$C"; cat ./*.err; ps -o pid,stat,etime,args -g "$PID")"
	kill -0 "$PID" || fail "the pipeline finished before the kill"
	assert_equal "$(ps -o pgid= "$PID" | tr -d ' ')" "$PID"
	kill -9 -- "-$PID"
	{ wait "$PID"; } 2> /dev/null || true
}

@test "pipeline-live: Kafka to Aerospike gives the features computed from the file" {
	require_aerospike
	AS=$FS_AEROSPIKE
	expect_from events.ndjson
	write_pipeline "" "" "--stats"
	run --separate-stderr bash live.sh
	assert_success
	assert_output ""
	# One write per row, nothing failed.
	assert_regex "$stderr" "stats: [0-9]+ lines, $(wc -l < rows.ndjson) written, 0 stale, 0 failed"
	run --separate-stderr store
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$output" "$(cat bins.ndjson)"
}

@test "pipeline-live: killed with SIGKILL mid-stream twice, run again to the end: the store holds exactly the uninterrupted results" {
	# Single writes, 4 at once, each answered after 10ms.
	slow_fixture 10
	expect_from events.ndjson
	write_pipeline "--checkpoint-dir $C" "--checkpoint-records 1000 --stats $SMALL_FETCH" "--batch 1 --in-flight 4"
	start_pipeline run1.err
	kill_after_checkpoint 0
	first=$(newest_complete)
	# The kill left the store short of the end.
	[ "$(fixture_records)" -lt "$(wc -l < rows.ndjson)" ] ||
		fail "the store was complete at the kill"
	start_pipeline run2.err
	kill_after_checkpoint "$first"
	second=$(newest_complete)
	[ "$second" -gt "$first" ] || fail "no checkpoint after the restart"
	# Files are written whole or not at all, even under SIGKILL.
	run --separate-stderr fs-ckpt verify "$C"/*/*.ckpt
	assert_success
	run --separate-stderr bash live.sh
	assert_success
	# The last run resumed from the second kill's newest complete
	# checkpoint (one every 1000 messages) and read only the rest.
	stderr_has "fs-consume: resuming from checkpoint $second"
	stderr_has "fs-consume: $((EVENTS - second * 1000)) messages"
	# The newest three checkpoints are complete, the last at the end.
	run --separate-stderr fs-ckpt list "$C"
	assert_success
	for i in 0 1 2; do
		assert_line -n "$i" --regexp '^\{"id":[0-9]+,"complete":true,"stages":\{"fs-agg":"ok","fs-consume":"ok","fs-sink-aerospike":"ok","fs-window":"ok"\}\}$'
	done
	"$FIXTURE" --ctl "$AS" fixture-reset > /dev/null
	# Every row once, with its values; no other record.
	run --separate-stderr store
	assert_success
	assert_equal "$output" "$(cat bins.ndjson)"
	assert_equal "$(fixture_records)" "$(wc -l < rows.ndjson)"
}

@test "pipeline-live: a restart that finds the newest checkpoint corrupt resumes from the previous one, with a warning, and ends with the same store" {
	# Batches (the default) one at a time, each answered after 100ms.
	slow_fixture 100
	expect_from events.ndjson
	write_pipeline "--checkpoint-dir $C" "--checkpoint-records 1000 --stats $SMALL_FETCH" "--in-flight 1"
	start_pipeline run1.err
	kill_after_checkpoint 1
	newest=$(newest_complete)
	# One byte of fs-agg's payload changed: same length, bad checksum.
	f="$C/fs-agg/$(printf '%020d' "$newest").ckpt"
	printf 'X' | dd of="$f" bs=1 seek=$(($(stat -c %s "$f") - 2)) conv=notrunc status=none
	run --separate-stderr fs-ckpt verify "$f"
	assert_failure 1
	previous=$(newest_complete)
	[ "$previous" -gt 0 ] && [ "$previous" -lt "$newest" ] ||
		fail "no complete checkpoint before $newest: $previous; $(fs-ckpt list "$C" 2>&1; ls -R "$C")"
	run --separate-stderr bash live.sh
	assert_success
	# It read from the previous checkpoint on (one every 1000 messages).
	stderr_has "fs-consume: checkpoint $newest not usable: '$f': checksum mismatch (corrupted); trying an older one"
	stderr_has "fs-consume: resuming from checkpoint $previous"
	stderr_has "fs-consume: $((EVENTS - previous * 1000)) messages"
	"$FIXTURE" --ctl "$AS" fixture-reset > /dev/null
	run --separate-stderr store
	assert_success
	assert_equal "$output" "$(cat bins.ndjson)"
	assert_equal "$(fixture_records)" "$(wc -l < rows.ndjson)"
}

@test "pipeline-live: control records travel to the sink, which completes each checkpoint; run again on a grown topic, the pipeline restores first and continues" {
	require_aerospike
	AS=$FS_AEROSPIKE
	TOPIC=$(uniq_name grows)
	kafka_create_topic "$TOPIC" 3
	# 12000 events end with a window (100 a second, 1-minute windows):
	# the end fires it, and the rest starts the next.  (A record for a
	# window the end fired is late in a later run: fs-window.bats.)
	head -n 12000 events.ndjson | fs-produce -b "$B" -t "$TOPIC" -k user
	# A control record of a kind no stage knows, after barrier 3.
	write_pipeline "--checkpoint-dir $C" "--checkpoint-records 1000" "--stats" mid1.ndjson \
		"sed '/^{\"@fs\":\"barrier\",\"id\":3}\$/a {\"@fs\":\"note\",\"text\":\"after 3\"}'"
	run --separate-stderr bash live.sh
	assert_success
	# A barrier every 1000 messages, in order, and the end (the last
	# barrier) last.
	assert_equal "$(sed -n 's/^{"@fs":"barrier","id":\([0-9]*\)}$/\1/p' mid1.ndjson)" "$(seq 1 12)"
	assert_equal "$(tail -n 1 mid1.ndjson)" '{"@fs":"end","id":13}'
	# The unknown record went through fs-window and fs-agg unchanged,
	# still between barriers 3 and 4.
	assert_equal "$(grep -e '"@fs":"barrier","id":[34]}' -e '"@fs":"note"' mid1.ndjson)" \
		'{"@fs":"barrier","id":3}
{"@fs":"note","text":"after 3"}
{"@fs":"barrier","id":4}'
	# Watermarks travel too; the sink took every control record.
	grep -q '^{"@fs":"watermark","ts":[0-9]*}$' mid1.ndjson
	assert_regex "$stderr" " $(grep -c '"@fs"' mid1.ndjson) control;"
	# The sink completed the last three (the older ones are pruned).
	run --separate-stderr fs-ckpt list "$C"
	assert_success
	for i in 0 1 2; do
		assert_line -n "$i" "{\"id\":$((13 - i)),\"complete\":true,\"stages\":{\"fs-agg\":\"ok\",\"fs-consume\":\"ok\",\"fs-sink-aerospike\":\"ok\",\"fs-window\":\"ok\"}}"
	done

	tail -n +12001 events.ndjson | fs-produce -b "$B" -t "$TOPIC" -k user
	write_pipeline "--checkpoint-dir $C" "--checkpoint-records 1000" "--stats" mid2.ndjson
	run --separate-stderr bash live.sh
	assert_success
	# The restore record comes first, through every stage; barriers go on.
	assert_equal "$(head -n 1 mid2.ndjson)" '{"@fs":"restore","id":13}'
	assert_equal "$(sed -n 's/^{"@fs":"barrier","id":\([0-9]*\)}$/\1/p' mid2.ndjson)" "$(seq 14 21)"
	assert_equal "$(tail -n 1 mid2.ndjson)" '{"@fs":"end","id":22}'
	[[ "$stderr" != *"late record"* ]] || fail "late records: $stderr"
	run --separate-stderr fs-ckpt list "$C"
	assert_line -n 0 '{"id":22,"complete":true,"stages":{"fs-agg":"ok","fs-consume":"ok","fs-sink-aerospike":"ok","fs-window":"ok"}}'
	# The store holds the features of the whole topic.
	expect_from events.ndjson
	run --separate-stderr store
	assert_success
	assert_equal "$output" "$(cat bins.ndjson)"
}

@test "pipeline-live: every stage stopped with SIGTERM while live exits 0; started again as more events arrive, the store ends as if it had run through" {
	require_aerospike
	AS=$FS_AEROSPIKE
	TOPIC=$(uniq_name live)
	kafka_create_topic "$TOPIC" 3
	head -n 10005 events.ndjson | fs-produce -b "$B" -t "$TOPIC" -k user
	write_pipeline "--checkpoint-dir $C" "--checkpoint-records 1000" ""
	# Live: without -e the source waits for more.  The whole process
	# group gets SIGTERM, as a service manager stops it; each stage's
	# exit status is kept.
	{
		echo 'trap : TERM'
		sed 's/ -o beginning -e / -o beginning /' live.sh
		echo 'echo "${PIPESTATUS[*]}" > status'
	} > live-term.sh
	setsid bash live-term.sh 2> run1.err &
	PID=$!
	wait_for 60 complete_after 9
	kill -TERM -- "-$PID"
	{ wait "$PID"; } 2> /dev/null || true
	assert_equal "$(cat status)" "0 0 0 0"
	stopped=$(newest_complete)
	[ "$stopped" -ge 10 ] || fail "newest complete checkpoint: $stopped"

	tail -n +10006 events.ndjson | fs-produce -b "$B" -t "$TOPIC" -k user
	write_pipeline "--checkpoint-dir $C" "--checkpoint-records 1000" "" mid.ndjson
	run --separate-stderr bash live.sh
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(head -n 1 mid.ndjson)" "{\"@fs\":\"restore\",\"id\":$stopped}"
	expect_from events.ndjson
	run --separate-stderr store
	assert_success
	assert_equal "$output" "$(cat bins.ndjson)"
}

# The first sh block of the README's section on the live pipeline.
readme_pipeline() {
	sed -n '/^### Live features from Kafka into Aerospike$/,/^### /p' "$FS_ROOT/README.md" |
		awk '/^```sh$/ { f = 1; next } /^```$/ { if (f) exit } f'
}

@test "pipeline-live: the README's live pipeline, killed with SIGKILL mid-stream and run again, leaves each user's newest features in Aerospike" {
	export FS_ASFIXTURE_STATE="$T/fixture"
	AS=$("$FS_ROOT/scripts/aerospike-fixture-start" -- -n features)
	AS="${AS#FS_AEROSPIKE=}"
	# As written there, on this test's topic, to the end of the topic
	# (-e), with a checkpoint every 1000 messages instead of 10 seconds.
	readme_pipeline > readme.sh
	sed -i -e "s/ -t clicks / -t $TOPIC /" \
		-e 's/^fs-consume -b /fs-consume -e --checkpoint-records 1000 -b /' readme.sh
	assert_equal "$(grep -c -e "^fs-consume -e --checkpoint-records 1000 -b \"\$BROKERS\" -t $TOPIC " readme.sh)" 1
	# The same features from the file: each user's last window.
	fs-window --tumble 1m < events.ndjson |
		fs-agg --key user --agg clicks=count:if:event=click --agg spend=sum:amount \
			--agg items=count_distinct:item | grep -v '"@fs"' |
		awk '{ match($0, /"user":"[^"]*",/); u = substr($0, RSTART, RLENGTH);
			if (!(u in last)) order[n++] = u; last[u] = $0 }
			END { for (i = 0; i < n; i++) print last[order[i]] }' > rows.ndjson
	assert_equal "$(wc -l < rows.ndjson)" 50
	# The bins: all but the key; --monotonic writes the time bin last.
	sed -e 's/"user":"[^"]*",//' -e 's/"window_end":\([0-9]*\),\(.*\)}$/\2,"window_end":\1}/' \
		rows.ndjson > bins.ndjson
	u42=$(grep -n '"user":"u0042"' rows.ndjson)
	u42=${u42%%:*}

	# Replies held 200ms: the sink waits for its writes at each barrier.
	"$FIXTURE" --ctl "$AS" fixture-set:delay-ms=200 > /dev/null
	C=ck
	export BROKERS="$B" AS
	setsid bash -o pipefail readme.sh > run1.out 2> run1.err &
	PID=$!
	kill_after_checkpoint 14
	"$FIXTURE" --ctl "$AS" fixture-reset > /dev/null
	# Killed before the last windows were written.
	fs-get -h "$AS" -n features -s user --key user rows.ndjson > killed.ndjson
	[ "$(sed 's/.*"bins"://; s/}$//' killed.ndjson)" != "$(cat bins.ndjson)" ] ||
		fail "the store was complete at the kill"
	run --separate-stderr bash -o pipefail readme.sh
	assert_success
	assert_equal "$stderr" ""
	# fs-get's line (the generation counts the writes, replays included).
	assert_output --regexp "^\{\"key\":\"u0042\",\"found\":true,\"generation\":[0-9]+,\"ttl\":-1,\"bins\":"
	assert_equal "${output#*\"bins\":}" "$(sed -n "${u42}p" bins.ndjson)}"
	run --separate-stderr fs-get -h "$AS" -n features -s user --key user --bins-only rows.ndjson
	assert_success
	assert_equal "$output" "$(cat bins.ndjson)"
	assert_equal "$(NS=features fixture_records)" 50
	run --separate-stderr fs-ckpt list ck
	assert_line -n 0 --regexp '^\{"id":[0-9]+,"complete":true,"stages":\{"fs-agg":"ok","fs-consume":"ok","fs-sink-aerospike":"ok","fs-window":"ok"\}\}$'
}
