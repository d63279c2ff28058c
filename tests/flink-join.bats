#!/usr/bin/env bats
# Flink's documentation examples for the window join (Flink SQL, "Window
# JOIN": the FULL OUTER, SEMI and ANTI joins of LeftTable and RightTable
# over 5-minute tumbling windows), through fs-window | fs-join.  The
# expected rows are Flink's published result tables, row for row, with
# the table's spacing squeezed; the jq projection plays the SELECT list.
#
# The tables are listed in the order the documentation gives them; L3
# (12:03) comes after L2 (12:06), and Flink's published result joins it,
# so the watermark must not have passed 12:05 by then: the windows are
# assigned with 5 minutes of allowed out-of-orderness.

load test_helper

suite_setup() {
	W=(fs-window --tumble 5m --time-field row_time --max-out-of-orderness 5m)
}

# Flink SQL's display of a TIMESTAMP(3): minutes, or milliseconds when
# they are not zero (the window_time column).
FMT='def ts: (. / 1000 | floor | strftime("%Y-%m-%d %H:%M"))
	+ (if . % 60000 == 0 then "" else
	   (. / 1000 | floor | strftime(":%S")) + "." + ("00" + (. % 1000 | tostring) | .[-3:]) end);
	def rt: (sub("Z$"; "") | sub("T"; " ") | sub(":00$"; ""));'

@test "flink: window FULL OUTER JOIN of LeftTable and RightTable gives Flink's published rows" {
	fs-join --window --type full --key num --time-field row_time \
		--left <("${W[@]}" < "$DATA/join/flink-left.ndjson") \
		--right <("${W[@]}" < "$DATA/join/flink-right.ndjson") \
		--left-fields num:L_Num,id:L_Id --right-fields num:R_Num,id:R_Id > out.ndjson
	run jq -r "$FMT"' select(has("@fs") | not)
		| "| \(.L_Num) | \(.L_Id) | \(.R_Num) | \(.R_Id) | \(.window_start | ts) | \(.window_end | ts) |"' out.ndjson
	assert_success
	assert_output - <<'EOF'
| 1 | L1 | null | null | 2020-04-15 12:00 | 2020-04-15 12:05 |
| null | null | 2 | R2 | 2020-04-15 12:00 | 2020-04-15 12:05 |
| 3 | L3 | 3 | R3 | 2020-04-15 12:00 | 2020-04-15 12:05 |
| 2 | L2 | null | null | 2020-04-15 12:05 | 2020-04-15 12:10 |
| null | null | 4 | R4 | 2020-04-15 12:05 | 2020-04-15 12:10 |
EOF
}

# SELECT * of the semi and anti joins: the left row with its window.
select_star='select(has("@fs") | not)
	| "| \(.row_time | rt) | \(.num) | \(.id) | \(.window_start | ts) | \(.window_end | ts) | \(.window_time | ts) |"'

@test "flink: window SEMI JOIN (IN and EXISTS forms) gives Flink's published row" {
	fs-join --window --type semi --key num --time-field row_time \
		--left <("${W[@]}" < "$DATA/join/flink-left.ndjson") \
		--right <("${W[@]}" < "$DATA/join/flink-right.ndjson") > out.ndjson
	run jq -r "$FMT $select_star" out.ndjson
	assert_success
	assert_output '| 2020-04-15 12:03 | 3 | L3 | 2020-04-15 12:00 | 2020-04-15 12:05 | 2020-04-15 12:04:59.999 |'
}

@test "flink: window ANTI JOIN (NOT IN and NOT EXISTS forms) gives Flink's published rows" {
	fs-join --window --type anti --key num --time-field row_time \
		--left <("${W[@]}" < "$DATA/join/flink-left.ndjson") \
		--right <("${W[@]}" < "$DATA/join/flink-right.ndjson") > out.ndjson
	run jq -r "$FMT $select_star" out.ndjson
	assert_success
	assert_output - <<'EOF'
| 2020-04-15 12:02 | 1 | L1 | 2020-04-15 12:00 | 2020-04-15 12:05 | 2020-04-15 12:04:59.999 |
| 2020-04-15 12:06 | 2 | L2 | 2020-04-15 12:05 | 2020-04-15 12:10 | 2020-04-15 12:09:59.999 |
EOF
}
