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

@test "fs-gen: nexmark: 1 person, 3 auctions and 46 bids in every 50 events, ids counting up" {
	fs-gen --model nexmark --count 5000 --rate 100 > ev
	run bash -c "jq -r .event_type ev | sort | uniq -c | awk '{print \$2, \$1}'"
	assert_output '0 100
1 300
2 4600'
	# person ids 1000.. in order; auction ids 1000.. in order
	run bash -c "jq -r 'select(.event_type == 0) | .person.id' ev | awk 'NR == 1 || \$1 == prev + 1 { prev = \$1; n++ } END { print n, prev }'"
	assert_output '100 1099'
	run bash -c "jq -r 'select(.event_type == 1) | .auction.id' ev | awk 'NR == 1 || \$1 == prev + 1 { prev = \$1; n++ } END { print n, prev }'"
	assert_output '300 1299'
	# event 50k+1..3 are auctions, the first a person: by position
	run bash -c "sed -n '51p;52p;55p' ev | jq -r .event_type | tr '\n' ' '"
	assert_output '0 1 2 '
}

@test "fs-gen: nexmark: values within Nexmark's ranges, hot auctions and bidders" {
	fs-gen --model nexmark --count 20000 --rate 1000 --seed 9 > ev
	run jq -rs '
		[.[] | select(.event_type == 1) | .auction] as $a |
		[.[] | select(.event_type == 2) | .bid] as $b |
		[ ($a | map(.category) | unique == [10,11,12,13,14]),
		  ($a | all(.expires > .dateTime and .reserve >= .initialBid)),
		  ($b | all(.price >= 100 and .price <= 100000000)),
		  ($b | map(select(.channel == "Google" or .channel == "Facebook" or
			.channel == "Baidu" or .channel == "Apple")) | length) as $hot |
			($hot > 0.45 * ($b | length) and $hot < 0.55 * ($b | length)),
		  ($b | all(.url | startswith("https://www.nexmark.com/"))),
		  ($b | map(select(.bidder % 100 == 1)) | length) > 0.7 * ($b | length)
		] | map(tostring) | join(" ")' ev
	assert_output 'true true true true true true'
}

@test "fs-gen: nexmark: the same seed gives the same events, times follow --rate" {
	a=$(fs-gen --model nexmark --count 300 --seed 4 | cksum)
	b=$(fs-gen --model nexmark --count 300 --seed 4 | cksum)
	c=$(fs-gen --model nexmark --count 300 --seed 5 | cksum)
	[ "$a" = "$b" ] && [ "$a" != "$c" ]
	run bash -c "fs-gen --model nexmark --count 3 --start 0 | jq -c '[.ts, (.person // .auction // .bid).dateTime]'"
	assert_output '[0,0]
[0,0]
[0,0]'
	run bash -c "fs-gen --model nexmark --count 20001 --start 0 | tail -1 | jq .ts"
	assert_output 2000
}

@test "fs-gen: the nexmark man page example runs" {
	run --separate-stderr bash -c "fs-gen --model nexmark --count 5000 --rate 100 | grep '^{\"event_type\":2,' | fs-window --tumble 10s | fs-agg --agg top=max_by:bid:bid.price --data-only | wc -l"
	assert_success
	assert_output 5
}
