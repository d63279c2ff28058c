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
	# the same aggregates by item, the key the topic is not keyed by
	fs-window --tumble 1m < "$d/events.ndjson" |
		fs-agg --key item --agg clicks=count:if:event=click --agg spend=sum:amount |
		grep -v '"@fs"' |
		awk '{ match($0, /"item":"[^"]*",/); u = substr($0, RSTART, RLENGTH);
			if (!(u in last)) order[n++] = u; last[u] = $0 }
			END { for (i = 0; i < n; i++) print last[order[i]] }' > "$d/expected-item.ndjson"
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

# The README's live pipeline for one partition, as fs-scale runs it; its
# stages' messages go to INSTANCE.pP.err (start_instance), so that what
# each partition's pipeline did can be told apart.
PIPELINE='{ fs-consume -b $B -t $IN -p $FS_PARTITION -o beginning -V -v \
	--checkpoint-interval 1s --checkpoint-dir $FS_CHECKPOINT_DIR |
    fs-window --tumble 1m --checkpoint-dir $FS_CHECKPOINT_DIR |
    fs-agg --key user --agg clicks=count:if:event=click --agg spend=sum:amount \
	--checkpoint-dir $FS_CHECKPOINT_DIR |
    fs-sink-aerospike --hosts $AS -n features -s user --key user \
	--monotonic --time-field window_end --checkpoint-dir $FS_CHECKPOINT_DIR
} 2>> $FS_INSTANCE.p$FS_PARTITION.err'

# start_instance NAME GROUP CKPT_TOPIC: an fs-scale in a session of its
# own, stderr to NAME.err, its pipelines' to NAME.pP.err; its pid
# (= session) in SID_NAME.
start_instance() {
	FS_INSTANCE="$PWD/$1" setsid fs-scale -b "$B" -G "$2" -t "$IN" \
		--checkpoint-dir "kafka://$B/$3" --commit-interval 1s "${GROUP_X[@]}" \
		-- "$PIPELINE" 2> "$1.err" &
	SIDS+=("$!")
	printf -v "SID_$1" '%s' "$!"
}

# stop_instances NAME...: SIGTERM to each at once, and each exits 0.
stop_instances() {
	local n sid rc
	for n in "$@"; do
		sid="SID_$n"
		kill -TERM "${!sid}"
	done
	for n in "$@"; do
		sid="SID_$n" rc=0
		wait "${!sid}" || rc=$?
		assert_equal "$n exit $rc" "$n exit 0"
	done
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

# committed GROUP [TOPIC]: the group's committed offsets on TOPIC ($IN by
# default), "P:OFFSET|null/END".
committed() {
	fs-consume -b "$B" -t "${2:-$IN}" -G "$1" --lag |
		sed 's/.*"partition":\([0-9]*\),"committed":\([0-9a-z]*\),"end":\([0-9]*\).*/\1:\2\/\3/'
}

# caught_up GROUP [TOPIC [PARTITIONS]]: every partition's committed
# offset is its end.
caught_up() {
	local c
	c=$(committed "$1" "${2:-}")
	[ "$(grep -c '^[0-9]*:\([0-9]*\)/\1$' <<< "$c")" -eq "${3:-8}" ]
}

# Every partition has some committed offset.
all_committed() {
	[ "$(committed "$1" | grep -vc ':null/')" -eq 8 ]
}

# dump_store FILE [KEY EXPECTED]: the store, for the keys (users by
# default) the expected rows have, one line each.
dump_store() {
	local key="${2:-user}"
	fs-get -h "$AS" -n features -s "$key" --key "$key" \
		"${3:-$BATS_FILE_TMPDIR/expected.ndjson}" > "$1"
}

# assert_store_expected [KEY EXPECTED]: the store against the features of
# the events file (by user by default): lost=0 doubled=0 different=0.
assert_store_expected() {
	local records figures key="${1:-user}" exp="${2:-$BATS_FILE_TMPDIR/expected.ndjson}"
	records=$(store_records "$AS" features)
	dump_store store.ndjson "$key" "$exp"
	figures=$("$COMPARE" store "$key" "$exp" store.ndjson \
		"$records" 2> compare.err) || true
	cat compare.err
	assert_equal "$figures" "lost=0 doubled=0 different=0"
}

# resumed NAME P [FROM]: how many times partition P's pipeline resumed
# from a checkpoint in instance NAME, since line FROM of its log.
resumed() {
	[ -e "$1.p$2.err" ] || { echo 0; return; }
	tail -n "+${3:-1}" "$1.p$2.err" | grep -ac 'fs-consume: resuming from checkpoint' || true
}

# all_resumed NAME: each partition NAME runs has resumed from a checkpoint.
all_resumed() {
	local p
	for p in $(running "$1"); do
		[ "$(resumed "$1" "$p")" -ge 1 ] || return 1
	done
}

# lines FILE: its line count, 0 when it does not exist.
lines() {
	if [ -e "$1" ]; then wc -l < "$1"; else echo 0; fi
}

# The partitions an instance started, in its log since line FROM.
started_in() {
	tail -n "+${2:-1}" "$1.err" | grep -ac 'fs-scale: partition [0-9]*: started' || true
}

# The partitions an instance runs, by its log (started, less revoked or
# lost), sorted, one a line.  fs-run writes a message in pieces to the
# same stderr, so fs-scale's line may come in the middle of one of its.
running() {
	awk 'match($0, /fs-scale: partition [0-9]+: (started|revoked|lost)/) {
			split(substr($0, RSTART, RLENGTH), w, /[ :]+/)
			if (w[4] == "started") run[w[3]] = 1; else delete run[w[3]] }
		END { for (p in run) print p }' "$1.err" | sort -n
}

# settled NAME...: the group is at rest: each instance runs a partition
# or more, and together they run the 8 (or $NPART), each once.
settled() {
	local n all=""
	for n in "$@"; do
		[ -n "$(running "$n")" ] || return 1
		all+="$(running "$n")"$'\n'
	done
	[ "$(sort -n <<< "$all" | grep -c .)" -eq "${NPART:-8}" ] &&
		[ "$(sort -nu <<< "$all" | grep -c .)" -eq "${NPART:-8}" ]
}

@test "fs-scale: two instances over an 8-partition topic leave the store a single instance leaves" {
	produce "$BATS_FILE_TMPDIR/events.ndjson"
	produce_flush
	start_instance one g1 "$IN-ck1"
	wait_for 300 caught_up g1
	stop_instance one
	assert_equal "$(started_in one)" 8
	assert_store_expected
	dump_store one.ndjson

	"$FIXTURE" --ctl "$AS" fixture-truncate > /dev/null
	start_instance a g2 "$IN-ck2"
	start_instance b g2 "$IN-ck2"
	# each runs some of the partitions
	wait_for 300 settled a b
	wait_for 300 caught_up g2
	stop_instances a b
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
	wait_for 300 settled a b
	wait_for 300 all_committed g
	local from p
	running a > moved
	from=$(( $(wc -l < b.err) + 1 ))
	for p in $(cat moved); do
		echo "$p $(( $(lines "b.p$p.err") + 1 ))"
	done > moved.from
	kill_session "$SID_a"
	produce "$BATS_FILE_TMPDIR/rest.ndjson"
	produce_flush
	wait_for 300 caught_up g
	stop_instance b
	# b took every partition a had, once each, and each resumed from a
	# checkpoint of a's: a partition is not started again while the
	# group settles
	tail -n "+$from" b.err |
		sed -n 's/.*fs-scale: partition \([0-9]*\): started.*/\1/p' | sort -n > took
	assert_equal "$(cat took)" "$(cat moved)"
	while read -r p from; do
		assert_equal "partition $p resumed $(resumed b "$p" "$from")" "partition $p resumed 1"
	done < moved.from
	assert_store_expected
}

@test "fs-scale: a third instance added mid-stream takes partitions, and the store is that of a clean run" {
	produce "$BATS_FILE_TMPDIR/first.ndjson"
	start_instance a g "$IN-ck"
	start_instance b g "$IN-ck"
	wait_for 300 settled a b
	wait_for 300 all_committed g
	local from_a from_b
	from_a=$(( $(wc -l < a.err) + 1 ))
	from_b=$(( $(wc -l < b.err) + 1 ))
	start_instance c g "$IN-ck"
	produce "$BATS_FILE_TMPDIR/rest.ndjson"
	produce_flush
	wait_for 300 settled a b c
	wait_for 300 caught_up g
	# a and b only gave partitions up: they started none again (an offset
	# commit that raced the rebalance used to cost them every partition)
	assert_equal "a $(started_in a "$from_a") b $(started_in b "$from_b")" "a 0 b 0"
	assert_equal "$(started_in c)" "$(running c | wc -l)"
	# what c took, it resumed from the checkpoints a and b left
	local p
	wait_for 300 all_resumed c
	for p in $(running c); do
		assert_equal "partition $p resumed $(resumed c "$p")" "partition $p resumed 1"
	done
	stop_instances a b c
	assert_store_expected
}

# Stage 1 of the repartition recipe: each partition of $IN (keyed by
# user) into $BY keyed by item, a transaction per checkpoint, under its
# own transactional id so that the partition's next owner fences this one.
REPARTITION='fs-consume -b $B -t $IN -p $FS_PARTITION -o beginning -V \
	--checkpoint-interval 1s --checkpoint-dir $FS_CHECKPOINT_DIR |
    fs-produce -b $B -t $BY -k item --transactional-id $BY.p$FS_PARTITION \
	--checkpoint-dir $FS_CHECKPOINT_DIR'

# Stage 2: the aggregate by item over $BY (read_committed).  Its partitions
# interleave $IN's, so event time is out of order by as far as $IN's
# partitions ran apart: the watermark bound covers the whole stream.
BY_ITEM='fs-consume -b $B -t $BY -p $FS_PARTITION -o beginning -V \
	--checkpoint-interval 1s --checkpoint-dir $FS_CHECKPOINT_DIR |
    fs-window --tumble 1m --max-out-of-orderness 1h --checkpoint-dir $FS_CHECKPOINT_DIR |
    fs-agg --key item --agg clicks=count:if:event=click --agg spend=sum:amount \
	--checkpoint-dir $FS_CHECKPOINT_DIR |
    fs-sink-aerospike --hosts $AS -n features -s item --key item \
	--monotonic --time-field window_end --checkpoint-dir $FS_CHECKPOINT_DIR'

@test "fs-scale: an aggregate by a key the topic is not keyed by, repartitioned through a topic keyed by it, leaves the store a one-instance run leaves" {
	# 4 partitions keyed by user: an item's events are in several
	IN=$(uniq_name clicks4)
	BY="$IN-by-item"
	export IN BY
	kafka_create_topic "$IN" 4
	kafka_create_topic "$BY" 4
	produce "$BATS_FILE_TMPDIR/events.ndjson"
	fs-consume -b "$B" -t "$IN" -o beginning -e |
		jq -r '"\(.partition) \(.value.item)"' | sort -u |
		awk '{ n[$2]++ } END { for (i in n) if (n[i] > 1) m++; print m + 0 }' > spread
	[ "$(cat spread)" -gt 100 ] || fail "items in more than one partition: $(cat spread)"
	# stage 1: repartition by item
	setsid fs-scale -b "$B" -G rp -t "$IN" --checkpoint-dir "kafka://$B/$IN-ck-rp" \
		--commit-interval 1s "${GROUP_X[@]}" -- "$REPARTITION" 2> rp.err &
	SIDS+=("$!")
	SID_rp=$!
	wait_for 300 caught_up rp "$IN" 4
	stop_instance rp
	# every event is in $BY once, and an item's events in one partition
	fs-consume -b "$B" -t "$BY" -o beginning -e > by.ndjson
	jq -c '.value' by.ndjson | sort > by.events
	sort "$BATS_FILE_TMPDIR/events.ndjson" > events.sorted
	cmp by.events events.sorted
	jq -r '"\(.partition) \(.value.item)"' by.ndjson | sort -u |
		awk '{ n[$2]++ } END { for (i in n) if (n[i] > 1) m++; print m + 0 }' > spread
	assert_equal "$(cat spread)" 0
	# the end of each partition of $BY: an event an hour and ten minutes
	# after the last fires every window
	local last p
	last=$(tail -n 1 "$BATS_FILE_TMPDIR/events.ndjson" | sed 's/^{"ts":\([0-9]*\),.*/\1/')
	for p in 0 1 2 3; do
		printf '{"ts":%s,"user":"zz-flush","event":"view","item":"zz-flush","amount":0}\n' \
			"$((last + 4200000))" | fs-produce -b "$B" -t "$BY" -p "$p"
	done
	# stage 2: two instances aggregate by item
	setsid fs-scale -b "$B" -G ag -t "$BY" --checkpoint-dir "kafka://$B/$IN-ck-ag" \
		--commit-interval 1s "${GROUP_X[@]}" -- "$BY_ITEM" 2> ag1.err &
	SIDS+=("$!")
	SID_ag1=$!
	setsid fs-scale -b "$B" -G ag -t "$BY" --checkpoint-dir "kafka://$B/$IN-ck-ag" \
		--commit-interval 1s "${GROUP_X[@]}" -- "$BY_ITEM" 2> ag2.err &
	SIDS+=("$!")
	SID_ag2=$!
	NPART=4 wait_for 300 settled ag1 ag2
	wait_for 300 caught_up ag "$BY" 4
	stop_instances ag1 ag2
	assert_store_expected item "$BATS_FILE_TMPDIR/expected-item.ndjson"
}

@test "fs-scale: group offsets are committed only for complete checkpoints" {
	produce "$BATS_FILE_TMPDIR/events.ndjson"
	produce_flush
	# A stage registered in partition 0's namespace that never writes:
	# no checkpoint of partition 0 is ever complete.
	printf '{"key":"g.p0/ghost/stage","value":{}}\n' | fs-produce -b "$B" -t "$IN-ck" -E
	start_instance a g "$IN-ck"
	wait_for 300 bash -c "[ \"\$(fs-consume -b $B -t $IN -G g --lag | grep -c '\"lag\":0}')\" -eq 7 ]"
	# partition 0's source wrote checkpoints, none of them complete
	wait_for 120 bash -c "fs-consume -b $B -t $IN-ck -o beginning -e | grep -q '\"key\":\"g.p0/fs-consume/[0-9]*/commit\"'"
	committed g > offsets
	stop_instance a
	run -0 grep -c ':null/' offsets
	assert_output 1
	run -0 grep '^0:null/' offsets
	grep -c '^[1-7]:\([0-9]*\)/\1$' offsets > n
	assert_equal "$(cat n)" 7
	refute grep 'partition 0: committed' a.err
}

@test "fs-scale: offsets are committed when the pipelines create the checkpoint topic only after fs-scale's first look at it" {
	produce "$BATS_FILE_TMPDIR/first.ndjson"
	produce_flush
	# the stages start 3s late: fs-scale's first commit finds no topic
	PIPELINE="sleep 3; $PIPELINE"
	start_instance a g "$IN-ck"
	wait_for 300 caught_up g
	stop_instance a
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
