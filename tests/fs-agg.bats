#!/usr/bin/env bats
# fs-agg: aggregates per key and window, late records, watermarks,
# running and over aggregation, checkpoints.  Expected values are worked
# out by hand in the comments.

load test_helper

CLICKS="$DATA/window/clicks.ndjson"

# The end of the warning when more than 1% of the records were late.
HINT='raise --max-out-of-orderness or --allowed-lateness (here or in fs-window), or replay in event-time order with fs-backfill --sort'

data_only() {
	grep -v '^{"@fs"' || true
}

# clicks.ndjson, 1-minute tumbling windows, 30 s out of order allowed:
#   [0,60000)      u1: view 10, click 20, purchase 30   u2: view 5, view 5
#   [60000,120000) u1: view 20                          u2: purchase 7
windowed() {
	fs-window --tumble 1m --max-out-of-orderness 30s "$CLICKS" |
		fs-agg --key user "$@" | data_only
}


# Waits (about 20 s at most) for checkpoint 1 of a stage under DIR/STAGE.
wait_for_ckpt() {
	local i
	for ((i = 0; i < 400; i++)); do
		compgen -G "$1/*1.ckpt" > /dev/null && return 0
		sleep 0.05
	done
	return 1
}

@test "fs-agg: count, sum, avg, min, max per user and window" {
	run --separate-stderr windowed --agg n=count --agg sum=sum:amount \
		--agg avg=avg:amount --agg min=min:amount --agg max=max:amount
	assert_success
	assert_output '{"window_start":0,"window_end":60000,"user":"u1","n":3,"sum":60,"avg":20.0,"min":10,"max":30}
{"window_start":0,"window_end":60000,"user":"u2","n":2,"sum":10,"avg":5.0,"min":5,"max":5}
{"window_start":60000,"window_end":120000,"user":"u1","n":1,"sum":20,"avg":20.0,"min":20,"max":20}
{"window_start":60000,"window_end":120000,"user":"u2","n":1,"sum":7,"avg":7.0,"min":7,"max":7}'
}

@test "fs-agg: first and last by event time, last-N, distinct counts" {
	# u2's two views arrive out of order (40000 after 70000): still in time.
	run --separate-stderr windowed --agg first=first:event --agg last=last:event \
		--agg recent=last_n:event:2 --agg kinds=count_distinct:event \
		--agg approx=approx_count_distinct:event
	assert_success
	assert_line --index 0 '{"window_start":0,"window_end":60000,"user":"u1","first":"view","last":"purchase","recent":["click","purchase"],"kinds":3,"approx":3}'
	assert_line --index 1 '{"window_start":0,"window_end":60000,"user":"u2","first":"view","last":"view","recent":["view","view"],"kinds":1,"approx":1}'
}

@test "fs-agg: variance and standard deviation, null for one value" {
	# u1 in [0,60000): 10, 20, 30: sample variance 100, population 200/3.
	run --separate-stderr windowed --agg var=variance:amount --agg sd=stddev:amount \
		--agg vp=var_pop:amount
	assert_success
	assert_line --index 0 '{"window_start":0,"window_end":60000,"user":"u1","var":100.0,"sd":10.0,"vp":66.66666666666667}'
	assert_line --index 2 '{"window_start":60000,"window_end":120000,"user":"u1","var":null,"sd":null,"vp":0.0}'
}

@test "fs-agg: conditional count and sum" {
	run --separate-stderr windowed --agg buys=count:if:event=purchase \
		--agg spent=sum0:amount:if:event=purchase --agg big=count:if:amount\>=20
	assert_success
	assert_output '{"window_start":0,"window_end":60000,"user":"u1","buys":1,"spent":30,"big":2}
{"window_start":0,"window_end":60000,"user":"u2","buys":0,"spent":0,"big":0}
{"window_start":60000,"window_end":120000,"user":"u1","buys":0,"spent":0,"big":1}
{"window_start":60000,"window_end":120000,"user":"u2","buys":1,"spent":7,"big":0}'
}

@test "fs-agg: percentile within its documented 1% relative error" {
	seq 1 1000 | sed 's/.*/{"ts":0,"v":&}/' > in.ndjson
	run --separate-stderr bash -c "fs-agg --agg p=percentile:v:0.9 in.ndjson | tail -1"
	assert_success
	# The running result after all 1000 values: p90 of 1..1000 is 900.
	local p
	p=$(echo "$output" | sed -E 's/.*"p":([0-9.]+).*/\1/')
	awk -v p="$p" 'BEGIN { exit !(p >= 891 && p <= 909) }' || fail "p90 $p not within 1% of 900"
}

@test "fs-agg: a compound key is carried into the result under its paths" {
	printf '%s\n' '{"ts":1,"u":{"id":7},"c":"fr"}' '{"ts":2,"u":{"id":7},"c":"fr"}' > in.ndjson
	run --separate-stderr bash -c "fs-window --tumble 1m in.ndjson | fs-agg --key u.id,c --agg n=count | grep -v '^{\"@fs\"'"
	assert_success
	assert_output '{"window_start":0,"window_end":60000,"u":{"id":7},"c":"fr","n":2}'
}

@test "fs-agg: watermarks are forwarded after the results they fire" {
	printf '%s\n' '{"ts":1000}' '{"ts":61000}' '{"ts":62000}' > in.ndjson
	run --separate-stderr bash -c "fs-window --tumble 1m in.ndjson | fs-agg --agg n=count"
	assert_success
	assert_output '{"@fs":"watermark","ts":1000}
{"window_start":0,"window_end":60000,"n":1}
{"@fs":"watermark","ts":61000}
{"window_start":60000,"window_end":120000,"n":2}'
}

@test "fs-agg: late event after firing is dead-lettered" {
	# The window [0,60000) fires at watermark 60000; the record at 5000 in
	# that window then comes too late.
	printf '%s\n' '{"@fs":"window","kind":"tumble","size":60000,"slide":60000,"offset":0,"pane":60000,"start_field":"window_start","end_field":"window_end","allowed_lateness":0}' \
		'{"ts":1000,"window_start":0,"window_end":60000}' \
		'{"@fs":"watermark","ts":60000}' \
		'{"ts":5000,"window_start":0,"window_end":60000}' > in.ndjson
	run --separate-stderr fs-agg --agg n=count --late dead-letter --late-file late.ndjson in.ndjson
	assert_success
	assert_output '{"window_start":0,"window_end":60000,"n":1}
{"@fs":"watermark","ts":60000}'
	assert_equal "$(cat late.ndjson)" '{"ts":5000,"window_start":0,"window_end":60000}'
	assert_equal "$stderr" "fs-agg: 1 late record dead-lettered
fs-agg: warning: 1 of 2 records (50.0%) were late and dead-lettered: $HINT"
}

@test "fs-agg: the allowed lateness of fs-window holds the window open" {
	printf '%s\n' '{"ts":1000}' '{"ts":70000}' '{"ts":5000}' '{"ts":95000}' > in.ndjson
	run --separate-stderr bash -c "fs-window --tumble 1m --allowed-lateness 30s in.ndjson | fs-agg --agg n=count"
	assert_success
	# Watermarks go out on the grid of window ends plus the lateness, and
	# fs-agg writes the results a watermark fires before forwarding it.
	assert_output '{"@fs":"watermark","ts":1000}
{"@fs":"watermark","ts":70000}
{"window_start":0,"window_end":60000,"n":2}
{"@fs":"watermark","ts":95000}
{"window_start":60000,"window_end":120000,"n":2}'
	assert_equal "$stderr" ""
}

@test "fs-agg: empty hopping windows are not emitted" {
	# Events at 0 and 600000 with hop 2m/1m: windows [-60000,60000),
	# [0,120000) hold the first; [540000,660000), [600000,720000) the
	# second; the eight windows between are empty.
	printf '%s\n' '{"ts":0}' '{"ts":600000}' > in.ndjson
	run --separate-stderr bash -c "fs-window --hop 2m --slide 1m in.ndjson | fs-agg --agg n=count | grep -v '^{\"@fs\"'"
	assert_success
	assert_output '{"window_start":-60000,"window_end":60000,"n":1}
{"window_start":0,"window_end":120000,"n":1}
{"window_start":540000,"window_end":660000,"n":1}
{"window_start":600000,"window_end":720000,"n":1}'
}

@test "fs-agg: cumulating windows merge panes per key" {
	printf '%s\n' '{"ts":1000,"k":"a"}' '{"ts":1500,"k":"b"}' '{"ts":2500,"k":"a"}' > in.ndjson
	run --separate-stderr bash -c "fs-window --cumulate 4s --step 1s in.ndjson | fs-agg --key k --agg n=count | grep -v '^{\"@fs\"'"
	assert_success
	assert_output '{"window_start":0,"window_end":2000,"k":"a","n":1}
{"window_start":0,"window_end":2000,"k":"b","n":1}
{"window_start":0,"window_end":3000,"k":"a","n":2}
{"window_start":0,"window_end":3000,"k":"b","n":1}
{"window_start":0,"window_end":4000,"k":"a","n":2}
{"window_start":0,"window_end":4000,"k":"b","n":1}'
}

@test "fs-agg: records with window members but no spec derive watermarks" {
	printf '%s\n' '{"ts":1,"window_start":0,"window_end":10}' \
		'{"ts":12,"window_start":10,"window_end":20}' \
		'{"ts":3,"window_start":0,"window_end":10}' > in.ndjson
	run --separate-stderr fs-agg --agg n=count in.ndjson
	assert_success
	assert_output '{"window_start":0,"window_end":10,"n":1}
{"window_start":10,"window_end":20,"n":1}'
	assert_equal "$stderr" "fs-agg: 1 late record dropped
fs-agg: warning: 1 of 3 records (33.3%) were late and dropped: $HINT"
}

@test "fs-agg: running aggregates are written on every change" {
	printf '%s\n' '{"ts":1,"u":"a","x":2}' '{"ts":2,"u":"b","x":3}' '{"ts":3,"u":"a","x":4}' > in.ndjson
	run --separate-stderr fs-agg --key u --agg n=count --agg s=sum:x in.ndjson
	assert_success
	assert_output '{"u":"a","n":1,"s":2}
{"u":"b","n":1,"s":3}
{"u":"a","n":2,"s":6}'
}

@test "fs-agg: running aggregates at most every interval; the last is written at the end" {
	printf '%s\n' '{"ts":1,"u":"a"}' '{"ts":2,"u":"a"}' '{"ts":3,"u":"a"}' > in.ndjson
	run --separate-stderr fs-agg --key u --agg n=count --emit-every 1h in.ndjson
	assert_success
	assert_output '{"u":"a","n":1}
{"u":"a","n":3}'
}

@test "fs-agg: over ranges per event, exact, in event-time order once the watermark passes" {
	# RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW: a row
	# at t gets the rows in [t - 60s, t], its peers at t included.  The
	# bound 10s makes the watermark max_ts - 10s + 1 ms: 3000 arrives out
	# of order and is not late; 5000 twice are peers and both get 4; the
	# second 1000 comes after the watermark passed 51001 and is late; at
	# 61000 the range starts at 1000 inclusive, so the first row counts.
	printf '%s\n' '{"ts":1000,"x":5}' '{"ts":5000,"x":1}' '{"ts":3000,"x":7}' \
		'{"ts":5000,"x":3}' '{"ts":61000,"x":2}' '{"ts":1000,"x":9}' \
		'{"ts":61000,"x":4}' '{"ts":66000,"x":6}' > in.ndjson
	run --separate-stderr fs-agg --max-out-of-orderness 10s --over 1m \
		--agg n=count --agg s=sum:x --agg lo=min:x --agg hi=max:x \
		--agg f=first:x --agg l=last:x --agg a=avg:x --late pass in.ndjson
	assert_success
	assert_output '{"ts":1000,"x":5,"n_1m":1,"s_1m":5,"lo_1m":5,"hi_1m":5,"f_1m":5,"l_1m":5,"a_1m":5.0}
{"ts":3000,"x":7,"n_1m":2,"s_1m":12,"lo_1m":5,"hi_1m":7,"f_1m":5,"l_1m":7,"a_1m":6.0}
{"ts":5000,"x":1,"n_1m":4,"s_1m":16,"lo_1m":1,"hi_1m":7,"f_1m":5,"l_1m":3,"a_1m":4.0}
{"ts":5000,"x":3,"n_1m":4,"s_1m":16,"lo_1m":1,"hi_1m":7,"f_1m":5,"l_1m":3,"a_1m":4.0}
{"ts":1000,"x":9,"late":true}
{"ts":61000,"x":2,"n_1m":6,"s_1m":22,"lo_1m":1,"hi_1m":7,"f_1m":5,"l_1m":4,"a_1m":3.6666666666666665}
{"ts":61000,"x":4,"n_1m":6,"s_1m":22,"lo_1m":1,"hi_1m":7,"f_1m":5,"l_1m":4,"a_1m":3.6666666666666665}
{"ts":66000,"x":6,"n_1m":3,"s_1m":12,"lo_1m":2,"hi_1m":6,"f_1m":2,"l_1m":6,"a_1m":4.0}'
}

@test "fs-agg: exact over ranges per key, variance over a range's rows" {
	# u1 at 0s, 30s, 70s, 200s; u2 at 10s.  At 70s, 1m is [10s, 70s]:
	# 30s and 70s; 5m everything so far.  At 200s, 1m holds only 200s, 5m
	# [-100s, 200s] all four.  var_pop of 3, 5 is 1; of 1, 3, 5 is 8/3; of
	# 1, 3, 5, 7 is 5.
	printf '%s\n' '{"ts":0,"u":"u1","x":1}' '{"ts":10000,"u":"u2","x":1}' \
		'{"ts":30000,"u":"u1","x":3}' '{"ts":70000,"u":"u1","x":5}' \
		'{"ts":200000,"u":"u1","x":7}' > in.ndjson
	run --separate-stderr fs-agg --key u --over 1m,5m --agg n=count --agg v=var_pop:x in.ndjson
	assert_success
	assert_output '{"ts":0,"u":"u1","x":1,"n_1m":1,"v_1m":0.0,"n_5m":1,"v_5m":0.0}
{"ts":10000,"u":"u2","x":1,"n_1m":1,"v_1m":0.0,"n_5m":1,"v_5m":0.0}
{"ts":30000,"u":"u1","x":3,"n_1m":2,"v_1m":1.0,"n_5m":2,"v_5m":1.0}
{"ts":70000,"u":"u1","x":5,"n_1m":2,"v_1m":1.0,"n_5m":3,"v_5m":2.6666666666666665}
{"ts":200000,"u":"u1","x":7,"n_1m":1,"v_1m":0.0,"n_5m":4,"v_5m":5.0}'
}

@test "fs-agg: exact over: a row at max_ts - bound is late, as in Flink SQL" {
	# WATERMARK rt - INTERVAL '5' SECOND after 14999 is 9999: a row at
	# 9999 is late (time <= watermark), one at 10000 is not.
	printf '%s\n' '{"ts":14999}' '{"ts":9999}' '{"ts":10000}' > in.ndjson
	run --separate-stderr fs-agg --max-out-of-orderness 5s --over 5s --agg n=count --late pass in.ndjson
	assert_success
	assert_output '{"ts":9999,"late":true}
{"ts":10000,"n_5s":1}
{"ts":14999,"n_5s":2}'
}

@test "fs-agg: exact over ranges refuse aggregates whose state grows" {
	run --separate-stderr fs-agg --over 1m --agg d=count_distinct:x
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-agg: --over: exact ranges take count, sum, sum0, avg, min, max, first, last and the variances; give --over-buckets N for the others: '1m'"
	run --separate-stderr fs-agg --over 1m --over-buckets 60 --agg d=count_distinct:x < /dev/null
	assert_success
}

@test "fs-agg: over ranges per event from buckets" {
	# u1 at 0s, 30s, 70s, 200s; u2 at 10s.  1m has 1 s buckets, 5m 5 s ones.
	# At 70s: 1m covers 11s..70s (30s, 70s), 5m everything so far.
	# At 200s: 1m holds only 200s; 5m covers -95s..200s: all four.
	printf '%s\n' '{"ts":0,"u":"u1"}' '{"ts":10000,"u":"u2"}' '{"ts":30000,"u":"u1"}' \
		'{"ts":70000,"u":"u1"}' '{"ts":200000,"u":"u1"}' > in.ndjson
	run --separate-stderr fs-agg --key u --over 1m,5m --over-buckets 60 --agg n=count in.ndjson
	assert_success
	assert_output '{"ts":0,"u":"u1","n_1m":1,"n_5m":1}
{"ts":10000,"u":"u2","n_1m":1,"n_5m":1}
{"ts":30000,"u":"u1","n_1m":2,"n_5m":2}
{"ts":70000,"u":"u1","n_1m":2,"n_5m":3}
{"ts":200000,"u":"u1","n_1m":1,"n_5m":4}'
}

@test "fs-agg: over: an out-of-order event counts in its own ranges" {
	# At 65s the 1m range covers buckets 6s..65s: 30s and 65s, not the
	# 70s that came before it; at 70.2s it covers 11s..70s: all four.
	printf '%s\n' '{"ts":30000}' '{"ts":70000}' '{"ts":65000}' '{"ts":70200}' > in.ndjson
	run --separate-stderr fs-agg --over 1m --over-buckets 60 --agg n=count in.ndjson
	assert_success
	assert_output '{"ts":30000,"n_1m":1}
{"ts":70000,"n_1m":2}
{"ts":65000,"n_1m":2}
{"ts":70200,"n_1m":4}'
}

@test "fs-agg: over: an event older than the smallest range is late" {
	printf '%s\n' '{"ts":200000}' '{"ts":100000}' '{"ts":201000}' > in.ndjson
	run --separate-stderr fs-agg --over 1m,5m --over-buckets 60 --agg n=count --late pass in.ndjson
	assert_success
	assert_output '{"ts":200000,"n_1m":1,"n_5m":1}
{"ts":100000,"late":true}
{"ts":201000,"n_1m":2,"n_5m":2}'
	assert_equal "$stderr" "fs-agg: 1 late record passed on marked late
fs-agg: warning: 1 of 3 records (33.3%) were late and passed on marked: $HINT"
}

@test "fs-agg: early firing marks the final result update false" {
	run --separate-stderr windowed --agg n=count --early-fire 1h
	assert_success
	assert_line --index 0 '{"window_start":0,"window_end":60000,"user":"u1","n":3,"update":false}'
}

@test "fs-agg: a non-number for sum fails with file and line" {
	printf '%s\n' '{"ts":1,"x":1}' '{"ts":2,"x":"two"}' > in.ndjson
	run --separate-stderr fs-agg --agg s=sum:x in.ndjson
	assert_failure 1
	assert_output '{"s":1}'
	[[ "$stderr" == "fs-agg: in.ndjson:2: "*"not a number"* ]] || fail "stderr: $stderr"
}

@test "fs-agg: bad lines are skipped and counted with --on-error skip" {
	printf '%s\n' '{"ts":1,"x":1}' 'nope' '{"x":1}' '{"ts":3,"x":2}' > in.ndjson
	run --separate-stderr fs-agg --agg s=sum:x --on-error skip -q in.ndjson
	assert_success
	assert_output '{"s":1}
{"s":3}'
	[[ "$stderr" == *"2 records rejected"* ]] || fail "stderr: $stderr"
}

@test "fs-agg: usage errors exit 2" {
	run --separate-stderr fs-agg
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-agg: give at least one --agg"
	run --separate-stderr fs-agg --agg 'x=nosuch:y'
	assert_failure 2
	run --separate-stderr fs-agg --agg n=count --over 7s --over-buckets 60
	assert_failure 2
	run --separate-stderr fs-agg --agg n=count --over 1m --emit-every 1s
	assert_failure 2
}

@test "fs-agg: a typo'd aggregate field is named at exit, with its option and the record count" {
	run --separate-stderr fs-agg --agg n=sum:amout --agg s=sum:amount "$CLICKS"
	assert_success
	assert_line --index 6 '{"n":null,"s":97}'
	assert_equal "$stderr" "fs-agg: field 'amout' (in --agg n=sum:amout) was absent in all 7 records"
}

@test "fs-agg: a typo'd condition field is named at exit" {
	run --separate-stderr fs-agg --key user --agg n=count:if:evnt=click "$CLICKS"
	assert_success
	assert_line '{"user":"u1","n":0}'
	assert_equal "$stderr" "fs-agg: field 'evnt' (in --agg n=count:if:evnt=click) was absent in all 7 records"
}

@test "fs-agg: --strict makes a field absent from every record an error, exit 1 after all output" {
	run --separate-stderr fs-agg --strict --agg n=count --agg s=sum:amout "$CLICKS"
	assert_failure 1
	assert_line --index 6 '{"n":7,"s":null}'
	assert_equal "$stderr" "fs-agg: field 'amout' (in --agg s=sum:amout) was absent in all 7 records"
	# -q hides the warning, never the error
	run --separate-stderr fs-agg -q --agg s=sum:amout "$CLICKS"
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr fs-agg -q --strict --agg s=sum:amout "$CLICKS"
	assert_failure 1
	assert_equal "$stderr" "fs-agg: field 'amout' (in --agg s=sum:amout) was absent in all 7 records"
}

@test "fs-agg: a field present in some records only, or null, is not named, --strict included" {
	printf '%s\n' '{"ts":1,"u":"a"}' '{"ts":2,"u":"a","coupon":null}' '{"ts":3,"u":"a","x":{"y":2}}' > in.ndjson
	run --separate-stderr fs-agg --strict --key u --agg c=count:coupon --agg s=sum:x.y in.ndjson
	assert_success
	assert_output '{"u":"a","c":0,"s":null}
{"u":"a","c":0,"s":null}
{"u":"a","c":0,"s":2}'
	assert_equal "$stderr" ""
}

@test "fs-agg: a typo'd --key, skipped record by record, is also named at exit" {
	run --separate-stderr fs-agg -q --strict --on-error skip --key usr --agg n=count "$CLICKS"
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "fs-agg: field 'usr' (in --key usr) was absent in all 7 records
fs-agg: 7 records rejected"
}

@test "fs-agg: behind fs-window and --over, the same check" {
	run --separate-stderr windowed --agg n=sum:amout
	assert_success
	assert_equal "$stderr" "fs-agg: field 'amout' (in --agg n=sum:amout) was absent in all 7 records"
	run --separate-stderr fs-agg --over 1m --over-buckets 60 --agg n=sum:amout "$CLICKS"
	assert_success
	assert_equal "$stderr" "fs-agg: field 'amout' (in --agg n=sum:amout) was absent in all 7 records"
}

@test "fs-agg: an unknown function lists the valid ones, as --help does" {
	local fns='count, sum, sum0, avg, min, max, first, last, count_distinct, approx_count_distinct, percentile, variance, var_samp, var_pop, stddev, stddev_samp, stddev_pop, last_n, max_by, min_by'
	run --separate-stderr fs-agg --agg n=summ:amount "$CLICKS"
	assert_failure 2
	assert_output ""
	assert_equal "$stderr" "fs-agg: --agg n=summ:amount: unknown function 'summ'; one of: $fns
Try 'fs-agg --help' for more information."
	run --separate-stderr fs-agg --help
	assert_success
	# the help wraps the list under --agg: join it back
	local help
	help=$(printf '%s\n' "$output" | sed -n '/^  --agg/,/^  --key/p' | sed '1d;$d' | tr -s ' \n' ' ')
	assert_equal "$help" " FUNC: $fns "
}

@test "fs-agg: --stats reports state and peak RSS" {
	run --separate-stderr windowed --agg n=count --stats
	assert_success
	[[ "$stderr" == "fs-agg: stats: 10 lines in, 4 results,"*"peak keys 2"*"peak RSS"* ]] || fail "stderr: $stderr"
}

# Runs fs-agg on in.ndjson's first $2 lines plus a barrier, stops it once
# checkpoint 1 is written (as a crash after the barrier would), then
# restarts it on the spec record, a restore record and the remaining
# lines.  Writes out1 and out2.
run_with_restart() {
	local aggs=("${@:3}") n="$2" pid
	rm -rf ck; mkfifo fifo
	fs-agg "${aggs[@]}" --checkpoint-dir ck < fifo > out1 &
	pid=$!
	exec 7> fifo
	head -n "$n" "$1" >&7
	echo '{"@fs":"barrier","id":1}' >&7
	wait_for_ckpt ck/fs-agg || fail "no checkpoint 1"
	kill -TERM "$pid"
	wait "$pid" || return 1
	exec 7>&-
	rm -f fifo
	{ head -n 1 "$1"; echo '{"@fs":"restore","id":1}'; tail -n +"$((n + 1))" "$1"; echo '{"@fs":"end","id":2}'; } |
		fs-agg "${aggs[@]}" --checkpoint-dir ck > out2
}

@test "fs-agg: restart from a checkpoint mid-window gives the uninterrupted output" {
	local w
	for w in "--tumble 1m" "--hop 5m --slide 1m" "--session 20s --key user"; do
		fs-gen --count 3000 --users 20 --disorder 5s |
			fs-window $w --max-out-of-orderness 5s > in.ndjson
		local aggs=(--key user --agg n=count --agg s=sum:amount
			--agg d=count_distinct:item --agg p=percentile:amount:0.5
			--agg l=last_n:item:3)
		fs-agg "${aggs[@]}" in.ndjson | data_only > whole
		run_with_restart in.ndjson 1234 "${aggs[@]}"
		cat out1 out2 | data_only > resumed
		[ -s whole ]
		run diff whole resumed
		assert_success
	done
}

@test "fs-agg: states kept compact and promoted by a real give the full states' results, through a checkpoint" {
	# count, sum, avg, min and max keep integer states compact; b's real
	# 2.5 promotes its states to full ones mid-window, with a window
	# open after it; a has two windows open at once.  By hand:
	#   [0,60000)       a: 1 2     b: 1 2.5 3 (6.5 / 3)   c: -5, none
	#   [60000,120000)  a: 7       b: 4
	cat > ev.ndjson <<-'EOF'
	{"ts":1000,"user":"a","v":1}
	{"ts":2000,"user":"b","v":1}
	{"ts":3000,"user":"c","v":-5}
	{"ts":4000,"user":"a","v":2}
	{"ts":61000,"user":"a","v":7}
	{"ts":5000,"user":"b","v":2.5}
	{"ts":62000,"user":"b","v":4}
	{"ts":6000,"user":"c"}
	{"ts":7000,"user":"b","v":3}
	EOF
	fs-window --tumble 1m --max-out-of-orderness 1m ev.ndjson > in.ndjson
	local aggs=(--key user --agg n=count --agg s=sum:v --agg a=avg:v
		--agg lo=min:v --agg hi=max:v) n
	fs-agg "${aggs[@]}" in.ndjson | data_only > whole
	run cat whole
	assert_output '{"window_start":0,"window_end":60000,"user":"a","n":2,"s":3,"a":1.5,"lo":1,"hi":2}
{"window_start":0,"window_end":60000,"user":"b","n":3,"s":6.5,"a":2.1666666666666665,"lo":1,"hi":3}
{"window_start":0,"window_end":60000,"user":"c","n":2,"s":-5,"a":-5.0,"lo":-5,"hi":-5}
{"window_start":60000,"window_end":120000,"user":"a","n":1,"s":7,"a":7.0,"lo":7,"hi":7}
{"window_start":60000,"window_end":120000,"user":"b","n":1,"s":4,"a":4.0,"lo":4,"hi":4}'
	# Checkpoints before and after the promotion restore them.
	for n in 4 9 10; do
		run_with_restart in.ndjson "$n" "${aggs[@]}"
		cat out1 out2 | data_only > resumed
		run diff whole resumed
		assert_success
	done
}

@test "fs-agg: over aggregation restarts from a checkpoint with the same output" {
	fs-gen --count 2000 --users 10 > in.ndjson
	local aggs=(--key user --over 1m,10m --agg n=count --agg s=sum:amount)
	fs-agg "${aggs[@]}" in.ndjson > whole
	# The over input has no spec record: the restart's first line is data.
	rm -rf ck; mkfifo fifo
	fs-agg "${aggs[@]}" --checkpoint-dir ck < fifo > out1 &
	local pid=$!
	exec 7> fifo
	head -n 777 in.ndjson >&7
	echo '{"@fs":"barrier","id":1}' >&7
	wait_for_ckpt ck/fs-agg || fail "no checkpoint 1"
	kill -TERM "$pid"
	wait "$pid"
	exec 7>&-
	{ echo '{"@fs":"restore","id":1}'; tail -n +778 in.ndjson; echo '{"@fs":"end","id":2}'; } |
		fs-agg "${aggs[@]}" --checkpoint-dir ck > out2
	cat out1 out2 | data_only > resumed
	run diff whole resumed
	assert_success
}

@test "fs-agg: exact over rows held at a checkpoint are written after the restart" {
	# One event a second, up to 5 minutes out of order; with a 10m bound
	# the rows of the last 10 minutes are held when the barrier comes: they
	# are in the checkpoint, and the restart writes them as the run
	# without a stop does.  A bucketed run refuses that checkpoint.
	fs-gen --count 3000 --users 7 --rate 1 --disorder 5m > in.ndjson
	local aggs=(--key user --max-out-of-orderness 10m --over 1m,10m
		--agg n=count --agg s=sum:amount --agg f=first:item --agg hi=max:amount)
	fs-agg "${aggs[@]}" in.ndjson > whole
	rm -rf ck; mkfifo fifo
	fs-agg "${aggs[@]}" --checkpoint-dir ck < fifo > out1 &
	local pid=$!
	exec 7> fifo
	head -n 1500 in.ndjson >&7
	echo '{"@fs":"barrier","id":1}' >&7
	wait_for_ckpt ck/fs-agg || fail "no checkpoint 1"
	kill -TERM "$pid"
	wait "$pid"
	exec 7>&-
	local held=$((1500 - $(data_only < out1 | wc -l)))
	[ "$held" -gt 300 ] || fail "only $held rows were held"
	{ echo '{"@fs":"restore","id":1}'; tail -n +1501 in.ndjson; echo '{"@fs":"end","id":2}'; } |
		fs-agg "${aggs[@]}" --checkpoint-dir ck > out2
	cat out1 out2 | data_only > resumed
	run diff whole resumed
	assert_success
	run --separate-stderr bash -c "echo '{\"@fs\":\"restore\",\"id\":1}' | fs-agg ${aggs[*]} --over-buckets 60 --checkpoint-dir ck"
	assert_failure 1
	[[ "$stderr" == *"was the checkpoint taken without --over-buckets?"* ]] || fail "stderr: $stderr"
}

@test "fs-agg: the man page examples run" {
	run --separate-stderr bash -c "fs-gen --count 2000 | fs-window --tumble 1m | fs-agg --key user --agg events=count --agg spent=sum0:amount --agg items=count_distinct:item | grep -c items"
	assert_success
	run --separate-stderr bash -c "fs-gen --count 20000 | fs-window --hop 1h --slide 10m | fs-agg --key user --agg views=count:if:event=view --agg buys=count:if:event=purchase --agg basket=avg:amount --agg p95=percentile:amount:0.95 --agg recent=last_n:item:5 | grep -c recent"
	assert_success
	run --separate-stderr bash -c "fs-gen --count 2000 | fs-agg --key user --over 5m,1h,24h --agg n=count --agg spent=sum0:amount | grep -c n_24h"
	assert_output 2000
	run --separate-stderr bash -c "fs-gen --count 2000 | fs-agg --key event --agg n=count --emit-every 1s | grep -c '\"n\"'"
	assert_success
}

@test "fs-agg: records fs-window passed on marked late are late here too" {
	printf '%s\n' '{"ts":120000}' '{"ts":5000}' '{"ts":130000}' > in.ndjson
	run --separate-stderr bash -c "fs-window --tumble 1m --late pass -q in.ndjson | fs-agg --agg n=count"
	assert_success
	assert_output '{"@fs":"watermark","ts":120000}
{"window_start":120000,"window_end":180000,"n":2}'
	assert_equal "$stderr" "fs-agg: 1 late record dropped
fs-agg: warning: 1 of 3 records (33.3%) were late and dropped: $HINT"
}

# 11500 records through fs-window --late pass: 1000 on time, 500 marked
# late (ts 5, window [0,60000) long closed), then 10000 on time.  Late:
# 4.3%; over 1% from the 11th late record (11 of 1011), 10% at the 112th.
late_mix_marked() {
	awk 'BEGIN {
		for (i = 1; i <= 1000; i++) printf "{\"ts\":%d,\"n\":%d}\n", i * 1000, i
		for (i = 1; i <= 500; i++) printf "{\"ts\":5,\"late_id\":%d}\n", i
		for (i = 1; i <= 10000; i++) printf "{\"ts\":%d,\"n\":%d}\n", 1000000 + i * 1000, 1000 + i
	}' | fs-window --tumble 1m --late pass -q
}

@test "fs-agg: more than 1% of the records late gives a warning with the fraction, while running and at exit" {
	late_mix_marked > in.ndjson
	run --separate-stderr fs-agg --agg n=count in.ndjson
	assert_success
	assert_equal "$(data_only <<< "$output" | tail -n 1)" '{"window_start":10980000,"window_end":11040000,"n":21}'
	assert_equal "$stderr" "fs-agg: warning: 11 of 1011 records so far (1.1%) were late and dropped: $HINT
fs-agg: 500 late records dropped
fs-agg: warning: 500 of 11500 records (4.3%) were late and dropped: $HINT"
}

@test "fs-agg: the late count and fraction are the same with --late dead-letter and --late pass" {
	late_mix_marked > in.ndjson
	run --separate-stderr fs-agg --agg n=count --late dead-letter --late-file late.ndjson in.ndjson
	assert_success
	assert_equal "$(wc -l < late.ndjson) $(grep -c '"late_id":[0-9]*,"late":true}$' late.ndjson)" "500 500"
	assert_equal "$stderr" "fs-agg: warning: 11 of 1011 records so far (1.1%) were late and dead-lettered: $HINT
fs-agg: 500 late records dead-lettered
fs-agg: warning: 500 of 11500 records (4.3%) were late and dead-lettered: $HINT"
	run --separate-stderr fs-agg --agg n=count --late pass in.ndjson
	assert_success
	# Marked once, as fs-window marked them, not twice.
	assert_equal "$(grep -c '^{"ts":5,"late_id":[0-9]*,"late":true}$' <<< "$output")" 500
	assert_equal "$stderr" "fs-agg: warning: 11 of 1011 records so far (1.1%) were late and passed on marked: $HINT
fs-agg: 500 late records passed on marked late
fs-agg: warning: 500 of 11500 records (4.3%) were late and passed on marked: $HINT"
}

@test "fs-agg: --max-late-ratio above the late fraction passes; below it, fails at exit after every result" {
	printf '%s\n' '{"ts":1,"window_start":0,"window_end":10}' \
		'{"ts":12,"window_start":10,"window_end":20}' \
		'{"ts":3,"window_start":0,"window_end":10}' > in.ndjson
	run --separate-stderr fs-agg --agg n=count --max-late-ratio 0.34 in.ndjson
	assert_success
	run --separate-stderr fs-agg --agg n=count --max-late-ratio 0.3 in.ndjson
	assert_equal "$status" 1
	assert_output '{"window_start":0,"window_end":10,"n":1}
{"window_start":10,"window_end":20,"n":1}'
	assert_equal "$stderr" "fs-agg: 1 late record dropped
fs-agg: 1 of 3 records (33.3%) were late and dropped, more than --max-late-ratio 0.3 allows: $HINT"
}

@test "fs-agg: --max-late-ratio fails while running once 1000 records came" {
	late_mix_marked > in.ndjson
	run --separate-stderr fs-agg --agg n=count --max-late-ratio 0.1 in.ndjson
	assert_equal "$status" 1
	# Windows up to [900000,960000) had fired at watermark 960000.
	assert_equal "$(data_only <<< "$output" | tail -n 1)" '{"window_start":900000,"window_end":960000,"n":60}'
	assert_equal "$stderr" "fs-agg: warning: 11 of 1011 records so far (1.1%) were late and dropped: $HINT
fs-agg: 112 late records dropped
fs-agg: 112 of 1112 records so far (10.1%) were late and dropped, more than --max-late-ratio 0.1 allows: $HINT"
}

# Polls file $1 for a line matching $2, up to about 10 seconds.
wait_for_line() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

@test "fs-agg: early firings write partial results marked as updates" {
	mkfifo fifo
	fs-agg --agg n=count --early-fire 50ms < fifo > out &
	local pid=$!
	exec 7> fifo
	echo '{"ts":1000,"window_start":0,"window_end":60000}' >&7
	echo '{"ts":2000,"window_start":0,"window_end":60000}' >&7
	wait_for_line out '"n":2,"update":true' || fail "no early firing"
	exec 7>&-
	wait "$pid"
	run cat out
	assert_line '{"window_start":0,"window_end":60000,"n":2,"update":true}'
	assert_line --index $(( ${#lines[@]} - 1 )) '{"window_start":0,"window_end":60000,"n":2,"update":false}'
}

@test "fs-agg: hopping windows with an offset, by hand" {
	# Flink's Bid table, HOP 10m sliding 5m shifted by 1m: windows start
	# at 07:56, 08:01, 08:06, 08:11, 08:16.
	#   [07:56,08:06) C4            [08:01,08:11) C4 A2 D5
	#   [08:06,08:16) A2 D5 B3 E1   [08:11,08:21) B3 E1 F6   [08:16,08:26) F6
	run --separate-stderr bash -c "fs-window --time-field bidtime --hop 10m --slide 5m --offset 1m '$DATA/window/bid.ndjson' |
		fs-agg --time-field bidtime --agg price=sum:price --agg n=count | grep -v '^{\"@fs\"'"
	assert_success
	assert_output '{"window_start":1586937360000,"window_end":1586937960000,"price":4.0,"n":1}
{"window_start":1586937660000,"window_end":1586938260000,"price":11.0,"n":3}
{"window_start":1586937960000,"window_end":1586938560000,"price":11.0,"n":4}
{"window_start":1586938260000,"window_end":1586938860000,"price":10.0,"n":3}
{"window_start":1586938560000,"window_end":1586939160000,"price":6.0,"n":1}'
}

@test "fs-agg: a late event that bridges two sessions gives one merged result" {
	# Per key a: sessions [0,5000) and [9000,14000) until 4500 arrives
	# (within the 10 s out-of-orderness) and joins them into [0,14000).
	printf '%s\n' '{"ts":0,"k":"a","x":1}' '{"ts":9000,"k":"a","x":2}' \
		'{"ts":1000,"k":"b","x":5}' '{"ts":4500,"k":"a","x":4}' '{"ts":30000,"k":"b","x":1}' > in.ndjson
	run --separate-stderr bash -c "fs-window --session 5s --key k --max-out-of-orderness 10s in.ndjson |
		fs-agg --key k --agg n=count --agg s=sum:x --agg first=first:x --agg last=last:x | grep -v '^{\"@fs\"'"
	assert_success
	assert_output '{"window_start":1000,"window_end":6000,"k":"b","n":1,"s":5,"first":5,"last":5}
{"window_start":0,"window_end":14000,"k":"a","n":3,"s":7,"first":1,"last":2}
{"window_start":30000,"window_end":35000,"k":"b","n":1,"s":1,"first":1,"last":1}'
}

@test "fs-agg: running aggregates restart from a checkpoint with the same output" {
	fs-gen --count 1000 --users 7 > in.ndjson
	local aggs=(--key user --agg n=count --agg d=count_distinct:item --agg l=last:item)
	fs-agg "${aggs[@]}" in.ndjson > whole
	mkfifo fifo
	fs-agg "${aggs[@]}" --checkpoint-dir ck < fifo > out1 &
	local pid=$!
	exec 7> fifo
	head -n 400 in.ndjson >&7
	echo '{"@fs":"barrier","id":1}' >&7
	wait_for_ckpt ck/fs-agg || fail "no checkpoint 1"
	kill -TERM "$pid"
	wait "$pid"
	exec 7>&-
	{ echo '{"@fs":"restore","id":1}'; tail -n +401 in.ndjson; echo '{"@fs":"end","id":2}'; } |
		fs-agg "${aggs[@]}" --checkpoint-dir ck > out2
	cat out1 out2 | data_only > resumed
	run diff whole resumed
	assert_success
}

@test "fs-agg: a checkpoint of other aggregates is refused" {
	printf '%s\n' '{"ts":1,"x":1}' '{"@fs":"barrier","id":1}' '{"@fs":"end","id":2}' > a.ndjson
	fs-agg --agg n=count --checkpoint-dir ck a.ndjson > /dev/null
	printf '%s\n' '{"@fs":"restore","id":1}' '{"ts":2,"x":1}' > b.ndjson
	run --separate-stderr fs-agg --agg s=sum:x --checkpoint-dir ck b.ndjson
	assert_failure 1
	[[ "$stderr" == *"the checkpoint has other aggregates"* ]] || fail "stderr: $stderr"
}

@test "fs-agg: fs-window | fs-agg stopped after a barrier and restarted gives the uninterrupted output" {
	fs-gen --count 4000 --users 15 --disorder 3s > in.ndjson
	local win=(--hop 2m --slide 30s --max-out-of-orderness 3s)
	local aggs=(--key user --agg n=count --agg s=sum0:amount --agg p=percentile:amount:0.9)
	fs-window "${win[@]}" in.ndjson | fs-agg "${aggs[@]}" | data_only > whole
	mkfifo fifo
	fs-window "${win[@]}" --checkpoint-dir ck < fifo |
		fs-agg "${aggs[@]}" --checkpoint-dir ck > out1 &
	local agg_pid=$!      # the last command of the pipeline: fs-agg
	exec 7> fifo
	head -n 2345 in.ndjson >&7
	echo '{"@fs":"barrier","id":1}' >&7
	wait_for_ckpt ck/fs-agg || fail "no checkpoint 1"
	# A crash: the last stage goes first, so it cannot flush its windows.
	kill -TERM "$agg_pid"
	exec 7>&-
	wait
	{ echo '{"@fs":"restore","id":1}'; tail -n +2346 in.ndjson; echo '{"@fs":"end","id":2}'; } |
		fs-window "${win[@]}" --checkpoint-dir ck |
		fs-agg "${aggs[@]}" --checkpoint-dir ck > out2
	cat out1 out2 | data_only > resumed
	[ -s whole ]
	run diff whole resumed
	assert_success
}

@test "fs-agg: behind fs-window, the source's first (lowest) watermark is forwarded, so no window fires on event times before the source says so" {
	printf '%s\n' '{"@fs":"watermark","ts":-9223372036854775808}' '{"ts":1000,"user":"a"}' \
	    '{"ts":200000,"user":"a"}' '{"@fs":"watermark","ts":500}' > in.ndjson
	run --separate-stderr bash -c "fs-window --tumble 1m in.ndjson | fs-agg --key user --agg n=count"
	assert_success
	assert_output '{"@fs":"watermark","ts":-9223372036854775808}
{"@fs":"watermark","ts":500}
{"window_start":0,"window_end":60000,"user":"a","n":1}
{"window_start":180000,"window_end":240000,"user":"a","n":1}'
}

@test "fs-agg: a checkpointing source killed before its first barrier: fs-window | fs-agg fire nothing and exit 1" {
	printf '%s\n' '{"@fs":"restore","id":0}' '{"@fs":"watermark","ts":-9223372036854775808}' \
	    '{"ts":1000,"user":"a"}' '{"ts":200000,"user":"a"}' > in.ndjson
	run --separate-stderr bash -c "set -o pipefail; fs-window --tumble 1m --checkpoint-dir ck in.ndjson | fs-agg --key user --agg n=count --checkpoint-dir ck"
	assert_failure 1
	refute_output --partial '"n":'
	[[ "$stderr" == *"fs-agg: input ended without the end of the stream after checkpoint 0"* ]] || fail "stderr: $stderr"
}

@test "fs-agg: max_by and min_by keep the value of every record at the extreme" {
	# [0,60000) u1: view 10, click 20, purchase 30; u2: view 5 at 30000,
	# view 5 at 40000 (a tie: both kept, in arrival order).
	run --separate-stderr windowed --agg top=max_by:event:amount --agg low=min_by:ts:amount
	assert_success
	assert_output '{"window_start":0,"window_end":60000,"user":"u1","top":["purchase"],"low":[10000]}
{"window_start":0,"window_end":60000,"user":"u2","top":["view","view"],"low":[30000,40000]}
{"window_start":60000,"window_end":120000,"user":"u1","top":["view"],"low":[80000]}
{"window_start":60000,"window_end":120000,"user":"u2","top":["purchase"],"low":[70000]}'
	assert_equal "$stderr" ""
}

@test "fs-agg: max_by over hopping windows merges panes, ties across panes kept" {
	# 2-minute windows every minute, one group: the 5s of u2 (30000, 40000)
	# are the minimum of [-60000,60000) and [0,120000); [60000,180000)
	# has 7 and 20.
	run --separate-stderr bash -c "fs-window --hop 2m --slide 1m --max-out-of-orderness 30s '$CLICKS' |
		fs-agg --agg low=min_by:ts:amount --agg top=max_by:user:amount | grep -v '^{\"@fs\"'"
	assert_success
	assert_output '{"window_start":-60000,"window_end":60000,"low":[30000,40000],"top":["u1"]}
{"window_start":0,"window_end":120000,"low":[30000,40000],"top":["u1"]}
{"window_start":60000,"window_end":180000,"low":[70000],"top":["u1"]}'
}

@test "fs-agg: max_by needs FIELD and BY, BY a number" {
	run --separate-stderr fs-agg --agg t=max_by:event "$CLICKS"
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-agg: --agg t=max_by:event: usage: NAME=max_by:FIELD:BY[:if:COND]"
	run --separate-stderr fs-agg --agg t=max_by:amount:event "$CLICKS"
	assert_failure 1
	assert_equal "${stderr%%$'\n'*}" "fs-agg: $CLICKS:1: field 'event' is not a number: string"
}

@test "fs-agg: a key inside an aggregated object field" {
	# The key's value once dangled when the object was projected
	# after it (an undecodable key, or a use after free).
	printf '%s\n' '{"t":1,"bid":{"a":1,"p":5}}' '{"t":2,"bid":{"a":2,"p":6}}' \
	    '{"t":3,"bid":{"a":1,"p":7}}' > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr fs-agg --agg c=count_distinct:bid --key bid.a \
	    --time-field t "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$output" '{"bid":{"a":1},"c":1}
{"bid":{"a":2},"c":1}
{"bid":{"a":1},"c":2}'
}
