package escape

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOverlayReview runs an agent-like script with --overlay in a git
// repository, checks that nothing reached the workspace, reviews the
// changes, applies some, and discards the rest, all through the CLI.
func TestOverlayReview(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	state := filepath.Join(f.Home, ".local", "state")
	env := []string{"XDG_STATE_HOME=" + state}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.email=t@t", "-c", "user.name=t"}, args...)...)
		cmd.Dir = f.Work
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	os.RemoveAll(filepath.Join(f.Work, ".git"))
	git("init", "-q", "-b", "main")
	for name, content := range map[string]string{"keep.txt": "keep\n", "edit.txt": "one\n", "gone.txt": "bye\n", "bin.dat": "\x00\x01"} {
		if err := os.WriteFile(filepath.Join(f.Work, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("add", "keep.txt", "edit.txt", "gone.txt", "bin.dat")
	git("commit", "-qm", "base")
	before := treeHash(t, f.Work)
	outside := filepath.Join(f.Home, "outside")

	script := `set -e
echo two >> edit.txt
rm gone.txt
echo new > new.txt
mkdir -p sub/deep && echo deep > sub/deep/file
printf '\002\003' > bin.dat
chmod 755 keep.txt
ln -s ` + outside + ` escape
echo done`
	r := f.sandbox(t, []string{"--overlay", "--session", "review"}, script, env...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "done") {
		t.Fatalf("run: %v", r)
	}
	mustContain(t, "run summary", r.Stderr, "session review:")
	if after := treeHash(t, f.Work); after != before {
		t.Fatalf("the workspace changed during an --overlay run")
	}

	run := func(args ...string) result {
		t.Helper()
		return runCmd(t, f.Work, f.env(env...), append([]string{airlockBin}, args...)...)
	}
	names := run("diff", "--name-only", "review")
	for _, p := range []string{"edit.txt", "gone.txt", "new.txt", "sub/deep/file", "bin.dat", "keep.txt", "escape"} {
		mustContain(t, "diff --name-only", names.Stdout, p)
	}
	d := run("diff", "review")
	mustContain(t, "diff", d.Stdout, "+two")
	mustContain(t, "diff", d.Stdout, "deleted file mode")
	mustContain(t, "diff", d.Stdout, "Binary files")
	mustContain(t, "diff", d.Stdout, "new mode 100755")

	// Apply some paths; the rest stays in the session.
	a := run("apply", "review", "edit.txt", "new.txt", "gone.txt")
	if a.Code != 0 {
		t.Fatalf("apply: %v", a)
	}
	status := git("status", "--porcelain")
	for _, want := range []string{" M edit.txt", " D gone.txt", "?? new.txt"} {
		mustContain(t, "git status after apply", status, want)
	}
	mustNotContain(t, "git status after apply", status, "sub/")
	mustNotContain(t, "git status after apply", status, "bin.dat")
	if b, _ := os.ReadFile(filepath.Join(f.Work, "edit.txt")); string(b) != "one\ntwo\n" {
		t.Errorf("edit.txt = %q, want the edited content", b)
	}

	// A conflict: the user edits a file the agent changed.
	if err := os.WriteFile(filepath.Join(f.Work, "bin.dat"), []byte("user edit"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := run("apply", "review", "bin.dat")
	if c.Code == 0 {
		t.Errorf("apply over a conflict succeeded: %v", c)
	}
	if b, _ := os.ReadFile(filepath.Join(f.Work, "bin.dat")); string(b) != "user edit" {
		t.Errorf("the conflicting apply overwrote the user's edit: %q", b)
	}

	// The planted symlink is applied as a symlink, never followed.
	run("apply", "review", "escape")
	if _, err := os.Lstat(outside); err == nil {
		t.Errorf("apply wrote outside the workspace")
	}

	disc := run("discard", "review")
	if disc.Code != 0 {
		t.Fatalf("discard: %v", disc)
	}
	if l := run("sessions"); !strings.Contains(l.Stdout, "no sessions") {
		t.Errorf("sessions after discard: %v", l)
	}
	if _, err := os.Stat(filepath.Join(f.Work, "sub")); err == nil {
		t.Errorf("discarded changes reached the workspace")
	}
}
