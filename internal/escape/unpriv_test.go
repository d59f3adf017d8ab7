package escape

// The unprivileged half of the process suite: airlock run by uid 65534
// (nobody), the way most developers run it, without root on the host.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

const pkNobody = 65534

// pkUnpriv is a home and workspace owned by nobody, and how to run
// commands as nobody in it.
type pkUnpriv struct {
	home, work string
	cred       *syscall.Credential
}

func newUnpriv(t *testing.T) *pkUnpriv {
	t.Helper()
	requireRoot(t)
	home := pkDir(t, "nobody")
	work := filepath.Join(home, "project")
	if err := os.MkdirAll(filepath.Join(work, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{home, work, filepath.Join(work, "sub"), filepath.Join(work, "README.md")} {
		if err := os.Lchown(p, pkNobody, pkNobody); err != nil {
			t.Fatal(err)
		}
	}
	return &pkUnpriv{
		home: home, work: work,
		cred: &syscall.Credential{Uid: pkNobody, Gid: pkNobody, Groups: []uint32{}},
	}
}

func (u *pkUnpriv) env() []string {
	return []string{"HOME=" + u.home, "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG=C.UTF-8"}
}

// sandbox runs argv inside `airlock run FLAGS` as nobody.
func (u *pkUnpriv) sandbox(t *testing.T, flags []string, argv ...string) result {
	t.Helper()
	return pkRun(t, pkCmd{
		Argv: pkAirlock(flags, argv...), Dir: u.work, Env: u.env(),
		Attr: &syscall.SysProcAttr{Credential: u.cred, Setpgid: true},
	})
}

// outside runs script on the host as nobody: the control.
func (u *pkUnpriv) outside(t *testing.T, script string) result {
	t.Helper()
	return pkRun(t, pkCmd{
		Argv: []string{"/bin/sh", "-c", script}, Dir: u.work, Env: u.env(),
		Attr: &syscall.SysProcAttr{Credential: u.cred},
	})
}

// TestUnpriv: as an unprivileged user the posture, the namespace and
// signal isolation, the exit statuses and --timeout hold the same.
func TestUnpriv(t *testing.T) {
	u := newUnpriv(t)
	before := treeHash(t, u.home)

	t.Run("identity", func(t *testing.T) {
		r := u.sandbox(t, nil, "/bin/sh", "-c", "id -u; id -g")
		if r.Code != 0 || r.Stdout != "65534\n65534\n" {
			t.Errorf("got %v, want uid and gid 65534", r)
		}
	})
	t.Run("posture", func(t *testing.T) {
		r := u.sandbox(t, nil, "/bin/sh", "-c", pkPosture)
		if r.Code != 0 {
			t.Fatalf("got %v, want exit 0", r)
		}
		tasks, pids := pkParsePosture(t, r.Stdout)
		pkCheckConfined(t, tasks, pids)
	})
	t.Run("control-posture-host", func(t *testing.T) {
		r := u.outside(t, pkPosture)
		if r.Code != 0 {
			t.Fatalf("got %v, want exit 0", r)
		}
		tasks, pids := pkParsePosture(t, r.Stdout)
		self := fmt.Sprintf("/proc/%s/task/%s/status", pids["self"], pids["self"])
		i := slices.IndexFunc(tasks, func(task pkTask) bool { return task.Path == self })
		if i < 0 {
			t.Fatalf("reader did not see its own task %s", self)
		}
		// nobody has no effective capabilities on the host either, but a
		// full bounding set, and neither no_new_privs nor a filter.
		got := tasks[i].Fields
		if got["CapBnd"] == pkNoCaps || got["NoNewPrivs"] != "0" || got["Seccomp"] != "0" {
			t.Errorf("host shell as nobody: got %v, want non-zero CapBnd, NoNewPrivs 0, Seccomp 0", got)
		}
	})

	t.Run("nested-userns", func(t *testing.T) {
		for _, script := range []string{"unshare -U true", "unshare -r id -u"} {
			r := u.sandbox(t, nil, "/bin/sh", "-c", script)
			if r.Code != 1 || r.Stdout != "" {
				t.Errorf("%s inside: got %v, want exit 1", script, r)
			}
			mustContain(t, script+" stderr", r.Stderr, "unshare: unshare failed: Operation not permitted")
			if c := u.outside(t, script); c.Code != 0 {
				t.Errorf("%s control on the host as nobody: got %v, want exit 0", script, c)
			}
		}
	})

	t.Run("host-signals", func(t *testing.T) {
		host := pkSleeper(t, u.cred)
		hostNS, err := os.Readlink("/proc/self/ns/pid")
		if err != nil {
			t.Fatal(err)
		}
		hp := strconv.Itoa(host.pid())
		guard := fmt.Sprintf(`[ "$(readlink /proc/self/ns/pid)" != %q ] || { echo "SAME PID NAMESPACE AS THE HOST"; exit 99; }; `, hostNS)
		for _, tc := range []struct{ name, script, want string }{
			{"kill-9-host-pid", "kill -9 " + hp + "; echo status=$?", "status=1\n"},
			{"kill-TERM-host-group", "kill -TERM -" + hp + "; echo status=$?", "status=1\n"},
			{"kill-KILL-minus-1", guard + "sleep 50 & s=$!; kill -KILL -1; echo status=$?; wait $s; echo sibling=$?", "status=0\nsibling=137\n"},
		} {
			r := u.sandbox(t, nil, "/bin/sh", "-c", tc.script)
			if r.Code != 0 || r.Stdout != tc.want {
				t.Errorf("%s: got %v, want stdout %q", tc.name, r, tc.want)
			}
			if !host.alive() {
				t.Fatalf("%s: host sleeper %d of nobody: got killed, want running", tc.name, host.pid())
			}
		}
		ctrl := pkSleeper(t, u.cred)
		if r := u.outside(t, fmt.Sprintf("kill -9 %d; echo status=$?", ctrl.pid())); r.Stdout != "status=0\n" {
			t.Errorf("control on the host as nobody: got %v, want status=0", r)
		}
		if code, ok := ctrl.exited(5 * time.Second); !ok || code != 137 {
			t.Errorf("control sleeper: got exited=%v status %d, want killed by SIGKILL (137)", ok, code)
		}
	})

	t.Run("exit-status", func(t *testing.T) {
		for _, tc := range []struct {
			script string
			want   int
		}{
			{"exit 7", 7},
			{"kill -TERM $$", 143},
			{"exec /nonexistent-airlock", 127},
		} {
			if r := u.sandbox(t, nil, "/bin/sh", "-c", tc.script); r.Code != tc.want {
				t.Errorf("%q inside: got %v, want exit %d", tc.script, r, tc.want)
			}
			if r := u.outside(t, tc.script); r.Code != tc.want {
				t.Errorf("%q control on the host: got %v, want exit %d", tc.script, r, tc.want)
			}
		}
	})

	t.Run("timeout", func(t *testing.T) {
		marker := pkMarker()
		t.Cleanup(func() { pkKillMarked(marker) })
		start := time.Now()
		r := u.sandbox(t, []string{"--timeout", "1s"}, "sleep", marker)
		took := time.Since(start)
		if r.Code != 124 {
			t.Errorf("got %v, want exit 124", r)
		}
		mustContain(t, "stderr", r.Stderr, "airlock: error: command stopped: the time limit was reached (--timeout 1s)")
		if took > 5*time.Second {
			t.Errorf("took %v, want under 5s", took)
		}
		if left := pkSleepPids(marker); len(left) != 0 {
			t.Errorf("host: got sleep %v still running, want none", left)
		}
	})

	t.Run("workspace-write-owner", func(t *testing.T) {
		// Control for the side-effect checks: a write does land, as nobody.
		r := u.sandbox(t, nil, "/bin/sh", "-c", "echo data > sub/out.txt")
		if r.Code != 0 {
			t.Fatalf("got %v, want exit 0", r)
		}
		fi, err := os.Stat(filepath.Join(u.work, "sub", "out.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != pkNobody {
			t.Errorf("host owner of the written file: got uid %d, want %d", st.Uid, pkNobody)
		}
		if err := os.Remove(filepath.Join(u.work, "sub", "out.txt")); err != nil {
			t.Fatal(err)
		}
	})

	if after := treeHash(t, u.home); after != before {
		t.Errorf("home of nobody changed on the host: got tree hash %s, want %s", after, before)
	}
}
