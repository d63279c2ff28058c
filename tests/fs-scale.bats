#!/usr/bin/env bats
# fs-scale (issue 11, scale-out): instances of one pipeline in one
# consumer group split an 8-partition topic, one pipeline per partition
# under fs-run, each partition's state in its own namespace of one
# checkpoint topic, so that a partition moves with its state.  Whatever
# the instances do (two at once, one killed with SIGKILL mid-stream, a
# third added mid-stream), the Aerospike store ends with the features
# computed from the events file without Kafka or Aerospike; and the
# group's offsets are only ever those of complete checkpoints.
#
# A run is over when the group's committed offsets reach the end of
# every partition: the end is a flush event per partition, after which
# the last windows have fired, so a checkpoint at the end is one whose
# writes the sink has acknowledged.

load test_helper
load kafka_helper

FIXTURE="${FS_BIN%/bin}/fixtures/asfixture"
[ -x "$FIXTURE" ] || FIXTURE="$FS_ROOT/build/fixtures/asfixture"
export FS_ASFIXTURE="$FIXTURE"
COMPARE="$FS_ROOT/tests/chaos/compare"

# Short sessions, so that a killed instance's partitions move within
# seconds (the broker of kafka-start allows 1s and more).
GROUP_X=(-X session.timeout.ms=3000 -X heartbeat.interval.ms=500)

setup_file() {
	require_kafka
	local d="$BATS_FILE_TMPDIR"
	export FS_ASFIXTURE_STATE="$d/fixture"
	AS=$("$FS_ROOT/scripts/aerospike-fixture-start" -- -n features) || return 1
	export AS="${AS#FS_AEROSPIKE=}"
	fs-gen --count 16000 --users 400 --seed 41 > "$d/events.ndjson"
	head -n 8000 "$d/events.ndjson" > "$d/first.ndjson"
	tail -n +8001 "$d/events.ndjson" > "$d/rest.ndjson"
	fs-window --tumble 1m < "$d/events.ndjson" |
		fs-agg --key user --agg clicks=count:if:event=click --agg spend=sum:amount |
		grep -v '"@fs"' |
		awk '{ match($0, /"user":"[^"]*",/); u = substr($0, RSTART, RLENGTH);
			if (!(u in last)) order[n++] = u; last[u] = $0 }
			END { for (i = 0; i < n; i++) print last[order[i]] }' > "$d/expected.ndjson"
}

teardown_file() {
	"$FS_ROOT/scripts/aerospike-fixture-stop"
}

suite_setup() {
	require_kafka
	B="$FS_KAFKA_BROKERS"
	SIDS=()
	"$FIXTURE" --ctl "$AS" fixture-truncate > /dev/null
	"$FIXTURE" --ctl "$AS" fixture-reset > /dev/null
	IN=$(uniq_name clicks)
	kafka_create_topic "$IN" 8
	export B IN
}

# Every process of an instance's session, SIGKILLed: what a machine
# that dies does.  (Each partition's pipeline is a process group of its
# own under fs-run, in the instance's session.)
kill_session() {
	local sid="$1" i pids
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pids=$(ps -eo pid=,sid= | awk -v s="$sid" '$2 == s { print $1 }')
		[ -n "$pids" ] || return 0
		# shellcheck disable=SC2086
		kill -9 $pids 2> /dev/null || true
		sleep 0.1
	done
	wait "$sid" 2> /dev/null || true
}

teardown() {
	local s
	for s in "${SIDS[@]}"; do
		kill_session "$s"
	done
}

# The README's live pipeline for one partition, as fs-scale runs it.
PIPELINE='fs-consume -b $B -t $IN -p $FS_PARTITION -o beginning -V -v \
	--checkpoint-interval 1s --checkpoint-dir $FS_CHECKPOINT_DIR |
    fs-window --tumble 1m --checkpoint-dir $FS_CHECKPOINT_DIR |
    fs-agg --key user --agg clicks=count:if:event=click --agg spend=sum:amount \
	--checkpoint-dir $FS_CHECKPOINT_DIR |
    fs-sink-aerospike --hosts $AS -n features -s user --key user \
	--monotonic --time-field window_end --checkpoint-dir $FS_CHECKPOINT_DIR'

# start_instance NAME GROUP CKPT_TOPIC: an fs-scale in a session of its
# own, stderr to NAME.err; its pid (= session) in SID_NAME.
start_instance() {
	setsid fs-scale -b "$B" -G "$2" -t "$IN" --checkpoint-dir "kafka://$B/$3" \
		--commit-interval 1s "${GROUP_X[@]}" -- "$PIPELINE" 2> "$1.err" &
	SIDS+=("$!")
	printf -v "SID_$1" '%s' "$!"
}

# stop_instance NAME: SIGTERM, and fs-scale exits 0.
stop_instance() {
	local sid="SID_$1" rc=0
	kill -TERM "${!sid}"
	wait "${!sid}" || rc=$?
	assert_equal "$1 exit $rc" "$1 exit 0"
}

produce() {
	fs-produce -b "$B" -t "$IN" -k user < "$1"
}

# After the events, an event ten minutes later in every partition: it
# fires each partition's last windows; its own never fires.
produce_flush() {
	local last p
	last=$(tail -n 1 "$BATS_FILE_TMPDIR/events.ndjson" | sed 's/^{"ts":\([0-9]*\),.*/\1/')
	for p in 0 1 2 3 4 5 6 7; do
		printf '{"ts":%s,"user":"zz-flush","event":"view","item":"i0","amount":0}\n' \
			"$((last + 600000))" | fs-produce -b "$B" -t "$IN" -p "$p"
	done
}

# committed GROUP: the group's committed offsets, "P:OFFSET|null/END".
committed() {
	fs-consume -b "$B" -t "$IN" -G "$1" --lag |
		sed 's/.*"partition":\([0-9]*\),"committed":\([0-9a-z]*\),"end":\([0-9]*\).*/\1:\2\/\3/'
}

# Every partition's committed offset is its end.
caught_up() {
	local c
	c=$(committed "$1")
	[ "$(grep -c '^[0-9]*:\([0-9]*\)/\1$' <<< "$c")" -eq 8 ]
}

# Every partition has some committed offset.
all_committed() {
	[ "$(committed "$1" | grep -vc ':null/')" -eq 8 ]
}

# The store, for the users the events have, one line each.
dump_store() {
	fs-get -h "$AS" -n features -s user --key user "$BATS_FILE_TMPDIR/expected.ndjson" > "$1"
}

# The store against the features of the events file: lost=0 doubled=0
# different=0.
assert_store_expected() {
	local records figures
	records=$(store_records "$AS" features)
	dump_store store.ndjson
	figures=$("$COMPARE" store user "$BATS_FILE_TMPDIR/expected.ndjson" store.ndjson \
		"$records" 2> compare.err) || true
	cat compare.err
	assert_equal "$figures" "lost=0 doubled=0 different=0"
}

# The partitions an instance started, in its log since line FROM.
started_in() {
	tail -n "+${2:-1}" "$1.err" | grep -c '^fs-scale: partition [0-9]*: started' || true
}

@test "fs-scale: two instances over an 8-partition topic leave the store a single instance leaves" {
	produce "$BATS_FILE_TMPDIR/events.ndjson"
	produce_flush
	start_instance one g1 "$IN-ck1"
	wait_for 180 caught_up g1
	stop_instance one
	assert_equal "$(started_in one)" 8
	assert_store_expected
	dump_store one.ndjson

	"$FIXTURE" --ctl "$AS" fixture-truncate > /dev/null
	start_instance a g2 "$IN-ck2"
	start_instance b g2 "$IN-ck2"
	wait_for 180 caught_up g2
	stop_instance a
	stop_instance b
	# each ran some of the partitions
	[ "$(started_in a)" -ge 1 ] || fail "a ran no partition: $(cat a.err)"
	[ "$(started_in b)" -ge 1 ] || fail "b ran no partition: $(cat b.err)"
	dump_store two.ndjson
	# the same bins; a record's generation counts its writes, and a
	# partition that moved rewrote what it replayed from its checkpoint
	jq -c 'del(.generation)' one.ndjson > one.bins
	jq -c 'del(.generation)' two.ndjson > two.bins
	cmp one.bins two.bins
	assert_store_expected
}

@test "fs-scale: an instance killed with SIGKILL mid-stream: the survivor resumes its partitions from their checkpoints and the store is that of a clean run" {
	produce "$BATS_FILE_TMPDIR/first.ndjson"
	start_instance a g "$IN-ck"
	start_instance b g "$IN-ck"
	# both hold partitions and every partition has a complete checkpoint
	wait_for 120 all_committed g
	local moved from
	moved=$(( $(started_in a) - $(grep -c '^fs-scale: partition [0-9]*: revoked' a.err || true) ))
	[ "$moved" -ge 1 ] || fail "a runs no partition: $(cat a.err)"
	from=$(( $(wc -l < b.err) + 1 ))
	kill_session "$SID_a"
	produce "$BATS_FILE_TMPDIR/rest.ndjson"
	produce_flush
	wait_for 180 caught_up g
	stop_instance b
	# b took every partition a had, each resumed from a checkpoint of a's
	# (b may start a partition more than once while the group settles:
	# every start resumes from a checkpoint)
	local starts
	starts=$(started_in b "$from")
	[ "$starts" -ge "$moved" ] || fail "b started $starts partitions, a had $moved"
	assert_equal "$(tail -n "+$from" b.err | grep -c '^fs-consume: resuming from checkpoint')" "$starts"
	assert_store_expected
}

@test "fs-scale: a third instance added mid-stream takes partitions, and the store is that of a clean run" {
	produce "$BATS_FILE_TMPDIR/first.ndjson"
	start_instance a g "$IN-ck"
	start_instance b g "$IN-ck"
	wait_for 120 all_committed g
	start_instance c g "$IN-ck"
	produce "$BATS_FILE_TMPDIR/rest.ndjson"
	produce_flush
	wait_for 180 caught_up g
	stop_instance a
	stop_instance b
	stop_instance c
	[ "$(started_in c)" -ge 1 ] || fail "c took no partition: $(cat c.err)"
	# what c took, it resumed from the checkpoints a and b left
	assert_equal "$(grep -c '^fs-consume: resuming from checkpoint' c.err)" "$(started_in c)"
	assert_store_expected
}

@test "fs-scale: group offsets are committed only for complete checkpoints" {
	produce "$BATS_FILE_TMPDIR/events.ndjson"
	produce_flush
	# A stage registered in partition 0's namespace that never writes:
	# no checkpoint of partition 0 is ever complete.
	printf '{"key":"g.p0/ghost/stage","value":{}}\n' | fs-produce -b "$B" -t "$IN-ck" -E
	start_instance a g "$IN-ck"
	wait_for 180 bash -c "[ \"\$(fs-consume -b $B -t $IN -G g --lag | grep -c '\"lag\":0}')\" -eq 7 ]"
	# partition 0's source wrote checkpoints, none of them complete
	wait_for 30 bash -c "fs-consume -b $B -t $IN-ck -o beginning -e | grep -q '\"key\":\"g.p0/fs-consume/[0-9]*/commit\"'"
	committed g > offsets
	stop_instance a
	run -0 grep -c ':null/' offsets
	assert_output 1
	run -0 grep '^0:null/' offsets
	grep -c '^[1-7]:\([0-9]*\)/\1$' offsets > n
	assert_equal "$(cat n)" 7
	refute grep 'partition 0: committed' a.err
}

@test "fs-scale: a missing -G, -t or --checkpoint-dir, or a pipeline in several words, is a usage error" {
	run --separate-stderr fs-scale -b "$B" -t x --checkpoint-dir ck -- 'cat'
	assert_failure 2
	assert_equal "$stderr" "fs-scale: -G GROUP is required
Try 'fs-scale --help' for more information."
	run --separate-stderr fs-scale -b "$B" -G 'a/b' -t x --checkpoint-dir ck -- 'cat'
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-scale: -G: letters, digits, '-', '_' and '.' only: 'a/b'"
	run --separate-stderr fs-scale -b "$B" -G g -t x -- 'cat'
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-scale: --checkpoint-dir is required: the store the instances share"
	run --separate-stderr fs-scale -b "$B" -G g -t x --checkpoint-dir ck -- cat -n
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-scale: one pipeline, quoted: 'cat ...'"
	run --separate-stderr fs-scale -b "$B" -G g -t x --checkpoint-dir ck --grace 2x -- cat
	assert_failure 2
	[[ "${stderr%%$'\n'*}" == "fs-scale: --grace: "* ]] || fail "$stderr"
}
