package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// wantedControllers are the controllers Airlock limits resources with.
var wantedControllers = []string{"memory", "pids", "cpu"}

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	root, point, fstype, superOpts string
}

// parseMountinfo parses /proc/self/mountinfo (proc(5)).
func parseMountinfo(data string) []mountEntry {
	var out []mountEntry
	for _, line := range strings.Split(data, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f := strings.Fields(pre)
		g := strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		out = append(out, mountEntry{root: unescapeMount(f[3]), point: unescapeMount(f[4]), fstype: g[0], superOpts: g[2]})
	}
	return out
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// procCgroup is /proc/self/cgroup: the v2 path and the v1 path of each
// controller.
type procCgroup struct {
	v2     string
	hasV2  bool
	v1Path map[string]string
}

func parseProcCgroup(data string) procCgroup {
	pc := procCgroup{v1Path: map[string]string{}}
	for _, line := range strings.Split(data, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			pc.v2, pc.hasV2 = parts[2], true
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			pc.v1Path[c] = parts[2]
		}
	}
	return pc
}

// cgroupDir maps a cgroup path from /proc/self/cgroup into the mount.
func cgroupDir(m mountEntry, path string) string {
	rel := path
	if m.root != "/" {
		if path != m.root && !strings.HasPrefix(path, m.root+"/") {
			// Our cgroup is outside what this mount shows (another cgroup
			// namespace); the mount root is the best we have.
			return m.point
		}
		rel = strings.TrimPrefix(path, m.root)
	}
	return filepath.Join(m.point, rel)
}

// cgroupV2 is what doctor found about the unified hierarchy.
type cgroupV2 struct {
	mount       string
	path        string
	dir         string
	controllers []string // available to our cgroup (cgroup.controllers)
	subtree     []string // enabled for our children (cgroup.subtree_control)
	writable    bool     // we can create children and enable controllers
}

// cgroupV1 is one v1 hierarchy holding a wanted controller.
type cgroupV1 struct {
	mount    string
	path     string
	dir      string
	writable bool
}

type cgroupFacts struct {
	err string
	v2  *cgroupV2
	// v1Mounted is true when any v1 hierarchy is mounted.
	v1Mounted bool
	// v1 maps each wanted controller to its hierarchy, if mounted.
	v1 map[string]cgroupV1
}

// gatherCgroups reads the mount table and our cgroup membership. It only
// reads files and checks write access; it changes nothing.
func (h *host) gatherCgroups() cgroupFacts {
	cg := cgroupFacts{v1: map[string]cgroupV1{}}
	mi, err := os.ReadFile(h.paths.mountinfo)
	if err != nil {
		cg.err = "read mount table: " + err.Error()
		return cg
	}
	self, err := os.ReadFile(h.paths.selfCgroup)
	if err != nil {
		cg.err = "read cgroup membership: " + err.Error()
		return cg
	}
	pc := parseProcCgroup(string(self))
	for _, m := range parseMountinfo(string(mi)) {
		switch m.fstype {
		case "cgroup2":
			if cg.v2 != nil {
				continue
			}
			path := "/"
			if pc.hasV2 {
				path = pc.v2
			}
			dir := cgroupDir(m, path)
			v2 := &cgroupV2{mount: m.point, path: path, dir: dir}
			v2.controllers = readFields(filepath.Join(dir, "cgroup.controllers"))
			v2.subtree = readFields(filepath.Join(dir, "cgroup.subtree_control"))
			v2.writable = h.writable(dir) && h.writable(filepath.Join(dir, "cgroup.subtree_control")) &&
				h.writable(filepath.Join(dir, "cgroup.procs"))
			cg.v2 = v2
		case "cgroup":
			cg.v1Mounted = true
			for _, opt := range strings.Split(m.superOpts, ",") {
				if !slices.Contains(wantedControllers, opt) {
					continue
				}
				if _, seen := cg.v1[opt]; seen {
					continue
				}
				path, ok := pc.v1Path[opt]
				if !ok {
					path = "/"
				}
				dir := cgroupDir(m, path)
				cg.v1[opt] = cgroupV1{mount: m.point, path: path, dir: dir,
					writable: h.writable(dir) && h.writable(filepath.Join(dir, "cgroup.procs"))}
			}
		}
	}
	return cg
}

func readFields(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

func missingFrom(have []string) []string {
	var out []string
	for _, w := range wantedControllers {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

// v1Complete reports whether every wanted controller has a writable v1
// hierarchy.
func (cg cgroupFacts) v1Complete() bool {
	for _, w := range wantedControllers {
		if h, ok := cg.v1[w]; !ok || !h.writable {
			return false
		}
	}
	return true
}

const delegateFix = "run airlock in a delegated cgroup, e.g. systemd-run --user --scope -p Delegate=yes airlock run ..."

func checkCgroupV2(cg cgroupFacts, euid int) Check {
	c := Check{Layer: LayerCgroupV2}
	if cg.err != "" {
		c.Status, c.Detail = StatusMissing, cg.err
		return c
	}
	if cg.v2 == nil {
		c.Status = StatusMissing
		c.Detail = "no cgroup2 filesystem is mounted"
		c.Fix = "boot with systemd.unified_cgroup_hierarchy=1, or mount -t cgroup2 none /sys/fs/cgroup"
		return c
	}
	v2 := cg.v2
	offered := "none"
	if len(v2.controllers) > 0 {
		offered = strings.Join(v2.controllers, " ")
	}
	detail := fmt.Sprintf("cgroup2 at %s, cgroup %s, controllers: %s", v2.mount, v2.path, offered)
	var problems, fixes []string
	missing := missingFrom(v2.controllers)
	switch {
	case len(missing) == len(wantedControllers) && cg.v1Mounted:
		p := "no memory/pids/cpu controllers in the v2 hierarchy (hybrid host)"
		if cg.v1Complete() {
			p += "; v1 used"
		}
		problems = append(problems, p)
		fixes = append(fixes, "boot with systemd.unified_cgroup_hierarchy=1 (and cgroup_no_v1=all) to move the controllers to cgroup v2")
	case len(missing) > 0:
		problems = append(problems, fmt.Sprintf("controllers not available to cgroup %s: %s", v2.path, strings.Join(missing, " ")))
		fixes = append(fixes, "enable them in the parent cgroup's cgroup.subtree_control, or "+delegateFix)
	}
	if !v2.writable {
		problems = append(problems, fmt.Sprintf("cgroup %s is not writable by uid %d (not delegated)", v2.dir, euid))
		fixes = append(fixes, delegateFix)
	}
	if len(problems) == 0 {
		c.Status, c.Detail = StatusAvailable, detail+", writable"
		return c
	}
	c.Status = StatusDegraded
	c.Detail = detail + ": " + strings.Join(problems, "; ")
	c.Fix = strings.Join(slices.Compact(fixes), "; ")
	return c
}

func checkCgroupV1(cg cgroupFacts, euid int) Check {
	c := Check{Layer: LayerCgroupV1}
	if cg.err != "" {
		c.Status, c.Detail = StatusMissing, cg.err
		return c
	}
	if !cg.v1Mounted {
		c.Status = StatusMissing
		c.Detail = "no cgroup v1 hierarchies are mounted"
		if cg.v2 != nil {
			c.Detail += " (unified host: cgroup v2 is used instead)"
			c.Fix = "none needed while cgroup-v2 is available"
		} else {
			c.Fix = "mount the memory, pids and cpu cgroup hierarchies, or use cgroup v2"
		}
		return c
	}
	var found, problems []string
	notWritable := false
	for _, w := range wantedControllers {
		h, ok := cg.v1[w]
		if !ok {
			problems = append(problems, "no "+w+" hierarchy mounted")
			continue
		}
		found = append(found, fmt.Sprintf("%s at %s (cgroup %s)", w, h.mount, h.path))
		if !h.writable {
			notWritable = true
			problems = append(problems, fmt.Sprintf("%s cgroup %s is not writable by uid %d", w, h.dir, euid))
		}
	}
	detail := "hierarchies: " + strings.Join(found, ", ")
	if len(found) == 0 {
		detail = "no memory, pids or cpu hierarchy"
	}
	if len(problems) == 0 {
		c.Status, c.Detail = StatusAvailable, detail+"; writable"
		return c
	}
	c.Status = StatusDegraded
	if len(found) == 0 {
		c.Status = StatusMissing
	}
	c.Detail = detail + ": " + strings.Join(problems, "; ")
	if notWritable {
		c.Fix = "run airlock as root, or give the user write access to its cgroup in each hierarchy (e.g. cgcreate -a USER -t USER)"
	} else {
		c.Fix = "mount the missing hierarchies (mount -t cgroup -o CONTROLLER cgroup /sys/fs/cgroup/CONTROLLER)"
	}
	return c
}
