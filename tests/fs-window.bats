#!/usr/bin/env bats
# fs-window: window assignment, watermarks, late records, sessions,
# checkpoints.  Times are small epoch-ms numbers so outputs stay readable.

load test_helper

TUMBLE_SPEC='{"@fs":"window","kind":"tumble","size":60000,"slide":60000,"offset":0,"pane":60000,"start_field":"window_start","end_field":"window_end","allowed_lateness":0}'

# The end of the warning when more than 1% of the records were late.
HINT='raise --max-out-of-orderness or --allowed-lateness, or replay in event-time order with fs-backfill --sort'


# Waits (about 20 s at most) for checkpoint 1 of a stage under DIR/STAGE.
wait_for_ckpt() {
	local i
	for ((i = 0; i < 400; i++)); do
		compgen -G "$1/*1.ckpt" > /dev/null && return 0
		sleep 0.05
	done
	return 1
}

@test "fs-window: the window spec record comes first, then annotated records" {
	printf '{"ts":5000,"u":"a"}\n{"ts":61000,"u":"b"}\n' > in.ndjson
	run --separate-stderr fs-window --tumble 1m in.ndjson
	assert_success
	assert_output "$TUMBLE_SPEC
{\"ts\":5000,\"u\":\"a\",\"window_start\":0,\"window_end\":60000}
{\"@fs\":\"watermark\",\"ts\":5000}
{\"ts\":61000,\"u\":\"b\",\"window_start\":60000,\"window_end\":120000}
{\"@fs\":\"watermark\",\"ts\":61000}"
	assert_equal "$stderr" ""
}

@test "fs-window: an empty input gives only the spec record" {
	run --separate-stderr fs-window --tumble 1m /dev/null
	assert_success
	assert_output "$TUMBLE_SPEC"
}

@test "fs-window: hop annotates each record once, with its pane" {
	printf '{"ts":65000}\n' > in.ndjson
	run --separate-stderr fs-window --hop 10m --slide 4m in.ndjson
	assert_success
	assert_line --index 0 '{"@fs":"window","kind":"hop","size":600000,"slide":240000,"offset":0,"pane":120000,"start_field":"window_start","end_field":"window_end","pane_field":"window_pane","allowed_lateness":0}'
	assert_line --index 1 '{"ts":65000,"window_pane":0}'
}

@test "fs-window: hop --explode writes one record per window, ends in order" {
	printf '{"ts":65000}\n' > in.ndjson
	run --separate-stderr fs-window --hop 3m --slide 1m --explode in.ndjson
	assert_success
	assert_line --index 1 '{"ts":65000,"window_start":-60000,"window_end":120000}'
	assert_line --index 2 '{"ts":65000,"window_start":0,"window_end":180000}'
	assert_line --index 3 '{"ts":65000,"window_start":60000,"window_end":240000}'
}

@test "fs-window: RFC 3339 times and a nested time field" {
	printf '{"e":{"at":"1970-01-01T00:01:30Z"}}\n' > in.ndjson
	run --separate-stderr fs-window --tumble 1m --time-field e.at in.ndjson
	assert_success
	assert_line --index 1 '{"e":{"at":"1970-01-01T00:01:30Z"},"window_start":60000,"window_end":120000}'
}

@test "fs-window: member names can be changed" {
	printf '{"ts":1}\n' > in.ndjson
	run --separate-stderr fs-window --tumble 1m --start-field ws --end-field we in.ndjson
	assert_success
	assert_line --index 1 '{"ts":1,"ws":0,"we":60000}'
}

@test "fs-window: derived watermarks are written when they cross a pane" {
	printf '{"ts":1000}\n{"ts":2000}\n{"ts":59000}\n{"ts":60000}\n{"ts":61000}\n' > in.ndjson
	run --separate-stderr bash -c "fs-window --tumble 1m in.ndjson | grep '\"@fs\":\"watermark\"'"
	assert_success
	assert_output '{"@fs":"watermark","ts":1000}
{"@fs":"watermark","ts":60000}'
}

@test "fs-window: input watermarks are used and forwarded, not derived ones" {
	# The input's watermark 500 is behind the derived 1000: not forwarded;
	# from then on only the input's watermarks count, so 90000 derives
	# nothing and 2000 is on time until the input says 70000.
	printf '{"ts":1000}\n{"@fs":"watermark","ts":500}\n{"ts":90000}\n{"ts":2000}\n{"@fs":"watermark","ts":70000}\n{"ts":3000}\n' > in.ndjson
	run --separate-stderr fs-window --tumble 1m in.ndjson
	assert_success
	assert_output "$TUMBLE_SPEC
{\"ts\":1000,\"window_start\":0,\"window_end\":60000}
{\"@fs\":\"watermark\",\"ts\":1000}
{\"ts\":90000,\"window_start\":60000,\"window_end\":120000}
{\"ts\":2000,\"window_start\":0,\"window_end\":60000}
{\"@fs\":\"watermark\",\"ts\":70000}"
	assert_equal "$stderr" "fs-window: 1 late record dropped
fs-window: warning: 1 of 4 records (25.0%) were late and dropped: $HINT"
}

@test "fs-window: a late record is dead-lettered with --late dead-letter" {
	printf '{"ts":120000}\n{"ts":5000,"id":7}\n{"ts":121000}\n' > in.ndjson
	run --separate-stderr fs-window --tumble 1m --late dead-letter --late-file late.ndjson in.ndjson
	assert_success
	refute_output --partial '"id":7'
	assert_equal "$(cat late.ndjson)" '{"ts":5000,"id":7}'
	assert_equal "$stderr" "fs-window: 1 late record dead-lettered
fs-window: warning: 1 of 3 records (33.3%) were late and dead-lettered: $HINT"
}

@test "fs-window: a late record is passed on marked with --late pass" {
	printf '{"ts":120000}\n{"ts":5000}\n' > in.ndjson
	run --separate-stderr fs-window --tumble 1m --late pass --late-field too_late in.ndjson
	assert_success
	assert_line --index 3 '{"ts":5000,"too_late":true}'
	assert_equal "$stderr" "fs-window: 1 late record passed on marked late
fs-window: warning: 1 of 2 records (50.0%) were late and passed on marked: $HINT"
}

@test "fs-window: out of order within the allowed lateness is not late" {
	printf '{"ts":120000}\n{"ts":5000}\n' > in.ndjson
	run --separate-stderr fs-window --tumble 1m --allowed-lateness 61s in.ndjson
	assert_success
	assert_line --index 0 --partial '"allowed_lateness":61000'
	assert_line --index 3 '{"ts":5000,"window_start":0,"window_end":60000}'
	assert_equal "$stderr" ""
}

@test "fs-window: a record is late only when its last hopping window closed" {
	# Window ends for ts 5000 with hop 3m/1m: 60000, 120000, 180000.
	printf '{"ts":170000}\n{"ts":5000}\n{"ts":190000}\n{"ts":6000}\n' > in.ndjson
	run --separate-stderr bash -c "fs-window --hop 3m --slide 1m in.ndjson | grep -v '^{\"@fs\"'"
	assert_success
	assert_output '{"ts":170000,"window_pane":120000}
{"ts":5000,"window_pane":0}
{"ts":190000,"window_pane":180000}'
	assert_equal "$stderr" "fs-window: 1 late record dropped
fs-window: warning: 1 of 4 records (25.0%) were late and dropped: $HINT"
}

# 11500 records: 1000 on time, 500 late (ts 5, in the window the
# watermark 1000000 closed long ago), then 10000 on time.  Late: 4.3%;
# over 1% from the 11th late record (11 of 1011), 10% at the 112th.
late_mix() {
	awk 'BEGIN {
		for (i = 1; i <= 1000; i++) printf "{\"ts\":%d,\"n\":%d}\n", i * 1000, i
		for (i = 1; i <= 500; i++) printf "{\"ts\":5,\"late_id\":%d}\n", i
		for (i = 1; i <= 10000; i++) printf "{\"ts\":%d,\"n\":%d}\n", 1000000 + i * 1000, 1000 + i
	}'
}

@test "fs-window: more than 1% of the records late gives a warning with the fraction, while running and at exit" {
	late_mix > in.ndjson
	run --separate-stderr fs-window --tumble 1m in.ndjson
	assert_success
	assert_equal "$(grep -c '"n":' <<< "$output")" 11000
	assert_equal "$stderr" "fs-window: warning: 11 of 1011 records so far (1.1%) were late and dropped: $HINT
fs-window: 500 late records dropped
fs-window: warning: 500 of 11500 records (4.3%) were late and dropped: $HINT"
}

@test "fs-window: the warning comes while the input is still open, for a live pipeline's user" {
	late_mix > in.ndjson
	mkfifo fifo
	fs-window --tumble 1m fifo > out.ndjson 2> err &
	local pid=$! i
	exec 7> fifo
	cat in.ndjson >&7
	for ((i = 0; i < 200; i++)); do
		grep -q 'so far' err && break
		sleep 0.05
	done
	assert_equal "$(cat err)" "fs-window: warning: 11 of 1011 records so far (1.1%) were late and dropped: $HINT"
	exec 7>&-
	wait "$pid"
	assert_equal "$(wc -l < err)" 3
}

@test "fs-window: 1% of the records late or less gives the count alone" {
	awk 'BEGIN { for (i = 1; i <= 99; i++) printf "{\"ts\":%d}\n", i * 1000; print "{\"ts\":5}" }' > in.ndjson
	run --separate-stderr fs-window --tumble 1m in.ndjson
	assert_success
	assert_equal "$stderr" "fs-window: 1 late record dropped"
}

@test "fs-window: the late count and fraction are the same with --late dead-letter and --late pass" {
	late_mix > in.ndjson
	run --separate-stderr fs-window --tumble 1m --late dead-letter --late-file late.ndjson in.ndjson
	assert_success
	assert_equal "$(wc -l < late.ndjson) $(grep -c late_id late.ndjson)" "500 500"
	refute_output --partial late_id
	assert_equal "$stderr" "fs-window: warning: 11 of 1011 records so far (1.1%) were late and dead-lettered: $HINT
fs-window: 500 late records dead-lettered
fs-window: warning: 500 of 11500 records (4.3%) were late and dead-lettered: $HINT"
	run --separate-stderr fs-window --tumble 1m --late pass in.ndjson
	assert_success
	assert_equal "$(grep -c '"late_id":[0-9]*,"late":true}$' <<< "$output")" 500
	assert_equal "$stderr" "fs-window: warning: 11 of 1011 records so far (1.1%) were late and passed on marked: $HINT
fs-window: 500 late records passed on marked late
fs-window: warning: 500 of 11500 records (4.3%) were late and passed on marked: $HINT"
}

@test "fs-window: --max-late-ratio at or above the late fraction passes" {
	printf '{"ts":120000}\n{"ts":5000}\n{"ts":121000}\n{"ts":180000}\n' > in.ndjson
	run --separate-stderr fs-window --tumble 1m --max-late-ratio 0.25 in.ndjson
	assert_success
	assert_equal "$stderr" "fs-window: 1 late record dropped
fs-window: warning: 1 of 4 records (25.0%) were late and dropped: $HINT"
	late_mix > in.ndjson
	run --separate-stderr fs-window --tumble 1m --max-late-ratio 0.5 in.ndjson
	assert_success
	assert_equal "$(grep -c '"n":' <<< "$output")" 11000
}

@test "fs-window: --max-late-ratio below the late fraction fails at exit, after writing every result" {
	printf '{"ts":120000}\n{"ts":5000}\n{"ts":121000}\n{"ts":180000}\n' > in.ndjson
	run --separate-stderr fs-window --tumble 1m --max-late-ratio 0.2 in.ndjson
	assert_equal "$status" 1
	assert_output "$TUMBLE_SPEC
{\"ts\":120000,\"window_start\":120000,\"window_end\":180000}
{\"@fs\":\"watermark\",\"ts\":120000}
{\"ts\":121000,\"window_start\":120000,\"window_end\":180000}
{\"ts\":180000,\"window_start\":180000,\"window_end\":240000}
{\"@fs\":\"watermark\",\"ts\":180000}"
	assert_equal "$stderr" "fs-window: 1 late record dropped
fs-window: 1 of 4 records (25.0%) were late and dropped, more than --max-late-ratio 0.2 allows: $HINT"
}

@test "fs-window: --max-late-ratio fails while running once 1000 records came, after writing the output so far" {
	# The 112th late record makes 112 of 1112 (10.1%): the stage stops
	# there, although the 10000 records after would bring it to 4.3%.
	late_mix > in.ndjson
	run --separate-stderr fs-window --tumble 1m --max-late-ratio 0.1 in.ndjson
	assert_equal "$status" 1
	assert_equal "$(grep -v '^{"@fs"' <<< "$output" | tail -n 1)" '{"ts":1000000,"n":1000,"window_start":960000,"window_end":1020000}'
	assert_equal "$(grep -c '"n":' <<< "$output")" 1000
	assert_equal "$stderr" "fs-window: warning: 11 of 1011 records so far (1.1%) were late and dropped: $HINT
fs-window: 112 late records dropped
fs-window: 112 of 1112 records so far (10.1%) were late and dropped, more than --max-late-ratio 0.1 allows: $HINT"
}

@test "fs-window: -q hides the late count and warning but not the --max-late-ratio error" {
	late_mix > in.ndjson
	run --separate-stderr fs-window --tumble 1m -q in.ndjson
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr fs-window --tumble 1m -q --max-late-ratio 0.01 in.ndjson
	assert_equal "$status" 1
	assert_equal "$stderr" "fs-window: 11 of 1011 records so far (1.1%) were late and dropped, more than --max-late-ratio 0.01 allows: $HINT"
}

@test "fs-window: --max-late-ratio outside 0 to 1 is a usage error" {
	run --separate-stderr fs-window --tumble 1m --max-late-ratio 1.5 /dev/null
	assert_equal "$status" 2
	assert_output ""
	assert_equal "$stderr" "fs-window: --max-late-ratio: expected a number from 0 to 1: '1.5'
Try 'fs-window --help' for more information."
}

@test "fs-window: sessions per key are held until the watermark closes them" {
	# They go out in order of end: b's [1000,6000) before a's [0,8000).
	printf '%s\n' '{"ts":0,"k":"a"}' '{"ts":1000,"k":"b"}' '{"ts":3000,"k":"a"}' \
		'{"ts":20000,"k":"b"}' > in.ndjson
	run --separate-stderr fs-window --session 5s --key k in.ndjson
	assert_success
	assert_output '{"@fs":"window","kind":"session","gap":5000,"start_field":"window_start","end_field":"window_end","allowed_lateness":0}
{"@fs":"watermark","ts":0}
{"ts":1000,"k":"b","window_start":1000,"window_end":6000}
{"ts":0,"k":"a","window_start":0,"window_end":8000}
{"ts":3000,"k":"a","window_start":0,"window_end":8000}
{"@fs":"watermark","ts":20000}
{"ts":20000,"k":"b","window_start":20000,"window_end":25000}'
}

@test "fs-window: a late event that bridges two sessions merges them" {
	# Sessions [0,5000) and [9000,14000); the event at 4500 opens
	# [4500,9500), which touches both: one session [0,14000).
	printf '%s\n' '{"ts":0}' '{"ts":9000}' '{"ts":4500}' > in.ndjson
	run --separate-stderr bash -c "fs-window --session 5s --max-out-of-orderness 10s in.ndjson | grep -v '^{\"@fs\"'"
	assert_success
	assert_output '{"ts":0,"window_start":0,"window_end":14000}
{"ts":9000,"window_start":0,"window_end":14000}
{"ts":4500,"window_start":0,"window_end":14000}'
}

@test "fs-window: sessions that only touch merge, as in Flink" {
	printf '%s\n' '{"ts":0}' '{"ts":5000}' > in.ndjson
	run --separate-stderr bash -c "fs-window --session 5s in.ndjson | grep -v '^{\"@fs\"'"
	assert_success
	assert_output '{"ts":0,"window_start":0,"window_end":10000}
{"ts":5000,"window_start":0,"window_end":10000}'
}

@test "fs-window: unknown control records are forwarded unchanged" {
	printf '%s\n' '{"@fs":"hello","x":[1]}' '{"ts":1}' > in.ndjson
	run --separate-stderr fs-window --tumble 1m in.ndjson
	assert_success
	assert_line --index 1 '{"@fs":"hello","x":[1]}'
}

@test "fs-window: invalid JSON fails with file and line, output flushed" {
	printf '{"ts":1}\nnot json\n{"ts":2}\n' > in.ndjson
	run --separate-stderr fs-window --tumble 1m in.ndjson
	assert_failure 1
	assert_line --index 1 '{"ts":1,"window_start":0,"window_end":60000}'
	assert_equal "$stderr" "fs-window: in.ndjson:2: invalid JSON: column 3: invalid token near 'not'"
}

@test "fs-window: a missing time field is skipped with --on-error skip, and counted" {
	printf '{"ts":1}\n{"x":1}\n{"ts":2}\n' > in.ndjson
	run --separate-stderr fs-window --tumble 1m --on-error skip in.ndjson
	assert_success
	assert_line --index 3 '{"ts":2,"window_start":0,"window_end":60000}'
	assert_line --index 0 --partial '"kind":"tumble"'
	[[ "$stderr" == *"in.ndjson:2: missing time field 'ts'"* ]]
	[[ "$stderr" == *"1 record"*"rejected"* ]]
}

@test "fs-window: usage errors exit 2" {
	run --separate-stderr fs-window
	assert_failure 2
	[[ "$stderr" == *"give exactly one of"* ]]
	run --separate-stderr fs-window --hop 1m
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-window: --hop needs --slide"
	run --separate-stderr fs-window --cumulate 10m --step 3m
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-window: cumulate max size must be a multiple of the step"
	run --separate-stderr fs-window --hop 1m --slide 2m
	assert_failure 2
	run --separate-stderr fs-window --tumble 1m --late dead-letter
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-window: --late dead-letter needs --late-file FILE"
	run --separate-stderr fs-window --tumble 0s
	assert_failure 2
}

@test "fs-window: a checkpoint barrier saves held sessions; restore brings them back" {
	printf '%s\n' '{"ts":0,"k":"a"}' '{"@fs":"barrier","id":1}' > part1.ndjson
	# The input stops after the barrier, without its end, as when the
	# stage before was killed: the session is held, not fired.
	run --separate-stderr fs-window --session 5s --key k --checkpoint-dir ck part1.ndjson
	assert_failure 1
	assert_equal "$stderr" "fs-window: input ended without the end of the stream after checkpoint 1: a stage upstream stopped or died; nothing fired (a restart resumes from the checkpoint)"
	refute_output --partial '"k":"a"'
	compgen -G 'ck/fs-window/*1.ckpt' > /dev/null
	# A second run resumes from checkpoint 1 and sees the rest.
	printf '%s\n' '{"@fs":"restore","id":1}' '{"ts":2000,"k":"a"}' '{"@fs":"end","id":2}' > part2.ndjson
	run --separate-stderr bash -c "fs-window --session 5s --key k --checkpoint-dir ck part2.ndjson | grep -v '^{\"@fs\":\"window\"'"
	assert_success
	assert_output '{"@fs":"restore","id":1}
{"ts":0,"k":"a","window_start":0,"window_end":7000}
{"ts":2000,"k":"a","window_start":0,"window_end":7000}
{"@fs":"end","id":2}'
}

@test "fs-window: the man page examples run" {
	run --separate-stderr bash -c "fs-gen --count 2000 | fs-window --tumble 1m | fs-agg --key user --agg clicks=count | grep -c window_start"
	assert_success
	run --separate-stderr bash -c "fs-gen --count 20000 --disorder 10s | fs-window --hop 1h --slide 5m --max-out-of-orderness 10s --late dead-letter --late-file late.ndjson | fs-agg --agg revenue=sum:amount:if:event=purchase | grep -c revenue"
	assert_success
	run --separate-stderr bash -c "fs-gen --count 2000 --rate 1 | fs-window --session 5m --key user | fs-agg --key user --agg events=count --agg spent=sum0:amount | grep -c spent"
	assert_success
}

@test "fs-window: with an idle timeout the watermark moves on while input is silent" {
	mkfifo fifo
	fs-window --tumble 1m --idle-timeout 100ms --watermark-every 100ms < fifo > out &
	local pid=$!
	exec 7> fifo
	echo '{"ts":1000}' >&7
	local i found=
	for ((i = 0; i < 200; i++)); do
		if grep -qE '"watermark","ts":([2-9][0-9]{3}|[0-9]{5,})' out; then
			found=1
			break
		fi
		sleep 0.05
	done
	exec 7>&-
	wait "$pid"
	[ -n "$found" ] || fail "the watermark did not move past 1000: $(cat out)"
}

@test "fs-window: sessions restart from a checkpoint with the uninterrupted output" {
	fs-gen --count 3000 --users 20 --rate 2 --disorder 5s > in.ndjson
	local opts=(--session 30s --key user --max-out-of-orderness 5s)
	fs-window "${opts[@]}" in.ndjson | grep -v '^{"@fs"' > whole
	mkfifo fifo
	fs-window "${opts[@]}" --checkpoint-dir ck < fifo > out1 &
	local pid=$!
	exec 7> fifo
	head -n 1500 in.ndjson >&7
	echo '{"@fs":"barrier","id":1}' >&7
	wait_for_ckpt ck/fs-window || fail "no checkpoint 1"
	kill -TERM "$pid"
	wait "$pid"
	exec 7>&-
	{ echo '{"@fs":"restore","id":1}'; tail -n +1501 in.ndjson; echo '{"@fs":"end","id":2}'; } |
		fs-window "${opts[@]}" --checkpoint-dir ck > out2
	cat out1 out2 | grep -v '^{"@fs"' > resumed
	[ -s whole ]
	run diff whole resumed
	assert_success
}

@test "fs-window: an event time beyond 2^53 ms is bad input, not an overflow" {
	printf '%s\n' '{"ts":9223372036854775807}' '{"ts":1}' > in.ndjson
	run --separate-stderr fs-window --tumble 1m --on-error skip in.ndjson
	assert_success
	assert_line --index 1 '{"ts":1,"window_start":0,"window_end":60000}'
	[[ "$stderr" == "fs-window: in.ndjson:1: event time out of range"* ]] || fail "stderr: $stderr"
}

@test "fs-window: the short forms tumble, hop, cumulate, session equal the long options" {
	fs-gen --count 500 --users 7 --disorder 2s > ev.ndjson
	fs-window --tumble 1m < ev.ndjson > long.ndjson
	fs-window tumble 1m < ev.ndjson > short.ndjson
	cmp long.ndjson short.ndjson
	fs-window --hop 5m --slide 1m --explode ev.ndjson > long.ndjson
	fs-window hop 1m 5m --explode ev.ndjson > short.ndjson
	cmp long.ndjson short.ndjson
	fs-window --cumulate 1m --step 10s < ev.ndjson > long.ndjson
	fs-window cumulate 10s 1m < ev.ndjson > short.ndjson
	cmp long.ndjson short.ndjson
	fs-window --session 30s --key user < ev.ndjson > long.ndjson
	fs-window session 30s --key user < ev.ndjson > short.ndjson
	cmp long.ndjson short.ndjson
	[ "$(grep -c window_start long.ndjson)" -gt 0 ]
}

@test "fs-window: a short form without its durations is a usage error" {
	run --separate-stderr fs-window hop 5m < /dev/null
	assert_equal "$status" 2
	assert_equal "$stderr" "fs-window: hop takes SLIDE SIZE
Try 'fs-window --help' for more information."
}

@test "fs-window: hop takes SLIDE SIZE as Flink's HOP does; the old order says which is expected" {
	printf '%s\n' '{"ts":90000}' > in.ndjson
	run --separate-stderr fs-window hop 1m 5m in.ndjson
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	assert_equal "$output" '{"@fs":"window","kind":"hop","size":300000,"slide":60000,"offset":0,"pane":60000,"start_field":"window_start","end_field":"window_end","pane_field":"window_pane","allowed_lateness":0}
{"ts":90000,"window_pane":60000}
{"@fs":"watermark","ts":90000}'
	run --separate-stderr fs-window hop 1h 5m in.ndjson
	assert_equal "$status" 2
	assert_equal "$output" ""
	assert_equal "$stderr" "fs-window: hop SLIDE SIZE (as Flink's HOP): the slide 1h is larger than the size 5m; did you mean hop 5m 1h?
Try 'fs-window --help' for more information."
	# The long options name each duration: unchanged.
	run --separate-stderr fs-window --hop 5m --slide 1m in.ndjson
	assert_equal "$status" 0
	assert_equal "$output" '{"@fs":"window","kind":"hop","size":300000,"slide":60000,"offset":0,"pane":60000,"start_field":"window_start","end_field":"window_end","pane_field":"window_pane","allowed_lateness":0}
{"ts":90000,"window_pane":60000}
{"@fs":"watermark","ts":90000}'
}

@test "fs-window: a --key field no record has is said at exit; --strict makes it an error" {
	printf '%s\n' '{"ts":1,"usr":"a"}' '{"ts":2,"usr":"b"}' > in.ndjson
	run --separate-stderr fs-window --session 5s --key user --on-error skip in.ndjson
	assert_success
	assert_equal "$stderr" "fs-window: in.ndjson:1: bad key field 'user'
fs-window: in.ndjson:2: bad key field 'user'
fs-window: field 'user' (in --key user) was absent in all 2 records
fs-window: 2 records rejected"
	run --separate-stderr fs-window --session 5s --key user --on-error skip --strict in.ndjson
	assert_failure 1
	printf '%s\n' '{"ts":1,"user":"a"}' '{"ts":2,"usr":"b"}' > some.ndjson
	run --separate-stderr fs-window --session 5s --key user --on-error skip --strict some.ndjson
	assert_success
	refute_line --partial 'was absent'
}

@test "fs-window: after the end of the stream, a later run's record for a window the end fired is late, not a second partial result" {
	printf '%s\n' '{"@fs":"restore","id":0}' '{"ts":1000}' '{"ts":61000}' '{"@fs":"barrier","id":1}' \
	    '{"@fs":"end","id":2}' > run1.ndjson
	run --separate-stderr fs-window --tumble 1m --checkpoint-dir ck run1.ndjson
	assert_success
	# the topic grew: one record for the window [60000, 120000) the end
	# fired, one for the next
	printf '%s\n' '{"@fs":"restore","id":2}' '{"ts":62000}' '{"ts":121000}' '{"@fs":"end","id":3}' > run2.ndjson
	run --separate-stderr fs-window --tumble 1m --checkpoint-dir ck run2.ndjson
	assert_success
	refute_output --partial '"ts":62000'
	assert_output --partial '{"ts":121000,"window_start":120000,"window_end":180000}'
	[[ "$stderr" == "fs-window: 1 late record dropped"* ]] || fail "stderr: $stderr"
}
