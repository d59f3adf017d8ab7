package cgroup

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Values of Controller.Version and Backends.
const (
	version1 = "v1"
	version2 = "v2"
)

// Bounds of the loops of Kill and Close.
const (
	killTimeout   = 5 * time.Second
	freezeTimeout = time.Second
	rmdirTimeout  = 2 * time.Second
)

// testHookNoCgroupKill makes Kill ignore cgroup.kill, so tests can exercise
// the freeze-and-signal path on kernels that have it.
var testHookNoCgroupKill = false

// testHookKillHelperV1 makes New skip the v2 kill helper group, so tests
// can exercise the v1 freezer on hybrid hosts.
var testHookKillHelperV1 = false

// Group is one set of cgroups (one per hierarchy used) holding the
// processes of one sandbox run. Its methods are safe for concurrent use.
type Group struct {
	mu       sync.Mutex  // guards closed and the descriptors in dirs
	closed   bool        // Close has run
	dirs     []*groupDir // in creation order
	backends map[string]string
}

// groupDir is the group's directory in one hierarchy.
type groupDir struct {
	version     string   // version1 or version2
	controllers []string // limit controllers served here, or "freezer" for the v1 kill helper
	parentPath  string   // the caller's own cgroup directory
	name        string
	parentFD    int // the caller's own cgroup directory
	fd          int // the group directory, opened with O_NOFOLLOW
}

func (d *groupDir) path() string { return path.Join(d.parentPath, d.name) }

// sysView is what this process sees of the cgroup hierarchies.
type sysView struct {
	mounts  []mountEntry
	cgroups []procCgroup
	// prefix is prepended to every mount point (tests point it at a fake
	// cgroup file system; it is "" for the real one).
	prefix string
}

func loadSysView() (*sysView, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/cgroup: %w", err)
	}
	return newSysView(mi, cg, "")
}

func newSysView(mountinfo, procCgroupData []byte, prefix string) (*sysView, error) {
	mounts, err := parseMountinfo(mountinfo)
	if err != nil {
		return nil, err
	}
	cgs, err := parseProcCgroup(procCgroupData)
	if err != nil {
		return nil, err
	}
	return &sysView{mounts: mounts, cgroups: cgs, prefix: prefix}, nil
}

// candidate is one hierarchy that may serve a controller.
type candidate struct {
	version string
	// dir is the caller's own cgroup directory in the hierarchy, "" when the
	// hierarchy does not carry the controller for this process.
	dir string
	// usable is true when a group can be created under dir and use the
	// controller, as far as can be told without trying.
	usable bool
	// needEnable is true (v2) when the controller is not yet enabled in
	// dir's cgroup.subtree_control.
	needEnable bool
	// busy is true (v2) when needEnable and dir holds processes, so that
	// enabling will likely fail (no internal processes rule).
	busy   bool
	reason string
}

// ownDirV2 returns the caller's own cgroup directory in the v2 hierarchy.
func (v *sysView) ownDirV2() (string, error) {
	return v.ownDir(
		func(c procCgroup) bool { return c.v2 },
		func(m mountEntry) bool { return m.v2 },
		errors.New("no cgroup2 file system mounted"),
		errors.New("process has no cgroup v2 membership in /proc/self/cgroup"))
}

// ownDirV1 returns the caller's own cgroup directory in the v1 hierarchy
// carrying ctrl.
func (v *sysView) ownDirV1(ctrl string) (string, error) {
	return v.ownDir(
		func(c procCgroup) bool { return !c.v2 && slices.Contains(c.controllers, ctrl) },
		func(m mountEntry) bool { return !m.v2 && slices.Contains(m.options, ctrl) },
		fmt.Errorf("no cgroup v1 hierarchy with %s mounted", ctrl),
		fmt.Errorf("process has no %s membership in /proc/self/cgroup", ctrl))
}

// ownDir finds the caller's membership that isMember selects, and its
// directory under the first mount that isMount selects and that contains it.
func (v *sysView) ownDir(isMember func(procCgroup) bool, isMount func(mountEntry) bool, notMounted, notMember error) (string, error) {
	var own *procCgroup
	for i := range v.cgroups {
		if isMember(v.cgroups[i]) {
			own = &v.cgroups[i]
			break
		}
	}
	found := false
	var lastErr error
	for _, m := range v.mounts {
		if !isMount(m) {
			continue
		}
		found = true
		if own == nil {
			break
		}
		d, err := hostDir(path.Join("/", v.prefix, m.mountPoint), m.root, own.path)
		if err != nil {
			lastErr = err
			continue
		}
		return d, nil
	}
	switch {
	case !found:
		return "", notMounted
	case own == nil:
		return "", notMember
	default:
		return "", lastErr
	}
}

func (v *sysView) candidateV2(ctrl string) candidate {
	c := candidate{version: version2}
	dir, err := v.ownDirV2()
	if err != nil {
		c.reason = err.Error()
		return c
	}
	fd, err := openDirNoFollow(dir)
	if err != nil {
		c.reason = err.Error()
		return c
	}
	defer unix.Close(fd)
	avail, err := readFileAt(fd, "cgroup.controllers")
	if err != nil {
		c.reason = fmt.Sprintf("%s: %v", dir, err)
		return c
	}
	if !slices.Contains(strings.Fields(string(avail)), ctrl) {
		c.reason = fmt.Sprintf("%s not in %s/cgroup.controllers (bound to cgroup v1 or not delegated)", ctrl, dir)
		return c
	}
	c.dir = dir
	if err := unix.Access(dir, unix.W_OK); err != nil {
		c.reason = fmt.Sprintf("cannot create cgroups in %s: %v", dir, err)
		return c
	}
	enabled, err := readFileAt(fd, "cgroup.subtree_control")
	if err != nil {
		c.reason = fmt.Sprintf("%s: %v", dir, err)
		return c
	}
	c.usable = true
	if slices.Contains(strings.Fields(string(enabled)), ctrl) {
		return c
	}
	c.needEnable = true
	c.reason = fmt.Sprintf("%s to be enabled in %s/cgroup.subtree_control", ctrl, dir)
	procs, err := readFileAt(fd, "cgroup.procs")
	if err == nil && len(strings.TrimSpace(string(procs))) > 0 && !v.isMountRootV2(dir) {
		c.busy = true
		c.reason = fmt.Sprintf("%s not enabled in %s/cgroup.subtree_control and that cgroup has processes, so it cannot be (run airlock in a delegated cgroup, e.g. systemd-run --scope -p Delegate=yes)", ctrl, dir)
	}
	return c
}

// isMountRootV2 reports whether dir is the root of a cgroup2 mount (where
// the no internal processes rule may not apply).
func (v *sysView) isMountRootV2(dir string) bool {
	for _, m := range v.mounts {
		if m.v2 && m.root == "/" && path.Join("/", v.prefix, m.mountPoint) == dir {
			return true
		}
	}
	return false
}

func (v *sysView) candidateV1(ctrl string) candidate {
	c := candidate{version: version1}
	dir, err := v.ownDirV1(ctrl)
	if err != nil {
		c.reason = err.Error()
		return c
	}
	fd, err := openDirNoFollow(dir)
	if err != nil {
		c.reason = err.Error()
		return c
	}
	unix.Close(fd)
	c.dir = dir
	if err := unix.Access(dir, unix.W_OK); err != nil {
		c.reason = fmt.Sprintf("cannot create cgroups in %s: %v", dir, err)
		return c
	}
	c.usable = true
	return c
}

// enableV2 enables ctrl in the cgroup.subtree_control of the v2 directory
// dirfd.
func enableV2(dirfd int, ctrl string) error {
	if err := writeFileAt(dirfd, "cgroup.subtree_control", "+"+ctrl); err != nil {
		if errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("%w (the cgroup has processes; run airlock in a delegated cgroup, e.g. systemd-run --scope -p Delegate=yes)", err)
		}
		return err
	}
	return nil
}

// Detect lists the memory, pids and cpu controllers and where this process
// can use them from, preferring cgroup v2 as New does. It changes nothing.
func Detect() []Controller {
	v, err := loadSysView()
	if err != nil {
		out := make([]Controller, 0, len(limitControllers))
		for _, c := range limitControllers {
			out = append(out, Controller{Name: c, Reason: err.Error()})
		}
		return out
	}
	return v.detect()
}

func (v *sysView) detect() []Controller {
	out := make([]Controller, 0, len(limitControllers))
	for _, ctrl := range limitControllers {
		c2 := v.candidateV2(ctrl)
		if c2.usable && !c2.busy {
			r := ""
			if c2.needEnable {
				r = "will enable " + c2.reason
			}
			out = append(out, Controller{Name: ctrl, Version: version2, Path: c2.dir, Writable: true, Reason: r})
			continue
		}
		c1 := v.candidateV1(ctrl)
		reason := "v2: " + c2.reason + "; v1: " + c1.reason
		if c1.usable {
			reason = "v2: " + c2.reason
		}
		switch {
		case c1.usable:
			out = append(out, Controller{Name: ctrl, Version: version1, Path: c1.dir, Writable: true, Reason: reason})
		case c2.dir != "":
			out = append(out, Controller{Name: ctrl, Version: version2, Path: c2.dir, Reason: reason})
		case c1.dir != "":
			out = append(out, Controller{Name: ctrl, Version: version1, Path: c1.dir, Reason: reason})
		default:
			out = append(out, Controller{Name: ctrl, Reason: reason})
		}
	}
	return out
}

// New creates a fresh group named name (a single path element of letters,
// digits, '-', '_' and '.'; "" picks "airlock-<random>") under the caller's
// own cgroup in each hierarchy needed for l, and sets the limits. A group
// of that name that already exists is an error, never reused. Nothing is
// created when l has no limit. An error wraps ErrUnavailable when a limit
// cannot be enforced by any hierarchy.
func New(name string, l Limits) (*Group, error) {
	need, err := l.validate()
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	if name == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("cgroup: random name: %w", err)
		}
		name = "airlock-" + hex.EncodeToString(b[:])
	}
	if !validName(name) {
		return nil, fmt.Errorf("cgroup: invalid group name %q", name)
	}
	g := &Group{backends: map[string]string{}}
	if len(need) == 0 {
		return g, nil
	}
	v, err := loadSysView()
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.createLocked(v, name, need, l); err != nil {
		if rerr := g.removeDirsLocked(); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	return g, nil
}

// createLocked makes the group's directories and sets the limits. On error
// the caller removes whatever was created.
func (g *Group) createLocked(v *sysView, name string, need []string, l Limits) error {
	// Choose a hierarchy per controller.
	type choice struct{ version, dir string }
	chosen := map[string]choice{}
	for _, ctrl := range need {
		c2 := v.candidateV2(ctrl)
		if c2.usable && c2.needEnable {
			if err := enableInDir(c2.dir, ctrl); err != nil {
				c2.usable = false
				c2.reason = fmt.Sprintf("enable %s in %s/cgroup.subtree_control: %v", ctrl, c2.dir, err)
			}
		}
		if c2.usable {
			chosen[ctrl] = choice{version2, c2.dir}
			continue
		}
		c1 := v.candidateV1(ctrl)
		if c1.usable {
			chosen[ctrl] = choice{version1, c1.dir}
			continue
		}
		return fmt.Errorf("%s limit: %w: v2: %s; v1: %s", ctrl, ErrUnavailable, c2.reason, c1.reason)
	}

	// One directory per hierarchy; co-mounted v1 controllers share one.
	byDir := map[string]*groupDir{}
	for _, ctrl := range need {
		ch := chosen[ctrl]
		d, ok := byDir[ch.dir]
		if !ok {
			var err error
			d, err = g.mkdir(ch.version, ch.dir, name)
			if err != nil {
				return fmt.Errorf("%s limit: %w", ctrl, err)
			}
			byDir[ch.dir] = d
		}
		d.controllers = append(d.controllers, ctrl)
		g.backends[ctrl] = ch.version
	}
	for _, ctrl := range need {
		d := byDir[chosen[ctrl].dir]
		if err := setLimit(d, ctrl, l); err != nil {
			return fmt.Errorf("%s limit in %s: %w: %w", ctrl, d.path(), ErrUnavailable, err)
		}
	}
	g.addKillHelper(v, name)
	return nil
}

func enableInDir(dir, ctrl string) error {
	fd, err := openDirNoFollow(dir)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := checkCgroupFS(fd, version2); err != nil {
		return err
	}
	return enableV2(fd, ctrl)
}

// mkdir creates the group directory name under parent and records it in g.
func (g *Group) mkdir(version, parent, name string) (*groupDir, error) {
	pfd, err := openDirNoFollow(parent)
	if err != nil {
		return nil, err
	}
	if err := checkCgroupFS(pfd, version); err != nil {
		unix.Close(pfd)
		return nil, fmt.Errorf("%s: %w", parent, err)
	}
	if err := unix.Mkdirat(pfd, name, 0o755); err != nil {
		unix.Close(pfd)
		p := path.Join(parent, name)
		switch {
		case errors.Is(err, unix.EEXIST):
			return nil, fmt.Errorf("create %s: group already exists: %w", p, err)
		case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM), errors.Is(err, unix.EROFS):
			return nil, fmt.Errorf("create %s: %w: %w", p, ErrUnavailable, err)
		default:
			return nil, fmt.Errorf("create %s: %w", p, err)
		}
	}
	d := &groupDir{version: version, parentPath: parent, name: name, parentFD: pfd, fd: -1}
	g.dirs = append(g.dirs, d)
	fd, err := openSubdir(pfd, name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.path(), err)
	}
	d.fd = fd
	if err := checkCgroupFS(fd, version); err != nil {
		return nil, fmt.Errorf("%s: %w", d.path(), err)
	}
	return d, nil
}

// setLimit writes the limit for ctrl into d.
func setLimit(d *groupDir, ctrl string, l Limits) error {
	switch {
	case ctrl == ctrlMemory && d.version == version2:
		if err := writeFileAt(d.fd, "memory.max", strconv.FormatInt(l.MemoryBytes, 10)); err != nil {
			return err
		}
		if existsAt(d.fd, "memory.swap.max") {
			return writeFileAt(d.fd, "memory.swap.max", "0")
		}
		return nil
	case ctrl == ctrlMemory:
		v := strconv.FormatInt(l.MemoryBytes, 10)
		if err := writeFileAt(d.fd, "memory.limit_in_bytes", v); err != nil {
			return err
		}
		// memsw.limit_in_bytes must not be below limit_in_bytes, so it is
		// set second; it exists only with swap accounting.
		if existsAt(d.fd, "memory.memsw.limit_in_bytes") {
			if err := writeFileAt(d.fd, "memory.memsw.limit_in_bytes", v); err != nil {
				return err
			}
		}
		// Kill on OOM rather than pause the group.
		return writeFileAt(d.fd, "memory.oom_control", "0")
	case ctrl == ctrlPids:
		return writeFileAt(d.fd, "pids.max", strconv.FormatInt(l.Pids, 10))
	case ctrl == ctrlCPU && d.version == version2:
		v, err := cpuMaxValue(l.CPUs)
		if err != nil {
			return err
		}
		return writeFileAt(d.fd, "cpu.max", v)
	case ctrl == ctrlCPU:
		q, err := cpuQuotaUsec(l.CPUs)
		if err != nil {
			return err
		}
		if err := writeFileAt(d.fd, "cpu.cfs_period_us", strconv.Itoa(cpuPeriodUsec)); err != nil {
			return err
		}
		return writeFileAt(d.fd, "cpu.cfs_quota_us", strconv.FormatInt(q, 10))
	}
	return fmt.Errorf("unknown controller %q", ctrl)
}

// addKillHelper adds, when no directory of g is in cgroup v2, a
// controller-less v2 group (for cgroup.kill and cgroup.freeze) or else a v1
// freezer group, so that Kill can stop every process at once. It is best
// effort: without it Kill signals the processes one by one.
func (g *Group) addKillHelper(v *sysView, name string) {
	for _, d := range g.dirs {
		if d.version == version2 {
			return
		}
	}
	try := func(version, dir string, files ...string) bool {
		n := len(g.dirs)
		d, err := g.mkdir(version, dir, name)
		if err == nil && slices.ContainsFunc(files, func(f string) bool { return existsAt(d.fd, f) }) {
			return true
		}
		if len(g.dirs) > n {
			g.dropLastDir()
		}
		return false
	}
	if dir, err := v.ownDirV2(); err == nil && !testHookKillHelperV1 && try(version2, dir, "cgroup.kill", "cgroup.freeze") {
		return
	}
	if c := v.candidateV1("freezer"); c.usable && try(version1, c.dir, "freezer.state") {
		g.dirs[len(g.dirs)-1].controllers = []string{"freezer"}
	}
}

// dropLastDir removes the last directory created.
func (g *Group) dropLastDir() {
	d := g.dirs[len(g.dirs)-1]
	g.dirs = g.dirs[:len(g.dirs)-1]
	if d.fd >= 0 {
		unix.Close(d.fd)
	}
	_ = unix.Unlinkat(d.parentFD, d.name, unix.AT_REMOVEDIR)
	unix.Close(d.parentFD)
}

// Add moves process pid (all its threads) into every hierarchy of the
// group. Its later children start in the group, so the caller adds the
// sandbox's first process before that process runs untrusted code. Add on a
// group without limits does nothing.
func (g *Group) Add(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("cgroup: add pid %d: not a pid", pid)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return errors.New("cgroup: add: group is closed")
	}
	for _, d := range g.dirs {
		if err := writeFileAt(d.fd, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("cgroup: add pid %d to %s: %w", pid, d.path(), err)
		}
	}
	return nil
}

// Backends maps each limited controller to the hierarchy enforcing it, "v2"
// or "v1".
func (g *Group) Backends() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]string, len(g.backends))
	for k, v := range g.backends {
		out[k] = v
	}
	return out
}

// Reason reports, after the run has ended and before Close, which limit
// fired: "memory" when the OOM killer killed a process of the group, else
// "pids" when a fork was refused at the pids limit, else "".
func (g *Group) Reason() (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return "", errors.New("cgroup: reason: group is closed")
	}
	for _, d := range g.dirs {
		if !slices.Contains(d.controllers, ctrlMemory) {
			continue
		}
		fired, err := memoryFired(d)
		if err != nil {
			return "", fmt.Errorf("cgroup: reason: %s: %w", d.path(), err)
		}
		if fired {
			return ctrlMemory, nil
		}
	}
	for _, d := range g.dirs {
		if !slices.Contains(d.controllers, ctrlPids) {
			continue
		}
		data, err := readFileAt(d.fd, "pids.events")
		if err != nil {
			return "", fmt.Errorf("cgroup: reason: %s: %w", d.path(), err)
		}
		fired, err := pidsFired(data)
		if err != nil {
			return "", fmt.Errorf("cgroup: reason: %s: %w", d.path(), err)
		}
		if fired {
			return ctrlPids, nil
		}
	}
	return "", nil
}

func memoryFired(d *groupDir) (bool, error) {
	if d.version == version2 {
		data, err := readFileAt(d.fd, "memory.events")
		if err != nil {
			return false, err
		}
		return memoryFiredV2(data)
	}
	oc, err := readFileAt(d.fd, "memory.oom_control")
	if err != nil {
		return false, err
	}
	// failcnt is only consulted on kernels without an oom_kill counter.
	failcnt, ferr := readFileAt(d.fd, "memory.failcnt")
	if ferr != nil {
		failcnt = nil
	}
	return memoryFiredV1(oc, failcnt)
}

// Kill kills every process in the group and waits, for a bounded time, until
// the group is empty.
func (g *Group) Kill() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	if err := g.killLocked(); err != nil {
		return fmt.Errorf("cgroup: kill: %w", err)
	}
	return nil
}

func (g *Group) killLocked() error {
	if len(g.dirs) == 0 {
		return nil
	}
	// cgroup.kill (Linux 5.14) kills the whole group atomically.
	killed := false
	for _, d := range g.dirs {
		if d.version == version2 && !testHookNoCgroupKill && existsAt(d.fd, "cgroup.kill") {
			if err := writeFileAt(d.fd, "cgroup.kill", "1"); err == nil {
				killed = true
				break
			}
		}
	}
	thaw := func() {}
	if !killed {
		thaw = g.freezeLocked()
	}
	defer func() { thaw() }()
	deadline := time.Now().Add(killTimeout)
	wait := 5 * time.Millisecond
	for round := 0; ; round++ {
		remaining := 0
		var errs []error
		for _, d := range g.dirs {
			n, err := signalMembers(d)
			remaining += n
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.path(), err))
			}
		}
		if remaining == 0 && len(errs) == 0 {
			return nil
		}
		if round == 0 {
			// Frozen v1 tasks die only once thawed; they cannot fork
			// any more with SIGKILL pending.
			thaw()
			thaw = func() {}
		}
		if time.Now().After(deadline) {
			errs = append(errs, fmt.Errorf("%d processes remain after %v", remaining, killTimeout))
			return errors.Join(errs...)
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// freezeLocked freezes the group when it has a v2 directory or a v1 freezer
// directory, waiting a bounded time for the freeze to complete, and returns
// the function that thaws it.
func (g *Group) freezeLocked() (thaw func()) {
	for _, d := range g.dirs {
		switch {
		case d.version == version2 && existsAt(d.fd, "cgroup.freeze"):
			if writeFileAt(d.fd, "cgroup.freeze", "1") != nil {
				continue
			}
			waitUntil(freezeTimeout, func() bool {
				data, err := readFileAt(d.fd, "cgroup.events")
				if err != nil {
					return true
				}
				m, err := parseKeyedCounters(data)
				return err != nil || m["frozen"] == 1
			})
			return func() { _ = writeFileAt(d.fd, "cgroup.freeze", "0") }
		case d.version == version1 && slices.Contains(d.controllers, "freezer"):
			if writeFileAt(d.fd, "freezer.state", "FROZEN") != nil {
				continue
			}
			waitUntil(freezeTimeout, func() bool {
				data, err := readFileAt(d.fd, "freezer.state")
				return err != nil || strings.TrimSpace(string(data)) == "FROZEN"
			})
			return func() { _ = writeFileAt(d.fd, "freezer.state", "THAWED") }
		}
	}
	return func() {}
}

// waitUntil polls done until it reports true or timeout passes.
func waitUntil(timeout time.Duration, done func() bool) {
	deadline := time.Now().Add(timeout)
	for !done() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// signalMembers sends SIGKILL to every process listed in d's cgroup.procs
// and returns how many were listed. Each pid is pinned with a pidfd and
// signalled only if it is still listed after the pidfd was opened, so a pid
// reused by a process outside the group is never signalled.
func signalMembers(d *groupDir) (int, error) {
	data, err := readFileAt(d.fd, "cgroup.procs")
	if err != nil {
		return 0, err
	}
	pids, err := parsePids(data)
	if err != nil || len(pids) == 0 {
		return 0, err
	}
	fds := make(map[int]int, len(pids))
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	noPidfd := false
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		switch {
		case err == nil:
			fds[pid] = fd
		case errors.Is(err, unix.ENOSYS):
			noPidfd = true
		}
	}
	data, err = readFileAt(d.fd, "cgroup.procs")
	if err != nil {
		return len(pids), err
	}
	still, err := parsePids(data)
	if err != nil {
		return len(pids), err
	}
	for _, pid := range still {
		if fd, ok := fds[pid]; ok {
			_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		} else if noPidfd && slices.Contains(pids, pid) {
			// Kernels before 5.3: the narrow reuse race remains.
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	return len(still), nil
}

// Close kills every process in the group and removes its directories. It
// is safe to call more than once.
func (g *Group) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	var errs []error
	if err := g.killLocked(); err != nil {
		errs = append(errs, fmt.Errorf("kill: %w", err))
	}
	if err := g.removeDirsLocked(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cgroup: close: %w", err)
	}
	return nil
}

// removeDirsLocked removes every directory of g, retrying briefly while the
// kernel still reports it busy, and closes the descriptors.
func (g *Group) removeDirsLocked() error {
	var errs []error
	for i := len(g.dirs) - 1; i >= 0; i-- {
		d := g.dirs[i]
		if d.fd >= 0 {
			unix.Close(d.fd)
			d.fd = -1
		}
		deadline := time.Now().Add(rmdirTimeout)
		for {
			err := unix.Unlinkat(d.parentFD, d.name, unix.AT_REMOVEDIR)
			if err == nil || errors.Is(err, unix.ENOENT) {
				break
			}
			if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
				errs = append(errs, fmt.Errorf("remove %s: %w", d.path(), err))
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		unix.Close(d.parentFD)
	}
	g.dirs = nil
	return errors.Join(errs...)
}
