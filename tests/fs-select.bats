#!/usr/bin/env bats
# fs-select: SQL's SELECT ... WHERE over records: the condition with
# SQL's NULL logic, projections and expressions, errors of records and
# of expressions, control records in their place, checkpoints.

load test_helper

rec() {
	printf '%s\n' '{"a":7,"b":2,"r":2.0,"s":"x","n":null,"o":{"p":1,"q":"y"}}'
}

@test "fs-select: without --fields a kept record passes as its bytes" {
	printf '%s\n' '{ "k" : 1, "v":"a" }' '{"k":2}' '{"v":"c",  "k":3}' > in.ndjson
	run --separate-stderr fs-select --where 'k <> 2' in.ndjson
	assert_success
	assert_output '{ "k" : 1, "v":"a" }
{"v":"c",  "k":3}'
	assert_equal "$stderr" ""
}

@test "fs-select: no options pass every record and reject nothing" {
	printf '%s\n' '{"k":1}' '{"k":[2,3]}' > in.ndjson
	run --separate-stderr fs-select in.ndjson
	assert_success
	assert_output '{"k":1}
{"k":[2,3]}'
}

@test "fs-select: --fields names members by their last name, PATH:NAME, NAME=EXPR, EXPR AS NAME" {
	rec > in.ndjson
	run --separate-stderr fs-select --fields 'o.p,o.q:qq,s AS ss,twice=a * 2,o' in.ndjson
	assert_success
	assert_output '{"p":1,"qq":"y","ss":"x","twice":14,"o":{"p":1,"q":"y"}}'
}

@test "fs-select: a missing member and a path through a non-object are null in --fields" {
	rec > in.ndjson
	run --separate-stderr fs-select --fields 'zz,a.b,n,o.z' in.ndjson
	assert_success
	assert_output '{"zz":null,"b":null,"n":null,"z":null}'
}

@test "fs-select: integers stay integers, as Flink's BIGINT; a fraction makes a real" {
	rec > in.ndjson
	run --separate-stderr fs-select --fields 'd=a / b,m=-a % b,f=a / r,e=0.908 * 1234,t=1.5 + 1.5,x=-(a),p=2 + 3 * 4,q=(2 + 3) * 4,min=-9223372036854775808' in.ndjson
	assert_success
	assert_output '{"d":3,"m":-1,"f":3.5,"e":1120.472,"t":3.0,"x":-7,"p":14,"q":20,"min":-9223372036854775808}'
}

@test "fs-select: a record without the member the condition compares is dropped, not an error" {
	printf '%s\n' '{"k":5}' '{"j":5}' '{"k":null}' '{"k":1}' > in.ndjson
	run --separate-stderr fs-select --where 'k > 2' in.ndjson
	assert_success
	assert_output '{"k":5}'
	assert_equal "$stderr" ""
}

@test "fs-select: three-valued logic: IS NULL, AND, OR, NOT, IN and BETWEEN with NULL" {
	rec > in.ndjson
	# each conjunct is TRUE for the record; any FALSE or NULL drops it
	run --separate-stderr fs-select --where "a IS NOT NULL AND n IS NULL AND zz IS NULL AND
		(NULL OR TRUE) AND NOT (NULL AND FALSE) AND a IN (1, 7) AND
		(a NOT IN (1, NULL)) IS NULL AND b BETWEEN 1 AND 2 AND
		a NOT BETWEEN 8 AND 9 AND \`a\` = 7.0 AND o.q >= 'x' AND s < 'xa'" in.ndjson
	assert_success
	assert_output "$(rec)"
	for cond in 'NULL OR FALSE' 'NOT (zz = 1)' 'a IN (1, NULL)' 'b BETWEEN zz AND 3' 'n = n' 'NOT TRUE'; do
		run --separate-stderr fs-select --where "$cond" in.ndjson
		assert_success
		assert_equal "$cond: $output" "$cond: "
	done
}

@test "fs-select: keywords in any case, strings with quotes, names in backquotes" {
	printf '%s\n' '{"it'"'"'s":"don'"'"'t","first-name":"Al","and":1}' '{"first-name":"Bo"}' > in.ndjson
	run --separate-stderr fs-select --where "\`first-name\` = 'Al' and \`it's\` = 'don''t'" \
		--fields '`first-name`:name,`and`' in.ndjson
	assert_success
	assert_output '{"name":"Al","and":1}'
}

@test "fs-select: escaped strings compare and are written by their characters" {
	printf '%s\n' '{"s":"a\"b\u00e9","k":{"a.b":1}}' '{"s":"ab"}' > in.ndjson
	run --separate-stderr fs-select --where "s = 'a\"bé'" --fields 's,v=`k`.`a.b`' in.ndjson
	assert_success
	assert_output '{"s":"a\"bé","v":1}'
}

@test "fs-select: '*' keeps the record and appends the members after it" {
	printf '%s\n' '{"ts":5,"expires":9}' '{"ts":10,"expires":9}' '{}' > in.ndjson
	run --separate-stderr fs-select --where 'ts <= expires OR ts IS NULL' \
		--fields '*,window_end=expires + 1' in.ndjson
	assert_success
	assert_output '{"ts":5,"expires":9,"window_end":10}
{"window_end":null}'
}

@test "fs-select: a type error rejects the record with its line and column, exit 1" {
	printf '%s\n' '{"p":2}' '{"p":"cheap"}' '{"p":3}' > in.ndjson
	run --separate-stderr fs-select --where 'p * 2 > 1' in.ndjson
	assert_failure 1
	assert_output '{"p":2}'
	assert_equal "$stderr" "fs-select: in.ndjson:2: --where: column 3: cannot apply '*' to a string and a number"
}

@test "fs-select: --on-error skip counts the records an expression fails on" {
	printf '%s\n' '{"p":2}' '{"p":"cheap"}' '{"p":0}' '{"q":1}' '{"p":4}' > in.ndjson
	run --separate-stderr fs-select --on-error skip --fields 'v=8 / p' in.ndjson
	assert_success
	assert_output '{"v":4}
{"v":null}
{"v":2}'
	[[ "$stderr" == *"in.ndjson:2: --fields: column 5: cannot apply '/' to a number and a string"* ]] ||
		fail "no type error in: $stderr"
	[[ "$stderr" == *"in.ndjson:3: --fields: column 5: division by zero"* ]] ||
		fail "no division by zero in: $stderr"
	[[ "$stderr" == *"2 records rejected"* ]] || fail "no count in: $stderr"
}

@test "fs-select: a comparison of a string with a number, and a condition that is a number, are errors" {
	rec > in.ndjson
	run --separate-stderr fs-select --where "s > 1" in.ndjson
	assert_failure 1
	assert_equal "$stderr" "fs-select: in.ndjson:1: --where: column 3: cannot compare a string with a number"
	run --separate-stderr fs-select --where "a + 1" in.ndjson
	assert_failure 1
	assert_equal "$stderr" "fs-select: in.ndjson:1: --where: column 3: the condition is a number, not TRUE or FALSE"
	run --separate-stderr fs-select --where "a AND TRUE" in.ndjson
	assert_failure 1
	assert_equal "$stderr" "fs-select: in.ndjson:1: --where: column 3: AND's operand is a number, not a condition"
}

@test "fs-select: integer overflow is an error, not a wrapped number" {
	printf '%s\n' '{"a":9223372036854775807}' > in.ndjson
	run --separate-stderr fs-select --fields 'b=a + 1' in.ndjson
	assert_failure 1
	assert_equal "$stderr" "fs-select: in.ndjson:1: --fields: column 5: integer overflow in '+'"
}

@test "fs-select: a line that is not a JSON object is rejected as every stage rejects it" {
	printf '%s\n' '{"k":1}' '{"k":' '[1]' '{"k":3}' > in.ndjson
	run --separate-stderr fs-select --on-error dead-letter --dead-letter dl.ndjson --where 'k > 0' in.ndjson
	assert_success
	assert_output '{"k":1}
{"k":3}'
	[[ "$stderr" == *"in.ndjson:2: invalid JSON: "* ]] || fail "no line 2 in: $stderr"
	[[ "$stderr" == *"in.ndjson:3: not a JSON object: array"* ]] || fail "no line 3 in: $stderr"
	assert_file_equals dl.ndjson '{"k":
[1]'
}

@test "fs-select: a bad expression is a usage error naming the option and the column" {
	local -a cases=(
		"--where|a +|--where: column 4: expected an operand at the end: 'a +'"
		"--where|a + * 2|--where: column 5: expected an operand: 'a + * 2'"
		"--where|s = 'x|--where: column 5: string not closed: 's = 'x'"
		"--where|a = \"x\"|--where: column 5: strings are in single quotes ('text'), names with odd characters in backquotes: 'a = \"x\"'"
		"--where|(a = 1|--where: column 7: expected ')': '(a = 1'"
		"--where|a IS 1|--where: column 6: expected NULL after IS: 'a IS 1'"
		"--where|a 1|--where: column 3: expected an operator or the end: 'a 1'"
		"--where|a = 1x|--where: column 6: not a number: '1x': 'a = 1x'"
		"--where|a = 99999999999999999999|--where: column 5: integer out of range: '99999999999999999999': 'a = 99999999999999999999'"
		"--where||--where: column 1: empty expression: ''"
		"--fields|a,a|--fields: column 3: member 'a' named twice: 'a,a'"
		"--fields|a + 1|--fields: column 1: an expression needs a name: NAME=EXPR: 'a + 1'"
		"--fields|a,*|--fields: column 3: '*' comes first: 'a,*'"
		"--fields|a,|--fields: column 3: expected a member after ',': 'a,'"
		"--fields|a.|--fields: column 3: expected a member name after '.': 'a.'"
	)
	local c opt expr want
	echo '{"a":1}' > in.ndjson
	for c in "${cases[@]}"; do
		IFS='|' read -r opt expr want <<< "$c"
		run --separate-stderr fs-select "$opt" "$expr" in.ndjson
		assert_equal "$opt '$expr' status $status" "$opt '$expr' status 2"
		assert_equal "$output" ""
		assert_equal "$(head -n 1 <<< "$stderr")" "fs-select: $want"
		assert_equal "$(tail -n 1 <<< "$stderr")" "Try 'fs-select --help' for more information."
	done
}

@test "fs-select: --help and --version" {
	run --separate-stderr fs-select --help
	assert_success
	assert_line --index 0 'usage: fs-select [--where EXPR] [--fields LIST] [options] [FILE]'
	assert_line --partial -- '--where EXPR'
	assert_equal "$stderr" ""
	run --separate-stderr fs-select --version
	assert_success
	assert_output 'fs-select (fs) 0.1.0'
	run --separate-stderr fs-select a.ndjson b.ndjson
	assert_failure 2
	[[ "$stderr" == "fs-select: one input file at most: 'b.ndjson'"* ]] || fail "$stderr"
}

@test "fs-select: control records pass through unchanged, in their place; a definition gets its part" {
	printf '%s\n' '{"@fs":"def","lineage":[{"stage":"source"}]}' '{"k":1}' \
		'{"@fs":"watermark","ts":5}' '{"k":2}' '{"@fs":"window","kind":"tumble"}' \
		'{"@fs":"barrier","id":1}' '{"k":3,"note":"@fs"}' '{"@fs":"end","id":2}' > in.ndjson
	run --separate-stderr bash -c "fs-select --where 'k <> 2' --fields k < in.ndjson | cat"
	assert_success
	assert_output '{"@fs":"def","lineage":[{"stage":"source"},{"stage":"select","tool":"fs-select","where":"k <> 2","fields":"k"}]}
{"k":1}
{"@fs":"watermark","ts":5}
{"@fs":"window","kind":"tumble"}
{"@fs":"barrier","id":1}
{"k":3}
{"@fs":"end","id":2}'
	run --separate-stderr bash -c "fs-select --where 'k <> 2' --data-only < in.ndjson | cat"
	assert_success
	assert_output '{"k":1}
{"k":3,"note":"@fs"}'
}

@test "fs-select: a malformed control record is rejected like a bad line" {
	printf '%s\n' '{"k":1}' '{"@fs":"barrier","id":"x"}' > in.ndjson
	run --separate-stderr fs-select in.ndjson
	assert_failure 1
	assert_output '{"k":1}'
	[[ "$stderr" == "fs-select: in.ndjson:2: "* ]] || fail "$stderr"
}

@test "fs-select: with --checkpoint-dir it takes part in the barriers and the end" {
	printf '%s\n' '{"@fs":"restore","id":0}' '{"k":1}' '{"@fs":"barrier","id":1}' \
		'{"k":2}' '{"@fs":"end","id":2}' > in.ndjson
	run --separate-stderr bash -c "fs-select --where 'k > 1' --checkpoint-dir ck < in.ndjson | cat"
	assert_success
	assert_output '{"@fs":"restore","id":0}
{"@fs":"barrier","id":1}
{"k":2}
{"@fs":"end","id":2}'
	run fs-ckpt list ck
	assert_success
	assert_line --partial '"id":2,"complete":true,"stages":{"fs-select":"ok"}'
	assert_line --partial '"id":1,"complete":true,"stages":{"fs-select":"ok"}'
}

@test "fs-select: a checkpointed input that stops without its end exits 1" {
	printf '%s\n' '{"@fs":"restore","id":0}' '{"k":1}' '{"@fs":"barrier","id":1}' '{"k":2}' > in.ndjson
	run --separate-stderr fs-select --checkpoint-dir ck in.ndjson
	assert_failure 1
	assert_output '{"@fs":"restore","id":0}
{"k":1}
{"@fs":"barrier","id":1}
{"k":2}'
	[[ "$stderr" == "fs-select: "*"end"* ]] || fail "no word of the missing end: $stderr"
}

@test "fs-select: --stats counts kept, dropped, control and rejected" {
	printf '%s\n' '{"k":1}' '{"k":2}' '{"@fs":"watermark","ts":1}' 'x' > in.ndjson
	run --separate-stderr fs-select --stats --on-error skip --where 'k = 1' in.ndjson
	assert_success
	assert_output '{"k":1}
{"@fs":"watermark","ts":1}'
	[[ "$stderr" == *"fs-select: stats: 4 lines in, 1 kept, 1 dropped, 1 control, 1 rejected"* ]] ||
		fail "$stderr"
}

@test "fs-select: the same rows on the fast scan and through the parser" {
	# the first line is read from its bytes, the second (an escape in a
	# key) goes through rec_parse(): both give the same output
	printf '%s\n' '{"bid":{"auction":246,"price":1000},"x":1}' \
		'{"bid":{"auction":246,"price":1000},"x\u0031":1}' \
		'{"bid":{"auction":247,"price":5}}' > in.ndjson
	run --separate-stderr fs-select --where 'bid.auction % 123 = 0' \
		--fields 'bid.auction,eur=0.908 * bid.price' in.ndjson
	assert_success
	assert_output '{"auction":246,"eur":908.0}
{"auction":246,"eur":908.0}'
}

@test "fs-select: an empty string literal is a string" {
	printf '%s\n' '{"s":""}' '{"s":"x"}' > in.ndjson
	run --separate-stderr fs-select --where "s = ''" --fields "s,e=''" in.ndjson
	assert_success
	assert_output '{"s":"","e":""}'
}

@test "fs-select: a name or string that is not UTF-8 is a usage error" {
	echo '{"a":1}' > in.ndjson
	run --separate-stderr fs-select --fields "$(printf '`\xa0`')" in.ndjson
	assert_failure 2
	[[ "$stderr" == "fs-select: --fields: column 1: name is not UTF-8: "* ]] || fail "$stderr"
	run --separate-stderr fs-select --where "$(printf "a = '\xff'")" in.ndjson
	assert_failure 2
	[[ "$stderr" == "fs-select: --where: column 5: string is not UTF-8: "* ]] || fail "$stderr"
}

@test "fs-select: PROCTIME() is the wall clock as the record is read, epoch ms" {
	echo '{"a":1}' > in.ndjson
	before=$(date +%s%3N)
	run --separate-stderr fs-select --fields 'a,t=PROCTIME(),later=proctime ( ) >= PROCTIME() - 1000' in.ndjson
	after=$(date +%s%3N)
	assert_success
	[[ "$output" =~ ^\{\"a\":1,\"t\":([0-9]+),\"later\":true\}$ ]] || fail "$output"
	t=${BASH_REMATCH[1]}
	[ "$t" -ge "$before" ] && [ "$t" -le "$after" ] || fail "$t not in [$before, $after]"
	run --separate-stderr fs-select --fields 't=now()' in.ndjson
	assert_failure 2
	[[ "$stderr" == "fs-select: --fields: column 3: unknown function 'now': 't=now()'"* ]] || fail "$stderr"
	run --separate-stderr fs-select --fields 't=PROCTIME(1)' in.ndjson
	assert_failure 2
	[[ "$stderr" == "fs-select: --fields: column 12: PROCTIME takes no arguments: "* ]] || fail "$stderr"
}
