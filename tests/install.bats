#!/usr/bin/env bats
# make install puts every tool and every man page under DESTDIR/PREFIX.

load test_helper

@test "install: every built tool and man page lands under DESTDIR and PREFIX" {
	local t
	[ "$FS_BIN" = "$FS_ROOT/build/bin" ] || skip "installs the normal build only"
	run make -s -C "$FS_ROOT" install DESTDIR="$T/root" PREFIX=/opt/fs
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
