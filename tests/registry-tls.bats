#!/usr/bin/env bats
# The schema registry over HTTPS, with credentials: fs-consume -s and
# fs-produce -s against the real broker and a real Apicurio registry that
# speaks HTTPS only (FS_REGISTRY_TLS=1 scripts/registry-start), given its
# CA, client certificate and credentials as the Confluent clients'
# schema.registry.* properties (-X or the configuration file).
#
# Apicurio 2.6 authenticates only through OIDC (Keycloak), so it cannot
# refuse a wrong password: that the credentials are sent is read from its
# access log, which logs each request's Authorization header.  Its
# Quarkus fixes client-auth at build time, so it asks for no client
# certificate: the certificate and its encrypted key are shown to be
# loaded (a wrong passphrase is the reason a message is rejected).

load test_helper

EVENT_SCHEMA="$TESTS/avro/event.avsc"
EVENTS="$TESTS/avro/event.ndjson"

suite_setup() {
	require_kafka
	if [ -z "${FS_REGISTRY_TLS_URL:-}" ]; then
		echo "FS_REGISTRY_TLS_URL is not set: start FS_REGISTRY_TLS=1 scripts/registry-start" >&2
		return 1
	fi
	B=$FS_KAFKA_BROKERS
	R=$FS_REGISTRY_TLS_URL
	D=$FS_REGISTRY_TLS_DIR
	TOPIC=$(uniq_name tls)
	CA="schema.registry.ssl.ca.location=$D/ca.pem"
}

consume() {
	fs-consume -b "$B" -t "$TOPIC" -o beginning -e -s value=avro -r "$R" "$@"
}

produce() {
	fs-produce -b "$B" -t "$TOPIC" -s value=avro -r "$R" "$@"
}

# Waits (up to 30s) for the access log to show a request to path with
# this Authorization header.
await_access() {
	local want="$1" i
	for ((i = 0; i < 300; i++)); do
		grep -qF -- "$want" "$D/access.log" && return 0
		sleep 0.1
	done
	fail "not in the access log: '$want': $(tail -5 "$D/access.log")"
}

@test "registry-tls: fs-produce and fs-consume reach an HTTPS registry with its CA, from -X or the configuration file" {
	run --separate-stderr produce -X "$CA" --value-schema "$EVENT_SCHEMA" <"$EVENTS"
	assert_success
	assert_equal "$stderr" ""
	printf '%s\n' "$CA" >fs.conf
	FS_KAFKA_CONFIG=$T/fs.conf run --separate-stderr consume -V
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$output" "$(cat "$EVENTS")"
	# schema.registry.url in the file stands for -r
	printf 'schema.registry.url = %s\n' "$R" >>fs.conf
	FS_KAFKA_CONFIG=$T/fs.conf run --separate-stderr fs-consume -b "$B" \
		-t "$TOPIC" -o beginning -e -s value=avro -V -c 1
	assert_success
	assert_equal "$output" "$(head -1 "$EVENTS")"
}

@test "registry-tls: a registry certificate the CA did not sign rejects the message with the reason" {
	produce -X "$CA" --value-schema "$EVENT_SCHEMA" <"$EVENTS"
	id=$(curl -sf --cacert "$D/ca.pem" "$R/subjects/$TOPIC-value/versions/latest" | jq .id)
	run --separate-stderr consume -V -X "schema.registry.ssl.ca.location=$D/other-ca.pem"
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "fs-consume: $TOPIC/0@0: value: schema id $id: registry unreachable: SSL certificate problem: unable to get local issuer certificate: '$R'"
	# under --on-error skip every message is rejected, counted, none lost
	run --separate-stderr consume -V --on-error skip \
		-X "schema.registry.ssl.ca.location=$D/other-ca.pem"
	assert_success
	assert_output ""
	assert_equal "$(grep -c 'SSL certificate problem' <<<"$stderr")" "$(wc -l <"$EVENTS")"
	# fs-produce cannot register or look up its schema
	run --separate-stderr produce -X "schema.registry.ssl.ca.location=$D/other-ca.pem" <"$EVENTS"
	assert_failure 1
	assert_equal "$stderr" "fs-produce: subject '$TOPIC-value': registry unreachable: SSL certificate problem: unable to get local issuer certificate: '$R'"
}

@test "registry-tls: the client certificate's encrypted key is read with schema.registry.ssl.key.password" {
	produce -X "$CA" --value-schema "$EVENT_SCHEMA" <"$EVENTS"
	local cert=(-X "$CA" -X "schema.registry.ssl.certificate.location=$D/client.pem"
		-X "schema.registry.ssl.key.location=$D/client-enc.key")
	run --separate-stderr consume -V -c 1 "${cert[@]}" \
		-X "schema.registry.ssl.key.password=$(cat "$D/client-enc.pass")"
	assert_success
	assert_equal "$output" "$(head -1 "$EVENTS")"
	run --separate-stderr consume -V -c 1 "${cert[@]}" \
		-X schema.registry.ssl.key.password=not-the-passphrase
	assert_failure 1
	[[ "$stderr" == "fs-consume: $TOPIC/0@0: value: schema id "*": registry unreachable: unable to set private key file: '$D/client-enc.key' type PEM: '$R'" ]] ||
		fail "$stderr"
	[[ "$stderr" != *not-the-passphrase* ]] || fail "$stderr"
	# a certificate without its key, or a file that is not there
	run --separate-stderr consume -X "schema.registry.ssl.certificate.location=$D/client.pem"
	assert_failure 2
	[[ "$stderr" == "fs-consume: schema.registry.ssl.certificate.location and schema.registry.ssl.key.location go together"* ]]
	run --separate-stderr consume -X "schema.registry.ssl.ca.location=$T/none.pem"
	assert_failure 1
	assert_equal "$stderr" "fs-consume: schema registry: cannot open: '$T/none.pem': No such file or directory"
}

@test "registry-tls: basic and bearer credentials are sent in the Authorization header" {
	run --separate-stderr produce -X "$CA" --value-schema "$EVENT_SCHEMA" \
		-X schema.registry.basic.auth.user.info=producer:pr0duce <"$EVENTS"
	assert_success
	await_access "POST /apis/ccompat/v7/subjects/$TOPIC-value/versions HTTP/2 200 auth=Basic $(printf producer:pr0duce | base64)"
	run --separate-stderr consume -V -c 1 -X "$CA" \
		-X schema.registry.basic.auth.user.info=alice:s3cret
	assert_success
	await_access "auth=Basic $(printf alice:s3cret | base64)"
	printf 'schema.registry.bearer.auth.token=tok-%s\n' "$TOPIC" >fs.conf
	FS_KAFKA_CONFIG=$T/fs.conf run --separate-stderr consume -V -c 1 -X "$CA"
	assert_success
	await_access "auth=Bearer tok-$TOPIC"
	run --separate-stderr consume -X schema.registry.bearer.auth.token=t \
		-X schema.registry.basic.auth.user.info=a:b
	assert_failure 2
	[[ "$stderr" == "fs-consume: schema.registry.basic.auth.user.info and schema.registry.bearer.auth.token exclude each other"* ]]
}

@test "registry-tls: secrets are never in messages or -X dump" {
	run --separate-stderr consume -X schema.registry.basic.auth.user.info=alice-no-colon
	assert_failure 2
	[[ "$stderr" == "fs-consume: -X: schema.registry.basic.auth.user.info: expected USER:PASS"* ]]
	[[ "$stderr" != *alice-no-colon* ]] || fail "$stderr"
	printf '\0\0\0\0\1\2' >m1
	kcat -P -b "$B" -t "$TOPIC" m1
	run --separate-stderr fs-consume -b "$B" -t "$TOPIC" -o beginning -e \
		-s value=avro -r http://alice:s3cret@127.0.0.1:1 -V
	assert_failure 1
	[[ "$stderr" == "fs-consume: $TOPIC/0@0: value: schema id 1: registry unreachable: "*": 'http://alice:[redacted]@127.0.0.1:1'" ]] ||
		fail "$stderr"
	run --separate-stderr fs-produce -b "$B" -t "$TOPIC" -X dump \
		-X schema.registry.url=https://bob:hunter2@registry.example/ \
		-X schema.registry.basic.auth.user.info=alice:s3cret \
		-X schema.registry.ssl.key.password=pem-pass \
		-X "$CA"
	assert_success
	assert_line "# Schema registry config"
	assert_line "schema.registry.basic.auth.user.info = [redacted]"
	assert_line "schema.registry.ssl.key.password = [redacted]"
	assert_line "schema.registry.ssl.ca.location = $D/ca.pem"
	assert_line "schema.registry.url = https://bob:[redacted]@registry.example/"
	refute_output --partial s3cret
	refute_output --partial hunter2
	refute_output --partial pem-pass
}
