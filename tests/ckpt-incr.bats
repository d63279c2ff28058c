#!/usr/bin/env bats
# Incremental checkpoints (fs-checkpoint(5), "Incremental checkpoints"):
# fs-agg writes a delta of the keys changed and dropped since its last
# checkpoint, and a full piece when the deltas outgrow the last one.  A
# restore (full piece, then each delta in order) must give exactly the
# state an uninterrupted run had: every run restarted from a checkpoint
# writes, from there on, what the uninterrupted run wrote after that
# checkpoint's barrier.

load test_helper

AGGS=(--key user --agg clicks=count:if:event=click --agg spend=sum:amount
	--agg items=count_distinct:item)

# The events: 20 000 users over about 2 hours of event time, so that
# 10-minute windows fire (keys dropped) while others fill (keys changed);
# a barrier every 3000 records changes about a third of the keys.
make_events() {
	fs-gen --count "${1:-150000}" --users 20000 --rate 20 --data-only > ev.ndjson
}

# pipeline DIR: the source to fs-agg, a barrier every 3000 records.
write_pipeline() {
	cat > p.sh <<-PIPE
	fs-backfill -q --watermarks --checkpoint-dir "\$1" --checkpoint-records 3000 ev.ndjson |
	    fs-window -q --tumble 10m --max-out-of-orderness 1h --checkpoint-dir "\$1" |
	    fs-agg -v ${AGGS[*]} --checkpoint-dir "\$1"
	PIPE
}

# The lines that must match: results, barriers and the end (a run
# restored sends its definition record again, after the restore record).
significant() {
	grep -v '"@fs":"watermark"' "$1" | grep -v '"@fs":"restore"' |
		grep -v '"@fs":"def"' || true
}

# The complete lines of a file a killed run left (its last may be cut).
complete_lines() {
	if [ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" != '\n' ]; then
		sed '$d' "$1"
	else
		cat "$1"
	fi
}

# check_attempt OUT: OUT (a run restored from checkpoint R) is, from its
# restore record on, a prefix of what the uninterrupted run wrote after
# its barrier R.
check_attempt() {
	local r n
	# Killed before it wrote a line: nothing to compare.
	[ -n "$(complete_lines "$1")" ] || return 0
	r=$(head -n 1 "$1" | jq -r 'select(."@fs" == "restore") | .id')
	[ -n "$r" ] || { echo "$1: no restore record first"; return 1; }
	if [ "$r" = 0 ]; then
		significant ref > ref.after
	else
		awk -v b="{\"@fs\":\"barrier\",\"id\":$r}" 'f; $0 == b { f = 1 }' ref |
			significant /dev/stdin > ref.after
		[ -s ref.after ] || { echo "$1: barrier $r not in the reference"; return 1; }
	fi
	complete_lines "$1" > got.full
	significant got.full > got
	n=$(wc -l < got)
	head -n "$n" ref.after | cmp -s - got ||
		{ echo "$1 (restored from $r) differs from the uninterrupted run"; diff <(head -n "$n" ref.after) got | head -n 5; return 1; }
}

# kill_runs KILLS [STORE]: runs the pipeline on STORE (default ck), kills
# its process group with SIGKILL KILLS times, then lets it finish; each
# run's output in out.N.  Sets ATTEMPTS.  A kill comes after the run has
# passed 1 to 3 new barriers (so that every run makes progress, however
# fast or loaded the machine) and a random 0-9 ms more, so that it falls
# between checkpoints, not on them.
kill_runs() {
	local k pid store=${2:-ck}
	ATTEMPTS=0
	for ((k = 1; k <= $1; k++)); do
		setsid bash p.sh "$store" > "out.$k" 2> "err.$k" &
		pid=$!
		wait_barriers "out.$k" $((RANDOM % 3 + 1)) "$pid"
		sleep "0.00$((RANDOM % 10))"
		kill -KILL -- "-$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		ATTEMPTS=$k
		grep -q '"@fs":"end"' "out.$k" && return 0
	done
	ATTEMPTS=$(($1 + 1))
	bash p.sh "$store" > "out.$ATTEMPTS" 2> "err.$ATTEMPTS"
}

# wait_barriers OUT N PID: waits until OUT holds N barriers or PID has
# ended (at most 60 s).
wait_barriers() {
	local _
	for _ in $(seq 3000); do
		[ "$(grep -c '"@fs":"barrier"' "$1")" -ge "$2" ] && return 0
		kill -0 "$3" 2>/dev/null || return 0
		sleep 0.02
	done
}

@test "ckpt-incr: fs-agg writes deltas on a full piece, and a new full piece when the deltas outgrow it" {
	make_events
	write_pipeline
	bash p.sh ck > ref 2>/dev/null
	kinds=$(for f in ck/fs-agg/*.ckpt; do head -n 1 "$f" | jq -r .kind; done | sort | uniq -c)
	echo "$kinds"
	[[ "$kinds" == *full* && "$kinds" == *delta* ]]
	# Every delta's chain (prev, prev's prev...) ends at a full piece
	# the store still holds.
	for f in ck/fs-agg/*.ckpt; do
		while [ "$(head -n 1 "$f" | jq -r .kind)" = delta ]; do
			f=$(printf 'ck/fs-agg/%020d.ckpt' "$(head -n 1 "$f" | jq .prev)")
			[ -f "$f" ]
		done
	done
	# Compaction (a child process rewrites a delta as a full piece): the
	# log says so across the run.
	rm -rf ck2
	fs-backfill -q --watermarks --checkpoint-dir ck2 --checkpoint-records 3000 ev.ndjson |
		fs-window -q --tumble 10m --max-out-of-orderness 1h --checkpoint-dir ck2 |
		fs-agg -v "${AGGS[@]}" --checkpoint-dir ck2 2> log > /dev/null
	full=$(grep -c 'checkpoint [0-9]* compacted: full piece' log)
	delta=$(grep -c 'checkpoint [0-9]* written: delta' log)
	echo "full=$full delta=$delta"
	[ "$full" -ge 2 ] && [ "$delta" -ge 10 ]
	# The compacted pieces are full ones of the same checkpoint.
	for id in $(sed -n 's/.*checkpoint \([0-9]*\) compacted.*/\1/p' log); do
		f=$(printf 'ck2/fs-agg/%020d.ckpt' "$id")
		[ ! -f "$f" ] || head -n 1 "$f" | jq -e '.kind == "full"'
	done
}

@test "ckpt-incr: a pipeline killed with SIGKILL 10 times between checkpoints writes after each restore exactly what an uninterrupted run wrote" {
	make_events 200000
	write_pipeline
	bash p.sh ref-ck > ref 2>/dev/null
	kill_runs 10
	echo "attempts: $ATTEMPTS"
	for ((k = 1; k <= ATTEMPTS; k++)); do
		check_attempt "out.$k"
	done
	# Some runs restored a chain of deltas, not only full pieces.
	cat err.* | grep 'full piece [0-9]* and [0-9]* deltas'

	# The last run ran to the end: its output ends as the reference does.
	grep -q '"@fs":"end"' "out.$ATTEMPTS"
	[ "$(significant "out.$ATTEMPTS" | tail -n 1)" = "$(significant ref | tail -n 1)" ]
	# Every kill fell before the end (at most about 4 barriers a run of 66).
	[ "$ATTEMPTS" -eq 11 ]
}

@test "ckpt-incr: a corrupt delta makes its checkpoint incomplete: the pipeline resumes from the one before, with the same output" {
	make_events 60000
	write_pipeline
	bash p.sh ref-ck > ref 2>/dev/null
	# A run stopped (SIGKILL) after some checkpoints.
	setsid bash p.sh ck > out.1 2>/dev/null &
	pid=$!
	# Waits on progress, up to a minute (a loaded machine may take 5 s to
	# write the first pieces): three pieces, one of them a delta.
	for _ in $(seq 1200); do
		[ "$(ls ck/fs-agg 2>/dev/null | wc -l)" -ge 3 ] &&
			head -qn 1 ck/fs-agg/*.ckpt 2>/dev/null | jq -r .kind 2>/dev/null |
			grep -qx delta && break
		sleep 0.05
	done
	kill -KILL -- "-$pid"; wait "$pid" || true
	# Corrupt fs-agg's newest delta: flip a payload byte.  Pieces after
	# it (a compaction may have rewritten the newest as a full piece)
	# are removed, as if the kill had come right after the delta.
	newest=
	for f in $(ls ck/fs-agg/*.ckpt | sort -r); do
		if [ "$(head -n 1 "$f" | jq -r .kind)" = delta ]; then
			newest=$f
			break
		fi
		rm "$f"
	done
	[ -n "$newest" ]
	id=$((10#$(basename "$newest" .ckpt)))
	fs-ckpt list ck | jq -se --argjson id "$id" 'map(select(.id == $id))[0].complete'
	printf 'X' | dd of="$newest" bs=1 seek=$(($(head -n 1 "$newest" | wc -c) + 5)) conv=notrunc 2>/dev/null
	run -1 --separate-stderr fs-ckpt verify "$newest"
	[[ "$stderr" == *"checksum mismatch"* ]]
	bash p.sh ck > out.2 2> err.2
	r=$(head -n 1 out.2 | jq .id)
	[ "$r" -lt "$id" ]
	check_attempt out.2
	grep -q '"@fs":"end"' out.2
}

# A small windowed input: three keys whose window fires at barrier 2
# (deltas with dropped keys), then others.  tests/data/ckpt-v2 holds
# fs-agg's checkpoints 1 (a full piece, version 1) and 2 (a JSON delta,
# version 2) of it, written before pieces were in msgpack.
V2_AGGS=(--key user --agg n=count --agg s=sum:v --agg a=avg:v --agg hi=max:v
	--agg f=first:v --agg u=count_distinct:v)
small_input() {
	cat > in.ndjson <<-'EOF'
	{"window_start":0,"window_end":60000,"ts":1000,"user":"a","v":1}
	{"window_start":0,"window_end":60000,"ts":2000,"user":"b","v":2.5}
	{"window_start":0,"window_end":60000,"ts":3000,"user":"c","v":3}
	{"@fs":"barrier","id":1}
	{"window_start":0,"window_end":60000,"ts":4000,"user":"a","v":4}
	{"window_start":60000,"window_end":120000,"ts":61000,"user":"a","v":5}
	{"window_start":60000,"window_end":120000,"ts":62000,"user":"d","v":6}
	{"@fs":"barrier","id":2}
	{"window_start":60000,"window_end":120000,"ts":63000,"user":"d","v":7}
	{"window_start":60000,"window_end":120000,"ts":64000,"user":"e","v":-8}
	{"@fs":"barrier","id":3}
	{"window_start":60000,"window_end":120000,"ts":65000,"user":"a","v":9}
	{"window_start":120000,"window_end":180000,"ts":121000,"user":"e","v":10}
	{"@fs":"end","id":4}
	EOF
	fs-agg "${V2_AGGS[@]}" < in.ndjson > ref
}

# resume_from ID: fs-agg restored from checkpoint ID of ck, given the
# input after barrier ID, writes what the uninterrupted run wrote after it.
resume_from() {
	{ echo "{\"@fs\":\"restore\",\"id\":$1}"
	  awk -v b="{\"@fs\":\"barrier\",\"id\":$1}" 'f; $0 == b { f = 1 }' in.ndjson; } |
		fs-agg -v "${V2_AGGS[@]}" --checkpoint-dir ck > "out.$1" 2> "err.$1"
	awk -v b="{\"@fs\":\"barrier\",\"id\":$1}" 'f; $0 == b { f = 1 }' ref > "ref.$1"
	diff <(sed 1d "out.$1") "ref.$1"
}

@test "ckpt-incr: fs-agg's pieces are msgpack (version 3, \"encoding\":\"msgpack\"), verified by fs-ckpt and shown as JSON lines" {
	small_input
	head -n 11 in.ndjson | fs-agg "${V2_AGGS[@]}" --checkpoint-dir ck > /dev/null 2>&1 || true
	head -n 1 ck/fs-agg/00000000000000000001.ckpt |
		jq -e '.version == 3 and .encoding == "msgpack" and .kind == "full"'
	head -n 1 ck/fs-agg/00000000000000000002.ckpt |
		jq -e '.version == 3 and .encoding == "msgpack" and .kind == "delta" and .base == 1 and .prev == 1'
	run fs-ckpt verify ck
	assert_success
	run fs-ckpt show ck fs-agg 2
	assert_success
	# The full piece: its header, then a line per key; then the delta's.
	assert_line --index 0 '{"mode":"windows","aggs":"n=count\ns=sum:v\na=avg:v\nhi=max:v\nf=first:v\nu=count_distinct:v","watermark":{"max_ts":3000,"watermark":3000,"emitted":null,"from_input":false}}'
	assert_line --index 1 '{"key":"\"a\"","slots":[[0,60000,[1,[1,0,1,0.0,0.0],1,[1000,1],["i1"]]]]}'
	assert_line '{"key":"\"b\"","del":true}'
	assert_line '{"key":"\"d\"","slots":[[60000,120000,[1,[1,0,6,0.0,0.0],6,[62000,6],["i6"]]]]}'
	[ "${#lines[@]}" -eq 9 ]
	resume_from 2
}

@test "ckpt-incr: checkpoints written before msgpack (a version 1 full piece, a version 2 JSON delta) restore, and deltas in msgpack go on from them" {
	small_input
	cp -r "$BATS_TEST_DIRNAME/data/ckpt-v2" ck
	run fs-ckpt verify ck
	assert_success
	resume_from 2
	grep -q 'full piece 1 and 1 deltas' err.2
	# Its checkpoint 3: a msgpack delta on the JSON chain, which outgrew
	# the full piece: a child rewrote it as a full piece in msgpack.
	grep -q 'checkpoint 3 written: delta of [0-9]* bytes on 1' err.2
	head -n 1 ck/fs-agg/00000000000000000003.ckpt | jq -e '.version == 3 and .encoding == "msgpack"'
	resume_from 3
	grep -q 'restored checkpoint 3' err.3
}

@test "ckpt-incr: a piece of a version this fs does not know is refused, naming its version" {
	small_input
	cp -r "$BATS_TEST_DIRNAME/data/ckpt-v2" ck
	# The header is outside the checksum.
	sed -i '1s/"version":2/"version":9/' ck/fs-agg/00000000000000000002.ckpt
	run --separate-stderr fs-ckpt verify ck/fs-agg/00000000000000000002.ckpt
	assert_failure
	assert_equal "$stderr" "fs-ckpt: 'ck/fs-agg/00000000000000000002.ckpt': unsupported version 9 (this fs reads versions 1 to 3)"
	run --separate-stderr bash -c 'echo "{\"@fs\":\"restore\",\"id\":2}" | fs-agg "$@" --checkpoint-dir ck' _ "${V2_AGGS[@]}"
	[[ "$stderr" == *"unsupported version 9 (this fs reads versions 1 to 3)"* ]]
}

@test "ckpt-incr: on the Kafka store (compaction in the stage itself), a pipeline killed with SIGKILL 5 times writes after each restore what an uninterrupted run wrote" {
	require_kafka
	make_events 90000
	write_pipeline
	bash p.sh ref-ck > ref 2>/dev/null
	kill_runs 5 "kafka://$FS_KAFKA_BROKERS/fs-test-incr-$$-$RANDOM"
	echo "attempts: $ATTEMPTS"
	for ((k = 1; k <= ATTEMPTS; k++)); do
		check_attempt "out.$k"
	done
	grep -q '"@fs":"end"' "out.$ATTEMPTS"
	[ "$(significant "out.$ATTEMPTS" | tail -n 1)" = "$(significant ref | tail -n 1)" ]
	# Deltas, and full pieces written in place of a delta (no child).
	cat err.* | grep -q 'written: delta'
	[ "$(cat err.* | grep -c 'checkpoint [0-9]* written$')" -ge 2 ]
	[ "$(cat err.* | grep -c compacted)" -eq 0 ]
}
