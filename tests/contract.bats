#!/usr/bin/env bats
# The contract of fs(7), checked on every filter that reads records from
# standard input without a service: control records pass through, every
# kind of bad input under every --on-error policy, exit codes, EPIPE,
# signals.  Each filter is named with a command line that accepts the
# sample records below (user, ts).

load test_helper

FILTERS=(
	"fs-window --tumble 1m"
	"fs-agg --key user --agg n=count"
	"fs-join --between 0,0 --key user --right-where s=r --type left --idle-timeout 100ms"
)

good() {
	printf '%s\n' '{"user":"a","ts":1000}' '{"user":"b","ts":2000}'
}

# Runs every filter on the file $1 with extra options, calling the check
# function $2 with the filter's name after each run.
each_filter() {
	local input="$1" check="$2" f
	shift 2
	for f in "${FILTERS[@]}"; do
		run --separate-stderr bash -c "$f $* < '$input'"
		FILTER="${f%% *}"
		"$check"
	done
}

bad_line_cases() {
	# name | bytes of the bad line | the reason fs reports
	printf '%s\n' \
		"truncated|{\"user\":\"c\",\"ts\":3|invalid JSON: column 18: '}' expected near end of file" \
		"array|[1,2]|not a JSON object: array" \
		"no-time|{\"user\":\"c\"}|missing time field 'ts'" \
		"bad-time|{\"user\":\"c\",\"ts\":\"noon\"}|unparsable time field 'ts'"
}

expect_fail_at_line_2() {
	assert_equal "$FILTER status $status" "$FILTER status 1"
	[[ "$stderr" == *"$FILTER: -:2: $REASON"* ]] ||
		fail "$FILTER: no report of line 2 ($REASON) in: $stderr"
}

@test "contract: each kind of bad line fails by default with file, line and reason" {
	local name bytes
	while IFS='|' read -r name bytes REASON; do
		{ printf '%s\n' '{"user":"a","ts":1000}'; printf '%s\n' "$bytes"; } > in.ndjson
		each_filter in.ndjson expect_fail_at_line_2
	done < <(bad_line_cases)
}

expect_skipped() {
	assert_equal "$FILTER status $status" "$FILTER status 0"
	[[ "$stderr" == *"$FILTER: -:2: "* ]] || fail "$FILTER: no report in: $stderr"
	[[ "$stderr" == *"1 record rejected"* ]] || fail "$FILTER: no count in: $stderr"
	[[ "$output" == *'"user":"a"'* && "$output" == *'"user":"b"'* ]] ||
		fail "$FILTER: good records lost: $output"
	[[ "$output" != *'"user":"c"'* ]] || fail "$FILTER: bad record passed"
}

@test "contract: --on-error skip reports, counts and passes over each bad line" {
	local name bytes
	while IFS='|' read -r name bytes REASON; do
		{ printf '%s\n' '{"user":"a","ts":1000}' "$bytes" '{"user":"b","ts":2000}'; } > in.ndjson
		each_filter in.ndjson expect_skipped --on-error skip
	done < <(bad_line_cases)
}

expect_dead_lettered() {
	assert_equal "$FILTER status $status" "$FILTER status 0"
	cmp dl.ndjson expected.dl || fail "$FILTER: dead letters differ: $(od -c dl.ndjson | head)"
	rm -f dl.ndjson
}

@test "contract: --dead-letter keeps the original bytes of bad lines, invalid UTF-8 included" {
	{
		printf '%s\n' '{"user":"a","ts":1000}'
		printf '{"user":"\xff","ts":1}\n'
		printf '[1,2]\n'
		printf '%s\n' '{"user":"b","ts":2000}'
	} > in.ndjson
	{ printf '{"user":"\xff","ts":1}\n'; printf '[1,2]\n'; } > expected.dl
	each_filter in.ndjson expect_dead_lettered --dead-letter dl.ndjson
}

expect_nul_rejected() {
	assert_equal "$FILTER status $status" "$FILTER status 1"
	[[ "$stderr" == *"-:1: invalid JSON: column 11: NUL byte"* ]] ||
		fail "$FILTER: $stderr"
}

@test "contract: a NUL byte inside a line is rejected with its column" {
	printf '{"user":"a\0","ts":1000}\n' > in.ndjson
	each_filter in.ndjson expect_nul_rejected
}

expect_compressed() {
	assert_equal "$FILTER status $status" "$FILTER status 1"
	assert_equal "$stderr" "$FILTER: -:1: $REASON"
}

@test "contract: gzip or zstd input fails under every policy, pointing at fs-backfill, not at a NUL byte" {
	good > in.ndjson
	gzip -c in.ndjson > in.gz
	zstd -qc in.ndjson > in.zst
	for policy in fail skip "dead-letter --dead-letter dl.ndjson"; do
		REASON="compressed input (gzip): use fs-backfill or zcat"
		each_filter in.gz expect_compressed --on-error $policy
		REASON="compressed input (zstd): use fs-backfill or zstdcat"
		each_filter in.zst expect_compressed --on-error $policy
	done
	[ ! -s dl.ndjson ]
	# fs-backfill reads both, as it always did.
	for f in in.gz in.zst; do
		run --separate-stderr fs-backfill "$f"
		assert_equal "$status" 0
		assert_equal "$output" "$(cat in.ndjson)"
	done
}

expect_same_as_lf() {
	assert_equal "$FILTER status $status" "$FILTER status 0"
	assert_equal "$output" "$(bash -c "$CMD" < lf.ndjson)"
}

@test "contract: CRLF line ends, blank lines and a last line without newline read as plain lines" {
	local f
	good > lf.ndjson
	printf '{"user":"a","ts":1000}\r\n\r\n\n{"user":"b","ts":2000}' > crlf.ndjson
	for f in "${FILTERS[@]}"; do
		CMD="$f"
		run --separate-stderr bash -c "$f < crlf.ndjson"
		FILTER="${f%% *}"
		expect_same_as_lf
	done
}

big_line_shape() {
	grep -v '"@fs"' "$1" | awk '{ n = gsub(/x/, "x"); print substr($0, 1, 8), n }'
}

@test "contract: a 10 MB record passes whole" {
	local f big
	big=$(head -c 10485760 /dev/zero | tr '\0' x)
	printf '{"user":"%s","ts":1000}\n' "$big" > in.ndjson
	for f in "${FILTERS[@]}"; do
		bash -c "$f" < in.ndjson > out.ndjson
		# The one data line: the whole name, then the rest of the record.
		run big_line_shape out.ndjson
		assert_equal "${f%% *} $output" "${f%% *} {\"user\": 10485760"
	done
}

@test "contract: unknown control records and barriers pass through in order" {
	local f
	printf '%s\n' '{"user":"a","ts":1000}' '{"@fs":"note","x":[1]}' \
		'{"@fs":"barrier","id":1}' '{"user":"b","ts":2000}' > in.ndjson
	for f in "${FILTERS[@]}"; do
		run --separate-stderr bash -c "$f < in.ndjson | grep -n -e '\"@fs\":\"note\"' -e barrier"
		assert_success
		assert_line --index 0 --regexp '^[0-9]+:\{"@fs":"note","x":\[1\]\}$'
		assert_line --index 1 --regexp '^[0-9]+:\{"@fs":"barrier","id":1\}$'
	done
}

@test "contract: a closed downstream pipe ends the filter quietly with status 0" {
	local f
	# awk, not a shell loop: bats traps every shell command, which made
	# the loop most of this test's 35 s
	seq 1 200000 | awk '{ printf "{\"user\":\"u%d\",\"ts\":%d}\n", $1, $1 }' > in.ndjson
	for f in "${FILTERS[@]}"; do
		run --separate-stderr bash -c "$f < in.ndjson | head -n 1 > /dev/null; echo \${PIPESTATUS[0]}"
		assert_equal "${f%% *} $output" "${f%% *} 0"
		assert_equal "${f%% *} stderr: $stderr" "${f%% *} stderr: "
	done
}

@test "contract: SIGTERM stops the filter with status 0 after flushing its output" {
	local f pid
	for f in "${FILTERS[@]}"; do
		rm -f fifo; mkfifo fifo
		bash -c "exec $f < fifo > out.ndjson 2> err.txt" &
		pid=$!
		exec 7> fifo
		good >&7
		sleep 1
		kill -TERM "$pid"
		status=0
		wait "$pid" || status=$?
		exec 7>&-
		assert_equal "${f%% *} status $status" "${f%% *} status 0"
		grep -q '"user":"a"' out.ndjson || fail "${f%% *}: output not flushed: $(cat out.ndjson)"
	done
}

@test "contract: empty input gives no data and status 0" {
	local f
	: > empty
	for f in "${FILTERS[@]}"; do
		run --separate-stderr bash -c "$f < empty | grep -v '\"@fs\"'"
		assert_equal "${f%% *} $output" "${f%% *} "
	done
}

@test "contract: usage errors exit 2, bad policy names the choices" {
	local f
	for f in "${FILTERS[@]}"; do
		run --separate-stderr bash -c "$f --on-error maybe < /dev/null"
		assert_equal "${f%% *} $status" "${f%% *} 2"
		[[ "$stderr" == *"--on-error: expected fail, skip or dead-letter: 'maybe'"* ]] ||
			fail "$stderr"
		run --separate-stderr bash -c "$f --time-field 'a..b' < /dev/null"
		assert_equal "${f%% *} $status" "${f%% *} 2"
	done
}

@test "contract: a data record with \"@fs\" in a value, not as a member, is data" {
	local f
	printf '%s\n' '{"user":"a","ts":1000,"note":"@fs"}' '{"user":"b","ts":2000}' > at.ndjson
	printf '%s\n' '{"user":"a","ts":1000,"note":"xfs"}' '{"user":"b","ts":2000}' > x.ndjson
	for f in "${FILTERS[@]}"; do
		bash -c "$f < at.ndjson" | sed 's/"note":"@fs"/"note":"xfs"/' > at.out
		bash -c "$f < x.ndjson" > x.out
		cmp at.out x.out || fail "${f%% *}: $(diff at.out x.out)"
	done
}
