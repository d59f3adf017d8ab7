package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
)

// ErrUnavailable is wrapped by the errors of New when a requested limit
// cannot be enforced by any cgroup hierarchy of this host.
var ErrUnavailable = errors.New("cgroup controller unavailable")

// Limits are the resource limits of one sandbox run. A zero field means
// "not limited".
type Limits struct {
	// MemoryBytes caps the memory (and swap) of the whole run; the kernel's
	// OOM killer kills a process of the run when it is exceeded.
	MemoryBytes int64
	// Pids caps the number of tasks (processes and threads) of the run;
	// fork and clone fail with EAGAIN at the cap.
	Pids int64
	// CPUs caps the CPU time of the run, in CPUs (0.5 = half of one CPU).
	CPUs float64
}

// Controller says where one controller can be used from this process.
type Controller struct {
	// Name is "memory", "pids" or "cpu".
	Name string
	// Version is "v2" or "v1", or "" when no hierarchy carries the controller.
	Version string
	// Path is the caller's own cgroup directory in that hierarchy, under
	// which New creates its groups.
	Path string
	// Writable reports whether New is expected to be able to create a group
	// there and use the controller in it.
	Writable bool
	// Reason says why the controller is not usable, or how it will be used.
	Reason string
}

// Names of the controllers this package limits, in the order New sets them
// up and Detect lists them.
const (
	ctrlMemory = "memory"
	ctrlPids   = "pids"
	ctrlCPU    = "cpu"
)

var limitControllers = []string{ctrlMemory, ctrlPids, ctrlCPU}

// cpuPeriodUsec is the CFS period New uses; the quota is CPUs times it.
const cpuPeriodUsec = 100000

// minCPUQuotaUsec is the smallest CFS quota the kernel accepts (1ms).
const minCPUQuotaUsec = 1000

// validate checks l and returns the controllers it needs, in order.
func (l Limits) validate() ([]string, error) {
	var need []string
	if l.MemoryBytes < 0 {
		return nil, fmt.Errorf("memory limit %d is negative", l.MemoryBytes)
	}
	if l.MemoryBytes > 0 {
		need = append(need, ctrlMemory)
	}
	if l.Pids < 0 {
		return nil, fmt.Errorf("pids limit %d is negative", l.Pids)
	}
	if l.Pids > 0 {
		need = append(need, ctrlPids)
	}
	if math.IsNaN(l.CPUs) || math.IsInf(l.CPUs, 0) || l.CPUs < 0 {
		return nil, fmt.Errorf("cpu limit %v is not a non-negative number", l.CPUs)
	}
	if l.CPUs > 0 {
		if _, err := cpuQuotaUsec(l.CPUs); err != nil {
			return nil, err
		}
		need = append(need, ctrlCPU)
	}
	return need, nil
}

// cpuQuotaUsec converts a CPU count to a CFS quota for cpuPeriodUsec.
func cpuQuotaUsec(cpus float64) (int64, error) {
	if math.IsNaN(cpus) || math.IsInf(cpus, 0) || cpus <= 0 {
		return 0, fmt.Errorf("cpu limit %v is not a positive number", cpus)
	}
	q := math.Round(cpus * cpuPeriodUsec)
	if q < minCPUQuotaUsec {
		return 0, fmt.Errorf("cpu limit %v is below the minimum of %v", cpus, float64(minCPUQuotaUsec)/cpuPeriodUsec)
	}
	// The kernel caps quotas far below this; keep the conversion exact.
	if q > 1<<53 {
		return 0, fmt.Errorf("cpu limit %v is too large", cpus)
	}
	return int64(q), nil
}

// cpuMaxValue is the cgroup v2 cpu.max content for cpus.
func cpuMaxValue(cpus float64) (string, error) {
	q, err := cpuQuotaUsec(cpus)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %d", q, cpuPeriodUsec), nil
}

// validName reports whether name can be used as a cgroup directory name: a
// single path element of a restricted alphabet.
func validName(name string) bool {
	if name == "" || len(name) > 200 || name == "." || name == ".." {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '-' || r == '_' || r == '.':
		default:
			return false
		}
	}
	return true
}

// procCgroup is one line of /proc/<pid>/cgroup.
type procCgroup struct {
	// controllers is empty for the cgroup v2 line ("0::/path"); for v1 it
	// holds the hierarchy's controllers and "name=..." entries.
	controllers []string
	path        string
	v2          bool
}

// parseProcCgroup parses the content of /proc/<pid>/cgroup.
func parseProcCgroup(data []byte) ([]procCgroup, error) {
	var out []procCgroup
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("parse /proc/self/cgroup line %d: want 3 fields, got %d", n, len(parts))
		}
		if _, err := strconv.ParseUint(parts[0], 10, 32); err != nil {
			return nil, fmt.Errorf("parse /proc/self/cgroup line %d: hierarchy id %q: %w", n, parts[0], err)
		}
		p := parts[2]
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("parse /proc/self/cgroup line %d: path %q is not absolute", n, p)
		}
		c := procCgroup{path: p}
		if parts[0] == "0" && parts[1] == "" {
			c.v2 = true
		} else {
			if parts[1] == "" {
				return nil, fmt.Errorf("parse /proc/self/cgroup line %d: v1 hierarchy %s without controllers", n, parts[0])
			}
			c.controllers = strings.Split(parts[1], ",")
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read /proc/self/cgroup: %w", err)
	}
	return out, nil
}

// mountEntry is a cgroup or cgroup2 mount from /proc/<pid>/mountinfo.
type mountEntry struct {
	root       string // the cgroup shown at the mount point
	mountPoint string
	v2         bool
	options    []string // super options; for v1 they include the controllers
}

// parseMountinfo returns the cgroup and cgroup2 mounts listed in the content
// of /proc/<pid>/mountinfo, in order.
func parseMountinfo(data []byte) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(fields) {
			return nil, fmt.Errorf("parse mountinfo line %d: malformed", n)
		}
		fstype := fields[sep+1]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		root, err := unescapeMountField(fields[3])
		if err != nil {
			return nil, fmt.Errorf("parse mountinfo line %d: root: %w", n, err)
		}
		mp, err := unescapeMountField(fields[4])
		if err != nil {
			return nil, fmt.Errorf("parse mountinfo line %d: mount point: %w", n, err)
		}
		var opts []string
		if sep+3 < len(fields) {
			opts = strings.Split(fields[sep+3], ",")
		}
		out = append(out, mountEntry{root: root, mountPoint: mp, v2: fstype == "cgroup2", options: opts})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return out, nil
}

// unescapeMountField undoes the octal escapes (\040 for space and so on)
// that the kernel uses in mountinfo paths.
func unescapeMountField(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", fmt.Errorf("truncated escape in %q", s)
		}
		v, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape in %q: %w", s, err)
		}
		b.WriteByte(byte(v))
		i += 3
	}
	return b.String(), nil
}

// hostDir maps a cgroup path from /proc/self/cgroup to a directory under the
// mount point of a hierarchy whose mount shows cgroup root.
func hostDir(mountPoint, root, cgPath string) (string, error) {
	if !path.IsAbs(cgPath) || !path.IsAbs(root) || !path.IsAbs(mountPoint) {
		return "", fmt.Errorf("cgroup path %q, mount root %q or mount point %q is not absolute", cgPath, root, mountPoint)
	}
	cgPath = path.Clean(cgPath)
	root = path.Clean(root)
	var rel string
	switch {
	case root == "/":
		rel = cgPath
	case cgPath == root:
		rel = "/"
	case strings.HasPrefix(cgPath, root+"/"):
		rel = cgPath[len(root):]
	default:
		return "", fmt.Errorf("own cgroup %q is not under the mount's root %q", cgPath, root)
	}
	return path.Join(mountPoint, rel), nil
}

// parseKeyedCounters parses a flat keyed file of "key value" lines, as
// memory.events, pids.events, memory.oom_control and cpu.stat are. Values
// are unsigned integers; "max" counts are never negative.
func parseKeyedCounters(data []byte) (map[string]uint64, error) {
	out := make(map[string]uint64)
	for n, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want \"key value\", got %q", n+1, line)
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: value of %q: %w", n+1, f[0], err)
		}
		out[f[0]] = v
	}
	return out, nil
}

// parseUintFile parses a file holding one unsigned integer.
func parseUintFile(data []byte) (uint64, error) {
	s := strings.TrimSpace(string(data))
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %q: %w", s, err)
	}
	return v, nil
}

// memoryFiredV2 reports whether memory.events shows an OOM kill.
func memoryFiredV2(events []byte) (bool, error) {
	m, err := parseKeyedCounters(events)
	if err != nil {
		return false, fmt.Errorf("parse memory.events: %w", err)
	}
	return m["oom_kill"] > 0 || m["oom_group_kill"] > 0, nil
}

// memoryFiredV1 reports whether memory.oom_control shows an OOM kill. On
// kernels whose oom_control has no oom_kill counter it falls back to the
// failure count of the limit, failcnt (which may be nil when unreadable).
func memoryFiredV1(oomControl, failcnt []byte) (bool, error) {
	m, err := parseKeyedCounters(oomControl)
	if err != nil {
		return false, fmt.Errorf("parse memory.oom_control: %w", err)
	}
	if v, ok := m["oom_kill"]; ok {
		return v > 0, nil
	}
	if failcnt == nil {
		return false, errors.New("memory.oom_control has no oom_kill counter and memory.failcnt is unreadable")
	}
	n, err := parseUintFile(failcnt)
	if err != nil {
		return false, fmt.Errorf("parse memory.failcnt: %w", err)
	}
	return n > 0, nil
}

// pidsFired reports whether pids.events (v1 or v2) shows a refused fork.
func pidsFired(events []byte) (bool, error) {
	m, err := parseKeyedCounters(events)
	if err != nil {
		return false, fmt.Errorf("parse pids.events: %w", err)
	}
	return m["max"] > 0, nil
}

// parsePids parses cgroup.procs.
func parsePids(data []byte) ([]int, error) {
	var out []int
	for _, f := range strings.Fields(string(data)) {
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("parse cgroup.procs entry %q: not a pid", f)
		}
		out = append(out, v)
	}
	return out, nil
}
