package guard

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/airlock-sandbox/airlock/internal/policy"
)

var kinds = []struct {
	name string
	k    kind
}{{"dir", kindDir}, {"file", kindFile}, {"symlink", kindSymlink}, {"link", kindLink}}

// TestCheckEveryProtectedName refuses every protected name, in every form,
// at the top of the workspace and deep inside it; two-part names only
// below a parent of the right name.
func TestCheckEveryProtectedName(t *testing.T) {
	names := policy.ProtectedNames()
	r := compile(Config{Protected: names})
	for _, parent := range []string{"/w", "/w/a/b/c/d/e/f"} {
		for _, n := range names {
			for _, k := range kinds {
				dir, base := parent, n
				if d, b, ok := strings.Cut(n, "/"); ok {
					dir, base = parent+"/"+d, b
				}
				t.Run(fmt.Sprintf("%s/%s as %s", dir, base, k.name), func(t *testing.T) {
					want := "protected " + n
					if got := r.check(dir, base, k.k); got != want {
						t.Errorf("check(%q, %q): got %q, want %q", dir, base, got, want)
					}
				})
			}
		}
	}
}

func TestCheck(t *testing.T) {
	r := compile(Config{
		Protected:  policy.ProtectedNames(),
		DenyCreate: []string{"/w/later.txt", "/w//dir/../notes/"},
	})
	cases := []struct {
		name         string
		parent, base string
		k            kind
		want         string
	}{
		{"git hooks below .git", "/w/.git", "hooks", kindDir, "protected .git/hooks"},
		{"git config below a deep .git", "/w/a/b/c/d/e/f/.git", "config", kindFile, "protected .git/config"},
		{"hooks below a directory not named .git", "/w/notgit", "hooks", kindDir, ""},
		{"hooks at the top", "/w", "hooks", kindDir, ""},
		{"config at the top", "/w", "config", kindFile, ""},
		{"hooks below a name ending in .git", "/w/repo.git", "hooks", kindDir, ""},
		// Anywhere inside a git dir (a submodule's .git/modules/NAME, say).
		{"hooks below .git/sub", "/w/.git/sub", "hooks", kindDir, "protected .git/hooks"},
		{"config in a submodule git dir", "/w/.git/modules/lib", "config", kindFile, "protected .git/config"},
		{"other entries of .git", "/w/.git", "HEAD", kindFile, ""},
		{".git as a directory", "/w", ".git", kindDir, ""},
		{".git as a file", "/w", ".git", kindFile, "protected .git (only a directory may be created)"},
		{".git as a symlink", "/w/sub", ".git", kindSymlink, "protected .git (only a directory may be created)"},
		{".git as a hard link", "/w/sub", ".git", kindLink, "protected .git (only a directory may be created)"},
		{"deny_create exact path", "/w", "later.txt", kindFile, "deny_write /w/later.txt"},
		{"deny_create exact path as a directory", "/w", "later.txt", kindDir, "deny_write /w/later.txt"},
		{"deny_create is cleaned when compiled", "/w", "notes", kindDir, "deny_write /w/notes"},
		{"deny_create same name elsewhere", "/w/sub", "later.txt", kindFile, ""},
		{"deny_create similar name", "/w", "later.txt2", kindFile, ""},
		{"unrelated file", "/w", "README.md", kindFile, ""},
		{"unrelated dir", "/w/src", "pkg", kindDir, ""},
		{"near miss: suffix", "/w", ".bashrc.bak", kindFile, ""},
		{"near miss: no dot", "/w", "bashrc", kindFile, ""},
		{"near miss: case", "/w", ".VSCODE", kindDir, ""},
		{".gitignore", "/w", ".gitignore", kindFile, ""},
		{".github", "/w", ".github", kindDir, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := r.check(c.parent, c.base, c.k); got != c.want {
				t.Errorf("check(%q, %q): got %q, want %q", c.parent, c.base, got, c.want)
			}
		})
	}
}

func TestCheckUnprotected(t *testing.T) {
	p := policy.Default()
	p.Filesystem.Unprotect = []string{".vscode", ".git/hooks"}
	r := compile(Config{Protected: p.Protected()})
	cases := []struct {
		parent, base string
		k            kind
		want         string
	}{
		{"/w", ".vscode", kindDir, ""},
		{"/w/.git", "hooks", kindDir, ""},
		{"/w/.git", "config", kindFile, "protected .git/config"},
		{"/w", ".git", kindSymlink, "protected .git (only a directory may be created)"},
		{"/w", ".bashrc", kindFile, "protected .bashrc"},
	}
	for _, c := range cases {
		t.Run(c.parent+"/"+c.base, func(t *testing.T) {
			if got := r.check(c.parent, c.base, c.k); got != c.want {
				t.Errorf("check(%q, %q): got %q, want %q", c.parent, c.base, got, c.want)
			}
		})
	}
}

func TestCheckNothingProtected(t *testing.T) {
	r := compile(Config{})
	for _, n := range append(policy.ProtectedNames(), ".git") {
		for _, k := range kinds {
			if got := r.check("/w", n, k.k); got != "" {
				t.Errorf("check(/w, %q) as %s with an empty config: got %q, want allowed", n, k.name, got)
			}
		}
	}
}

func TestCheckRenamedDir(t *testing.T) {
	all := compile(Config{Protected: policy.ProtectedNames()})
	noHooks := compile(Config{Protected: slices.DeleteFunc(policy.ProtectedNames(), func(s string) bool { return s == ".git/hooks" })})
	withGitDir := compile(Config{Protected: policy.ProtectedNames(), GitDirs: []string{"/ws/gitdir"}})
	cases := []struct {
		name   string
		r      rules
		parent string
		base   string
		names  []string
		want   string
	}{
		{"directory with hooks into .git/modules", all, "/ws/.git/modules", "sub", []string{"HEAD", "hooks"}, "protected .git/hooks"},
		{"directory with config deep inside, into .git/modules", all, "/ws/.git/modules", "sub", []string{"a", "config"}, "protected .git/config"},
		{"directory with hooks into a gitdir a .git file points to", withGitDir, "/ws/gitdir", "x", []string{"hooks"}, "protected .git/hooks"},
		{"directory with hooks to .git", all, "/ws", ".git", []string{"HEAD", "hooks", "objects"}, "protected .git/hooks"},
		{"directory with config to .git", all, "/ws", ".git", []string{"config"}, "protected .git/config"},
		{"directory with both to .git", all, "/ws", ".git", []string{"config", "hooks"}, "protected .git/hooks"},
		{"directory without them to .git", all, "/ws", ".git", []string{"HEAD", "objects", "refs"}, ""},
		{"empty directory to .git", all, "/ws", ".git", nil, ""},
		{"directory with hooks to another name", all, "/ws", "backup", []string{"hooks", "config"}, ""},
		{"hooks unprotected", noHooks, "/ws", ".git", []string{"hooks"}, ""},
		{"hooks unprotected, config still", noHooks, "/ws", ".git", []string{"hooks", "config"}, "protected .git/config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ""
			if c.r.receivesNested(c.parent, c.base) {
				got = c.r.checkRenamedDir(c.names)
			}
			if got != c.want {
				t.Errorf("move of a directory holding %q to %s/%s: got %q, want %q", c.names, c.parent, c.base, got, c.want)
			}
		})
	}
}
