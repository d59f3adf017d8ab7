package session

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (overlay mounts, device nodes, trusted xattrs)")
	}
}

// testEnv is one scratch directory under /var/tmp (overlayfs needs a file
// system with xattrs for its upper directory, and /tmp may be tmpfs) with a
// workspace and a store.
type testEnv struct {
	t     testing.TB
	root  string
	ws    string
	store *Store
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	root, err := os.MkdirTemp("/var/tmp", "airlock-session-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, root: root, ws: filepath.Join(root, "ws")}
	t.Cleanup(func() {
		unmountAllBelow(root)
		if err := removeAllPath(root); err != nil {
			t.Errorf("cleanup %s: %v", root, err)
		}
	})
	if err := os.Mkdir(e.ws, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := Open(filepath.Join(root, "store"))
	if err != nil {
		t.Fatal(err)
	}
	e.store = st
	return e
}

// unmountAllBelow lazily unmounts every mount below dir (deepest first).
func unmountAllBelow(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mps []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mps = append(mps, f[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mps)))
	for _, mp := range mps {
		_ = unix.Unmount(mp, unix.MNT_DETACH)
	}
}

// files describes a tree: path -> content. A path ending in "/" is a
// directory, content "-> x" a symlink to x; a "mode" map may set modes.
type files map[string]string

func writeTree(t testing.TB, dir string, fs files, modes map[string]os.FileMode) {
	t.Helper()
	paths := make([]string, 0, len(fs))
	for p := range fs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(dir, strings.TrimSuffix(p, "/"))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		c := fs[p]
		switch {
		case strings.HasSuffix(p, "/"):
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(c, "-> "):
			if err := os.Symlink(strings.TrimPrefix(c, "-> "), full); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for p, m := range modes {
		if err := os.Chmod(filepath.Join(dir, strings.TrimSuffix(p, "/")), m); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot describes every entry below dir as "type mode content" (content
// hashed for files, the target for symlinks), without following symlinks.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		perm := info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "symlink -> " + target
		case info.IsDir():
			out[rel] = fmt.Sprintf("dir %v", perm)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			out[rel] = fmt.Sprintf("file %v %s", perm, hex.EncodeToString(sum[:8]))
		default:
			out[rel] = "special " + info.Mode().String()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	return out
}

// diffSnapshots lists the differences between two snapshots.
func diffSnapshots(got, want map[string]string) []string {
	var out []string
	for p, w := range want {
		if g, ok := got[p]; !ok {
			out = append(out, fmt.Sprintf("%s: missing, want %s", p, w))
		} else if g != w {
			out = append(out, fmt.Sprintf("%s: got %s, want %s", p, g, w))
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			out = append(out, fmt.Sprintf("%s: unexpected %s", p, g))
		}
	}
	sort.Strings(out)
	return out
}

func checkSnapshot(t testing.TB, what string, got, want map[string]string) {
	t.Helper()
	if d := diffSnapshots(got, want); len(d) > 0 {
		t.Errorf("%s differs:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// Direct manipulation of an upper directory, doing what overlayfs does.

func upperWrite(t testing.TB, s *Session, p, content string, mode os.FileMode) {
	t.Helper()
	full := filepath.Join(s.UpperDir(), p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil {
		t.Fatal(err)
	}
}

func upperSymlink(t testing.TB, s *Session, p, target string) {
	t.Helper()
	full := filepath.Join(s.UpperDir(), p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		t.Fatal(err)
	}
}

func upperMkdir(t testing.TB, s *Session, p string, mode os.FileMode, opaque bool) {
	t.Helper()
	full := filepath.Join(s.UpperDir(), p)
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil {
		t.Fatal(err)
	}
	if opaque {
		if err := unix.Setxattr(full, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
			t.Fatal(err)
		}
	}
}

func upperWhiteout(t testing.TB, s *Session, p string) {
	t.Helper()
	full := filepath.Join(s.UpperDir(), p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(full, unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
}

// run runs a command and fails the test on error.
func run(t testing.TB, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newSession creates a session on the env's workspace and records the base
// state (Begin), leaving it ended (End) so Apply can run.
func (e *testEnv) newSession(name string) *Session {
	e.t.Helper()
	s, err := e.store.Create(name, e.ws, []string{"agent"})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := s.Begin(); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *testEnv) end(s *Session) {
	e.t.Helper()
	if err := s.End(0); err != nil {
		e.t.Fatal(err)
	}
}

// changeKinds summarizes changes as path -> kind (with flags).
func changeKinds(changes []Change) map[string]string {
	out := map[string]string{}
	for _, c := range changes {
		k := c.Kind.String()
		if c.Conflict != "" {
			k += " conflict"
		}
		if c.Refused != "" {
			k += " refused"
		}
		if c.Protected {
			k += " protected"
		}
		out[c.Path] = k
	}
	return out
}

func checkKinds(t testing.TB, changes []Change, want map[string]string) {
	t.Helper()
	got := changeKinds(changes)
	var bad []string
	for p, w := range want {
		if got[p] != w {
			bad = append(bad, fmt.Sprintf("%s: got %q, want %q", p, got[p], w))
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			bad = append(bad, fmt.Sprintf("%s: unexpected %q", p, g))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("changes differ:\n  %s", strings.Join(bad, "\n  "))
	}
}

// tempNames lists leftover apply temporaries below dir.
func tempNames(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".airlock-") {
			out = append(out, p)
		}
		return nil
	})
	return out
}
