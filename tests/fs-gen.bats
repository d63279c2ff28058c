#!/usr/bin/env bats
# fs-gen: deterministic click events.

load test_helper

@test "fs-gen: the same options give the same events" {
	run --separate-stderr fs-gen --count 3 --seed 42 --users 5 --items 7 --rate 2 --start 2026-11-25T08:00:00Z
	assert_success
	assert_output '{"ts":1795593600000,"user":"u0000","event":"view","item":"i0001","amount":80}
{"ts":1795593600500,"user":"u0000","event":"click","item":"i0001","amount":80}
{"ts":1795593601000,"user":"u0001","event":"view","item":"i0001","amount":80}'
	assert_equal "$stderr" ""
}

@test "fs-gen: another seed gives other events" {
	a=$(fs-gen --count 50 --seed 1 | cksum)
	b=$(fs-gen --count 50 --seed 2 | cksum)
	[ "$a" != "$b" ]
}

@test "fs-gen: times follow the rate, in order without --disorder" {
	run --separate-stderr bash -c "fs-gen --count 4 --rate 4 --start 0 | sed -E 's/.\"ts\":([0-9]+).*/\1/'"
	assert_success
	assert_output '0
250
500
750'
}

@test "fs-gen: --disorder moves events back by at most that much" {
	fs-gen --count 2000 --rate 10 --disorder 3s --start 0 |
		sed -E 's/\{"ts":(-?[0-9]+).*/\1/' > ts
	run awk '{ nominal = (NR - 1) * 100; d = nominal - $1; if (d < 0 || d > 3000) bad++; if ($1 < prev) back++; prev = $1 }
		END { print (bad + 0), (back > 0 ? "out-of-order" : "in-order") }' ts
	assert_output "0 out-of-order"
}

@test "fs-gen: users, items and event types stay within their ranges" {
	run bash -c "fs-gen --count 5000 --users 3 --items 4 | grep -oE '\"(user|item|event)\":\"[a-z0-9]+\"' | sort -u"
	assert_success
	assert_output '"event":"cart"
"event":"click"
"event":"purchase"
"event":"view"
"item":"i0000"
"item":"i0001"
"item":"i0002"
"item":"i0003"
"user":"u0000"
"user":"u0001"
"user":"u0002"'
}

@test "fs-gen: an item always has the same price" {
	run bash -c "fs-gen --count 3000 --items 5 | grep -oE '\"item\":\"i[0-9]+\",\"amount\":[0-9]+' | sort -u | wc -l"
	assert_output 5
}

@test "fs-gen: usage errors exit 2" {
	run --separate-stderr fs-gen --rate 0
	assert_failure 2
	assert_equal "${stderr%%$'\n'*}" "fs-gen: --rate: expected an integer from 1 to 1000000: '0'"
	run --separate-stderr fs-gen extra
	assert_failure 2
	run --separate-stderr fs-gen --disorder 5
	assert_failure 2
}

@test "fs-gen: a closed reader ends it quietly" {
	run --separate-stderr bash -c "fs-gen --count 1000000 | head -1 | wc -l"
	assert_success
	assert_output 1
	assert_equal "$stderr" ""
}

@test "fs-gen: the man page examples run" {
	run --separate-stderr bash -c "fs-gen --count 86400 --rate 1 --users 50 --disorder 1h > clicks.ndjson && wc -l < clicks.ndjson"
	assert_output 86400
	run --separate-stderr bash -c "fs-gen --count 5000 | fs-window --tumble 1h | fs-agg --key user --agg buys=count:if:event=purchase | grep -c buys"
	assert_success
}
