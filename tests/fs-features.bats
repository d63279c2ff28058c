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
	assert_output '[1,"plain",true,"fs-backfill|fs-window|fs-agg|fs-sink-aerospike",{"name":"big","where":"amt>3","fn":"sum","field":"amt"},["integer"],177001]'
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
