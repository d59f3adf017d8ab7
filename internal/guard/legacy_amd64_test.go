//go:build linux && amd64

package guard

import (
	"io/fs"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// legacyOps exercise the syscalls without an *at form, which only some
// architectures have and whose arguments sit in other registers.
func legacyOps() []serveOp {
	return []serveOp{
		{
			name: "legacy mkdir allowed", run: func() string { return rawPath(unix.SYS_MKDIR, "legacy_dir", 0o777) },
			want:  "ok",
			check: func(t *testing.T, dir string) { wantMode(t, filepath.Join(dir, "legacy_dir"), fs.ModeDir|0o750) },
		},
		{
			name: "legacy mkdir .zshrc", run: func() string { return rawPath(unix.SYS_MKDIR, ".zshrc", 0o777) },
			want: "EPERM", denied: ".zshrc", syscall: "mkdir", rule: "protected .zshrc",
		},
		{
			name: "legacy open O_CREAT allowed", run: func() string { return rawPath(unix.SYS_OPEN, "legacy_open", unix.O_CREAT|unix.O_WRONLY, 0o600) },
			want:  "ok",
			check: func(t *testing.T, dir string) { wantMode(t, filepath.Join(dir, "legacy_open"), 0o600) },
		},
		{
			name: "legacy open O_CREAT .bash_profile", run: func() string { return rawPath(unix.SYS_OPEN, ".bash_profile", unix.O_CREAT|unix.O_WRONLY, 0o666) },
			want: "EPERM", denied: ".bash_profile", syscall: "open", rule: "protected .bash_profile",
		},
		{
			name: "legacy creat allowed", run: func() string { return rawPath(unix.SYS_CREAT, "legacy_creat", 0o666) },
			want:  "ok",
			check: func(t *testing.T, dir string) { wantMode(t, filepath.Join(dir, "legacy_creat"), 0o640) },
		},
		{
			name: "legacy creat .profile", run: func() string { return rawPath(unix.SYS_CREAT, ".profile", 0o666) },
			want: "EPERM", denied: ".profile", syscall: "creat", rule: "protected .profile",
		},
		{
			name: "legacy mknod FIFO allowed", run: func() string { return rawPath(unix.SYS_MKNOD, "legacy_fifo", unix.S_IFIFO|0o666, 0) },
			want:  "ok",
			check: func(t *testing.T, dir string) { wantMode(t, filepath.Join(dir, "legacy_fifo"), fs.ModeNamedPipe|0o640) },
		},
		{
			name: "legacy mknod .envrc", run: func() string { return rawPath(unix.SYS_MKNOD, ".envrc", unix.S_IFREG|0o644, 0) },
			want: "EPERM", denied: ".envrc", syscall: "mknod", rule: "protected .envrc",
		},
		{
			name: "legacy symlink .gitmodules", run: func() string { return rawTwo(unix.SYS_SYMLINK, "src.txt", ".gitmodules") },
			want: "EPERM", denied: ".gitmodules", syscall: "symlink", rule: "protected .gitmodules",
		},
		{
			name: "legacy link .bashrc", run: func() string { return rawTwo(unix.SYS_LINK, "src.txt", ".bashrc") },
			want: "EPERM", denied: ".bashrc", syscall: "link", rule: "protected .bashrc",
		},
		{
			name: "legacy rename to .codex", run: func() string { return rawTwo(unix.SYS_RENAME, "ren4.txt", ".codex") },
			want: "EPERM", denied: ".codex", syscall: "rename", rule: "protected .codex",
			check: func(t *testing.T, dir string) { wantContent(t, filepath.Join(dir, "ren4.txt"), "ren4.txt") },
		},
		{
			name: "legacy rename allowed", run: func() string { return rawTwo(unix.SYS_RENAME, "ren5.txt", "ren5_moved.txt") },
			want: "ok",
			check: func(t *testing.T, dir string) {
				wantAbsent(t, filepath.Join(dir, "ren5.txt"))
				wantContent(t, filepath.Join(dir, "ren5_moved.txt"), "ren5.txt")
			},
		},
	}
}

// rawPath makes syscall nr with a path as its first argument; a returned
// descriptor is closed.
func rawPath(nr uintptr, path string, args ...uintptr) string {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err.Error()
	}
	a := append([]uintptr{uintptr(unsafe.Pointer(p))}, args...)
	for len(a) < 3 {
		a = append(a, 0)
	}
	r, _, e := unix.Syscall(nr, a[0], a[1], a[2])
	runtime.KeepAlive(p)
	if e != 0 {
		return errName(e)
	}
	if nr == unix.SYS_OPEN || nr == unix.SYS_CREAT {
		unix.Close(int(r))
	}
	return "ok"
}

// rawTwo makes syscall nr with two path arguments.
func rawTwo(nr uintptr, a, b string) string {
	pa, err := unix.BytePtrFromString(a)
	if err != nil {
		return err.Error()
	}
	pb, err := unix.BytePtrFromString(b)
	if err != nil {
		return err.Error()
	}
	_, _, e := unix.Syscall(nr, uintptr(unsafe.Pointer(pa)), uintptr(unsafe.Pointer(pb)), 0)
	runtime.KeepAlive(pa)
	runtime.KeepAlive(pb)
	if e != 0 {
		return errName(e)
	}
	return "ok"
}
