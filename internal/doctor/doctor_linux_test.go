package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airlock-sandbox/airlock/internal/reexec"
)

// runEnv makes the test binary run Run() and print the report as JSON; the
// unprivileged test uses it.
const runEnv = "AIRLOCK_DOCTOR_TEST_RUN"

func TestMain(m *testing.M) {
	Register()
	if reexec.Dispatch() {
		return
	}
	if os.Getenv(runEnv) != "" {
		b, err := Run(context.Background()).JSON()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Stdout.Write(b)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: probes namespaces and cgroups as root")
	}
}

func checkOf(t *testing.T, r Report, layer string) Check {
	t.Helper()
	c, ok := r.find(layer)
	if !ok {
		t.Fatalf("report has no %s check", layer)
	}
	return c
}

// TestRunHost runs the real probes. This host (root, Linux 6.18 with
// Landlock, hybrid cgroups) must have every namespace, seccomp and Landlock.
func TestRunHost(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := Run(ctx)
	if len(r.Checks) != len(Layers) {
		t.Errorf("got %d checks, want %d", len(r.Checks), len(Layers))
	}
	for i, l := range Layers {
		if i < len(r.Checks) && r.Checks[i].Layer != l {
			t.Errorf("check %d is %q, want %q", i, r.Checks[i].Layer, l)
		}
	}
	for _, l := range []string{LayerUserNS, LayerMountNS, LayerPIDNS, LayerNetNS, LayerIPCNS, LayerUTSNS,
		LayerCgroupNS, LayerSeccomp, LayerNoNewPrivs, LayerOverlayUserNS} {
		if c := checkOf(t, r, l); c.Status != StatusAvailable {
			t.Errorf("%s: got %s (%s), want available", l, c.Status, c.Detail)
		}
	}
	c := checkOf(t, r, LayerLandlock)
	wantLandlock := StatusAvailable
	if abi, err := newHost().landlockABI(); err != nil {
		t.Fatalf("landlock ABI: %v (this host has landlock)", err)
	} else if abi < 6 {
		wantLandlock = StatusDegraded
	}
	if c.Status != wantLandlock {
		t.Errorf("landlock: got %s (%s), want %s", c.Status, c.Detail, wantLandlock)
	}

	// The cgroup verdict must match what the host's files say: on a hybrid
	// host (cgroup2 beside v1 hierarchies, no memory controller in v2) v2 is
	// degraded and v1 is available.
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mi), " - cgroup cgroup ") && strings.Contains(string(mi), " - cgroup2 ") {
		v2 := checkOf(t, r, LayerCgroupV2)
		hasMemory := false
		for _, m := range parseMountinfo(string(mi)) {
			if m.fstype == "cgroup2" {
				b, _ := os.ReadFile(filepath.Join(m.point, "cgroup.controllers"))
				hasMemory = strings.Contains(string(b), "memory")
				break
			}
		}
		if !hasMemory {
			if v2.Status != StatusDegraded || !strings.Contains(v2.Detail, "no memory/pids/cpu controllers in the v2 hierarchy (hybrid host)") {
				t.Errorf("cgroup-v2: got %s (%s), want degraded for a hybrid host", v2.Status, v2.Detail)
			}
			if v1 := checkOf(t, r, LayerCgroupV1); v1.Status != StatusAvailable {
				t.Errorf("cgroup-v1: got %s (%s), want available as root on a hybrid host", v1.Status, v1.Detail)
			}
		}
	}
	var buf bytes.Buffer
	r.Write(&buf, false)
	t.Logf("report:\n%s", buf.String())
}

// TestRunUnprivileged runs the probes as uid 65534: user namespaces (and
// what needs them) must still work without privileges.
func TestRunUnprivileged(t *testing.T) {
	requireRoot(t)
	const nobody = 65534
	// The test binary lives in a root-only build directory: copy it where
	// nobody can execute it.
	dir, err := os.MkdirTemp("", "airlock-doctor-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	bin := filepath.Join(dir, "doctor.test")
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, self); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = []string{runEnv + "=1", "PATH=/usr/bin:/bin", "TMPDIR=/tmp"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run doctor as uid %d: %v; stderr: %s", nobody, err, stderr.String())
	}
	var r Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("decode report: %v; output: %s", err, out)
	}
	var buf bytes.Buffer
	r.Write(&buf, false)
	t.Logf("report as uid %d:\n%s", nobody, buf.String())
	for _, l := range []string{LayerUserNS, LayerMountNS, LayerPIDNS, LayerNetNS, LayerOverlayUserNS, LayerSeccomp, LayerNoNewPrivs} {
		if c := checkOf(t, r, l); c.Status != StatusAvailable {
			t.Errorf("%s as uid %d: got %s (%s), want available", l, nobody, c.Status, c.Detail)
		}
	}
	// uid 65534 does not own the root cgroups: v1 must say so.
	if c := checkOf(t, r, LayerCgroupV1); c.Status == StatusAvailable {
		t.Errorf("cgroup-v1 as uid %d: got available (%s), want not writable", nobody, c.Detail)
	}
}

// fakeHost is a host whose files live in a temp dir and whose probes
// answer from a table.
type fakeHost struct {
	dir     string
	results map[string]probeResult // by probeKey
	abi     int
	abiErr  error
}

// probeKey names a probe request: "userns", "ns:mnt", "ns:mnt:nouser",
// "overlay", "seccomp", "landlock".
func probeKey(req probeRequest) string {
	k := req.Kind
	if req.Kind == kindNS {
		k += ":" + req.Args[0]
		if req.Cloneflags&unix.CLONE_NEWUSER == 0 {
			k += ":nouser"
		}
	}
	return k
}

var okResult = probeResult{Out: probeOutput{OK: true, Info: map[string]string{"no_new_privs": "ok"}}}

func startErr(errno unix.Errno) probeResult {
	return probeResult{StartErr: fmt.Errorf("start probe child: fork/exec /proc/self/exe: %w", errno)}
}

func childErr(step string, errno unix.Errno) probeResult {
	return probeResult{Out: probeOutput{Err: step + ": " + errno.Error(), Errno: int(errno)}}
}

func newFakeHost(t *testing.T, euid int, files map[string]string) (*host, *fakeHost) {
	t.Helper()
	fh := &fakeHost{dir: t.TempDir(), results: map[string]probeResult{}, abi: 7}
	p := func(name string) string { return filepath.Join(fh.dir, name) }
	h := &host{
		paths: hostPaths{
			apparmorRestrictUserNS: p("apparmor_restrict_unprivileged_userns"),
			unprivUserNSClone:      p("unprivileged_userns_clone"),
			maxUserNamespaces:      p("max_user_namespaces"),
			selfStatus:             p("status"),
			initCgroup:             p("init_cgroup"),
			selfCgroup:             p("self_cgroup"),
			mountinfo:              p("mountinfo"),
			dockerenv:              p("dockerenv"),
			containerenv:           p("containerenv"),
		},
		euid:     euid,
		getenv:   func(string) string { return files["env:container"] },
		writable: func(string) bool { return true },
		probe: func(ctx context.Context, req probeRequest) probeResult {
			if r, ok := fh.results[probeKey(req)]; ok {
				return r
			}
			return okResult
		},
		landlockABI: func() (int, error) { return fh.abi, fh.abiErr },
		nsID:        func(string) (string, error) { return "1:1", nil },
	}
	for name, data := range files {
		if strings.HasPrefix(name, "env:") {
			continue
		}
		if err := os.WriteFile(p(name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return h, fh
}

const (
	statusRootFull   = "Name:\tx\nCapEff:\t000001ffffffffff\nSeccomp:\t0\n"
	statusRootNoCaps = "Name:\tx\nCapEff:\t00000000a80425fb\nSeccomp:\t2\n"
)

func TestDiagnoseNamespaces(t *testing.T) {
	tests := []struct {
		name       string
		euid       int
		files      map[string]string
		results    map[string]probeResult
		layer      string
		wantStatus Status
		wantDetail string
		wantFix    string
	}{
		{
			name:       "all probes succeed",
			euid:       1000,
			files:      map[string]string{"max_user_namespaces": "1000\n"},
			layer:      LayerUserNS,
			wantStatus: StatusAvailable,
			wantDetail: "uid 1000 maps to root",
		},
		{
			name:       "apparmor restriction blocks clone",
			euid:       1000,
			files:      map[string]string{"apparmor_restrict_unprivileged_userns": "1\n", "max_user_namespaces": "1000"},
			results:    map[string]probeResult{kindUserNS: startErr(unix.EPERM)},
			layer:      LayerUserNS,
			wantStatus: StatusMissing,
			wantDetail: "AppArmor restricts unprivileged user namespaces",
			wantFix:    "userns,",
		},
		{
			name:       "apparmor restriction denies capabilities inside the namespace",
			euid:       1000,
			files:      map[string]string{"apparmor_restrict_unprivileged_userns": "1\n"},
			results:    map[string]probeResult{"ns:mnt": childErr("mount tmpfs", unix.EPERM)},
			layer:      LayerMountNS,
			wantStatus: StatusMissing,
			wantDetail: "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1",
			wantFix:    "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
		},
		{
			name:       "apparmor restriction does not apply to root",
			euid:       0,
			files:      map[string]string{"apparmor_restrict_unprivileged_userns": "1\n", "status": statusRootFull},
			results:    map[string]probeResult{kindUserNS: startErr(unix.EPERM)},
			layer:      LayerUserNS,
			wantStatus: StatusMissing,
			wantDetail: "operation not permitted",
			wantFix:    "dmesg",
		},
		{
			name:       "debian unprivileged_userns_clone off",
			euid:       1000,
			files:      map[string]string{"unprivileged_userns_clone": "0\n"},
			results:    map[string]probeResult{kindUserNS: startErr(unix.EPERM)},
			layer:      LayerUserNS,
			wantStatus: StatusMissing,
			wantDetail: "kernel.unprivileged_userns_clone is 0",
			wantFix:    "sysctl -w kernel.unprivileged_userns_clone=1",
		},
		{
			name:       "max_user_namespaces zero",
			euid:       1000,
			files:      map[string]string{"max_user_namespaces": "0\n"},
			results:    map[string]probeResult{kindUserNS: startErr(unix.ENOSPC)},
			layer:      LayerUserNS,
			wantStatus: StatusMissing,
			wantDetail: "user.max_user_namespaces is 0",
			wantFix:    "sysctl -w user.max_user_namespaces=",
		},
		{
			name:       "namespaces limit reached",
			euid:       1000,
			files:      map[string]string{"max_user_namespaces": "5\n"},
			results:    map[string]probeResult{kindUserNS: startErr(unix.ENOSPC)},
			layer:      LayerUserNS,
			wantStatus: StatusMissing,
			wantDetail: "limit of user namespaces is reached (user.max_user_namespaces=5)",
			wantFix:    "raise user.max_user_namespaces",
		},
		{
			name: "docker container without privileges",
			euid: 0,
			files: map[string]string{"dockerenv": "", "status": statusRootNoCaps,
				"init_cgroup": "0::/system.slice/docker-abc.scope\n"},
			results:    map[string]probeResult{kindUserNS: startErr(unix.EPERM)},
			layer:      LayerUserNS,
			wantStatus: StatusMissing,
			wantDetail: "running inside a container whose security profile blocks namespaces (",
			wantFix:    "--security-opt seccomp=unconfined --security-opt apparmor=unconfined",
		},
		{
			name:       "podman container detected by env",
			euid:       1000,
			files:      map[string]string{"env:container": "podman"},
			results:    map[string]probeResult{kindUserNS: startErr(unix.EPERM)},
			layer:      LayerUserNS,
			wantStatus: StatusMissing,
			wantDetail: "container=podman is set",
			wantFix:    "gvisor tier",
		},
		{
			name:       "a probe that misbehaves is not blamed on the container",
			euid:       0,
			files:      map[string]string{"dockerenv": "", "status": statusRootFull},
			results:    map[string]probeResult{kindUserNS: {Out: probeOutput{Err: "probe child gave no answer (signal: killed)"}}},
			layer:      LayerUserNS,
			wantStatus: StatusMissing,
			wantDetail: "probe child gave no answer",
			wantFix:    "dmesg",
		},
		{
			name:       "root without user namespaces still gets a degraded mount namespace",
			euid:       0,
			files:      map[string]string{"status": statusRootFull},
			results:    map[string]probeResult{kindUserNS: startErr(unix.EPERM)},
			layer:      LayerMountNS,
			wantStatus: StatusDegraded,
			wantDetail: "only as root without a user namespace",
			wantFix:    "make user namespaces available",
		},
		{
			name:       "overlay needs user namespaces",
			euid:       1000,
			results:    map[string]probeResult{kindUserNS: startErr(unix.EPERM)},
			layer:      LayerOverlayUserNS,
			wantStatus: StatusMissing,
			wantDetail: "needs user namespaces",
		},
		{
			name:       "overlay refused by the kernel",
			euid:       1000,
			results:    map[string]probeResult{kindOverlay: childErr("mount overlay", unix.EINVAL)},
			layer:      LayerOverlayUserNS,
			wantStatus: StatusMissing,
			wantDetail: "mount overlay: invalid argument",
			wantFix:    "Linux 5.11",
		},
		{
			name:       "seccomp filters not built",
			euid:       1000,
			results:    map[string]probeResult{kindSeccomp: {Out: probeOutput{Err: "seccomp(SECCOMP_SET_MODE_FILTER): invalid argument", Errno: int(unix.EINVAL), Info: map[string]string{"no_new_privs": "ok"}}}},
			layer:      LayerSeccomp,
			wantStatus: StatusMissing,
			wantDetail: "CONFIG_SECCOMP_FILTER=n",
			wantFix:    "CONFIG_SECCOMP_FILTER=y",
		},
		{
			name:       "seccomp without user notification",
			euid:       1000,
			results:    map[string]probeResult{kindSeccomp: {Out: probeOutput{OK: true, Info: map[string]string{"no_new_privs": "ok", "missing_actions": "user_notif"}}}},
			layer:      LayerSeccomp,
			wantStatus: StatusDegraded,
			wantDetail: "lacks filter return actions: user_notif",
		},
		{
			name:       "no_new_privs fails",
			euid:       1000,
			results:    map[string]probeResult{kindSeccomp: {Out: probeOutput{Err: "x", Info: map[string]string{"no_new_privs": "prctl(PR_SET_NO_NEW_PRIVS): invalid argument"}}}},
			layer:      LayerNoNewPrivs,
			wantStatus: StatusMissing,
			wantDetail: "PR_SET_NO_NEW_PRIVS",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fh := newFakeHost(t, tt.euid, tt.files)
			for k, v := range tt.results {
				fh.results[k] = v
			}
			r := run(context.Background(), h)
			c := checkOf(t, r, tt.layer)
			if c.Status != tt.wantStatus {
				t.Errorf("%s status: got %s (%s), want %s", tt.layer, c.Status, c.Detail, tt.wantStatus)
			}
			if !strings.Contains(c.Detail, tt.wantDetail) {
				t.Errorf("%s detail: got %q, want it to contain %q", tt.layer, c.Detail, tt.wantDetail)
			}
			if !strings.Contains(c.Fix, tt.wantFix) {
				t.Errorf("%s fix: got %q, want it to contain %q", tt.layer, c.Fix, tt.wantFix)
			}
		})
	}
}

func TestDiagnoseLandlock(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		abi        int
		abiErr     error
		result     *probeResult
		wantStatus Status
		wantDetail []string
		notDetail  []string
		wantFix    string
	}{
		{
			name:       "not built",
			abiErr:     fmt.Errorf("landlock: %w", unix.ENOSYS),
			wantStatus: StatusMissing,
			wantDetail: []string{"CONFIG_SECURITY_LANDLOCK=n"},
			wantFix:    "CONFIG_SECURITY_LANDLOCK=y",
		},
		{
			name:       "blocked in a container",
			files:      map[string]string{"containerenv": ""},
			abiErr:     fmt.Errorf("landlock: %w", unix.ENOSYS),
			wantStatus: StatusMissing,
			wantDetail: []string{"seccomp profile blocks them", "containerenv exists"},
			wantFix:    "seccomp=unconfined",
		},
		{
			name:       "not in lsm list",
			abiErr:     fmt.Errorf("landlock: %w", unix.EOPNOTSUPP),
			wantStatus: StatusMissing,
			wantDetail: []string{"not enabled at boot"},
			wantFix:    "lsm=",
		},
		{
			name:       "abi 1",
			abi:        1,
			wantStatus: StatusDegraded,
			wantDetail: []string{"abi 1", "no REFER", "no TRUNCATE", "no IOCTL_DEV", "no signal"},
		},
		{
			name:       "abi 4",
			abi:        4,
			wantStatus: StatusDegraded,
			wantDetail: []string{"abi 4", "no IOCTL_DEV", "no signal or abstract unix socket scoping"},
			notDetail:  []string{"TRUNCATE", "REFER"},
			wantFix:    "newer kernel",
		},
		{
			name:       "abi 6",
			abi:        6,
			wantStatus: StatusAvailable,
			wantDetail: []string{"abi 6"},
		},
		{
			name:       "enforcement fails",
			abi:        7,
			result:     &probeResult{Out: probeOutput{Err: "landlock enforcement: creating a file under a read-only rule succeeded"}},
			wantStatus: StatusMissing,
			wantDetail: []string{"abi 7, but enforcing a ruleset failed", "succeeded"},
		},
		{
			name:       "probe child dies",
			abi:        7,
			result:     &probeResult{Out: probeOutput{Err: "probe child gave no answer (signal: killed)"}},
			wantStatus: StatusMissing,
			wantDetail: []string{"no answer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fh := newFakeHost(t, 1000, tt.files)
			fh.abi, fh.abiErr = tt.abi, tt.abiErr
			if tt.result != nil {
				fh.results[kindLandlock] = *tt.result
			}
			c := checkOf(t, run(context.Background(), h), LayerLandlock)
			if c.Status != tt.wantStatus {
				t.Errorf("status: got %s (%s), want %s", c.Status, c.Detail, tt.wantStatus)
			}
			for _, w := range tt.wantDetail {
				if !strings.Contains(c.Detail, w) {
					t.Errorf("detail: got %q, want it to contain %q", c.Detail, w)
				}
			}
			for _, w := range tt.notDetail {
				if strings.Contains(c.Detail, w) {
					t.Errorf("detail: got %q, want it not to contain %q", c.Detail, w)
				}
			}
			if !strings.Contains(c.Fix, tt.wantFix) {
				t.Errorf("fix: got %q, want it to contain %q", c.Fix, tt.wantFix)
			}
		})
	}
}

// cgroupTree builds a fake cgroup filesystem under base and the mountinfo
// that describes it.
type cgroupTree struct {
	v2Mount    string // relative mount point of cgroup2, "" for none
	v2Ctrls    string
	v1         []string // v1 controllers, each its own hierarchy
	selfCgroup string
}

func (ct cgroupTree) build(t *testing.T, base string) (mountinfo string) {
	t.Helper()
	var mi strings.Builder
	id := 30
	if ct.v2Mount != "" {
		mount := filepath.Join(base, ct.v2Mount)
		dir := filepath.Join(mount, parseProcCgroup(ct.selfCgroup).v2)
		writeTestFile(t, filepath.Join(dir, "cgroup.controllers"), ct.v2Ctrls+"\n")
		writeTestFile(t, filepath.Join(dir, "cgroup.subtree_control"), "\n")
		writeTestFile(t, filepath.Join(dir, "cgroup.procs"), "")
		fmt.Fprintf(&mi, "%d 1 0:26 / %s rw,relatime shared:9 - cgroup2 cgroup2 rw\n", id, mount)
		id++
	}
	for _, c := range ct.v1 {
		dir := filepath.Join(base, c)
		writeTestFile(t, filepath.Join(dir, "app", "cgroup.procs"), "")
		fmt.Fprintf(&mi, "%d 1 0:%d / %s rw,relatime - cgroup cgroup rw,%s\n", id, id, dir, c)
		id++
	}
	fmt.Fprintf(&mi, "99 1 8:1 / / rw - ext4 /dev/sda1 rw\n")
	return mi.String()
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDiagnoseCgroups(t *testing.T) {
	tests := []struct {
		name         string
		tree         cgroupTree
		writable     bool
		wantV2       Status
		wantV2Detail string
		wantV2Fix    string
		wantV1       Status
		wantV1Detail string
	}{
		{
			name: "hybrid host like systemd's legacy mode",
			tree: cgroupTree{v2Mount: "unified", v2Ctrls: "hugetlb", v1: []string{"cpu", "memory", "pids"},
				selfCgroup: "4:memory:/app\n3:pids:/app\n2:cpu:/app\n0::/\n"},
			writable:     true,
			wantV2:       StatusDegraded,
			wantV2Detail: "controllers: hugetlb: no memory/pids/cpu controllers in the v2 hierarchy (hybrid host); v1 used",
			wantV2Fix:    "systemd.unified_cgroup_hierarchy=1",
			wantV1:       StatusAvailable,
			wantV1Detail: "(cgroup /app)",
		},
		{
			name:         "unified and delegated",
			tree:         cgroupTree{v2Mount: "cg2", v2Ctrls: "cpuset cpu io memory pids", selfCgroup: "0::/user.slice/app\n"},
			writable:     true,
			wantV2:       StatusAvailable,
			wantV2Detail: "cgroup /user.slice/app, controllers: cpuset cpu io memory pids, writable",
			wantV1:       StatusMissing,
			wantV1Detail: "unified host",
		},
		{
			name:         "unified but not delegated",
			tree:         cgroupTree{v2Mount: "cg2", v2Ctrls: "cpu memory pids", selfCgroup: "0::/user.slice/app\n"},
			writable:     false,
			wantV2:       StatusDegraded,
			wantV2Detail: "not writable by uid 1000 (not delegated)",
			wantV2Fix:    "Delegate=yes",
			wantV1:       StatusMissing,
		},
		{
			name:         "unified without pids",
			tree:         cgroupTree{v2Mount: "cg2", v2Ctrls: "cpu memory", selfCgroup: "0::/a\n"},
			writable:     true,
			wantV2:       StatusDegraded,
			wantV2Detail: "controllers not available to cgroup /a: pids",
			wantV2Fix:    "cgroup.subtree_control",
			wantV1:       StatusMissing,
		},
		{
			name:         "v1 only, not writable",
			tree:         cgroupTree{v1: []string{"cpu", "memory", "pids"}, selfCgroup: "3:memory:/app\n2:pids:/app\n1:cpu:/app\n"},
			writable:     false,
			wantV2:       StatusMissing,
			wantV2Detail: "no cgroup2 filesystem is mounted",
			wantV1:       StatusDegraded,
			wantV1Detail: "memory cgroup",
		},
		{
			name:         "v1 without pids",
			tree:         cgroupTree{v1: []string{"cpu", "memory"}, selfCgroup: "2:memory:/\n1:cpu:/\n"},
			writable:     true,
			wantV2:       StatusMissing,
			wantV1:       StatusDegraded,
			wantV1Detail: "no pids hierarchy mounted",
		},
		{
			name:         "nothing mounted",
			tree:         cgroupTree{selfCgroup: ""},
			writable:     true,
			wantV2:       StatusMissing,
			wantV1:       StatusMissing,
			wantV1Detail: "no cgroup v1 hierarchies are mounted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			mi := tt.tree.build(t, base)
			h, _ := newFakeHost(t, 1000, map[string]string{"mountinfo": mi, "self_cgroup": tt.tree.selfCgroup})
			h.writable = func(string) bool { return tt.writable }
			cg := h.gatherCgroups()
			v2, v1 := checkCgroupV2(cg, h.euid), checkCgroupV1(cg, h.euid)
			if v2.Status != tt.wantV2 || !strings.Contains(v2.Detail, tt.wantV2Detail) || !strings.Contains(v2.Fix, tt.wantV2Fix) {
				t.Errorf("cgroup-v2: got %s %q fix %q, want %s containing %q fix containing %q", v2.Status, v2.Detail, v2.Fix, tt.wantV2, tt.wantV2Detail, tt.wantV2Fix)
			}
			if v1.Status != tt.wantV1 || !strings.Contains(v1.Detail, tt.wantV1Detail) {
				t.Errorf("cgroup-v1: got %s %q, want %s containing %q", v1.Status, v1.Detail, tt.wantV1, tt.wantV1Detail)
			}
		})
	}
}

func TestParseMountinfo(t *testing.T) {
	data := "36 35 98:0 /mnt1 /mnt\\040with\\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n" +
		"40 35 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:12 - cgroup cgroup rw,memory\n" +
		"garbage line\n"
	got := parseMountinfo(data)
	want := []mountEntry{
		{root: "/mnt1", point: "/mnt with space", fstype: "ext3", superOpts: "rw,errors=continue"},
		{root: "/", point: "/sys/fs/cgroup/memory", fstype: "cgroup", superOpts: "rw,memory"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseMountinfo: got %+v, want %+v", got, want)
	}
}

func TestCgroupDir(t *testing.T) {
	tests := []struct {
		name string
		m    mountEntry
		path string
		want string
	}{
		{"root mount", mountEntry{root: "/", point: "/sys/fs/cgroup"}, "/user.slice/a", "/sys/fs/cgroup/user.slice/a"},
		{"bind of a subtree", mountEntry{root: "/docker/x", point: "/sys/fs/cgroup"}, "/docker/x/sub", "/sys/fs/cgroup/sub"},
		{"outside the mount", mountEntry{root: "/docker/x", point: "/sys/fs/cgroup"}, "/other", "/sys/fs/cgroup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cgroupDir(tt.m, tt.path); got != tt.want {
				t.Errorf("cgroupDir: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestChildProbeRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no kind", nil},
		{"unknown kind", []string{"reboot"}},
		{"relative overlay path", []string{kindOverlay, "lower", "/tmp/x"}},
		{"option injection", []string{kindOverlay, "/tmp/a,upperdir=/etc", "/tmp/x"}},
		{"unknown namespace", []string{kindNS, "time", "1:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runChildProbe(tt.args)
			if out.OK || out.Err == "" {
				t.Errorf("runChildProbe(%q): got %+v, want a failure", tt.args, out)
			}
		})
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add("36 35 98:0 /mnt1 /mnt\\040x rw - ext3 /dev/root rw\n")
	f.Add("40 35 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\\")
	f.Fuzz(func(t *testing.T, data string) {
		for _, m := range parseMountinfo(data) {
			if m.fstype == "" || m.point == "" {
				t.Errorf("parseMountinfo(%q): entry %+v has empty fields", data, m)
			}
		}
		if !strings.Contains(data, `\`) && unescapeMount(data) != data {
			t.Errorf("unescapeMount(%q) changed a string without escapes", data)
		}
	})
}

func FuzzParseProcCgroup(f *testing.F) {
	f.Add("4:memory:/a\n0::/b\n")
	f.Add("1:cpu,cpuacct:/x:y\n")
	f.Fuzz(func(t *testing.T, data string) {
		pc := parseProcCgroup(data)
		if pc.hasV2 && !strings.Contains(data, "0::"+pc.v2) {
			t.Errorf("parseProcCgroup(%q): v2 path %q not in input", data, pc.v2)
		}
	})
}
