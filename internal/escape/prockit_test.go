package escape

// Helpers shared by the process, resources and unprivileged suites
// (proc_test.go, resources_test.go, unpriv_test.go). Names start with pk so
// they cannot collide with the helpers of the other suites in this package.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// pkCmd is one command of these suites: runCmd's inputs plus process
// attributes (process group, credentials) and an optional held-open stdin.
type pkCmd struct {
	Argv []string
	Dir  string
	Env  []string
	Attr *syscall.SysProcAttr
	// HoldStdin gives the command a pipe as stdin that stays open until it
	// exits. script(1) writes an end-of-file character into its pty when
	// its own stdin ends, which would disturb the terminal tests.
	HoldStdin bool
}

func (c pkCmd) build(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	cmd.SysProcAttr = c.Attr
	return cmd
}

// exitCode turns Wait's error into the shell convention: the exit status,
// or 128+N when the process was killed by signal N.
func exitCode(err error) (int, error) {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	default:
		return 0, err
	}
}

// pkRun runs c to completion, bounded by runTimeout.
func pkRun(t *testing.T, c pkCmd) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := c.build(ctx)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	var stdinW *os.File
	if c.HoldStdin {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		cmd.Stdin, stdinW = r, w
	}
	err := cmd.Run()
	if stdinW != nil {
		stdinW.Close()
	}
	if ctx.Err() != nil {
		t.Fatalf("%v: timed out after %v", c.Argv, runTimeout)
	}
	code, err := exitCode(err)
	if err != nil {
		t.Fatalf("%v: %v", c.Argv, err)
	}
	return result{Code: code, Stdout: out.String(), Stderr: errb.String()}
}

// pkAirlock is the argv of `airlock run FLAGS -- ARGV...`.
func pkAirlock(flags []string, argv ...string) []string {
	out := append([]string{airlockBin, "run"}, flags...)
	out = append(out, "--")
	return append(out, argv...)
}

// pkSandboxArgv runs argv directly (no shell) inside the sandbox, in the
// fixture's workspace, with env added to the fixture's environment.
func pkSandboxArgv(t *testing.T, f *fixture, env, flags []string, argv ...string) result {
	t.Helper()
	return pkRun(t, pkCmd{Argv: pkAirlock(flags, argv...), Dir: f.Work, Env: f.env(env...)})
}

// pkProc is a process started in the background.
type pkProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once Wait has returned
	err  error         // Wait's result; read it only after done is closed
}

// pkStart starts c in the background. A cleanup kills it (its whole process
// group when it leads one) and reaps it.
func pkStart(t *testing.T, c pkCmd) *pkProc {
	t.Helper()
	cmd := c.build(context.Background())
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", c.Argv, err)
	}
	p := &pkProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		pid := cmd.Process.Pid
		if c.Attr != nil && c.Attr.Setpgid && c.Attr.Pgid == 0 {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		<-p.done
	})
	return p
}

func (p *pkProc) pid() int { return p.cmd.Process.Pid }

// alive reports whether the process is still running (not exited, not a
// zombie waiting to be reaped).
func (p *pkProc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
	}
	return pkRunning(p.pid())
}

// exited waits up to d for the process to end and returns its status in
// the shell convention.
func (p *pkProc) exited(d time.Duration) (code int, ok bool) {
	select {
	case <-p.done:
		code, err := exitCode(p.err)
		return code, err == nil
	case <-time.After(d):
		return 0, false
	}
}

// signaled reports whether the process, once ended, was killed by a
// signal rather than exiting.
func (p *pkProc) signaled() bool {
	<-p.done
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		ws, ok := ee.Sys().(syscall.WaitStatus)
		return ok && ws.Signaled()
	}
	return false
}

// pkSleeper starts `sleep 60` on the host as the leader of its own process
// group, optionally with other credentials.
func pkSleeper(t *testing.T, cred *syscall.Credential) *pkProc {
	t.Helper()
	return pkStart(t, pkCmd{
		Argv: []string{"/bin/sleep", "60"},
		Env:  []string{"PATH=/usr/bin:/bin"},
		Attr: &syscall.SysProcAttr{Setpgid: true, Credential: cred},
	})
}

// pkRunning reports whether pid exists on the host and is not a zombie.
func pkRunning(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

var pkSeq atomic.Int64

// pkMarker returns a sleep duration, unique on this host, that marks the
// processes of one test: `sleep 300.<pid><n>`.
func pkMarker() string {
	return fmt.Sprintf("300.%d%04d", os.Getpid(), pkSeq.Add(1))
}

// pkSleepPids returns the host pids of running `sleep MARKER` processes.
func pkSleepPids(marker string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		if len(args) == 2 && filepath.Base(args[0]) == "sleep" && args[1] == marker && pkRunning(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// pkKillMarked kills every `sleep MARKER` process on the host; controls
// register it as a cleanup.
func pkKillMarked(marker string) {
	for _, pid := range pkSleepPids(marker) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// pkPoll checks cond every 20ms until it holds or d has passed.
func pkPoll(d time.Duration, cond func() bool) bool {
	return pkPollEvery(d, 20*time.Millisecond, cond)
}

// pkPollEvery checks cond every interval (0: without pause) until it holds
// or d has passed.
func pkPollEvery(d, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}

// pkDir makes a directory under /var/tmp (visible inside the sandbox,
// read-only) that lives for the test.
func pkDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp(baseDir, "airlock-escape-"+prefix+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// pkNoSeccomp is the environment entry that makes airlock run with the
// seccomp layer switched off and every other layer on: the control that
// shows seccomp is what refuses a syscall. Airlock warns loudly when it is
// set; it is for tests only.
const pkNoSeccomp = "AIRLOCK_UNSAFE_DISABLE=seccomp"

// pkRows parses "NAME VALUE" lines into a map. Lines without a space are
// ignored; a later line with the same name wins.
func pkRows(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		name, val, ok := strings.Cut(strings.TrimRight(l, "\r"), " ")
		if ok {
			m[name] = val
		}
	}
	return m
}

// pkMountinfo returns the host's mount table as seen by this process; the
// namespace and mount-API cases compare it before and after.
func pkMountinfo(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pkPosture is a reader of the security posture of every task visible in
// /proc: one "TASK <status path> Name=.. NoNewPrivs=.. Seccomp=.. CapInh=..
// ..." line each. It first starts a sleep and a python3 with three extra
// threads, so the sandbox holds more than the shell and init, and ends
// with a "PIDS self=.. py=.. sleep=.." line.
const pkPosture = `
sleep 30 >/dev/null 2>&1 &
s=$!
python3 -c 'import threading
ev = threading.Event()
for _ in range(3):
    threading.Thread(target=ev.wait, args=(30,)).start()
ev.wait(30)' >/dev/null 2>&1 &
p=$!
i=0
while [ "$(ls /proc/$p/task 2>/dev/null | wc -l)" -lt 4 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
for f in /proc/[0-9]*/task/[0-9]*/status; do
  awk -v f="$f" '/^(Name|NoNewPrivs|Seccomp|CapInh|CapPrm|CapEff|CapBnd|CapAmb):/ {n++; v = v " " substr($1, 1, length($1)-1) "=" $2} END {if (n) print "TASK " f v}' "$f" 2>/dev/null
done
echo "PIDS self=$$ py=$p sleep=$s"
kill $s $p
`

// pkTask is one task's posture from pkPosture.
type pkTask struct {
	Path   string            // /proc/PID/task/TID/status
	Fields map[string]string // Name, NoNewPrivs, Seccomp, Cap*
}

// pkParsePosture returns the tasks and the PIDS line's values.
func pkParsePosture(t *testing.T, out string) ([]pkTask, map[string]string) {
	t.Helper()
	var tasks []pkTask
	pids := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "TASK":
			task := pkTask{Path: f[1], Fields: map[string]string{}}
			for _, kv := range f[2:] {
				k, v, _ := strings.Cut(kv, "=")
				task.Fields[k] = v
			}
			tasks = append(tasks, task)
		case "PIDS":
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				pids[k] = v
			}
		}
	}
	if len(pids) != 3 {
		t.Fatalf("posture reader: no PIDS line in %q", out)
	}
	return tasks, pids
}

// pkCapSets are the capability sets every task inside must have empty.
var pkCapSets = []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}

const pkNoCaps = "0000000000000000"

// pkCheckConfined fails unless every task has no_new_privs, a seccomp
// filter and empty capability sets, and the tasks include init (PID 1),
// the sleep and all four threads of the python3.
func pkCheckConfined(t *testing.T, tasks []pkTask, pids map[string]string) {
	t.Helper()
	t.Logf("checked %d tasks", len(tasks))
	perPid := map[string]int{}
	for _, task := range tasks {
		pid := strings.Split(task.Path, "/")[2]
		perPid[pid]++
		want := map[string]string{"NoNewPrivs": "1", "Seccomp": "2"}
		for _, c := range pkCapSets {
			want[c] = pkNoCaps
		}
		for k, w := range want {
			if got := task.Fields[k]; got != w {
				t.Errorf("%s (%s): got %s=%q, want %q", task.Path, task.Fields["Name"], k, got, w)
			}
		}
	}
	for what, min := range map[string]int{"1": 1, pids["py"]: 4, pids["sleep"]: 1, pids["self"]: 1} {
		if perPid[what] < min {
			t.Errorf("tasks of pid %s: got %d, want at least %d (reader saw %d tasks)", what, perPid[what], min, len(tasks))
		}
	}
}
