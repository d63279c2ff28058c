#!/usr/bin/env bats
# No silent loss (issue 15): the README's two pipelines, run as the
# README writes them, on an 8-partition backlog, a slow sink, kills and
# restarts at the worst moment, keep exactly-once results and drop no
# record as late when the input has no disorder beyond the bound.  Each
# test is one observation of the issue, scaled down to run in about a
# minute on two cores; the figures in a failure's message are the loss.
#
# The expected results are computed from the events file by fs-window |
# fs-agg, without Kafka or Aerospike (tests/chaos/compare counts what is
# lost, doubled or different).

load test_helper
load kafka_helper

FIXTURE="${FS_BIN%/bin}/fixtures/asfixture"
[ -x "$FIXTURE" ] || FIXTURE="$FS_ROOT/build/fixtures/asfixture"
export FS_ASFIXTURE="$FIXTURE"
COMPARE="$FS_ROOT/tests/chaos/compare"

# The backlog of the live pipeline: 160,000 events over 8 partitions,
# 2,000 users, about 0.3 rows per event for the sink, in event-time
# order.  Read through the sink below (single writes, 4 at once, each
# answered after 3ms), one partition's fetch (1MB, 10,000 messages)
# takes longer than --idle-timeout's 10s to get through the pipe.
LIVE_EVENTS=160000
LIVE_GEN=(fs-gen --count "$LIVE_EVENTS" --users 2000 --rate 90 --seed 15)
SLOW_MS=3
SLOW_SINK="--batch 1 --in-flight 4"

setup_file() {
	require_kafka
	local d="$BATS_FILE_TMPDIR"
	export FS_ASFIXTURE_STATE="$d/fixture"
	AS=$("$FS_ROOT/scripts/aerospike-fixture-start" -- -n features) || return 1
	export AS="${AS#FS_AEROSPIKE=}"
	export BROKERS="$FS_KAFKA_BROKERS"
	LIVE_TOPIC=$(uniq_name clicks)
	export LIVE_TOPIC
	kafka_create_topic "$LIVE_TOPIC" 8
	"${LIVE_GEN[@]}" > "$d/live-events.ndjson"
	fs-produce -b "$BROKERS" -t "$LIVE_TOPIC" -k user < "$d/live-events.ndjson"
	newest_per_user < "$d/live-events.ndjson" > "$d/live-expected.ndjson"
}

teardown_file() {
	"$FS_ROOT/scripts/aerospike-fixture-stop"
}

suite_setup() {
	require_kafka
	PIDS=()
	"$FIXTURE" --ctl "$AS" fixture-truncate > /dev/null
	"$FIXTURE" --ctl "$AS" fixture-reset > /dev/null
}

# A pipeline left running by a failed test (each in its own group).
teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 -- "-$p" 2> /dev/null || true
	done
}

# The features of the README's live pipeline computed from events on
# stdin: each user's newest window (the sink keeps one record per user).
newest_per_user() {
	fs-window --tumble 1m |
		fs-agg --key user --agg clicks=count:if:event=click --agg spend=sum:amount \
			--agg items=count_distinct:item | grep -v '"@fs"' |
		awk '{ match($0, /"user":"[^"]*",/); u = substr($0, RSTART, RLENGTH);
			if (!(u in last)) order[n++] = u; last[u] = $0 }
			END { for (i = 0; i < n; i++) print last[order[i]] }'
}

# The first sh block of a README section, as the README writes it.
readme_block() {
	sed -n "/^### $1\$/,/^### /p" "$FS_ROOT/README.md" |
		awk '/^```sh$/ { f = 1; next } /^```$/ { if (f) exit } f'
}

# Writes live.sh: the README's live pipeline on this file's topic, to
# the end of the topic (-e), with CONSUME_EXTRA added to fs-consume and
# SINK_EXTRA to the sink.
write_live() {
	readme_block 'Live features from Kafka into Aerospike' | grep -v '^fs-get ' |
		sed -e "s/ -t clicks / -t $LIVE_TOPIC /" \
			-e "s/^fs-consume -b /fs-consume -e $1 -b /" \
			-e "s/--checkpoint-dir ck\$/--checkpoint-dir ck $2/" > live.sh
	grep -q -e "-t $LIVE_TOPIC " live.sh || fail "live.sh: no topic: $(cat live.sh)"
	grep -q "^fs-consume -e " live.sh || fail "live.sh: no fs-consume: $(cat live.sh)"
	[ -z "$2" ] || grep -q -e "--checkpoint-dir ck $2\$" live.sh ||
		fail "live.sh: no sink options: $(cat live.sh)"
}

# The sum of the late records every stage reported in FILE(s).
late_in() {
	cat "$@" | sed -n 's/^fs-[a-z]*: \([0-9]*\) late records\{0,1\} .*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }'
}

# Compares the store with the expected newest features per user; sets
# FIGURES ("lost=N doubled=N different=N").
compare_store() {
	local records
	"$FIXTURE" --ctl "$AS" fixture-set:delay-ms=0 > /dev/null
	records=$(store_records "$AS" features)
	fs-get -h "$AS" -n features -s user --key user "$BATS_FILE_TMPDIR/live-expected.ndjson" \
		> store.ndjson
	FIGURES=$("$COMPARE" store user "$BATS_FILE_TMPDIR/live-expected.ndjson" store.ndjson \
		"$records" 2> compare.err) || true
}

@test "no-loss 1: the README's live pipeline on an 8-partition backlog with a slow sink drops nothing as late and stores the features of the events file" {
	write_live "" "$SLOW_SINK"
	"$FIXTURE" --ctl "$AS" "fixture-set:delay-ms=$SLOW_MS" > /dev/null
	run -0 timeout 300 bash -o pipefail live.sh 2> run.err
	late=$(late_in run.err)
	compare_store
	echo "late=$late $FIGURES (of $(wc -l < "$BATS_FILE_TMPDIR/live-expected.ndjson") users)"
	cat compare.err run.err
	assert_equal "late=$late $FIGURES" "late=0 lost=0 doubled=0 different=0"
}

# Starts live.sh in a process group of its own, stderr appended to
# run.err; PID is the group.
start_live() {
	setsid bash -o pipefail live.sh 2>> run.err &
	PID=$!
	PIDS+=("$PID")
}

@test "no-loss 3: the README's live pipeline killed with SIGKILL 6 times at random moments (twice right after a restart) and run again ends with the features of the events file and nothing late" {
	local seed=${FS_CHAOS_SEED:-$RANDOM} i pause
	RANDOM=$seed
	# A checkpoint every second, so kills seconds apart lose little.
	write_live "--checkpoint-interval 1s" "$SLOW_SINK"
	"$FIXTURE" --ctl "$AS" "fixture-set:delay-ms=$SLOW_MS" > /dev/null
	for i in 1 2 3 4 5 6; do
		start_live
		case $i in
		2 | 5) pause=0.$((RANDOM % 3))$((RANDOM % 10)) ;;   # right after the start
		*) pause=$((1 + RANDOM % 5)).$((RANDOM % 10)) ;;
		esac
		sleep "$pause"
		kill -0 "$PID" 2> /dev/null || fail "run $i ended before its kill"
		kill -9 -- "-$PID"
		{ wait "$PID"; } 2> /dev/null || true
		echo "kill $i after ${pause}s" >> kills.log
	done
	run -0 timeout 300 bash -o pipefail live.sh 2>> run.err
	late=$(late_in run.err)
	compare_store
	echo "seed=$seed late=$late $FIGURES"
	cat kills.log compare.err
	grep -e resuming -e late run.err || true
	assert_equal "late=$late $FIGURES" "late=0 lost=0 doubled=0 different=0"
}

# --- Kafka to Kafka ------------------------------------------------------

# Topics for the Kafka-to-Kafka pipeline: IN with 8 partitions, OUT;
# events.ndjson (COUNT events) and expected.ndjson, the rows fs-window |
# fs-agg compute from it.  The README pipeline has no -e: it runs until
# stopped, and fires a window when the watermark passes its end, so
# after the events each partition gets a "flush" event 10 minutes later,
# whose own windows never fire: every window of the events does.
kafka_topics() {
	IN=$(uniq_name clicks)
	OUT=$(uniq_name features)
	GROUP="$IN-g"
	kafka_create_topic "$IN" 8
	kafka_create_topic "$OUT" 3
	fs-gen --count "$1" --users 5000 --rate 100 --seed 16 > events.ndjson
	fs-window --tumble 1m < events.ndjson | fs-agg --key user --agg clicks=count |
		grep -v '"@fs"' > expected.ndjson
}

produce_events() {
	local last p
	fs-produce -b "$BROKERS" -t "$IN" -k user < events.ndjson
	last=$(tail -n 1 events.ndjson | sed 's/^{"ts":\([0-9]*\),.*/\1/')
	for p in 0 1 2 3 4 5 6 7; do
		printf '{"ts":%s,"user":"zz-flush","event":"view","item":"i0","amount":0}\n' \
			"$((last + 600000))" | fs-produce -b "$BROKERS" -t "$IN" -p "$p"
	done
}

# Writes k2k.sh: the README's Kafka-to-Kafka pipeline on IN, OUT, GROUP,
# with EXTRA added to fs-consume.
write_k2k() {
	readme_block 'Kafka to Kafka, exactly once' |
		sed -e "s/ -t clicks / -t $IN /" -e "s/ -G features-1m / -G $GROUP /" \
			-e "s/ -t user-clicks-1m / -t $OUT /" \
			-e "s/--transactional-id user-clicks-1m /--transactional-id $OUT /" \
			-e "s/^fs-consume -b /fs-consume ${1:-}-b /" > k2k.sh
	[ "$(grep -c -e "$IN\|$OUT\|$GROUP" k2k.sh)" -eq 3 ] || fail "k2k.sh: $(cat k2k.sh)"
}

start_k2k() {
	setsid bash -o pipefail k2k.sh 2>> run.err &
	PID=$!
	PIDS+=("$PID")
}

# What a read_committed consumer of OUT sees.
committed() {
	fs-consume -b "$BROKERS" -t "$OUT" -o beginning -e -V -X isolation.level=read_committed
}

# The group's lag over every partition of IN (a partition never
# committed counts as its whole end).
group_lag() {
	fs-consume -b "$BROKERS" -t "$IN" -G "$GROUP" --lag |
		jq -s 'map(if .committed == null then .end else .lag end) | add'
}

# Waits (at most LIMIT seconds) until the whole input is consumed (the
# group's lag is 0: a complete checkpoint covers it) and the committed
# output has not grown for 3 polls two seconds apart; then stops the
# pipeline with SIGTERM, as a service manager would.
finish_k2k() {
	local limit=$1 n prev=-1 stable=0 i lag
	for ((i = 0; i < limit / 2; i++)); do
		sleep 2
		lag=$(group_lag)
		n=$(committed | wc -l)
		if [ "$lag" = 0 ] && [ "$n" = "$prev" ]; then
			stable=$((stable + 1))
		else
			stable=0
		fi
		prev=$n
		[ "$stable" -ge 3 ] && break
	done
	echo "finished after $((i * 2))s: lag $lag, $n rows committed" >> finish.log
	kill -TERM -- "-$PID" 2> /dev/null || true
	{ wait "$PID"; } 2> /dev/null || true
}

compare_k2k() {
	committed > got.ndjson
	FIGURES=$("$COMPARE" rows user,window_start expected.ndjson got.ndjson 2> compare.err) || true
}

@test "no-loss 2: the README's Kafka-to-Kafka pipeline in a consumer group, killed and restarted at once, twice, has every row once in the output topic" {
	kafka_topics 300000
	write_k2k
	start_k2k
	# The group's first assignment (a new group starts at the end).
	sleep 6
	produce_events
	sleep 4
	kill -9 -- "-$PID"
	{ wait "$PID"; } 2> /dev/null || true
	# At once: the group still holds the dead member.
	start_k2k
	sleep 9
	kill -9 -- "-$PID"
	{ wait "$PID"; } 2> /dev/null || true
	start_k2k
	finish_k2k 150
	compare_k2k
	echo "late=$(late_in run.err) $FIGURES (of $(wc -l < expected.ndjson) rows)"
	cat finish.log compare.err
	grep -e resuming -e late run.err || true
	assert_equal "late=$(late_in run.err) $FIGURES" "late=0 lost=0 doubled=0 different=0"
}

@test "no-loss 2b: the README's Kafka-to-Kafka pipeline started on a quiet topic, events arriving after 15s, has every row once in the output topic" {
	kafka_topics 50000
	write_k2k
	start_k2k
	sleep 15
	produce_events
	finish_k2k 90
	compare_k2k
	echo "late=$(late_in run.err) $FIGURES (of $(wc -l < expected.ndjson) rows)"
	cat finish.log compare.err
	assert_equal "late=$(late_in run.err) $FIGURES" "late=0 lost=0 doubled=0 different=0"
}

# --- small items -------------------------------------------------------

@test "no-loss 4a: fs-consume --idle-timeout 0 is accepted (no partition is ever idle)" {
	local t
	t=$(uniq_name idle)
	kafka_create_topic "$t" 2
	fs-gen --count 100 | fs-produce -b "$BROKERS" -t "$t" -k user
	run --separate-stderr fs-consume -b "$BROKERS" -t "$t" -o beginning -e -V --watermarks \
		--idle-timeout 0
	assert_success
	assert_equal "$(printf '%s\n' "$output" | grep -vc '"@fs"')" 100
}

@test "no-loss 4b: a Kafka-to-Kafka pipeline run again after it finished, with the same checkpoint directory, writes nothing again" {
	kafka_topics 20000
	fs-produce -b "$BROKERS" -t "$IN" -k user < events.ndjson
	# The README's pipeline over the topic from its beginning to its end.
	write_k2k "-e "
	run -0 timeout 120 bash -o pipefail k2k.sh
	compare_k2k
	assert_equal "$FIGURES" "lost=0 doubled=0 different=0"
	run -0 timeout 120 bash -o pipefail k2k.sh
	run -0 timeout 120 bash -o pipefail k2k.sh
	compare_k2k
	cat compare.err
	assert_equal "$FIGURES" "lost=0 doubled=0 different=0"
}

@test "no-loss 4c: fs-produce given a malformed broker address fails within seconds with a clear message" {
	local start=$SECONDS
	run --separate-stderr -2 timeout -k 5 20 fs-produce -b FS_KAFKA_BROKERS=127.0.0.1:9092 -t x \
		<<< '{"ts":1,"user":"u1"}'
	[ $((SECONDS - start)) -le 10 ] || fail "took $((SECONDS - start))s"
	assert_regex "$stderr" "^fs-produce: .*FS_KAFKA_BROKERS=127.0.0.1:9092"
}
