#!/usr/bin/env bats
# Prometheus metrics (fs(7), Metrics): a live pipeline's stages serve
# them on loopback ports and write them to a textfile, and the
# Prometheus client's own text-format parser (scripts/metrics-venv)
# reads what they say while the pipeline runs: counts that rise as
# input arrives, the watermark and its lag, checkpoints.

load test_helper
load kafka_helper

suite_setup() {
	PY=$("$FS_ROOT/scripts/metrics-venv")
	SCRAPE=("$PY" "$TESTS/metrics-scrape.py")
}

# A test's private Aerospike fixture, stopped whatever the test did.
teardown() {
	if [ -n "${FIXTURE_STATE:-}" ]; then
		FS_ASFIXTURE_STATE="$FIXTURE_STATE" "$FS_ROOT/scripts/aerospike-fixture-stop"
	fi
}

# A loopback port nobody listens on now.
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The value of sample NAME with labels LABELS in a scrape of SRC, or
# nothing (the parser's failure fails the test).
value() {
	local src="$1" name="$2" labels="$3" out
	out=$("${SCRAPE[@]}" "$src") || return 1
	awk -v n="$name" -v l="$labels" '$1 == n && $3 == l { print $4 }' <<<"$out"
}

# The sum of sample NAME over every series of SRC.
total() {
	local out
	out=$("${SCRAPE[@]}" "$1") || return 1
	awk -v n="$2" '$1 == n { s += $4; seen = 1 } END { if (seen) print s }' <<<"$out"
}

# Waits until sample NAME of SRC is at least MIN (10 s at most).
wait_metric() {
	local src="$1" name="$2" labels="$3" min="$4" v i
	for i in $(seq 100); do
		v=$(value "$src" "$name" "$labels" 2>/dev/null)
		if [ -n "$v" ] && awk -v v="$v" -v m="$min" 'BEGIN { exit !(v >= m) }'; then
			echo "$v"
			return 0
		fi
		sleep 0.1
	done
	echo "$name{$labels} of $src never reached $min (last: ${v:-none})" >&2
	return 1
}

# The pipeline reads fifo "in": input arrives while it runs.
start_pipeline() {
	mkfifo in
	fs-gen --count 4000 > events.ndjson
	WPORT=$(free_port)
	APORT=$(free_port)
	( fs-window --tumble 1m --metrics-port "$WPORT" "$@" in 2>window.err |
		fs-agg --key user --agg n=count --metrics-port "127.0.0.1:$APORT" \
			--metrics-file agg.prom --metrics-interval 100ms "$@" \
			> out.ndjson 2>agg.err ) 3>&- &
	PIPE=$!
	exec 5>in
}

W=stage=fs-window,tool=fs-window
A=stage=fs-agg,tool=fs-agg

@test "metrics: a live pipeline's counts rise as input arrives, scraped with the Prometheus parser" {
	local in1 in2 out1 wm lag keys bytes
	start_pipeline
	head -n 2000 events.ndjson >&5
	in1=$(wait_metric "http://127.0.0.1:$WPORT/metrics" fs_records_in_total "$W" 2000)
	assert_equal "$in1" 2000.0
	# fs-agg reads what fs-window writes: the events and the watermarks.
	out1=$(value "http://127.0.0.1:$WPORT/metrics" fs_records_out_total "$W")
	[ "${out1%.*}" -gt 2000 ] || fail "fs-window wrote $out1 lines"
	wait_metric "http://127.0.0.1:$APORT/metrics" fs_records_in_total "$A" "$out1"
	wm=$(value "http://127.0.0.1:$APORT/metrics" fs_watermark_seconds "$A")
	[ -n "$wm" ] || fail "fs-agg has no watermark"
	# 2000 events at 10/s from 2026-01-01T00:00:00Z: up to 00:03:20.
	awk -v w="$wm" 'BEGIN { exit !(w >= 1767225600 && w <= 1767225800) }' ||
		fail "fs-agg's watermark $wm"
	lag=$(value "http://127.0.0.1:$APORT/metrics" fs_watermark_lag_seconds "$A")
	awk -v l="$lag" -v w="$wm" -v now="$(date +%s)" \
		'BEGIN { exit !(l > 0 && l - (now - w) < 5 && (now - w) - l < 5) }' ||
		fail "lag $lag for watermark $wm"
	assert_equal "$(value "http://127.0.0.1:$APORT/metrics" fs_up "$A")" 1.0
	# fs-agg's state: the users (100) of the window still open.
	keys=$(value "http://127.0.0.1:$APORT/metrics" fs_state_keys "$A")
	bytes=$(value "http://127.0.0.1:$APORT/metrics" fs_state_bytes "$A")
	awk -v k="$keys" -v b="$bytes" 'BEGIN { exit !(k >= 1 && k <= 100 && b > 0) }' ||
		fail "state: $keys keys, $bytes bytes"
	assert_equal "$(value "http://127.0.0.1:$WPORT/metrics" fs_records_rejected_total "$W")" 0.0

	tail -n +2001 events.ndjson >&5
	in2=$(wait_metric "http://127.0.0.1:$WPORT/metrics" fs_records_in_total "$W" 4000)
	assert_equal "$in2" 4000.0
	# The textfile says the same, through the same parser.
	wait_metric agg.prom fs_records_in_total "$A" 4000
	exec 5>&-
	wait "$PIPE"
	[ -s out.ndjson ] || fail "no output"
	assert_equal "$(cat window.err agg.err)" ""
}

@test "metrics: rejected and late records are counted" {
	start_pipeline --on-error skip
	{
		head -n 1000 events.ndjson
		echo 'not json'
		echo '{"ts":1,"user":"late","amount":1}'
	} >&5
	wait_metric "http://127.0.0.1:$WPORT/metrics" fs_records_rejected_total "$W" 1
	wait_metric "http://127.0.0.1:$WPORT/metrics" fs_records_late_total "$W" 1
	assert_equal "$(value "http://127.0.0.1:$WPORT/metrics" fs_records_in_total "$W")" 1002.0
	exec 5>&-
	wait "$PIPE"
}

@test "metrics: checkpoint id, age and duration" {
	local id age dur
	start_pipeline --checkpoint-dir ck
	{
		echo '{"@fs":"restore","id":0}'
		head -n 100 events.ndjson
		echo '{"@fs":"barrier","id":1}'
		sed -n 101,200p events.ndjson
		echo '{"@fs":"barrier","id":2}'
	} >&5
	id=$(wait_metric "http://127.0.0.1:$APORT/metrics" fs_checkpoint_id "$A" 2)
	assert_equal "$id" 2.0
	assert_equal "$(value "http://127.0.0.1:$APORT/metrics" fs_checkpoints_total "$A")" 2.0
	age=$(value "http://127.0.0.1:$APORT/metrics" fs_checkpoint_age_seconds "$A")
	dur=$(value "http://127.0.0.1:$APORT/metrics" fs_checkpoint_duration_seconds "$A")
	awk -v a="$age" -v d="$dur" 'BEGIN { exit !(a >= 0 && a < 30 && d >= 0 && d < 5) }' ||
		fail "age $age, duration $dur"
	exec 5>&-
	wait "$PIPE" || true
}

@test "metrics: --stage names the stage label" {
	local port
	port=$(free_port)
	mkfifo in
	fs-window --tumble 1m --metrics-port "$port" --checkpoint-dir ck \
		--stage 'w.1' in > /dev/null 2>err 3>&- &
	exec 5>in
	echo '{"@fs":"restore","id":0}' >&5
	wait_metric "http://127.0.0.1:$port/metrics" fs_up stage=w.1,tool=fs-window 1
	exec 5>&-
	wait
}

@test "metrics: a port already in use is an error at the start, exit 1" {
	local port
	port=$(free_port)
	mkfifo in
	fs-window --tumble 1m --metrics-port "$port" in > /dev/null 3>&- &
	exec 5>in
	wait_metric "http://127.0.0.1:$port/metrics" fs_up "$W" 1
	run --separate-stderr fs-agg --key user --agg n=count --metrics-port "$port" < /dev/null
	assert_equal "$status" 1
	[[ "$stderr" == "fs-agg: --metrics-port: cannot serve on '$port': "* ]] ||
		fail "stderr: $stderr"
	exec 5>&-
	wait
}

@test "metrics: a bad --metrics-port or --metrics-interval is a usage error, exit 2" {
	run --separate-stderr fs-gen --metrics-port 1.2.3:80
	assert_equal "$status" 2
	assert_equal "$(head -n 1 <<<"$stderr")" "fs-gen: --metrics-port: not an IP address: '1.2.3'"
	run --separate-stderr fs-window --tumble 1m --metrics-port 99999 < /dev/null
	assert_equal "$status" 2
	[[ "$stderr" == *"a port from 0 to 65535: '99999'"* ]] || fail "stderr: $stderr"
	run --separate-stderr fs-window --tumble 1m --metrics-file m.prom --metrics-interval 0s < /dev/null
	assert_equal "$status" 2
}

@test "metrics: a textfile that cannot be written is an error at the start, exit 1" {
	run --separate-stderr fs-gen --count 1 --metrics-file nodir/m.prom
	assert_equal "$status" 1
	assert_output ""
	[[ "$stderr" == "fs-gen: --metrics-file: cannot write 'nodir/m.prom.tmp."* ]] ||
		fail "stderr: $stderr"
}

@test "metrics: SIGTERM still stops a stage that serves metrics" {
	local port pid
	port=$(free_port)
	mkfifo in
	fs-window --tumble 1m --metrics-port "$port" in > /dev/null 2>err 3>&- &
	pid=$!
	exec 5>in
	wait_metric "http://127.0.0.1:$port/metrics" fs_up "$W" 1
	kill -TERM "$pid"
	run -0 timeout 10 tail --pid="$pid" -f /dev/null
	exec 5>&-
}

@test "metrics: fs-consume's lag per partition, while its reader lags and once it caught up" {
	require_kafka
	local t port lag0 lag1 lag
	t=$(uniq_name metrics)
	kafka_create_topic "$t" 2
	fs-gen --count 20000 | fs-produce -b "$FS_KAFKA_BROKERS" -t "$t" -k user
	port=$(free_port)
	mkfifo pipe
	fs-consume -b "$FS_KAFKA_BROKERS" -t "$t" -o beginning \
		--metrics-port "$port" > pipe 2>err 3>&- &
	# Nobody reads the pipe yet: the consumer stops at a full pipe, its
	# lag known for what it fetched (a partition not fetched from yet
	# has no end to measure against: no series, not a zero).
	exec 5<pipe
	for i in $(seq 100); do
		lag=$(total "http://127.0.0.1:$port/metrics" fs_consumer_lag)
		[ -n "$lag" ] && [ "${lag%.*}" -gt 0 ] && break
		sleep 0.1
	done
	[ -n "$lag" ] && [ "${lag%.*}" -gt 0 ] && [ "${lag%.*}" -le 20000 ] ||
		fail "lag '$lag' of 20000 messages while the reader waits"
	# Read everything: no lag left on either partition.
	head -n 20000 <&5 > got.ndjson
	for i in $(seq 100); do
		lag0=$(value "http://127.0.0.1:$port/metrics" fs_consumer_lag \
			"partition=0,stage=fs-consume,tool=fs-consume,topic=$t")
		lag1=$(value "http://127.0.0.1:$port/metrics" fs_consumer_lag \
			"partition=1,stage=fs-consume,tool=fs-consume,topic=$t")
		[ "$lag0 $lag1" = "0.0 0.0" ] && break
		sleep 0.1
	done
	assert_equal "$lag0 $lag1" "0.0 0.0"
	assert_equal "$(wc -l < got.ndjson)" 20000
	assert_equal "$(total "http://127.0.0.1:$port/metrics" fs_records_out_total)" 20000
	kill -TERM %1
	exec 5<&-
	wait || true
}

@test "metrics: fs-sink-aerospike's writes, retries and latency quantiles, live" {
	local port AS i
	FIXTURE_STATE="$T/fixture"
	run --separate-stderr env FS_ASFIXTURE_STATE="$FIXTURE_STATE" \
		"$FS_ROOT/scripts/aerospike-fixture-start"
	assert_success
	AS="${output#FS_AEROSPIKE=}"
	"$FS_ROOT/build/fixtures/asfixture" --ctl "$AS" 'fixture-set:fail-code=14;fail-count=3' >/dev/null
	port=$(free_port)
	mkfifo in
	fs-sink-aerospike --hosts "$AS" -n test -s m --key id \
		--metrics-port "$port" in 2>err 3>&- &
	exec 5>in
	for i in $(seq 100); do echo "{\"id\":\"k$i\",\"v\":$i}"; done >&5
	local S=stage=fs-sink-aerospike,tool=fs-sink-aerospike
	wait_metric "http://127.0.0.1:$port/metrics" fs_sink_writes_total "$S" 100
	assert_equal "$(value "http://127.0.0.1:$port/metrics" fs_sink_retries_total "$S")" 3.0
	assert_equal "$(value "http://127.0.0.1:$port/metrics" fs_records_in_total "$S")" 100.0
	assert_equal "$(value "http://127.0.0.1:$port/metrics" fs_sink_write_latency_seconds_count "$S")" 100.0
	# The parser reads a summary: its quantiles, sum and count.
	"${SCRAPE[@]}" "http://127.0.0.1:$port/metrics" |
		awk '$1 == "fs_sink_write_latency_seconds" && $2 == "summary"' > q
	assert_equal "$(awk '{ print $3 }' q)" "quantile=0.5,$S
quantile=0.9,$S
quantile=0.99,$S
quantile=0.999,$S"
	awk '{ if (!($4 > 0 && $4 < 10)) exit 1 }' q || fail "latencies: $(cat q)"
	exec 5>&-
	wait
	assert_equal "$(cat err)" ""
}

@test "metrics: fs-run serves its stages' metrics on one endpoint, each family once" {
	local port got
	port=$(free_port)
	mkfifo in
	fs-gen --count 3000 > events.ndjson
	fs-run --metrics-port "$port" \
		"fs-window --tumble 1m in | fs-agg --key user --agg n=count > out.ndjson" \
		2>run.err 3>&- &
	exec 5>in
	head -n 2000 events.ndjson >&5
	wait_metric "http://127.0.0.1:$port/metrics" fs_records_in_total "$W" 2000
	wait_metric "http://127.0.0.1:$port/metrics" fs_records_in_total "$A" 2000
	# metrics-scrape fails on a family given twice.
	got=$("${SCRAPE[@]}" "http://127.0.0.1:$port/metrics" | awk '$1 == "fs_up" { print $3 }' | sort)
	assert_equal "$got" "stage=fs-agg,tool=fs-agg
stage=fs-run,tool=fs-run
stage=fs-window,tool=fs-window"
	tail -n +2001 events.ndjson >&5
	wait_metric "http://127.0.0.1:$port/metrics" fs_records_in_total "$W" 3000
	exec 5>&-
	wait
	assert_equal "$(cat run.err)" "fs-run: start 1"
}
