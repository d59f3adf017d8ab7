package session

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDefaultDir(t *testing.T) {
	for _, tc := range []struct {
		name    string
		environ []string
		home    string
		want    string
	}{
		{"xdg set", []string{"A=b", "XDG_STATE_HOME=/x/state"}, "/home/u", "/x/state/airlock"},
		{"xdg relative ignored", []string{"XDG_STATE_HOME=rel"}, "/home/u", "/home/u/.local/state/airlock"},
		{"xdg empty ignored", []string{"XDG_STATE_HOME="}, "/home/u", "/home/u/.local/state/airlock"},
		{"first wins", []string{"XDG_STATE_HOME=/one", "XDG_STATE_HOME=/two"}, "/h", "/one/airlock"},
		{"fallback", nil, "/home/u", "/home/u/.local/state/airlock"},
		{"no home", nil, "", ""},
		{"relative home", nil, "home", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DefaultDir(tc.environ, tc.home); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStore(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	st, err := os.Stat(e.store.Dir())
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("store dir mode: got %v (%v), want 0700", st.Mode(), err)
	}
	other := filepath.Join(e.root, "other")
	os.Mkdir(other, 0o711)

	a, err := e.store.Create("alpha", e.ws, []string{"claude", "--yes"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.store.Create("", e.ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.store.Create("gamma", other, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(c.UpperDir()); err != nil || st.Mode().Perm() != 0o711 {
		t.Errorf("upper dir of other: got %v (%v), want the workspace root's 0711", st.Mode(), err)
	}
	for _, tc := range []struct {
		name    string
		create  string
		ws      string
		wantErr error
	}{
		{"duplicate name", "alpha", e.ws, ErrExists},
		{"name equal to an id", b.Meta().ID, e.ws, ErrExists},
		{"bad characters", "a/b", e.ws, ErrInvalidName},
		{"leading dot", ".x", e.ws, ErrInvalidName},
		{"too long", strings.Repeat("x", 65), e.ws, ErrInvalidName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.store.Create(tc.create, tc.ws, nil)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
	if _, err := e.store.Create("rel", "relative/path", nil); err == nil {
		t.Error("relative workspace accepted")
	}
	for _, tc := range []struct{ key, wantID string }{
		{"alpha", a.Meta().ID}, {a.Meta().ID, a.Meta().ID}, {b.Meta().ID, b.Meta().ID}, {"gamma", c.Meta().ID},
	} {
		got, err := e.store.Get(tc.key)
		if err != nil || got.Meta().ID != tc.wantID {
			t.Errorf("Get(%q): got %v, %v; want %s", tc.key, got, err, tc.wantID)
		}
	}
	if _, err := e.store.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(nope): got %v, want ErrNotFound", err)
	}
	if _, err := e.store.Get(""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(\"\"): got %v, want ErrNotFound", err)
	}
	got, err := e.store.Get("alpha")
	if err != nil || strings.Join(got.Meta().Command, " ") != "claude --yes" || got.Meta().Workspace != e.ws {
		t.Errorf("meta round trip: got %+v, %v", got.Meta(), err)
	}
	list, err := e.store.List()
	if err != nil || len(list) != 3 {
		t.Fatalf("List: got %d, %v; want 3", len(list), err)
	}
	// Latest follows activity: b was created after a, but a runs later.
	if l, err := e.store.Latest(e.ws + "/"); err != nil || l.Meta().ID != b.Meta().ID {
		t.Errorf("Latest: got %v, %v; want %s", l, err, b.Meta().ID)
	}
	if err := a.Begin(); err != nil {
		t.Fatal(err)
	}
	if err := a.End(3); err != nil {
		t.Fatal(err)
	}
	if l, err := e.store.Latest(e.ws); err != nil || l.Meta().ID != a.Meta().ID {
		t.Errorf("Latest after run: got %v, %v; want %s", l, err, a.Meta().ID)
	}
	if m := a.Meta(); m.Runs != 1 || m.ExitCode != 3 || m.Ended.Before(m.Started) {
		t.Errorf("meta after run: got %+v", m)
	}
	if _, err := e.store.Latest(filepath.Join(e.root, "nowhere")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Latest(nowhere): got %v, want ErrNotFound", err)
	}
}

func TestLocking(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	writeTree(t, e.ws, files{"f": "f\n"}, nil)
	s1, err := e.store.Create("run", e.ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Begin(); err != nil {
		t.Fatal(err)
	}
	s2, err := e.store.Get("run")
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Begin(); !errors.Is(err, ErrBusy) {
		t.Errorf("second Begin: got %v, want ErrBusy", err)
	}
	if _, err := s2.Apply(ApplyOptions{}); !errors.Is(err, ErrBusy) {
		t.Errorf("Apply during run: got %v, want ErrBusy", err)
	}
	if err := e.store.Discard("run"); !errors.Is(err, ErrBusy) {
		t.Errorf("Discard during run: got %v, want ErrBusy", err)
	}
	// A journal of a running apply must not be touched by Recover.
	os.WriteFile(s1.journalPath(), []byte("garbage"), 0o600)
	if msgs, err := e.store.Recover(); err != nil || len(msgs) != 0 {
		t.Errorf("Recover on a busy session: got %v, %v; want nothing done", msgs, err)
	}
	os.Remove(s1.journalPath())
	if err := s1.End(0); err != nil {
		t.Fatal(err)
	}
	upperWrite(t, s2, "f", "g\n", 0o644)
	if _, err := s2.Apply(ApplyOptions{}); err != nil {
		t.Errorf("Apply after End: %v", err)
	}
}

// populateNasty fills an upper directory with what makes removal hard:
// 0000 directories (nested), files inside them, whiteouts, and the 0000
// work/work directory overlayfs leaves.
func populateNasty(t *testing.T, s *Session) {
	upperWrite(t, s, "a/b/c/file", "x", 0o000)
	upperWhiteout(t, s, "a/b/gone")
	upperWhiteout(t, s, "wh")
	upperSymlink(t, s, "a/link", "/etc")
	for _, d := range []string{"a/b/c", "a/b", "a"} {
		os.Chmod(filepath.Join(s.UpperDir(), d), 0)
	}
	os.MkdirAll(filepath.Join(s.WorkDir(), "work", "x"), 0o755)
	os.Chmod(filepath.Join(s.WorkDir(), "work", "x"), 0)
	os.Chmod(filepath.Join(s.WorkDir(), "work"), 0)
}

func TestDiscard(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	s := e.newSession("doomed")
	e.end(s)
	populateNasty(t, s)
	keep := e.newSession("kept")
	e.end(keep)
	if err := e.store.Discard("doomed"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(s.Dir()); !os.IsNotExist(err) {
		t.Errorf("session dir: got %v, want it gone", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.store.Dir(), trashDir)); len(ents) != 0 {
		t.Errorf("trash not empty: %v", ents)
	}
	if _, err := e.store.Get("doomed"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Discard: got %v, want ErrNotFound", err)
	}
	if _, err := e.store.Get("kept"); err != nil {
		t.Errorf("other session: %v", err)
	}
	if _, err := os.Stat("/etc/passwd"); err != nil {
		t.Errorf("/etc/passwd: %v", err)
	}
}

// TestDiscardUnprivileged runs Discard as an ordinary user (nobody) on a
// store it owns, where 0000 directories really deny access.
func TestDiscardUnprivileged(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	s := e.newSession("doomed")
	e.end(s)
	populateNasty(t, s)
	const nobody = 65534
	err := filepath.Walk(e.store.Dir(), func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The test binary lives in a private build directory: copy it where
	// nobody can run it.
	bin := filepath.Join(e.root, "session.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=discard", "AIRLOCK_TEST_STORE="+e.store.Dir(), "AIRLOCK_TEST_SESSION=doomed")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("discard as nobody: %v\n%s", err, out)
	}
	if _, err := os.Lstat(s.Dir()); !os.IsNotExist(err) {
		t.Errorf("session dir: got %v, want it gone", err)
	}
	// Control: without the chmod fallback an unprivileged rm fails.
	s2 := e.newSession("control")
	e.end(s2)
	populateNasty(t, s2)
	filepath.Walk(s2.Dir(), func(p string, info os.FileInfo, err error) error { return os.Lchown(p, nobody, nobody) })
	rm := exec.Command("rm", "-rf", s2.UpperDir())
	rm.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if err := rm.Run(); err == nil {
		t.Error("control: rm -rf as nobody succeeded, so the test proves nothing")
	}
}

func TestRecoverCleansUnfinished(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	// An interrupted Discard leaves a directory in the trash.
	trash := filepath.Join(e.store.Dir(), trashDir, "x.1234")
	os.MkdirAll(filepath.Join(trash, "d"), 0o755)
	unix.Mknod(filepath.Join(trash, "d", "wh"), unix.S_IFCHR, 0)
	os.Chmod(filepath.Join(trash, "d"), 0)
	// A journal whose plan was never completed: nothing was staged.
	s := e.newSession("s")
	e.end(s)
	os.WriteFile(s.journalPath(), []byte(`{"rec":"begin","version":1,"apply":"ab","workspace":"/x"}`+"\n"+`{"rec":"op","op":{"op":"mkd`), 0o600)
	// A Create that died before writing meta.json.
	half := filepath.Join(e.store.Dir(), sessionsDir, "20200101-000000-dead")
	os.MkdirAll(filepath.Join(half, upperDir), 0o700)
	msgs, err := e.store.Recover()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || !strings.Contains(msgs[0], "unfinished session directory") || !strings.Contains(msgs[1], "before it started") {
		t.Errorf("messages: got %q", msgs)
	}
	if _, err := os.Lstat(half); !os.IsNotExist(err) {
		t.Errorf("unfinished session: got %v, want removed", err)
	}
	if _, err := os.Lstat(trash); !os.IsNotExist(err) {
		t.Errorf("trash entry: got %v, want removed", err)
	}
	if s.HasJournal() {
		t.Error("journal left")
	}
	// A corrupt committed journal is left in place with an error.
	os.WriteFile(s.journalPath(), []byte("{\"rec\":\"nonsense\"}\n"), 0o600)
	if _, err := e.store.Recover(); !errors.Is(err, errCorruptJournal) {
		t.Errorf("corrupt journal: got %v, want errCorruptJournal", err)
	}
	if !s.HasJournal() {
		t.Error("corrupt journal was removed")
	}
}
