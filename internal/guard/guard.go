package guard

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
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
	// OnExec, when set, is called for every execve/execveat the sandbox
	// attempts (before the kernel runs it), one call at a time, in the
	// order the notifications arrive. It must not block for long: the
	// exec, and every other notification, waits for it to return. The
	// record is an audit trail, not a decision: see Exec. Exec
	// notifications need seccomp.Options.NotifyExec; with OnExec nil they
	// are let through without being read.
	OnExec func(Exec)
}

// Exec records one execve or execveat as the sandbox asked for it.
//
// It is a RECORD, NOT AN ENFORCEMENT POINT. The guard reads the arguments
// from the task's memory and then tells the kernel to continue the syscall
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE), and the kernel then reads the same
// memory again. Another thread of the task (or another process sharing its
// memory) can change the path and argv in between, so the program that
// runs may differ from the one recorded. Nothing may be allowed or denied
// on the strength of an Exec, and the record does not say whether the
// exec succeeded: a path that does not exist is recorded and then fails
// with ENOENT, as it would without the guard.
type Exec struct {
	// Time is when the guard received the notification.
	Time time.Time
	// Pid is the calling thread as the notification reports it, in the
	// supervisor's pid namespace. It is the process id unless a thread
	// other than the main one calls exec.
	Pid int
	// Ppid is the parent process, from /proc/PID/stat.
	Ppid int
	// Syscall is "execve" or "execveat".
	Syscall string
	// Path is the path argument. For execve it is as given (relative to
	// Cwd if it does not start with "/"). For execveat a relative path is
	// joined to the path of the directory descriptor (or to the working
	// directory for AT_FDCWD), as the create guard does, and an empty
	// path with AT_EMPTY_PATH is the path of the descriptor itself (for a
	// memfd: "/memfd:NAME (deleted)").
	Path string
	// Argv is the argument vector, at most 256 arguments, 4 KiB per
	// argument and 64 KiB in all; Truncated says when it was cut.
	Argv []string
	// Cwd is the task's working directory.
	Cwd string
	// Truncated is set when Argv was cut to the limits above.
	Truncated bool
	// Err is set when part of the record could not be read (the task
	// died, a pointer was bad); the fields read before are kept. The exec
	// is let through all the same, and the kernel reports its own error.
	Err string
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
