package session

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestConflicts(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name      string
		base      files
		agent     func(t *testing.T, s *Session)
		user      func(t *testing.T, ws string)
		wantKinds map[string]string
		force     bool
		wantErr   error
		want      files // expected workspace content afterwards (subset)
		wantGone  []string
	}{
		{
			name:      "edit after begin",
			base:      files{"f": "base\n"},
			agent:     func(t *testing.T, s *Session) { upperWrite(t, s, "f", "agent\n", 0o644) },
			user:      func(t *testing.T, ws string) { os.WriteFile(filepath.Join(ws, "f"), []byte("user\n"), 0o644) },
			wantKinds: map[string]string{"f": "modified conflict"},
			wantErr:   ErrConflicts,
			want:      files{"f": "user\n"},
		},
		{
			name:      "edit after begin forced",
			base:      files{"f": "base\n"},
			agent:     func(t *testing.T, s *Session) { upperWrite(t, s, "f", "agent\n", 0o644) },
			user:      func(t *testing.T, ws string) { os.WriteFile(filepath.Join(ws, "f"), []byte("user\n"), 0o644) },
			wantKinds: map[string]string{"f": "modified conflict"},
			force:     true,
			want:      files{"f": "agent\n"},
		},
		{
			name:      "created by user",
			base:      files{"other": "x"},
			agent:     func(t *testing.T, s *Session) { upperWrite(t, s, "new", "agent\n", 0o644) },
			user:      func(t *testing.T, ws string) { os.WriteFile(filepath.Join(ws, "new"), []byte("user\n"), 0o644) },
			wantKinds: map[string]string{"new": "added conflict"},
			wantErr:   ErrConflicts,
			want:      files{"new": "user\n"},
		},
		{
			name:      "deleted by user",
			base:      files{"f": "base\n"},
			agent:     func(t *testing.T, s *Session) { upperWrite(t, s, "f", "agent\n", 0o644) },
			user:      func(t *testing.T, ws string) { os.Remove(filepath.Join(ws, "f")) },
			wantKinds: map[string]string{"f": "modified conflict"},
			wantErr:   ErrConflicts,
			wantGone:  []string{"f"},
		},
		{
			name:      "deletion of a file the user edited",
			base:      files{"f": "base\n"},
			agent:     func(t *testing.T, s *Session) { upperWhiteout(t, s, "f") },
			user:      func(t *testing.T, ws string) { os.WriteFile(filepath.Join(ws, "f"), []byte("user\n"), 0o644) },
			wantKinds: map[string]string{"f": "deleted conflict"},
			wantErr:   ErrConflicts,
			want:      files{"f": "user\n"},
		},
		{
			name:      "touched but same content is no conflict",
			base:      files{"f": "base\n", "g": "base\n"},
			agent:     func(t *testing.T, s *Session) { upperWrite(t, s, "f", "agent\n", 0o644) },
			user:      func(t *testing.T, ws string) { os.WriteFile(filepath.Join(ws, "f"), []byte("base\n"), 0o644) },
			wantKinds: map[string]string{"f": "modified"},
			want:      files{"f": "agent\n"},
		},
		{
			name: "new file in a deleted directory is never forced",
			base: files{"d/a": "a"},
			agent: func(t *testing.T, s *Session) {
				upperWhiteout(t, s, "d")
			},
			user:      func(t *testing.T, ws string) { os.WriteFile(filepath.Join(ws, "d", "mine"), []byte("user\n"), 0o644) },
			wantKinds: map[string]string{"d": "deleted conflict", "d/a": "deleted"},
			force:     true,
			wantErr:   ErrConflicts,
			want:      files{"d/mine": "user\n"},
			wantGone:  []string{"d/a"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			writeTree(t, e.ws, tc.base, nil)
			s := e.newSession("")
			tc.agent(t, s)
			e.end(s)
			tc.user(t, e.ws)
			changes, err := s.Changes(nil)
			if err != nil {
				t.Fatal(err)
			}
			checkKinds(t, changes, tc.wantKinds)
			_, err = s.Apply(ApplyOptions{Force: tc.force})
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("apply error: got %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil && !errors.Is(err, ErrIncomplete) {
				t.Errorf("apply error %v does not wrap ErrIncomplete", err)
			}
			for p, w := range tc.want {
				got, err := os.ReadFile(filepath.Join(e.ws, p))
				if err != nil || string(got) != w {
					t.Errorf("%s: got %q (%v), want %q", p, got, err, w)
				}
			}
			for _, p := range tc.wantGone {
				if _, err := os.Lstat(filepath.Join(e.ws, p)); !os.IsNotExist(err) {
					t.Errorf("%s: got %v, want it gone", p, err)
				}
			}
		})
	}
}

// TestFullDisk applies a change larger than the free space of a small
// tmpfs workspace: the apply fails with ENOSPC and the workspace is left
// byte for byte as it was.
func TestFullDisk(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	if err := unix.Mount("tmpfs", e.ws, "tmpfs", 0, "size=1m,mode=0755"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	writeTree(t, e.ws, files{"a.txt": "a\n", "keep/b.txt": strings.Repeat("b", 100<<10)}, nil)
	s := e.newSession("")
	// Small changes staged before the big one, and a new directory.
	upperWrite(t, s, "a.txt", "changed\n", 0o644)
	upperWrite(t, s, "newdir/small", "small\n", 0o644)
	upperWrite(t, s, "zz-big.bin", strings.Repeat("z", 2<<20), 0o644)
	upperWhiteout(t, s, "keep/b.txt")
	e.end(s)
	before := snapshot(t, e.ws)
	var sfs unix.Statfs_t
	unix.Statfs(e.ws, &sfs)
	freeBefore := sfs.Bfree

	_, err := s.Apply(ApplyOptions{})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("apply error: got %v, want ENOSPC", err)
	}
	if !strings.Contains(err.Error(), "nothing was changed in the workspace") {
		t.Errorf("error %q does not say the workspace is unchanged", err)
	}
	checkSnapshot(t, "workspace after failed apply", snapshot(t, e.ws), before)
	unix.Statfs(e.ws, &sfs)
	if sfs.Bfree != freeBefore {
		t.Errorf("free blocks: got %d, want %d (temporaries left?)", sfs.Bfree, freeBefore)
	}
	if s.HasJournal() {
		t.Error("journal left after rollback")
	}
	changes, err := s.Changes(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 5 {
		t.Errorf("changes after failed apply: got %v, want the 5 unapplied ones", changeKinds(changes))
	}
}

func fileHash(t *testing.T, p string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

func TestSymlinkAttacks(t *testing.T) {
	requireRoot(t)
	t.Run("symlinks in upper are applied as symlinks, not followed", func(t *testing.T) {
		e := newEnv(t)
		outside := filepath.Join(e.root, "outside")
		writeTree(t, outside, files{"secret": "s\n"}, nil)
		writeTree(t, e.ws, files{"evil2": "-> " + outside}, nil)
		passwd := fileHash(t, "/etc/passwd")
		s := e.newSession("")
		upperSymlink(t, s, "evil", "/etc")
		upperSymlink(t, s, "link", outside)
		// evil2 was a symlink to outside in the workspace; the agent made
		// it a directory with a passwd file.
		upperMkdir(t, s, "evil2", 0o755, true)
		upperWrite(t, s, "evil2/passwd", "root::0:0::/:/bin/sh\n", 0o644)
		e.end(s)
		changes, err := s.Changes(nil)
		if err != nil {
			t.Fatal(err)
		}
		checkKinds(t, changes, map[string]string{
			"evil": "added", "link": "added", "evil2": "type changed", "evil2/passwd": "added",
		})
		if _, err := s.Apply(ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := fileHash(t, "/etc/passwd"); got != passwd {
			t.Fatal("/etc/passwd changed")
		}
		checkSnapshot(t, "outside", snapshot(t, outside), map[string]string{"secret": "file -rw-r--r-- " + hashPrefix("s\n")})
		if target, err := os.Readlink(filepath.Join(e.ws, "evil")); err != nil || target != "/etc" {
			t.Errorf("evil: got %q (%v), want symlink to /etc", target, err)
		}
		st, err := os.Lstat(filepath.Join(e.ws, "evil2"))
		if err != nil || !st.IsDir() {
			t.Errorf("evil2: got %v (%v), want a real directory", st, err)
		}
	})
	t.Run("planted symlink component in the workspace is refused", func(t *testing.T) {
		e := newEnv(t)
		outside := filepath.Join(e.root, "outside")
		writeTree(t, outside, files{"keep": "k\n"}, nil)
		writeTree(t, e.ws, files{"d/": "", "link/": ""}, nil)
		s := e.newSession("")
		upperWrite(t, s, "d/x", "agent\n", 0o644)
		upperWrite(t, s, "d/sub/y", "agent\n", 0o644)
		upperWrite(t, s, "link/f", "agent\n", 0o644)
		e.end(s)
		// Someone swaps the directories for symlinks before the apply.
		for _, p := range []string{"d", "link"} {
			os.Remove(filepath.Join(e.ws, p))
			os.Symlink(outside, filepath.Join(e.ws, p))
		}
		changes, err := s.Changes(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			if c.Path == "d/x" && !strings.Contains(c.Refused, "symlink") {
				t.Errorf("d/x: Refused got %q, want a symlink refusal", c.Refused)
			}
		}
		rep, err := s.Apply(ApplyOptions{Force: true, IncludeProtected: true})
		if !errors.Is(err, ErrRefused) {
			t.Fatalf("apply error: got %v, want ErrRefused", err)
		}
		if len(rep.Applied) != 0 {
			t.Errorf("applied: got %v, want nothing", rep.Applied)
		}
		checkSnapshot(t, "outside", snapshot(t, outside), map[string]string{"keep": "file -rw-r--r-- " + hashPrefix("k\n")})
	})
	t.Run("upper walk does not follow a symlinked directory", func(t *testing.T) {
		e := newEnv(t)
		outside := filepath.Join(e.root, "outside")
		writeTree(t, outside, files{"a": "a", "b/c": "c"}, nil)
		writeTree(t, e.ws, files{"f": "f"}, nil)
		s := e.newSession("")
		upperSymlink(t, s, "link", outside)
		e.end(s)
		changes, err := s.Changes(nil)
		if err != nil {
			t.Fatal(err)
		}
		checkKinds(t, changes, map[string]string{"link": "added"})
	})
	t.Run("device nodes and fifos are refused", func(t *testing.T) {
		e := newEnv(t)
		writeTree(t, e.ws, files{"f": "f"}, nil)
		s := e.newSession("")
		if err := unix.Mknod(filepath.Join(s.UpperDir(), "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mkfifo(filepath.Join(s.UpperDir(), "fifo"), 0o644); err != nil {
			t.Fatal(err)
		}
		upperWrite(t, s, "ok", "ok\n", 0o4755)
		e.end(s)
		changes, err := s.Changes(nil)
		if err != nil {
			t.Fatal(err)
		}
		checkKinds(t, changes, map[string]string{"null": "added refused", "fifo": "added refused", "ok": "added"})
		rep, err := s.Apply(ApplyOptions{})
		if !errors.Is(err, ErrRefused) || !slices.Equal(rep.Refused, []string{"fifo", "null"}) {
			t.Fatalf("apply: got %v %v, want ErrRefused for fifo and null", err, rep.Refused)
		}
		st, err := os.Lstat(filepath.Join(e.ws, "ok"))
		if err != nil || st.Mode() != 0o755 {
			t.Errorf("ok: got mode %v (%v), want -rwxr-xr-x (setuid stripped)", st.Mode(), err)
		}
		for _, p := range []string{"null", "fifo"} {
			if _, err := os.Lstat(filepath.Join(e.ws, p)); !os.IsNotExist(err) {
				t.Errorf("%s exists in the workspace", p)
			}
		}
	})
}

func hashPrefix(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToLower(strings.TrimSpace(hexString(sum[:8])))
}

func TestProtected(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	writeTree(t, e.ws, files{".bashrc": "x\n", "src/ok.txt": "old\n", ".git/hooks/": ""}, nil)
	s := e.newSession("")
	upperWrite(t, s, ".bashrc", "x\nevil\n", 0o644)
	upperWrite(t, s, ".git/hooks/pre-commit", "#!/bin/sh\nevil\n", 0o755)
	upperWrite(t, s, "src/ok.txt", "new\n", 0o644)
	upperWrite(t, s, "sub/.claude/settings.json", "{}\n", 0o644)
	e.end(s)
	rules := []string{".bashrc", ".git/hooks", ".claude"}
	changes, err := s.Changes(rules)
	if err != nil {
		t.Fatal(err)
	}
	checkKinds(t, changes, map[string]string{
		".bashrc":                   "modified protected",
		".git/hooks/pre-commit":     "added protected",
		"src/ok.txt":                "modified",
		"sub":                       "added",
		"sub/.claude":               "added protected",
		"sub/.claude/settings.json": "added protected",
	})
	rep, err := s.Apply(ApplyOptions{Protected: rules})
	if !errors.Is(err, ErrProtected) {
		t.Fatalf("apply error: got %v, want ErrProtected", err)
	}
	if got, want := strings.Join(rep.Applied, " "), "src/ok.txt"; got != want {
		t.Errorf("applied: got %q, want %q", got, want)
	}
	if got, want := strings.Join(rep.Protected, " "), ".bashrc .git/hooks/pre-commit sub/.claude/settings.json"; got != want {
		t.Errorf("protected: got %q, want %q", got, want)
	}
	if _, err := os.Lstat(filepath.Join(e.ws, "sub")); !os.IsNotExist(err) {
		t.Errorf("sub was created although everything in it is protected")
	}
	rep, err = s.Apply(ApplyOptions{Protected: rules, IncludeProtected: true})
	if err != nil {
		t.Fatalf("apply with protected: %v", err)
	}
	data, _ := os.ReadFile(filepath.Join(e.ws, ".git/hooks/pre-commit"))
	if string(data) != "#!/bin/sh\nevil\n" || len(rep.Applied) != 5 {
		t.Errorf("after including protected: hook %q, applied %v", data, rep.Applied)
	}
}

func TestApplySelection(t *testing.T) {
	requireRoot(t)
	setup := func(t *testing.T) (*testEnv, *Session) {
		e := newEnv(t)
		writeTree(t, e.ws, files{"a.txt": "a\n", "old/x": "x\n", "old/y": "y\n", "f": "file\n"}, nil)
		s := e.newSession("")
		upperWrite(t, s, "a.txt", "A\n", 0o644)
		upperWrite(t, s, "new/deep/b.txt", "b\n", 0o644)
		upperWrite(t, s, "new/deep/c.txt", "c\n", 0o644)
		upperWhiteout(t, s, "old")
		upperMkdir(t, s, "f", 0o755, true)
		upperWrite(t, s, "f/inner", "i\n", 0o644)
		e.end(s)
		return e, s
	}
	exists := func(e *testEnv, p string) bool {
		_, err := os.Lstat(filepath.Join(e.ws, p))
		return err == nil
	}
	t.Run("path filter creates needed parents", func(t *testing.T) {
		e, s := setup(t)
		rep, err := s.Apply(ApplyOptions{Paths: []string{"new/deep/b.txt"}})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(rep.Applied, " "), "new new/deep new/deep/b.txt"; got != want {
			t.Errorf("applied: got %q, want %q", got, want)
		}
		if exists(e, "new/deep/c.txt") || !exists(e, "new/deep/b.txt") || !exists(e, "old/x") {
			t.Errorf("workspace: got %v", snapshot(t, e.ws))
		}
	})
	t.Run("declining one deletion keeps the directory", func(t *testing.T) {
		e, s := setup(t)
		var asked []string
		rep, err := s.Apply(ApplyOptions{Paths: []string{"old"}, Confirm: func(c Change) (bool, error) {
			asked = append(asked, c.Path)
			return c.Path != "old/y", nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(asked, " "), "old/x old/y"; got != want {
			t.Errorf("asked: got %q, want %q", got, want)
		}
		if got, want := strings.Join(rep.Skipped, " "), "old old/y"; got != want {
			t.Errorf("skipped: got %q, want %q", got, want)
		}
		if exists(e, "old/x") || !exists(e, "old/y") {
			t.Errorf("workspace: got %v", snapshot(t, e.ws))
		}
	})
	t.Run("declining a replaced file skips what is inside the new directory", func(t *testing.T) {
		e, s := setup(t)
		rep, err := s.Apply(ApplyOptions{Confirm: func(c Change) (bool, error) { return c.Path != "f", nil }})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(rep.Skipped, "f/inner") {
			t.Errorf("skipped: got %v, want f/inner in it", rep.Skipped)
		}
		data, _ := os.ReadFile(filepath.Join(e.ws, "f"))
		if string(data) != "file\n" {
			t.Errorf("f: got %q, want the old file", data)
		}
	})
	t.Run("confirm error aborts with nothing changed", func(t *testing.T) {
		e, s := setup(t)
		before := snapshot(t, e.ws)
		boom := errors.New("boom")
		_, err := s.Apply(ApplyOptions{Confirm: func(c Change) (bool, error) { return false, boom }})
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want boom", err)
		}
		checkSnapshot(t, "workspace", snapshot(t, e.ws), before)
	})
}

// TestGitWorkspace applies an agent's edits to a git repository and checks
// what git sees.
func TestGitWorkspace(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	writeTree(t, e.ws, files{"main.go": "package main\n", "README": "readme\n", "old.txt": "old\n", "lib/a.go": "package lib\n"}, nil)
	git := func(args ...string) string {
		return run(t, e.ws, "git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "base")
	s := e.newSession("")
	snap := filepath.Join(e.root, "snap")
	os.Mkdir(snap, 0o755)
	runAgent(t, e, s, `set -e
echo 'func main() {}' >> main.go
rm README
git mv -q old.txt new.txt 2>/dev/null || mv old.txt new.txt
git reset -q
echo added > lib/b.go
`, snap, false)
	e.end(s)
	if got := git("status", "--porcelain"); got != "" {
		t.Fatalf("git status before apply: got %q, want clean", got)
	}
	if _, err := s.Apply(ApplyOptions{Protected: []string{".git/hooks", ".git/config"}}); err != nil {
		t.Fatal(err)
	}
	want := " D README\n M main.go\n D old.txt\n?? lib/b.go\n?? new.txt\n"
	if got := git("status", "--porcelain"); got != want {
		t.Errorf("git status after apply:\ngot\n%s\nwant\n%s", got, want)
	}
	if got := git("fsck", "--no-progress"); strings.Contains(got, "error") {
		t.Errorf("git fsck: %s", got)
	}
}

// TestApplyManyFiles goes through the batched durability path (one syncfs
// instead of an fsync per file) and the parallel staging workers.
func TestApplyManyFiles(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	base := files{}
	for i := 0; i < 100; i++ {
		base[fmt.Sprintf("d%d/f%03d", i%5, i)] = fmt.Sprintf("old %d\n", i)
	}
	writeTree(t, e.ws, base, nil)
	s := e.newSession("")
	for i := 0; i < 100; i++ {
		p := fmt.Sprintf("d%d/f%03d", i%5, i)
		switch i % 3 {
		case 0:
			upperWrite(t, s, p, fmt.Sprintf("new %d\n", i), 0o600)
		case 1:
			upperWhiteout(t, s, p)
		}
		upperWrite(t, s, fmt.Sprintf("n%d/g%03d", i%7, i), "added\n", 0o644)
	}
	e.end(s)
	changes, err := s.Changes(nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(changes); n != 34+33+100+7 {
		t.Fatalf("got %d changes, want %d", n, 34+33+100+7)
	}
	if _, err := s.Apply(ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	// Build the expected tree from the base snapshot.
	ref := filepath.Join(e.root, "ref")
	writeTree(t, ref, base, nil)
	for i := 0; i < 100; i++ {
		p := filepath.Join(ref, fmt.Sprintf("d%d/f%03d", i%5, i))
		switch i % 3 {
		case 0:
			os.WriteFile(p, []byte(fmt.Sprintf("new %d\n", i)), 0o600)
			os.Chmod(p, 0o600)
		case 1:
			os.Remove(p)
		}
		writeTree(t, ref, files{fmt.Sprintf("n%d/g%03d", i%7, i): "added\n"}, nil)
	}
	checkSnapshot(t, "workspace", snapshot(t, e.ws), snapshot(t, ref))
	if after, err := s.Changes(nil); err != nil || len(after) != 0 {
		t.Errorf("changes after apply: got %d, %v; want none", len(after), err)
	}
}

// TestEditDuringApply changes workspace files after the commit point but
// before their install: those installs are skipped as conflicts, nothing
// the user wrote is lost, and the rest is applied.
func TestEditDuringApply(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	writeTree(t, e.ws, files{"edited": "base\n", "other": "base\n", "gone": "base\n"}, nil)
	s := e.newSession("")
	upperWrite(t, s, "edited", "agent\n", 0o644)
	upperWrite(t, s, "other", "agent\n", 0o644)
	upperWrite(t, s, "racy-new", "agent\n", 0o644)
	upperWhiteout(t, s, "gone")
	e.end(s)
	testHookStep = func(step string) {
		if step != "commit" {
			return
		}
		os.WriteFile(filepath.Join(e.ws, "edited"), []byte("user during apply\n"), 0o644)
		os.WriteFile(filepath.Join(e.ws, "racy-new"), []byte("user\n"), 0o644)
		os.WriteFile(filepath.Join(e.ws, "gone"), []byte("user keeps it\n"), 0o644)
	}
	defer func() { testHookStep = nil }()
	rep, err := s.Apply(ApplyOptions{})
	if !errors.Is(err, ErrConflicts) {
		t.Fatalf("apply error: got %v, want ErrConflicts", err)
	}
	if got, want := strings.Join(rep.Conflicts, " "), "edited gone racy-new"; got != want {
		t.Errorf("conflicts: got %q, want %q", got, want)
	}
	if got, want := strings.Join(rep.Applied, " "), "other"; got != want {
		t.Errorf("applied: got %q, want %q", got, want)
	}
	for p, want := range map[string]string{"edited": "user during apply\n", "racy-new": "user\n", "gone": "user keeps it\n", "other": "agent\n"} {
		if got, _ := os.ReadFile(filepath.Join(e.ws, p)); string(got) != want {
			t.Errorf("%s: got %q, want %q", p, got, want)
		}
	}
	if tn := tempNames(t, e.ws); len(tn) > 0 {
		t.Errorf("temporaries left: %v", tn)
	}
	changes, err := s.Changes(nil)
	if err != nil {
		t.Fatal(err)
	}
	checkKinds(t, changes, map[string]string{"edited": "modified conflict", "racy-new": "added conflict", "gone": "deleted conflict"})
}
