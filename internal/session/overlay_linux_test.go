package session

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// roundTripBase is the workspace before the agent runs.
var roundTripBase = files{
	"edit.txt":          "line 1\nline 2\nline 3\n",
	"del.txt":           "to be deleted\n",
	"ren_old.txt":       "renamed file\n",
	"dirA/x":            "x\n",
	"dirA/y/z":          "z\n",
	"script.sh":         "#!/bin/sh\necho hi\n",
	"target.txt":        "target\n",
	"other.txt":         "other\n",
	"link":              "-> target.txt",
	"opq/old1":          "old1\n",
	"opq/old2/sub":      "sub\n",
	"file2dir":          "was a file\n",
	"dir2file/a":        "a\n",
	"dir2file/b/c":      "c\n",
	"sym2file":          "-> target.txt",
	"modedir/f":         "f\n",
	"gone/g1":           "g1\n",
	"gone/g2/g3":        "g3\n",
	"same.txt":          "unchanged content\n",
	"bin2.dat":          "\x00\x01\x02old",
	"keep/untouched.go": "package keep\n",
}

// roundTripScript is what the agent does in the merged view.
const roundTripScript = `set -e
echo 'line 4' >> edit.txt
echo new > added.txt
rm del.txt
mv ren_old.txt ren_new.txt
mv dirA dirB
chmod 755 script.sh
ln -s target.txt newlink
ln -sfn other.txt link
printf '\000\001\002bin' > bin.dat
printf '\000\001\002new' > bin2.dat
mkdir -p nest/a/b/c && echo deep > nest/a/b/c/file
rm -rf opq && mkdir opq && echo fresh > opq/new.txt
rm file2dir && mkdir file2dir && echo inner > file2dir/inner
rm -rf dir2file && echo now-a-file > dir2file
rm sym2file && echo real > sym2file
chmod 700 modedir
rm -rf gone
chmod 644 same.txt
mkdir emptydir
`

var roundTripKinds = map[string]string{
	"edit.txt":        "modified",
	"added.txt":       "added",
	"del.txt":         "deleted",
	"ren_old.txt":     "deleted",
	"ren_new.txt":     "added",
	"dirA":            "deleted",
	"dirA/x":          "deleted",
	"dirA/y":          "deleted",
	"dirA/y/z":        "deleted",
	"dirB":            "added",
	"dirB/x":          "added",
	"dirB/y":          "added",
	"dirB/y/z":        "added",
	"script.sh":       "mode changed",
	"newlink":         "added",
	"link":            "symlink changed",
	"bin.dat":         "added",
	"bin2.dat":        "modified",
	"nest":            "added",
	"nest/a":          "added",
	"nest/a/b":        "added",
	"nest/a/b/c":      "added",
	"nest/a/b/c/file": "added",
	"opq/old1":        "deleted",
	"opq/old2":        "deleted",
	"opq/old2/sub":    "deleted",
	"opq/new.txt":     "added",
	"file2dir":        "type changed",
	"file2dir/inner":  "added",
	"dir2file":        "type changed",
	"dir2file/a":      "deleted",
	"dir2file/b":      "deleted",
	"dir2file/b/c":    "deleted",
	"sym2file":        "type changed",
	"modedir":         "mode changed",
	"gone":            "deleted",
	"gone/g1":         "deleted",
	"gone/g2":         "deleted",
	"gone/g2/g3":      "deleted",
	"emptydir":        "added",
}

func overlayOptions(lower, upper, work string, userxattr bool) string {
	o := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=off,metacopy=off,index=off", lower, upper, work)
	if userxattr {
		o = fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,userxattr", lower, upper, work)
	}
	return o
}

// runAgent mounts the overlay (as root, or inside a new user namespace with
// userxattr), runs script in the merged view, copies the merged view to
// snap (cp -a), and unmounts.
func runAgent(t *testing.T, e *testEnv, s *Session, script, snap string, userns bool) {
	t.Helper()
	mnt := filepath.Join(e.root, "mnt")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := overlayOptions(e.ws, s.UpperDir(), s.WorkDir(), userns)
	if userns {
		full := fmt.Sprintf("mount -t overlay overlay -o %s %s && cd %s && (%s) && cp -a %s/. %s/",
			opts, mnt, mnt, script, mnt, snap)
		cmd := exec.Command("unshare", "-Urm", "sh", "-c", full)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("agent in user namespace: %v\n%s", err, out)
		}
		return
	}
	if err := unix.Mount("overlay", mnt, "overlay", 0, opts); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	defer func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount: %v", err)
		}
	}()
	run(t, mnt, "sh", "-c", script)
	run(t, mnt, "cp", "-a", mnt+"/.", snap+"/")
}

func TestOverlayRoundTrip(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name   string
		userns bool
		xattr  string
	}{
		{"root mount", false, "trusted.overlay.opaque"},
		{"user namespace userxattr", true, "user.overlay.opaque"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.userns {
				if err := exec.Command("unshare", "-Urm", "true").Run(); err != nil {
					t.Skipf("cannot create a user namespace: %v", err)
				}
			}
			e := newEnv(t)
			writeTree(t, e.ws, roundTripBase, nil)
			before := snapshot(t, e.ws)
			s := e.newSession("rt")
			snap := filepath.Join(e.root, "snap")
			if err := os.Mkdir(snap, 0o755); err != nil {
				t.Fatal(err)
			}
			runAgent(t, e, s, roundTripScript, snap, tc.userns)
			e.end(s)

			// The opaque directory must carry the attribute of this mode.
			if _, err := unix.Getxattr(filepath.Join(s.UpperDir(), "opq"), tc.xattr, make([]byte, 8)); err != nil {
				t.Fatalf("upper opq has no %s: %v", tc.xattr, err)
			}
			checkSnapshot(t, "workspace before apply", snapshot(t, e.ws), before)

			changes, err := s.Changes(nil)
			if err != nil {
				t.Fatal(err)
			}
			checkKinds(t, changes, roundTripKinds)
			for _, c := range changes {
				wantBinary := c.Path == "bin.dat" || c.Path == "bin2.dat"
				if c.Binary != wantBinary {
					t.Errorf("%s: Binary got %v, want %v", c.Path, c.Binary, wantBinary)
				}
			}
			var diff bytes.Buffer
			if err := WriteDiff(&diff, s, changes, DiffOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"diff --git a/edit.txt b/edit.txt\n--- a/edit.txt\n+++ b/edit.txt\n@@ -1,3 +1,4 @@\n line 1\n line 2\n line 3\n+line 4\n",
				"diff --git a/script.sh b/script.sh\nold mode 100644\nnew mode 100755\n",
				"diff --git a/link b/link\n--- a/link\n+++ b/link\n@@ -1 +1 @@\n-target.txt\n\\ No newline at end of file\n+other.txt\n\\ No newline at end of file\n",
				"Binary files /dev/null and b/bin.dat differ\n",
				"diff --git a/del.txt b/del.txt\ndeleted file mode 100644\n--- a/del.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-to be deleted\n",
			} {
				if !strings.Contains(diff.String(), want) {
					t.Errorf("diff lacks %q\nfull diff:\n%s", want, diff.String())
				}
			}

			rep, err := s.Apply(ApplyOptions{})
			if err != nil {
				t.Fatalf("apply: %v (report %+v)", err, rep)
			}
			if got, want := len(rep.Applied), len(roundTripKinds); got != want {
				t.Errorf("applied %d paths, want %d: %v", got, want, rep.Applied)
			}
			// The workspace is now exactly the merged view the agent saw
			// (no set-id bits were involved, so modes match too).
			checkSnapshot(t, "workspace after apply", snapshot(t, e.ws), snapshot(t, snap))
			if tn := tempNames(t, e.ws); len(tn) > 0 {
				t.Errorf("temporaries left: %v", tn)
			}
			after, err := s.Changes(nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != 0 {
				t.Errorf("changes after apply: got %v, want none", changeKinds(after))
			}
			if s.HasJournal() {
				t.Errorf("journal left after apply")
			}
			m := s.Meta()
			if len(m.Applied) != len(roundTripKinds) {
				t.Errorf("meta applied: got %d paths, want %d", len(m.Applied), len(roundTripKinds))
			}
		})
	}
}

// TestResumeKeepsBase checks the base-state merge of a resumed run: a path
// the agent touched keeps its first-run base (so a user edit between runs
// is a conflict), an untouched path gets a fresh one (so a user edit
// between runs that the agent then builds on is not).
func TestResumeKeepsBase(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	writeTree(t, e.ws, files{"touched.txt": "v1\n", "later.txt": "v1\n"}, nil)
	s := e.newSession("")
	snap := filepath.Join(e.root, "snap")
	os.Mkdir(snap, 0o755)
	runAgent(t, e, s, "echo agent >> touched.txt", snap, false)
	e.end(s)
	// The user edits both files between runs.
	os.WriteFile(filepath.Join(e.ws, "touched.txt"), []byte("user\n"), 0o644)
	os.WriteFile(filepath.Join(e.ws, "later.txt"), []byte("user\n"), 0o644)
	if err := s.Begin(); err != nil {
		t.Fatal(err)
	}
	runAgent(t, e, s, "echo agent >> later.txt", snap, false)
	e.end(s)
	changes, err := s.Changes(nil)
	if err != nil {
		t.Fatal(err)
	}
	checkKinds(t, changes, map[string]string{
		"touched.txt": "modified conflict",
		"later.txt":   "modified",
	})
	rep, err := s.Apply(ApplyOptions{})
	if !errors.Is(err, ErrConflicts) {
		t.Fatalf("apply error: got %v, want ErrConflicts", err)
	}
	if got := strings.Join(rep.Applied, ","); got != "later.txt" {
		t.Errorf("applied: got %q, want later.txt", got)
	}
	data, _ := os.ReadFile(filepath.Join(e.ws, "later.txt"))
	if string(data) != "user\nagent\n" {
		t.Errorf("later.txt: got %q, want %q", data, "user\nagent\n")
	}
}
