#!/usr/bin/env bats
# Avro through a schema registry: fs-consume -s and fs-produce -s against
# the real broker and a real registry (Apicurio, scripts/registry-start),
# with the official Confluent Python client (scripts/schema-venv) as the
# peer in both directions.  tests/avro/event.ndjson holds every Avro type
# in fs's JSON form (fs-consume(1)), exactly as fs-consume prints it.

load test_helper

EVENT_SCHEMA="$TESTS/avro/event.avsc"
EVENTS="$TESTS/avro/event.ndjson"

require_registry() {
	if [ -z "${FS_REGISTRY_URL:-}" ]; then
		echo "FS_REGISTRY_URL is not set: start scripts/registry-start" >&2
		return 1
	fi
}

suite_setup() {
	require_kafka
	require_registry
	B=$FS_KAFKA_BROKERS
	R=$FS_REGISTRY_URL
	TOPIC=$(uniq_name avro)
}

peer() {
	"$("$FS_ROOT/scripts/schema-venv")" "$TESTS/avro/avro_peer.py" "$@"
}

consume() {
	fs-consume -b "$B" -t "$TOPIC" -o beginning -e -r "$R" "$@"
}

@test "avro: fs-consume decodes the official AvroSerializer's messages exactly" {
	run --separate-stderr peer produce "$B" "$R" "$TOPIC" "$EVENT_SCHEMA" <"$EVENTS"
	assert_success
	run --separate-stderr consume -s value=avro -V
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$output" "$(cat "$EVENTS")"
}

@test "avro: the envelope carries the decoded value" {
	peer produce "$B" "$R" "$TOPIC" "$EVENT_SCHEMA" <"$EVENTS"
	run --separate-stderr consume -s value=avro -c 1
	assert_success
	[[ "$output" == '{"topic":"'"$TOPIC"'","partition":0,"offset":0,'* ]]
	assert_equal "$(jq -c .value <<<"$output")" "$(head -1 "$EVENTS" | jq -c .)"
	assert_equal "$(jq -c .key <<<"$output")" "null"
}

@test "avro: the official AvroDeserializer reads what fs-produce wrote" {
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" \
		--value-schema "$EVENT_SCHEMA" <"$EVENTS"
	assert_success
	run --separate-stderr peer check "$B" "$R" "$TOPIC" "$EVENTS"
	echo "$output"
	assert_success
	assert_output "ok 2"
}

@test "avro: fs-produce then fs-consume round-trips every type" {
	fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" \
		--value-schema "$EVENT_SCHEMA" <"$EVENTS"
	run --separate-stderr consume -s value=avro -V
	assert_success
	assert_equal "$output" "$(cat "$EVENTS")"
}

@test "avro: fs-backfill replays an envelope dump of an Avro topic as its values" {
	fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" \
		--value-schema "$EVENT_SCHEMA" <"$EVENTS"
	consume -s value=avro >dump.ndjson
	# in event time: the second event (ts 0) comes first
	run --separate-stderr fs-backfill --format kafka --sort dump.ndjson
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$output" "$(sed -n 2p "$EVENTS"; sed -n 1p "$EVENTS")"
}

@test "avro: fs-produce without a schema file uses the subject's latest version" {
	fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" \
		--value-schema "$EVENT_SCHEMA" </dev/null
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" <"$EVENTS"
	assert_success
	run --separate-stderr consume -s value=avro -V
	assert_equal "$output" "$(cat "$EVENTS")"
}

@test "avro: keys and values both Avro, the key from -k" {
	printf '%s\n' '{"type":"record","name":"V","fields":[{"name":"user","type":"string"},{"name":"n","type":"int"}]}' >v.avsc
	echo '"string"' >k.avsc
	printf '%s\n' '{"user":"u1","n":1}' '{"user":"u2","n":2}' >in.ndjson
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -s avro -r "$R" \
		-k user --key-schema k.avsc --value-schema v.avsc <in.ndjson
	assert_success
	run --separate-stderr consume -s avro
	assert_success
	assert_equal "$(jq -c '[.key,.value]' <<<"$output")" \
		"$(printf '%s\n' '["u1",{"user":"u1","n":1}]' '["u2",{"user":"u2","n":2}]')"
	# -s value=avro alone: the key stays its framed bytes (base64)
	run --separate-stderr consume -s value=avro -c 1
	assert_equal "$(jq -r .key_encoding <<<"$output")" "base64"
}

@test "avro: kcat's -f, -K and -J show the decoded key and value" {
	printf '%s\n' '{"type":"record","name":"V","fields":[{"name":"user","type":"string"},{"name":"n","type":"int"}]}' >v.avsc
	echo '"string"' >k.avsc
	printf '%s\n' '{"user":"u1","n":1}' '{"user":"u2","n":2}' >in.ndjson
	fs-produce -b "$B" -t "$TOPIC" -s avro -r "$R" \
		-k user --key-schema k.avsc --value-schema v.avsc <in.ndjson
	run --separate-stderr consume -s avro -f '%o %k %K=%s %S\n'
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$output" "$(printf '%s\n' '0 u1 2={"user":"u1","n":1} 19' \
		'1 u2 2={"user":"u2","n":2} 19')"
	run --separate-stderr consume -s avro -K :
	assert_output "$(printf '%s\n' 'u1:{"user":"u1","n":1}' 'u2:{"user":"u2","n":2}')"
	run --separate-stderr consume -s avro -J -c 1
	assert_success
	assert_equal "$(jq -c '[.key, (.payload | fromjson)]' <<<"$output")" \
		'["u1",{"user":"u1","n":1}]'
}

@test "avro: a record that does not fit the schema is rejected with its line" {
	printf '%s\n' '{"type":"record","name":"V","fields":[{"name":"n","type":"int"}]}' >v.avsc
	printf '%s\n' '{"n":1}' '{"n":"two"}' '{"n":3,"extra":true}' '{"n":4}' >in.ndjson
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" \
		--value-schema v.avsc --on-error skip <in.ndjson
	assert_success
	id=$(curl -sf "$R/subjects/$TOPIC-value/versions/latest" | jq .id)
	assert_equal "${stderr_lines[0]}" "fs-produce: -:2: value does not fit schema id $id (subject '$TOPIC-value'): at .n: expected int, got string"
	assert_equal "${stderr_lines[1]}" "fs-produce: -:3: value does not fit schema id $id (subject '$TOPIC-value'): 'extra' is not a field of V"
	run --separate-stderr consume -s value=avro -V
	assert_output "$(printf '%s\n' '{"n":1}' '{"n":4}')"
}

@test "avro: fs-produce fails by default on a record that does not fit" {
	printf '%s\n' '{"type":"record","name":"V","fields":[{"name":"n","type":"int"}]}' >v.avsc
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" \
		--value-schema v.avsc <<<'{"n":null}'
	assert_failure 1
	[[ "$stderr" == *"-:1: value does not fit schema id "*": at .n: expected int, got null"* ]]
}

@test "avro: bad frames are rejected with topic/partition@offset and the reason" {
	printf '%s\n' '{"type":"record","name":"V","fields":[{"name":"n","type":"int"}]}' >v.avsc
	fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" --value-schema v.avsc <<<'{"n":1}'
	id=$(curl -sf "$R/subjects/$TOPIC-value/versions/latest" | jq .id)
	# JSON (no magic byte), an unknown id, a payload that does not match
	# (a truncated varint), a frame shorter than its header, and a good one
	# (kcat -P FILE: the file is one message, newlines and all)
	printf '{"n":2}' >m1
	printf '\0\x7f\xff\xff\xf0\x02' >m2
	printf "\\0\\0\\0\\0\\x$(printf %02x "$id")\\x80" >m3
	printf '\0\0' >m4
	for m in m1 m2 m3 m4; do kcat -P -b "$B" -t "$TOPIC" "$m"; done
	fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" <<<'{"n":6}'
	run --separate-stderr consume -s value=avro -V --on-error skip
	assert_success
	assert_output "$(printf '%s\n' '{"n":1}' '{"n":6}')"
	assert_equal "${stderr_lines[0]}" "fs-consume: $TOPIC/0@1: value: not Confluent-framed: first byte 0x7b, not the magic byte 0"
	[[ "${stderr_lines[1]}" == "fs-consume: $TOPIC/0@2: value: schema id 2147483632: registry: HTTP 404"* ]]
	assert_equal "${stderr_lines[2]}" "fs-consume: $TOPIC/0@3: value: payload does not match schema id $id: truncated"
	assert_equal "${stderr_lines[3]}" "fs-consume: $TOPIC/0@4: value: not Confluent-framed: 2 bytes, shorter than the 5-byte header"
	assert_equal "${stderr_lines[4]}" "fs-consume: 4 records rejected"
}

@test "avro: a bad frame fails the run by default, after what came before" {
	printf '%s\n' '{"type":"record","name":"V","fields":[{"name":"n","type":"int"}]}' >v.avsc
	fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" --value-schema v.avsc <<<'{"n":1}'
	printf '{"n":2}\n' | kcat -P -b "$B" -t "$TOPIC"
	run --separate-stderr consume -s value=avro -V
	assert_failure 1
	assert_output '{"n":1}'
	[[ "$stderr" == *"$TOPIC/0@1: value: not Confluent-framed"* ]]
}

@test "avro: bad frames go to the dead-letter file as they came" {
	printf '{"n":2}\n' | kcat -P -b "$B" -t "$TOPIC"
	run --separate-stderr consume -s value=avro -V --on-error dead-letter \
		--dead-letter dl.ndjson
	assert_success
	assert_equal "$(cat dl.ndjson)" '{"n":2}'
}

@test "avro: an unreachable registry rejects the message with the reason" {
	printf '\0\0\0\0\1\2' >m1
	kcat -P -b "$B" -t "$TOPIC" m1
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o beginning -e \
		-s value=avro -r http://127.0.0.1:1 -V
	assert_failure 1
	[[ "$stderr" == "fs-consume: $TOPIC/0@0: value: schema id 1: registry unreachable: "*"'http://127.0.0.1:1'"* ]]
}

@test "avro: fs-produce exits 1 when the subject is unknown" {
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" <<<'{"n":1}'
	assert_failure 1
	[[ "$stderr" == "fs-produce: subject '$TOPIC-value': registry: HTTP 404"* ]]
}

@test "avro: -s and -r are usage errors alone or misspelt" {
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -s value=avro
	assert_failure 2
	[[ "$stderr" == "fs-consume: -s and -r go together"* ]]
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -s value=json -r "$R"
	assert_failure 2
	[[ "$stderr" == "fs-consume: -s: expected FMT, key=FMT or value=FMT (FMT avro or protobuf): 'value=json'"* ]]
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -s val=protobuf -r "$R"
	assert_failure 2
	[[ "$stderr" == "fs-produce: -s: expected FMT, key=FMT or value=FMT (FMT avro or protobuf): 'val=protobuf'"* ]]
	run --separate-stderr fs-produce -b "$B" -E -s value=avro -r "$R"
	assert_failure 2
	[[ "$stderr" == "fs-produce: -s value=avro without -t needs --value-subject"* ]]
}
