#!/usr/bin/env bats
# fs-features: the feature registry (fs-registry(5)) read back: list,
# describe, diff, the pipeline that reproduces a view, export.  Against
# the protocol fixture of tests/aerospike/.

load test_helper

suite_setup() {
	SET=$(uniq_name f)
	# events over three minutes, two users, an archive split in two files
	for i in $(seq 0 59); do
		printf '{"user":"u%d","ts":%d,"amt":%d}\n' $((i % 3)) $((i * 3000)) $((i % 7))
	done > all.ndjson
	head -n 30 all.ndjson > a1.ndjson
	tail -n 30 all.ndjson > a2.ndjson
}

# The README test's private fixture, stopped even when the test fails.
teardown() {
	[ ! -d "$T/fx" ] || FS_ASFIXTURE_STATE="$T/fx" "$FS_ROOT/scripts/aerospike-fixture-stop"
}

ff() {
	fs-features --hosts "$FS_AEROSPIKE" -n test "$@"
}

# pipeline AGG-OPTIONS... -- SINK-OPTIONS...: a backfill of the archive.
pipeline() {
	local aggs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do aggs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	fs-backfill --watermarks a1.ndjson a2.ndjson | fs-window --tumble 1m |
	    fs-agg --key user "${aggs[@]}" |
	    fs-sink-aerospike --hosts "$FS_AEROSPIKE" -n test -s "$SET" \
	    --key user "$@"
}

# Every user's record of a set, bins only.
dump() {
	printf '%s\n' u0 u1 u2 | fs-get --hosts "$FS_AEROSPIKE" -n test -s "$1" \
	    --key-type string --bins-only u0 u1 u2
}

@test "fs-features: list shows the view, its version, features and freshness" {
	require_aerospike
	run --separate-stderr pipeline --agg n=count --agg s=sum:amt
	assert_success
	ff list | jq -c --arg v "test.$SET" 'select(.view == $v) | [.set, .versions, .features, .watermark, (.lag_ms > 0), (.version | length)]' > row
	assert_file_equals row "[\"$SET\",1,[\"n\",\"s\",\"window_end\",\"window_start\"],177001,true,16]"
}

@test "fs-features: describe gives the definition, lineage and features; a table on a terminal" {
	require_aerospike
	run --separate-stderr pipeline --agg n=count --agg 'big=sum:amt:if:amt>3'
	assert_success
	run --separate-stderr bash -c "fs-features --hosts '$FS_AEROSPIKE' -n test describe 'test.$SET' |
	    jq -c '[.n, .bins, .current, ([.lineage[].tool] | join(\"|\")), .features.big.def, .features.big.types, .watermark]'"
	# (a map comes back sorted by key, as the server stores it)
	assert_output '[1,"plain",true,"fs-backfill|fs-window|fs-agg|fs-sink-aerospike",{"field":"amt","fn":"sum","name":"big","where":"amt>3"},["integer"],177001]'
	# the same through a terminal (script(1) gives one)
	run script -qec "fs-features --hosts '$FS_AEROSPIKE' -n test describe 'test.$SET'" /dev/null
	assert_success
	assert_line --partial "lineage    fs-backfill | fs-window | fs-agg | fs-sink-aerospike"
	assert_line --regexp '^big +big +integer +sum\(amt\) if amt>3'
	assert_line --regexp '^n +n +integer +count\(\*\)'
}

@test "fs-features: diff names what changed between two versions" {
	require_aerospike
	run --separate-stderr pipeline --agg n=count --agg s=sum:amt
	assert_success
	run --separate-stderr pipeline --agg n=count --agg s=max:amt -- --version-bins
	assert_success
	run --separate-stderr ff diff "test.$SET" 1 2
	assert_success
	assert_output '{"path":"definition[2].aggs[1].fn","a":"sum","b":"max"}'
	run --separate-stderr ff diff "test.$SET" 1 v1
	assert_success
	assert_output ""
	v2=$(ff describe "test.$SET@2" | jq -r .version)
	run --separate-stderr ff diff "test.$SET" 2 "${v2:0:6}"
	assert_output ""
	run --separate-stderr ff describe "test.$SET@9"
	assert_failure 1
	assert_equal "$stderr" "fs-features: view 'test.$SET' has no version '9'"
}

@test "fs-features: the printed pipeline run over the archive reproduces the store exactly" {
	require_aerospike
	run --separate-stderr pipeline --agg n=count --agg s=sum:amt --agg 'm=max:amt:if:amt>2'
	assert_success
	run --separate-stderr ff pipeline -s "$SET-b" "test.$SET"
	assert_success
	assert_output "fs-backfill --watermarks a1.ndjson a2.ndjson | fs-window --tumble 60000ms | fs-agg --key user --agg n=count --agg s=sum:amt --agg 'm=max:amt:if:amt>2' | fs-sink-aerospike --hosts $FS_AEROSPIKE -n test -s $SET-b --key user"
	run --separate-stderr bash -c "$output"
	assert_success
	dump "$SET" > a.json
	dump "$SET-b" > b.json
	[ -s a.json ] || fail "nothing stored"
	cmp a.json b.json
	# the same definition: the same version, in a view of its own
	assert_equal "$(ff describe "test.$SET-b" | jq -r .version)" \
	    "$(ff describe "test.$SET" | jq -r .version)"
}

@test "fs-features: a view read from Kafka needs the archive files" {
	require_aerospike
	printf '%s\n' '{"@fs":"def","lineage":[{"stage":"source","tool":"fs-consume","topics":["clicks"],"format":"json","time_field":"ts","watermark_bound":1}]}' |
	    cat - all.ndjson | fs-window --tumble 1m | fs-agg --key user --agg n=count |
	    fs-sink-aerospike --hosts "$FS_AEROSPIKE" -n test -s "$SET" --key user
	run --separate-stderr ff pipeline "test.$SET"
	assert_failure 1
	assert_equal "$stderr" "fs-features: view 'test.$SET' version $(ff describe "test.$SET" | jq -r .version) reads Kafka topic(s) 'clicks': give the archive FILEs"
	run --separate-stderr ff pipeline "test.$SET" 'clicks 1.ndjson'
	assert_success
	assert_output "fs-backfill --watermarks 'clicks 1.ndjson' | fs-window --tumble 60000ms | fs-agg --key user --agg n=count | fs-sink-aerospike --hosts $FS_AEROSPIKE -n test -s $SET --key user"
}

@test "fs-features: export is the whole registry as sorted, indented JSON" {
	require_aerospike
	run --separate-stderr pipeline --agg n=count
	assert_success
	ff export > reg.json
	jq -e --arg v "test.$SET" '.[$v].versions[.[$v].current].features.n.def.fn == "count"' reg.json
	# members sorted, two-space indent: stable for git
	jq --indent 2 -S . reg.json | cmp - reg.json
}

@test "fs-features: usage errors exit 2" {
	run --separate-stderr fs-features -n test
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-features: no command: list, describe, diff, pipeline or export"
	run --separate-stderr fs-features -n test frob
	assert_failure 2
	run --separate-stderr fs-features -n test diff v 1
	assert_failure 2
	run --separate-stderr fs-features -n test -s x list
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-features: -s is for pipeline"
}

@test "fs-features: an over view is reproduced with its ranges as spelled, which name its features" {
	require_aerospike
	fs-backfill --watermarks a1.ndjson a2.ndjson |
	    fs-agg --key user --over 1m,30s --agg n=count --agg s=sum:amt |
	    fs-sink-aerospike --hosts "$FS_AEROSPIKE" -n test -s "$SET" --key user
	run --separate-stderr ff pipeline -s "$SET-b" "test.$SET"
	assert_success
	assert_output "fs-backfill --watermarks a1.ndjson a2.ndjson | fs-agg --key user --agg n=count --agg s=sum:amt --over 1m,30s | fs-sink-aerospike --hosts $FS_AEROSPIKE -n test -s $SET-b --key user"
	run --separate-stderr bash -c "$output"
	assert_success
	dump "$SET" > a.json
	dump "$SET-b" > b.json
	grep -q '"n_1m"' a.json || fail "no n_1m: $(cat a.json)"
	cmp a.json b.json
	# the ranges as written do not change the version: 60s is 1m
	run --separate-stderr ff describe "test.$SET"
	jq -e '.definition[1].over == [30000, 60000] and .features.n_1m.types == ["integer"] and .features.s_30s.def == {"name":"s","fn":"sum","field":"amt","range":30000}' <<< "$output"
}

# --- fs-training-set --view: a training set from a registered view -----

# Labels of the three users, around and on the windows' ends, shuffled.
labels() {
	printf '%s\n' '{"user":"u2","ts":500000,"y":1}' '{"user":"u0","ts":59999,"y":0}' \
	    '{"user":"u0","ts":60000,"y":1}' '{"user":"u1","ts":150000,"y":0}' \
	    '{"user":"u1","ts":120000,"y":1}' '{"user":"u2","ts":179999,"y":0}'
}

# expected ROWS: each label (by time) with the row of its user whose
# window ended last at or before the label's time, computed here.
expected_asof() {
	labels | jq -c -s --slurpfile r "$1" 'sort_by(.ts)[] | . as $l |
	    ([$r[] | select(.user == $l.user and .window_end <= $l.ts)] |
	    max_by(.window_end)) as $m |
	    $l + {feature_ts: $m.window_end, n: $m.n, s: $m.s,
	    window_start: $m.window_start}'
}

@test "fs-training-set --view: rows as of each label from the view's registered pipeline, as the hand-written one gives them" {
	require_aerospike
	run --separate-stderr pipeline --agg n=count --agg s=sum:amt
	assert_success
	labels > labels.ndjson
	run --separate-stderr fs-training-set --view "test.$SET" -n test \
	    --hosts "$FS_AEROSPIKE" labels.ndjson a1.ndjson a2.ndjson
	assert_success
	assert_equal "$stderr" ""
	# the hand-written pipeline the view was registered by, its rows
	fs-backfill --watermarks a1.ndjson a2.ndjson | fs-window --tumble 1m |
	    fs-agg --key user --agg n=count --agg s=sum:amt --data-only > rows.ndjson
	assert_equal "$output" "$(expected_asof rows.ndjson)"
	# by hand: nothing before the first window's end; a window's row from its end on
	assert_line --index 0 '{"user":"u0","ts":59999,"y":0,"feature_ts":null,"n":null,"s":null,"window_start":null}'
	assert_line --index 1 '{"user":"u0","ts":60000,"y":1,"feature_ts":60000,"n":7,"s":21,"window_start":0}'
	assert_line --index 3 '{"user":"u1","ts":150000,"y":0,"feature_ts":120000,"n":6,"s":16,"window_start":60000}'
}

@test "fs-training-set --view NAME@VERSION: each version's definition gives its own rows" {
	require_aerospike
	run --separate-stderr pipeline --agg n=count --agg s=sum:amt
	assert_success
	run --separate-stderr pipeline --agg n=count --agg s=max:amt -- --version-bins
	assert_success
	labels > labels.ndjson
	fs-backfill --watermarks a1.ndjson a2.ndjson | fs-window --tumble 1m |
	    fs-agg --key user --agg n=count --agg s=sum:amt --data-only > sum.ndjson
	fs-backfill --watermarks a1.ndjson a2.ndjson | fs-window --tumble 1m |
	    fs-agg --key user --agg n=count --agg s=max:amt --data-only > max.ndjson
	run --separate-stderr fs-training-set --view "test.$SET@1" -n test \
	    --hosts "$FS_AEROSPIKE" labels.ndjson a1.ndjson a2.ndjson
	assert_success
	assert_equal "$output" "$(expected_asof sum.ndjson)"
	run --separate-stderr fs-training-set --view "test.$SET@2" -n test \
	    --hosts "$FS_AEROSPIKE" labels.ndjson a1.ndjson a2.ndjson
	assert_success
	assert_equal "$output" "$(expected_asof max.ndjson)"
	# without a version: the current one, that of the plain bins
	run --separate-stderr fs-training-set --view "test.$SET" -n test \
	    --hosts "$FS_AEROSPIKE" labels.ndjson a1.ndjson a2.ndjson
	assert_equal "$output" "$(expected_asof sum.ndjson)"
}

@test "fs-training-set --view: an over view gives the rows fs-training-set's own options give" {
	require_aerospike
	fs-backfill --watermarks a1.ndjson a2.ndjson |
	    fs-agg --key user --over 1m,30s --agg n=count --agg s=sum:amt |
	    fs-sink-aerospike --hosts "$FS_AEROSPIKE" -n test -s "$SET" --key user \
	    -B n_1m,n_30s,s_1m,s_30s
	labels > labels.ndjson
	run --separate-stderr fs-training-set --view "test.$SET" -n test \
	    --hosts "$FS_AEROSPIKE" labels.ndjson a1.ndjson a2.ndjson
	assert_success
	view=$output
	run --separate-stderr fs-training-set -k user --over 1m,30s -a n=count \
	    -a s=sum:amt labels.ndjson all.ndjson
	assert_success
	# the same members, in fs-features' (sorted) order
	assert_equal "$view" "$(jq -c '{user, ts, y, feature_ts, n_1m, n_30s, s_1m, s_30s}' <<< "$output")"
	grep -q '"n_30s":[0-9]' <<< "$view" || fail "no features: $view"
}

@test "fs-training-set --view: an unknown view or version is an error that names it" {
	require_aerospike
	run --separate-stderr pipeline --agg n=count
	assert_success
	labels > labels.ndjson
	run --separate-stderr fs-training-set --view "test.$SET-none" -n test \
	    --hosts "$FS_AEROSPIKE" labels.ndjson a1.ndjson
	assert_failure 1
	assert_equal "$stderr" "fs-features: no view 'test.$SET-none' in namespace 'test'"
	assert_output ""
	run --separate-stderr fs-training-set --view "test.$SET@7" -n test \
	    --hosts "$FS_AEROSPIKE" labels.ndjson a1.ndjson
	assert_failure 1
	assert_equal "$stderr" "fs-features: view 'test.$SET' has no version '7'"
	run --separate-stderr fs-training-set --view "test.$SET" -a n=count -n test \
	    labels.ndjson a1.ndjson
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-training-set: --view: the view's definition gives the aggregates, key and ranges (no -a, -k, --over)"
	run --separate-stderr fs-training-set --view "test.$SET" labels.ndjson a1.ndjson
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-training-set: --view needs -n NAMESPACE"
}

@test "fs-features: pipeline --training prints the rows without the sink, and the as-of join" {
	require_aerospike
	run --separate-stderr pipeline --agg n=count --agg s=sum:amt
	assert_success
	run --separate-stderr ff pipeline --training "test.$SET"
	assert_success
	assert_line --index 0 "fs-backfill --watermarks a1.ndjson a2.ndjson | fs-window --tumble 60000ms | fs-agg --key user --agg n=count --agg s=sum:amt"
	assert_line --index 1 "fs-join --asof --type left --key user --right-time-field window_end --right-fields window_end:feature_ts,n:n,s:s,window_start:window_start"
	run --separate-stderr ff pipeline --training -s x "test.$SET"
	assert_failure 2
	run --separate-stderr ff --training list
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-features: --training is for pipeline"
}

# --- the README's walk-through ------------------------------------------

# The sh block of the README section named $1, as the README writes it.
readme_block() {
	sed -n "/^### $1\$/,/^### /p" "$FS_ROOT/README.md" |
	    awk '/^```sh$/ { f = 1; next } /^```$/ { if (f) exit } f'
}

@test "fs-features: the README's walk-through from definition to model input runs as written" {
	readme_block 'One feature view, from definition to model input' > walk.sh
	grep -q '^fs-training-set --view ' walk.sh || fail "no walk-through: $(cat walk.sh)"
	# its own fixture with the README's namespace
	AS=$(FS_ASFIXTURE_STATE="$T/fx" "$FS_ROOT/scripts/aerospike-fixture-start" -- -n features)
	AS=${AS#FS_AEROSPIKE=}
	# clicks of three users over five minutes, archived in two files
	mkdir archive
	for i in $(seq 0 99); do
		printf '{"user":"u%d","ts":%d,"amount":%d}\n' $((i % 3)) $((i * 3000)) $((i % 5))
	done > events.ndjson
	head -n 50 events.ndjson | gzip > archive/a.ndjson.gz
	tail -n 50 events.ndjson | gzip > archive/b.ndjson.gz
	printf '%s\n' '{"user":"u0","ts":30000,"label":0}' '{"user":"u1","ts":60000,"label":1}' \
	    '{"user":"u2","ts":200000,"label":0}' '{"user":"u0","ts":9999999,"label":1}' \
	    '{"user":"u1","ts":9999999,"label":0}' > labels.ndjson
	printf '%s\n' '{"user":"u0"}' '{"user":"u1"}' > requests.ndjson
	run --separate-stderr env AS="$AS" bash -e -o pipefail walk.sh
	FS_ASFIXTURE_STATE="$T/fx" "$FS_ROOT/scripts/aerospike-fixture-stop"
	assert_success
	assert_equal "$stderr" ""
	# 3: describe, one NDJSON record: the definition and the offline store
	assert_equal "${#lines[@]}" 3
	jq -e --arg u "file://$T/offline" '.view == "features.user_1m" and .n == 1 and
	    .features.clicks.def.fn == "count" and .features.spend.def.field == "amount" and
	    .offline[$u].format == "ndjson" and .watermark == 297001' <<< "${lines[0]}"
	# 4: the rows of the hand-written pipeline as of each label
	zcat archive/*.gz | fs-backfill --watermarks | fs-window --tumble 1m |
	    fs-agg --key user --agg clicks=count --agg spend=sum:amount --data-only > rows.ndjson
	jq -c -s --slurpfile r rows.ndjson 'sort_by(.ts)[] | . as $l |
	    ([$r[] | select(.user == $l.user and .window_end <= $l.ts)] |
	    max_by(.window_end)) as $m |
	    $l + {feature_ts: $m.window_end, clicks: $m.clicks, spend: $m.spend,
	    window_start: $m.window_start}' labels.ndjson > expected
	assert_equal "$(cat train.ndjson)" "$(cat expected)"
	assert_equal "$(sed -n 1p train.ndjson)" '{"user":"u0","ts":30000,"label":0,"feature_ts":null,"clicks":null,"spend":null,"window_start":null}'
	# 5: a request gets now what a label after the last window trained on
	assert_equal "${lines[1]}" "$(jq -c 'select(.user == "u0" and .ts == 9999999) | {user, clicks, spend, window_start}' train.ndjson)"
	assert_equal "${lines[2]}" "$(jq -c 'select(.user == "u1" and .ts == 9999999) | {user, clicks, spend, window_start}' train.ndjson)"
}
