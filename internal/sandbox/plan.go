package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/airlock-sandbox/airlock/internal/policy"
)

// PlanInput is what Plan needs beyond the policy: facts about the invoking
// process, passed in so the plan can be computed for tests without touching
// the real environment.
type PlanInput struct {
	Argv    []string
	HostEnv []string
	Cwd     string
	Home    string
	UID     int
	GID     int
	// Self is the path of the running airlock binary; it is kept read-only
	// if it lies inside a writable path.
	Self string
	TTY  bool
	// ProxyUser and ProxyToken are the run's egress proxy credentials; an
	// empty token means no proxy listeners are made.
	ProxyUser, ProxyToken string
}

// PlanError is a policy that cannot be turned into a sandbox as asked.
type PlanError struct{ Msg, Hint string }

func (e *PlanError) Error() string { return e.Msg }

// Plan resolves the policy against the host's filesystem into a Spec. Globs
// are expanded, symlinks outside writable paths resolved, mandatory
// protections found at any depth of the writable paths.
func Plan(p *policy.Policy, in PlanInput) (*Spec, error) {
	if len(in.Argv) == 0 {
		return nil, &PlanError{Msg: "no command given", Hint: "airlock run -- CMD [ARGS...]"}
	}
	ws := p.Filesystem.Workspace
	if ws == "" {
		ws = in.Cwd
	}
	ws, err := canonicalDir(ws, in.Cwd, "workspace")
	if err != nil {
		return nil, err
	}
	// Relative rules are relative to the canonical workspace, whatever
	// spelling (a symlink, a relative path) the user gave for it.
	canon := *p
	canon.Filesystem.Workspace = ws
	ep, err := canon.Expand(in.Home, ws)
	if err != nil {
		return nil, err
	}
	// Contradictions between expanded paths (~/x written two ways) only
	// show after expansion.
	if err := ep.Validate(); err != nil {
		return nil, err
	}
	fsp := ep.Filesystem
	// An allow_read entry that names a deny_read entry exactly is the
	// explicit override of that entry: drop it.
	fsp.DenyRead = slices.DeleteFunc(slices.Clone(fsp.DenyRead), func(d string) bool {
		return slices.Contains(fsp.AllowRead, d)
	})

	s := &Spec{
		Argv:      in.Argv,
		HostUID:   in.UID,
		HostGID:   in.GID,
		Hostname:  p.Process.Hostname,
		TTY:       in.TTY,
		Workspace: ws,
		Landlock:  layerMode(p, policy.LayerLandlock),
		Seccomp:   layerMode(p, policy.LayerSeccomp),
	}
	if s.Hostname == "" {
		s.Hostname = "airlock"
	}
	s.UID, s.GID = in.UID, in.GID
	if p.Process.Root {
		s.UID, s.GID = 0, 0
	} else if in.UID == 0 {
		// Invoked by root: the command still must not be root inside.
		s.UID, s.GID = 1000, 1000
	}
	s.Dir = ws
	cwd := in.Cwd
	if c, err := filepath.EvalSymlinks(cwd); err == nil {
		cwd = c
	}
	if cwd == ws || strings.HasPrefix(cwd, ws+"/") {
		s.Dir = cwd
	}
	var proxyEnv []string
	if in.ProxyToken != "" {
		s.Egress = true
		self := in.Self
		if self == "" || hiddenByPrivateTmp(self, nil) {
			self = ""
		}
		proxyEnv = ProxyEnv(in.ProxyUser, in.ProxyToken, self)
	}
	s.Env = BuildEnv(in.HostEnv, p.Process.Env, s.Dir, proxyEnv)

	s.Writable = []string{ws}
	for _, w := range fsp.AllowWrite {
		c, err := canonicalExisting(w, "allow_write")
		if err != nil {
			return nil, err
		}
		if !slices.Contains(s.Writable, c) {
			s.Writable = append(s.Writable, c)
		}
	}
	for _, w := range s.Writable {
		if w == "/" {
			return nil, &PlanError{Msg: "the whole filesystem cannot be writable", Hint: "name the directories the command must write with --allow-write"}
		}
	}

	// Walk writable roots once for base-name deny globs and protections.
	var globs []string
	for _, d := range fsp.DenyRead {
		if !strings.Contains(d, "/") {
			globs = append(globs, d)
		}
	}
	protected := p.Protected()
	found, err := walkWritable(s.Writable, globs, protected)
	if err != nil {
		return nil, err
	}

	// Deny-read: explicit paths, then glob matches.
	denied := map[string]bool{}
	addDeny := func(path string, inWritable bool) error {
		_, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if !inWritable && !underAny(path, s.Writable) {
				denied[path] = true
				s.DenyMissing = append(s.DenyMissing, path)
			}
			return nil
		case err != nil:
			return &PlanError{Msg: fmt.Sprintf("deny_read %s: %v", path, err), Hint: "fix the path or remove the rule"}
		}
		// Mask the real object, whatever symlinks (the last component or
		// any directory on the way, like a dotfile manager's ~/.config)
		// lead to it. Inside writable trees links are the sandbox's own:
		// a path that goes through one is not followed (its target is
		// masked by its own rule, or is not secret).
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return nil // dangling: nothing to read
		}
		if real != path && (inWritable || underAny(path, s.Writable) || underAny(real, s.Writable)) {
			return nil
		}
		path = real
		fi, err := os.Stat(path)
		if err != nil {
			return nil
		}
		if denied[path] {
			return nil
		}
		for _, w := range s.Writable {
			if w == path || strings.HasPrefix(w, path+"/") {
				return &PlanError{
					Msg:  fmt.Sprintf("deny_read %s contains the writable path %s", path, w),
					Hint: fmt.Sprintf("choose a workspace outside %s, or re-allow it with --allow-read %s", path, path),
				}
			}
		}
		denied[path] = true
		if fi.IsDir() {
			s.MaskDirs = append(s.MaskDirs, path)
		} else {
			s.MaskFiles = append(s.MaskFiles, path)
		}
		return nil
	}
	for _, d := range fsp.DenyRead {
		if !strings.Contains(d, "/") {
			continue
		}
		matches := []string{d}
		if hasMeta(d) {
			if matches, err = filepath.Glob(d); err != nil {
				return nil, &PlanError{Msg: fmt.Sprintf("deny_read %q: %v", d, err)}
			}
		}
		for _, m := range matches {
			if err := addDeny(m, false); err != nil {
				return nil, err
			}
		}
	}
	// Base-name globs also apply to the top level of the home directory.
	if len(globs) > 0 && in.Home != "" && !underAny(in.Home, s.Writable) {
		ents, _ := os.ReadDir(in.Home)
		for _, e := range ents {
			if compileGlobs(globs).match(e.Name()) {
				found.globMatches = append(found.globMatches, filepath.Join(in.Home, e.Name()))
			}
		}
	}
	for _, m := range found.globMatches {
		if err := addDeny(m, true); err != nil {
			return nil, err
		}
	}
	// allow_read under a masked directory is bound back in.
	for _, a := range fsp.AllowRead {
		for _, d := range s.MaskDirs {
			if strings.HasPrefix(a, d+"/") {
				if _, err := os.Lstat(a); err == nil {
					s.Reexpose = append(s.Reexpose, a)
				}
			}
		}
	}

	// Read-only inside writable: deny_write rules, protections, and our own binary.
	ro := map[string]bool{}
	for _, d := range fsp.DenyWrite {
		if _, err := os.Lstat(d); err != nil {
			if errors.Is(err, fs.ErrNotExist) && !underAny(d, s.Writable) {
				continue // read-only already
			}
			if errors.Is(err, fs.ErrNotExist) {
				s.DenyCreate = append(s.DenyCreate, d)
				continue
			}
			return nil, &PlanError{Msg: fmt.Sprintf("deny_write %s: %v", d, err)}
		}
		if underAny(d, s.Writable) {
			ro[d] = true
		}
	}
	for _, f := range found.protected {
		ro[f] = true
	}
	// Git directories reached through a ".git" file or symlink, inside a
	// writable tree: protected like a ".git" directory.
	for _, g := range found.gitDirs {
		if !underAny(g, s.Writable) || slices.Contains(s.GitDirs, g) {
			continue
		}
		s.GitDirs = append(s.GitDirs, g)
		for _, p := range protected {
			if _, sub, ok := strings.Cut(p, "/"); ok {
				if _, err := os.Lstat(g + "/" + sub); err == nil {
					ro[g+"/"+sub] = true
				}
			}
		}
	}
	if in.Self != "" && underAny(in.Self, s.Writable) {
		ro[in.Self] = true
	}
	for r := range ro {
		s.ReadOnly = append(s.ReadOnly, r)
	}
	sort.Strings(s.ReadOnly)
	sort.Strings(s.MaskDirs)
	sort.Strings(s.MaskFiles)
	sort.Strings(s.DenyMissing)

	if len(fsp.AllowUnixSockets) > 0 {
		s.AllowUnixSockets = true
		for _, u := range fsp.AllowUnixSockets {
			fi, err := os.Stat(u)
			if err != nil {
				return nil, &PlanError{Msg: fmt.Sprintf("allow_unix_sockets %s: %v", u, err)}
			}
			if fi.Mode()&fs.ModeSocket == 0 {
				return nil, &PlanError{Msg: fmt.Sprintf("allow_unix_sockets %s: not a socket", u)}
			}
			c, err := filepath.EvalSymlinks(u)
			if err != nil {
				return nil, &PlanError{Msg: fmt.Sprintf("allow_unix_sockets %s: %v", u, unwrapPathErr(err))}
			}
			s.UnixSockets = append(s.UnixSockets, c)
		}
		// Once AF_UNIX sockets may be created, every socket under a readable
		// path could be connected to. Hide the usual places system sockets
		// live (Docker, D-Bus, systemd, agents) and bind back only the named
		// ones.
		for _, dir := range []string{"/run", "/var/run"} {
			c, err := filepath.EvalSymlinks(dir)
			if err != nil || slices.Contains(s.MaskDirs, c) || underAny(c, s.Writable) {
				continue
			}
			if slices.ContainsFunc(s.Writable, func(w string) bool { return strings.HasPrefix(w, c+"/") }) {
				continue
			}
			s.MaskDirs = append(s.MaskDirs, c)
		}
		sort.Strings(s.MaskDirs)
	}
	denyExec, err := deniedPrograms(p.Commands.Deny, s.Env, s.Writable)
	if err != nil {
		return nil, err
	}
	for _, d := range denyExec {
		if !slices.Contains(s.MaskFiles, d) {
			s.MaskFiles = append(s.MaskFiles, d)
		}
	}
	s.DenyExec = denyExec
	sort.Strings(s.MaskFiles)
	s.Protected = protected
	s.NotifyCreate = len(protected) > 0 || len(s.DenyCreate) > 0
	s.Rlimits = rlimits(p.Limits)
	return s, nil
}

func layerMode(p *policy.Policy, layer string) Layer {
	if slices.Contains(p.AllowDegraded, layer) {
		return BestEffort
	}
	return Require
}

type walkResult struct {
	globMatches []string
	protected   []string
	gitDirs     []string
}

// walkWritable walks every writable root at any depth, without following
// symlinks, collecting base-name glob matches and existing protected paths.
// Directories are read by a few workers in parallel: on a large repository
// the walk is bound by getdents, and it runs on every start.
func walkWritable(roots, globs, protected []string) (walkResult, error) {
	w := &walker{globs: compileGlobs(globs), single: map[string]bool{}, nested: map[string][]string{}}
	// Protected names are either single names (".bashrc") or two-part
	// names under a directory (".git/hooks").
	for _, p := range protected {
		if dir, name, ok := strings.Cut(p, "/"); ok {
			w.nested[dir] = append(w.nested[dir], name)
		} else {
			w.single[p] = true
		}
	}
	w.cond = sync.NewCond(&w.mu)
	w.queue = slices.Clone(roots)
	workers := min(runtime.GOMAXPROCS(0), 4)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.work()
		}()
	}
	wg.Wait()
	sort.Strings(w.res.globMatches)
	sort.Strings(w.res.protected)
	return w.res, w.err
}

type walker struct {
	globs  *nameMatcher
	single map[string]bool
	nested map[string][]string

	mu   sync.Mutex
	cond *sync.Cond
	// queue, busy, res and err are guarded by mu.
	queue []string
	busy  int
	res   walkResult
	err   error
}

func (w *walker) work() {
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && w.busy > 0 && w.err == nil {
			w.cond.Wait()
		}
		if len(w.queue) == 0 || w.err != nil {
			w.cond.Broadcast()
			w.mu.Unlock()
			return
		}
		dir := w.queue[len(w.queue)-1]
		w.queue = w.queue[:len(w.queue)-1]
		w.busy++
		w.mu.Unlock()

		subdirs, found, err := w.scan(dir)

		w.mu.Lock()
		w.busy--
		if err != nil && w.err == nil {
			w.err = err
		}
		w.queue = append(w.queue, subdirs...)
		w.res.globMatches = append(w.res.globMatches, found.globMatches...)
		w.res.protected = append(w.res.protected, found.protected...)
		w.res.gitDirs = append(w.res.gitDirs, found.gitDirs...)
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

// scan reads one directory.
func (w *walker) scan(dir string) (subdirs []string, r walkResult, err error) {
	f, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
			return nil, r, nil
		}
		return nil, r, &PlanError{Msg: fmt.Sprintf("scan %s: %v", dir, err)}
	}
	ents, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return nil, r, &PlanError{Msg: fmt.Sprintf("scan %s: %v", dir, err)}
	}
	// Inside a git directory at any depth (submodule git dirs live in
	// .git/modules/NAME, worktrees in .git/worktrees/NAME), the names that
	// git executes or obeys are protected.
	var owner string
	for o := range w.nested {
		if strings.HasSuffix(dir, "/"+o) || strings.Contains(dir, "/"+o+"/") {
			owner = o
		}
	}
	for _, e := range ents {
		name := e.Name()
		full := dir + "/" + name
		if w.single[name] {
			r.protected = append(r.protected, full)
		}
		if owner != "" && slices.Contains(w.nested[owner], name) {
			r.protected = append(r.protected, full)
		}
		if _, ok := w.nested[name]; ok && !e.IsDir() {
			// A ".git" file or symlink points git at another directory:
			// the pointer is protected, and so is what it points to. (A
			// symlink cannot be bound read-only without following it; the
			// guard refuses to create a new one in its place.)
			if e.Type()&fs.ModeSymlink == 0 {
				r.protected = append(r.protected, full)
			}
			if target := gitDirTarget(full, e.Type()); target != "" {
				r.gitDirs = append(r.gitDirs, target)
			}
		}
		if w.globs.match(name) {
			r.globMatches = append(r.globMatches, full)
		}
		if e.IsDir() {
			subdirs = append(subdirs, full)
		}
	}
	return subdirs, r, nil
}

// gitDirTarget returns the directory a ".git" file ("gitdir: PATH") or
// symlink points to, canonical, or "" when there is none.
func gitDirTarget(p string, typ fs.FileMode) string {
	var target string
	if typ&fs.ModeSymlink != 0 {
		target = p
	} else {
		b, err := os.ReadFile(p)
		if err != nil || len(b) > 4096 {
			return ""
		}
		line, _, _ := strings.Cut(string(b), "\n")
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
		if !ok {
			return ""
		}
		target = strings.TrimSpace(v)
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
	}
	c, err := filepath.EvalSymlinks(target)
	if err != nil {
		return ""
	}
	if fi, err := os.Stat(c); err != nil || !fi.IsDir() {
		return ""
	}
	return c
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[`) }

func underAny(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

func canonicalDir(p, cwd, field string) (string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(cwd, p)
	}
	c, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", &PlanError{Msg: fmt.Sprintf("%s %s: %v", field, p, unwrapPathErr(err)), Hint: "pass an existing directory with --workspace DIR"}
	}
	fi, err := os.Stat(c)
	if err != nil || !fi.IsDir() {
		return "", &PlanError{Msg: fmt.Sprintf("%s %s: not a directory", field, p)}
	}
	return c, nil
}

func canonicalExisting(p, field string) (string, error) {
	c, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", &PlanError{Msg: fmt.Sprintf("%s %s: %v", field, p, unwrapPathErr(err)), Hint: "create it first; airlock never creates host paths"}
	}
	return c, nil
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// deniedPrograms resolves the programs that command deny rules name as a
// whole ("sudo", "sudo *", "/usr/bin/pkexec *") to the binaries the
// sandbox could run them from: every match in the command's PATH, with
// symlinks resolved, and every other name in those directories for the
// same file (hard links). They are masked like deny_read files, so the
// kernel refuses to run (or read, or copy) them by any path: another
// PATH entry, a symlink, /proc/self/root, ld.so, an interpreter's exec.
// A rule with arguments ("git push --force*") cannot be enforced this way
// and stays with `airlock check` and the hooks. A binary inside a
// writable tree is refused: the sandbox could replace it.
func deniedPrograms(rules []policy.CommandRule, env, writable []string) ([]string, error) {
	var progs []string
	for _, r := range rules {
		w := strings.Fields(r.Pattern)
		if len(w) == 0 || len(w) > 2 || len(w) == 2 && w[1] != "*" || strings.ContainsAny(w[0], "*?[") {
			continue
		}
		progs = append(progs, w[0])
	}
	if len(progs) == 0 {
		return nil, nil
	}
	path := "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	dirs := filepath.SplitList(path)
	type fileID struct{ dev, ino uint64 }
	want := map[fileID]bool{}
	var out []string
	add := func(p string) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for _, prog := range progs {
		var cands []string
		if strings.Contains(prog, "/") {
			cands = []string{prog}
		} else {
			for _, d := range dirs {
				if filepath.IsAbs(d) {
					cands = append(cands, filepath.Join(d, prog))
				}
			}
		}
		for _, c := range cands {
			real, err := filepath.EvalSymlinks(c)
			if err != nil {
				continue
			}
			fi, err := os.Stat(real)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if underAny(real, writable) {
				return nil, &PlanError{Msg: fmt.Sprintf("cannot deny %s: its binary %s lies in a writable path, where the sandbox could replace it", prog, real)}
			}
			add(real)
			if id, ok := statID(fi); ok {
				want[fileID(id)] = true
			}
		}
	}
	// Other names of the same files in the PATH directories.
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.Type().IsRegular() {
				continue
			}
			p := filepath.Join(d, e.Name())
			fi, err := os.Stat(p)
			if err != nil {
				continue
			}
			if id, ok := statID(fi); ok && want[fileID(id)] {
				if real, err := filepath.EvalSymlinks(p); err == nil && !underAny(real, writable) {
					add(real)
				}
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
