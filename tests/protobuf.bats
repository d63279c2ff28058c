#!/usr/bin/env bats
# Protobuf through a schema registry: fs-consume -s value=protobuf and
# fs-produce -s value=protobuf against the real broker and a real registry
# (Apicurio, scripts/registry-start), with the official Confluent Python
# client (scripts/schema-venv) as the peer in both directions.
# tests/proto/event.proto has scalars of every kind, nested messages,
# repeated fields, maps, a oneof and enums; tests/proto/event.ndjson holds
# values of it in the canonical JSON mapping exactly as MessageToJson and
# fs-consume print them.

load test_helper

PROTO="$TESTS/proto/event.proto"
EVENTS="$TESTS/proto/event.ndjson"

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
	TOPIC=$(uniq_name proto)
	protoc -I "$TESTS/proto" --include_imports --descriptor_set_out=event.desc \
		"$PROTO"
}

peer() {
	"$("$FS_ROOT/scripts/schema-venv")" "$TESTS/proto/proto_peer.py" "$@"
}

consume() {
	fs-consume -b "$B" -t "$TOPIC" -o beginning -e -r "$R" "$@"
}

@test "protobuf: fs-consume decodes the official ProtobufSerializer's messages as MessageToJson" {
	run --separate-stderr peer produce "$B" "$R" "$TOPIC" event.desc fs.test.Event <"$EVENTS"
	assert_success
	# what MessageToJson gives for each message produced, and the data file
	# is written in that form; a map has no order (Python keeps it in hash
	# order), so keys are sorted on both sides, everything else as printed
	mtj=$(jq -cS . <<<"$output")
	assert_equal "$mtj" "$(jq -cS . "$EVENTS")"
	run --separate-stderr consume -s value=protobuf -V
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -cS . <<<"$output")" "$mtj"
}

@test "protobuf: the registry gives the Python client's schema back as a base64 descriptor" {
	peer produce "$B" "$R" "$TOPIC" event.desc fs.test.Event <"$EVENTS" >/dev/null
	run curl -sf "$R/subjects/$TOPIC-value/versions/latest"
	assert_success
	assert_equal "$(jq -r .schemaType <<<"$output")" "PROTOBUF"
	[[ "$(jq -r .schema <<<"$output")" =~ ^[A-Za-z0-9+/]+=*$ ]]
}

@test "protobuf: the envelope carries the decoded value; kcat's -s protobuf" {
	peer produce "$B" "$R" "$TOPIC" event.desc fs.test.Event <"$EVENTS" >/dev/null
	run --separate-stderr consume -s protobuf -c 2
	assert_success
	[[ "${lines[0]}" == '{"topic":"'"$TOPIC"'","partition":0,"offset":0,'* ]]
	assert_equal "$(jq -cS .value <<<"$output")" "$(head -2 "$EVENTS" | jq -cS .)"
}

@test "protobuf: the official ProtobufDeserializer reads what fs-produce wrote" {
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -s value=protobuf -r "$R" \
		--value-schema "$PROTO" <"$EVENTS"
	assert_success
	run --separate-stderr peer check "$B" "$R" "$TOPIC" event.desc fs.test.Event "$EVENTS"
	echo "$output"
	assert_success
	assert_output "ok 4"
}

@test "protobuf: fs-produce then fs-consume round-trips every kind of field" {
	fs-produce -b "$B" -t "$TOPIC" -s value=protobuf -r "$R" \
		--value-schema "$PROTO" <"$EVENTS"
	run --separate-stderr consume -s value=protobuf -V
	assert_success
	assert_equal "$output" "$(cat "$EVENTS")"
}

@test "protobuf: .proto field names and numbers for 64-bit integers are read too" {
	printf '%s\n' '{"user_id":"u","i64":5,"kind":2,"item_id":7}' >in.ndjson
	fs-produce -b "$B" -t "$TOPIC" -s value=protobuf -r "$R" \
		--value-schema "$PROTO" <in.ndjson
	run --separate-stderr consume -s value=protobuf -V
	assert_output '{"userId":"u","i64":"5","kind":"VIEW","itemId":"7"}'
}

@test "protobuf: --value-message picks the second message (index [1]), read by both" {
	printf '%s\n' '{"fromHost":"h1","seq":"3"}' >ping.ndjson
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -s value=protobuf -r "$R" \
		--value-schema "$PROTO" --value-message Ping <ping.ndjson
	assert_success
	kcat -C -b "$B" -t "$TOPIC" -o beginning -e -c 1 -f '%s' >raw
	# magic 0, 4-byte id, index array [1] = zigzag 1 (count), zigzag 1
	assert_equal "$(od -An -tx1 -j5 -N2 raw | tr -d ' ')" "0202"
	run --separate-stderr consume -s value=protobuf -V
	assert_output '{"fromHost":"h1","seq":"3"}'
	run --separate-stderr peer check "$B" "$R" "$TOPIC" event.desc fs.test.Ping ping.ndjson
	assert_output "ok 1"
}

@test "protobuf: keys and values both Protobuf, the key a message too" {
	# an envelope (-E): -k takes only scalar fields
	printf '%s\n' '{"key":{"fromHost":"k1"},"value":{"userId":"u1"}}' >in.ndjson
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -E -s protobuf -r "$R" \
		--key-schema "$PROTO" --key-message fs.test.Ping \
		--value-schema "$PROTO" <in.ndjson
	assert_success
	run --separate-stderr consume -s protobuf
	assert_success
	assert_equal "$(jq -c '[.key,.value]' <<<"$output")" '[{"fromHost":"k1"},{"userId":"u1"}]'
}

@test "protobuf: a record that does not fit the message is rejected with its line" {
	printf '%s\n' '{"userId":"a"}' '{"i32":"x"}' '{"nope":1}' '{"kind":"BLUE"}' '{"userId":"b"}' >in.ndjson
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -s value=protobuf -r "$R" \
		--value-schema "$PROTO" --on-error skip <in.ndjson
	assert_success
	id=$(curl -sf "$R/subjects/$TOPIC-value/versions/latest" | jq .id)
	[[ "${stderr_lines[0]}" == "fs-produce: -:2: value does not fit schema id $id (subject '$TOPIC-value'): not a fs.test.Event: "* ]]
	[[ "${stderr_lines[1]}" == "fs-produce: -:3: value does not fit schema id $id (subject '$TOPIC-value'): not a fs.test.Event: "*nope* ]]
	[[ "${stderr_lines[2]}" == "fs-produce: -:4: value does not fit schema id $id (subject '$TOPIC-value'): not a fs.test.Event: "* ]]
	run --separate-stderr consume -s value=protobuf -V
	assert_output "$(printf '%s\n' '{"userId":"a"}' '{"userId":"b"}')"
}

@test "protobuf: bad frames are rejected with topic/partition@offset and the reason" {
	fs-produce -b "$B" -t "$TOPIC" -s value=protobuf -r "$R" \
		--value-schema "$PROTO" <<<'{"userId":"a"}'
	id=$(curl -sf "$R/subjects/$TOPIC-value/versions/latest" | jq .id)
	h="\\0\\0\\0\\0\\x$(printf %02x "$id")"
	printf '{"n":2}' >m1                    # JSON: no magic byte
	printf "$h\\x02\\x06" >m2               # index [3]: no such message
	printf "$h\\x05" >m3                    # negative count
	printf "$h\\0\\x0a\\x05ab" >m4          # user_id cut short
	printf '\0\x7f\xff\xff\xf0\0' >m5       # unknown id
	for m in m1 m2 m3 m4 m5; do kcat -P -b "$B" -t "$TOPIC" "$m"; done
	fs-produce -b "$B" -t "$TOPIC" -s value=protobuf -r "$R" <<<'{"userId":"z"}'
	run --separate-stderr consume -s value=protobuf -V --on-error skip
	assert_success
	assert_output "$(printf '%s\n' '{"userId":"a"}' '{"userId":"z"}')"
	assert_equal "${stderr_lines[0]}" "fs-consume: $TOPIC/0@1: value: not Confluent-framed: first byte 0x7b, not the magic byte 0"
	assert_equal "${stderr_lines[1]}" "fs-consume: $TOPIC/0@2: value: payload does not match schema id $id: message index [3] names no message of the schema"
	assert_equal "${stderr_lines[2]}" "fs-consume: $TOPIC/0@3: value: payload does not match schema id $id: bad message-index array"
	assert_equal "${stderr_lines[3]}" "fs-consume: $TOPIC/0@4: value: payload does not match schema id $id: not a valid fs.test.Event message"
	[[ "${stderr_lines[4]}" == "fs-consume: $TOPIC/0@5: value: schema id 2147483632: registry: HTTP 404"* ]]
	assert_equal "${stderr_lines[5]}" "fs-consume: 5 records rejected"
}

@test "protobuf: an Avro schema id read as Protobuf is rejected, and the reverse" {
	printf '%s\n' '{"type":"record","name":"V","fields":[{"name":"n","type":"int"}]}' >v.avsc
	fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" --value-schema v.avsc <<<'{"n":1}'
	run --separate-stderr consume -s value=protobuf -V
	assert_failure 1
	[[ "$stderr" == "fs-consume: $TOPIC/0@0: value: schema id "*": an AVRO schema, not Protobuf"* ]]
	fs-produce -b "$B" -t "$TOPIC-p" -s value=protobuf -r "$R" \
		--value-schema "$PROTO" </dev/null
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" \
		--value-subject "$TOPIC-p-value" <<<'{"n":1}'
	assert_failure 1
	[[ "$stderr" == "fs-produce: subject '$TOPIC-p-value': schema id "*": a PROTOBUF schema, not Avro"* ]]
}

@test "protobuf: a .proto that does not parse ends fs-produce before any input" {
	printf 'syntax = "proto3";\nmessage M {\n  Nope n = 1;\n}\n' >bad.proto
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -s value=protobuf -r "$R" \
		--value-schema bad.proto <<<'{}'
	assert_failure 1
	[[ "$stderr" == "fs-produce: bad.proto: bad .proto schema: "*Nope* ]]
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" \
		--value-message M <<<'{}'
	assert_failure 2
	[[ "$stderr" == "fs-produce: --value-message needs -s value=protobuf"* ]]
}
