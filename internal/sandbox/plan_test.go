package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/airlock-sandbox/airlock/internal/policy"
)

// fixtureBase holds the trees the plan tests build. It is outside /tmp so
// the same layouts mean the same thing as in a real run, where the
// sandbox's /tmp is a private tmpfs.
const fixtureBase = "/var/tmp"

// newRoot makes an empty directory for one test case and returns its
// canonical path, so expected paths can be spelled from it.
func newTreeRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(fixtureBase, "airlock-plan-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

// buildTree creates entries below root. An entry ending in "/" is a
// directory, "NAME -> TARGET" is a symlink, anything else a file. Parent
// directories are made as needed.
func buildTree(t *testing.T, root string, entries []string) {
	t.Helper()
	for _, e := range entries {
		p := filepath.Join(root, e)
		if name, target, ok := strings.Cut(e, " -> "); ok {
			p = filepath.Join(root, name)
			mkdirAll(t, filepath.Dir(p))
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if strings.HasSuffix(e, "/") {
			mkdirAll(t, p)
			continue
		}
		mkdirAll(t, filepath.Dir(p))
		if err := os.WriteFile(p, []byte("content of "+e+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mkdirAll(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

// sub replaces "$R" by root in every string.
func sub(root string, list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ReplaceAll(s, "$R", root)
	}
	return out
}

// Layout shared by the cases: $R/home is HOME, $R/home/project the
// workspace and the current directory unless a case says otherwise.
const (
	caseHome = "$R/home"
	caseWork = "$R/home/project"
)

func TestPlan(t *testing.T) {
	depth6 := "home/project/a/b/c/d/e/"   // files here are at depth 6 of the workspace
	depth7 := "home/project/a/b/c/d/e/f/" // and here at depth 7
	cases := []struct {
		name string
		tree []string

		workspace  string // policy filesystem.workspace ("" = the current directory)
		cwd        string // default caseWork
		denyRead   []string
		allowRead  []string
		allowWrite []string
		denyWrite  []string
		unprotect  []string
		self       string

		// Expected Spec fields; "$R" stands for the case's root.
		wantWorkspace   string // default caseWork
		wantDir         string // default wantWorkspace
		wantWritable    []string
		wantMaskDirs    []string
		wantMaskFiles   []string
		wantDenyMissing []string
		wantReadOnly    []string
		wantDenyCreate  []string
		wantReexpose    []string

		// wantErr and wantHint are substrings of the *PlanError's Msg and Hint.
		wantErr, wantHint string
	}{
		{
			name: "workspace defaults to the current directory",
			tree: []string{"home/project/"},
		},
		{
			name:          "workspace flag is canonicalised through a symlink",
			tree:          []string{"real/ws/", "link -> real/ws", "home/project/"},
			workspace:     "$R/link",
			wantWorkspace: "$R/real/ws",
		},
		{
			name:          "relative workspace is resolved against the current directory",
			tree:          []string{"real/ws/", "home/project/link -> ../../real/ws"},
			workspace:     "link",
			wantWorkspace: "$R/real/ws",
		},
		{
			name:          "current directory below the workspace is the command's directory",
			tree:          []string{"home/project/src/pkg/"},
			workspace:     caseWork,
			cwd:           "$R/home/project/src/pkg",
			wantWorkspace: caseWork,
			wantDir:       "$R/home/project/src/pkg",
		},
		{
			name:          "current directory outside the workspace falls back to the workspace",
			tree:          []string{"home/project/", "elsewhere/"},
			workspace:     caseWork,
			cwd:           "$R/elsewhere",
			wantWorkspace: caseWork,
			wantDir:       caseWork,
		},
		{
			name:          "a sibling sharing the workspace's prefix is not inside it",
			tree:          []string{"home/project/", "home/project2/"},
			workspace:     caseWork,
			cwd:           "$R/home/project2",
			wantWorkspace: caseWork,
			wantDir:       caseWork,
		},
		{
			// The user's shell reports the directory through the link
			// ($PWD); it is still inside the workspace.
			name:          "current directory reached through a symlink into the workspace",
			tree:          []string{"home/project/src/", "home/plink -> project"},
			workspace:     caseWork,
			cwd:           "$R/home/plink/src",
			wantWorkspace: caseWork,
			wantDir:       "$R/home/project/src",
		},
		{
			name:         "deny_read of an existing directory masks it",
			tree:         []string{"home/project/", "home/.ssh/id_rsa"},
			denyRead:     []string{"~/.ssh"},
			wantMaskDirs: []string{"$R/home/.ssh"},
		},
		{
			name:          "deny_read of an existing file masks it",
			tree:          []string{"home/project/", "home/.netrc"},
			denyRead:      []string{"~/.netrc"},
			wantMaskFiles: []string{"$R/home/.netrc"},
		},
		{
			name:            "deny_read of a missing path outside writable paths is kept for Landlock",
			tree:            []string{"home/project/"},
			denyRead:        []string{"~/.aws"},
			wantDenyMissing: []string{"$R/home/.aws"},
		},
		{
			name:     "deny_read of a missing path inside the workspace is ignored",
			tree:     []string{"home/project/"},
			denyRead: []string{"secrets/later.txt", "$R/home/project/gone"},
		},
		{
			name:         "deny_read of a symlink outside writable paths masks its target",
			tree:         []string{"home/project/", "vault/aws/credentials", "home/.aws -> ../vault/aws"},
			denyRead:     []string{"~/.aws"},
			wantMaskDirs: []string{"$R/vault/aws"},
		},
		{
			name:          "deny_read of a file symlink outside writable paths masks its target",
			tree:          []string{"home/project/", "vault/netrc", "home/.netrc -> ../vault/netrc"},
			denyRead:      []string{"~/.netrc"},
			wantMaskFiles: []string{"$R/vault/netrc"},
		},
		{
			name:     "deny_read of a dangling symlink masks nothing",
			tree:     []string{"home/project/", "home/.aws -> ../vault/missing"},
			denyRead: []string{"~/.aws"},
		},
		{
			// Dotfile managers make ~/.config a symlink. The mask is mounted
			// without following symlinks, so the plan must name the real
			// path, as it does when the final component is the link.
			name:          "deny_read below a symlinked directory masks the resolved path",
			tree:          []string{"home/project/", "dotfiles/config/gh/hosts.yml", "home/.config -> ../dotfiles/config"},
			denyRead:      []string{"~/.config/gh/hosts.yml"},
			wantMaskFiles: []string{"$R/dotfiles/config/gh/hosts.yml"},
		},
		{
			name:     "deny_read glob with a slash is refused",
			tree:     []string{"home/project/", "home/.config/a/token"},
			denyRead: []string{"~/.config/*/token"},
			wantErr:  `"$R/home/.config/*/token": globs are only supported as base names`,
		},
		{
			name: "base-name glob matches at depth 6 of the workspace and at the top of home",
			tree: []string{
				depth6 + ".env",
				depth6 + ".env.production",
				"home/project/.envdir.d/",
				"home/.env.local",
				"home/notes/.env", // below the top of home: not scanned
				"home/project/environment",
			},
			denyRead: []string{".env*"},
			wantMaskDirs: []string{
				"$R/home/project/.envdir.d",
			},
			wantMaskFiles: []string{
				"$R/home/.env.local",
				"$R/home/project/a/b/c/d/e/.env",
				"$R/home/project/a/b/c/d/e/.env.production",
			},
		},
		{
			name:     "base-name glob match that is a symlink inside the workspace is left alone",
			tree:     []string{"home/project/.env -> .env.real", "home/project/.env.real"},
			denyRead: []string{".env"},
		},
		{
			name:     "deny_read containing the workspace is refused",
			tree:     []string{"home/project/"},
			denyRead: []string{"~"},
			wantErr:  `the workspace "$R/home/project" is hidden by filesystem.deny_read entry "$R/home"`,
		},
		{
			name:     "deny_read equal to the workspace is refused",
			tree:     []string{"home/project/"},
			denyRead: []string{"."},
			wantErr:  `the workspace "$R/home/project" is hidden by filesystem.deny_read entry "$R/home/project"`,
		},
		{
			// Only the plan sees where a link points.
			name:     "deny_read through a symlink to a parent of the workspace is refused with a hint",
			tree:     []string{"home/project/", "alias -> home"},
			denyRead: []string{"$R/alias"},
			wantErr:  "deny_read $R/home contains the writable path $R/home/project",
			wantHint: "--allow-read $R/home",
		},
		{
			name:       "allow_write of a missing path is refused, never created",
			tree:       []string{"home/project/"},
			allowWrite: []string{"$R/cache"},
			wantErr:    "allow_write $R/cache: no such file or directory",
			wantHint:   "airlock never creates host paths",
		},
		{
			name:       "allow_write is canonicalised and added after the workspace",
			tree:       []string{"home/project/", "cache/real/", "cachelink -> cache/real"},
			allowWrite: []string{"$R/cachelink", "$R/cache/real"},
			wantWritable: []string{
				caseWork,
				"$R/cache/real",
			},
		},
		{
			name:       "the whole filesystem cannot be writable",
			tree:       []string{"home/project/"},
			allowWrite: []string{"/"},
			wantErr:    "the whole filesystem cannot be writable",
			wantHint:   "--allow-write",
		},
		{
			name:         "allow_read below a masked directory is re-exposed",
			tree:         []string{"home/project/", "home/.ssh/id_rsa", "home/.ssh/known_hosts"},
			denyRead:     []string{"~/.ssh"},
			allowRead:    []string{"~/.ssh/known_hosts", "~/.ssh/missing"},
			wantMaskDirs: []string{"$R/home/.ssh"},
			wantReexpose: []string{"$R/home/.ssh/known_hosts"},
		},
		{
			name: "protected names are found at depth 7, git ones only under .git",
			tree: []string{
				depth7 + ".bashrc",
				depth7 + ".vscode/settings.json",
				depth7 + ".git/hooks/pre-commit",
				depth7 + ".git/config",
				depth7 + ".git/HEAD",
				"home/project/hooks/pre-commit", // not below a .git
				"home/project/notgit/config",    // not below a .git
				"home/project/.gitx/hooks/",     // a different name
			},
			wantReadOnly: []string{
				"$R/" + depth7 + ".bashrc",
				"$R/" + depth7 + ".git/config",
				"$R/" + depth7 + ".git/hooks",
				"$R/" + depth7 + ".vscode",
			},
		},
		{
			name: "protected names inside a symlinked .git are not followed",
			tree: []string{
				"elsewhere/hooks/",
				"home/project/.git -> ../../elsewhere",
			},
		},
		{
			// A .git file (submodule or worktree gitlink) points git at
			// any directory: rewriting it would redirect git to hooks and
			// config the sandbox wrote, so an existing one must stay
			// read-only like .git/config.
			name:         "an existing .git file is kept read-only",
			tree:         []string{"home/project/sub/.git"},
			wantReadOnly: []string{"$R/home/project/sub/.git"},
		},
		{
			name:         "unprotect removes one protected name",
			tree:         []string{"home/project/.vscode/", "home/project/.bashrc"},
			unprotect:    []string{".vscode"},
			wantReadOnly: []string{"$R/home/project/.bashrc"},
		},
		{
			name:         "unprotect of a git name keeps the other one",
			tree:         []string{"home/project/.git/hooks/", "home/project/.git/config"},
			unprotect:    []string{".git/hooks"},
			wantReadOnly: []string{"$R/home/project/.git/config"},
		},
		{
			name:         "the airlock binary inside the workspace is read-only",
			tree:         []string{"home/project/bin/airlock"},
			self:         "$R/home/project/bin/airlock",
			wantReadOnly: []string{"$R/home/project/bin/airlock"},
		},
		{
			name: "the airlock binary outside writable paths is left alone",
			tree: []string{"home/project/", "opt/airlock"},
			self: "$R/opt/airlock",
		},
		{
			name:         "deny_write of an existing path inside the workspace is read-only",
			tree:         []string{"home/project/Makefile"},
			denyWrite:    []string{"Makefile"},
			wantReadOnly: []string{"$R/home/project/Makefile"},
		},
		{
			name:           "deny_write of a missing path inside the workspace is refused creation",
			tree:           []string{"home/project/"},
			denyWrite:      []string{"later.txt", "$R/home/project/dir/later"},
			wantDenyCreate: []string{"$R/home/project/later.txt", "$R/home/project/dir/later"},
		},
		{
			name:      "deny_write outside writable paths needs nothing",
			tree:      []string{"home/project/", "etc/thing"},
			denyWrite: []string{"$R/etc/thing", "$R/etc/missing"},
		},
		{
			// The relative rule means the workspace's file whatever
			// spelling of the workspace was given.
			name:          "deny_write relative to a workspace given through a symlink",
			tree:          []string{"real/ws/keep.txt", "link -> real/ws", "home/project/"},
			workspace:     "$R/link",
			denyWrite:     []string{"keep.txt", "new.txt"},
			wantWorkspace: "$R/real/ws",
			wantReadOnly:  []string{"$R/real/ws/keep.txt"},
			// new.txt is missing inside the workspace.
			wantDenyCreate: []string{"$R/real/ws/new.txt"},
		},
		{
			name:          "deny_write relative to a relative workspace",
			tree:          []string{"home/project/ws/keep.txt"},
			workspace:     "ws",
			denyWrite:     []string{"keep.txt"},
			wantWorkspace: "$R/home/project/ws",
			wantReadOnly:  []string{"$R/home/project/ws/keep.txt"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := newTreeRoot(t)
			buildTree(t, root, c.tree)
			p, err := policy.Profile(policy.ProfileNone)
			if err != nil {
				t.Fatal(err)
			}
			fs := &p.Filesystem
			r := func(s string) string { return strings.ReplaceAll(s, "$R", root) }
			fs.Workspace = r(c.workspace)
			fs.DenyRead = sub(root, c.denyRead)
			fs.AllowRead = sub(root, c.allowRead)
			fs.AllowWrite = sub(root, c.allowWrite)
			fs.DenyWrite = sub(root, c.denyWrite)
			fs.Unprotect = c.unprotect
			cwd := c.cwd
			if cwd == "" {
				cwd = caseWork
			}
			in := PlanInput{
				Argv: []string{"true"}, Cwd: r(cwd), Home: r(caseHome),
				UID: 1000, GID: 1000, Self: r(c.self),
			}

			s, err := Plan(p, in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), r(c.wantErr)) {
					t.Fatalf("Plan: got error %v, want one containing %q", err, r(c.wantErr))
				}
				if c.wantHint == "" {
					return
				}
				var pe *PlanError
				if !errors.As(err, &pe) {
					t.Fatalf("Plan: got error %v (%T), want a *PlanError with a hint containing %q", err, err, r(c.wantHint))
				}
				if !strings.Contains(pe.Hint, r(c.wantHint)) {
					t.Errorf("hint: got %q, want it to contain %q", pe.Hint, r(c.wantHint))
				}
				return
			}
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			wantWS := c.wantWorkspace
			if wantWS == "" {
				wantWS = caseWork
			}
			wantDir := c.wantDir
			if wantDir == "" {
				wantDir = wantWS
			}
			wantWritable := c.wantWritable
			if wantWritable == nil {
				wantWritable = []string{wantWS}
			}
			if got, want := s.Workspace, r(wantWS); got != want {
				t.Errorf("Workspace: got %q, want %q", got, want)
			}
			if got, want := s.Dir, r(wantDir); got != want {
				t.Errorf("Dir: got %q, want %q", got, want)
			}
			if want := "PWD=" + r(wantDir); !slices.Contains(s.Env, want) {
				t.Errorf("Env: got %q, want it to contain %q", s.Env, want)
			}
			for _, f := range []struct {
				field     string
				got, want []string
			}{
				{"Writable", s.Writable, wantWritable},
				{"MaskDirs", s.MaskDirs, c.wantMaskDirs},
				{"MaskFiles", s.MaskFiles, c.wantMaskFiles},
				{"DenyMissing", s.DenyMissing, c.wantDenyMissing},
				{"ReadOnly", s.ReadOnly, c.wantReadOnly},
				{"DenyCreate", s.DenyCreate, c.wantDenyCreate},
				{"Reexpose", s.Reexpose, c.wantReexpose},
			} {
				if want := sub(root, f.want); !slices.Equal(f.got, want) {
					t.Errorf("%s: got %q, want %q", f.field, f.got, want)
				}
			}
			wantProtected := p.Protected()
			if !slices.Equal(s.Protected, wantProtected) {
				t.Errorf("Protected: got %q, want %q", s.Protected, wantProtected)
			}
			for _, u := range c.unprotect {
				if slices.Contains(s.Protected, u) {
					t.Errorf("Protected: got %q, want it without the unprotected %q", s.Protected, u)
				}
			}
		})
	}
}

// TestPlanEveryProtectedName puts each protected name deep in the workspace
// and checks that the plan keeps exactly those paths read-only.
func TestPlanEveryProtectedName(t *testing.T) {
	names := policy.ProtectedNames()
	if len(names) == 0 {
		t.Fatal("policy.ProtectedNames is empty")
	}
	for _, dir := range []string{"", "a/b/c/d/e/f/"} {
		t.Run(fmt.Sprintf("at depth %d", strings.Count(dir, "/")+1), func(t *testing.T) {
			root := newTreeRoot(t)
			var tree, want []string
			for _, n := range names {
				tree = append(tree, "home/project/"+dir+n)
				want = append(want, root+"/home/project/"+dir+n)
			}
			buildTree(t, root, tree)
			slices.Sort(want)
			p, err := policy.Profile(policy.ProfileNone)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Plan(p, PlanInput{Argv: []string{"true"}, Cwd: root + "/home/project", Home: root + "/home", UID: 1000, GID: 1000})
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if !slices.Equal(s.ReadOnly, want) {
				t.Errorf("ReadOnly: got %q, want %q", s.ReadOnly, want)
			}
			if !s.NotifyCreate {
				t.Errorf("NotifyCreate: got false, want true (protected names need the create guard)")
			}
		})
	}
}

// TestPlanAgentProfile runs the built-in agent profile against a realistic
// home: secrets are masked wherever they are, missing ones kept for
// Landlock, and host system secrets masked when the host has them.
func TestPlanAgentProfile(t *testing.T) {
	root := newTreeRoot(t)
	buildTree(t, root, []string{
		"home/.ssh/id_ed25519",
		"vault/aws/credentials",
		"home/.aws -> ../vault/aws",
		"home/.netrc",
		"home/.env",
		"home/notes/.env",
		"home/project/README.md",
		"home/project/.env",
		"home/project/a/b/c/d/e/server.key",
		"home/project/.git/hooks/pre-commit",
		"home/project/.git/config",
	})
	p := policy.Default()
	in := PlanInput{Argv: []string{"sh"}, Cwd: root + "/home/project", Home: root + "/home", UID: 1000, GID: 1000}
	s, err := Plan(p, in)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	for _, c := range []struct {
		field string
		list  []string
		path  string
	}{
		{"MaskDirs", s.MaskDirs, root + "/home/.ssh"},
		{"MaskDirs", s.MaskDirs, root + "/vault/aws"},
		{"MaskFiles", s.MaskFiles, root + "/home/.netrc"},
		{"MaskFiles", s.MaskFiles, root + "/home/.env"},
		{"MaskFiles", s.MaskFiles, root + "/home/project/.env"},
		{"MaskFiles", s.MaskFiles, root + "/home/project/a/b/c/d/e/server.key"},
		{"DenyMissing", s.DenyMissing, root + "/home/.gnupg"},
		{"DenyMissing", s.DenyMissing, root + "/home/.kube"},
		{"ReadOnly", s.ReadOnly, root + "/home/project/.git/hooks"},
		{"ReadOnly", s.ReadOnly, root + "/home/project/.git/config"},
	} {
		if !slices.Contains(c.list, c.path) {
			t.Errorf("%s: got %q, want it to contain %q", c.field, c.list, c.path)
		}
	}
	for _, unwanted := range []string{root + "/home/.aws", root + "/home/notes/.env", root + "/home/project/README.md"} {
		for _, l := range [][]string{s.MaskDirs, s.MaskFiles, s.DenyMissing} {
			if slices.Contains(l, unwanted) {
				t.Errorf("plan masks %q, want it left alone", unwanted)
			}
		}
	}
	// System secrets: masked when the host has them, else kept for Landlock.
	for _, sys := range []string{"/etc/shadow", "/etc/sudoers.d"} {
		fi, err := os.Lstat(sys)
		switch {
		case err != nil:
			if !slices.Contains(s.DenyMissing, sys) {
				t.Errorf("DenyMissing: got %q, want it to contain the missing %s", s.DenyMissing, sys)
			}
		case fi.IsDir():
			if !slices.Contains(s.MaskDirs, sys) {
				t.Errorf("MaskDirs: got %q, want it to contain %s", s.MaskDirs, sys)
			}
		default:
			if !slices.Contains(s.MaskFiles, sys) {
				t.Errorf("MaskFiles: got %q, want it to contain %s", s.MaskFiles, sys)
			}
		}
	}
	for name, l := range map[string][]string{"MaskDirs": s.MaskDirs, "MaskFiles": s.MaskFiles, "DenyMissing": s.DenyMissing, "ReadOnly": s.ReadOnly} {
		if !slices.IsSorted(l) {
			t.Errorf("%s: got %q, want it sorted", name, l)
		}
	}
	if s.Landlock != Require || s.Seccomp != Require || !s.NotifyCreate {
		t.Errorf("layers: got Landlock=%q Seccomp=%q NotifyCreate=%v, want %q, %q, true", s.Landlock, s.Seccomp, s.NotifyCreate, Require, Require)
	}
	if s.Hostname != "airlock" {
		t.Errorf("Hostname: got %q, want %q", s.Hostname, "airlock")
	}
}

func TestPlanIDs(t *testing.T) {
	cases := []struct {
		name             string
		hostUID, hostGID int
		root             bool
		wantUID, wantGID int
	}{
		{"host root runs as 1000 inside", 0, 0, false, 1000, 1000},
		{"host user keeps its ids", 1000, 1000, false, 1000, 1000},
		{"other host user keeps its ids", 1234, 4321, false, 1234, 4321},
		{"root flag runs as 0 inside", 1000, 1000, true, 0, 0},
		{"root flag as host root runs as 0 inside", 0, 0, true, 0, 0},
	}
	root := newTreeRoot(t)
	buildTree(t, root, []string{"home/project/"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := policy.Profile(policy.ProfileNone)
			if err != nil {
				t.Fatal(err)
			}
			p.Process.Root = c.root
			s, err := Plan(p, PlanInput{Argv: []string{"id"}, Cwd: root + "/home/project", Home: root + "/home", UID: c.hostUID, GID: c.hostGID})
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if s.UID != c.wantUID || s.GID != c.wantGID {
				t.Errorf("inside ids: got %d:%d, want %d:%d", s.UID, s.GID, c.wantUID, c.wantGID)
			}
			if s.HostUID != c.hostUID || s.HostGID != c.hostGID {
				t.Errorf("host ids: got %d:%d, want %d:%d", s.HostUID, s.HostGID, c.hostUID, c.hostGID)
			}
		})
	}
}

func TestPlanOptions(t *testing.T) {
	root := newTreeRoot(t)
	buildTree(t, root, []string{"home/project/", "home/file"})
	in := PlanInput{Argv: []string{"true"}, Cwd: root + "/home/project", Home: root + "/home", UID: 1000, GID: 1000}
	cases := []struct {
		name   string
		modify func(p *policy.Policy)
		in     func(in *PlanInput)
		check  func(t *testing.T, s *Spec)
		// wantErr is a substring of the *PlanError, "" for success.
		wantErr string
	}{
		{
			name:    "no command",
			in:      func(in *PlanInput) { in.Argv = nil },
			wantErr: "no command given",
		},
		{
			name:    "missing workspace",
			modify:  func(p *policy.Policy) { p.Filesystem.Workspace = root + "/nope" },
			wantErr: "workspace " + root + "/nope: no such file or directory",
		},
		{
			name:    "workspace that is a file",
			modify:  func(p *policy.Policy) { p.Filesystem.Workspace = root + "/home/file" },
			wantErr: "workspace " + root + "/home/file: not a directory",
		},
		{
			name: "every layer is required by default",
			check: func(t *testing.T, s *Spec) {
				if s.Landlock != Require || s.Seccomp != Require {
					t.Errorf("got Landlock=%q Seccomp=%q, want %q, %q", s.Landlock, s.Seccomp, Require, Require)
				}
			},
		},
		{
			name:   "degraded landlock makes Landlock best effort only",
			modify: func(p *policy.Policy) { p.AllowDegraded = []string{policy.LayerLandlock} },
			check: func(t *testing.T, s *Spec) {
				if s.Landlock != BestEffort || s.Seccomp != Require {
					t.Errorf("got Landlock=%q Seccomp=%q, want %q, %q", s.Landlock, s.Seccomp, BestEffort, Require)
				}
			},
		},
		{
			name:   "degraded seccomp makes seccomp best effort only",
			modify: func(p *policy.Policy) { p.AllowDegraded = []string{policy.LayerSeccomp} },
			check: func(t *testing.T, s *Spec) {
				if s.Seccomp != BestEffort || s.Landlock != Require || !s.NotifyCreate {
					t.Errorf("got Seccomp=%q Landlock=%q NotifyCreate=%v, want %q, %q, true", s.Seccomp, s.Landlock, s.NotifyCreate, BestEffort, Require)
				}
			},
		},
		{
			name:   "every name unprotected needs no create guard",
			modify: func(p *policy.Policy) { p.Filesystem.Unprotect = policy.ProtectedNames() },
			check: func(t *testing.T, s *Spec) {
				if s.NotifyCreate || len(s.Protected) != 0 {
					t.Errorf("got NotifyCreate=%v Protected=%q, want false, none", s.NotifyCreate, s.Protected)
				}
			},
		},
		{
			name:   "hostname",
			modify: func(p *policy.Policy) { p.Process.Hostname = "box" },
			check: func(t *testing.T, s *Spec) {
				if s.Hostname != "box" {
					t.Errorf("Hostname: got %q, want %q", s.Hostname, "box")
				}
			},
		},
		{
			name: "rlimits: core always off, files and size when set",
			modify: func(p *policy.Policy) {
				p.Limits.MaxOpenFiles = 64
				p.Limits.MaxFileSize = 1 << 20
			},
			check: func(t *testing.T, s *Spec) {
				got := map[string]uint64{}
				for _, r := range s.Rlimits {
					got[r.Name] = r.Value
				}
				want := map[string]uint64{"core": 0, "max-open-files": 64, "max-file-size": 1 << 20}
				if len(got) != len(want) {
					t.Errorf("Rlimits: got %v, want %v", got, want)
				}
				for k, v := range want {
					if g, ok := got[k]; !ok || g != v {
						t.Errorf("Rlimits[%s]: got %d (present %v), want %d", k, g, ok, v)
					}
				}
			},
		},
		{
			name: "no rlimits but core by default",
			check: func(t *testing.T, s *Spec) {
				if len(s.Rlimits) != 1 || s.Rlimits[0].Name != "core" || s.Rlimits[0].Value != 0 {
					t.Errorf("Rlimits: got %+v, want only core=0", s.Rlimits)
				}
			},
		},
		{
			name:    "allow_unix_sockets naming a regular file",
			modify:  func(p *policy.Policy) { p.Filesystem.AllowUnixSockets = []string{root + "/home/file"} },
			wantErr: "allow_unix_sockets " + root + "/home/file: not a socket",
		},
		{
			name: "environment is built from the host's",
			in:   func(in *PlanInput) { in.HostEnv = []string{"HOME=/h", "GITHUB_TOKEN=x"} },
			check: func(t *testing.T, s *Spec) {
				want := BuildEnv([]string{"HOME=/h", "GITHUB_TOKEN=x"}, nil, s.Dir, nil)
				if !slices.Equal(s.Env, want) {
					t.Errorf("Env: got %q, want %q", s.Env, want)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := policy.Profile(policy.ProfileNone)
			if err != nil {
				t.Fatal(err)
			}
			if c.modify != nil {
				c.modify(p)
			}
			in := in
			if c.in != nil {
				c.in(&in)
			}
			s, err := Plan(p, in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Plan: got error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if c.check != nil {
				c.check(t, s)
			}
		})
	}
}
