package guard

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Config says what the guard refuses.
type Config struct {
	// Protected are names relative to any directory: single names
	// (".bashrc", ".vscode") or two-part names (".git/hooks").
	Protected []string
	// DenyCreate are absolute sandbox paths that must not be created.
	DenyCreate []string
	// GitDirs are git directories not named ".git" (the targets of ".git"
	// files and symlinks); what a ".git" directory may not hold, they may
	// not hold either.
	GitDirs []string
	// LandlockFD is the sandbox's Landlock ruleset; 0 or less means none
	// (the guard never receives stdin as a ruleset). The thread that
	// performs operations on the sandbox's behalf enforces it on itself, so
	// the guard can never reach what Landlock denies the sandbox (a secret
	// created on the host after start, say). The caller keeps it open
	// while Serve runs.
	LandlockFD int
	// OnDeny is called for every refused operation (for the audit trail and
	// the user's explanation). It must not block.
	OnDeny func(Denial)
}

// Denial describes one refused operation.
type Denial struct {
	Pid     int
	Syscall string
	Path    string
	Rule    string
	// Allow is the policy setting that would have allowed the operation.
	Allow string
}

// rules is the compiled form of Config.
type rules struct {
	single  map[string]bool     // ".bashrc"
	nested  map[string][]string // ".git" -> ["hooks", "config"]
	parents map[string]bool     // ".git": may exist only as a real directory
	deny    map[string]bool
	gitDirs map[string]bool
}

func compile(c Config) rules {
	r := rules{single: map[string]bool{}, nested: map[string][]string{}, parents: map[string]bool{}, deny: map[string]bool{}, gitDirs: map[string]bool{}}
	for _, g := range c.GitDirs {
		r.gitDirs[path.Clean(g)] = true
	}
	for _, p := range c.Protected {
		if dir, name, ok := strings.Cut(p, "/"); ok {
			r.nested[dir] = append(r.nested[dir], name)
			r.parents[dir] = true
		} else {
			r.single[p] = true
		}
	}
	for _, d := range c.DenyCreate {
		r.deny[path.Clean(d)] = true
	}
	return r
}

// kind is what an operation would create at a name.
type kind int

const (
	kindDir kind = iota
	kindFile
	kindSymlink
	kindLink
)

// check decides whether an entry called base may appear in the directory
// whose real path is parent. It returns the violated rule, or "".
func (r rules) check(parent, base string, k kind) string {
	full := path.Join(parent, base)
	if r.deny[full] {
		return "deny_write " + full
	}
	if r.single[base] {
		return "protected " + base
	}
	if owner := r.nestedOwner(parent); owner != "" && slices.Contains(r.nested[owner], base) {
		return "protected " + owner + "/" + base
	}
	// A ".git" that is a file or a symlink can point git at any directory,
	// whose hooks and config would then run unprotected. Only a real
	// directory may be made; renaming one in is checked by the caller.
	if r.parents[base] && (k == kindFile || k == kindSymlink || k == kindLink) {
		return "protected " + base + " (only a directory may be created)"
	}
	return ""
}

// nestedOwner returns the protected parent name (".git") whose rules apply
// to entries of the directory parent: parent is such a directory, lies
// anywhere inside one (submodule git dirs under .git/modules, worktree
// dirs under .git/worktrees), or is a git dir a ".git" file points to.
func (r rules) nestedOwner(parent string) string {
	for owner := range r.nested {
		if path.Base(parent) == owner || strings.Contains(parent+"/", "/"+owner+"/") {
			return owner
		}
	}
	for g := range r.gitDirs {
		if parent == g || strings.HasPrefix(parent, g+"/") {
			if _, ok := r.nested[".git"]; ok {
				return ".git"
			}
		}
	}
	return ""
}

// receivesNested reports whether a directory arriving at base inside
// parent would fall under nested rules, so its content must be checked.
func (r rules) receivesNested(parent, base string) bool {
	return r.parents[base] || r.nestedOwner(parent) != "" || r.nestedOwner(path.Join(parent, base)) != ""
}

// allowFor names the policy setting that lifts rule.
func (r rules) allowFor(rule string) string {
	name, ok := strings.CutPrefix(rule, "protected ")
	if !ok {
		if p, ok := strings.CutPrefix(rule, "deny_write "); ok {
			return fmt.Sprintf("remove %q from filesystem.deny_write", p)
		}
		return ""
	}
	name, _, _ = strings.Cut(name, " ")
	if subs, ok := r.nested[name]; ok {
		// ".git" itself is not protected; what it may hold is.
		var names []string
		for _, sub := range subs {
			names = append(names, fmt.Sprintf("%q", name+"/"+sub))
		}
		return "filesystem.unprotect: [" + strings.Join(names, ", ") + "]"
	}
	return fmt.Sprintf("filesystem.unprotect: [%q]", name)
}

// checkRenamedDir decides whether a directory whose entries, at any depth,
// have the given names may arrive where nested rules apply: a ".git" (or
// a directory inside one) must not arrive with hooks or config inside.
func (r rules) checkRenamedDir(names []string) string {
	for owner, subs := range r.nested {
		for _, sub := range subs {
			if slices.Contains(names, sub) {
				return "protected " + owner + "/" + sub
			}
		}
	}
	return ""
}
