#!/usr/bin/env bats
# The examples in the man pages and the README name only real tools and
# options, so they cannot rot silently (tests/check_examples.py).

load test_helper

@test "examples: every fs command in man EXAMPLES and the README uses options its tool has" {
	run --separate-stderr python3 "$TESTS/check_examples.py" "$FS_ROOT" "$FS_BIN"
	assert_success
	assert_output ""
	[[ "$stderr" =~ ^[1-9][0-9]*\ example\ commands\ checked,\ 0\ problems$ ]] ||
		fail "unexpected summary: $stderr"
}

@test "examples: the checker itself flags an unknown option and an unknown tool" {
	mkdir -p fake/man
	cp "$FS_ROOT"/man/fs.7 fake/man/
	printf '# x\n\n    fs-ckpt --bogus x | fs-nothere -q\n' > fake/README.md
	run --separate-stderr python3 "$TESTS/check_examples.py" fake "$FS_BIN"
	assert_failure 1
	assert_line "README.md: fs-ckpt --bogus: not an option of fs-ckpt"
	assert_line "README.md: fs-nothere: no such tool"
}
