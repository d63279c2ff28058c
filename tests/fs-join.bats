#!/usr/bin/env bats
# fs-join: interval, as-of and window joins on event time.  Every expected
# output below was computed by hand from the fixture in tests/data/join.

load test_helper

J="$DATA/join"

# The end of the warning when more than 1% of the records were late.
HINT='raise --max-out-of-orderness, or replay in event-time order with fs-backfill --sort'

# The interleaved clicks/impressions fixture, hand-computed with
# --max-out-of-orderness 5s: watermarks are min(left max, right max) - 5s.
interval() {
	fs-join --between -10s,0 --key user --left-where t=click \
		--max-out-of-orderness 5s "$@" < "$J/clicks-impressions.ndjson"
}

@test "fs-join: interval inner join pairs every click with each impression in the 10s before it (many-to-many, out of order)" {
	run --separate-stderr interval --right-fields id:imp
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"t":"click","user":"a","ts":5000,"id":"c1","imp":"i1"}
{"t":"click","user":"a","ts":5000,"id":"c1","imp":"i2"}
{"t":"click","user":"a","ts":4000,"id":"c2","imp":"i1"}
{"t":"click","user":"a","ts":4000,"id":"c2","imp":"i2"}
{"t":"click","user":"b","ts":20000,"id":"c3","imp":"i4"}
EOF
	# c4 (ts 12000) arrives when the join watermark is 14000.
	assert_equal "$stderr" "fs-join: -:8: late left record dropped: $HINT
fs-join: 1 late record dropped (1 left, 0 right)
fs-join: warning: 1 of 9 records (11.1%) were late and dropped: $HINT"
}

@test "fs-join: interval left join writes an unmatched click alone once the watermark passes it" {
	run --separate-stderr interval --type left --right-fields id:imp
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"t":"click","user":"a","ts":5000,"id":"c1","imp":"i1"}
{"t":"click","user":"a","ts":5000,"id":"c1","imp":"i2"}
{"t":"click","user":"a","ts":4000,"id":"c2","imp":"i1"}
{"t":"click","user":"a","ts":4000,"id":"c2","imp":"i2"}
{"t":"click","user":"b","ts":20000,"id":"c3","imp":"i4"}
{"t":"click","user":"c","ts":30000,"id":"c5","imp":null}
EOF
}

@test "fs-join: interval right and full joins write an unmatched impression with the key and nulls for the click's members" {
	# i3 (user b, 4000) meets no click within 10s after it; it is written
	# once the watermark passes 4000 + 10s, here at the end.
	run --separate-stderr interval --type right --right-fields id:imp
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"t":"click","user":"a","ts":5000,"id":"c1","imp":"i1"}
{"t":"click","user":"a","ts":5000,"id":"c1","imp":"i2"}
{"t":"click","user":"a","ts":4000,"id":"c2","imp":"i1"}
{"t":"click","user":"a","ts":4000,"id":"c2","imp":"i2"}
{"t":"click","user":"b","ts":20000,"id":"c3","imp":"i4"}
{"t":null,"user":"b","ts":null,"id":null,"imp":"i3"}
EOF
	run --separate-stderr interval --type full --right-fields id:imp
	assert_equal "$status" 0
	assert_equal "$(tail -n 2 <<< "$output")" '{"t":null,"user":"b","ts":null,"id":null,"imp":"i3"}
{"t":"click","user":"c","ts":30000,"id":"c5","imp":null}'
}

@test "fs-join: interval join output keeps both sides' members, the right ones prefixed right_" {
	run --separate-stderr interval -q
	assert_equal "$status" 0
	assert_line --index 0 '{"t":"click","user":"a","ts":5000,"id":"c1","right_t":"imp","right_user":"a","right_ts":1000,"right_id":"i1"}'
}

@test "fs-join: rows of whole records are the members of both, however the lines are written; a shared name keeps the left" {
	cat > in.ndjson <<'EOF'
{"t":"imp","user":"a","ts":1000,"id":"i1","o":{"x":[1,{"y":"}],"}]},"s":"q\"uo\\te,}"}
{"t":"click","user":"a","ts":2000,"id":"c1","é":"é"}
{"t":"imp","user":null,"ts":2100,"id":"i2"}
{"t":"click","user":null,"ts":2200,"id":"c2"}
{"t":"imp","user":"b","ts":2300,"id":"i3","v":1.50}
{"t":"click","user":"b","ts":2400,"id":"c3"}
{"t":"imp", "user":"b", "ts":2500, "id":"i4"}
{"t":"click","user":"b","ts":2600,"id":"c4"}
EOF
	run --separate-stderr fs-join --between -10s,0 --key user --left-where t=click \
		--data-only < in.ndjson
	assert_success
	assert_output '{"t":"click","user":"a","ts":2000,"id":"c1","é":"é","right_t":"imp","right_user":"a","right_ts":1000,"right_id":"i1","right_o":{"x":[1,{"y":"}],"}]},"right_s":"q\"uo\\te,}"}
{"t":"click","user":null,"ts":2200,"id":"c2","right_t":"imp","right_user":null,"right_ts":2100,"right_id":"i2"}
{"t":"click","user":"b","ts":2400,"id":"c3","right_t":"imp","right_user":"b","right_ts":2300,"right_id":"i3","right_v":1.5}
{"t":"click","user":"b","ts":2600,"id":"c4","right_t":"imp","right_user":"b","right_ts":2300,"right_id":"i3","right_v":1.5}
{"t":"click","user":"b","ts":2600,"id":"c4","right_t":"imp","right_user":"b","right_ts":2500,"right_id":"i4"}'
	run --separate-stderr fs-join --between -10s,0 --key user --left-where t=click \
		--right-prefix '' --data-only < in.ndjson
	assert_success
	assert_output '{"t":"click","user":"a","ts":2000,"id":"c1","é":"é","o":{"x":[1,{"y":"}],"}]},"s":"q\"uo\\te,}"}
{"t":"click","user":null,"ts":2200,"id":"c2"}
{"t":"click","user":"b","ts":2400,"id":"c3","v":1.5}
{"t":"click","user":"b","ts":2600,"id":"c4","v":1.5}
{"t":"click","user":"b","ts":2600,"id":"c4"}'
	assert_equal "$stderr" "fs-join: member on both sides, keeping the left one (see --right-prefix): 't'
fs-join: member on both sides, keeping the left one (see --right-prefix): 'ts'
fs-join: member on both sides, keeping the left one (see --right-prefix): 'id'"
}

@test "fs-join: interval join with a positive bound holds its watermark back by it" {
	printf '%s\n' '{"s":"l","k":1,"ts":1000}' '{"s":"r","k":1,"ts":1500}' \
		'{"@fs":"watermark","ts":9000}' \
		'{"s":"l","k":2,"ts":9000}' '{"s":"r","k":2,"ts":9000}' > in.ndjson
	run --separate-stderr fs-join --between 0,+2s --key k --left-where s=l \
		--right-fields ts:rts < in.ndjson
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"s":"l","k":1,"ts":1000,"rts":1500}
{"@fs":"watermark","ts":7000}
{"s":"l","k":2,"ts":9000,"rts":9000}
EOF
}

@test "fs-join: on input that never pauses, watermarks still come out, and no output is behind them" {
	# 20000 records, sides and keys mixed, times rising with jitter.
	awk 'BEGIN { x = 1; for (i = 0; i < 20000; i++) {
		x = x * 16807 % 2147483647
		printf "{\"s\":\"%s\",\"k\":%d,\"ts\":%d}\n",
			x % 2 ? "l" : "r", x % 5, i * 10 + x % 7 } }' > in.ndjson
	fs-join --between -30ms,+20ms --key k --left-where s=l --max-out-of-orderness 10ms \
		--type left --right-fields ts:rts < in.ndjson > out.ndjson
	run jq -s '[foreach .[] as $r ({wm: null, n: 0, behind: 0};
		if $r["@fs"] == "watermark" then .wm = $r.ts | .n += 1
		elif .wm != null and ($r.ts < .wm or ($r.rts != null and $r.rts < .wm))
		then .behind += 1 else . end)] | last | {n: (.n > 1), behind}' out.ndjson
	assert_success
	assert_equal "$(jq -c . <<< "$output")" '{"n":true,"behind":0}'
}

@test "fs-join: late records are dead-lettered to --late-file with --late dead-letter" {
	run --separate-stderr interval --late dead-letter --late-file late.ndjson
	assert_equal "$status" 0
	assert_file_equals late.ndjson '{"t":"click","user":"a","ts":12000,"id":"c4"}'
	assert_equal "$stderr" "fs-join: -:8: late left record dead-lettered: $HINT
fs-join: 1 late record dead-lettered (1 left, 0 right)
fs-join: warning: 1 of 9 records (11.1%) were late and dead-lettered: $HINT"
}

@test "fs-join: --max-late-ratio above the late fraction passes; below it, fails at exit after every result" {
	run --separate-stderr interval --right-fields id:imp
	assert_equal "$status" 0
	local all="$output"
	run --separate-stderr interval --right-fields id:imp --max-late-ratio 0.12
	assert_equal "$status" 0
	assert_equal "$output" "$all"
	run --separate-stderr interval --right-fields id:imp --max-late-ratio 0.1
	assert_equal "$status" 1
	assert_equal "$output" "$all"
	assert_equal "$stderr" "fs-join: -:8: late left record dropped: $HINT
fs-join: 1 late record dropped (1 left, 0 right)
fs-join: 1 of 9 records (11.1%) were late and dropped, more than --max-late-ratio 0.1 allows: $HINT"
}

# 11500 records, left (s=l) and right (s=r) of key a: 500 of each on
# time, 500 left ones late (ts 5, far behind the watermark), then 5000 of
# each on time.  Late: 4.3%; over 1% from the 11th late record (11 of
# 1011 in the interleaved input), 10% at the 112th.
join_late_mix() {
	awk 'BEGIN {
		for (i = 1; i <= 500; i++) {
			printf "{\"s\":\"l\",\"k\":\"a\",\"ts\":%d,\"n\":%d}\n", i * 1000, i
			printf "{\"s\":\"r\",\"k\":\"a\",\"ts\":%d}\n", i * 1000
		}
		for (i = 1; i <= 500; i++) printf "{\"s\":\"l\",\"k\":\"a\",\"ts\":5,\"late_id\":%d}\n", i
		for (i = 1; i <= 5000; i++) {
			printf "{\"s\":\"l\",\"k\":\"a\",\"ts\":%d,\"n\":%d}\n", 500000 + i * 1000, 500 + i
			printf "{\"s\":\"r\",\"k\":\"a\",\"ts\":%d}\n", 500000 + i * 1000
		}
	}'
}

@test "fs-join: more than 1% of the records late gives a warning with the fraction; --max-late-ratio fails while running" {
	join_late_mix > in.ndjson
	run --separate-stderr fs-join --between -1s,0 --key k --left-where s=l < in.ndjson
	assert_equal "$status" 0
	# Each left record meets the right ones at its time and 1 s before.
	assert_equal "$(grep -vc '^{"@fs"' <<< "$output")" 10999
	assert_equal "$stderr" "fs-join: -:1001: late left record dropped: $HINT
fs-join: warning: 11 of 1011 records so far (1.1%) were late and dropped: $HINT
fs-join: 500 late records dropped (500 left, 0 right)
fs-join: warning: 500 of 11500 records (4.3%) were late and dropped: $HINT"
	run --separate-stderr fs-join --between -1s,0 --key k --left-where s=l --max-late-ratio 0.1 < in.ndjson
	assert_equal "$status" 1
	assert_equal "$(grep -v '^{"@fs"' <<< "$output" | tail -n 1)" '{"s":"l","k":"a","ts":500000,"n":500,"right_s":"r","right_k":"a","right_ts":500000}'
	assert_equal "$stderr" "fs-join: -:1001: late left record dropped: $HINT
fs-join: warning: 11 of 1011 records so far (1.1%) were late and dropped: $HINT
fs-join: 112 late records dropped (112 left, 0 right)
fs-join: 112 of 1112 records so far (10.1%) were late and dropped, more than --max-late-ratio 0.1 allows: $HINT"
}

@test "fs-join: two inputs count late records against the records of both, with --late dead-letter and --late pass" {
	join_late_mix > in.ndjson
	grep '"s":"l"' in.ndjson > left.ndjson
	grep '"s":"r"' in.ndjson > right.ndjson
	# The inputs are read a line of each in turn: the 11th late left
	# record is the 1021st record read.
	run --separate-stderr fs-join --between -1s,0 --key k --left left.ndjson --right right.ndjson \
		--late dead-letter --late-file late.ndjson
	assert_equal "$status" 0
	assert_equal "$(grep -vc '^{"@fs"' <<< "$output")" 10999
	assert_equal "$(wc -l < late.ndjson) $(grep -c late_id late.ndjson)" "500 500"
	assert_equal "$stderr" "fs-join: left.ndjson:501: late left record dead-lettered: $HINT
fs-join: warning: 11 of 1021 records so far (1.1%) were late and dead-lettered: $HINT
fs-join: 500 late records dead-lettered (500 left, 0 right)
fs-join: warning: 500 of 11500 records (4.3%) were late and dead-lettered: $HINT"
	run --separate-stderr fs-join --between -1s,0 --key k --left left.ndjson --right right.ndjson --late pass
	assert_equal "$status" 0
	assert_equal "$(grep -c '^{"s":"l","k":"a","ts":5,"late_id":[0-9]*,"late":true}$' <<< "$output")" 500
	assert_equal "$stderr" "fs-join: left.ndjson:501: late left record passed on marked late: $HINT
fs-join: warning: 11 of 1021 records so far (1.1%) were late and passed on marked: $HINT
fs-join: 500 late records passed on marked late (500 left, 0 right)
fs-join: warning: 500 of 11500 records (4.3%) were late and passed on marked: $HINT"
}

@test "fs-join: two inputs give the same interval matches as one interleaved input" {
	grep '"click"' "$J/clicks-impressions.ndjson" > clicks.ndjson
	grep '"imp"' "$J/clicks-impressions.ndjson" > imps.ndjson
	# No watermark until the end (a large bound): nothing is late.
	fs-join --between -10s,0 --key user --max-out-of-orderness 1h \
		--right-fields id:imp --right imps.ndjson < clicks.ndjson |
		grep -v '"@fs"' | sort > two.out
	run sort <<'EOF'
{"t":"click","user":"a","ts":5000,"id":"c1","imp":"i1"}
{"t":"click","user":"a","ts":5000,"id":"c1","imp":"i2"}
{"t":"click","user":"a","ts":4000,"id":"c2","imp":"i1"}
{"t":"click","user":"a","ts":4000,"id":"c2","imp":"i2"}
{"t":"click","user":"a","ts":12000,"id":"c4","imp":"i2"}
{"t":"click","user":"b","ts":20000,"id":"c3","imp":"i4"}
EOF
	assert_equal "$(cat two.out)" "$output"
}

@test "fs-join: two inputs fed by one producer do not deadlock (both read as data arrives)" {
	mkfifo right.fifo
	# tee blocks on the fifo once its buffer is full: a reader that read
	# standard input to its end first would never see that end.
	awk 'BEGIN { for (i = 1; i <= 30000; i++)
		printf "{\"k\":%d,\"ts\":%d}\n", i % 97, i }' |
		tee right.fifo |
		timeout 120 fs-join --between 0,0 --key k --right right.fifo \
			--right-fields ts:rts > out.ndjson
	run jq -s '[.[] | select(.rts != null and .rts == .ts)] | length' out.ndjson
	assert_output 30000
}

# --- as-of ---------------------------------------------------------------

asof() {
	fs-join --asof --key user --left-where t=order --max-out-of-orderness 1s \
		--right-prefix '' --right-fields tier,ts:profile_ts "$@" \
		< "$J/asof.ndjson"
}

@test "fs-join: as-of inner join takes the latest profile at or before each order, even one arriving after it" {
	run --separate-stderr asof
	assert_equal "$status" 0
	# o1 (4000): silver (5000) arrived first but is after it: bronze.
	# o2 (6000): gold has the same time: allowed.  o3: u2's only profile
	# is after it: dropped.  o4 (5500): silver-2 (5400) came after o4
	# but before the watermark passed it.  o5 is late.
	assert_output - <<'EOF'
{"t":"order","user":"u1","ts":4000,"id":"o1","tier":"bronze","profile_ts":1000}
{"t":"order","user":"u1","ts":5500,"id":"o4","tier":"silver-2","profile_ts":5400}
{"t":"order","user":"u1","ts":6000,"id":"o2","tier":"gold","profile_ts":6000}
EOF
	assert_equal "$stderr" "fs-join: -:10: late left record dropped: $HINT
fs-join: 1 late record dropped (1 left, 0 right)
fs-join: warning: 1 of 10 records (10.0%) were late and dropped: $HINT"
}

@test "fs-join: as-of left join writes an order without an earlier profile with nulls" {
	run --separate-stderr asof --type left
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"t":"order","user":"u1","ts":4000,"id":"o1","tier":"bronze","profile_ts":1000}
{"t":"order","user":"u2","ts":5200,"id":"o3","tier":null,"profile_ts":null}
{"t":"order","user":"u1","ts":5500,"id":"o4","tier":"silver-2","profile_ts":5400}
{"t":"order","user":"u1","ts":6000,"id":"o2","tier":"gold","profile_ts":6000}
EOF
}

@test "fs-join: as-of --retention ignores profiles older than the retention" {
	run --separate-stderr asof --retention 1s
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"t":"order","user":"u1","ts":5500,"id":"o4","tier":"silver-2","profile_ts":5400}
{"t":"order","user":"u1","ts":6000,"id":"o2","tier":"gold","profile_ts":6000}
EOF
}

@test "fs-join: as-of --right-time-field takes the right side's time from its own member (a window's end)" {
	# windowed rows, known at their window's end; labels at ts
	printf '%s\n' '{"user":"a","window_start":0,"window_end":60000,"n":3}' \
	    '{"user":"a","window_start":60000,"window_end":120000,"n":5}' > rows.ndjson
	printf '%s\n' '{"user":"a","ts":59999}' '{"user":"a","ts":60000}' \
	    '{"user":"a","ts":119999}' '{"user":"a","ts":120000}' > labels.ndjson
	run --separate-stderr fs-join --asof --type left --key user --data-only \
	    --right-time-field window_end --right-fields window_end:feature_ts,n:n \
	    --right rows.ndjson labels.ndjson
	assert_success
	assert_output - <<'EOF'
{"user":"a","ts":59999,"feature_ts":null,"n":null}
{"user":"a","ts":60000,"feature_ts":60000,"n":3}
{"user":"a","ts":119999,"feature_ts":60000,"n":3}
{"user":"a","ts":120000,"feature_ts":120000,"n":5}
EOF
	run --separate-stderr fs-join --asof --key user --right-time-field 'a..b' \
	    --right rows.ndjson labels.ndjson
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-join: --right-time-field: invalid path: 'a..b'"
}

@test "fs-join: as-of never uses a right record from after the left record's time (3000 random records)" {
	# Random keys and times in random order; no record is late, so every
	# order must get exactly the newest profile of its key at or before it.
	awk 'BEGIN { srand(7); for (i = 0; i < 3000; i++) {
		side = rand() < 0.5 ? "order" : "profile"
		printf "{\"t\":\"%s\",\"user\":\"u%d\",\"ts\":%d,\"n\":%d}\n",
			side, int(rand() * 20), int(rand() * 100000), i } }' > in.ndjson
	fs-join --asof --key user --left-where t=order --max-out-of-orderness 1000s \
		--type left --right-fields ts:profile_ts,n:profile_n < in.ndjson > out.ndjson
	run jq -n --slurpfile in in.ndjson --slurpfile out out.ndjson '
		($in | map(select(.t == "profile")) | group_by(.user)
		    | map({key: .[0].user, value: map(.ts)}) | from_entries) as $p
		| [$out[] | select(has("@fs") | not)] as $o
		| { orders: ($o | length),
		    future: ([$o[] | select(.profile_ts != null and .profile_ts > .ts)] | length),
		    wrong: ([$o[] | . as $r
		        | ([($p[$r.user] // [])[] | select(. <= $r.ts)] | max) as $want
		        | select($r.profile_ts != $want)] | length) }'
	assert_success
	assert_equal "$(echo "$output" | jq -c .)" \
		"{\"orders\":$(grep -c '"order"' in.ndjson),\"future\":0,\"wrong\":0}"
}

# --- window ------------------------------------------------------------

window() {
	fs-join --window --key k --left-where s=L --left-fields k,v:l \
		--right-fields k,v:r "$@" < "$J/window.ndjson"
}

@test "fs-join: window inner join pairs all records of a key and window when the window closes" {
	run --separate-stderr window --type inner
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"k":"a","l":"l1","right_k":"a","r":"r1","window_start":0,"window_end":10000,"window_time":9999}
{"k":"a","l":"l1","right_k":"a","r":"r2","window_start":0,"window_end":10000,"window_time":9999}
{"k":"a","l":"l2","right_k":"a","r":"r1","window_start":0,"window_end":10000,"window_time":9999}
{"k":"a","l":"l2","right_k":"a","r":"r2","window_start":0,"window_end":10000,"window_time":9999}
{"@fs":"watermark","ts":10000}
{"k":"b","l":"l3","right_k":"b","r":"r4","window_start":10000,"window_end":20000,"window_time":19999}
EOF
	# l4 belongs to the window that closed at watermark 10000.
	assert_equal "$stderr" "fs-join: -:8: late left record dropped: $HINT
fs-join: 1 late record dropped (1 left, 0 right)
fs-join: warning: 1 of 9 records (11.1%) were late and dropped: $HINT"
}

@test "fs-join: window left join adds left records of windows without a right one" {
	run --separate-stderr window --type left
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"k":"a","l":"l1","right_k":"a","r":"r1","window_start":0,"window_end":10000,"window_time":9999}
{"k":"a","l":"l1","right_k":"a","r":"r2","window_start":0,"window_end":10000,"window_time":9999}
{"k":"a","l":"l2","right_k":"a","r":"r1","window_start":0,"window_end":10000,"window_time":9999}
{"k":"a","l":"l2","right_k":"a","r":"r2","window_start":0,"window_end":10000,"window_time":9999}
{"@fs":"watermark","ts":10000}
{"k":"b","l":"l3","right_k":"b","r":"r4","window_start":10000,"window_end":20000,"window_time":19999}
{"k":"d","l":"l5","right_k":null,"r":null,"window_start":10000,"window_end":20000,"window_time":19999}
EOF
}

@test "fs-join: window right join adds right records of windows without a left one" {
	run --separate-stderr window --type right
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"k":"a","l":"l1","right_k":"a","r":"r1","window_start":0,"window_end":10000,"window_time":9999}
{"k":"a","l":"l1","right_k":"a","r":"r2","window_start":0,"window_end":10000,"window_time":9999}
{"k":"a","l":"l2","right_k":"a","r":"r1","window_start":0,"window_end":10000,"window_time":9999}
{"k":"a","l":"l2","right_k":"a","r":"r2","window_start":0,"window_end":10000,"window_time":9999}
{"k":null,"l":null,"right_k":"c","r":"r3","window_start":0,"window_end":10000,"window_time":9999}
{"@fs":"watermark","ts":10000}
{"k":"b","l":"l3","right_k":"b","r":"r4","window_start":10000,"window_end":20000,"window_time":19999}
EOF
}

@test "fs-join: window full join writes pairs and the unmatched records of both sides, keys in order" {
	run --separate-stderr window --type full
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"k":"a","l":"l1","right_k":"a","r":"r1","window_start":0,"window_end":10000,"window_time":9999}
{"k":"a","l":"l1","right_k":"a","r":"r2","window_start":0,"window_end":10000,"window_time":9999}
{"k":"a","l":"l2","right_k":"a","r":"r1","window_start":0,"window_end":10000,"window_time":9999}
{"k":"a","l":"l2","right_k":"a","r":"r2","window_start":0,"window_end":10000,"window_time":9999}
{"k":null,"l":null,"right_k":"c","r":"r3","window_start":0,"window_end":10000,"window_time":9999}
{"@fs":"watermark","ts":10000}
{"k":"b","l":"l3","right_k":"b","r":"r4","window_start":10000,"window_end":20000,"window_time":19999}
{"k":"d","l":"l5","right_k":null,"r":null,"window_start":10000,"window_end":20000,"window_time":19999}
EOF
}

@test "fs-join: window semi join writes each left record whose key and window have a right record, once" {
	run --separate-stderr fs-join --window --key k --left-where s=L --type semi < "$J/window.ndjson"
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"s":"L","k":"a","ts":1000,"v":"l1","window_start":0,"window_end":10000,"window_time":9999}
{"s":"L","k":"a","ts":500,"v":"l2","window_start":0,"window_end":10000,"window_time":9999}
{"@fs":"watermark","ts":10000}
{"s":"L","k":"b","ts":12000,"v":"l3","window_start":10000,"window_end":20000,"window_time":19999}
EOF
}

@test "fs-join: window anti join writes the left records whose key and window have no right record" {
	run --separate-stderr fs-join --window --key k --left-where s=L --type anti < "$J/window.ndjson"
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"@fs":"watermark","ts":10000}
{"s":"L","k":"d","ts":16000,"v":"l5","window_start":10000,"window_end":20000,"window_time":19999}
EOF
}

@test "fs-join: a semi join writes a left record as it came when in the bytes fs tools write, else as its parse" {
	cat > in.ndjson <<'EOF'
{"s":"L","k":"a","ts":1000,"v":"l1","window_start":0,"window_end":10000}
{"s":"L", "k":"a", "ts":1500, "v":"l2", "window_start":0, "window_end":10000}
{"s":"L","k":"a","ts":1600,"v":1.50,"window_start":0,"window_end":10000}
{"s":"L","k":"a","ts":1700,"window_time":5,"window_start":0,"window_end":10000}
{"s":"L","k":"a","ts":1800,"v":"\u00e9\/","window_start":0,"window_end":10000}
{"s":"R","k":"a","ts":2000,"v":"r1","window_start":0,"window_end":10000}
{"s":"L","k":"b","ts":2500,"v":"l3","window_start":0,"window_end":10000}
EOF
	run --separate-stderr fs-join --window --type semi --key k --left-where s=L \
		--data-only < in.ndjson
	assert_success
	assert_output '{"s":"L","k":"a","ts":1000,"v":"l1","window_start":0,"window_end":10000,"window_time":9999}
{"s":"L","k":"a","ts":1500,"v":"l2","window_start":0,"window_end":10000,"window_time":9999}
{"s":"L","k":"a","ts":1600,"v":1.5,"window_start":0,"window_end":10000,"window_time":9999}
{"s":"L","k":"a","ts":1700,"window_time":9999,"window_start":0,"window_end":10000}
{"s":"L","k":"a","ts":1800,"v":"é/","window_start":0,"window_end":10000,"window_time":9999}'
}

@test "fs-join: semi and anti joins write the members --left-fields selects; --right-fields is a usage error" {
	run --separate-stderr fs-join --window --key k --left-where s=L --type semi --left-fields v:l < "$J/window.ndjson"
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"l":"l1","window_start":0,"window_end":10000,"window_time":9999}
{"l":"l2","window_start":0,"window_end":10000,"window_time":9999}
{"@fs":"watermark","ts":10000}
{"l":"l3","window_start":10000,"window_end":20000,"window_time":19999}
EOF
	run --separate-stderr fs-join --window --key k --left-where s=L --type anti --right-fields v:r < "$J/window.ndjson"
	assert_equal "$status" 2
	assert_equal "$output" ""
	assert_equal "$stderr" "fs-join: --right-fields: --type anti writes left records only
Try 'fs-join --help' for more information."
}

# Left records a (matched), b (unmatched); right records a, c (unmatched).
outer_inputs() {
	printf '%s\n' '{"k":"a","ts":1000,"x":1}' '{"k":"b","ts":2000,"x":2}' > l.ndjson
	printf '%s\n' '{"k":"a","ts":1500,"y":10}' '{"k":"c","ts":2500,"y":30}' > r.ndjson
}

@test "fs-join: an unmatched row of an outer join has the other side's members as nulls, as Flink's rows do" {
	outer_inputs
	run --separate-stderr fs-join --between -1s,1s --key k --type full l.ndjson --right r.ndjson
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	assert_equal "$(grep -v '"@fs"' <<< "$output")" \
'{"k":"a","ts":1000,"x":1,"right_k":"a","right_ts":1500,"right_y":10}
{"k":"b","ts":2000,"x":2,"right_k":null,"right_ts":null,"right_y":null}
{"k":"c","ts":null,"x":null,"right_k":"c","right_ts":2500,"right_y":30}'
	# With a selection and a prefix: the selected members, as nulls.
	run --separate-stderr fs-join --between -1s,1s --key k --type full l.ndjson --right r.ndjson \
		--left-fields x --right-fields y --right-prefix r_
	assert_equal "$status" 0
	assert_equal "$(grep -v '"@fs"' <<< "$output")" \
'{"x":1,"r_y":10}
{"x":2,"r_y":null}
{"x":null,"r_y":30}'
}

@test "fs-join: every row of every outer join kind has the same members, with or without a selection" {
	outer_inputs
	fs-window --tumble 10s l.ndjson > lw.ndjson
	fs-window --tumble 10s r.ndjson > rw.ndjson
	local join sel l r
	for join in "--between -1s,1s --type left" "--between -1s,1s --type right" \
		"--between -1s,1s --type full" "--asof --type left" \
		"--window --type left" "--window --type right" "--window --type full"; do
		for sel in "" "--right-fields y" "--left-fields x" "--right-prefix r_ --left-prefix l_"; do
			l=l.ndjson r=r.ndjson
			[[ "$join" == --window* ]] && l=lw.ndjson r=rw.ndjson
			run --separate-stderr bash -c "fs-join $join $sel --key k $l --right $r | grep -v '\"@fs\"' | jq -c keys_unsorted | sort -u"
			assert_equal "$join $sel: $status $(wc -l <<< "$output")" "$join $sel: 0 1"
		done
	done
}

@test "fs-join: the member names learned for nulls are kept across a restart from a checkpoint" {
	printf '%s\n' '{"@fs":"restore","id":0}' '{"s":"r","k":"a","ts":1000,"y":1}' \
		'{"s":"l","k":"b","ts":2000,"x":2}' '{"@fs":"barrier","id":1}' > part1.ndjson
	printf '%s\n' '{"@fs":"restore","id":1}' '{"@fs":"end","id":2}' > part2.ndjson
	run --separate-stderr fs-join --between 0,0 --key k --right-where s=r --type left --checkpoint-dir ck part1.ndjson
	assert_equal "$status" 1
	run --separate-stderr fs-join --between 0,0 --key k --right-where s=r --type left --checkpoint-dir ck part2.ndjson
	assert_equal "$status" 0
	assert_equal "$output" '{"@fs":"restore","id":1}
{"s":"l","k":"b","ts":2000,"x":2,"right_s":null,"right_k":null,"right_ts":null,"right_y":null}
{"@fs":"end","id":2}'
}

@test "fs-join: the left input may be given as FILE, as every filter takes it, or with --left; not both" {
	outer_inputs
	run --separate-stderr fs-join --between -1s,1s --key k --left l.ndjson --right r.ndjson
	assert_equal "$status" 0
	local want="$output"
	run --separate-stderr fs-join --between -1s,1s --key k --right r.ndjson l.ndjson
	assert_equal "$status" 0
	assert_equal "$output" "$want"
	run --separate-stderr fs-join --between -1s,1s --key k --left l.ndjson --right r.ndjson l.ndjson
	assert_equal "$status" 2
	assert_equal "$stderr" "fs-join: the left input is named twice: --left 'l.ndjson' and 'l.ndjson'
Try 'fs-join --help' for more information."
	run --separate-stderr fs-join --between -1s,1s --key k l.ndjson r.ndjson
	assert_equal "$status" 2
	assert_equal "$stderr" "fs-join: one input file at most (the right one goes with --right): 'r.ndjson'
Try 'fs-join --help' for more information."
}

@test "fs-join: a late record says which side it came from, where, and what to do; the count says how many of each" {
	printf '%s\n' '{"k":"a","ts":5000}' '{"k":"a","ts":9000}' '{"k":"a","ts":1000}' > l.ndjson
	printf '%s\n' '{"k":"a","ts":6000}' '{"k":"a","ts":9000}' '{"k":"a","ts":100}' '{"k":"a","ts":200}' > r.ndjson
	run --separate-stderr fs-join --between 0,0 --key k l.ndjson --right r.ndjson
	assert_equal "$status" 0
	assert_equal "$stderr" "fs-join: l.ndjson:3: late left record dropped: $HINT
fs-join: r.ndjson:3: late right record dropped: $HINT
fs-join: 3 late records dropped (1 left, 2 right)
fs-join: warning: 3 of 7 records (42.9%) were late and dropped: $HINT"
	run --separate-stderr fs-join --between 0,0 --key k l.ndjson --right r.ndjson -q
	assert_equal "$status" 0
	assert_equal "$stderr" ""
}

@test "fs-join: a window join of unwindowed records rejects them with a reason" {
	printf '%s\n' '{"s":"L","k":"a","ts":1}' > in.ndjson
	run --separate-stderr fs-join --window --key k --left-where s=L < in.ndjson
	assert_equal "$status" 1
	assert_equal "$stderr" "fs-join: -:1: missing or invalid window_start/window_end (is the input windowed by fs-window?)"
}

# --- checkpoints ---------------------------------------------------------

# Output after the line $2 of file $1 (exclusive).
after_line() {
	awk -v m="$2" 'found { print } $0 == m { found = 1 }' "$1"
}

# Output up to the line $2 of file $1 (inclusive).
through_line() {
	awk -v m="$2" '{ print } $0 == m { exit }' "$1"
}

@test "fs-join: restart from a checkpoint mid-stream gives the same output as an uninterrupted run (interval, interleaved)" {
	args=(--between -10s,0 --key user --left-where t=click --max-out-of-orderness 5s
		--type left --right-fields id:imp -q)
	in="$J/interval-barriers.ndjson"
	# Watermark records come out when the input pauses, which depends on
	# timing on a pipe: the records and barriers are compared.
	fs-join "${args[@]}" < "$in" | grep -v '"watermark"' > whole.out
	# A run that dies after barrier 2 (here: its input stops one record
	# later), then a restart from checkpoint 2 with the rest.
	head -n 8 "$in" | fs-join "${args[@]}" --checkpoint-dir ck |
		grep -v '"watermark"' > first.out
	{ echo '{"@fs":"restore","id":2}'; after_line "$in" '{"@fs":"barrier","id":2}'; } |
		fs-join "${args[@]}" --checkpoint-dir ck | grep -v '"watermark"' > second.out
	{ through_line first.out '{"@fs":"barrier","id":2}'
	  after_line second.out '{"@fs":"restore","id":2}'; } > resumed.out
	run diff whole.out resumed.out
	assert_success
	assert_equal "$(head -n 1 second.out)" '{"@fs":"restore","id":2}'
	# The restart really had state to restore: c3 meets i4 across it.
	grep -q '"id":"c3","imp":"i4"' second.out
}

@test "fs-join: restart of an interval join whose rows are all field lists gives the same output (full, nested key)" {
	# Rows of field lists are written from each record's part, kept with
	# it when held; restored records have none and are parsed again.
	jq -c 'if .user then .u = {id: .user} | del(.user) else . end' \
		"$J/interval-barriers.ndjson" > in.ndjson
	args=(--between -10s,0 --key u.id --left-where t=click --max-out-of-orderness 5s
		--type full --left-fields id:click,u.id:user --right-fields id:imp,ts:rts -q)
	fs-join "${args[@]}" < in.ndjson | grep -v '"watermark"' > whole.out
	head -n 8 in.ndjson | fs-join "${args[@]}" --checkpoint-dir ck |
		grep -v '"watermark"' > first.out
	{ echo '{"@fs":"restore","id":2}'; after_line in.ndjson '{"@fs":"barrier","id":2}'; } |
		fs-join "${args[@]}" --checkpoint-dir ck | grep -v '"watermark"' > second.out
	{ through_line first.out '{"@fs":"barrier","id":2}'
	  after_line second.out '{"@fs":"restore","id":2}'; } > resumed.out
	run diff whole.out resumed.out
	assert_success
	grep -q '^{"click":"c3","user":"b","imp":"i4","rts":19000}$' second.out
	grep -q '^{"click":null,"user":null,"imp":"i3","rts":4000}$' second.out
}

@test "fs-join: barriers are aligned across two inputs: the checkpoint holds exactly what came before it on each" {
	run fs-join --window --type full --key k --left "$J/left-barrier.ndjson" \
		--right "$J/right-barrier.ndjson" --checkpoint-dir ck
	assert_success
	assert_equal "$(grep -c '"@fs":"barrier"' <<< "$output")" 2
	run fs-ckpt show ck fs-join 1
	assert_success
	assert_equal "$(jq -c '[.records[] | .[3].v]' <<< "$output")" '["l1","r1","l2"]'
	run fs-ckpt show ck fs-join 2
	assert_equal "$(jq -c '[.records[] | .[3].v]' <<< "$output")" '["l3","r3","r4"]'
}

@test "fs-join: restart of a two-input window join from a checkpoint gives the same output as an uninterrupted run" {
	args=(--window --type full --key k --left-fields k,v:l --right-fields k,v:r)
	L="$J/left-barrier.ndjson" R="$J/right-barrier.ndjson"
	fs-join "${args[@]}" --left "$L" --right "$R" --checkpoint-dir ck |
		grep -v '"watermark"' > whole.out
	b2='{"@fs":"barrier","id":2}'
	{ echo '{"@fs":"restore","id":2}'; after_line "$L" "$b2"; } > left.rest
	{ echo '{"@fs":"restore","id":2}'; after_line "$R" "$b2"; } > right.rest
	fs-join "${args[@]}" --left left.rest --right right.rest --checkpoint-dir ck |
		grep -v '"watermark"' > second.out
	{ through_line whole.out "$b2"; after_line second.out '{"@fs":"restore","id":2}'; } > resumed.out
	run diff whole.out resumed.out
	assert_success
	# The restore is forwarded once although both inputs carried it.
	assert_equal "$(grep -c restore second.out)" 1
}

@test "fs-join: restart of an as-of join from a checkpoint gives the same output as an uninterrupted run" {
	args=(--asof --key user --left-where t=order --max-out-of-orderness 1s
		--right-prefix '' --right-fields tier -q)
	b1='{"@fs":"barrier","id":1}'
	{ sed -n 1,4p "$J/asof.ndjson"; echo "$b1"; sed -n '5,$p' "$J/asof.ndjson"; } > in.ndjson
	fs-join "${args[@]}" < in.ndjson | grep -v '"watermark"' > whole.out
	head -n 7 in.ndjson | fs-join "${args[@]}" --checkpoint-dir ck |
		grep -v '"watermark"' > first.out
	{ echo '{"@fs":"restore","id":1}'; after_line in.ndjson "$b1"; } |
		fs-join "${args[@]}" --checkpoint-dir ck | grep -v '"watermark"' > second.out
	{ through_line first.out "$b1"; after_line second.out '{"@fs":"restore","id":1}'; } > resumed.out
	run diff whole.out resumed.out
	assert_success
	# o1 waited in the checkpoint for the watermark: the restart wrote it.
	grep -q '"id":"o1","tier":"bronze"' second.out
}

# --- inputs, bad input, usage ---------------------------------------------

@test "fs-join: a record of neither side is bad input, reported with its line" {
	printf '%s\n' '{"s":"l","k":1,"ts":1}' '{"s":"x","k":1,"ts":1}' > in.ndjson
	run --separate-stderr fs-join --between 0,0 --key k --left-where s=l \
		--right-where s=r < in.ndjson
	assert_equal "$status" 1
	assert_equal "$stderr" "fs-join: -:2: record matches neither --left-where nor --right-where"
}

@test "fs-join: a record without the key is skipped with --on-error skip, reported and counted" {
	printf '%s\n' '{"s":"l","k":1,"ts":1}' '{"s":"l","ts":2}' '{"s":"r","k":1,"ts":1}' > in.ndjson
	run --separate-stderr fs-join --between 0,0 --key k --left-where s=l \
		--on-error skip --right-fields ts:rts < in.ndjson
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"s":"l","k":1,"ts":1,"rts":1}
EOF
	assert_equal "$stderr" "fs-join: -:2: missing or non-scalar key field 'k'
fs-join: 1 record rejected"
}

@test "fs-join: a record written whole is refused as its parse refuses it, also for a member the join does not read" {
	printf '%s\n' '{"t":"imp","user":"a","ts":1000,"id":"i1","big":18446744073709551615}' \
		'{"t":"click","user":"a","ts":2000,"id":"c1"}' > in.ndjson
	run --separate-stderr fs-join --between -10s,0 --key user --left-where t=click \
		--data-only --on-error skip < in.ndjson
	assert_success
	assert_output ''
	assert_equal "$stderr" "fs-join: -:1: invalid JSON: column 68: too big integer near '18446744073709551615'
fs-join: 1 record rejected"
}

@test "fs-join: invalid JSON fails with its line under the default policy" {
	printf '%s\n' '{"s":"l","k":1,"ts":1}' '{"s":' > in.ndjson
	run --separate-stderr fs-join --between 0,0 --key k --left-where s=l --left in.ndjson
	assert_equal "$status" 1
	[[ "$stderr" == "fs-join: in.ndjson:2: invalid JSON: "* ]] || fail "stderr: $stderr"
}

@test "fs-join: selectors compare numbers by their JSON text" {
	printf '%s\n' '{"side":1,"k":"a","ts":5}' '{"side":2,"k":"a","ts":5}' > in.ndjson
	run --separate-stderr fs-join --between 0,0 --key k --left-where side=1 \
		--right-fields side:rside < in.ndjson
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"side":1,"k":"a","ts":5,"rside":2}
EOF
}

@test "fs-join: a member both sides fill differently is a collision: left kept, warned once, counted" {
	printf '%s\n' '{"s":"l","k":1,"ts":1,"v":"L"}' '{"s":"r","k":1,"ts":1,"v":"R"}' \
		'{"s":"r","k":1,"ts":1,"v":"R2"}' > in.ndjson
	run --separate-stderr fs-join --between 0,0 --key k --left-where s=l \
		--right-prefix '' --stats < in.ndjson
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"s":"l","k":1,"ts":1,"v":"L"}
{"s":"l","k":1,"ts":1,"v":"L"}
EOF
	assert_equal "$stderr" "fs-join: member on both sides, keeping the left one (see --right-prefix): 's'
fs-join: member on both sides, keeping the left one (see --right-prefix): 'v'
fs-join: left 1, right 2, late 0+0, output 2, state peak 3 records, collisions 4"
}

@test "fs-join: different key paths on the two sides, the key written under the left's" {
	printf '%s\n' '{"s":"r","id":7,"ts":1,"name":"x"}' '{"s":"l","user":{"id":7},"ts":1}' > in.ndjson
	run --separate-stderr fs-join --between 0,0 --left-key user.id --right-key id \
		--left-where s=l --right-fields name < in.ndjson
	assert_equal "$status" 0
	assert_output - <<'EOF'
{"s":"l","user":{"id":7},"ts":1,"right_name":"x"}
EOF
}

@test "fs-join: usage errors exit 2" {
	run --separate-stderr fs-join --key k --left-where s=l
	assert_equal "$status" 2
	[[ "$stderr" == "fs-join: give exactly one of --between, --asof, --window"* ]] || fail "$stderr"
	run --separate-stderr fs-join --between 0,0 --type semi --key k --left-where s=l
	assert_equal "$status" 2
	run --separate-stderr fs-join --asof --type full --key k --left-where s=l
	assert_equal "$status" 2
	run --separate-stderr fs-join --between 5s,0 --key k --left-where s=l
	assert_equal "$status" 2
	run --separate-stderr fs-join --between 10,0 --key k --left-where s=l
	assert_equal "$status" 2
	run --separate-stderr fs-join --between 0,0 --key k
	assert_equal "$status" 2
	run --separate-stderr fs-join --between 0,0 --retention 1h --key k --left-where s=l
	assert_equal "$status" 2
	run --separate-stderr fs-join --asof --left-where s=l
	assert_equal "$status" 2
	run --separate-stderr fs-join --asof --key k --right r.ndjson --left-where s=l
	assert_equal "$status" 2
}

@test "fs-join: unknown control records are forwarded once, also when both inputs carry them" {
	printf '%s\n' '{"@fs":"window","size":5}' '{"k":1,"ts":1}' > l.ndjson
	printf '%s\n' '{"@fs":"window","size":5}' '{"k":1,"ts":1}' > r.ndjson
	run --separate-stderr fs-join --between 0,0 --key k --right-fields ts:rts \
		--left l.ndjson --right r.ndjson
	assert_equal "$status" 0
	assert_equal "$(grep -c '"window"' <<< "$output")" 1
	assert_line '{"k":1,"ts":1,"rts":1}'
}

@test "fs-join: a window join of fs-window output with renamed window members" {
	printf '%s\n' '{"k":"a","ts":1000,"v":"l1"}' > l.ndjson
	printf '%s\n' '{"k":"a","ts":2000,"v":"r1"}' '{"k":"b","ts":3000,"v":"r2"}' > r.ndjson
	fs-window --tumble 10s --start-field ws --end-field we < l.ndjson > lw.ndjson
	fs-window --tumble 10s --start-field ws --end-field we < r.ndjson > rw.ndjson
	run --separate-stderr fs-join --window --type full --key k --start-field ws --end-field we \
		--left lw.ndjson --right rw.ndjson --left-fields v:l --right-fields v:r
	assert_equal "$status" 0
	assert_equal "$(grep -v '"@fs"' <<< "$output")" \
'{"l":"l1","r":"r1","ws":0,"we":10000,"window_time":9999}
{"l":null,"r":"r2","ws":0,"we":10000,"window_time":9999}'
}

@test "fs-join: with --idle-timeout a right side that sends nothing stops holding the as-of join back" {
	printf '%s\n' '{"user":"u1","ts":1000,"id":"o1"}' '{"user":"u2","ts":2000,"id":"o2"}' > orders.ndjson
	mkfifo profiles.fifo
	exec 7<>profiles.fifo           # open, and never written
	timeout 60 fs-join --asof --type left --key user --idle-timeout 100ms \
		--right profiles.fifo --right-fields tier < orders.ndjson > out.ndjson 7>&- &
	pid=$!
	# Wait (at most 30 s) for the rows; they can only come from the idle
	# rule, since the right input is still open.
	for ((i = 0; i < 300; i++)); do
		[ "$(grep -c '"id"' out.ndjson)" -ge 2 ] && break
		sleep 0.1
	done
	kill -0 "$pid"                  # still running: the input is open
	exec 7>&-
	wait "$pid"
	assert_equal "$(grep -v '"@fs"' out.ndjson)" \
'{"user":"u1","ts":1000,"id":"o1","right_tier":null}
{"user":"u2","ts":2000,"id":"o2","right_tier":null}'
}

@test "fs-join: a barrier waiting for an input that ends without it goes out at that end" {
	printf '%s\n' '{"k":1,"ts":1}' '{"@fs":"barrier","id":1}' '{"k":1,"ts":2}' '{"@fs":"end","id":2}' > l.ndjson
	printf '%s\n' '{"k":1,"ts":2}' > r.ndjson
	run --separate-stderr fs-join --between 0,0 --key k --right-fields ts:rts \
		--left l.ndjson --right r.ndjson --checkpoint-dir ck
	assert_equal "$status" 0
	assert_equal "$(grep -v '"watermark"' <<< "$output")" \
'{"@fs":"barrier","id":1}
{"k":1,"ts":2,"rts":2}
{"@fs":"end","id":2}'
	run fs-ckpt show ck fs-join 1
	assert_equal "$(jq -c '[.records[] | .[3]]' <<< "$output")" '[{"k":1,"ts":1},{"k":1,"ts":2}]'
}

@test "fs-join: --late pass writes late records through, marked late" {
	run --separate-stderr interval --late pass --right-fields id:imp
	assert_equal "$status" 0
	assert_line '{"t":"click","user":"a","ts":12000,"id":"c4","late":true}'
	assert_equal "$stderr" "fs-join: -:8: late left record passed on marked late: $HINT
fs-join: 1 late record passed on marked late (1 left, 0 right)
fs-join: warning: 1 of 9 records (11.1%) were late and passed on marked: $HINT"
}

@test "fs-join: SIGTERM stops a live join cleanly: output so far written, exit 0" {
	mkfifo in.fifo
	exec 7<>in.fifo
	fs-join --between 0,0 --key k --left-where s=l --right-fields ts:rts \
		< in.fifo > out.ndjson 7>&- &
	pid=$!
	printf '%s\n' '{"s":"l","k":1,"ts":5}' '{"s":"r","k":1,"ts":5}' >&7
	for ((i = 0; i < 300; i++)); do
		grep -q rts out.ndjson && break
		sleep 0.1
	done
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	exec 7>&-
	assert_equal "$st" 0
	assert_equal "$(grep -v '"@fs"' out.ndjson)" '{"s":"l","k":1,"ts":5,"rts":5}'
}

@test "fs-join: a reader that goes away (| head) ends the join quietly, exit 0" {
	awk 'BEGIN { for (i = 0; i < 200000; i++)
		printf "{\"s\":\"%s\",\"k\":%d,\"ts\":%d}\n", i % 2 ? "l" : "r", i % 10, i }' > in.ndjson
	run bash -c 'fs-join --between -100ms,0 --key k --left-where s=l < in.ndjson | head -n 1 > /dev/null; echo "${PIPESTATUS[0]}"'
	assert_output 0
}

@test "fs-join: a window join of hopping windows in panes joins per window, as with --explode" {
	printf '%s\n' '{"k":"a","ts":1000,"v":"l1"}' '{"k":"a","ts":7000,"v":"l2"}' > l.ndjson
	printf '%s\n' '{"k":"a","ts":6000,"v":"r1"}' > r.ndjson
	for f in l r; do
		fs-window --hop 10s --slide 5s < $f.ndjson > $f.panes
		fs-window --hop 10s --slide 5s --explode < $f.ndjson > $f.windows
	done
	args=(--window --key k --left-fields v:l --right-fields v:r)
	fs-join "${args[@]}" --left l.panes --right r.panes | grep -v '"@fs"' > panes.out
	fs-join "${args[@]}" --left l.windows --right r.windows | grep -v '"@fs"' > windows.out
	assert_file_equals panes.out \
'{"l":"l1","r":"r1","window_start":0,"window_end":10000,"window_time":9999}
{"l":"l2","r":"r1","window_start":0,"window_end":10000,"window_time":9999}
{"l":"l2","r":"r1","window_start":5000,"window_end":15000,"window_time":14999}'
	run diff panes.out windows.out
	assert_success
}

@test "fs-join: restart of a window join of panes from a checkpoint gives the same output" {
	printf '%s\n' '{"s":"L","k":"a","ts":1000,"v":"l1"}' '{"s":"R","k":"a","ts":2000,"v":"r1"}' \
		'{"s":"L","k":"a","ts":7000,"v":"l2"}' '{"s":"R","k":"a","ts":8000,"v":"r2"}' \
		'{"s":"L","k":"a","ts":12000,"v":"l3"}' '{"s":"R","k":"a","ts":13000,"v":"r3"}' |
		fs-window --hop 10s --slide 5s > panes.ndjson
	b='{"@fs":"barrier","id":1}'
	# The barrier after the third record: l1, r1, l2 are held, each in
	# its two windows.
	{ sed -n 1,5p panes.ndjson; echo "$b"; sed -n '6,$p' panes.ndjson; echo '{"@fs":"end","id":2}'; } > in.ndjson
	args=(--window --type full --key k --left-where s=L --left-fields v:l --right-fields v:r)
	fs-join "${args[@]}" < in.ndjson | grep -v '"watermark"' > whole.out
	fs-join "${args[@]}" --checkpoint-dir ck < in.ndjson > /dev/null
	{ echo '{"@fs":"restore","id":1}'; after_line in.ndjson "$b"; } |
		fs-join "${args[@]}" --checkpoint-dir ck | grep -v '"watermark"' > second.out
	{ through_line whole.out "$b"; after_line second.out '{"@fs":"restore","id":1}'; } > resumed.out
	run diff whole.out resumed.out
	assert_success
	grep -q '"l":"l1","r":"r1","window_start":0' second.out
}

@test "fs-join: a window join's output feeds fs-agg per window (the spec record says: bounds, not panes)" {
	printf '%s\n' '{"k":"a","ts":1000}' '{"k":"a","ts":6000}' | fs-window --hop 10s --slide 5s > l.ndjson
	printf '%s\n' '{"k":"a","ts":2000}' | fs-window --hop 10s --slide 5s > r.ndjson
	run --separate-stderr bash -c 'fs-join --window --key k --left l.ndjson --right r.ndjson \
		--left-fields k | fs-agg --key k --agg pairs=count --time-field window_time'
	assert_equal "$status" 0
	assert_equal "$(grep -v '"@fs"' <<< "$output")" \
'{"window_start":-5000,"window_end":5000,"k":"a","pairs":1}
{"window_start":0,"window_end":10000,"k":"a","pairs":2}'
}

# --- with a real broker (scripts/kafka-start) ------------------------------

@test "fs-join: clicks and impressions from Kafka, one consumer of both topics or two consumers, join alike" {
	require_kafka
	B=$FS_KAFKA_BROKERS C=$(uniq_name clicks) I=$(uniq_name imps)
	grep '"click"' "$J/clicks-impressions.ndjson" | fs-produce -b "$B" -t "$C" --timestamp
	grep '"imp"' "$J/clicks-impressions.ndjson" | fs-produce -b "$B" -t "$I" --timestamp
	# The envelope carries the topic, the value and the timestamp (here
	# the event time); a large out-of-orderness: nothing is late, however
	# the two topics interleave.
	args=(--between -10s,0 --key value.user --time-field timestamp
		--max-out-of-orderness 1h --left-fields value.id:click --right-fields value.id:imp)
	timeout 120 fs-consume -b "$B" -t "$C" -t "$I" -o beginning -e |
		fs-join "${args[@]}" --left-where "topic=$C" | grep -v '"@fs"' | sort > one.out
	timeout 120 fs-consume -b "$B" -t "$C" -o beginning -e |
		fs-join "${args[@]}" --right <(timeout 120 fs-consume -b "$B" -t "$I" -o beginning -e) |
		grep -v '"@fs"' | sort > two.out
	assert_file_equals one.out '{"click":"c1","imp":"i1"}
{"click":"c1","imp":"i2"}
{"click":"c2","imp":"i1"}
{"click":"c2","imp":"i2"}
{"click":"c3","imp":"i4"}
{"click":"c4","imp":"i2"}'
	run diff one.out two.out
	assert_success
}

@test "fs-join: a field no record of its side has is said at exit; --strict makes it an error" {
	printf '%s\n' '{"s":"L","k":1,"ts":1}' '{"s":"R","k":1,"ts":1,"v":2}' > in.ndjson
	run --separate-stderr fs-join --between 0,0 --key k --left-where s=L --right-fields vv:x in.ndjson
	assert_success
	assert_output '{"s":"L","k":1,"ts":1,"x":null}'
	assert_equal "$stderr" "fs-join: field 'vv' (in --right-fields vv:x) was absent in the only record"
	run --separate-stderr fs-join --between 0,0 --key k --left-where s=L --right-fields vv:x --strict in.ndjson
	assert_failure 1
	# present on its own side only: no word
	run --separate-stderr fs-join --between 0,0 --key k --left-where s=L --right-fields v:x --strict in.ndjson
	assert_success
	assert_equal "$stderr" ""
}
