#!/usr/bin/env bats
# Flink's own documentation examples, through fs-window | fs-agg: the Bid
# table of the "Windowing TVF" and "Window Aggregation" pages, with the
# rows Flink publishes for TUMBLE, HOP, CUMULATE, offsets and SESSION
# with and without a key.  Flink prints times as 2020-04-15 08:05 and
# prices as DECIMAL(10,2); here times are epoch ms and prices JSON reals.
# The Bid table's watermark is bidtime - 1 second.

load test_helper

BID="$DATA/window/bid.ndjson"
SESSION_BID="$DATA/window/bid-session.ndjson"

# 08:05 on 2020-04-15 (UTC), as epoch milliseconds.
ms() {
	echo $(( $(date -u -d "2020-04-15 $1" +%s) * 1000 ))
}

# Reads "START END [KEY=VALUE...] NAME=VALUE" rows on stdin and writes the
# result records fs-agg gives for them.
expect_rows() {
	local start end rest
	while read -r start end rest; do
		local out="{\"window_start\":$(ms "$start"),\"window_end\":$(ms "$end")"
		local kv
		for kv in $rest; do
			local v="${kv#*=}"
			[[ "$v" =~ ^[0-9.]+$ ]] || v="\"$v\""
			out+=",\"${kv%%=*}\":$v"
		done
		echo "$out}"
	done
}

# The data records of a pipeline's output (control records left out).
data_only() {
	grep -v '^{"@fs"' || true
}

# window_start,window_end of each data record, as HH:MM pairs.
bounds() {
	data_only | sed -E 's/.*"window_start":([0-9]+),"window_end":([0-9]+).*/\1 \2/' |
		while read -r s e; do
			echo "$(date -u -d "@$((s / 1000))" +%H:%M) $(date -u -d "@$((e / 1000))" +%H:%M)"
		done
}

# fs-window alone: the bounds of each record, as Flink's TVF lists them.
tvf() {
	fs-window --time-field bidtime --max-out-of-orderness 1s "$@" | bounds
}

agg_price() {
	fs-window --time-field bidtime --max-out-of-orderness 1s "$@" "$BID" |
		fs-agg --time-field bidtime --agg price=sum:price | data_only
}

@test "flink: TUMBLE table function assigns the documented windows" {
	run --separate-stderr tvf --tumble 10m "$BID"
	assert_success
	assert_output "08:00 08:10
08:00 08:10
08:00 08:10
08:10 08:20
08:10 08:20
08:10 08:20"
}

@test "flink: TUMBLE 10 minutes, SUM(price) per window" {
	run --separate-stderr agg_price --tumble 10m
	assert_success
	assert_output "$(expect_rows <<'EOF'
08:00 08:10 price=11.0
08:10 08:20 price=10.0
EOF
)"
}

@test "flink: HOP 10 minutes sliding 5, SUM(price) per window" {
	run --separate-stderr agg_price --hop 10m --slide 5m
	assert_success
	assert_output "$(expect_rows <<'EOF'
08:00 08:10 price=11.0
08:05 08:15 price=15.0
08:10 08:20 price=10.0
08:15 08:25 price=6.0
EOF
)"
}

@test "flink: HOP table function lists each bid in both of its windows" {
	run --separate-stderr tvf --hop 10m --slide 5m --explode "$BID"
	assert_success
	assert_output "08:00 08:10
08:05 08:15
08:00 08:10
08:05 08:15
08:00 08:10
08:05 08:15
08:05 08:15
08:10 08:20
08:05 08:15
08:10 08:20
08:10 08:20
08:15 08:25"
}

@test "flink: HOP through panes gives the rows of HOP exploded" {
	fs-window --time-field bidtime --hop 10m --slide 5m --explode "$BID" |
		fs-agg --time-field bidtime --agg price=sum:price | data_only | sort > exploded
	agg_price --hop 10m --slide 5m | sort > panes
	run cat panes
	assert_output "$(cat exploded)"
}

@test "flink: CUMULATE step 2 minutes up to 10, SUM(price) per window" {
	run --separate-stderr agg_price --cumulate 10m --step 2m
	assert_success
	assert_output "$(expect_rows <<'EOF'
08:00 08:06 price=4.0
08:00 08:08 price=6.0
08:00 08:10 price=11.0
08:10 08:12 price=3.0
08:10 08:14 price=4.0
08:10 08:16 price=4.0
08:10 08:18 price=10.0
08:10 08:20 price=10.0
EOF
)"
}

@test "flink: CUMULATE table function lists the 17 documented rows" {
	run --separate-stderr tvf --cumulate 10m --step 2m --explode "$BID"
	assert_success
	assert_output "08:00 08:06
08:00 08:08
08:00 08:10
08:00 08:08
08:00 08:10
08:00 08:10
08:10 08:12
08:10 08:14
08:10 08:16
08:10 08:18
08:10 08:20
08:10 08:14
08:10 08:16
08:10 08:18
08:10 08:20
08:10 08:18
08:10 08:20"
}

@test "flink: TUMBLE 10 minutes with offset 1 minute" {
	run --separate-stderr agg_price --tumble 10m --offset 1m
	assert_success
	assert_output "$(expect_rows <<'EOF'
08:01 08:11 price=11.0
08:11 08:21 price=10.0
EOF
)"
}

@test "flink: the documented offsets put 00:00:04 in the documented windows" {
	echo '{"ts":"2021-06-30T00:00:04Z"}' > one.ndjson
	local off
	for off in -16m -6m -4m 0s 4m 6m 16m; do
		fs-window --tumble 10m --offset "$off" one.ndjson | data_only |
			sed -E 's/.*"window_start":([0-9]+),"window_end":([0-9]+).*/\1 \2/' |
			while read -r s e; do
				echo "$off $(date -u -d "@$((s / 1000))" '+%F %T') $(date -u -d "@$((e / 1000))" '+%F %T')"
			done
	done > got
	run cat got
	assert_output "-16m 2021-06-29 23:54:00 2021-06-30 00:04:00
-6m 2021-06-29 23:54:00 2021-06-30 00:04:00
-4m 2021-06-29 23:56:00 2021-06-30 00:06:00
0s 2021-06-30 00:00:00 2021-06-30 00:10:00
4m 2021-06-29 23:54:00 2021-06-30 00:04:00
6m 2021-06-29 23:56:00 2021-06-30 00:06:00
16m 2021-06-29 23:56:00 2021-06-30 00:06:00"
}

@test "flink: TUMBLE with GROUPING SETS ((supplier_id)): price per supplier" {
	run --separate-stderr bash -c "fs-window --time-field bidtime --tumble 10m '$BID' |
		fs-agg --time-field bidtime --key supplier_id --agg price=sum:price | grep -v '^{\"@fs\"'"
	assert_success
	assert_output "$(expect_rows <<'EOF'
08:00 08:10 supplier_id=supplier1 price=6.0
08:00 08:10 supplier_id=supplier2 price=5.0
08:10 08:20 supplier_id=supplier1 price=1.0
08:10 08:20 supplier_id=supplier2 price=9.0
EOF
)"
}

@test "flink: SESSION 5 minutes partitioned by item" {
	run --separate-stderr bash -c "fs-window --time-field bidtime --max-out-of-orderness 1s --session 5m --key item '$SESSION_BID' |
		fs-agg --time-field bidtime --key item --agg total_price=sum:price | grep -v '^{\"@fs\"'"
	assert_success
	assert_output "$(expect_rows <<'EOF'
08:06 08:13 item=A total_price=9.0
08:09 08:14 item=B total_price=5.0
08:17 08:22 item=B total_price=1.0
EOF
)"
}

@test "flink: SESSION table function with a key gives each bid its session" {
	run --separate-stderr tvf --max-out-of-orderness 1s --session 5m --key item "$SESSION_BID"
	assert_success
	assert_output "08:06 08:13
08:06 08:13
08:06 08:13
08:09 08:14
08:17 08:22"
}

@test "flink: SESSION 5 minutes without a key" {
	run --separate-stderr bash -c "fs-window --time-field bidtime --max-out-of-orderness 1s --session 5m '$SESSION_BID' |
		fs-agg --time-field bidtime --agg total_price=sum:price | grep -v '^{\"@fs\"'"
	assert_success
	assert_output "$(expect_rows <<'EOF'
08:06 08:14 total_price=14.0
08:17 08:22 total_price=1.0
EOF
)"
}

# WATERMARK FOR rt AS rt - INTERVAL '5' SECOND makes the watermark
# max_ts - 5000, and Flink drops a record whose window has
# window_end - 1 <= watermark.  After rt = 14999 the watermark is 9999,
# so TUMBLE [0, 10000) is closed (its end - 1 is 9999): a record at 9000
# is late.  After rt = 14998 the watermark is 9998 and the window takes it.
@test "flink: the watermark bound drops a record when window_end - 1 = max_ts - bound, as Flink SQL does" {
	run --separate-stderr bash -c "printf '%s\n' '{\"rt\":0}' '{\"rt\":14999}' '{\"rt\":9000}' |
		fs-window --time-field rt --max-out-of-orderness 5s --tumble 10s |
		fs-agg --time-field rt --agg n=count | grep -v '^{\"@fs\"'"
	assert_success
	assert_output '{"window_start":0,"window_end":10000,"n":1}
{"window_start":10000,"window_end":20000,"n":1}'
	assert_equal "$stderr" "fs-window: 1 late record dropped
fs-window: warning: 1 of 3 records (33.3%) were late and dropped: raise --max-out-of-orderness or --allowed-lateness, or replay in event-time order with fs-backfill --sort"

	run --separate-stderr bash -c "printf '%s\n' '{\"rt\":0}' '{\"rt\":14998}' '{\"rt\":9000}' |
		fs-window --time-field rt --max-out-of-orderness 5s --tumble 10s |
		fs-agg --time-field rt --agg n=count | grep -v '^{\"@fs\"'"
	assert_success
	assert_output '{"window_start":0,"window_end":10000,"n":2}
{"window_start":10000,"window_end":20000,"n":1}'
	assert_equal "$stderr" ""
}

@test "flink: fs-agg's own watermark bound closes a window at window_end - 1 = max_ts - bound" {
	run --separate-stderr bash -c "printf '%s\n' '{\"rt\":0,\"window_start\":0,\"window_end\":10000}' \
		'{\"rt\":14999,\"window_start\":10000,\"window_end\":20000}' \
		'{\"rt\":9000,\"window_start\":0,\"window_end\":10000}' |
		fs-agg --time-field rt --max-out-of-orderness 5s --agg n=count | grep -v '^{\"@fs\"'"
	assert_success
	assert_output '{"window_start":0,"window_end":10000,"n":1}
{"window_start":10000,"window_end":20000,"n":1}'
	assert_equal "${stderr%%$'\n'*}" "fs-agg: 1 late record dropped"
}
