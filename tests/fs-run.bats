#!/usr/bin/env bats
# fs-run: a pipeline run, restarted when it fails, stopped when asked.
# No test depends on timing: waits are loops bounded by generous limits,
# and delays are asserted from fs-run's log lines, not measured.

load test_helper

# Waits until a file exists and is not empty (at most 20s).
wait_for_file() {
	local i
	for i in $(seq 200); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	fail "no $1 after 20s"
}

# Waits for background job $1 (at most 60s) and sets $status to its
# exit status, as run does.
wait_status() {
	local i
	for i in $(seq 600); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	status=0
	wait "$1" || status=$?
}

# Waits until ck holds a complete checkpoint (at most 20s).
wait_for_complete_checkpoint() {
	local i
	for i in $(seq 200); do
		fs-ckpt list ck 2>/dev/null | grep -q '"complete":true' && return 0
		sleep 0.1
	done
	fail "no complete checkpoint in ck after 20s"
}

# A checkpoint directory with complete checkpoints (three or more).
make_checkpoints() {
	fs-gen --count 100 > ev.ndjson
	fs-backfill --checkpoint-dir ck --checkpoint-records 10 ev.ndjson |
		fs-window --tumble 1m --checkpoint-dir ck > /dev/null
}

# The ids of the complete checkpoints in ck, newest first, as fs-ckpt
# sees them.
complete_ids() {
	fs-ckpt list ck | grep '"complete":true' | sed 's/^{"id":\([0-9]*\),.*/\1/'
}

# The file of stage $1 for checkpoint $2.
ckpt_file() {
	printf 'ck/%s/%020d.ckpt' "$1" "$2"
}

# A pipeline whose stages write their pids: an idle source (sleep) and a
# sink (cat); with a middle stage when given one.
idle_pipeline() {
	echo 'sh -c "echo \$\$ > src.pid; exec sleep 600" | '"${1:+$1 | }"'sh -c "echo \$\$ > sink.pid; exec cat > /dev/null"'
}

teardown() {
	local f
	# Nothing a test started may outlive it.
	for f in "$T"/fsrun.pid "$T"/src.pid "$T"/sink.pid; do
		[ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	return 0
}

@test "fs-run: a pipeline that exits 0 ends fs-run with 0, started once" {
	run --separate-stderr fs-run 'fs-gen --count 3 | wc -l'
	assert_equal "$status" 0
	assert_output "3"
	assert_equal "$stderr" "fs-run: start 1"
}

@test "fs-run: PROGRAM ARG... after -- is run as it is" {
	run --separate-stderr fs-run -q -- sh -c 'echo "$0 $1"' one two
	assert_equal "$status" 0
	assert_output "one two"
	assert_equal "$stderr" ""
}

@test "fs-run: a non-zero exit is restarted with FS_RUN_ATTEMPT counting starts" {
	run --separate-stderr fs-run --backoff 10ms \
		'echo $FS_RUN_ATTEMPT >> attempts; [ $FS_RUN_ATTEMPT -ge 3 ] || exit 3'
	assert_equal "$status" 0
	assert_file_equals attempts "$(printf '1\n2\n3')"
	assert_equal "$(grep -c 'pipeline exited 3 after' <<<"$stderr")" 2
	assert_equal "$(grep -v 'pipeline exited' <<<"$stderr")" "$(cat <<'EOF'
fs-run: start 1
fs-run: restarting in 10ms
fs-run: start 2 (restart 1)
fs-run: restarting in 20ms
fs-run: start 3 (restart 2)
EOF
)"
}

@test "fs-run: the pipeline fails when any stage fails (pipefail)" {
	run --separate-stderr fs-run --max-restarts 0 'false | cat'
	assert_equal "$status" 1
	[[ "$stderr" == *"fs-run: pipeline exited 1 after "* ]] || fail "$stderr"
	[[ "$stderr" == *"fs-run: pipeline failed 1 times in 10m: giving up; last exit: status 1" ]] ||
		fail "$stderr"
}

@test "fs-run: the restart budget spent ends fs-run with 1 and the last exit" {
	run --separate-stderr fs-run --backoff 10ms --max-restarts 2 \
		--restart-window 1h 'exit 3'
	assert_equal "$status" 1
	assert_equal "$(grep -c 'start ' <<<"$stderr")" 3
	assert_equal "$(tail -n 1 <<<"$stderr")" \
		"fs-run: pipeline failed 3 times in 1h: giving up; last exit: status 3"
}

@test "fs-run: a pipeline killed by a signal is named by the signal" {
	run --separate-stderr fs-run --max-restarts 0 -- sh -c 'kill -9 $$'
	assert_equal "$status" 1
	[[ "$stderr" == *"fs-run: pipeline killed by SIGKILL after "* ]] || fail "$stderr"
	assert_equal "$(tail -n 1 <<<"$stderr")" \
		"fs-run: pipeline failed 1 times in 10m: giving up; last exit: killed by SIGKILL"
}

@test "fs-run: the backoff doubles up to MAX" {
	run --separate-stderr fs-run --backoff 10ms,40ms --max-restarts 4 'exit 1'
	assert_equal "$status" 1
	assert_equal "$(grep restarting <<<"$stderr")" "$(cat <<'EOF'
fs-run: restarting in 10ms
fs-run: restarting in 20ms
fs-run: restarting in 40ms
fs-run: restarting in 40ms
EOF
)"
}

@test "fs-run: a run as long as --backoff-reset resets the backoff to MIN" {
	run --separate-stderr fs-run --backoff 10ms,1s --backoff-reset 0 \
		--max-restarts 3 'exit 1'
	assert_equal "$status" 1
	assert_equal "$(grep restarting <<<"$stderr" | sort -u)" \
		"fs-run: restarting in 10ms"
}

@test "fs-run: a stage killed with kill -9 is restarted from the newest checkpoint" {
	fs-gen --count 600 > ev.ndjson
	fs-run --backoff 10ms --checkpoint-dir ck \
		'fs-backfill --checkpoint-dir ck --checkpoint-records 10 --rate 100 ev.ndjson |
		 sh -c "echo \$\$ > window.pid; exec fs-window --tumble 1m --checkpoint-dir ck" \
		 > out.$FS_RUN_ATTEMPT' 2> log &
	echo $! > fsrun.pid
	wait_for_file window.pid
	wait_for_complete_checkpoint
	kill -9 "$(cat window.pid)"
	wait_status "$(cat fsrun.pid)"
	assert_equal "$status" 0
	run cat log
	assert_line --index 0 "fs-run: start 1: no checkpoint: starting fresh"
	assert_line --regexp '^fs-run: pipeline exited 137 after .* \(a stage killed by SIGKILL\)$'
	assert_line --regexp '^fs-run: start 2 \(restart 1\): resuming from checkpoint [1-9][0-9]*$'
	refute_line --partial "start 3"
}

@test "fs-run: an idle source is stopped when its sink dies, without waiting for it to write" {
	fs-run --grace 200ms --backoff 10ms --max-restarts 0 "$(idle_pipeline)" 2> log &
	echo $! > fsrun.pid
	wait_for_file sink.pid
	wait_for_file src.pid
	kill -9 "$(cat sink.pid)"
	wait_status "$(cat fsrun.pid)"
	assert_equal "$status" 1
	run cat log
	assert_line --regexp "^fs-run: 'sleep' \(pid $(cat src.pid)\) writes to a pipe whose reader has exited: stopping it$"
	assert_line --regexp '^fs-run: pipeline exited 137 after .* \(a stage killed by SIGKILL\)$'
	assert_line "fs-run: pipeline failed 1 times in 10m: giving up; last exit: status 137 (a stage killed by SIGKILL)"
}

@test "fs-run: writers stranded by a stopped stage are stopped in turn, upstream to the source" {
	fs-run --grace 200ms --max-restarts 0 \
		"$(idle_pipeline 'fs-window --tumble 1m')" 2> log &
	echo $! > fsrun.pid
	wait_for_file sink.pid
	wait_for_file src.pid
	kill -9 "$(cat sink.pid)"
	wait_status "$(cat fsrun.pid)"
	assert_equal "$status" 1
	run cat log
	assert_line --regexp "^fs-run: 'fs-window' \(pid [0-9]+\) writes to a pipe whose reader has exited: stopping it$"
	assert_line --regexp "^fs-run: 'sleep' \(pid $(cat src.pid)\) writes to a pipe whose reader has exited: stopping it$"
	assert_line --regexp '^fs-run: pipeline exited 137 after '
}

@test "fs-run: a pipe it inherited whose reader is gone strands no stage" {
	# Whatever started fs-run may leave it a pipe nobody reads any more
	# (a shell's job pipe): it is not one of the pipeline's pipes.
	run --separate-stderr bash -c 'exec 7> >(exit 0); r=$!
		while kill -0 "$r" 2>/dev/null; do sleep 0.1; done
		exec fs-run --grace 10ms --max-restarts 0 "sleep 1"'
	assert_equal "$status" 0
	assert_equal "$stderr" "fs-run: start 1"
}

@test "fs-run: SIGTERM stops the pipeline, fs-run exits 0 without a restart" {
	fs-run "$(idle_pipeline 'fs-window --tumble 1m')" 2> log &
	echo $! > fsrun.pid
	wait_for_file sink.pid
	wait_for_file src.pid
	kill -TERM "$(cat fsrun.pid)"
	wait_status "$(cat fsrun.pid)"
	assert_equal "$status" 0
	run cat log
	assert_line --index 0 "fs-run: start 1"
	assert_line "fs-run: pipeline stopped: killed by SIGTERM"
	refute_line --partial "start 2"
	refute_line --partial "did not stop cleanly"
	run kill -0 "$(cat src.pid)"
	assert_equal "$status" 1
}

@test "fs-run: SIGINT is forwarded as SIGTERM too" {
	fs-run -- sh -c 'echo $$ > src.pid; exec sleep 600' 2> log &
	echo $! > fsrun.pid
	wait_for_file src.pid
	kill -INT "$(cat fsrun.pid)"
	wait_status "$(cat fsrun.pid)"
	assert_equal "$status" 0
	run cat log
	assert_line "fs-run: pipeline stopped: killed by SIGTERM"
}

@test "fs-run: a pipeline that ignores SIGTERM is killed after --stop-timeout, exit 1" {
	fs-run --stop-timeout 300ms -- sh -c \
		'trap "" TERM; echo $$ > src.pid; while :; do sleep 0.1; done' 2> log &
	echo $! > fsrun.pid
	wait_for_file src.pid
	kill -TERM "$(cat fsrun.pid)"
	wait_status "$(cat fsrun.pid)"
	assert_equal "$status" 1
	run cat log
	assert_line "fs-run: pipeline still running 300ms after SIGTERM: sending SIGKILL"
	assert_line "fs-run: pipeline did not stop cleanly: killed by SIGKILL"
	run kill -0 "$(cat src.pid)"
	assert_equal "$status" 1
}

@test "fs-run: processes the pipeline leaves behind are stopped when it ends" {
	run --separate-stderr fs-run 'sleep 600 & echo $! > src.pid; exit 0'
	assert_equal "$status" 0
	assert_equal "$stderr" "$(cat <<'EOF'
fs-run: start 1
fs-run: the pipeline's leader ended, processes of its group remain: stopping them
EOF
)"
	run kill -0 "$(cat src.pid)"
	assert_equal "$status" 1
}

@test "fs-run: each start names the checkpoint the pipeline resumes from" {
	local id
	make_checkpoints
	id=$(complete_ids | head -n 1)
	run --separate-stderr fs-run --checkpoint-dir ck --backoff 10ms \
		'[ $FS_RUN_ATTEMPT -ge 2 ] || exit 1'
	assert_equal "$status" 0
	assert_equal "$(grep ': start' <<<"$stderr")" "$(cat <<EOF
fs-run: start 1: resuming from checkpoint $id
fs-run: start 2 (restart 1): resuming from checkpoint $id
EOF
)"
	# fs-run reads the directory; it never registers itself as a stage.
	assert_equal "$(ls ck)" "$(printf 'fs-backfill\nfs-window')"
}

@test "fs-run: an incomplete or corrupt newest checkpoint is passed over" {
	local ids
	make_checkpoints
	ids=($(complete_ids))
	rm "$(ckpt_file fs-window "${ids[0]}")"
	printf 'x' >> "$(ckpt_file fs-window "${ids[1]}")"
	run --separate-stderr fs-run --checkpoint-dir ck true
	assert_equal "$status" 0
	assert_equal "$stderr" "fs-run: start 1: resuming from checkpoint ${ids[2]}"
	# fs-ckpt answers with the same function, as quietly
	run --separate-stderr fs-ckpt latest ck
	assert_success
	assert_equal "$output" "${ids[2]}"
	assert_equal "$stderr" ""
}

@test "fs-run: without a checkpoint the log says the pipeline starts fresh" {
	run --separate-stderr fs-run --checkpoint-dir ck --stats true
	assert_equal "$status" 0
	assert_equal "$stderr" "$(cat <<'EOF'
fs-run: start 1: no checkpoint: starting fresh
fs-run: 1 starts, 0 restarts, no checkpoint
EOF
)"
	[ ! -e ck ] || fail "fs-run created ck"
}

@test "fs-run: --stats sums up starts, restarts and the last checkpoint" {
	make_checkpoints
	run --separate-stderr fs-run -q --stats --checkpoint-dir ck --backoff 10ms \
		'[ $FS_RUN_ATTEMPT -ge 3 ] || exit 1'
	assert_equal "$status" 0
	assert_equal "$(tail -n 1 <<<"$stderr")" \
		"fs-run: 3 starts, 2 restarts, last checkpoint $(complete_ids | head -n 1)"
}

@test "fs-run: -q hides start lines but not failures" {
	run --separate-stderr fs-run -q --max-restarts 0 'exit 2'
	assert_equal "$status" 1
	assert_equal "$(sed 's/after .*s$/after T/' <<<"$stderr")" "$(cat <<'EOF'
fs-run: pipeline exited 2 after T
fs-run: pipeline failed 1 times in 10m: giving up; last exit: status 2
EOF
)"
}

@test "fs-run: the pipeline reads /dev/null, not fs-run's stdin" {
	run --separate-stderr fs-run -q 'wc -c' <<<"some input"
	assert_equal "$status" 0
	assert_output "0"
}

@test "fs-run: a program that cannot be started is an error, exit 1" {
	run --separate-stderr fs-run -- ./no-such-program arg
	assert_equal "$status" 1
	assert_equal "$stderr" "$(cat <<'EOF'
fs-run: start 1
fs-run: cannot run './no-such-program': No such file or directory
EOF
)"
}

@test "fs-run: usage errors exit 2 and name the option" {
	run --separate-stderr fs-run
	assert_equal "$status" 2
	assert_equal "$stderr" "$(printf '%s\n' "fs-run: missing the pipeline to run" \
		"Try 'fs-run --help' for more information.")"
	run --separate-stderr fs-run --backoff 1s,100ms true
	assert_equal "$status" 2
	[[ "$stderr" == "fs-run: --backoff: MAX is less than MIN: '1s,100ms'"* ]] || fail "$stderr"
	run --separate-stderr fs-run --backoff 5 true
	assert_equal "$status" 2
	[[ "$stderr" == "fs-run: --backoff: expected a duration such as 250ms"* ]] || fail "$stderr"
	run --separate-stderr fs-run --max-restarts -1 true
	assert_equal "$status" 2
	[[ "$stderr" == "fs-run: --max-restarts"* ]] || fail "$stderr"
	run --separate-stderr fs-run --restart-window 0 true
	assert_equal "$status" 2
	[[ "$stderr" == "fs-run: --restart-window: must be more than 0: '0'"* ]] || fail "$stderr"
}
