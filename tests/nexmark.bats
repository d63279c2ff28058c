#!/usr/bin/env bats
# scripts/nexmark: the Nexmark queries as fs pipelines, each checked on
# a small generated auction against tests/nexmark_check.py, which
# computes the same query with plain loops (not with fs).

load test_helper

NEXMARK="$BATS_TEST_DIRNAME/../scripts/nexmark"
CHECK="$BATS_TEST_DIRNAME/nexmark_check.py"

suite_setup() {
	# 3000 events, 10 a second: 5 minutes, 60 persons, 180 auctions.
	fs-gen --model nexmark --count 3000 --rate 10 --seed 7 > events.ndjson
}

# Runs query $1 and compares its rows with the independent computation;
# at least $2 rows are expected (so an empty answer cannot pass).
check() {
	run --separate-stderr "$NEXMARK/$1" events.ndjson
	assert_success
	assert_equal "$stderr" ""
	printf '%s\n' "$output" > got.ndjson
	python3 "$CHECK" "$1" events.ndjson > want
	python3 "$CHECK" "$1" events.ndjson got.ndjson > got
	[ "$(wc -l < want)" -ge "$2" ]
	run diff want got
	assert_success
}

@test "nexmark: q0 passes every bid through" { check q0 2000; }
@test "nexmark: q1 converts prices to euros" { check q1 2000; }
@test "nexmark: q2 selects the bids on every 123rd auction" { check q2 1; }
@test "nexmark: q3 finds category-10 auctions of sellers in OR, ID, CA" { check q3 1; }
@test "nexmark: q4 averages closing prices per category" { check q4 3; }
@test "nexmark: q5 finds the hottest auctions per sliding window, ties kept" { check q5 150; }
@test "nexmark: q7 finds the highest bids per window" { check q7 30; }
@test "nexmark: q8 finds new persons who opened an auction at once" { check q8 3; }
@test "nexmark: q11 counts bids per bidder session" { check q11 20; }
@test "nexmark: q12 counts bids per bidder per processing-time window" { check q12 10; }

@test "nexmark: q5 keeps every auction that ties for the most bids" {
	# Auction 1 has bids at 1 s and 2 s, auction 2 at 3 s and 4 s; a
	# 10-second window every 2 s holds 1, 2 or all 4 of them.
	for t in 1000 2000 3000 4000; do
		a=$((t < 3000 ? 1 : 2))
		printf '{"event_type":2,"ts":%d,"bid":{"auction":%d,"bidder":1,"price":5,"channel":"c","url":"u","dateTime":%d,"extra":""}}\n' $t $a $t
	done > ties.ndjson
	run --separate-stderr "$NEXMARK/q5" ties.ndjson
	assert_success
	assert_output '{"auction":1,"num":1,"starttime":-8000,"endtime":2000}
{"auction":1,"num":2,"starttime":-6000,"endtime":4000}
{"auction":1,"num":2,"starttime":-4000,"endtime":6000}
{"auction":2,"num":2,"starttime":-4000,"endtime":6000}
{"auction":1,"num":2,"starttime":-2000,"endtime":8000}
{"auction":2,"num":2,"starttime":-2000,"endtime":8000}
{"auction":1,"num":2,"starttime":0,"endtime":10000}
{"auction":2,"num":2,"starttime":0,"endtime":10000}
{"auction":2,"num":2,"starttime":2000,"endtime":12000}
{"auction":2,"num":1,"starttime":4000,"endtime":14000}'
}
