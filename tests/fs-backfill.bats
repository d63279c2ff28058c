#!/usr/bin/env bats
# fs-backfill: archived logs replayed as one event-time ordered stream.

load test_helper

D="$DATA/backfill"

# Line N (from 0) of the last run's stderr.
errline() {
	sed -n "$(($1 + 1))p" <<< "$stderr"
}

# Simulates a crash just after the oldest checkpoint kept in DIR (the
# stage keeps the newest three): removes the later ones, prints its id.
crash_after_oldest() {
	local f id oldest=
	for f in "$1"/fs-backfill/*.ckpt; do
		id=$((10#$(basename "$f" .ckpt)))
		[ -n "$oldest" ] || oldest=$id
	done
	for f in "$1"/fs-backfill/*.ckpt; do
		id=$((10#$(basename "$f" .ckpt)))
		[ "$id" -le "$oldest" ] || rm "$f"
	done
	echo "$oldest"
}

# n records with ts = start, start+step, ... in file $1.
gen() {
	awk -v n="$2" -v s="$3" -v d="$4" -v tag="$5" \
		'BEGIN { for (i = 0; i < n; i++) printf "{\"ts\":%d,\"f\":\"%s\",\"i\":%d}\n", s + i * d, tag, i }' > "$1"
}

@test "fs-backfill: merges in-order files by event time, ties in input order" {
	run --separate-stderr fs-backfill "$D/clicks-a.ndjson" "$D/clicks-b.ndjson"
	assert_success
	assert_equal "$stderr" ""
	assert_output - <<'EOF'
{"ts":1000,"user":"a","n":1}
{"ts":2000,"user":"b","n":1}
{"ts":3000,"user":"a","n":2}
{"ts":3000,"user":"b","n":2}
{"ts":5000,"user":"a","n":3}
{"ts":6000,"user":"b","n":3}
{"ts":7000,"user":"a","n":4}
{"ts":"1970-01-01T00:00:08Z","user":"b","n":4}
EOF
}

@test "fs-backfill: gzip and zstd are recognised by magic bytes, not by name" {
	gzip -c "$D/clicks-a.ndjson" > a.dat
	zstd -q -c "$D/clicks-b.ndjson" > b.log
	fs-backfill "$D/clicks-a.ndjson" "$D/clicks-b.ndjson" > expected
	run --separate-stderr fs-backfill a.dat b.log
	assert_success
	assert_output "$(cat expected)"
}

@test "fs-backfill: concatenated gzip members are read through" {
	head -2 "$D/clicks-a.ndjson" | gzip -c > a.gz
	tail -2 "$D/clicks-a.ndjson" | gzip -c >> a.gz
	run --separate-stderr fs-backfill a.gz
	assert_success
	assert_output "$(cat "$D/clicks-a.ndjson")"
}

@test "fs-backfill: a directory is every file under it, a quoted glob is expanded" {
	mkdir -p arc/day2 arc/.hidden
	cp "$D/clicks-a.ndjson" arc/
	gzip -c "$D/clicks-b.ndjson" > arc/day2/b.ndjson.gz
	echo '{"ts":1}' > arc/.hidden/x.ndjson
	fs-backfill "$D/clicks-a.ndjson" "$D/clicks-b.ndjson" > expected
	run --separate-stderr fs-backfill arc
	assert_success
	assert_output "$(cat expected)"
	run --separate-stderr fs-backfill 'arc/*.ndjson' 'arc/day2/*.gz'
	assert_success
	assert_output "$(cat expected)"
}

@test "fs-backfill: reads standard input, compressed or not" {
	run --separate-stderr fs-backfill < "$D/clicks-a.ndjson"
	assert_success
	assert_output "$(cat "$D/clicks-a.ndjson")"
	gzip -c "$D/clicks-a.ndjson" > a.gz
	run --separate-stderr fs-backfill - < a.gz
	assert_success
	assert_output "$(cat "$D/clicks-a.ndjson")"
}

@test "fs-backfill: --from is inclusive, --to exclusive" {
	run --separate-stderr fs-backfill --from 3000 --to 1970-01-01T00:00:06Z \
		"$D/clicks-a.ndjson" "$D/clicks-b.ndjson"
	assert_success
	assert_output - <<'EOF'
{"ts":3000,"user":"a","n":2}
{"ts":3000,"user":"b","n":2}
{"ts":5000,"user":"a","n":3}
EOF
}

@test "fs-backfill: --watermarks are exact: the next record's time, and --to at the end" {
	run --separate-stderr fs-backfill --watermarks --watermark-every 2s --to 7500 \
		"$D/clicks-a.ndjson" "$D/clicks-b.ndjson"
	assert_success
	assert_output - <<EOF
{"@fs":"def","lineage":[{"stage":"source","tool":"fs-backfill","files":["$D/clicks-a.ndjson","$D/clicks-b.ndjson"],"format":"auto","time_field":"ts","watermark_bound":1}]}
{"@fs":"watermark","ts":1000}
{"ts":1000,"user":"a","n":1}
{"ts":2000,"user":"b","n":1}
{"@fs":"watermark","ts":3000}
{"ts":3000,"user":"a","n":2}
{"ts":3000,"user":"b","n":2}
{"@fs":"watermark","ts":5000}
{"ts":5000,"user":"a","n":3}
{"ts":6000,"user":"b","n":3}
{"@fs":"watermark","ts":7000}
{"ts":7000,"user":"a","n":4}
{"@fs":"watermark","ts":7500}
EOF
}

@test "fs-backfill: without --to the last watermark is just past the last record" {
	run --separate-stderr fs-backfill --watermarks "$D/clicks-a.ndjson"
	assert_success
	# the definition record (fs(7)) first, then the watermarks
	assert_line --index 1 '{"@fs":"watermark","ts":1000}'
	assert_line --index 9 '{"@fs":"watermark","ts":7001}'
}

@test "fs-backfill: a record out of order in a merged file fails with file and line" {
	run --separate-stderr fs-backfill "$D/disorder.ndjson"
	assert_failure 1
	assert_output - <<'EOF'
{"ts":100,"n":1}
{"ts":300,"n":2}
EOF
	assert_equal "$stderr" "fs-backfill: $D/disorder.ndjson:3: out of order: 100ms before the previous record (see --max-disorder and --sort)"
}

@test "fs-backfill: --on-error skip passes out-of-order records over, counted" {
	run --separate-stderr fs-backfill --on-error skip "$D/disorder.ndjson"
	assert_success
	assert_output - <<'EOF'
{"ts":100,"n":1}
{"ts":300,"n":2}
{"ts":600,"n":4}
{"ts":700,"n":7}
EOF
	assert_equal "$(echo "$stderr" | tail -1)" "fs-backfill: 3 records rejected"
}

@test "fs-backfill: --max-disorder reorders within the bound and rejects what comes later" {
	run --separate-stderr fs-backfill --max-disorder 200ms --dead-letter dl "$D/disorder.ndjson"
	assert_success
	assert_output - <<'EOF'
{"ts":100,"n":1}
{"ts":200,"n":3}
{"ts":300,"n":2}
{"ts":400,"n":5}
{"ts":600,"n":4}
{"ts":700,"n":7}
EOF
	assert_file_equals dl '{"ts":50,"n":6}'
	assert_equal "$(errline 0)" "fs-backfill: $D/disorder.ndjson:6: out of order by more than --max-disorder: 350ms before a record already emitted"
}

@test "fs-backfill: --sort orders everything, stable by file and position" {
	run --separate-stderr fs-backfill --sort "$D/disorder.ndjson" "$D/clicks-a.ndjson"
	assert_success
	assert_output - <<'EOF'
{"ts":50,"n":6}
{"ts":100,"n":1}
{"ts":200,"n":3}
{"ts":300,"n":2}
{"ts":400,"n":5}
{"ts":600,"n":4}
{"ts":700,"n":7}
{"ts":1000,"user":"a","n":1}
{"ts":3000,"user":"a","n":2}
{"ts":5000,"user":"a","n":3}
{"ts":7000,"user":"a","n":4}
EOF
}

@test "fs-backfill: --sort spills to temporary files beyond --memory and merges them" {
	awk 'BEGIN { srand(7); for (i = 0; i < 400000; i++) printf "{\"ts\":%d,\"i\":%d}\n", int(rand() * 100000), i }' > rnd.ndjson
	sort -t: -k2,2n -s rnd.ndjson > expected
	mkdir tmp
	run --separate-stderr fs-backfill --sort --memory 16M --tmpdir tmp --stats rnd.ndjson
	assert_success
	[ "$output" = "$(cat expected)" ] || fail "sorted output differs"
	re='sort: [1-9][0-9]* runs spilled'
	[[ "$stderr" =~ $re ]] || fail "no spill reported: $stderr"
	assert_equal "$(ls tmp)" ""
}

@test "fs-backfill: --concat keeps the files as they are, one after the other" {
	run --separate-stderr fs-backfill --concat "$D/disorder.ndjson" "$D/clicks-a.ndjson"
	assert_success
	assert_output "$(cat "$D/disorder.ndjson" "$D/clicks-a.ndjson")"
}

@test "fs-backfill: CSV: header, quoting, embedded newlines, inferred integers and numbers" {
	run --separate-stderr fs-backfill "$D/orders.csv"
	assert_success
	assert_output - <<'EOF'
{"ts":1000,"user":"alice","price":1.5,"zip":"01234","note":"hello, world"}
{"ts":2000,"user":"bob","price":2,"zip":12345,"note":"two\nlines\n\nand a blank"}
{"ts":3000,"user":"123","price":-7,"zip":null,"note":""}
{"ts":4000,"user":"x","price":1000.0,"zip":9,"note":"say \"hi\""}
EOF
}

@test "fs-backfill: CSV: --schema types columns" {
	run --separate-stderr fs-backfill --schema 'zip:string,price:number' "$D/orders.csv"
	assert_success
	assert_line --index 1 '{"ts":2000,"user":"bob","price":2,"zip":"12345","note":"two\nlines\n\nand a blank"}'
	assert_line --index 2 '{"ts":3000,"user":"123","price":-7,"zip":"","note":""}'
}

@test "fs-backfill: CSV: a bad record is reported by record number and line" {
	printf 'ts,a\n1,2\n2,3,4\n3,x\n4,"y\n' > bad.csv
	run --separate-stderr fs-backfill --on-error skip --schema a:int bad.csv
	assert_success
	assert_output '{"ts":1,"a":2}'
	assert_equal "$(errline 0)" "fs-backfill: bad.csv: record 2 (line 3): 3 fields, the header has 2"
	assert_equal "$(errline 1)" "fs-backfill: bad.csv: record 3 (line 4): column 'a': not an integer: 'x'"
	assert_equal "$(errline 2)" "fs-backfill: bad.csv: record 4 (line 5): unterminated quoted field"
	assert_equal "$(errline 3)" "fs-backfill: 3 records rejected"
}

@test "fs-backfill: CSV inside gzip, named .csv.gz" {
	gzip -c "$D/orders.csv" > o.csv.gz
	fs-backfill "$D/orders.csv" > expected
	run --separate-stderr fs-backfill o.csv.gz
	assert_success
	assert_output "$(cat expected)"
}

@test "fs-backfill: kafka archives replay the values; tombstones and non-objects rejected" {
	run --separate-stderr fs-backfill --format kafka --on-error skip --stats "$D/envelope.ndjson"
	assert_success
	assert_output - <<'EOF'
{"ts":1000,"user":"a"}
{"ts":1500,"user":"b"}
{"user":"a","note":"no ts: the kafka timestamp counts"}
EOF
	assert_equal "$(errline 0)" "fs-backfill: $D/envelope.ndjson:4: null value (tombstone)"
	assert_equal "$(errline 1)" "fs-backfill: $D/envelope.ndjson:6: value is not a JSON object"
	assert_equal "$(errline 2)" "fs-backfill: 1 file, 741 bytes read; 6 records read, 3 emitted, 0 out of --from/--to, 2 rejected, 1 control records passed over"
}

@test "fs-backfill: kafka envelopes are read as fs-produce -E reads them: a value's bytes that hold a record replay it, a malformed envelope is rejected with the decoder's reason" {
	cat > env.ndjson <<'EOF'
{"topic":"t","partition":0,"offset":0,"timestamp":1000,"timestamp_type":"create","key":null,"headers":{},"value":"{\"ts\": 1000, \"user\": \"a\"}"}
{"topic":"t","partition":0,"offset":1,"timestamp":2000,"timestamp_type":"create","key":null,"headers":{},"value":"eyJ1c2VyIjoiYiJ9","value_encoding":"base64"}
{"topic":"t","partition":"0","offset":2,"timestamp":3000,"timestamp_type":"create","key":null,"headers":{},"value":{"user":"c"}}
{"topic":"t","partition":0,"offset":3,"timestamp":4000,"timestamp_type":"create","key":null,"headers":{"h":1},"value":{"user":"d"}}
EOF
	run --separate-stderr fs-backfill --format kafka --on-error skip env.ndjson
	assert_success
	assert_output - <<'EOF'
{"ts": 1000, "user": "a"}
{"user":"b"}
EOF
	assert_equal "$(errline 0)" "fs-backfill: env.ndjson:3: envelope: 'partition' is not a partition number"
	assert_equal "$(errline 1)" "fs-backfill: env.ndjson:4: envelope: header 'h': expected a string, null or {\"base64\":...}"
}

@test "fs-backfill: --envelope writes the whole envelope" {
	run --separate-stderr fs-backfill --format kafka --envelope --on-error skip -q "$D/envelope.ndjson"
	assert_success
	assert_line --index 0 "$(sed -n 1p "$D/envelope.ndjson")"
	assert_line --index 2 "$(sed -n 5p "$D/envelope.ndjson")"
	assert_equal "$stderr" "fs-backfill: 2 records rejected"
}

@test "fs-backfill: a truncated gzip file is an error naming it and how far it got; what was read is kept" {
	gen big.ndjson 5000 0 10 x
	gzip -c big.ndjson > big.gz
	head -c 12000 big.gz > cut.gz
	run --separate-stderr fs-backfill cut.gz
	assert_failure 1
	n=${#lines[@]}
	[ "$n" -gt 100 ] || fail "only $n records kept"
	assert_equal "$output" "$(head -n "$n" big.ndjson)"
	assert_equal "$stderr" "fs-backfill: cut.gz: truncated gzip data after 12000 compressed bytes; $n complete lines before it were read"
}

@test "fs-backfill: the cut line of a truncated file goes to the dead letters, other files go on" {
	gen big.ndjson 5000 0 10 x
	gzip -c big.ndjson > big.gz
	head -c 12000 big.gz > cut.gz
	gen other.ndjson 3 5 100000 y
	run --separate-stderr fs-backfill --dead-letter dl cut.gz other.ndjson
	assert_success
	n=$(grep -c '"f":"x"' <<< "$output")
	assert_equal "$(grep -c '"f":"y"' <<< "$output")" 3
	# The tail line is the next record of big.ndjson, cut short.
	next=$(sed -n "$((n + 1))p" big.ndjson)
	[[ "$next" == "$(cat dl)"* ]] || fail "dead letter '$(cat dl)' is not a prefix of '$next'"
	[ "$(cat dl)" != "$next" ] || fail "dead letter is a whole line"
}

@test "fs-backfill: a truncated zstd file is an error too" {
	gen big.ndjson 20000 0 10 x
	zstd -q -c big.ndjson > big.zst
	head -c 20000 big.zst > cut.zst
	run --separate-stderr fs-backfill cut.zst
	assert_failure 1
	[[ "$stderr" == "fs-backfill: cut.zst: truncated zstd data after 20000 compressed bytes; "*" complete lines before it were read" ]] ||
		fail "unexpected: $stderr"
}

@test "fs-backfill: invalid JSON and a missing time are reported with file and line" {
	printf '{"ts":1}\nnot json\n{"x":2}\n{"ts":3}\n' > bad.ndjson
	run --separate-stderr fs-backfill --on-error skip bad.ndjson
	assert_success
	assert_output $'{"ts":1}\n{"ts":3}'
	[[ "$(errline 0)" == "fs-backfill: bad.ndjson:2: invalid JSON"* ]] || fail "stderr: $stderr"
	assert_equal "$(errline 1)" "fs-backfill: bad.ndjson:3: missing time field 'ts'"
}

@test "fs-backfill: --time-field takes a dotted path" {
	printf '{"e":{"at":2}}\n{"e":{"at":1}}\n' > x.ndjson
	run --separate-stderr fs-backfill --sort --time-field e.at x.ndjson
	assert_success
	assert_output $'{"e":{"at":1}}\n{"e":{"at":2}}'
}

@test "fs-backfill: checkpoints: a run resumed from checkpoint N continues exactly after it" {
	gen a.ndjson 50 0 20 a
	gen b.ndjson 40 5 25 b
	gzip a.ndjson
	fs-backfill --checkpoint-dir ck --checkpoint-records 7 a.ndjson.gz b.ndjson > full
	grep -v '"@fs"' full > full.data
	k=$(crash_after_oldest ck)
	[ "$k" -gt 1 ] || fail "too few checkpoints: $k"
	run --separate-stderr fs-backfill --checkpoint-dir ck --checkpoint-records 7 a.ndjson.gz b.ndjson
	assert_success
	assert_line --index 0 "{\"@fs\":\"restore\",\"id\":$k}"
	sed -n "1,/\"barrier\",\"id\":$k}/p" full | grep -v '"@fs"' > before
	grep -v '"@fs"' <<< "$output" > after
	assert_equal "$(cat before after)" "$(cat full.data)"
}

@test "fs-backfill: checkpoints with --max-disorder resume without loss or repeat" {
	awk 'BEGIN { for (i = 0; i < 60; i++) printf "{\"ts\":%d,\"i\":%d}\n", i * 10 + (i % 3) * 7, i }' > d.ndjson
	fs-backfill --max-disorder 30ms --checkpoint-dir ck --checkpoint-records 9 d.ndjson > full
	grep -v '"@fs"' full > full.data
	k=$(crash_after_oldest ck)
	[ "$k" -gt 1 ] || fail "too few checkpoints: $k"
	run --separate-stderr fs-backfill --max-disorder 30ms --checkpoint-dir ck --checkpoint-records 9 d.ndjson
	assert_success
	sed -n "1,/\"barrier\",\"id\":$k}/p" full | grep -v '"@fs"' > before
	grep -v '"@fs"' <<< "$output" > after
	assert_equal "$(cat before after)" "$(cat full.data)"
}

@test "fs-backfill: checkpoints with --sort resume after the last record emitted" {
	gen a.ndjson 30 0 10 a
	tac a.ndjson > r.ndjson
	fs-backfill --sort --checkpoint-dir ck --checkpoint-records 4 r.ndjson > full
	k=$(crash_after_oldest ck)
	[ "$k" -gt 1 ] || fail "too few checkpoints: $k"
	run --separate-stderr fs-backfill --sort --checkpoint-dir ck --checkpoint-records 4 r.ndjson
	assert_success
	sed -n "1,/\"barrier\",\"id\":$k}/p" full | grep -v '"@fs"' > before
	grep -v '"@fs"' <<< "$output" > after
	assert_equal "$(cat before after)" "$(cat a.ndjson)"
}

@test "fs-backfill: a finished backfill run again finds the work done" {
	fs-backfill --checkpoint-dir ck "$D/clicks-a.ndjson" > /dev/null
	run --separate-stderr fs-backfill --checkpoint-dir ck "$D/clicks-a.ndjson"
	assert_success
	assert_output "{\"@fs\":\"restore\",\"id\":1}
{\"@fs\":\"def\",\"lineage\":[{\"stage\":\"source\",\"tool\":\"fs-backfill\",\"files\":[\"$D/clicks-a.ndjson\"],\"format\":\"auto\",\"time_field\":\"ts\",\"watermark_bound\":1}]}
{\"@fs\":\"end\",\"id\":2}"
}

@test "fs-backfill: a checkpoint of other inputs is refused" {
	fs-backfill --checkpoint-dir ck "$D/clicks-a.ndjson" > /dev/null
	run --separate-stderr fs-backfill --checkpoint-dir ck "$D/clicks-b.ndjson"
	assert_failure 1
	assert_equal "$stderr" "fs-backfill: the checkpoint was taken over other input files: '$D/clicks-a.ndjson', not '$D/clicks-b.ndjson'"
}

@test "fs-backfill: --rate and --speed pace without changing the output" {
	run --separate-stderr fs-backfill --rate 1000 --speed 1000 "$D/clicks-a.ndjson" "$D/clicks-b.ndjson"
	assert_success
	assert_equal "$output" "$(fs-backfill "$D/clicks-a.ndjson" "$D/clicks-b.ndjson")"
}

@test "fs-backfill: on a terminal, progress per file and in total, erased at the end" {
	gen a.ndjson 5000 0 10 a
	gen b.ndjson 3000 5 10 b
	# script(1) gives the tool a terminal; its first redraw comes at the
	# first check (every 1024 records), so this does not depend on time.
	run script -qec "fs-backfill a.ndjson b.ndjson > out" /dev/null
	assert_success
	[[ "$output" == *"a.ndjson "*" records"* ]] || fail "no line for a.ndjson: $output"
	[[ "$output" == *"b.ndjson "*" records"* ]] || fail "no line for b.ndjson: $output"
	[[ "$output" == *"total "*"records/s"* ]] || fail "no total line: $output"
	[[ "$output" == *$'\e[J'* ]] || fail "not erased at the end"
	assert_equal "$(wc -l < out)" 8000
	run script -qec "fs-backfill --no-progress a.ndjson b.ndjson > out" /dev/null
	assert_output ""
}

@test "fs-backfill: no progress display when stderr is not a terminal; --stats counts" {
	run --separate-stderr fs-backfill "$D/clicks-a.ndjson" "$D/clicks-b.ndjson"
	assert_equal "$stderr" ""
	run --separate-stderr fs-backfill --stats --from 2000 "$D/clicks-a.ndjson" "$D/clicks-b.ndjson"
	assert_success
	assert_equal "$(errline 0)" "fs-backfill: 2 files, 251 bytes read; 8 records read, 7 emitted, 1 out of --from/--to, 0 rejected, 0 control records passed over"
	re='^fs-backfill: [0-9.]+ s, [0-9]+ records/s, peak RSS [0-9]+ kB$'
	[[ "$(errline 1)" =~ $re ]] || fail "stderr: $stderr"
}

@test "fs-backfill: watermarks and barriers in an archive are passed over, other control records forwarded" {
	printf '{"@fs":"window","size":60000}\n{"ts":1}\n{"@fs":"barrier","id":3}\n{"@fs":"watermark","ts":1}\n{"ts":2}\n' > c.ndjson
	run --separate-stderr fs-backfill c.ndjson
	assert_success
	assert_output $'{"@fs":"window","size":60000}\n{"ts":1}\n{"ts":2}'
}

@test "fs-backfill: a missing file or a glob matching nothing is an error" {
	run --separate-stderr fs-backfill nope.ndjson
	assert_failure 1
	assert_equal "$stderr" "fs-backfill: cannot open: 'nope.ndjson': No such file or directory"
	run --separate-stderr fs-backfill 'nope/*.gz'
	assert_failure 1
	assert_equal "$stderr" "fs-backfill: no file matches: 'nope/*.gz'"
}

@test "fs-backfill: usage errors exit 2" {
	run --separate-stderr fs-backfill --sort --concat x
	assert_failure 2
	assert_equal "$(errline 0)" "fs-backfill: --concat, --max-disorder and --sort exclude each other"
	run --separate-stderr fs-backfill --envelope x
	assert_failure 2
	run --separate-stderr fs-backfill --sort --memory 1K x
	assert_failure 2
	assert_equal "$(errline 0)" "fs-backfill: --memory: expected a size from 16M to 16T, such as 256M or 2G: '1K'"
	run --separate-stderr fs-backfill --schema 'a:date' x.csv
	assert_failure 2
	run --separate-stderr fs-backfill --from 5000 --to 5000 x
	assert_failure 2
	run --separate-stderr fs-backfill --concat --watermarks x
	assert_failure 2
}

@test "fs-backfill: output to a closed pipe ends quietly" {
	gen big.ndjson 200000 0 1 x
	run --separate-stderr bash -c 'fs-backfill big.ndjson | head -1'
	assert_success
	assert_output '{"ts":0,"f":"x","i":0}'
	assert_equal "$stderr" ""
}

@test "fs-backfill: training-set joins each label as of its time: nothing from after it leaks" {
	# Two users with events every 10s; each label falls between events,
	# and a bait event of its user follows it by 1ms with an amount that
	# would show in any sum it leaked into.
	awk 'BEGIN {
		for (i = 0; i < 60; i++)
			printf "{\"ts\":%d,\"user\":\"u%d\",\"amount\":%d}\n", 100000 + i * 10000, i % 2, i + 1
	}' > events.ndjson
	awk 'BEGIN {
		for (j = 0; j < 12; j++) {
			t = 100000 + j * 50000 + 4321
			printf "{\"ts\":%d,\"user\":\"u%d\",\"label\":%d}\n", t, j % 2, j % 3
		}
	}' > labels.ndjson
	awk -F'[:,}]' '{ printf "{\"ts\":%d,\"user\":%s,\"amount\":1000000}\n", $2 + 1, $4 }' labels.ndjson > bait.ndjson
	# Labels in any order; events in two archives, one compressed.
	tac labels.ndjson > labels-shuffled.ndjson
	gzip bait.ndjson
	run --separate-stderr "$FS_ROOT/scripts/training-set" -k user --over 1d \
		-a n=count -a spend=sum:amount labels-shuffled.ndjson events.ndjson bait.ndjson.gz
	assert_success
	assert_equal "${#lines[@]}" 12
	# Expected: per label, its user's events at or before the label's
	# time (baits of earlier labels included), computed directly; and what
	# a leak of 1ms would give: every row different.
	asof() {
		awk -F'[:,}]' -v leak="$1" '
			NR == FNR { ets[NR] = $2; eu[NR] = $4; ea[NR] = $6; ne = NR; next }
			{
				n = 0; s = 0; last = -1
				for (i = 1; i <= ne; i++)
					if (eu[i] == $4 && ets[i] <= $2 + leak) { n++; s += ea[i]; if (ets[i] > last) last = ets[i] }
				printf "{\"ts\":%d,\"user\":%s,\"label\":%d,\"feature_ts\":%d,\"n_1d\":%d,\"spend_1d\":%d}\n", $2, $4, $6, last, n, s
			}' <(cat events.ndjson <(zcat bait.ndjson.gz)) labels.ndjson
	}
	asof 0 > expected
	asof 1 > leaky
	assert_equal "$output" "$(cat expected)"
	assert_equal "$(sort expected | comm -12 - <(sort leaky))" ""
}

@test "fs-backfill: training-set's old -o and -t spellings still mean --over and --time-field" {
	printf '{"t":1000,"user":"a"}\n{"t":3000,"user":"a"}\n' > events.ndjson
	printf '{"t":2000,"user":"a"}\n' > labels.ndjson
	run --separate-stderr "$FS_ROOT/scripts/training-set" --over 1h --time-field t \
		labels.ndjson events.ndjson
	assert_success
	assert_output '{"t":2000,"user":"a","feature_ts":1000,"n_1h":1}'
	run --separate-stderr "$FS_ROOT/scripts/training-set" -o 1h -t t labels.ndjson events.ndjson
	assert_success
	assert_output '{"t":2000,"user":"a","feature_ts":1000,"n_1h":1}'
}

# --- Avro object container files (issue 13) ----------------------------

@test "fs-backfill: Avro container files written by fastavro (null, deflate) are read as NDJSON rows, unions unwrapped" {
	py=$("$FS_ROOT/scripts/avro-venv")
	"$py" - <<-'PY'
	import fastavro
	schema = fastavro.parse_schema({
	    "type": "record", "name": "Click", "namespace": "ex", "fields": [
	        {"name": "ts", "type": "long"},
	        {"name": "user", "type": ["null", "string"]},
	        {"name": "amount", "type": ["null", "long", "double"]},
	        {"name": "ok", "type": "boolean"},
	        {"name": "tags", "type": {"type": "array", "items": "string"}},
	        {"name": "attrs", "type": {"type": "map", "values": "int"}},
	        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["VIEW", "BUY"]}},
	        {"name": "geo", "type": ["null", {"type": "record", "name": "Geo", "fields": [
	            {"name": "cc", "type": "string"}]}]}]})
	rows = [
	    {"ts": 1000, "user": "a", "amount": 5, "ok": True, "tags": ["x"], "attrs": {"k": 1}, "kind": "VIEW", "geo": {"cc": "fr"}},
	    {"ts": 2000, "user": None, "amount": 2.5, "ok": False, "tags": [], "attrs": {}, "kind": "BUY", "geo": None},
	] + [{"ts": 3000 + i, "user": "u%d" % i, "amount": i, "ok": True, "tags": [], "attrs": {}, "kind": "VIEW", "geo": None} for i in range(5000)]
	for codec in ("null", "deflate"):
	    with open("clicks-%s.avro" % codec, "wb") as f:
	        fastavro.writer(f, schema, rows, codec=codec, sync_interval=4096)
	PY
	run --separate-stderr fs-backfill -q --data-only clicks-null.avro
	assert_success
	assert_equal "${#lines[@]}" 5002
	assert_line --index 0 '{"ts":1000,"user":"a","amount":5,"ok":true,"tags":["x"],"attrs":{"k":1},"kind":"VIEW","geo":{"cc":"fr"}}'
	assert_line --index 1 '{"ts":2000,"user":null,"amount":2.5,"ok":false,"tags":[],"attrs":{},"kind":"BUY","geo":null}'
	assert_line --index 5001 '{"ts":7999,"user":"u4999","amount":4999,"ok":true,"tags":[],"attrs":{},"kind":"VIEW","geo":null}'
	fs-backfill -q --data-only clicks-deflate.avro | cmp - <(printf '%s\n' "${lines[@]}")
	# merged with NDJSON in event-time order, as any input
	printf '{"ts":1500,"user":"n"}\n' > more.ndjson
	run --separate-stderr fs-backfill -q --data-only clicks-null.avro more.ndjson
	assert_line --index 1 '{"ts":1500,"user":"n"}'
}

@test "fs-backfill: a truncated or corrupt Avro container file is reported, as a truncated gzip file is" {
	fs-gen --count 3000 --data-only | fs-sink-file --format avro --partition '' out
	f=$(ls out/*.avro)
	head -c 20000 "$f" > cut.avro
	run --separate-stderr fs-backfill -q --data-only cut.avro
	assert_failure 1
	[[ $stderr == *"cut.avro: truncated avro data after 20000 compressed bytes"* ]] || fail "$stderr"
	# a block whose sync marker is wrong
	size=$(stat -c %s "$f")
	{ head -c $((size - 1)) "$f"; printf 'X'; } > bad.avro
	run --separate-stderr fs-backfill -q --data-only bad.avro
	assert_failure 1
	[[ $stderr == *"corrupt avro data"*"sync marker"* ]] || fail "$stderr"
}

@test "fs-backfill: the offline store of fs-sink-file (Avro, NDJSON zstd) reads back as it was written, and resumes from a checkpoint" {
	fs-gen --count 20000 --rate 5 --data-only > ev
	fs-sink-file --format avro --compress deflate avro ev
	fs-sink-file --compress zstd zst ev
	fs-backfill -q --data-only avro | cmp - ev
	fs-backfill -q --data-only zst | cmp - ev
	# stopped (SIGPIPE) after some checkpoints, run again: from the
	# newest complete one (N: after N * 1000 records), the rest exactly
	fs-backfill -q --checkpoint-dir ck --checkpoint-records 1000 avro |
	    head -n 5000 > /dev/null
	run --separate-stderr fs-backfill -q --checkpoint-dir ck --checkpoint-records 1000 avro
	assert_success
	n=$(head -n 1 <<< "$output" | sed -n 's/^{"@fs":"restore","id":\([0-9]*\)}$/\1/p')
	[ -n "$n" ] && [ "$n" -ge 4 ] && [ "$n" -lt 20 ] || fail "restored: ${lines[0]}"
	grep -v '"@fs"' <<< "$output" | cmp - <(tail -n +$((n * 1000 + 1)) ev)
}
