package guard

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/airlock-sandbox/airlock/internal/seccomp"
)

// The exec tests run jobs in the re-executed child (see the diagram in
// serve_linux_test.go) with NotifyExec and check the records OnExec gets
// against what the child reports it did.

const (
	execTrueEnv  = "AIRLOCK_GUARD_TEST_TRUE"  // the real path of true
	benchExecEnv = "AIRLOCK_GUARD_TEST_EXECS" // how many execs the bench job makes
	// badAddr is a user address that is never mapped (it is below
	// vm.mmap_min_addr) but not NULL, so the guard does try to read it.
	badAddr = 0x10
	// memfdName names the memfd the memfd case executes.
	memfdName = "airlock-guard-test"
)

// execFilter is the sandbox's filter with both guards.
var execFilter = seccomp.Options{NotifyCreate: true, NotifyExec: true}

// helperJob returns the helper job called name.
func helperJob(name string) func() (any, error) {
	for _, c := range execCases(execEnv{}) {
		if c.kind == helper && c.helperJob == name {
			return c.helper
		}
	}
	return nil
}

// recorder collects the records Serve reports.
type recorder struct {
	mu   sync.Mutex // guards recs
	recs []Exec
}

func (r *recorder) add(e Exec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, e)
}

func (r *recorder) all() []Exec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.recs)
}

// prepareExecDir makes the directory the exec jobs run in, with rel-true,
// a relative symlink to true.
func prepareExecDir(t *testing.T, truePath string) string {
	t.Helper()
	d, err := os.MkdirTemp("/var/tmp", "airlock-guard-exec-")
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
	if truePath != "" {
		if err := os.Symlink(truePath, filepath.Join(dir, "rel-true")); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// realTrue returns the real path of the true program.
func realTrue(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("true")
	if err != nil {
		t.Skipf("needs the true program: %v", err)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

// lookIn finds name in the directories of path, as a shell would.
func lookIn(path, name string) string {
	for _, d := range filepath.SplitList(path) {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func summary(recs []Exec) string {
	var b strings.Builder
	for i, e := range recs {
		first := ""
		if len(e.Argv) > 0 {
			first = e.Argv[0]
		}
		fmt.Fprintf(&b, "\n  %d: pid %d ppid %d %s %q argc %d argv[0] %q cwd %q truncated %v err %q", i, e.Pid, e.Ppid, e.Syscall, e.Path, len(e.Argv), first, e.Cwd, e.Truncated, e.Err)
	}
	return b.String()
}

// The chain: sh starts python3, whose os.system starts /bin/sh -c id.
const (
	chainPython = `import os; os.system("id")`
	chainScript = `python3 -c "import os; os.system(\"id\")"`
	chainPath   = "/usr/local/bin:/usr/bin:/bin"
)

type chainOutput struct {
	Pid    int
	Output string
	Err    string
}

func chainJob() (any, error) {
	out, err := exec.Command("sh", "-c", chainScript).CombinedOutput()
	return chainOutput{Pid: os.Getpid(), Output: string(out), Err: errString(err)}, nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestExecChain(t *testing.T) {
	requireRoot(t)
	python := lookIn(chainPath, "python3")
	if python == "" {
		t.Skipf("needs python3 in %s", chainPath)
	}
	sh, id := lookIn(chainPath, "sh"), lookIn(chainPath, "id")
	if sh == "" || id == "" {
		t.Skipf("needs sh and id in %s", chainPath)
	}
	dir := prepareExecDir(t, "")
	var rec recorder
	cfg := serveConfig(dir)
	cfg.OnExec = rec.add
	// No bytecode files: the create guard would write them for python.
	stdout := runServedChild(t, "chain", dir, execFilter, cfg, "PATH="+chainPath, "PYTHONDONTWRITEBYTECODE=1")
	var out chainOutput
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatalf("decode child output %q: %v", stdout, err)
	}
	if out.Err != "" || !strings.Contains(out.Output, "uid=") {
		t.Fatalf("the chain did not run to id: got output %q, error %q; want id's output", out.Output, out.Err)
	}
	recs := rec.all()

	steps := []struct {
		name string
		path string
		argv func([]string) bool
		want string
	}{
		{"sh", sh, func(a []string) bool { return slices.Equal(a, []string{"sh", "-c", chainScript}) }, fmt.Sprintf("%q", []string{"sh", "-c", chainScript})},
		{"python3", python, func(a []string) bool { return slices.Equal(a, []string{"python3", "-c", chainPython}) }, fmt.Sprintf("%q", []string{"python3", "-c", chainPython})},
		// glibc's system() runs /bin/sh; newer versions add "--".
		{"os.system's sh", "/bin/sh", func(a []string) bool {
			return slices.Equal(a, []string{"sh", "-c", "id"}) || slices.Equal(a, []string{"sh", "-c", "--", "id"})
		}, `["sh" "-c" "id"] (or with "--")`},
		{"id", id, func(a []string) bool { return slices.Equal(a, []string{"id"}) }, `["id"]`},
	}
	var got []Exec
	i := 0
	for _, st := range steps {
		// A shell may try other directories of PATH first; such
		// attempts are recorded too and fail.
		for i < len(recs) && recs[i].Path != st.path && st.argv(recs[i].Argv) {
			if _, err := os.Stat(recs[i].Path); err == nil {
				break
			}
			i++
		}
		if i == len(recs) {
			t.Fatalf("no record for %s; records:%s", st.name, summary(recs))
		}
		r := recs[i]
		i++
		if r.Path != st.path || !st.argv(r.Argv) || r.Syscall != "execve" {
			t.Fatalf("record for %s: got %s %q %q, want execve %q %s; records:%s", st.name, r.Syscall, r.Path, r.Argv, st.path, st.want, summary(recs))
		}
		if r.Cwd != dir || r.Err != "" || r.Truncated {
			t.Errorf("record for %s: got cwd %q, err %q, truncated %v; want %q, none, false", st.name, r.Cwd, r.Err, r.Truncated, dir)
		}
		got = append(got, r)
	}
	if i != len(recs) {
		t.Errorf("records: got %d, want %d (the chain and failed PATH attempts); records:%s", len(recs), i, summary(recs))
	}

	if got[0].Ppid != out.Pid || got[0].Pid == out.Pid {
		t.Errorf("sh: got pid %d ppid %d, want a child of the test child %d", got[0].Pid, got[0].Ppid, out.Pid)
	}
	for k := 1; k < len(got); k++ {
		parent, child := got[k-1], got[k]
		forked := child.Ppid == parent.Pid && child.Pid != parent.Pid
		// A shell may exec its last command in place.
		inPlace := child.Pid == parent.Pid && child.Ppid == parent.Ppid
		if !forked && !inPlace {
			t.Errorf("%s: got pid %d ppid %d, want a child of %s (pid %d) or %s itself", steps[k].name, child.Pid, child.Ppid, steps[k-1].name, parent.Pid, steps[k-1].name)
		}
	}
	for k := range got {
		if got[k].Time.IsZero() || (k > 0 && got[k].Time.Before(got[k-1].Time)) {
			t.Errorf("%s: got time %v after %v, want a time no earlier than the previous record's", steps[k].name, got[k].Time, got[max(k-1, 0)].Time)
		}
	}
}

// execEnv is what the exec cases need to know, in the child and the parent.
type execEnv struct {
	True string // real path of true
	Dir  string // the test directory
}

type execKind int

const (
	// onThread execs fail, so the child's filtered thread makes them.
	onThread execKind = iota
	// forked execs run in a process the child forks (syscall.ForkExec).
	forked
	// helper execs are execveat calls made by a helper: the test binary,
	// started by the child, doing helperJob.
	helper
)

// execResult is what the child saw of one case.
type execResult struct {
	Pid      int    // the task that called exec (a thread id for helpers)
	StartPid int    // the helper process
	Result   string // "ok" or the errno name
}

type execOutput struct {
	Pid, Ppid, Tid int
	Results        []execResult
}

// execCase is one exec the child makes and the record it must produce.
type execCase struct {
	name      string
	kind      execKind
	run       func(e execEnv) execResult // forked and onThread cases
	helperJob string
	helper    func() (any, error) // runs in the helper; returns only on failure
	result    string
	want      Exec // Syscall, Path, Argv, Truncated
	wantErr   string
}

func words(n int, w string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = w
	}
	return out
}

func execCases(e execEnv) []execCase {
	args300 := append([]string{"case-300"}, words(299, "a")...)
	args64k := append([]string{"case-64k"}, words(20, strings.Repeat("d", 4000))...)
	// 8 + 16*4000 bytes, then what is left of 64 KiB of the next one.
	want64k := append([]string{"case-64k"}, words(16, strings.Repeat("d", 4000))...)
	want64k = append(want64k, strings.Repeat("d", maxExecArgvBytes-8-16*4000))
	fork := func(path string, argv []string) func(execEnv) execResult {
		return func(execEnv) execResult { return forkWait(path, argv) }
	}
	return []execCase{
		{
			name: "a missing path is recorded and fails with ENOENT",
			kind: onThread,
			run: func(execEnv) execResult {
				return rawExecve(ptr("/nonexistent/airlock-guard-test"), argvPtr("case-missing", "x"))
			},
			result: "ENOENT",
			want:   Exec{Syscall: "execve", Path: "/nonexistent/airlock-guard-test", Argv: []string{"case-missing", "x"}},
		},
		{
			name: "a relative path is recorded as given", kind: forked,
			run:    fork("./rel-true", []string{"case-relative"}),
			result: "ok",
			want:   Exec{Syscall: "execve", Path: "./rel-true", Argv: []string{"case-relative"}},
		},
		{
			name: "256 arguments are kept", kind: forked,
			run:    func(e execEnv) execResult { return forkWait(e.True, args300[:256]) },
			result: "ok",
			want:   Exec{Syscall: "execve", Path: e.True, Argv: args300[:256]},
		},
		{
			name: "more than 256 arguments are cut", kind: forked,
			run:    func(e execEnv) execResult { return forkWait(e.True, args300) },
			result: "ok",
			want:   Exec{Syscall: "execve", Path: e.True, Argv: args300[:256], Truncated: true},
		},
		{
			name: "an argument of 4 KiB is kept", kind: forked,
			run:    func(e execEnv) execResult { return forkWait(e.True, []string{"case-4k", strings.Repeat("b", 4096)}) },
			result: "ok",
			want:   Exec{Syscall: "execve", Path: e.True, Argv: []string{"case-4k", strings.Repeat("b", 4096)}},
		},
		{
			name: "a longer argument is cut at 4 KiB", kind: forked,
			run:    func(e execEnv) execResult { return forkWait(e.True, []string{"case-5k", strings.Repeat("c", 5000)}) },
			result: "ok",
			want:   Exec{Syscall: "execve", Path: e.True, Argv: []string{"case-5k", strings.Repeat("c", 4096)}, Truncated: true},
		},
		{
			name: "argv is cut at 64 KiB in all", kind: forked,
			run:    func(e execEnv) execResult { return forkWait(e.True, args64k) },
			result: "ok",
			want:   Exec{Syscall: "execve", Path: e.True, Argv: want64k, Truncated: true},
		},
		{
			name: "a bad argv pointer is recorded with an error", kind: onThread,
			run:    func(e execEnv) execResult { return rawExecve(ptr(e.True), badAddr) },
			result: "EFAULT",
			want:   Exec{Syscall: "execve", Path: e.True}, wantErr: "argv: pointer 0: bad address",
		},
		{
			name: "a bad path pointer is recorded with an error", kind: onThread,
			run:    func(execEnv) execResult { return rawExecve(badAddr, argvPtr("case-bad-path")) },
			result: "EFAULT",
			want:   Exec{Syscall: "execve", Argv: []string{"case-bad-path"}}, wantErr: "path: bad address",
		},
		{
			name: "execveat with a bad dirfd keeps the path as given", kind: onThread,
			run: func(execEnv) execResult {
				return rawExecveat(999, ptr("rel-true"), argvPtr("case-bad-dirfd"), 0)
			},
			result: "EBADF",
			want:   Exec{Syscall: "execveat", Path: "rel-true", Argv: []string{"case-bad-dirfd"}}, wantErr: "dirfd 999: ",
		},
		{
			name: "execveat with AT_EMPTY_PATH records the descriptor's path", kind: helper,
			helperJob: "execveat-empty",
			helper: func() (any, error) {
				fd, err := unix.Open(os.Getenv(execTrueEnv), unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return nil, err
				}
				return nil, execveatNow(fd, "", unix.AT_EMPTY_PATH, "case-execveat-empty")
			},
			result: "ok",
			want:   Exec{Syscall: "execveat", Path: e.True, Argv: []string{"case-execveat-empty"}},
		},
		{
			name: "execveat joins a relative path to its directory descriptor", kind: helper,
			helperJob: "execveat-dirfd",
			helper: func() (any, error) {
				fd, err := unix.Open(filepath.Dir(os.Getenv(execTrueEnv)), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				if err != nil {
					return nil, err
				}
				return nil, execveatNow(fd, filepath.Base(os.Getenv(execTrueEnv)), 0, "case-execveat-dirfd")
			},
			result: "ok",
			want:   Exec{Syscall: "execveat", Path: e.True, Argv: []string{"case-execveat-dirfd"}},
		},
		{
			name: "execveat joins a relative path to the working directory for AT_FDCWD", kind: helper,
			helperJob: "execveat-cwd",
			helper: func() (any, error) {
				return nil, execveatNow(unix.AT_FDCWD, "rel-true", 0, "case-execveat-cwd")
			},
			result: "ok",
			want:   Exec{Syscall: "execveat", Path: e.Dir + "/rel-true", Argv: []string{"case-execveat-cwd"}},
		},
		{
			name: "execveat of a memfd records the memfd", kind: helper,
			helperJob: "execveat-memfd",
			helper: func() (any, error) {
				b, err := os.ReadFile(os.Getenv(execTrueEnv))
				if err != nil {
					return nil, err
				}
				fd, err := unix.MemfdCreate(memfdName, unix.MFD_CLOEXEC)
				if err != nil {
					return nil, err
				}
				if _, err := unix.Write(fd, b); err != nil {
					return nil, err
				}
				return nil, execveatNow(fd, "", unix.AT_EMPTY_PATH, "case-execveat-memfd")
			},
			result: "ok",
			want:   Exec{Syscall: "execveat", Path: "/memfd:" + memfdName + " (deleted)", Argv: []string{"case-execveat-memfd"}},
		},
	}
}

// ptr returns a NUL-terminated copy of s as a raw pointer for a syscall.
// The copy is kept for good, so it outlives the call.
func ptr(s string) uintptr {
	b := append([]byte(s), 0)
	keepAlive(b)
	return uintptr(unsafe.Pointer(&b[0]))
}

var (
	keepMu sync.Mutex // guards kept
	// kept holds what raw syscall arguments point to.
	kept []any
)

func keepAlive(v any) {
	keepMu.Lock()
	defer keepMu.Unlock()
	kept = append(kept, v)
}

// argvPtr returns a NULL-terminated array of pointers to copies of args.
func argvPtr(args ...string) uintptr {
	p := make([]uintptr, 0, len(args)+1)
	for _, a := range args {
		p = append(p, ptr(a))
	}
	p = append(p, 0)
	keepAlive(p)
	return uintptr(unsafe.Pointer(&p[0]))
}

// rawExecve makes an execve that is expected to fail on the calling
// thread and returns the thread and the errno name.
func rawExecve(path, argv uintptr) execResult {
	_, _, e := unix.Syscall(unix.SYS_EXECVE, path, argv, argvPtr(os.Environ()...))
	return execResult{Pid: unix.Gettid(), Result: errName(e)}
}

// rawExecveat is rawExecve for execveat.
func rawExecveat(dirfd int, path, argv uintptr, flags int) execResult {
	_, _, e := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(dirfd), path, argv, argvPtr(os.Environ()...), uintptr(flags), 0)
	return execResult{Pid: unix.Gettid(), Result: errName(e)}
}

// forkWait runs path with argv in a forked process and waits for it.
func forkWait(path string, argv []string) execResult {
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 2, 2}})
	if err != nil {
		return execResult{Result: errName(err)}
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		return execResult{Pid: pid, Result: errName(err)}
	}
	if ws.ExitStatus() != 0 {
		return execResult{Pid: pid, Result: "exit " + strconv.Itoa(ws.ExitStatus())}
	}
	return execResult{Pid: pid, Result: "ok"}
}

// execveatNow writes the calling thread's id to stdout (the record's Pid
// is the thread that calls exec) and replaces the helper with true.
func execveatNow(dirfd int, path string, flags int, argv0 string) error {
	if _, err := fmt.Fprint(os.Stdout, unix.Gettid()); err != nil {
		return err
	}
	r := rawExecveat(dirfd, ptr(path), argvPtr(argv0), flags)
	return fmt.Errorf("execveat: %s", r.Result)
}

// runHelper starts the test binary doing job, which inherits this
// thread's filter, and waits for it.
func runHelper(job string) execResult {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, serveFilterEnv+"=") && !strings.HasPrefix(kv, serveChildEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, serveChildEnv+"="+job)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	r := execResult{Result: "ok"}
	if cmd.Process != nil {
		r.StartPid = cmd.Process.Pid
	}
	if err != nil {
		r.Result = fmt.Sprintf("%v: %s", err, stderr.String())
	}
	r.Pid, _ = strconv.Atoi(string(out))
	return r
}

func execsJob() (any, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	e := execEnv{True: os.Getenv(execTrueEnv), Dir: wd}
	out := execOutput{Pid: os.Getpid(), Ppid: os.Getppid(), Tid: unix.Gettid()}
	for _, c := range execCases(e) {
		if c.kind == helper {
			out.Results = append(out.Results, runHelper(c.helperJob))
		} else {
			out.Results = append(out.Results, c.run(e))
		}
	}
	return out, nil
}

func TestExecRecords(t *testing.T) {
	requireRoot(t)
	truePath := realTrue(t)
	dir := prepareExecDir(t, truePath)
	var rec recorder
	cfg := serveConfig(dir)
	cfg.OnExec = rec.add
	stdout := runServedChild(t, "execs", dir, execFilter, cfg, execTrueEnv+"="+truePath)
	var out execOutput
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatalf("decode child output %q: %v", stdout, err)
	}
	cases := execCases(execEnv{True: truePath, Dir: dir})
	if len(out.Results) != len(cases) {
		t.Fatalf("results: got %d, want %d", len(out.Results), len(cases))
	}

	// What the records must be, in order: one per case, after the
	// helper's own start for helper cases.
	type expect struct {
		name      string
		want      Exec
		wantErr   string
		pid, ppid int
	}
	var exps []expect
	for i, c := range cases {
		res := out.Results[i]
		switch c.kind {
		case onThread:
			exps = append(exps, expect{c.name, c.want, c.wantErr, out.Tid, out.Ppid})
		case forked:
			exps = append(exps, expect{c.name, c.want, c.wantErr, res.Pid, out.Pid})
		case helper:
			start := Exec{Syscall: "execve", Path: os.Args[0], Argv: []string{os.Args[0], "-test.run=^$"}}
			exps = append(exps, expect{c.name + " (the helper's start)", start, "", res.StartPid, out.Pid})
			exps = append(exps, expect{c.name, c.want, c.wantErr, res.Pid, out.Pid})
		}
	}
	recs := rec.all()
	if len(recs) != len(exps) {
		t.Errorf("records: got %d, want %d:%s", len(recs), len(exps), summary(recs))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := out.Results[i].Result; got != c.result {
				t.Errorf("exec result: got %q, want %q", got, c.result)
			}
		})
	}
	for i, x := range exps {
		if i >= len(recs) {
			break
		}
		t.Run(x.name, func(t *testing.T) {
			g := recs[i]
			if g.Syscall != x.want.Syscall || g.Path != x.want.Path {
				t.Errorf("got %s %q, want %s %q", g.Syscall, g.Path, x.want.Syscall, x.want.Path)
			}
			if !slices.Equal(g.Argv, x.want.Argv) || g.Truncated != x.want.Truncated {
				t.Errorf("argv: got %d arguments %s, truncated %v; want %d %s, truncated %v", len(g.Argv), short(g.Argv), g.Truncated, len(x.want.Argv), short(x.want.Argv), x.want.Truncated)
			}
			if (x.wantErr == "") != (g.Err == "") || !strings.Contains(g.Err, x.wantErr) {
				t.Errorf("err: got %q, want one containing %q", g.Err, x.wantErr)
			}
			if g.Pid != x.pid || g.Ppid != x.ppid {
				t.Errorf("got pid %d ppid %d, want pid %d ppid %d", g.Pid, g.Ppid, x.pid, x.ppid)
			}
			if g.Cwd != dir {
				t.Errorf("cwd: got %q, want %q", g.Cwd, dir)
			}
			if g.Time.IsZero() || (i > 0 && g.Time.Before(recs[i-1].Time)) {
				t.Errorf("time: got %v, previous %v; want a time no earlier than the previous record's", g.Time, recs[i-1].Time)
			}
		})
	}
}

// short prints argv with long arguments abbreviated.
func short(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if len(a) > 16 {
			a = fmt.Sprintf("%s...(%d bytes)", a[:8], len(a))
		}
		out[i] = strconv.Quote(a)
	}
	if len(out) > 6 {
		out = append(out[:3], fmt.Sprintf("...(%d more)", len(out)-3))
	}
	return "[" + strings.Join(out, " ") + "]"
}

// plainJob execs true (forked), sh -c 'exit 3' and a missing path.
func plainJob() (any, error) {
	tr := os.Getenv(execTrueEnv)
	var res []string
	res = append(res, forkWait(tr, []string{"true"}).Result)
	err := exec.Command("sh", "-c", "exit 3").Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res = append(res, "exit "+strconv.Itoa(ee.ExitCode()))
	} else {
		res = append(res, errName(err))
	}
	res = append(res, rawExecve(ptr("/nonexistent/airlock-guard-test"), argvPtr("missing")).Result)
	return res, nil
}

// TestExecWithoutOnExec: with OnExec nil, exec notifications are let
// through unread; the same job with OnExec set shows they are notified.
func TestExecWithoutOnExec(t *testing.T) {
	requireRoot(t)
	truePath := realTrue(t)
	for _, tc := range []struct {
		name    string
		record  bool
		records int
	}{
		{"OnExec nil", false, 0},
		{"OnExec set", true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := prepareExecDir(t, truePath)
			var rec recorder
			cfg := serveConfig(dir)
			if tc.record {
				cfg.OnExec = rec.add
			}
			stdout := runServedChild(t, "plain", dir, execFilter, cfg, execTrueEnv+"="+truePath)
			var got []string
			if err := json.Unmarshal(stdout, &got); err != nil {
				t.Fatalf("decode child output %q: %v", stdout, err)
			}
			if want := []string{"ok", "exit 3", "ENOENT"}; !slices.Equal(got, want) {
				t.Errorf("results: got %q, want %q", got, want)
			}
			if recs := rec.all(); len(recs) != tc.records {
				t.Errorf("records: got %d, want %d:%s", len(recs), tc.records, summary(recs))
			}
		})
	}
}

// benchJob forks and execs true, waiting for each, and reports the time
// per exec.
func benchJob() (any, error) {
	n, err := strconv.Atoi(os.Getenv(benchExecEnv))
	if err != nil {
		return nil, err
	}
	tr := os.Getenv(execTrueEnv)
	start := time.Now()
	for range n {
		if r := forkWait(tr, []string{"true"}); r.Result != "ok" {
			return nil, fmt.Errorf("exec true: %s", r.Result)
		}
	}
	return time.Since(start).Nanoseconds(), nil
}

// BenchmarkExecAudit measures fork+exec+wait of true in the child, with
// exec notifications off, on but unread (OnExec nil) and recorded:
//
//	go test -run '^$' -bench ExecAudit -benchtime 2000x ./internal/guard/
func BenchmarkExecAudit(b *testing.B) {
	requireRoot(b)
	truePath := realTrue(b)
	for _, bc := range []struct {
		name   string
		notify bool
		record bool
	}{
		{"NotifyExec off", false, false},
		{"NotifyExec on, OnExec nil", true, false},
		{"NotifyExec on, recorded", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d, err := os.MkdirTemp("/var/tmp", "airlock-guard-bench-")
			if err != nil {
				b.Fatal(err)
			}
			defer os.RemoveAll(d)
			var count int
			var mu sync.Mutex // guards count
			cfg := Config{}
			if bc.record {
				cfg.OnExec = func(Exec) {
					mu.Lock()
					count++
					mu.Unlock()
				}
			}
			opts := seccomp.Options{NotifyCreate: true, NotifyExec: bc.notify}
			cpu0 := selfCPU(b)
			b.ResetTimer()
			stdout := runServedChild(b, "bench", d, opts, cfg, execTrueEnv+"="+truePath, benchExecEnv+"="+strconv.Itoa(b.N))
			b.StopTimer()
			// The supervisor's CPU time, less noisy than the wall time
			// on a busy machine (it includes starting the child).
			b.ReportMetric(float64(selfCPU(b)-cpu0)/float64(b.N), "supervisor-cpu-ns/exec")
			var ns int64
			if err := json.Unmarshal(stdout, &ns); err != nil {
				b.Fatalf("decode child output %q: %v", stdout, err)
			}
			b.ReportMetric(float64(ns)/float64(b.N), "ns/exec")
			if bc.record && count != b.N {
				b.Errorf("records: got %d, want %d", count, b.N)
			}
		})
	}
}

// selfCPU returns the CPU time this process has used, in nanoseconds.
func selfCPU(t testing.TB) int64 {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// The memory reader is tested on this process's own memory.

// pages maps n fresh pages and returns them; pages listed in holes are
// unmapped again.
func pages(t *testing.T, n int, holes ...int) []byte {
	t.Helper()
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(n*memChunk), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.MunmapPtr(p, uintptr(n*memChunk)) })
	b := unsafe.Slice((*byte)(p), n*memChunk)
	for _, h := range holes {
		if err := unix.MunmapPtr(unsafe.Pointer(&b[h*memChunk]), memChunk); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func selfMem(t *testing.T) *memReader {
	t.Helper()
	fd, err := unix.Open("/proc/self/mem", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return &memReader{fd: fd}
}

func addr(b []byte, off int) uint64 { return uint64(uintptr(unsafe.Pointer(&b[off]))) }

// putArgv writes the strings at off in b, one after another, and a NULL
// terminated pointer array to them at arrOff; it returns the array's
// address.
func putArgv(b []byte, off, arrOff int, args ...string) uint64 {
	for i, a := range args {
		binary.NativeEndian.PutUint64(b[arrOff+8*i:], addr(b, off))
		off += copy(b[off:], a)
		b[off] = 0
		off++
	}
	binary.NativeEndian.PutUint64(b[arrOff+8*len(args):], 0)
	return addr(b, arrOff)
}

func TestMemReaderString(t *testing.T) {
	if ptrSize != 8 {
		t.Skip("the layouts below are for 64-bit pointers")
	}
	cases := []struct {
		name    string
		s       string
		pos     int // offset of the string in two pages
		hole    bool
		limit   int
		want    string
		cut     bool
		wantErr error
	}{
		{name: "short", s: "hello", pos: 100, limit: 4095, want: "hello"},
		{name: "empty", s: "", pos: 100, limit: 4095, want: ""},
		{name: "across a page boundary", s: "abcdef", pos: memChunk - 3, limit: 4095, want: "abcdef"},
		{name: "ends at the last byte before an unmapped page", s: "tail", pos: memChunk - 5, hole: true, limit: 4095, want: "tail"},
		{name: "runs into an unmapped page", s: "abc", pos: memChunk - 3, hole: true, limit: 4095, wantErr: unix.EFAULT},
		{name: "exactly the limit", s: "12345", pos: 10, limit: 5, want: "12345"},
		{name: "over the limit", s: "123456", pos: 10, limit: 5, want: "12345", cut: true},
		{name: "over the limit across a page", s: strings.Repeat("x", 200), pos: memChunk - 100, limit: 150, want: strings.Repeat("x", 150), cut: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b []byte
			if c.hole {
				b = pages(t, 2, 1)
				n := copy(b[c.pos:memChunk], c.s)
				if c.pos+n < memChunk {
					b[c.pos+n] = 0
				}
			} else {
				b = pages(t, 2)
				copy(b[c.pos:], c.s)
				b[c.pos+len(c.s)] = 0
			}
			got, cut, err := selfMem(t).cstring(addr(b, c.pos), c.limit)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil && (got != c.want || cut != c.cut)) {
				t.Errorf("cstring: got %q, cut %v, err %v; want %q, %v, %v", got, cut, err, c.want, c.cut, c.wantErr)
			}
		})
	}
	t.Run("NULL", func(t *testing.T) {
		if _, _, err := selfMem(t).cstring(0, 10); !errors.Is(err, unix.EFAULT) {
			t.Errorf("cstring(NULL): got %v, want %v", err, unix.EFAULT)
		}
	})
}

func TestMemReaderArgv(t *testing.T) {
	if ptrSize != 8 {
		t.Skip("the layouts below are for 64-bit pointers")
	}
	long := strings.Repeat("L", 5000)
	k4 := strings.Repeat("k", 4096)
	cases := []struct {
		name    string
		args    []string
		want    []string
		trunc   bool
		wantErr string
	}{
		{name: "plain", args: []string{"ls", "-l", ""}, want: []string{"ls", "-l", ""}},
		{name: "empty", args: nil, want: nil},
		{name: "256 arguments", args: words(256, "a"), want: words(256, "a")},
		{name: "257 arguments", args: words(257, "a"), want: words(256, "a"), trunc: true},
		{name: "an argument of 4 KiB", args: []string{"x", k4}, want: []string{"x", k4}},
		{name: "an argument over 4 KiB", args: []string{"x", long}, want: []string{"x", long[:4096]}, trunc: true},
		{name: "exactly 64 KiB", args: words(16, k4), want: words(16, k4)},
		{name: "over 64 KiB by one argument", args: append(words(16, k4), "z"), want: words(16, k4), trunc: true},
		{name: "over 64 KiB within an argument", args: append([]string{"ab"}, words(16, k4)...), want: append(append([]string{"ab"}, words(15, k4)...), k4[:4094]), trunc: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := pages(t, 40)
			arr := putArgv(b, 3*memChunk, 3, c.args...) // an unaligned array
			got, trunc, err := selfMem(t).argv(arr)
			if err != nil || !slices.Equal(got, c.want) || trunc != c.trunc {
				t.Errorf("argv: got %d arguments %s, truncated %v, err %v; want %d %s, %v", len(got), short(got), trunc, err, len(c.want), short(c.want), c.trunc)
			}
		})
	}
	t.Run("NULL argv", func(t *testing.T) {
		got, trunc, err := selfMem(t).argv(0)
		if got != nil || trunc || err != nil {
			t.Errorf("argv(NULL): got %q, %v, %v; want none", got, trunc, err)
		}
	})
	t.Run("array runs into an unmapped page", func(t *testing.T) {
		b := pages(t, 2, 1)
		copy(b[100:], "first\x00")
		binary.NativeEndian.PutUint64(b[memChunk-8:], addr(b, 100))
		got, _, err := selfMem(t).argv(addr(b, memChunk-8))
		if want := "pointer 1: bad address"; err == nil || err.Error() != want || !slices.Equal(got, []string{"first"}) {
			t.Errorf("argv: got %q, %v; want [first], %q", got, err, want)
		}
	})
	t.Run("bad string pointer", func(t *testing.T) {
		b := pages(t, 1)
		binary.NativeEndian.PutUint64(b, badAddr)
		binary.NativeEndian.PutUint64(b[8:], 0)
		_, _, err := selfMem(t).argv(addr(b, 0))
		if want := "argument 0: bad address"; err == nil || err.Error() != want {
			t.Errorf("argv: got %v, want %q", err, want)
		}
	})
}

func TestParseStatPpid(t *testing.T) {
	cases := []struct {
		name string
		stat string
		want int
		ok   bool
	}{
		{"plain", "123 (sh) S 45 123 45 0 -1", 45, true},
		{"spaces and parentheses in the name", "123 (a) b (c) R 7 1 1", 7, true},
		{"name is only a parenthesis", "9 ()) S 8 9", 8, true},
		{"no name", "123 S 45", 0, false},
		{"truncated", "123 (sh) S", 0, false},
		{"not a number", "123 (sh) S x 1", 0, false},
		{"empty", "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStatPpid([]byte(c.stat))
			if got != c.want || (err == nil) != c.ok {
				t.Errorf("parseStatPpid(%q): got %d, %v; want %d, ok %v", c.stat, got, err, c.want, c.ok)
			}
		})
	}
	t.Run("this process", func(t *testing.T) {
		got, err := readPpid("/proc/self")
		if err != nil || got != os.Getppid() {
			t.Errorf("readPpid(/proc/self): got %d, %v; want %d", got, err, os.Getppid())
		}
	})
}

// FuzzParseStatPpid: whatever the command name holds (the kernel lets a
// task name itself with spaces, parentheses and newlines), the ppid is
// found.
func FuzzParseStatPpid(f *testing.F) {
	f.Add("sh", uint32(45))
	f.Add(") S 99 (", uint32(7))
	f.Add("a\nb) R 1", uint32(0))
	f.Fuzz(func(t *testing.T, comm string, ppid uint32) {
		line := fmt.Sprintf("4242 (%s) S %d 4242 4242 0 -1 4194560\n", comm, ppid)
		got, err := parseStatPpid([]byte(line))
		if err != nil || got != int(ppid) {
			t.Errorf("parseStatPpid(%q): got %d, %v; want %d", line, got, err, ppid)
		}
	})
}

// BenchmarkReadExec measures what recording one exec costs the receiving
// thread: reading the record of a live task (this process) through /proc.
func BenchmarkReadExec(b *testing.B) {
	n := notif{Pid: uint32(os.Getpid())}
	n.Args[0] = uint64(ptr("/usr/bin/python3"))
	n.Args[1] = uint64(argvPtr("python3", "-c", chainPython))
	for b.Loop() {
		e := readExec(&n, "execve")
		if e.Err != "" || len(e.Argv) != 3 {
			b.Fatalf("readExec: got %+v", e)
		}
	}
}

func TestExecatPath(t *testing.T) {
	dirfd, err := unix.Open("/usr", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)
	var pipe [2]int
	if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pipe[0])
	defer unix.Close(pipe[1])
	pipeName, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(pipe[0]))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		dirfd   int
		path    string
		flags   int
		cwd     string
		want    string
		wantErr bool
	}{
		{"absolute path ignores dirfd", 999, "/bin/true", 0, "/w", "/bin/true", false},
		{"relative to a directory fd", dirfd, "bin/true", 0, "/w", "/usr/bin/true", false},
		{"relative to AT_FDCWD", unix.AT_FDCWD, "./x", 0, "/w", "/w/./x", false},
		{"relative to AT_FDCWD at the root", unix.AT_FDCWD, "x", 0, "/", "/x", false},
		{"AT_EMPTY_PATH names the fd", dirfd, "", unix.AT_EMPTY_PATH, "/w", "/usr", false},
		{"AT_EMPTY_PATH with AT_FDCWD names the working directory", unix.AT_FDCWD, "", unix.AT_EMPTY_PATH, "/w", "/w", false},
		{"AT_EMPTY_PATH on a pipe names the pipe", pipe[0], "", unix.AT_EMPTY_PATH, "/w", pipeName, false},
		{"empty path without AT_EMPTY_PATH stays empty", dirfd, "", 0, "/w", "", false},
		{"closed fd", 999, "x", 0, "/w", "x", true},
		{"negative fd", -5, "x", 0, "/w", "x", true},
		{"relative to a pipe", pipe[0], "x", 0, "/w", "x", true},
		{"working directory unknown", unix.AT_FDCWD, "x", 0, "", "x", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := execatPath("/proc/self", c.dirfd, c.path, c.flags, c.cwd)
			if got != c.want || (err != nil) != c.wantErr {
				t.Errorf("execatPath(%d, %q, %#x): got %q, %v; want %q, error %v", c.dirfd, c.path, c.flags, got, err, c.want, c.wantErr)
			}
		})
	}
}

// TestExecTaskGone: when the notification is no longer pending (here: the
// "listener" knows no notification at all), the record says the exec did
// not run.
func TestExecTaskGone(t *testing.T) {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var rec recorder
	s := &server{listener: fd, onExec: rec.add}
	n := notif{ID: 1, Pid: uint32(os.Getpid())}
	n.Args[0] = uint64(ptr("/usr/bin/true"))
	n.Args[1] = uint64(argvPtr("true", "x"))
	s.exec(&n, "execve")
	recs := rec.all()
	if len(recs) != 1 {
		t.Fatalf("records: got %d, want 1", len(recs))
	}
	if g := recs[0]; !strings.Contains(g.Err, "it did not run") || g.Path != "/usr/bin/true" || !slices.Equal(g.Argv, []string{"true", "x"}) {
		t.Errorf("record: got %+v, want /usr/bin/true [true x] with an error saying it did not run", g)
	}
}
