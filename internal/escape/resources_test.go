package escape

// The resources half of the escape suite: process, memory, descriptor,
// file-size and time limits, processes left behind, and how the command's
// end is reported.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pkArgPids returns the host pids of running processes with an argument
// equal to marker.
func pkArgPids(marker string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && slices.Contains(strings.Split(string(b), "\x00"), marker) && pkRunning(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestResForkBomb: a fork bomb under --pids ends with the sandbox and
// leaves nothing behind on the host.
func TestResForkBomb(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	f := newFixture(t)
	// $0 of the bomb and every copy of it: how the host finds them.
	marker := "airlock-bomb-" + pkMarker()
	t.Cleanup(func() {
		for _, pid := range pkArgPids(marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	start := time.Now()
	r := pkRun(t, pkCmd{
		Argv: pkAirlock([]string{"--pids", "64", "--timeout", "20s"}, "/bin/sh", "-c", "b() { b | b & }; b; sleep 3", marker),
		Dir:  f.Work, Env: f.env(),
	})
	took := time.Since(start)
	const pidsLine = "airlock: error: command hit the process limit (--pids 64)"
	const timeLine = "airlock: error: command stopped: the time limit was reached (--timeout 20s)"
	switch {
	case strings.Contains(r.Stderr, pidsLine):
	case strings.Contains(r.Stderr, timeLine) && r.Code == 124:
	default:
		t.Errorf("got %v, want stderr naming the pids limit (%q) or the timeout", r, pidsLine)
	}
	mustContain(t, "stderr", r.Stderr, "Cannot fork")
	if took > 25*time.Second {
		t.Errorf("sandbox ended after %v, want at most the 20s timeout", took)
	}
	if left := pkArgPids(marker); len(left) != 0 {
		t.Errorf("host: got bomb processes %v left after airlock returned, want none", left)
	}
	if out, err := exec.Command("/bin/sh", "-c", "echo fine").Output(); err != nil || string(out) != "fine\n" {
		t.Errorf("host fork after the bomb: got %q, %v; want fine", out, err)
	}
}

// TestResPids: --pids is what stops the command from forking: 100
// background sleeps fail part way under --pids 64 and all start under a
// larger limit.
func TestResPids(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	const script = `i=0; while [ $i -lt 100 ]; do sleep 5 & i=$((i+1)); echo started=$i; done; echo all`
	t.Run("pids-64", func(t *testing.T) {
		r := f.sandbox(t, []string{"--pids", "64"}, script)
		mustNotContain(t, "stdout", r.Stdout, "all\n")
		mustNotContain(t, "stdout", r.Stdout, "started=64\n")
		mustContain(t, "stdout", r.Stdout, "started=1\n")
		mustContain(t, "stderr", r.Stderr, "Cannot fork")
		mustContain(t, "stderr", r.Stderr, "airlock: error: command hit the process limit (--pids 64): fork failed")
	})
	t.Run("control-pids-512", func(t *testing.T) {
		r := f.sandbox(t, []string{"--pids", "512"}, script)
		if r.Code != 0 || !strings.HasSuffix(r.Stdout, "started=100\nall\n") {
			t.Errorf("got %v, want exit 0 and all 100 started", r)
		}
	})
}

// TestResMemory: a command that outgrows --memory is killed and the user
// is told why.
func TestResMemory(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	f := newFixture(t)
	// 512 MiB, every page touched.
	hog := pyScript(`
import mmap
m = mmap.mmap(-1, 512 << 20)
for i in range(0, 512 << 20, 4096):
    m[i] = 1
print("allocated")
`)
	t.Run("memory-64M", func(t *testing.T) {
		r := f.sandbox(t, []string{"--memory", "64M"}, hog)
		if r.Code != 137 || r.Stdout != "" {
			t.Errorf("got %v, want exit 137 and no output", r)
		}
		mustContain(t, "stderr", r.Stderr, "airlock: error: command killed: the memory limit was reached")
	})
	t.Run("control-no-limit", func(t *testing.T) {
		r := f.sandbox(t, nil, hog)
		if r.Code != 0 || r.Stdout != "allocated\n" {
			t.Errorf("got %v, want exit 0 and allocated", r)
		}
	})
}

// TestResOpenFiles: --max-open-files bounds the descriptors a process
// holds.
func TestResOpenFiles(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	script := pyScript(`
fs = []
try:
    for _ in range(200):
        fs.append(open("/dev/null"))
    print("opened", len(fs), "ok")
except OSError as ex:
    print("opened", len(fs), os.strerror(ex.errno))
`)
	t.Run("max-open-files-64", func(t *testing.T) {
		r := f.sandbox(t, []string{"--max-open-files", "64"}, script)
		var n int
		var msg string
		if _, err := fmt.Sscanf(r.Stdout, "opened %d", &n); err != nil || r.Code != 0 {
			t.Fatalf("got %v, want an opened line", r)
		}
		_, msg, _ = strings.Cut(strings.TrimSpace(r.Stdout), fmt.Sprintf("opened %d ", n))
		if n >= 64 || msg != "Too many open files" {
			t.Errorf("got %d opened, then %q; want fewer than 64, then %q", n, msg, "Too many open files")
		}
	})
	t.Run("control-no-limit", func(t *testing.T) {
		r := f.sandbox(t, nil, script)
		if r.Code != 0 || r.Stdout != "opened 200 ok\n" {
			t.Errorf("got %v, want opened 200 ok", r)
		}
	})
}

// TestResFileSize: --max-file-size bounds what lands on the host's disk.
// Python ignores SIGXFSZ and sees EFBIG; a plain program is killed by
// SIGXFSZ (128+25).
func TestResFileSize(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	const twoMiB = 2 << 20
	pyWrite := func(name string) string {
		return pyScript(fmt.Sprintf(`
try:
    with open(%q, "wb") as f:
        f.write(b"x" * %d)
    print("wrote")
except OSError as ex:
    print(os.strerror(ex.errno))
`, name, twoMiB))
	}
	size := func(t *testing.T, name string) int64 {
		t.Helper()
		fi, err := os.Stat(filepath.Join(f.Work, name))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	t.Run("python", func(t *testing.T) {
		r := f.sandbox(t, []string{"--max-file-size", "1M"}, pyWrite("big.py.bin"))
		if r.Code != 0 || r.Stdout != "File too large\n" {
			t.Errorf("got %v, want File too large", r)
		}
		if got := size(t, "big.py.bin"); got != 1<<20 {
			t.Errorf("host file: got %d bytes, want %d", got, 1<<20)
		}
	})
	t.Run("head", func(t *testing.T) {
		r := f.sandbox(t, []string{"--max-file-size", "1M"}, fmt.Sprintf("head -c %d /dev/zero > big.head.bin; echo status=$?", twoMiB))
		if r.Code != 0 || r.Stdout != "status=153\n" {
			t.Errorf("got %v, want status=153 (SIGXFSZ)", r)
		}
		if got := size(t, "big.head.bin"); got != 1<<20 {
			t.Errorf("host file: got %d bytes, want %d", got, 1<<20)
		}
	})
	t.Run("control-no-limit", func(t *testing.T) {
		r := f.sandbox(t, nil, pyWrite("big.ctrl.bin"))
		if r.Code != 0 || r.Stdout != "wrote\n" {
			t.Errorf("got %v, want wrote", r)
		}
		if got := size(t, "big.ctrl.bin"); got != twoMiB {
			t.Errorf("host file: got %d bytes, want %d", got, twoMiB)
		}
	})
}

// TestResTimeout: --timeout stops the command, with status 124 and a line
// saying so, and nothing outlives it.
func TestResTimeout(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	f := newFixture(t)
	t.Run("timeout-1s", func(t *testing.T) {
		marker := pkMarker()
		t.Cleanup(func() { pkKillMarked(marker) })
		start := time.Now()
		r := pkSandboxArgv(t, f, nil, []string{"--timeout", "1s"}, "sleep", marker)
		took := time.Since(start)
		if r.Code != 124 || r.Stdout != "" {
			t.Errorf("got %v, want exit 124", r)
		}
		mustContain(t, "stderr", r.Stderr, "airlock: error: command stopped: the time limit was reached (--timeout 1s)")
		if took < time.Second || took > 5*time.Second {
			t.Errorf("took %v, want between 1s and 5s", took)
		}
		if left := pkSleepPids(marker); len(left) != 0 {
			t.Errorf("host: got sleep %v still running, want none", left)
		}
	})
	t.Run("control-in-time", func(t *testing.T) {
		r := pkSandboxArgv(t, f, nil, []string{"--timeout", "10s"}, "sleep", "0.2")
		if r.Code != 0 {
			t.Errorf("got %v, want exit 0", r)
		}
		mustNotContain(t, "stderr", r.Stderr, "time limit")
	})
}

// TestResOrphans: processes the command leaves behind, even in a new
// session, end with the sandbox; so do they when the supervisor is killed.
func TestResOrphans(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	f := newFixture(t)
	orphan := func(marker string) string {
		return fmt.Sprintf(`setsid sleep %s </dev/null >/dev/null 2>&1 &
p=$!
i=0
until [ "$(cat /proc/$p/comm 2>/dev/null)" = sleep ] || [ $i -ge 250 ]; do sleep 0.02; i=$((i+1)); done
echo started=$(cat /proc/$p/comm)`, marker)
	}

	t.Run("after-exit", func(t *testing.T) {
		marker := pkMarker()
		t.Cleanup(func() { pkKillMarked(marker) })
		r := f.sandbox(t, nil, orphan(marker))
		if r.Code != 0 || r.Stdout != "started=sleep\n" {
			t.Fatalf("got %v, want exit 0 and started=sleep", r)
		}
		if left := pkSleepPids(marker); len(left) != 0 {
			t.Errorf("host right after airlock returned: got orphan %v, want none", left)
		}
	})
	t.Run("control-after-exit", func(t *testing.T) {
		marker := pkMarker()
		t.Cleanup(func() { pkKillMarked(marker) })
		r := f.outside(t, orphan(marker))
		if r.Code != 0 || r.Stdout != "started=sleep\n" {
			t.Fatalf("got %v, want exit 0 and started=sleep", r)
		}
		if left := pkSleepPids(marker); len(left) != 1 {
			t.Errorf("host: got orphans %v, want the one the control left", left)
		}
	})

	t.Run("supervisor-killed", func(t *testing.T) {
		marker := pkMarker()
		t.Cleanup(func() { pkKillMarked(marker) })
		sup := pkStart(t, pkCmd{Argv: pkAirlock(nil, "sleep", marker), Dir: f.Work, Env: f.env()})
		if !pkPoll(10*time.Second, func() bool { return len(pkSleepPids(marker)) == 1 }) {
			t.Fatalf("marked sleep never started inside")
		}
		if err := syscall.Kill(sup.pid(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if !pkPoll(3*time.Second, func() bool { return len(pkSleepPids(marker)) == 0 }) {
			t.Errorf("host 3s after SIGKILL of the supervisor: got %v still running, want none", pkSleepPids(marker))
		}
	})
	t.Run("control-parent-killed", func(t *testing.T) {
		marker := pkMarker()
		t.Cleanup(func() { pkKillMarked(marker) })
		parent := pkStart(t, pkCmd{Argv: []string{"/bin/sh", "-c", "sleep " + marker + "; true"}, Env: f.env()})
		if !pkPoll(10*time.Second, func() bool { return len(pkSleepPids(marker)) == 1 }) {
			t.Fatalf("marked sleep never started")
		}
		if err := syscall.Kill(parent.pid(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if _, ok := parent.exited(5 * time.Second); !ok {
			t.Fatal("parent did not die")
		}
		if left := pkSleepPids(marker); len(left) != 1 {
			t.Errorf("host after SIGKILL of the parent: got %v, want the orphaned sleep", left)
		}
	})
}

// TestResExitStatus: the command's own status comes back, and 128+N when
// a signal killed it; the same as the shell reports on the host.
func TestResExitStatus(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	if err := os.WriteFile(filepath.Join(f.Work, "notexec"), []byte("echo ran\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, script string
		want         int
	}{
		{"exit-7", "exit 7", 7},
		{"SIGTERM", "kill -TERM $$", 143},
		{"SIGKILL", "kill -KILL $$", 137},
		{"SIGSEGV", "kill -SEGV $$", 139},
		{"not-found", "exec /nonexistent-airlock", 127},
		{"not-executable", "exec ./notexec", 126},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := f.sandbox(t, nil, tc.script); r.Code != tc.want {
				t.Errorf("inside: got %v, want exit %d", r, tc.want)
			}
			if r := f.outside(t, tc.script); r.Code != tc.want {
				t.Errorf("control on the host: got %v, want exit %d", r, tc.want)
			}
		})
	}
}

// TestResSignalForwarding: a signal to the airlock process reaches the
// command promptly, and the command's death by it is the status.
func TestResSignalForwarding(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		want int
	}{
		{"SIGINT", syscall.SIGINT, 130},
		{"SIGTERM", syscall.SIGTERM, 143},
		{"SIGHUP", syscall.SIGHUP, 129},
	} {
		t.Run(tc.name, func(t *testing.T) {
			marker := pkMarker()
			t.Cleanup(func() { pkKillMarked(marker) })
			sup := pkStart(t, pkCmd{Argv: pkAirlock(nil, "sleep", marker), Dir: f.Work, Env: f.env()})
			if !pkPoll(10*time.Second, func() bool { return len(pkSleepPids(marker)) == 1 }) {
				t.Fatalf("marked sleep never started inside")
			}
			start := time.Now()
			if err := syscall.Kill(sup.pid(), tc.sig); err != nil {
				t.Fatal(err)
			}
			code, ok := sup.exited(3 * time.Second)
			if !ok || code != tc.want {
				t.Errorf("got exited=%v status %d after %v, want %d within 3s", ok, code, time.Since(start), tc.want)
			}
			if left := pkSleepPids(marker); len(left) != 0 {
				t.Errorf("host: got sleep %v still running, want none", left)
			}
		})
	}
	t.Run("right-after-start", func(t *testing.T) {
		// The signal lands the moment the command is visible on the host:
		// the supervisor and init must already forward it then.
		const runs = 20
		bad := map[string]int{}
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
			want := 128 + int(sig)
			for range runs {
				marker := pkMarker()
				t.Cleanup(func() { pkKillMarked(marker) })
				sup := pkStart(t, pkCmd{Argv: pkAirlock(nil, "sleep", marker), Dir: f.Work, Env: f.env()})
				if !pkPollEvery(10*time.Second, 0, func() bool { return len(pkSleepPids(marker)) == 1 }) {
					t.Fatalf("marked sleep never started inside")
				}
				if err := syscall.Kill(sup.pid(), sig); err != nil {
					t.Fatal(err)
				}
				code, ok := sup.exited(3 * time.Second)
				switch {
				case !ok:
					bad[fmt.Sprintf("%v: not ended within 3s", sig)]++
				case code != want:
					bad[fmt.Sprintf("%v: exit %d, want %d", sig, code, want)]++
				case sup.signaled():
					// The status looks right, but airlock itself died of
					// the signal: the command was killed with the
					// sandbox instead of being sent the signal.
					bad[fmt.Sprintf("%v: airlock killed by it", sig)]++
				}
			}
		}
		if len(bad) > 0 {
			t.Errorf("got %v in %d runs per signal, want airlock to forward the signal and exit 128+N every time", bad, runs)
		}
	})
	t.Run("control-host", func(t *testing.T) {
		marker := pkMarker()
		t.Cleanup(func() { pkKillMarked(marker) })
		p := pkStart(t, pkCmd{Argv: []string{"/bin/sleep", marker}})
		if !pkPoll(10*time.Second, func() bool { return len(pkSleepPids(marker)) == 1 }) {
			t.Fatalf("marked sleep never started")
		}
		if err := syscall.Kill(p.pid(), syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		if code, ok := p.exited(5 * time.Second); !ok || code != 130 {
			t.Errorf("got exited=%v status %d, want 130", ok, code)
		}
	})
}
