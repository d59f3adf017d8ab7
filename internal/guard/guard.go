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
}

func compile(c Config) rules {
	r := rules{single: map[string]bool{}, nested: map[string][]string{}, parents: map[string]bool{}, deny: map[string]bool{}}
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
	if subs, ok := r.nested[path.Base(parent)]; ok && slices.Contains(subs, base) {
		return "protected " + path.Base(parent) + "/" + base
	}
	// A ".git" that is a file or a symlink can point git at any directory,
	// whose hooks and config would then run unprotected. Only a real
	// directory may be made; renaming one in is checked by the caller.
	if r.parents[base] && (k == kindFile || k == kindSymlink || k == kindLink) {
		return "protected " + base + " (only a directory may be created)"
	}
	return ""
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

// checkRenamedDir decides whether a directory whose entries are names may be
// renamed to base: a ".git" must not arrive with hooks or config inside.
func (r rules) checkRenamedDir(base string, names []string) string {
	for _, sub := range r.nested[base] {
		if slices.Contains(names, sub) {
			return "protected " + base + "/" + sub
		}
	}
	return ""
}
