#!/usr/bin/env bats
# Every binary: --help, --version, usage errors, and a man page that
# documents the options --help lists (as git's t0012 and t0450 do).

load test_helper

tools() {
	local t
	for t in "$FS_BIN"/fs-*; do
		[ -x "$t" ] && basename "$t"
	done
}

@test "cli: the build has tools to check" {
	run tools
	assert_success
	assert_line fs-ckpt
}

@test "cli: every tool answers --help on stdout with empty stderr, exit 0" {
	local t
	for t in $(tools); do
		run --separate-stderr "$t" --help
		assert_equal "$t --help status $status" "$t --help status 0"
		assert_equal "$t stderr: $stderr" "$t stderr: "
		[[ "$output" == "usage: $t"* ]] || fail "$t --help does not start with 'usage: $t'"
	done
}

@test "cli: every tool answers --version with its name and the fs version" {
	local t
	for t in $(tools); do
		run --separate-stderr "$t" --version
		assert_equal "$status" 0
		assert_equal "$output" "$t (fs) 0.1.0"
	done
}

@test "cli: an unknown option is a usage error, exit 2, pointing at --help" {
	local t
	for t in $(tools); do
		run --separate-stderr "$t" --no-such-option
		assert_equal "$t status $status" "$t status 2"
		assert_equal "$output" ""
		[[ "$stderr" == *"Try '$t --help' for more information."* ]] ||
			fail "$t: no pointer to --help in: $stderr"
	done
}

@test "cli: every tool has a man page, and every man page lints clean at mandoc's default level" {
	local t
	for t in $(tools); do
		[ -f "$FS_ROOT/man/$t.1" ] || fail "no man/$t.1"
	done
	# scripts/man-lint: mandoc -Tlint, default level; only references to
	# this tree's own (not yet installed) pages are let through.
	run "$FS_ROOT/scripts/man-lint" "$FS_ROOT"/man/*.[157]
	assert_success
	assert_output ""
}

@test "cli: man-lint lets through references to this tree's pages, nothing else" {
	printf '.Dd November 25, 2026\n.Dt FS-X 1\n.Os\n.Sh NAME\n.Nm fs-x\n.Nd x\n.Sh DESCRIPTION\nSee\n.Xr fs 7\nand\n.Xr fs-nothere 1 .\n' > fs-x.1
	run "$FS_ROOT/scripts/man-lint" fs-x.1 "$FS_ROOT/man/fs.7"
	assert_failure 1
	assert_output --partial "Xr fs-nothere 1"
	refute_output --partial "Xr fs 7"
}

@test "cli: fs(7) lists every tool in SEE ALSO" {
	local t
	mandoc -Tascii "$FS_ROOT/man/fs.7" | col -b |
		sed -n '/^SEE ALSO/,/^[A-Z]/p' > seealso
	for t in $(tools); do
		grep -q "$t(1)" seealso || fail "fs(7) SEE ALSO lacks $t(1)"
	done
}

# The options a text mentions: long ones, and short ones standing alone.
options_in() {
	grep -oE -- '(^|[][ ,|(])(--[a-z][a-z0-9-]*|-[A-Za-z0-9])\b' |
		sed -E 's/^[][ ,|(]//' | sort -u
}

@test "cli: every option in --help is documented in the man page" {
	local t missing
	for t in $(tools); do
		"$t" --help | options_in > help.opts
		mandoc -Tascii "$FS_ROOT/man/$t.1" | col -b | options_in > man.opts
		missing=$(comm -23 help.opts man.opts | tr '\n' ' ')
		assert_equal "$t undocumented: $missing" "$t undocumented: "
	done
}

@test "cli: every option in a man page's SYNOPSIS is in --help" {
	local t extra
	for t in $(tools); do
		"$t" --help | options_in > help.opts
		mandoc -Tascii "$FS_ROOT/man/$t.1" | col -b |
			sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | options_in > syn.opts
		extra=$(comm -13 help.opts syn.opts | tr '\n' ' ')
		assert_equal "$t synopsis-only: $extra" "$t synopsis-only: "
	done
}

# Each short option a tool's --help lists, as "LETTER MEANING TOOL": the
# meaning is the long name ("-k, --key FIELDS"), else the argument's name
# without a plural s ("-p PARTITIONS"), else the description's first word.
short_options() {
	local t
	for t in $(tools); do
		"$t" --help | awk -v t="$t" '
			/^ +-[A-Za-z0-9][ ,]/ {
				sub(/^ +/, "")
				letter = substr($1, 2, 1)
				m = $2          # "--key", "PARTITIONS", "exit"
				sub(/S$/, "", m)
				print letter, m, t
			}'
	done
}

@test "cli: a short option means the same in every tool (fs(7), Short options)" {
	run short_options
	assert_success
	[ "${#lines[@]}" -gt 20 ] || fail "too few short options found: $output"
	# One meaning per letter (case matters: -b and -B differ), except
	# kcat's -r and -s in the Kafka tools (fs(7) says why).
	run awk '/^r --registry fs-(consume|produce)$|^s --serdes fs-(consume|produce)$/ { next }
		{ m[$1] = m[$1] ? m[$1] : $2; if (m[$1] != $2) print "-" $1 ": " $2 " in " $3 ", " m[$1] " elsewhere" }' \
		<<< "$(short_options)"
	assert_output ""
	# Every letter is in fs(7)'s table.
	mandoc -Tascii "$FS_ROOT/man/fs.7" | col -b |
		sed -n '/^   Short options/,/^   [A-Z]/p' > table
	for l in $(short_options | awk '{ print $1 }' | sort -u); do
		grep -qE "^[[:space:]]+-$l([[:space:]]|$)" table || fail "-$l is not in fs(7)'s Short options"
	done
}

@test "cli: -h alone is help in every tool" {
	local t
	for t in $(tools); do
		run --separate-stderr "$t" -h
		assert_equal "$t -h status $status" "$t -h status 0"
		[[ "$output" == "usage: $t"* ]] || fail "$t -h does not print usage"
	done
}
