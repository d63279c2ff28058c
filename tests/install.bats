#!/usr/bin/env bats
# make install puts every tool, man page and the bash completion under
# DESTDIR/PREFIX; make uninstall takes exactly those away again.

load test_helper

# make with the build under test (build/bin: BUILD=build); the sanitizer
# pass is skipped, as installing would rebuild whatever is out of date
# without the sanitizer flags.
suite_setup() {
	case $FS_BIN in
	"$FS_ROOT"/build/bin | "$FS_ROOT"/build/*/bin) ;;
	*) skip "FS_BIN is not a build of this tree: $FS_BIN" ;;
	esac
	case $FS_BIN in */asan/*) skip "installs a normal build only" ;; esac
	BUILD=${FS_BIN#"$FS_ROOT"/}
	BUILD=${BUILD%/bin}
}

install_to() {
	make -s -C "$FS_ROOT" BUILD="$BUILD" "$@" DESTDIR="$T/root" PREFIX=/opt/fs
}

@test "install: every built tool and man page lands under DESTDIR and PREFIX" {
	local t
	run install_to install
	assert_success
	for t in "$FS_BIN"/fs-*; do
		t=$(basename "$t")
		[ -x "$T/root/opt/fs/bin/$t" ] || fail "$t not installed"
		[ -f "$T/root/opt/fs/share/man/man1/$t.1" ] || fail "$t.1 not installed"
	done
	[ -f "$T/root/opt/fs/share/man/man7/fs.7" ] || fail "fs.7 not installed"
	[ -f "$T/root/opt/fs/share/man/man5/fs-checkpoint.5" ] || fail "fs-checkpoint.5 not installed"
	run "$T/root/opt/fs/bin/fs-ckpt" --version
	assert_output "fs-ckpt (fs) 0.1.0"
}

@test "install: scripts/training-set is installed as the tool fs-training-set" {
	run install_to install
	assert_success
	run --separate-stderr "$T/root/opt/fs/bin/fs-training-set" --version
	assert_success
	assert_output "fs-training-set (fs) 0.1.0"
	run --separate-stderr "$T/root/opt/fs/bin/fs-training-set" --help
	assert_success
	assert_line --index 0 --partial "usage: fs-training-set "
	[ -f "$T/root/opt/fs/share/man/man1/fs-training-set.1" ] || fail "no man page"
}

@test "install: the installed fs-training-set runs the tools installed beside it" {
	run install_to install
	assert_success
	printf '{"ts":1000,"user":"a"}\n{"ts":3000,"user":"a"}\n' > events.ndjson
	printf '{"ts":2000,"user":"a"}\n' > labels.ndjson
	run --separate-stderr env PATH=/usr/bin:/bin "$T/root/opt/fs/bin/fs-training-set" \
		--over 1h labels.ndjson events.ndjson
	assert_success
	assert_output '{"ts":2000,"user":"a","feature_ts":1000,"n_1h":1}'
}

@test "install: bash completion, sourced, completes fs-agg --ag to --agg" {
	local t
	run install_to install
	assert_success
	comp="$T/root/opt/fs/share/bash-completion/completions"
	[ -f "$comp/fs" ] || fail "no completions/fs"
	# bash-completion loads completions/CMD on demand: one per tool.
	for t in "$FS_BIN"/fs-*; do
		t=$(basename "$t")
		[ "$(readlink "$comp/$t")" = fs ] || fail "completions/$t is not a link to fs"
	done
	run bash -c '
		source "$1"
		complete -p fs-agg fs-training-set
		COMP_WORDS=(fs-agg --ag); COMP_CWORD=1
		_fs_complete fs-agg --ag fs-agg
		echo "fs-agg --ag: ${COMPREPLY[*]}"
		COMP_WORDS=(fs-consume -b); COMP_CWORD=2; COMP_WORDS+=("")
		_fs_complete fs-consume "" -b
		echo "fs-consume -b _: ${#COMPREPLY[@]}"
		COMP_WORDS=(fs-agg --checkpoint-dir ""); COMP_CWORD=2
		mkdir -p sub/ckdir && cd sub && _fs_complete fs-agg "" --checkpoint-dir
		echo "fs-agg --checkpoint-dir _: ${COMPREPLY[*]}"
		COMP_WORDS=(fs-training-set --); COMP_CWORD=1
		_fs_complete fs-training-set -- fs-training-set
		echo "fs-training-set --: ${COMPREPLY[*]}"' _ "$comp/fs-agg"
	assert_success
	assert_line "complete -o default -F _fs_complete fs-agg"
	assert_line "complete -o default -F _fs_complete fs-training-set"
	assert_line "fs-agg --ag: --agg"
	assert_line "fs-consume -b _: 0"
	assert_line "fs-agg --checkpoint-dir _: ckdir"
	assert_line "fs-training-set --: --agg --hosts --key --namespace --over --retention --time-field --view --data-only --help --version"
}

@test "install: uninstall removes exactly what install installed" {
	mkdir -p "$T/root/opt/fs/bin" "$T/root/opt/fs/share/man/man1"
	echo keep > "$T/root/opt/fs/bin/other-tool"
	echo keep > "$T/root/opt/fs/share/man/man1/other-tool.1"
	( cd "$T/root" && find . \( -type f -o -type l \) | sort ) > before
	run install_to install
	assert_success
	run install_to uninstall
	assert_success
	( cd "$T/root" && find . \( -type f -o -type l \) | sort ) > after
	assert_equal "$(cat after)" "$(cat before)"
	# Every file install wrote is one uninstall names: nothing is left
	# under the directories install created but the empty directories.
	run find "$T/root/opt/fs/share/bash-completion" "$T/root/opt/fs/share/man/man5" \
		"$T/root/opt/fs/share/man/man7" \( -type f -o -type l \)
	assert_output ""
}
