# lib-bench.sh - sourced by scripts/bench-*: one row of `make bench`'s
# closing table.  scripts/bench sets FS_BENCH_TABLE to a file; each
# benchmark appends a tab-separated row per figure it compares with a
# peer measured in the same run, and scripts/bench prints them all as
# one table at the end.  Run alone, a benchmark prints its own figures
# and the rows go nowhere.
#
# bench_row BENCHMARK FS_RATE FS_RATE_CPU FS_RSS_MB PEER PEER_RATE \
#     PEER_RATE_CPU RATIO TARGET
#   rates are events (messages, records) per second of wall clock and
#   per CPU-second, "-" where a figure does not apply; RATIO is the
#   benchmark's figure of merit against the peer, TARGET an expression
#   such as ">= 1.0" or "<= 0.5" (or "-"); met is worked out here.
bench_row() {
	local met=-
	case "$9" in
	">="*) met=$(awk -v r="$8" -v t="${9#>=}" 'BEGIN { print (r + 0 >= t + 0 ? "yes" : "no") }') ;;
	"<="*) met=$(awk -v r="$8" -v t="${9#<=}" 'BEGIN { print (r + 0 <= t + 0 ? "yes" : "no") }') ;;
	esac
	[ -n "${FS_BENCH_TABLE:-}" ] || return 0
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" "$met" >> "$FS_BENCH_TABLE"
}

# per N SECONDS: N / SECONDS, rounded ("-" when SECONDS is 0 or "-")
per() {
	awk -v n="$1" -v t="$2" 'BEGIN { if (t == "-" || t + 0 <= 0) print "-"; else printf "%.0f", n / t }'
}
