#!/usr/bin/env bats
# fs-sink-file: the offline store.  Rows into event-time partitions as
# NDJSON (plain, gzip, zstd) or Avro object container files; files in
# progress are hidden (.NAME.inprogress) and committed by rename at
# complete checkpoints, so that after kills and restarts the committed
# files hold every row exactly once.  No test depends on timing: waits
# are loops on progress (a log line, a file) with generous limits.

load test_helper

# Three rows in two hours of one day and one of the next (UTC).
three_rows() {
	printf '%s\n' \
	    '{"ts":"2026-03-01T10:15:00Z","user":"a","n":1}' \
	    '{"ts":"2026-03-01T11:59:59.999Z","user":"b","n":2}' \
	    '{"ts":1772409600000,"user":"c","n":3}'
}

# The committed files under $1 (paths relative to it), sorted.
committed() {
	(cd "$1" && find . -type f ! -name '.*' | sed 's|^\./||' | sort)
}

# Files in progress under $1.
in_progress() {
	find "$1" -type f -name '.*'
}

# The rows of every committed NDJSON file under $1 (any compression),
# sorted.
rows_of() {
	local f
	committed "$1" | while read -r f; do
		case $f in
		*.gz) zcat "$1/$f" ;;
		*.zst) zstdcat -q "$1/$f" ;;
		*) cat "$1/$f" ;;
		esac
	done | sort
}

# The rows of the Avro files under $1 as fastavro reads them,
# normalised (jq -cS), sorted.
avro_rows() {
	local py
	py=$("$FS_ROOT/scripts/avro-venv") || return 1
	"$py" "$TESTS/avro_rows.py" "$1" 2> avro.files | jq -cS . | sort
}

@test "fs-sink-file: rows go to dt=YYYY-MM-DD/hour=HH of their event time in UTC, as they came" {
	three_rows > in
	run --separate-stderr fs-sink-file out in
	assert_success
	assert_equal "$stderr" ""
	run committed out
	assert_equal "${#lines[@]}" 3
	[[ ${lines[0]} =~ ^dt=2026-03-01/hour=10/part-[0-9a-f]+-0-0\.ndjson$ ]]
	[[ ${lines[1]} =~ ^dt=2026-03-01/hour=11/part-[0-9a-f]+-0-[0-9]\.ndjson$ ]]
	[[ ${lines[2]} =~ ^dt=2026-03-02/hour=00/part-[0-9a-f]+-0-[0-9]\.ndjson$ ]]
	assert_equal "$(cat out/dt=2026-03-01/hour=11/*)" '{"ts":"2026-03-01T11:59:59.999Z","user":"b","n":2}'
	assert_equal "$(in_progress out)" ""
}

@test "fs-sink-file: --partition chooses the layout; '' puts every file in DIR" {
	three_rows > in
	fs-sink-file --partition 'year=%Y/month=%m' --prefix feat out in
	run committed out
	assert_equal "${#lines[@]}" 1
	[[ ${lines[0]} =~ ^year=2026/month=03/feat-[0-9a-f]+-0-0\.ndjson$ ]]
	fs-sink-file --partition '' flat in
	run committed flat
	assert_equal "${#lines[@]}" 1
	[[ ${lines[0]} =~ ^part-[0-9a-f]+-0-0\.ndjson$ ]]
	assert_equal "$(rows_of out)" "$(sort in)"
}

@test "fs-sink-file: a partition pattern that leaves DIR, or a bad combination, is a usage error" {
	for p in '../%Y' '/abs/%Y' '%Y//%m' '.hidden/%Y'; do
		run --separate-stderr fs-sink-file --partition "$p" out /dev/null
		assert_equal "$p: $status" "$p: 2"
		[[ $stderr == *"--partition '$p'"* ]] || fail "$p: $stderr"
	done
	run --separate-stderr fs-sink-file --compress deflate out /dev/null
	assert_failure 2
	run --separate-stderr fs-sink-file --format avro --compress zstd out /dev/null
	assert_failure 2
	run --separate-stderr fs-sink-file --schema s.avsc out /dev/null
	assert_failure 2
	run --separate-stderr fs-sink-file
	assert_failure 2
	assert_output ""
	[ ! -e out ]
}

@test "fs-sink-file: NDJSON plain, gzip and zstd hold exactly the input rows" {
	fs-gen --count 30000 --rate 5 --data-only > in
	fs-sink-file out in
	fs-sink-file --compress gzip gz in
	fs-sink-file --compress zstd zs in
	sort in > want
	rows_of out | cmp - want
	rows_of gz | cmp - want
	rows_of zs | cmp - want
	# one file per hour of event time, the codec in the name and bytes
	assert_equal "$(committed gz | grep -c '\.ndjson\.gz$')" 2
	assert_equal "$(committed zs | grep -c '\.ndjson\.zst$')" 2
	f=$(committed gz | head -n 1)
	assert_equal "$(head -c 2 "gz/$f" | od -An -tx1 | tr -d ' ')" 1f8b
	f=$(committed zs | head -n 1)
	assert_equal "$(head -c 4 "zs/$f" | od -An -tx1 | tr -d ' ')" 28b52ffd
	# fs-backfill reads the store back as it was written
	fs-backfill -q --data-only gz | sort | cmp - want
}

@test "fs-sink-file: --max-file-size rolls files; no file in progress stays" {
	fs-gen --count 5000 --data-only > in
	fs-sink-file --max-file-size 40k out in
	n=$(committed out | wc -l)
	[ "$n" -ge 9 ] || fail "$n files"
	for f in $(committed out); do
		s=$(stat -c %s "out/$f")
		# a file closes at the first row that takes it to the size
		[ "$s" -lt $((40 * 1024 + 200)) ] || fail "$f: $s bytes"
	done
	rows_of out | cmp - <(sort in)
	assert_equal "$(in_progress out)" ""
}

@test "fs-sink-file: Avro files with an inferred schema hold the rows of the NDJSON ones, read by fastavro" {
	fs-gen --count 20000 --rate 5 --data-only > in
	fs-sink-file out in
	fs-sink-file --format avro av in
	fs-sink-file --format avro --compress deflate avd in
	rows_of out | jq -cS . | sort > want
	avro_rows av > got
	cmp got want
	assert_equal "$(cut -d' ' -f2- avro.files | sort -u)" "null fs.sink.Row"
	avro_rows avd > got
	cmp got want
	assert_equal "$(cut -d' ' -f2- avro.files | sort -u)" "deflate fs.sink.Row"
	# the partition layout is the NDJSON store's
	assert_equal "$(committed av | xargs -n1 dirname)" "$(committed out | xargs -n1 dirname)"
}

@test "fs-sink-file: inferred Avro types: long, double, string, boolean, nested records, arrays; nulls and missing fields later" {
	printf '%s\n' \
	    '{"ts":1,"i":5,"d":1.5,"s":"x","b":true,"z":null,"o":{"k":1,"l":[1,2]},"a":["p","q"]}' \
	    '{"ts":2,"i":null,"d":2,"s":"y","b":false,"z":"now","a":[]}' > in
	fs-sink-file -v --format avro out in 2> log
	grep -q 'inferred Avro schema: {"type":"record","name":"Row"' log
	schema=$(sed -n 's/.*inferred Avro schema: //p' log)
	assert_equal "$(jq -c '[.fields[] | [.name, .type[1]]]' <<< "$schema")" \
	    '[["ts","long"],["i","long"],["d","double"],["s","string"],["b","boolean"],["z","string"],["o",{"type":"record","name":"Row_1","fields":[{"name":"k","type":["null","long"],"default":null},{"name":"l","type":["null",{"type":"array","items":["null","long"]}],"default":null}]}],["a",{"type":"array","items":["null","string"]}]]'
	run avro_rows out
	assert_success
	assert_line --index 0 '{"a":["p","q"],"b":true,"d":1.5,"i":5,"o":{"k":1,"l":[1,2]},"s":"x","ts":1,"z":null}'
	assert_line --index 1 '{"a":[],"b":false,"d":2,"i":null,"o":null,"s":"y","ts":2,"z":"now"}'
}

@test "fs-sink-file: a row that does not fit the Avro schema is rejected with its position under --on-error" {
	printf '%s\n' '{"ts":1,"n":1}' '{"ts":2,"n":"two"}' '{"ts":3,"n":3,"extra":1}' '{"ts":4}' '{"n":5}' > in
	run --separate-stderr fs-sink-file --format avro out in
	assert_failure 1
	assert_equal "$stderr" "fs-sink-file: in:2: does not fit the Avro schema: at .n: string fits no branch of the union"
	fs-sink-file --format avro --on-error skip out2 in 2> err
	run cut -d: -f1-4 err
	assert_output 'fs-sink-file: in:2: does not fit the Avro schema
fs-sink-file: in:3: does not fit the Avro schema
fs-sink-file: in:5: missing time field '"'ts'"'
fs-sink-file: 3 records rejected'
	run avro_rows out2
	assert_output '{"n":1,"ts":1}
{"n":null,"ts":4}'
}

@test "fs-sink-file: --schema gives the Avro schema; a schema that is not one is a usage error" {
	cat > s.avsc <<-'EOF'
	{"type":"record","name":"Feature","namespace":"ex","fields":[
	 {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
	 {"name":"user","type":"string"},{"name":"n","type":"int"}]}
	EOF
	three_rows | sed 's/"ts":"[^"]*"/"ts":1772360100000/' > in
	fs-sink-file --format avro --schema s.avsc --partition '' out in
	run avro_rows out
	assert_success
	assert_output '{"n":1,"ts":1772360100000,"user":"a"}
{"n":2,"ts":1772360100000,"user":"b"}
{"n":3,"ts":1772409600000,"user":"c"}'
	grep -q ' null ex.Feature$' avro.files
	echo '{"type":"recordx"}' > bad.avsc
	run --separate-stderr fs-sink-file --format avro --schema bad.avsc out2 in
	assert_failure 2
	[[ $stderr == *"not a usable Avro schema"* ]] || fail "$stderr"
}

@test "fs-sink-file: --metrics-file counts rows written and files opened and committed" {
	fs-gen --count 3000 --data-only > in
	mkfifo fifo
	fs-sink-file --metrics-file m.prom --metrics-interval 50ms --max-file-size 50k out < fifo &
	pid=$!
	exec 5> fifo
	cat in >&5
	for _ in $(seq 600); do
		grep -q '^fs_sink_files_committed_total{.*} [1-9]' m.prom 2>/dev/null &&
		    grep -q '^fs_sink_writes_total{.*} 3000$' m.prom && break
		sleep 0.1
	done
	exec 5>&-
	wait "$pid"
	grep '^fs_sink_writes_total{tool="fs-sink-file",stage="fs-sink-file"} 3000$' m.prom
	opened=$(sed -n 's/^fs_sink_files_opened_total{.*} //p' m.prom)
	committed=$(sed -n 's/^fs_sink_files_committed_total{.*} //p' m.prom)
	# the files rolled by size are committed; the last one at the end
	[ "$opened" -ge 4 ] && [ "$committed" -eq $((opened - 1)) ] || fail "opened $opened committed $committed"
	assert_equal "$(committed out | wc -l)" $((opened))
}

# --- checkpoints -----------------------------------------------------------

# Waits until $1 matches grep pattern $2 (at most 60 s).
wait_line() {
	local _
	for _ in $(seq 600); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no '$2' in $1 after 60s"
}

@test "fs-sink-file: with checkpoints a file is hidden until its checkpoint is complete, then renamed into place" {
	mkfifo fifo
	fs-sink-file -v --checkpoint-dir ck out < fifo 2> log &
	pid=$!
	exec 5> fifo
	three_rows | sed -n 1p | sed 's/^/{"@fs":"restore","id":0}\n/' >&5
	# the row is on disk, in progress: nothing visible
	for _ in $(seq 600); do [ -n "$(in_progress out)" ] && break; sleep 0.1; done
	[ -n "$(in_progress out)" ]
	assert_equal "$(committed out)" ""
	echo '{"@fs":"barrier","id":1}' >&5
	wait_line log 'committed'
	assert_equal "$(in_progress out)" ""
	assert_equal "$(rows_of out)" "$(three_rows | sed -n 1p)"
	committed out | grep -q -- '-1-0\.ndjson$'
	three_rows | sed -n 2,3p >&5
	echo '{"@fs":"end","id":2}' >&5
	exec 5>&-
	wait "$pid"
	assert_equal "$(rows_of out)" "$(three_rows | sort)"
	assert_equal "$(in_progress out)" ""
}

@test "fs-sink-file: a restore commits what its checkpoint lists and removes every other file in progress" {
	three_rows > rows
	# A run that wrote checkpoint 1 (its file pending) and died before
	# the rename, with a later file half written.
	{ echo '{"@fs":"restore","id":0}'; sed -n 1p rows; echo '{"@fs":"barrier","id":1}'; } > in1
	fs-sink-file --checkpoint-dir ck out in1 2> /dev/null && fail "a stream without its end must fail" || true
	# undo the commit, as if killed between checkpoint and rename
	f=$(committed out)
	[ -n "$f" ]
	mv "out/$f" "out/$(dirname "$f")/.$(basename "$f").inprogress"
	echo partial > "out/$(dirname "$f")/.part-x-2-0.ndjson.inprogress"
	mkdir -p out/dt=2030-01-01/hour=00
	echo partial > out/dt=2030-01-01/hour=00/.part-x-3-0.ndjson.inprogress
	echo other > out/dt=2030-01-01/hour=00/.other-x-3-0.ndjson.inprogress
	run --separate-stderr fs-sink-file -v --checkpoint-dir ck out <<< '{"@fs":"restore","id":1}'
	assert_failure 1    # no end: the stream was cut
	[[ $stderr == *"removed out/dt=2030-01-01/hour=00/.part-x-3-0.ndjson.inprogress"* ]] || fail "$stderr"
	assert_equal "$(committed out)" "$f"
	assert_equal "$(rows_of out)" "$(sed -n 1p rows)"
	assert_equal "$(in_progress out)" "out/dt=2030-01-01/hour=00/.other-x-3-0.ndjson.inprogress"
}

# run_killed KILLS PIPELINE: runs PIPELINE under fs-run on checkpoint
# directory ck, kills one of its stages with SIGKILL KILLS times (the
# sink or the source, whose pids the pipeline writes to sink.pid and
# src.pid), each after the sink has written 1-3 more checkpoints and a
# random 0-9 ms more, so that kills fall between checkpoints and every
# run makes progress; then lets it finish.  Sets KILLED.
run_killed() {
	local k want pid target
	# checkpoints the sinks wrote (grep -c fails on none)
	ckpts() { grep -c 'checkpoint [0-9]* written' sink.log || true; }
	: > sink.log
	fs-run --backoff 10ms,100ms --grace 200ms --max-restarts 100 \
	    --checkpoint-dir ck "$2" 2> run.log &
	FSRUN=$!
	KILLED=0
	for ((k = 1; k <= $1; k++)); do
		want=$(( $(ckpts) + RANDOM % 3 + 1 ))
		for _ in $(seq 6000); do
			[ "$(ckpts)" -ge "$want" ] && break
			kill -0 "$FSRUN" 2>/dev/null || break
			sleep 0.01
		done
		kill -0 "$FSRUN" 2>/dev/null || break
		sleep "0.00$((RANDOM % 10))"
		target=sink.pid
		[ $((RANDOM % 3)) = 0 ] && target=src.pid
		pid=$(cat "$target")
		kill -KILL "$pid" 2>/dev/null && KILLED=$((KILLED + 1))
		# the next start: a new pid in both files
		for _ in $(seq 1200); do
			[ "$(cat sink.pid)" != "$pid" ] && [ "$(cat src.pid)" != "$pid" ] && break
			kill -0 "$FSRUN" 2>/dev/null || break
			sleep 0.05
		done
	done
	for _ in $(seq 2400); do kill -0 "$FSRUN" 2>/dev/null || break; sleep 0.05; done
	wait "$FSRUN" || fail "fs-run failed: $(cat run.log)"
}

@test "fs-sink-file: killed with SIGKILL at random moments under fs-run, the committed files hold exactly the rows of an uninterrupted run" {
	fs-gen --count 120000 --rate 20 --data-only > ev
	# 120 checkpoints: a fast run passes several between two polls.
	cat > p.sh <<-'PIPE'
	sh -c 'echo $$ > src.pid; exec fs-backfill -q --checkpoint-dir ck --checkpoint-records 1000 ev' |
	    sh -c 'echo $$ > sink.pid; exec fs-sink-file -v --compress gzip --max-file-size 200k --checkpoint-dir ck out 2>> sink.log'
	PIPE
	run_killed 6 "$(cat p.sh)"
	echo "killed: $KILLED"; cat run.log
	[ "$KILLED" -ge 3 ] || fail "only $KILLED kills landed"
	[ "$(grep -c 'resuming from checkpoint' run.log)" -ge 3 ]
	assert_equal "$(in_progress out)" ""
	rows_of out > got
	sort ev > want
	cmp got want
}

@test "fs-sink-file: features killed with SIGKILL under fs-run: fastavro reads Avro files holding exactly the rows of an uninterrupted NDJSON run" {
	fs-gen --count 150000 --users 50 --rate 10 --data-only > ev
	feat='fs-window -q --tumble 1m --checkpoint-dir ck | fs-agg --key user --agg n=count --agg s=sum:amount --checkpoint-dir ck'
	fs-backfill -q ev | fs-window -q --tumble 1m | fs-agg --key user --agg n=count --agg s=sum:amount |
	    fs-sink-file --time-field window_start ref
	cat > p.sh <<-PIPE
	sh -c 'echo \$\$ > src.pid; exec fs-backfill -q --checkpoint-dir ck --checkpoint-records 1000 ev' |
	    $feat |
	    sh -c 'echo \$\$ > sink.pid; exec fs-sink-file -v --format avro --compress deflate --time-field window_start --checkpoint-dir ck av 2>> sink.log'
	PIPE
	run_killed 4 "$(cat p.sh)"
	echo "killed: $KILLED"; cat run.log
	[ "$KILLED" -ge 2 ] || fail "only $KILLED kills landed"
	assert_equal "$(in_progress av)" ""
	rows_of ref | jq -cS . | sort > want
	[ "$(wc -l < want)" -gt 1000 ]
	avro_rows av > got
	cmp got want
	# one inferred schema across restarts: every file's is the same
	assert_equal "$(cut -d' ' -f2- avro.files | sort -u)" "deflate fs.sink.Row"
}
