#!/usr/bin/env bats
# What a person reading a tool's output sees (issue 10, items 2 and 7):
# no control records on a terminal or after --data-only, control records
# unchanged between stages, and -v's progress line at most once a second.
# script(1) gives a tool a terminal.

load test_helper

input() {
	printf '%s\n' '{"user":"a","ts":1000}' '{"user":"b","ts":2000}' \
	    '{"user":"a","ts":70000}' > in
}

# The records of a run under script(1), without the terminal's '\r'.
on_terminal() {
	run script -qec "$1" /dev/null
	output=${output//$'\r'/}
}

@test "usability: a stage writing to a terminal writes no control records" {
	input
	on_terminal "fs-window --tumble 1m < in"
	assert_success
	assert_output '{"user":"a","ts":1000,"window_start":0,"window_end":60000}
{"user":"b","ts":2000,"window_start":0,"window_end":60000}
{"user":"a","ts":70000,"window_start":60000,"window_end":120000}'
	on_terminal "fs-window --tumble 1m < in | fs-agg --key user --agg n=count"
	assert_success
	assert_output '{"window_start":0,"window_end":60000,"user":"a","n":1}
{"window_start":0,"window_end":60000,"user":"b","n":1}
{"window_start":60000,"window_end":120000,"user":"a","n":1}'
}

@test "usability: a source writing to a terminal writes no watermarks, even when asked" {
	input
	on_terminal "fs-backfill --watermarks in"
	assert_success
	assert_output "$(cat in)"
}

@test "usability: control records the input carries are not shown on a terminal" {
	printf '%s\n' '{"@fs":"restore","id":0}' '{"user":"a","ts":1000}' \
	    '{"@fs":"barrier","id":1}' '{"@fs":"some-future-kind"}' \
	    '{"@fs":"end","id":2}' > in
	on_terminal "fs-agg --key user --agg n=count < in"
	assert_success
	assert_output '{"user":"a","n":1}'
}

@test "usability: a terminal on stdin or stderr does not matter: a file gets every control record" {
	input
	fs-window --tumble 1m < in > want
	grep -q '"@fs":"watermark"' want
	run script -qec "fs-window --tumble 1m < in > got" /dev/null
	assert_success
	cmp got want
}

@test "usability: between stages control records pass as before" {
	input
	run --separate-stderr bash -c "fs-window --tumble 1m < in | cat"
	assert_success
	assert_output '{"@fs":"window","kind":"tumble","size":60000,"slide":60000,"offset":0,"pane":60000,"start_field":"window_start","end_field":"window_end","allowed_lateness":0}
{"user":"a","ts":1000,"window_start":0,"window_end":60000}
{"@fs":"watermark","ts":1000}
{"user":"b","ts":2000,"window_start":0,"window_end":60000}
{"user":"a","ts":70000,"window_start":60000,"window_end":120000}
{"@fs":"watermark","ts":70000}'
}

@test "usability: --data-only drops control records in a pipe, written or forwarded" {
	input
	run --separate-stderr bash -c "fs-window --tumble 1m --data-only < in | cat"
	assert_success
	assert_output '{"user":"a","ts":1000,"window_start":0,"window_end":60000}
{"user":"b","ts":2000,"window_start":0,"window_end":60000}
{"user":"a","ts":70000,"window_start":60000,"window_end":120000}'
	printf '%s\n' '{"@fs":"restore","id":0}' '{"user":"a","ts":1000}' \
	    '{"@fs":"barrier","id":1}' '{"@fs":"some-future-kind"}' \
	    '{"@fs":"end","id":2}' > in2
	run --separate-stderr bash -c "fs-agg --key user --agg n=count --data-only < in2 | cat"
	assert_success
	assert_output '{"user":"a","n":1}'
	run --separate-stderr bash -c "fs-backfill --watermarks --data-only in | cat"
	assert_success
	assert_output "$(cat in)"
}

@test "usability: --data-only keeps data that only mentions @fs" {
	printf '%s\n' '{"user":"@fs","ts":1}' '{"user":"a","ts":2,"m":{"@fs":"watermark"}}' > in
	run --separate-stderr bash -c "fs-window --tumble 1m --data-only < in"
	assert_success
	assert_output '{"user":"@fs","ts":1,"window_start":0,"window_end":60000}
{"user":"a","ts":2,"m":{"@fs":"watermark"},"window_start":0,"window_end":60000}'
}

@test "usability: the README's endings: jq, and mlr to CSV" {
	input
	run --separate-stderr bash -c "fs-window --tumble 1m < in |
	    fs-agg --key user --agg n=count --data-only | jq -c '{user, n}'"
	assert_success
	assert_output '{"user":"a","n":1}
{"user":"b","n":1}
{"user":"a","n":1}'
	run --separate-stderr bash -c "fs-window --tumble 1m < in |
	    fs-agg --key user --agg n=count --data-only | mlr --ijsonl --ocsv cat"
	assert_success
	assert_output 'window_start,window_end,user,n
0,60000,a,1
0,60000,b,1
60000,120000,a,1'
}

@test "usability: --data-only is a common option: every tool accepts it" {
	local t
	for t in "$FS_BIN"/fs-*; do
		t=$(basename "$t")
		"$t" --help | grep -q -- '--data-only' || fail "$t --help has no --data-only"
	done
	run --separate-stderr fs-gen --count 2 --data-only
	assert_success
	assert_equal "${#lines[@]}" 2
}

# Writes N lines to the fifo $1, one every $2 seconds.
slow_feed() {
	local fifo="$1" every="$2" n="$3" i
	for ((i = 1; i <= n; i++)); do
		printf '{"user":"u%d","ts":%d}\n' $((i % 3)) $((i * 10000))
		sleep "$every"
	done > "$fifo"
}

# The progress lines of a stage: "PROG: N in (R/s), M out, watermark T".
progress_re='^fs-window: ([0-9]+) in \([0-9.]+k?/s\), ([0-9]+) out(, watermark [0-9T:Z-]+)?$'

@test "usability: -v prints progress at most once a second, with the counts so far" {
	local start end secs n prev_in=0 in out
	mkfifo feed
	start=$(date +%s%N)
	slow_feed feed 0.25 14 &
	run --separate-stderr timeout 30 fs-window --tumble 1m -v < feed
	end=$(date +%s%N)
	assert_success
	assert_equal "$(printf '%s\n' "$output" | grep -vc '"@fs"')" 14
	secs=$(( (end - start + 999999999) / 1000000000 ))
	n=${#stderr_lines[@]}
	(( n >= 1 )) || fail "no progress line in ${secs}s: $stderr"
	(( n <= secs )) || fail "$n progress lines in ${secs}s: $stderr"
	for l in "${stderr_lines[@]}"; do
		[[ "$l" =~ $progress_re ]] || fail "not a progress line: '$l'"
		in=${BASH_REMATCH[1]} out=${BASH_REMATCH[2]}
		(( in > prev_in && in <= 14 )) || fail "in count $in after $prev_in: $stderr"
		# each record read was written, after the window spec
		(( out > in )) || fail "out count $out not above in $in: $stderr"
		prev_in=$in
	done
	[[ "${stderr_lines[-1]}" == *", watermark 1970-01-01T00:"* ]] ||
		fail "no watermark: $stderr"
}

@test "usability: --stats alone prints no progress, only its summary at exit" {
	mkfifo feed
	slow_feed feed 0.25 8 &
	run --separate-stderr timeout 30 fs-window --tumble 1m --stats < feed
	assert_success
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" '^fs-window: stats: 8 lines in'
}

@test "usability: -v shows the progress of a source, and of a whole pipeline" {
	mkfifo feed
	slow_feed feed 0.25 10 &
	run --separate-stderr bash -c "timeout 30 fs-window --tumble 1m -v < feed |
	    fs-agg --key user --agg n=count -v > out"
	assert_success
	[[ "$stderr" == *"fs-window: "*" in ("*"/s), "*" out"* ]] || fail "no fs-window line: $stderr"
	[[ "$stderr" == *"fs-agg: "*" in ("*"/s), "*" out"* ]] || fail "no fs-agg line: $stderr"
	# a source has no input: it counts what it writes, watermarks too
	for ((i = 1; i <= 12; i++)); do printf '{"ts":%d}\n' $((i * 1000)); done > in
	run --separate-stderr timeout 30 fs-backfill --rate 5 --watermarks -v in
	assert_success
	(( ${#stderr_lines[@]} >= 1 )) || fail "no progress line"
	assert_regex "${stderr_lines[0]}" '^fs-backfill: [0-9]+ out \([0-9]+/s\), watermark 1970-01-01T00:00:'
}

@test "usability: -q after -v turns the progress off" {
	mkfifo feed
	slow_feed feed 0.25 8 &
	run --separate-stderr timeout 30 fs-window --tumble 1m -v -q < feed
	assert_success
	assert_equal "$stderr" ""
}
