#!/usr/bin/env bats
# The feature registry (fs-registry(5)): the definition control record
# every stage adds its part to, and the view fs-sink-aerospike registers
# in set fs_registry of the store (the protocol fixture of
# tests/aerospike/; a real broker for the live pipeline).

load test_helper
load kafka_helper

suite_setup() {
	SET=$(uniq_name r)
	cat >in.ndjson <<-'EOF2'
	{"user":"a","ts":1000,"amt":5}
	{"user":"b","ts":2000,"amt":3}
	{"user":"a","ts":30000,"amt":2}
	{"user":"a","ts":70000,"amt":1}
	EOF2
}

# pipeline WINDOW AGG-OPTIONS... -- SINK-OPTIONS...: a backfill of
# in.ndjson into set $SET.
pipeline() {
	local win="$1" aggs=() sinkopts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do aggs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	sinkopts=("$@")
	fs-backfill --watermarks in.ndjson | fs-window --tumble "$win" |
	    fs-agg --key user "${aggs[@]}" |
	    fs-sink-aerospike --hosts "$FS_AEROSPIKE" -n test -s "$SET" \
	    --key user "${sinkopts[@]}"
}

# The registry record of view $1 (default test.$SET): its bins.
registry() {
	fs-get --hosts "$FS_AEROSPIKE" -n test -s fs_registry --bins-only \
	    "${1:-test.$SET}"
}

@test "registry: each stage adds its part to the definition record, ahead of the data" {
	run --separate-stderr bash -c "fs-backfill --watermarks in.ndjson |
	    fs-window --tumble 5m | fs-agg --key user --agg n=count |
	    grep -n '\"@fs\":\"def\"'"
	assert_success
	assert_output '1:{"@fs":"def","lineage":[{"stage":"source","tool":"fs-backfill","files":["in.ndjson"],"format":"auto","time_field":"ts","watermark_bound":1},{"stage":"window","tool":"fs-window","kind":"tumble","size":300000,"slide":300000,"offset":0,"allowed_lateness":0,"max_out_of_orderness":1,"time_field":"ts","start_field":"window_start","end_field":"window_end"},{"stage":"agg","tool":"fs-agg","aggs":[{"spec":"n=count","name":"n","fn":"count"}],"key":["user"],"time_field":"ts","max_out_of_orderness":1}]}'
}

@test "registry: without a source that sends control records there is no definition, and output stays as it was" {
	run --separate-stderr bash -c "fs-agg --key user --agg 's=sum:amt:if:amt>1' < in.ndjson | grep -c '\"@fs\":\"def\"'"
	assert_output 0
	# a definition passes fs-agg with its part added; --data-only drops it
	run --separate-stderr bash -c "{ echo '{\"@fs\":\"def\",\"lineage\":[{\"stage\":\"x\"}]}'; cat in.ndjson; } |
	    fs-agg --key user --agg 's=sum:amt:if:amt>1' | head -n 1"
	assert_output '{"@fs":"def","lineage":[{"stage":"x"},{"stage":"agg","tool":"fs-agg","aggs":[{"spec":"s=sum:amt:if:amt>1","name":"s","where":"amt>1","fn":"sum","field":"amt"}],"key":["user"],"time_field":"ts","max_out_of_orderness":1}]}'
	run --separate-stderr bash -c "fs-backfill --watermarks in.ndjson | fs-window --tumble 1m | fs-agg --key user --agg n=count --data-only | grep -c '@fs'"
	assert_output 0
}

@test "registry: a sink without a definition registers nothing unless given --view" {
	require_aerospike
	run --separate-stderr fs-sink-aerospike --hosts "$FS_AEROSPIKE" -n test -s "$SET" --key user in.ndjson
	assert_success
	run --separate-stderr registry
	assert_failure 1
	run --separate-stderr fs-sink-aerospike --hosts "$FS_AEROSPIKE" -n test -s "$SET" --key user --view "v-$SET" in.ndjson
	assert_success
	run --separate-stderr bash -c "fs-get --hosts '$FS_AEROSPIKE' -n test -s fs_registry --bins-only 'v-$SET' | jq -c '.versions[.current] | [([.lineage[].stage] | join(\",\")), .features.amt.types]'"
	assert_output '["sink",["integer"]]'
}

@test "registry: a backfill registers the view: lineage, version, features, freshness" {
	require_aerospike
	run --separate-stderr pipeline 1m --agg n=count --agg s=sum:amt
	assert_success
	registry > reg.json
	jq -e --arg set "$SET" '.view == "test.\($set)" and .set == $set and .key == ["user"] and .key_sep == ":"' reg.json
	v=$(jq -r .current reg.json)
	[[ "$v" =~ ^[0-9a-f]{16}$ ]] || fail "version: $v"
	run jq -c --arg v "$v" '.versions[$v] | [.n, .bins, .watermark, (.first_written <= .last_written), ([.lineage[].stage] | join(",")), .features.n, .features.s, .features.window_start.types]' reg.json
	# (a map comes back sorted by key, as the server stores it)
	assert_output '[1,"plain",70001,true,"source,window,agg,sink",{"bin":"n","def":{"fn":"count","name":"n"},"types":["integer"]},{"bin":"s","def":{"field":"amt","fn":"sum","name":"s"},"types":["integer"]},["integer"]]'
	# the canonical definition leaves out where the data came from
	run jq -c --arg v "$v" '.versions[$v].definition[0]' reg.json
	assert_output '{"stage":"source","time_field":"ts"}'
}

@test "registry: option order and duration spelling keep the version; a changed --agg is refused" {
	require_aerospike
	run --separate-stderr pipeline 5m --agg n=count --agg s=sum:amt
	assert_success
	v1=$(registry | jq -r .current)
	run --separate-stderr pipeline 300s --agg s=sum:amt --agg n=count
	assert_success
	assert_equal "$stderr" ""
	registry > reg.json
	assert_equal "$(jq -r .current reg.json)" "$v1"
	assert_equal "$(jq '.versions | length' reg.json)" 1
	fs-get --hosts "$FS_AEROSPIKE" -n test -s "$SET" a > before.json
	run --separate-stderr pipeline 5m --agg n=count --agg s=sum:amt --agg m=max:amt
	assert_failure 1
	[[ "$stderr" == *"fs-sink-aerospike: view 'test.$SET' holds version $v1 in its plain bins; this pipeline's definition is version "*": give --version-bins, or write to a new set (-s) or view (--view)"* ]] ||
		fail "no refusal: $stderr"
	fs-get --hosts "$FS_AEROSPIKE" -n test -s "$SET" a > after.json
	cmp before.json after.json
	assert_equal "$(registry | jq '.versions | length')" 1
}

@test "registry: --version-bins writes a new version beside the current one" {
	require_aerospike
	run --separate-stderr pipeline 1m --agg n=count
	assert_success
	run --separate-stderr pipeline 1m --agg n=count --agg m=max:amt -- --version-bins
	assert_success
	registry > reg.json
	v1=$(jq -r .current reg.json)
	v2=$(jq -r --arg v1 "$v1" '.versions | keys[] | select(. != $v1)' reg.json)
	run jq -c --arg v "$v2" '.versions[$v] | [.n, .bins, .features.m.bin, .features.m.def]' reg.json
	# (a map comes back sorted by key, as the server stores it)
	assert_output '[2,"suffixed","m_v2",{"field":"amt","fn":"max","name":"m"}]'
	run --separate-stderr fs-get --hosts "$FS_AEROSPIKE" -n test -s "$SET" --bins-only a
	assert_output '{"window_start":60000,"window_end":120000,"n":1,"window_start_v2":60000,"window_end_v2":120000,"n_v2":1,"m_v2":1}'
}

@test "registry: --view names the view; the registry's set is refused as a feature set" {
	require_aerospike
	run --separate-stderr pipeline 1m --agg n=count -- --view "u-$SET"
	assert_success
	assert_equal "$(registry "u-$SET" | jq -r .set)" "$SET"
	run --separate-stderr fs-sink-aerospike -n test -s fs_registry --key user in.ndjson
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-sink-aerospike: -s: set 'fs_registry' is the feature registry's (fs-registry(5))"
}

@test "registry: the official Python client reads the registry" {
	require_aerospike
	run --separate-stderr pipeline 1m --agg n=count --agg 'p=sum:amt:if:amt>1'
	assert_success
	python=$("$FS_ROOT/scripts/aerospike-venv")
	run --separate-stderr "$python" - "$FS_AEROSPIKE" "test.$SET" <<-'EOF2'
	import sys, aerospike
	host, port = sys.argv[1].rsplit(":", 1)
	c = aerospike.client({"hosts": [(host, int(port))]}).connect()
	_, _, b = c.get(("test", "fs_registry", sys.argv[2]))
	v = b["versions"][b["current"]]
	print(b["view"], v["n"], v["bins"], v["watermark"], sorted(v["features"]),
	      v["features"]["p"]["def"]["where"], v["features"]["p"]["types"])
	EOF2
	assert_success
	assert_output "test.$SET 1 plain 70001 ['n', 'p', 'window_end', 'window_start'] amt>1 ['integer']"
}

@test "registry: a live pipeline from Kafka registers the same version as the backfill" {
	require_aerospike
	require_kafka
	local topic
	topic=$(uniq_name reg)
	kafka_create_topic "$topic" 1
	fs-produce -b "$FS_KAFKA_BROKERS" -t "$topic" < in.ndjson
	run --separate-stderr bash -c "fs-consume -b '$FS_KAFKA_BROKERS' -t '$topic' -o beginning -e -V --watermarks |
	    fs-window --tumble 1m | fs-agg --key user --agg n=count |
	    fs-sink-aerospike --hosts '$FS_AEROSPIKE' -n test -s '$SET' --key user"
	assert_success
	registry > live.json
	v=$(jq -r .current live.json)
	run jq -c --arg v "$v" '.versions[$v].lineage[0]' live.json
	# (a map comes back sorted by key, as the server stores it)
	assert_output "{\"format\":\"json\",\"stage\":\"source\",\"time_field\":\"ts\",\"tool\":\"fs-consume\",\"topics\":[\"$topic\"],\"watermark_bound\":1}"
	[[ "$(cat live.json)" != *"$FS_KAFKA_BROKERS"* ]] || fail "brokers in the registry"
	# the backfill of the same definition is the same version
	run --separate-stderr pipeline 1m --agg n=count
	assert_success
	assert_equal "$(registry | jq -r .current)" "$v"
	assert_equal "$(registry | jq '.versions | length')" 1
}

@test "registry: fs-join adds its part; with two inputs the part holds both lineages" {
	printf '%s\n' '{"user":"a","ts":1000,"x":1}' > l.ndjson
	printf '%s\n' '{"user":"a","ts":1500,"y":2}' > r.ndjson
	run --separate-stderr bash -c "fs-join --between -1s,1s --key user \
	    --left <(fs-backfill --watermarks l.ndjson) \
	    --right <(fs-backfill --watermarks r.ndjson) | grep '\"@fs\":\"def\"'"
	assert_success
	assert_output '{"@fs":"def","lineage":[{"stage":"join","tool":"fs-join","kind":"interval","type":"inner","lower":-1000,"upper":1000,"key":["user"],"left":{"prefix":""},"right":{"prefix":"right_"},"time_field":"ts","max_out_of_orderness":1,"inputs":{"left":[{"stage":"source","tool":"fs-backfill","files":["l.ndjson"],"format":"auto","time_field":"ts","watermark_bound":1}],"right":[{"stage":"source","tool":"fs-backfill","files":["r.ndjson"],"format":"auto","time_field":"ts","watermark_bound":1}]}}]}'
	cat l.ndjson r.ndjson | jq -c '. + {s: (if .x then "l" else "r" end)}' > j.ndjson
	run --separate-stderr bash -c "fs-backfill --watermarks j.ndjson |
	    fs-join --between -1s,1s --key user --left-where s=l --right-where s=r |
	    grep '\"@fs\":\"def\"' | jq -c '.lineage[1] | [.stage, .left.where, .right.where]'"
	assert_output '["join","s=l","s=r"]'
}

@test "registry: freshness is registered while the pipeline runs, not only at its end" {
	require_aerospike
	rm -f fifo; mkfifo fifo
	fs-window --tumble 1m < fifo | fs-agg --key user --agg n=count |
	    fs-sink-aerospike --hosts "$FS_AEROSPIKE" -n test -s "$SET" --key user 2> sink.err &
	pid=$!
	exec 7> fifo
	# the whole archive with its last watermark, and the input kept open
	fs-backfill --watermarks in.ndjson >&7
	wait_for 60 eval "registry 2>/dev/null | jq -e '.versions[.current].watermark == 70001' > /dev/null"
	kill -0 "$pid" || fail "the pipeline is not running"
	exec 7>&-
	wait "$pid"
	assert_equal "$(cat sink.err)" ""
}

# --- the offline store's location (fs-sink-file --view) -----------------

# offline DIR SINK-FILE-OPTIONS...: the backfill of pipeline 1m n=count
# into files under DIR, recorded in view test.$SET.
offline() {
	local dir=$1
	shift
	fs-backfill --watermarks in.ndjson | fs-window --tumble 1m |
	    fs-agg --key user --agg n=count |
	    fs-sink-file --time-field window_start --view "test.$SET" -n test \
	    --hosts "$FS_AEROSPIKE" "$@" "$dir"
}

@test "registry: fs-sink-file records its store as the offline location of the view's version; the official client reads it" {
	require_aerospike
	run --separate-stderr pipeline 1m --agg n=count
	assert_success
	run --separate-stderr offline store --format avro
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr offline nd --compress gzip --partition 'dt=%Y-%m-%d'
	assert_success
	python=$("$FS_ROOT/scripts/aerospike-venv")
	run --separate-stderr "$python" - "$FS_AEROSPIKE" "test.$SET" "$T" <<-'EOF2'
	import json, sys, aerospike
	host, port = sys.argv[1].rsplit(":", 1)
	c = aerospike.client({"hosts": [(host, int(port))]}).connect()
	_, _, b = c.get(("test", "fs_registry", sys.argv[2]))
	off = b["versions"][b["current"]]["offline"]
	for uri in sorted(off):
	    o = off[uri]
	    print(uri.replace(sys.argv[3], "T"), o["format"], o["compression"],
	          o["layout"], o["prefix"], o["time_field"], o["updated"] > 0,
	          [f["name"] for f in json.loads(o["schema"])["fields"]] if "schema" in o else "-")
	EOF2
	assert_success
	assert_output - <<-EOF2
	file://T/nd ndjson gzip dt=%Y-%m-%d part window_start True -
	file://T/store avro none dt=%Y-%m-%d/hour=%H part window_start True ['window_start', 'window_end', 'user', 'n']
	EOF2
	# fs-features shows it: describe (NDJSON and the table) and export
	run --separate-stderr bash -c "fs-features --hosts '$FS_AEROSPIKE' -n test describe 'test.$SET' | jq -c '.offline | keys'"
	assert_output "[\"file://$T/nd\",\"file://$T/store\"]"
	run script -qec "fs-features --hosts '$FS_AEROSPIKE' -n test describe 'test.$SET'" /dev/null
	assert_line --partial "offline    file://$T/store (avro, dt=%Y-%m-%d/hour=%H)"
	assert_line --partial "offline    file://$T/nd (ndjson gzip, dt=%Y-%m-%d)"
	fs-features --hosts "$FS_AEROSPIKE" -n test export |
	    jq -e --arg v "test.$SET" --arg u "file://$T/store" '.[$v].versions[.[$v].current].offline[$u].format == "avro"'
}

@test "registry: fs-sink-file with a definition the view does not hold records nothing, and says so" {
	require_aerospike
	run --separate-stderr pipeline 1m --agg n=count
	assert_success
	before=$(registry | jq -S 'del(.updated) | .versions[].updated = 0')
	run --separate-stderr bash -c "fs-backfill --watermarks in.ndjson | fs-window --tumble 1m |
	    fs-agg --key user --agg n=count --agg m=max:amt |
	    fs-sink-file --time-field window_start --view 'test.$SET' -n test --hosts '$FS_AEROSPIKE' store"
	assert_success
	assert_equal "$stderr" "fs-sink-file: view 'test.$SET' has no version of this input's definition (fs-sink-aerospike --view 'test.$SET' registers it): this store is not recorded as its offline location"
	[ -n "$(find store -name 'part-*')" ] || fail "no rows written"
	assert_equal "$(registry | jq -S 'del(.updated) | .versions[].updated = 0')" "$before"
	run --separate-stderr fs-sink-file --view "test.$SET" store </dev/null
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-sink-file: --view and -n go together: the registry of NAMESPACE records where VIEW's rows are"
}

# --- Kafka-output views (fs-produce --view) --------------------------------

# produce TOPIC VIEW AGG-OPTIONS...: the backfill of in.ndjson, windowed
# and aggregated, into TOPIC, registered as VIEW.
produce() {
	local topic=$1 view=$2
	shift 2
	fs-backfill --watermarks in.ndjson | fs-window --tumble 1m |
	    fs-agg --key user "$@" |
	    fs-produce -b "$FS_KAFKA_BROKERS" -t "$topic" -k user --view "$view" \
	    -n test --hosts "$FS_AEROSPIKE"
}

@test "registry: fs-produce --view registers a Kafka-output view in the same registry; fs-features lists and describes it" {
	require_aerospike
	require_kafka
	local topic
	topic=$(uniq_name regk)
	kafka_create_topic "$topic" 1
	run --separate-stderr produce "$topic" "k.$SET" --agg n=count --agg 's=sum:amt'
	assert_success
	assert_equal "$stderr" ""
	# the rows are in the topic
	run --separate-stderr fs-consume -b "$FS_KAFKA_BROKERS" -t "$topic" -o beginning -e -V --data-only
	assert_success
	assert_equal "${#lines[@]}" 3
	registry "k.$SET" > reg.json
	run jq -c '[.view, .topic, .set, .key, (.versions | length), (.versions[.current] | [.n, .watermark, (.first_written > 0), (.features | keys), .features.s.def.fn, ([.lineage[].tool] | join("|"))])]' reg.json
	assert_output "[\"k.$SET\",\"$topic\",\"\",[\"user\"],1,[1,70001,true,[\"n\",\"s\",\"window_end\",\"window_start\"],\"sum\",\"fs-backfill|fs-window|fs-agg|fs-produce\"]]"
	# the topic is where, not what: another topic is the same version
	topic2=$(uniq_name regk)
	kafka_create_topic "$topic2" 1
	run --separate-stderr produce "$topic2" "k2.$SET" --agg 's=sum:amt' --agg n=count
	assert_success
	assert_equal "$(registry "k2.$SET" | jq -r .current)" "$(jq -r .current reg.json)"
	# fs-features: list and describe, NDJSON and the table
	run --separate-stderr bash -c "fs-features --hosts '$FS_AEROSPIKE' -n test list | jq -c 'select(.view == \"k.$SET\") | [.topic, .watermark]'"
	assert_output "[\"$topic\",70001]"
	run --separate-stderr bash -c "fs-features --hosts '$FS_AEROSPIKE' -n test describe 'k.$SET' | jq -r .topic"
	assert_output "$topic"
	run script -qec "fs-features --hosts '$FS_AEROSPIKE' -n test describe 'k.$SET'" /dev/null
	assert_line --partial "topic      $topic"
	assert_line --partial "lineage    fs-backfill | fs-window | fs-agg | fs-produce"
	# its pipeline into a set, for a store to serve from
	run --separate-stderr fs-features --hosts "$FS_AEROSPIKE" -n test pipeline "k.$SET"
	assert_failure 1
	assert_equal "$stderr" "fs-features: view 'k.$SET' version $(jq -r .current reg.json) writes Kafka topic '$topic': give -s SET to write its rows to Aerospike, or --training"
}

@test "registry: fs-produce refuses a changed definition into its view before it writes a message" {
	require_aerospike
	require_kafka
	local topic
	topic=$(uniq_name regk)
	kafka_create_topic "$topic" 1
	run --separate-stderr produce "$topic" "k.$SET" --agg n=count
	assert_success
	v=$(registry "k.$SET" | jq -r .current)
	run --separate-stderr produce "$topic" "k.$SET" --agg n=count --agg m=max:amt
	assert_failure 1
	[[ "$stderr" == "fs-produce: view 'k.$SET' holds version $v in its plain bins; this pipeline's definition is version "*": write to a new topic (-t) or view (--view)" ]] ||
	    fail "$stderr"
	# only the first run's rows
	run --separate-stderr fs-consume -b "$FS_KAFKA_BROKERS" -t "$topic" -o beginning -e -V --data-only
	assert_equal "${#lines[@]}" 3
	run --separate-stderr fs-produce -b "$FS_KAFKA_BROKERS" -E --view v -n test < /dev/null
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-produce: --view registers the records written to one topic: give -t, not -E"
	run --separate-stderr fs-produce -b "$FS_KAFKA_BROKERS" -t x --view v < /dev/null
	assert_failure 2
}
