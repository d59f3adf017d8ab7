package landlock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds symlink resolution of a Deny path, like the kernel's
// MAXSYMLINKS.
const maxSymlinks = 40

// plan is the set of rules Restrict adds, computed from Rules and the
// filesystem as it is when Restrict is called.
type plan struct {
	// ro and rw are resolved, existing roots that get a rule of their own.
	// ro excludes roots that are punched for a Deny path.
	ro, rw []string
	// chain lists the directories between a punched ReadOnly root and a deny
	// point: each gets READ_DIR and its other entries get read-only grants.
	chain    []string
	chainSet map[string]bool
	// denied holds the deny points: paths that get no rule and are skipped
	// when their parent's entries are granted.
	denied map[string]bool
	// skipped lists Deny paths left out because they lie in a ReadWrite root.
	skipped []string
}

// makePlan resolves the paths in r and computes the rules.
func makePlan(r Rules) (*plan, error) {
	ro, err := resolveRoots("read-only", r.ReadOnly)
	if err != nil {
		return nil, err
	}
	rw, err := resolveRoots("read-write", r.ReadWrite)
	if err != nil {
		return nil, err
	}
	p := &plan{rw: rw, chainSet: map[string]bool{}, denied: map[string]bool{}}

	for _, d := range r.Deny {
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("deny path %q is not absolute", d)
		}
		lexical := filepath.Clean(d)
		resolved, err := resolveMissing(d)
		if err != nil {
			return nil, fmt.Errorf("resolve deny path %q: %w", d, err)
		}
		forms := []string{lexical}
		if resolved != lexical {
			forms = append(forms, resolved)
		}
		if w := writableAncestor(forms, rw); w != "" {
			if !r.SkipDenyUnderWritable {
				return nil, fmt.Errorf("deny path %q lies inside read-write path %q: landlock cannot hide it without revoking writes there (the mount layer can; set SkipDenyUnderWritable to rely on it alone)", d, w)
			}
			p.skipped = append(p.skipped, d)
			continue
		}
		for _, f := range forms {
			dp, err := denyPoint(f)
			if err != nil {
				return nil, fmt.Errorf("deny path %q: %w", d, err)
			}
			p.denied[dp] = true
		}
	}

	// Walk in a fixed order so the rule order does not depend on map order.
	points := make([]string, 0, len(p.denied))
	for dp := range p.denied {
		points = append(points, dp)
	}
	sort.Strings(points)

	for _, root := range ro {
		if p.denied[root] {
			continue
		}
		punched := false
		for _, dp := range points {
			if dp != root && within(dp, root) {
				punched = true
				p.walk(root, dp)
			}
		}
		if !punched {
			p.ro = append(p.ro, root)
		}
	}
	sort.Strings(p.chain)
	return p, nil
}

// walk records the chain directories from root down to the parent of dp,
// stopping early at another deny point (everything below it is denied too).
func (p *plan) walk(root, dp string) {
	cur := root
	for cur != dp {
		if p.denied[cur] {
			return
		}
		if !p.chainSet[cur] {
			p.chainSet[cur] = true
			p.chain = append(p.chain, cur)
		}
		rel, err := filepath.Rel(cur, dp)
		if err != nil {
			// within(dp, root) holds, so Rel cannot fail; stop rather than
			// guess.
			return
		}
		first, _, _ := strings.Cut(rel, string(filepath.Separator))
		cur = filepath.Join(cur, first)
	}
}

// apply opens every rule target and adds it to the ruleset. It returns the
// number of rules added.
func (p *plan) apply(rulesetFD int, handled uint64) (int, error) {
	n := 0
	add := func(fd int, access uint64, isDir bool, path string) error {
		added, err := addRule(rulesetFD, fd, access, handled, isDir)
		if err != nil {
			return fmt.Errorf("add landlock rule for %q: %w", path, err)
		}
		if added {
			n++
		}
		return nil
	}
	grantRoot := func(root string, access uint64) error {
		fd, mode, err := openNoSymlinks(root)
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if mode == unix.S_IFLNK {
			return fmt.Errorf("open %q: became a symlink after it was resolved", root)
		}
		return add(fd, access, mode == unix.S_IFDIR, root)
	}

	for _, root := range p.ro {
		if err := grantRoot(root, accessRO); err != nil {
			return n, err
		}
	}
	for _, root := range p.rw {
		if err := grantRoot(root, handled); err != nil {
			return n, err
		}
	}
	for _, dir := range p.chain {
		if err := p.grantChainDir(dir, add); err != nil {
			return n, err
		}
	}
	return n, nil
}

// grantChainDir gives dir READ_DIR only and grants every entry in it that is
// neither a chain directory nor a deny point, opened without following
// symlinks. Symlinks get no rule.
func (p *plan) grantChainDir(dir string, add func(fd int, access uint64, isDir bool, path string) error) error {
	fd, mode, err := openNoSymlinks(dir)
	if errors.Is(err, unix.ENOENT) {
		// The directory vanished: nothing in it to grant.
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if mode != unix.S_IFDIR {
		return fmt.Errorf("open %q: no longer a directory", dir)
	}
	if err := add(fd, accessList, true, dir); err != nil {
		return err
	}
	names, err := readDirNames(fd, dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		full := filepath.Join(dir, name)
		if p.chainSet[full] || p.denied[full] {
			continue
		}
		efd, err := unix.Openat(fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open %q: %w", full, err)
		}
		emode, err := fdMode(efd)
		if err == nil && emode != unix.S_IFLNK {
			err = add(efd, accessRO, emode == unix.S_IFDIR, full)
		}
		unix.Close(efd)
		if errors.Is(err, unix.EBADFD) {
			// A pseudo-filesystem object (an nsfs bind mount, for one):
			// Landlock cannot attach a rule to it, so it stays
			// inaccessible, which errs on the side of denying.
			continue
		}
		if err != nil {
			return fmt.Errorf("grant %q: %w", full, err)
		}
	}
	return nil
}

// readDirNames lists the directory that the O_PATH descriptor fd refers to.
func readDirNames(fd int, path string) ([]string, error) {
	dfd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open directory %q for listing: %w", path, err)
	}
	f := os.NewFile(uintptr(dfd), path)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", path, err)
	}
	sort.Strings(names)
	return names, nil
}

// openNoSymlinks opens an absolute path with O_PATH, one component at a time
// and without following any symlink, so a symlink swapped into the path
// fails the open instead of redirecting it. It returns the descriptor and
// the file type (S_IFDIR, S_IFLNK, ...) of the last component.
func openNoSymlinks(path string) (int, uint32, error) {
	if !filepath.IsAbs(path) {
		return -1, 0, fmt.Errorf("open %q: path is not absolute", path)
	}
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("open /: %w", err)
	}
	parts := strings.Split(strings.Trim(filepath.Clean(path), "/"), "/")
	if parts[0] == "" {
		parts = nil
	}
	for i, c := range parts {
		flags := unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i < len(parts)-1 {
			flags |= unix.O_DIRECTORY
		}
		next, err := unix.Openat(fd, c, flags, 0)
		unix.Close(fd)
		if err != nil {
			if i < len(parts)-1 && (errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP)) {
				return -1, 0, fmt.Errorf("open %q: component %q is not a directory (a symlink appeared after resolution?): %w", path, c, err)
			}
			return -1, 0, fmt.Errorf("open %q: %w", path, err)
		}
		fd = next
	}
	mode, err := fdMode(fd)
	if err != nil {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("stat %q: %w", path, err)
	}
	return fd, mode, nil
}

// fdMode returns the file type bits of fd.
func fdMode(fd int) (uint32, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, err
	}
	return st.Mode & unix.S_IFMT, nil
}

// resolveRoots validates and resolves ReadOnly or ReadWrite paths. Paths
// that do not exist are dropped; any other failure is an error.
func resolveRoots(kind string, paths []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("%s path %q is not absolute", kind, p)
		}
		r, err := filepath.EvalSymlinks(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("resolve %s path %q: %w", kind, p, err)
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// resolveMissing resolves the symlinks in an absolute path the way the
// kernel would, including links whose target does not exist yet; from the
// first component that does not exist, the rest is kept as written.
func resolveMissing(path string) (string, error) {
	rest := strings.Split(path, "/")
	done := "/"
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			done = filepath.Dir(done)
			continue
		}
		next := filepath.Join(done, c)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
			return filepath.Join(append([]string{next}, rest...)...), nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		links++
		if links > maxSymlinks {
			return "", fmt.Errorf("too many levels of symbolic links at %q: %w", next, unix.ELOOP)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			done = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return done, nil
}

// denyPoint returns the path that gets no rights for deny path d: d itself,
// or its first component that is missing, a symlink or not a directory.
func denyPoint(d string) (string, error) {
	cur := "/"
	for _, c := range strings.Split(strings.Trim(d, "/"), "/") {
		if c == "" {
			continue
		}
		cur = filepath.Join(cur, c)
		var st unix.Stat_t
		err := unix.Lstat(cur, &st)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return cur, nil
		}
		if err != nil {
			return "", fmt.Errorf("lstat %q: %w", cur, err)
		}
		if cur == d || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return cur, nil
		}
	}
	return cur, nil
}

// writableAncestor returns the first read-write root that contains one of
// forms, or "".
func writableAncestor(forms, rw []string) string {
	for _, f := range forms {
		for _, w := range rw {
			if within(f, w) {
				return w
			}
		}
	}
	return ""
}

// within reports whether p is root or lies beneath it. Both are clean and
// absolute.
func within(p, root string) bool {
	if root == "/" {
		return true
	}
	return p == root || strings.HasPrefix(p, root+"/")
}
