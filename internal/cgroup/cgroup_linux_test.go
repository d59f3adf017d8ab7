package cgroup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary doubles as the workload of the real tests: with
// helperEnv set it runs a helper instead of the tests.
const (
	helperEnv    = "AIRLOCK_CGROUP_TEST_HELPER"
	helperArgEnv = "AIRLOCK_CGROUP_TEST_ARG"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "alloc":
		helperAlloc()
	case "spin":
		helperSpin()
	default:
		os.Exit(3)
	}
}

// waitForGo blocks until the test has put the helper into its group.
func waitForGo() {
	var b [1]byte
	if _, err := os.Stdin.Read(b[:]); err != nil {
		os.Exit(4)
	}
}

// helperAlloc allocates and touches the number of MiB in helperArgEnv.
func helperAlloc() {
	mib, err := strconv.Atoi(os.Getenv(helperArgEnv))
	if err != nil {
		os.Exit(5)
	}
	waitForGo()
	var keep [][]byte
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
	fmt.Printf("allocated %d MiB\n", len(keep))
	os.Exit(0)
}

// helperSpin burns CPU for the number of milliseconds of wall time in
// helperArgEnv.
func helperSpin() {
	ms, err := strconv.Atoi(os.Getenv(helperArgEnv))
	if err != nil {
		os.Exit(5)
	}
	waitForGo()
	deadline := time.Now().Add(time.Duration(ms) * time.Millisecond)
	n := 0
	for time.Now().Before(deadline) {
		n++
	}
	fmt.Println(n > 0)
	os.Exit(0)
}

// fakeFS builds a fake cgroup file system under a temp dir: files maps
// paths (relative to the root) to contents; a path ending in "/" is a
// directory.
func fakeFS(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	mountinfoV2 = "25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"

	mountinfoHybrid = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	// A v1 container: every hierarchy shows the container's cgroup as its
	// root, cpu and cpuacct are co-mounted, and pids is not mounted.
	mountinfoV1Container = `300 290 0:26 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct
301 290 0:27 /docker/abc /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
`
	procCgroupV1Container = `4:memory:/docker/abc
3:cpu,cpuacct:/docker/abc
1:name=systemd:/docker/abc
`
)

func TestDetectFake(t *testing.T) {
	type want struct{ version, path, reason string }
	tests := []struct {
		name       string
		mountinfo  string
		procCgroup string
		files      map[string]string
		want       map[string]want // controller -> want; path relative to the fake root
		writable   map[string]bool
	}{
		{
			name:       "pure v2 delegated",
			mountinfo:  mountinfoV2,
			procCgroup: procCgroupV2,
			files: map[string]string{
				"sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/cgroup.controllers":     "cpu memory pids\n",
				"sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/cgroup.subtree_control": "memory pids\n",
				"sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/cgroup.procs":           "",
			},
			want: map[string]want{
				"memory": {"v2", "sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope", ""},
				"pids":   {"v2", "sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope", ""},
				"cpu":    {"v2", "sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope", "will enable"},
			},
			writable: map[string]bool{"memory": true, "pids": true, "cpu": true},
		},
		{
			name:       "pure v2 with processes in own cgroup",
			mountinfo:  mountinfoV2,
			procCgroup: procCgroupV2,
			files: map[string]string{
				"sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/cgroup.controllers":     "cpu memory pids\n",
				"sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/cgroup.subtree_control": "pids\n",
				"sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/cgroup.procs":           "812\n",
			},
			want: map[string]want{
				"memory": {"v2", "sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope", "has processes"},
				"pids":   {"v2", "sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope", ""},
				"cpu":    {"v2", "sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope", "has processes"},
			},
			writable: map[string]bool{"pids": true},
		},
		{
			name:       "pure v2 controller not delegated",
			mountinfo:  mountinfoV2,
			procCgroup: procCgroupV2,
			files: map[string]string{
				"sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/cgroup.controllers":     "pids\n",
				"sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/cgroup.subtree_control": "pids\n",
			},
			want: map[string]want{
				"memory": {"", "", "memory not in"},
				"pids":   {"v2", "sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope", ""},
				"cpu":    {"", "", "no cgroup v1 hierarchy with cpu mounted"},
			},
			writable: map[string]bool{"pids": true},
		},
		{
			name:       "hybrid with v1 controllers",
			mountinfo:  mountinfoHybrid,
			procCgroup: procCgroupHybrid,
			files: map[string]string{
				"sys/fs/cgroup/unified/cgroup.controllers":                           "hugetlb\n",
				"sys/fs/cgroup/unified/cgroup.subtree_control":                       "",
				"sys/fs/cgroup/memory/process_api/5433f2d0bc241a825cc948cd24ca7d90/": "",
				"sys/fs/cgroup/pids/":                                                "",
				"sys/fs/cgroup/cpu/":                                                 "",
				"sys/fs/cgroup/cpuacct/":                                             "",
			},
			want: map[string]want{
				"memory": {"v1", "sys/fs/cgroup/memory/process_api/5433f2d0bc241a825cc948cd24ca7d90", "memory not in"},
				"pids":   {"v1", "sys/fs/cgroup/pids", "pids not in"},
				"cpu":    {"v1", "sys/fs/cgroup/cpu", "cpu not in"},
			},
			writable: map[string]bool{"memory": true, "pids": true, "cpu": true},
		},
		{
			name:       "v1 container",
			mountinfo:  mountinfoV1Container,
			procCgroup: procCgroupV1Container,
			files: map[string]string{
				"sys/fs/cgroup/cpu,cpuacct/": "",
				"sys/fs/cgroup/memory/":      "",
			},
			want: map[string]want{
				"memory": {"v1", "sys/fs/cgroup/memory", "no cgroup2"},
				"pids":   {"", "", "no cgroup v1 hierarchy with pids mounted"},
				"cpu":    {"v1", "sys/fs/cgroup/cpu,cpuacct", "no cgroup2"},
			},
			writable: map[string]bool{"memory": true, "cpu": true},
		},
		{
			name:       "v1 own cgroup directory missing",
			mountinfo:  mountinfoHybrid,
			procCgroup: procCgroupHybrid,
			files: map[string]string{
				"sys/fs/cgroup/unified/cgroup.controllers": "",
				"sys/fs/cgroup/memory/":                    "",
				"sys/fs/cgroup/pids/":                      "",
			},
			want: map[string]want{
				"memory": {"", "", "process_api"},
				"pids":   {"v1", "sys/fs/cgroup/pids", ""},
				"cpu":    {"", "", "sys/fs/cgroup/cpu"},
			},
			writable: map[string]bool{"pids": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeFS(t, tt.files)
			v, err := newSysView([]byte(tt.mountinfo), []byte(tt.procCgroup), root)
			if err != nil {
				t.Fatalf("newSysView: %v", err)
			}
			got := v.detect()
			var names []string
			for _, c := range got {
				names = append(names, c.Name)
			}
			if !slices.Equal(names, limitControllers) {
				t.Fatalf("got controllers %v, want %v", names, limitControllers)
			}
			for _, c := range got {
				w := tt.want[c.Name]
				wantPath := ""
				if w.path != "" {
					wantPath = filepath.Join(root, w.path)
				}
				if c.Version != w.version || c.Path != wantPath {
					t.Errorf("%s: got version %q path %q, want %q %q", c.Name, c.Version, c.Path, w.version, wantPath)
				}
				if c.Writable != tt.writable[c.Name] {
					t.Errorf("%s: got writable %v, want %v (reason %q)", c.Name, c.Writable, tt.writable[c.Name], c.Reason)
				}
				if !strings.Contains(c.Reason, w.reason) {
					t.Errorf("%s: got reason %q, want it to contain %q", c.Name, c.Reason, w.reason)
				}
			}
		})
	}
}

// TestCreateUnavailableFake checks that a limit no hierarchy can enforce is
// refused with ErrUnavailable naming the controller, and that nothing is
// created.
func TestCreateUnavailableFake(t *testing.T) {
	tests := []struct {
		name       string
		mountinfo  string
		procCgroup string
		files      map[string]string
		limits     Limits
		wantIn     []string
	}{
		{
			name:       "pids not mounted in v1 container",
			mountinfo:  mountinfoV1Container,
			procCgroup: procCgroupV1Container,
			files:      map[string]string{"sys/fs/cgroup/memory/": "", "sys/fs/cgroup/cpu,cpuacct/": ""},
			limits:     Limits{Pids: 10},
			wantIn:     []string{"pids limit", "no cgroup v1 hierarchy with pids mounted", "no cgroup2"},
		},
		{
			name:       "memory not delegated on v2",
			mountinfo:  mountinfoV2,
			procCgroup: "0::/a\n",
			files: map[string]string{
				"sys/fs/cgroup/a/cgroup.controllers":     "pids\n",
				"sys/fs/cgroup/a/cgroup.subtree_control": "pids\n",
			},
			limits: Limits{MemoryBytes: 1 << 20},
			wantIn: []string{"memory limit", "memory not in"},
		},
		{
			// The fake is on tmpfs, so enabling the controller in
			// cgroup.subtree_control is refused as not a cgroup file system.
			name:       "v2 controller cannot be enabled",
			mountinfo:  mountinfoV2,
			procCgroup: "0::/a\n",
			files: map[string]string{
				"sys/fs/cgroup/a/cgroup.controllers":     "memory pids\n",
				"sys/fs/cgroup/a/cgroup.subtree_control": "",
			},
			limits: Limits{MemoryBytes: 1 << 20},
			wantIn: []string{"memory limit", "enable memory", "not cgroup v2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeFS(t, tt.files)
			v, err := newSysView([]byte(tt.mountinfo), []byte(tt.procCgroup), root)
			if err != nil {
				t.Fatalf("newSysView: %v", err)
			}
			need, err := tt.limits.validate()
			if err != nil {
				t.Fatal(err)
			}
			g := &Group{backends: map[string]string{}}
			err = g.createLocked(v, "airlock-test", need, tt.limits)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("got error %v, want one wrapping ErrUnavailable", err)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("got error %q, want it to contain %q", err, s)
				}
			}
			if len(g.dirs) != 0 {
				t.Errorf("got %d directories created, want 0", len(g.dirs))
			}
			found, _ := filepath.Glob(filepath.Join(root, "sys/fs/cgroup/*/airlock-test"))
			if len(found) != 0 {
				t.Errorf("got created %v, want nothing", found)
			}
		})
	}
}

// TestFileOpsRefuseSymlinks plants symlinks and a FIFO where cgroup files
// are expected and checks that they are neither followed nor blocked on,
// with a control showing the plain file works.
func TestFileOpsRefuseSymlinks(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("original"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "memory.max")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte("max"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, "cgroup.procs"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(t.TempDir(), filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	fd, err := openDirNoFollow(dir)
	if err != nil {
		t.Fatalf("openDirNoFollow(%q): %v", dir, err)
	}
	defer unix.Close(fd)

	t.Run("control: regular file", func(t *testing.T) {
		if err := writeFileAt(fd, "pids.max", "20"); err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
		got, err := readFileAt(fd, "pids.max")
		if err != nil || string(got) != "20" {
			t.Errorf("got %q, %v, want \"20\", nil", got, err)
		}
	})
	t.Run("write through symlink", func(t *testing.T) {
		err := writeFileAt(fd, "memory.max", "1")
		if !errors.Is(err, unix.ELOOP) {
			t.Errorf("got error %v, want ELOOP", err)
		}
		if got, _ := os.ReadFile(outside); string(got) != "original" {
			t.Errorf("got target content %q, want %q", got, "original")
		}
	})
	t.Run("read through symlink", func(t *testing.T) {
		if _, err := readFileAt(fd, "memory.max"); !errors.Is(err, unix.ELOOP) {
			t.Errorf("got error %v, want ELOOP", err)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		done := make(chan error, 1)
		go func() { _, err := readFileAt(fd, "cgroup.procs"); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("got error %v, want not a regular file", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("read of a FIFO blocked")
		}
	})
	t.Run("path element", func(t *testing.T) {
		if _, err := readFileAt(fd, "../victim"); err == nil {
			t.Error("got nil error for a name with a slash, want an error")
		}
	})
	t.Run("exists ignores symlink", func(t *testing.T) {
		if existsAt(fd, "memory.max") {
			t.Error("got existsAt true for a symlink, want false")
		}
		if !existsAt(fd, "pids.max") {
			t.Error("got existsAt false for a regular file, want true")
		}
	})
	t.Run("directory symlink in path", func(t *testing.T) {
		if _, err := openDirNoFollow(filepath.Join(dir, "linkdir")); !errors.Is(err, unix.ELOOP) && !errors.Is(err, unix.ENOTDIR) {
			t.Errorf("got error %v, want ELOOP or ENOTDIR", err)
		}
	})
}

// ---- Tests on the real cgroup file system ----

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
}

func requireController(t *testing.T, name string) Controller {
	t.Helper()
	requireRoot(t)
	for _, c := range Detect() {
		if c.Name == name {
			if !c.Writable {
				t.Skipf("controller %s not usable here: %s", name, c.Reason)
			}
			return c
		}
	}
	t.Fatalf("Detect did not list %s", name)
	return Controller{}
}

func newGroup(t *testing.T, l Limits) *Group {
	t.Helper()
	g, err := New("", l)
	if err != nil {
		t.Fatalf("New(%+v): %v", l, err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return g
}

// startInGroup starts cmd with a pipe on stdin, adds it to g, and releases
// it by writing a line.
func startInGroup(t *testing.T, g *Group, cmd *exec.Cmd) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := g.Add(cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("Add(%d): %v", cmd.Process.Pid, err)
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
}

func helperCmd(ctx context.Context, t *testing.T, mode, arg string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperArgEnv+"="+arg, "GOMAXPROCS=1")
	return cmd
}

// members returns the pids in every directory of g.
func members(t *testing.T, g *Group) []int {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	var all []int
	for _, d := range g.dirs {
		data, err := os.ReadFile(filepath.Join(d.path(), "cgroup.procs"))
		if err != nil {
			t.Fatal(err)
		}
		pids, err := parsePids(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pids {
			if !slices.Contains(all, p) {
				all = append(all, p)
			}
		}
	}
	return all
}

func dirPaths(g *Group) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, d := range g.dirs {
		out = append(out, d.path())
	}
	return out
}

// dirFor returns the path of g's directory serving ctrl.
func dirFor(t *testing.T, g *Group, ctrl string) string {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, d := range g.dirs {
		if slices.Contains(d.controllers, ctrl) {
			return d.path()
		}
	}
	t.Fatalf("no directory serves %s", ctrl)
	return ""
}

func hasDirFor(g *Group, ctrl string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, d := range g.dirs {
		if slices.Contains(d.controllers, ctrl) {
			return true
		}
	}
	return false
}

func signalOf(err error) syscall.Signal {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return ws.Signal()
		}
	}
	return 0
}

func TestPidsLimit(t *testing.T) {
	requireController(t, "pids")
	tests := []struct {
		name        string
		limit       int64
		attempts    int
		wantAll     bool
		wantReason  string
		wantMaxDone int
	}{
		{name: "limit refuses forks", limit: 20, attempts: 100, wantAll: false, wantReason: "pids", wantMaxDone: 19},
		{name: "control under limit", limit: 200, attempts: 30, wantAll: true, wantReason: "", wantMaxDone: 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGroup(t, Limits{Pids: tt.limit})
			if got := g.Backends()["pids"]; got != "v1" && got != "v2" {
				t.Fatalf("got backend %q for pids, want v1 or v2", got)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			// Each successful fork prints its number; the shell gives up
			// (dash exits; bash after retrying) at the first refused fork.
			script := fmt.Sprintf(`read x; i=0; while [ "$i" -lt %d ]; do sleep 5 >/dev/null 2>&1 & i=$((i+1)); echo "$i"; done`, tt.attempts)
			cmd := exec.CommandContext(ctx, "/bin/sh", "-c", script)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			startInGroup(t, g, cmd)
			started := 0
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				started++
			}
			werr := cmd.Wait()
			if ctx.Err() != nil {
				t.Fatalf("shell did not finish in time: %v", werr)
			}
			failed := tt.attempts - started
			t.Logf("started %d, refused or not tried %d, exit %v, stderr %q", started, failed, werr, stderr.String())
			if tt.wantAll != (failed == 0) {
				t.Errorf("got %d of %d forks started, want all started %v", started, tt.attempts, tt.wantAll)
			}
			if started > tt.wantMaxDone {
				t.Errorf("got %d forks started, want at most %d", started, tt.wantMaxDone)
			}
			reason, err := g.Reason()
			if err != nil || reason != tt.wantReason {
				t.Errorf("Reason: got %q, %v, want %q, nil", reason, err, tt.wantReason)
			}
			if m := members(t, g); len(m) != started {
				t.Errorf("got members %v before Kill, want the %d sleeps", m, started)
			}
			if err := g.Kill(); err != nil {
				t.Fatalf("Kill: %v", err)
			}
			if m := members(t, g); len(m) != 0 {
				t.Errorf("after Kill got members %v, want none", m)
			}
		})
	}
}

func TestMemoryLimit(t *testing.T) {
	requireController(t, "memory")
	if !swapLimited(t) {
		t.Skip("swap is on and this kernel cannot limit it, so an over-limit process swaps instead of being killed")
	}
	tests := []struct {
		name       string
		allocMiB   int
		wantSignal syscall.Signal
		wantReason string
	}{
		{name: "over limit is killed", allocMiB: 200, wantSignal: syscall.SIGKILL, wantReason: "memory"},
		{name: "control under limit", allocMiB: 8, wantSignal: 0, wantReason: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGroup(t, Limits{MemoryBytes: 32 << 20})
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			cmd := helperCmd(ctx, t, "alloc", strconv.Itoa(tt.allocMiB))
			var out strings.Builder
			cmd.Stdout = &out
			startInGroup(t, g, cmd)
			werr := cmd.Wait()
			if ctx.Err() != nil {
				t.Fatalf("helper did not finish in time: %v", werr)
			}
			if got := signalOf(werr); got != tt.wantSignal {
				t.Errorf("got signal %v (wait %v, output %q), want %v", got, werr, out.String(), tt.wantSignal)
			}
			if tt.wantSignal == 0 && werr != nil {
				t.Errorf("got wait error %v, want nil", werr)
			}
			reason, err := g.Reason()
			if err != nil || reason != tt.wantReason {
				t.Errorf("Reason: got %q, %v, want %q, nil", reason, err, tt.wantReason)
			}
		})
	}
}

// swapLimited reports whether an over-limit process cannot escape to swap:
// there is no swap, or the chosen backend limits it.
func swapLimited(t *testing.T) bool {
	data, err := os.ReadFile("/proc/swaps")
	if err != nil || len(strings.Split(strings.TrimSpace(string(data)), "\n")) <= 1 {
		return true
	}
	g := newGroup(t, Limits{MemoryBytes: 64 << 20})
	d := dirFor(t, g, "memory")
	for _, f := range []string{"memory.swap.max", "memory.memsw.limit_in_bytes"} {
		if _, err := os.Stat(filepath.Join(d, f)); err == nil {
			return true
		}
	}
	return false
}

func TestCPULimit(t *testing.T) {
	requireController(t, "cpu")
	g := newGroup(t, Limits{CPUs: 0.5})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := helperCmd(ctx, t, "spin", "1000")
	cmd.Stdout = io.Discard
	startInGroup(t, g, cmd)
	start := time.Now()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("spin helper: %v", err)
	}
	wall := time.Since(start)
	used := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	ratio := used.Seconds() / wall.Seconds()
	t.Logf("cpu %v over wall %v: ratio %.2f", used, wall, ratio)
	if ratio >= 0.8 {
		t.Errorf("got cpu/wall ratio %.2f, want < 0.8 with a 0.5 cpu limit", ratio)
	}
	stat, err := os.ReadFile(filepath.Join(dirFor(t, g, "cpu"), "cpu.stat"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseKeyedCounters(stat)
	if err != nil {
		t.Fatal(err)
	}
	if m["nr_throttled"] == 0 {
		t.Errorf("got nr_throttled 0 in cpu.stat %q, want > 0", stat)
	}
}

func TestKill(t *testing.T) {
	requireController(t, "pids")
	tests := []struct {
		name          string
		noCgroupKill  bool
		v1Helper      bool
		wantSignalled syscall.Signal
	}{
		{name: "cgroup.kill when present", wantSignalled: syscall.SIGKILL},
		{name: "v2 freeze and signal", noCgroupKill: true, wantSignalled: syscall.SIGKILL},
		{name: "v1 freezer and signal", noCgroupKill: true, v1Helper: true, wantSignalled: syscall.SIGKILL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testHookNoCgroupKill = tt.noCgroupKill
			testHookKillHelperV1 = tt.v1Helper
			defer func() { testHookNoCgroupKill, testHookKillHelperV1 = false, false }()
			g := newGroup(t, Limits{Pids: 50})
			if tt.v1Helper && !hasDirFor(g, "freezer") {
				t.Skip("no v1 freezer hierarchy usable here")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "/bin/sh", "-c", `read x; sleep 30 & sleep 30 & sleep 30 & echo ready; wait`)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			startInGroup(t, g, cmd)
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "ready\n" {
				t.Fatalf("got %q, %v from the shell, want ready", line, err)
			}
			before := members(t, g)
			if len(before) < 4 {
				t.Fatalf("got members %v before Kill, want the shell and 3 sleeps", before)
			}
			if err := g.Kill(); err != nil {
				t.Fatalf("Kill: %v", err)
			}
			if m := members(t, g); len(m) != 0 {
				t.Errorf("after Kill got members %v, want none", m)
			}
			werr := cmd.Wait()
			if got := signalOf(werr); got != tt.wantSignalled {
				t.Errorf("shell: got signal %v (%v), want %v", got, werr, tt.wantSignalled)
			}
			for _, pid := range before {
				if alive(pid) {
					t.Errorf("pid %d still alive after Kill", pid)
				}
			}
		})
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestSignalMembers exercises the pidfd signalling loop on its own, on
// every hierarchy of a group.
func TestSignalMembers(t *testing.T) {
	requireController(t, "pids")
	g := newGroup(t, Limits{Pids: 50})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", `read x; sleep 30 & sleep 30 & echo ready; wait`)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	startInGroup(t, g, cmd)
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("got %q, %v from the shell, want ready", line, err)
	}
	g.mu.Lock()
	d := g.dirs[0]
	n, err := signalMembers(d)
	g.mu.Unlock()
	if err != nil || n < 3 {
		t.Fatalf("signalMembers: got %d, %v, want >= 3, nil", n, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(members(t, g)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if m := members(t, g); len(m) != 0 {
		t.Errorf("got members %v after signalMembers, want none", m)
	}
	_ = cmd.Wait()
}

func TestClose(t *testing.T) {
	requireController(t, "pids")
	g, err := New("", Limits{Pids: 30})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	paths := dirPaths(g)
	if len(paths) == 0 {
		t.Fatal("got no directories, want at least one")
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("group directory %s: %v", p, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", `read x; sleep 30`)
	startInGroup(t, g, cmd)
	if err := g.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_ = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatal("Close did not kill the process")
	}
	for _, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("got stat error %v for %s after Close, want not exist", err, p)
		}
	}
	if err := g.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if err := g.Add(os.Getpid()); err == nil {
		t.Error("Add after Close: got nil, want an error")
	}
	if _, err := g.Reason(); err == nil {
		t.Error("Reason after Close: got nil, want an error")
	}
}

func TestNewNames(t *testing.T) {
	requireController(t, "pids")
	t.Run("zero limits create nothing", func(t *testing.T) {
		g := newGroup(t, Limits{})
		if b := g.Backends(); len(b) != 0 {
			t.Errorf("got backends %v, want none", b)
		}
		if p := dirPaths(g); len(p) != 0 {
			t.Errorf("got directories %v, want none", p)
		}
		if r, err := g.Reason(); r != "" || err != nil {
			t.Errorf("Reason: got %q, %v, want \"\", nil", r, err)
		}
	})
	t.Run("existing name is not reused", func(t *testing.T) {
		name := fmt.Sprintf("airlock-test-%d-%d", os.Getpid(), time.Now().UnixNano())
		first, err := New(name, Limits{Pids: 10})
		if err != nil {
			t.Fatalf("New(%q): %v", name, err)
		}
		defer first.Close()
		second, err := New(name, Limits{Pids: 10})
		if err == nil {
			second.Close()
			t.Fatalf("second New(%q): got nil error, want already exists", name)
		}
		if !strings.Contains(err.Error(), "already exists") {
			t.Errorf("got error %v, want already exists", err)
		}
		for _, p := range dirPaths(first) {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("first group's %s after failed second New: %v", p, err)
			}
		}
	})
	t.Run("invalid names", func(t *testing.T) {
		for _, name := range []string{"..", "a/b", "../../etc"} {
			if g, err := New(name, Limits{Pids: 10}); err == nil {
				g.Close()
				t.Errorf("New(%q): got nil error, want invalid name", name)
			}
		}
	})
	t.Run("backends match detect", func(t *testing.T) {
		want := map[string]string{}
		l := Limits{}
		for _, c := range Detect() {
			if !c.Writable {
				continue
			}
			want[c.Name] = c.Version
			switch c.Name {
			case "memory":
				l.MemoryBytes = 256 << 20
			case "pids":
				l.Pids = 1000
			case "cpu":
				l.CPUs = 1
			}
		}
		g := newGroup(t, l)
		got := g.Backends()
		if len(got) != len(want) {
			t.Fatalf("got backends %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("backend of %s: got %q, want %q", k, got[k], v)
			}
		}
	})
}
