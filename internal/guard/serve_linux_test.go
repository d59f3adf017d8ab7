package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airlock-sandbox/airlock/internal/policy"
	"github.com/airlock-sandbox/airlock/internal/seccomp"
)

// The Serve tests re-execute the test binary as a stand-in for the
// sandboxed command. The child drops its capabilities and installs the
// real filter (the options come in serveFilterEnv) on one locked thread,
// hands the listener to the parent, and runs its job on that thread:
// path-creating syscalls ("create") or execs ("chain", "execs", ...),
// whose processes inherit the filter. The parent serves the listener with
// Serve, exactly as the supervisor does.
//
//	parent (go test)                          child (same binary)
//	   |-- exec, job, filter, fd 3 = sock ------>|
//	   |                                         | LockOSThread, umask 027
//	   |                                         | drop caps, no_new_privs
//	   |                                         | Install(filter options)
//	   |<------- SCM_RIGHTS(listener) on fd 3 ---|
//	   | go Serve(listener)                      |
//	   |<====== notifications, answered =======>| the job, in order
//	   |<------- stdout: the job's JSON result --|
//	   | check results, records, files on disk   | exit
//
// A job started without serveFilterEnv (a helper the child runs) installs
// nothing: it inherits the child's filter.
const (
	serveChildEnv  = "AIRLOCK_GUARD_TEST_CHILD" // the job's name
	serveDirEnv    = "AIRLOCK_GUARD_TEST_DIR"
	serveFilterEnv = "AIRLOCK_GUARD_TEST_FILTER" // seccomp.Options as JSON
	childUmask     = 0o027
)

// childJob returns what a re-executed test binary does as job name, or
// nil. A job's result is printed as JSON on stdout.
func childJob(name string) func() (any, error) {
	switch name {
	case "create":
		return createJob
	case "chain":
		return chainJob
	case "execs":
		return execsJob
	case "plain":
		return plainJob
	case "bench":
		return benchJob
	}
	return helperJob(name)
}

// createJob runs serveOps.
func createJob() (any, error) {
	res := map[string]string{}
	for _, op := range serveOps() {
		res[op.name] = op.run()
	}
	return res, nil
}

func TestMain(m *testing.M) {
	if job := os.Getenv(serveChildEnv); job != "" {
		if err := runChildJob(job); err != nil {
			fmt.Fprintf(os.Stderr, "guard test child %s: %v\n", job, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: Serve reads the child's memory through /proc/PID/mem, which Yama may forbid to other users")
	}
}

// serveOp is one syscall sequence run by the child. run executes in the
// child, in the test directory, on the filtered thread, and returns "ok" or
// the errno name. The parent checks want, the denial the guard reported
// (denied is the refused path relative to the test directory, "" for none)
// and, with check, the files left on disk.
type serveOp struct {
	name    string
	run     func() string
	want    string
	denied  string
	syscall string
	rule    string
	check   func(t *testing.T, dir string)
}

// The prepared tree (see prepareServeDir) and the ops below share names.
func serveOps() []serveOp {
	ops := []serveOp{
		{
			name: "mkdir allowed with umask applied",
			run:  func() string { return errName(unix.Mkdirat(unix.AT_FDCWD, "newdir", 0o777)) },
			want: "ok",
			check: func(t *testing.T, dir string) {
				wantMode(t, filepath.Join(dir, "newdir"), fs.ModeDir|0o750)
			},
		},
		{
			name: "open O_CREAT allowed returns a working fd",
			run:  func() string { return openDo("newfile", unix.O_CREAT|unix.O_WRONLY, writeString("hello")) },
			want: "ok",
			check: func(t *testing.T, dir string) {
				wantMode(t, filepath.Join(dir, "newfile"), 0o640)
				wantContent(t, filepath.Join(dir, "newfile"), "hello")
			},
		},
		{
			name: "O_CLOEXEC is honoured on the injected fd",
			run:  func() string { return openDo("cloexec", unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, wantCloexec(true)) },
			want: "ok",
		},
		{
			name: "no O_CLOEXEC leaves the injected fd inheritable",
			run:  func() string { return openDo("nocloexec", unix.O_CREAT|unix.O_WRONLY, wantCloexec(false)) },
			want: "ok",
		},
		{
			name: "O_CREAT|O_EXCL on an existing file",
			run:  func() string { return openDo("existing.txt", unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, nil) },
			want: "EEXIST",
		},
		{
			name: "O_CREAT on an existing file opens it without creating",
			run:  func() string { return openDo("existing.txt", unix.O_CREAT|unix.O_RDONLY, readExpect("keep\n")) },
			want: "ok",
		},
		{
			name: "O_CREAT|O_APPEND on an existing file writes to it",
			run: func() string {
				return openDo("existing.txt", unix.O_CREAT|unix.O_WRONLY|unix.O_APPEND, writeString("more"))
			},
			want: "ok",
			check: func(t *testing.T, dir string) {
				wantMode(t, filepath.Join(dir, "existing.txt"), 0o600)
				wantContent(t, filepath.Join(dir, "existing.txt"), "keep\nmore")
			},
		},
		{
			name: "mkdir .vscode", run: func() string { return errName(unix.Mkdirat(unix.AT_FDCWD, ".vscode", 0o777)) },
			want: "EPERM", denied: ".vscode", syscall: "mkdirat", rule: "protected .vscode",
		},
		{
			name: "open O_CREAT .bashrc", run: func() string { return openDo(".bashrc", unix.O_CREAT|unix.O_WRONLY, nil) },
			want: "EPERM", denied: ".bashrc", syscall: "openat", rule: "protected .bashrc",
		},
		{
			name: "absolute path to .gitmodules",
			run:  func() string { return openDo(cwd()+"/.gitmodules", unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, nil) },
			want: "EPERM", denied: ".gitmodules", syscall: "openat", rule: "protected .gitmodules",
		},
		{
			name: "mkdir .git allowed", run: func() string { return errName(unix.Mkdirat(unix.AT_FDCWD, ".git", 0o777)) },
			want: "ok",
			check: func(t *testing.T, dir string) {
				wantMode(t, filepath.Join(dir, ".git"), fs.ModeDir|0o750)
			},
		},
		{
			name: "mkdir .git/hooks", run: func() string { return errName(unix.Mkdirat(unix.AT_FDCWD, ".git/hooks", 0o777)) },
			want: "EPERM", denied: ".git/hooks", syscall: "mkdirat", rule: "protected .git/hooks",
		},
		{
			name: "open O_CREAT .git/config", run: func() string { return openDo(".git/config", unix.O_CREAT|unix.O_WRONLY, nil) },
			want: "EPERM", denied: ".git/config", syscall: "openat", rule: "protected .git/config",
		},
		{
			name: "mkdir .git/objects allowed", run: func() string { return errName(unix.Mkdirat(unix.AT_FDCWD, ".git/objects", 0o777)) },
			want: "ok",
		},
		{
			name: "mkdir hooks through a symlink to .git",
			run: func() string {
				if err := unix.Symlinkat(".git", unix.AT_FDCWD, "gitlink"); err != nil {
					return "symlink: " + errName(err)
				}
				return errName(unix.Mkdirat(unix.AT_FDCWD, "gitlink/hooks", 0o777))
			},
			want: "EPERM", denied: "gitlink/hooks", syscall: "mkdirat", rule: "protected .git/hooks",
		},
		{
			name: "mkdir deep .claude", run: func() string { return errName(unix.Mkdirat(unix.AT_FDCWD, "deep/a/b/c/d/e/f/.claude", 0o777)) },
			want: "EPERM", denied: "deep/a/b/c/d/e/f/.claude", syscall: "mkdirat", rule: "protected .claude",
		},
		{
			name: "open O_CREAT deep .mcp.json", run: func() string { return openDo("deep/a/b/c/d/e/f/.mcp.json", unix.O_CREAT|unix.O_RDWR, nil) },
			want: "EPERM", denied: "deep/a/b/c/d/e/f/.mcp.json", syscall: "openat", rule: "protected .mcp.json",
		},
		{
			name: "mkdirat .codex relative to a directory fd",
			run:  func() string { return atDir("deep/a", func(fd int) error { return unix.Mkdirat(fd, ".codex", 0o777) }) },
			want: "EPERM", denied: "deep/a/.codex", syscall: "mkdirat", rule: "protected .codex",
		},
		{
			name:  "mkdirat allowed relative to a directory fd",
			run:   func() string { return atDir("deep/a", func(fd int) error { return unix.Mkdirat(fd, "plain", 0o700) }) },
			want:  "ok",
			check: func(t *testing.T, dir string) { wantMode(t, filepath.Join(dir, "deep/a/plain"), fs.ModeDir|0o700) },
		},
		{
			name: "symlink named .zshrc", run: func() string { return errName(unix.Symlinkat("src.txt", unix.AT_FDCWD, ".zshrc")) },
			want: "EPERM", denied: ".zshrc", syscall: "symlinkat", rule: "protected .zshrc",
		},
		{
			name: "symlink allowed", run: func() string { return errName(unix.Symlinkat("src.txt", unix.AT_FDCWD, "link_ok")) },
			want: "ok",
			check: func(t *testing.T, dir string) {
				if got, err := os.Readlink(filepath.Join(dir, "link_ok")); err != nil || got != "src.txt" {
					t.Errorf("link_ok: got %q (%v), want a symlink to src.txt", got, err)
				}
			},
		},
		{
			name: "hard link named .profile", run: func() string { return errName(unix.Linkat(unix.AT_FDCWD, "src.txt", unix.AT_FDCWD, ".profile", 0)) },
			want: "EPERM", denied: ".profile", syscall: "linkat", rule: "protected .profile",
		},
		{
			name: "hard link allowed", run: func() string { return errName(unix.Linkat(unix.AT_FDCWD, "src.txt", unix.AT_FDCWD, "hard_ok", 0)) },
			want: "ok",
			check: func(t *testing.T, dir string) {
				wantSameFile(t, filepath.Join(dir, "src.txt"), filepath.Join(dir, "hard_ok"))
			},
		},
		{
			name: "rename to .envrc", run: func() string { return errName(unix.Renameat(unix.AT_FDCWD, "ren1.txt", unix.AT_FDCWD, ".envrc")) },
			want: "EPERM", denied: ".envrc", syscall: "renameat", rule: "protected .envrc",
			check: func(t *testing.T, dir string) { wantContent(t, filepath.Join(dir, "ren1.txt"), "ren1.txt") },
		},
		{
			name: "renameat2 to .zprofile", run: func() string {
				return errName(unix.Renameat2(unix.AT_FDCWD, "ren1.txt", unix.AT_FDCWD, ".zprofile", 0))
			},
			want: "EPERM", denied: ".zprofile", syscall: "renameat2", rule: "protected .zprofile",
		},
		{
			name: "rename allowed", run: func() string { return errName(unix.Renameat(unix.AT_FDCWD, "ren2.txt", unix.AT_FDCWD, "renamed.txt")) },
			want: "ok",
			check: func(t *testing.T, dir string) {
				wantAbsent(t, filepath.Join(dir, "ren2.txt"))
				wantContent(t, filepath.Join(dir, "renamed.txt"), "ren2.txt")
			},
		},
		{
			name: ".git as a file", run: func() string { return openDo("sub/.git", unix.O_CREAT|unix.O_WRONLY, nil) },
			want: "EPERM", denied: "sub/.git", syscall: "openat", rule: "protected .git (only a directory may be created)",
		},
		{
			name: ".git as a symlink", run: func() string { return errName(unix.Symlinkat("../newdir", unix.AT_FDCWD, "sub/.git")) },
			want: "EPERM", denied: "sub/.git", syscall: "symlinkat", rule: "protected .git (only a directory may be created)",
		},
		{
			name: ".git as a hard link", run: func() string { return errName(unix.Linkat(unix.AT_FDCWD, "src.txt", unix.AT_FDCWD, "sub/.git", 0)) },
			want: "EPERM", denied: "sub/.git", syscall: "linkat", rule: "protected .git (only a directory may be created)",
		},
		{
			name: "rename a file to .git", run: func() string { return errName(unix.Renameat(unix.AT_FDCWD, "ren3.txt", unix.AT_FDCWD, "sub/.git")) },
			want: "EPERM", denied: "sub/.git", syscall: "renameat", rule: "protected .git (only a directory may be created)",
			check: func(t *testing.T, dir string) { wantAbsent(t, filepath.Join(dir, "sub/.git")) },
		},
		{
			name: "rename a directory with hooks to .git",
			run:  func() string { return errName(unix.Renameat(unix.AT_FDCWD, "stage_bad", unix.AT_FDCWD, "sub2/.git")) },
			want: "EPERM", denied: "sub2/.git", syscall: "renameat", rule: "protected .git/hooks",
			check: func(t *testing.T, dir string) {
				wantAbsent(t, filepath.Join(dir, "sub2/.git"))
				wantMode(t, filepath.Join(dir, "stage_bad/hooks"), fs.ModeDir|0o755)
			},
		},
		{
			name: "rename a directory with config to .git",
			run:  func() string { return errName(unix.Renameat(unix.AT_FDCWD, "stage_cfg", unix.AT_FDCWD, "sub4/.git")) },
			want: "EPERM", denied: "sub4/.git", syscall: "renameat", rule: "protected .git/config",
		},
		{
			name:  "rename a directory without hooks to .git",
			run:   func() string { return errName(unix.Renameat(unix.AT_FDCWD, "stage_ok", unix.AT_FDCWD, "sub3/.git")) },
			want:  "ok",
			check: func(t *testing.T, dir string) { wantContent(t, filepath.Join(dir, "sub3/.git/HEAD"), "stage_ok/HEAD") },
		},
		{
			// The guard must reopen the child's fd 1, not resolve
			// /proc/self in its own process.
			name: "> /dev/stdout and /proc/self/fd/1 reach the task's own fd",
			run:  stdoutOpens,
			want: "ok",
			check: func(t *testing.T, dir string) {
				wantContent(t, filepath.Join(dir, "out.txt"), "ABC")
				wantAbsent(t, filepath.Join(dir, "dev"))
			},
		},
		{
			name: "O_CREAT through a dangling symlink",
			run: func() string {
				if err := unix.Symlinkat("dangling_target", unix.AT_FDCWD, "dangle"); err != nil {
					return "symlink: " + errName(err)
				}
				return openDo("dangle", unix.O_CREAT|unix.O_WRONLY, nil)
			},
			want: "EACCES", denied: "dangle", syscall: "openat", rule: "creation through a dangling symlink",
			check: func(t *testing.T, dir string) { wantAbsent(t, filepath.Join(dir, "dangling_target")) },
		},
		{
			name: "O_CREAT through a symlink to an existing file",
			run: func() string {
				if err := unix.Symlinkat("src.txt", unix.AT_FDCWD, "to_src"); err != nil {
					return "symlink: " + errName(err)
				}
				return openDo("to_src", unix.O_CREAT|unix.O_RDONLY, readExpect("src.txt"))
			},
			want: "ok",
		},
		{
			name: "O_CREAT|O_NOFOLLOW on a symlink", run: func() string { return openDo("link_ok", unix.O_CREAT|unix.O_RDONLY|unix.O_NOFOLLOW, nil) },
			want: "ELOOP",
		},
		{
			name: "mknod of a character device",
			run: func() string {
				return errName(unix.Mknodat(unix.AT_FDCWD, "null", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
			},
			want: "EPERM", denied: "null", syscall: "mknodat", rule: "device nodes",
			check: func(t *testing.T, dir string) { wantAbsent(t, filepath.Join(dir, "null")) },
		},
		{
			name: "mknod of a FIFO allowed", run: func() string { return errName(unix.Mknodat(unix.AT_FDCWD, "fifo", unix.S_IFIFO|0o666, 0)) },
			want:  "ok",
			check: func(t *testing.T, dir string) { wantMode(t, filepath.Join(dir, "fifo"), fs.ModeNamedPipe|0o640) },
		},
		{
			name: "O_CREAT on an existing FIFO opens it", run: func() string { return openDo("fifo", unix.O_CREAT|unix.O_RDONLY|unix.O_NONBLOCK, nil) },
			want: "ok",
		},
		{
			name: "deny_create path by open", run: func() string { return openDo("later.txt", unix.O_CREAT|unix.O_WRONLY, nil) },
			want: "EPERM", denied: "later.txt", syscall: "openat", rule: "deny_write ",
		},
		{
			name: "deny_create path by mkdir", run: func() string { return errName(unix.Mkdirat(unix.AT_FDCWD, "later.txt", 0o777)) },
			want: "EPERM", denied: "later.txt", syscall: "mkdirat", rule: "deny_write ",
			check: func(t *testing.T, dir string) { wantAbsent(t, filepath.Join(dir, "later.txt")) },
		},
		{
			name: "a name the config does not protect is allowed", run: func() string { return errName(unix.Mkdirat(unix.AT_FDCWD, ".idea", 0o777)) },
			want:  "ok",
			check: func(t *testing.T, dir string) { wantMode(t, filepath.Join(dir, ".idea"), fs.ModeDir|0o750) },
		},
		{
			name: "mkdir of an existing name", run: func() string { return errName(unix.Mkdirat(unix.AT_FDCWD, "newdir", 0o777)) },
			want: "EEXIST",
		},
		{
			name: "mkdir in a missing directory", run: func() string { return errName(unix.Mkdirat(unix.AT_FDCWD, "missing/dir", 0o777)) },
			want: "ENOENT",
		},
	}
	return append(ops, legacyOps()...)
}

// serveConfig is what the parent serves: every protected name except
// ".idea", which proves the configuration is what decides, and one
// deny_create path.
func serveConfig(dir string) Config {
	return Config{
		Protected:  slices.DeleteFunc(policy.ProtectedNames(), func(s string) bool { return s == ".idea" }),
		DenyCreate: []string{dir + "/later.txt"},
	}
}

// prepareServeDir makes the tree the ops expect.
func prepareServeDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("/var/tmp", "airlock-guard-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.EvalSymlinks(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"deep/a/b/c/d/e/f", "sub", "sub2", "sub3", "sub4", "stage_bad/hooks", "stage_ok", "stage_cfg"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]os.FileMode{
		"existing.txt": 0o600, "out.txt": 0o644, "src.txt": 0o644,
		"ren1.txt": 0o644, "ren2.txt": 0o644, "ren3.txt": 0o644, "ren4.txt": 0o644, "ren5.txt": 0o644,
		"stage_ok/HEAD": 0o644, "stage_cfg/config": 0o644,
	}
	for name, mode := range files {
		content := name
		switch name {
		case "existing.txt":
			content = "keep\n"
		case "out.txt":
			content = ""
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestServe(t *testing.T) {
	requireRoot(t)
	dir := prepareServeDir(t)
	ops := serveOps()

	var mu sync.Mutex // guards denials
	var denials []Denial
	cfg := serveConfig(dir)
	cfg.OnDeny = func(d Denial) {
		mu.Lock()
		defer mu.Unlock()
		denials = append(denials, d)
	}
	stdout := runServedChild(t, "create", dir, seccomp.Options{NotifyCreate: true}, cfg)

	var got map[string]string
	if err := json.Unmarshal(stdout, &got); err != nil {
		t.Fatalf("decode child output %q: %v", stdout, err)
	}
	mu.Lock()
	defer mu.Unlock()
	wantDenials := 0
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			if g := got[op.name]; g != op.want {
				t.Errorf("result: got %q, want %q", g, op.want)
			}
			if op.denied != "" {
				wantDenials++
				path := dir + "/" + op.denied
				i := slices.IndexFunc(denials, func(d Denial) bool { return d.Path == path && d.Syscall == op.syscall })
				if i < 0 {
					t.Errorf("denials: got %+v, want one for %s %s", denials, op.syscall, path)
				} else if d := denials[i]; !strings.HasPrefix(d.Rule, op.rule) || d.Pid <= 0 {
					t.Errorf("denial: got %+v, want rule starting with %q and a pid", d, op.rule)
				}
			}
			if op.check != nil {
				op.check(t, dir)
			}
		})
	}
	if len(denials) != wantDenials {
		t.Errorf("denials: got %d (%+v), want %d: an allowed operation was reported as denied, or one twice", len(denials), denials, wantDenials)
	}
}

func recvFD(sock int) (int, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return -1, err
	}
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err == nil && len(fds) == 1 {
			return fds[0], nil
		}
	}
	return -1, errors.New("no descriptor received (the child failed before sending it)")
}

// runServedChild runs the test binary as a child doing job in dir with
// the filter opts, serves its notifications with cfg until it exits, and
// returns its stdout. It fails t if the child fails or Serve does not
// return by itself once the child is gone.
func runServedChild(t testing.TB, job, dir string, opts seccomp.Options, cfg Config, env ...string) []byte {
	t.Helper()
	filter, err := json.Marshal(opts)
	if err != nil {
		t.Fatal(err)
	}
	// The child's end of the socket pair is its fd 3.
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parentSock := os.NewFile(uintptr(pair[0]), "guard-test-parent")
	childSock := os.NewFile(uintptr(pair[1]), "guard-test-child")
	defer parentSock.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveChildEnv+"="+job, serveDirEnv+"="+dir, serveFilterEnv+"="+string(filter))
	cmd.Env = append(cmd.Env, env...)
	cmd.ExtraFiles = []*os.File{childSock}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	childSock.Close()

	listener, err := recvFD(int(parentSock.Fd()))
	if err != nil {
		_ = cmd.Wait()
		t.Fatalf("receive the listener: %v\nchild stderr:\n%s", err, stderr.String())
	}
	serveCtx, stopServe := context.WithCancel(context.Background())
	defer stopServe()
	served := make(chan error, 1)
	go func() { served <- Serve(serveCtx, listener, cfg) }()

	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("child did not finish in time (a notification was never answered?)\nstderr:\n%s", stderr.String())
	}
	if waitErr != nil {
		t.Fatalf("child: %v\nstderr:\n%s", waitErr, stderr.String())
	}
	// Serve returns by itself once no task uses the filter any more; a
	// cancelled context stops it in any case.
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve after the child exited: got %v, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Errorf("Serve did not return within 2s after the last filtered task exited")
		stopServe()
		select {
		case err := <-served:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Serve after cancel: got %v, want %v", err, context.Canceled)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("Serve did not return within 2s after its context was cancelled")
		}
	}
	return stdout.Bytes()
}

// runChildJob runs in the re-executed test binary.
func runChildJob(job string) error {
	runtime.LockOSThread()
	f := childJob(job)
	if f == nil {
		return fmt.Errorf("unknown job %q", job)
	}
	if err := os.Chdir(os.Getenv(serveDirEnv)); err != nil {
		return err
	}
	if filter := os.Getenv(serveFilterEnv); filter != "" {
		var opts seccomp.Options
		if err := json.Unmarshal([]byte(filter), &opts); err != nil {
			return fmt.Errorf("decode filter options: %w", err)
		}
		if err := installChildFilter(opts); err != nil {
			return err
		}
	}
	res, err := f()
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}

// installChildFilter makes the calling thread a sandboxed task: the test
// umask, no capabilities (so the guard, which drops its own, may read this
// task's memory), no_new_privs and the filter, whose listener goes to the
// parent on fd 3.
func installChildFilter(opts seccomp.Options) error {
	unix.Umask(childUmask)
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("drop capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	prog, err := seccomp.Program(opts)
	if err != nil {
		return err
	}
	listener, err := seccomp.Install(prog, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER)
	if err != nil {
		return err
	}
	if err := unix.Sendmsg(3, []byte{0}, unix.UnixRights(listener), nil, 0); err != nil {
		return fmt.Errorf("send listener: %w", err)
	}
	unix.Close(listener)
	unix.Close(3)
	return nil
}

func errName(err error) string {
	if err == nil {
		return "ok"
	}
	var e unix.Errno
	if errors.As(err, &e) {
		if n := unix.ErrnoName(e); n != "" {
			return n
		}
	}
	return err.Error()
}

// openDo opens path with openat(AT_FDCWD) and, on success, runs use on the
// descriptor. It reports the first failure.
func openDo(path string, flags int, use func(fd int) string) string {
	fd, err := unix.Openat(unix.AT_FDCWD, path, flags, 0o666)
	if err != nil {
		return errName(err)
	}
	defer unix.Close(fd)
	if use == nil {
		return "ok"
	}
	return use(fd)
}

func writeString(s string) func(int) string {
	return func(fd int) string {
		if n, err := unix.Write(fd, []byte(s)); err != nil || n != len(s) {
			return fmt.Sprintf("write: %d, %v", n, err)
		}
		return "ok"
	}
}

func readExpect(want string) func(int) string {
	return func(fd int) string {
		buf := make([]byte, 64)
		n, err := unix.Read(fd, buf)
		if err != nil || string(buf[:n]) != want {
			return fmt.Sprintf("read %q, %v; want %q", buf[:max(n, 0)], err, want)
		}
		return "ok"
	}
}

func wantCloexec(want bool) func(int) string {
	return func(fd int) string {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			return errName(err)
		}
		if got := flags&unix.FD_CLOEXEC != 0; got != want {
			return fmt.Sprintf("FD_CLOEXEC %v, want %v", got, want)
		}
		return "ok"
	}
}

// atDir opens dir as an O_PATH descriptor (not a create) and runs f on it.
func atDir(dir string, f func(fd int) error) string {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "open dir: " + errName(err)
	}
	defer unix.Close(fd)
	return errName(f(fd))
}

func cwd() string {
	d, _ := os.Getwd()
	return d
}

// stdoutOpens points fd 1 at out.txt and writes through the three
// spellings of "my standard output" that shells open with O_CREAT.
func stdoutOpens() string {
	out, err := unix.Open("out.txt", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "open out.txt: " + errName(err)
	}
	defer unix.Close(out)
	saved, err := unix.Dup(1)
	if err != nil {
		return "dup: " + errName(err)
	}
	defer func() {
		_ = unix.Dup3(saved, 1, 0)
		unix.Close(saved)
	}()
	if err := unix.Dup3(out, 1, 0); err != nil {
		return "dup3: " + errName(err)
	}
	for _, w := range []struct {
		path  string
		flags int
		data  string
	}{
		{"/dev/stdout", unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, "A"},
		{"/proc/self/fd/1", unix.O_WRONLY | unix.O_CREAT | unix.O_APPEND, "B"},
		{"/dev/fd/1", unix.O_WRONLY | unix.O_CREAT | unix.O_APPEND, "C"},
	} {
		if r := openDo(w.path, w.flags, writeString(w.data)); r != "ok" {
			return w.path + ": " + r
		}
	}
	return "ok"
}

func wantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Errorf("%s: %v, want mode %v", path, err, want)
		return
	}
	if got := fi.Mode(); got != want {
		t.Errorf("%s: got mode %v, want %v", path, got, want)
	}
}

func wantContent(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != want {
		t.Errorf("%s: got %q (%v), want %q", path, b, err, want)
	}
}

func wantAbsent(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s: got %v, want it absent", path, err)
	}
}

func wantSameFile(t *testing.T, a, b string) {
	t.Helper()
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA != nil || errB != nil || !os.SameFile(fa, fb) {
		t.Errorf("%s and %s: want the same file (%v, %v)", a, b, errA, errB)
	}
}
