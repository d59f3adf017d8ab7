package session

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// childEnv selects what a re-executed test binary does (see TestMain).
const childEnv = "AIRLOCK_SESSION_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "discard":
		st, err := Open(os.Getenv("AIRLOCK_TEST_STORE"))
		if err == nil {
			err = st.Discard(os.Getenv("AIRLOCK_TEST_SESSION"))
		}
		exitChild(err)
	case "apply", "recover":
		installKillHook()
		st, err := Open(os.Getenv("AIRLOCK_TEST_STORE"))
		if err == nil && os.Getenv(childEnv) == "apply" {
			var s *Session
			if s, err = st.Get(os.Getenv("AIRLOCK_TEST_SESSION")); err == nil {
				_, err = s.Apply(ApplyOptions{})
			}
		} else if err == nil {
			_, err = st.Recover()
		}
		exitChild(err)
	}
	fmt.Fprintf(os.Stderr, "unknown %s\n", childEnv)
	os.Exit(2)
}

func exitChild(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// installKillHook makes the process record every journal step in the file
// AIRLOCK_TEST_STEPS and SIGKILL itself at step AIRLOCK_TEST_KILL_AT.
func installKillHook() {
	killAt, _ := strconv.Atoi(os.Getenv("AIRLOCK_TEST_KILL_AT"))
	f, err := os.OpenFile(os.Getenv("AIRLOCK_TEST_STEPS"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	n := 0
	testHookStep = func(step string) {
		n++
		fmt.Fprintln(f, step)
		if n == killAt {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
}

// crashEnv builds the same workspace and session every time.
func crashEnv(t *testing.T) (*testEnv, *Session) {
	e := newEnv(t)
	writeTree(t, e.ws, files{
		"mod.txt": "old\n", "del.txt": "d\n", "deldir/a": "a", "deldir/b/c": "c",
		"f2d": "file", "d2f/x": "x", "d2f/y/z": "z", "sym": "-> mod.txt", "s2f": "-> del.txt",
		"mode.sh": "#!/bin/sh\n", "keepdir/k": "k", "opq/o1": "o1", "untouched": "u",
	}, nil)
	s := e.newSession("crash")
	upperWrite(t, s, "mod.txt", "new content\n", 0o644)
	upperWrite(t, s, "new.txt", "brand new\n", 0o600)
	upperWrite(t, s, "newdir/sub/n.txt", "nested\n", 0o644)
	upperWhiteout(t, s, "del.txt")
	upperWhiteout(t, s, "deldir")
	upperMkdir(t, s, "f2d", 0o750, true)
	upperWrite(t, s, "f2d/in/deep", "deep\n", 0o644)
	upperWrite(t, s, "d2f", "now a file\n", 0o644)
	upperSymlink(t, s, "sym", "new.txt")
	upperWrite(t, s, "s2f", "was a symlink\n", 0o644)
	upperWrite(t, s, "mode.sh", "#!/bin/sh\n", 0o755)
	upperMkdir(t, s, "keepdir", 0o700, false)
	upperMkdir(t, s, "opq", 0o755, true)
	upperWrite(t, s, "opq/o2", "o2\n", 0o644)
	upperSymlink(t, s, "newlink", "../outside")
	upperMkdir(t, s, "emptydir", 0o555, false)
	// Names and targets that are bytes, not UTF-8, must survive the journal.
	upperWrite(t, s, "bad\xffname", "latin1\n", 0o644)
	upperSymlink(t, s, "badlink", "tar\xfeget")
	e.end(s)
	return e, s
}

// runChild runs the test binary as an apply or recover child killed at
// step killAt (0: never). It returns the steps the child reached and
// whether it was killed.
func runChild(t *testing.T, e *testEnv, what string, killAt int) (steps []string, killed bool) {
	t.Helper()
	stepsFile := filepath.Join(e.root, fmt.Sprintf("steps-%s-%d", what, killAt))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+what, "AIRLOCK_TEST_STORE="+e.store.Dir(),
		"AIRLOCK_TEST_SESSION=crash", "AIRLOCK_TEST_KILL_AT="+strconv.Itoa(killAt), "AIRLOCK_TEST_STEPS="+stepsFile)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
		killed = true
	default:
		t.Fatalf("%s child: %v\n%s", what, err, out)
	}
	data, _ := os.ReadFile(stepsFile)
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l != "" {
			steps = append(steps, l)
		}
	}
	return steps, killed
}

// TestCrashAtEveryStep kills an apply at each journal step in turn, runs
// Recover, and checks that the workspace is exactly the old one (killed
// before the commit record) or exactly the new one (after it), with no
// temporaries left and the session consistent with it. Some runs also
// kill the recovery itself before recovering again.
func TestCrashAtEveryStep(t *testing.T) {
	requireRoot(t)
	ref, refSession := crashEnv(t)
	oldSnap := snapshot(t, ref.ws)
	before, err := refSession.Changes(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := refSession.Apply(ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	newSnap := snapshot(t, ref.ws)
	if len(diffSnapshots(oldSnap, newSnap)) == 0 {
		t.Fatal("the apply changes nothing; the test would prove nothing")
	}
	sawCommit, sawRollback, sawForward := false, false, false
	for n := 1; ; n++ {
		e, s := crashEnv(t)
		steps, killed := runChild(t, e, "apply", n)
		if !killed {
			checkSnapshot(t, "uninterrupted apply", snapshot(t, e.ws), newSnap)
			if n < 10 {
				t.Fatalf("only %d steps", n-1)
			}
			t.Logf("apply has %d journal steps", n-1)
			break
		}
		committed := false
		for _, st := range steps {
			if st == "commit" {
				committed = true
			}
		}
		sawCommit = sawCommit || committed
		name := fmt.Sprintf("killed at step %d (%s)", n, steps[len(steps)-1])
		// Every third run, crash the recovery too, at its first step.
		if n%3 == 0 {
			if _, k := runChild(t, e, "recover", 1); !k {
				t.Logf("%s: recovery had no step to kill", name)
			}
		}
		msgs, err := e.store.Recover()
		if err != nil {
			t.Fatalf("%s: recover: %v", name, err)
		}
		for _, m := range msgs {
			sawRollback = sawRollback || strings.Contains(m, "rolled back")
			sawForward = sawForward || strings.Contains(m, "finished")
		}
		want, wantChanges := oldSnap, len(before)
		if committed {
			want, wantChanges = newSnap, 0
		}
		if d := diffSnapshots(snapshot(t, e.ws), want); len(d) > 0 {
			t.Errorf("%s (committed=%v): workspace is neither wholly old nor wholly new:\n  %s", name, committed, strings.Join(d, "\n  "))
		}
		if tn := tempNames(t, e.ws); len(tn) > 0 {
			t.Errorf("%s: temporaries left: %v", name, tn)
		}
		if s.HasJournal() {
			t.Errorf("%s: journal left", name)
		}
		after, err := s.Changes(nil)
		if err != nil {
			t.Fatalf("%s: changes: %v", name, err)
		}
		if len(after) != wantChanges {
			t.Errorf("%s: changes after recovery: got %d (%v), want %d", name, len(after), changeKinds(after), wantChanges)
		}
		if n > 500 {
			t.Fatal("apply never completes")
		}
	}
	if !sawCommit || !sawRollback || !sawForward {
		t.Errorf("coverage: commit %v, rollback %v, roll forward %v; want all", sawCommit, sawRollback, sawForward)
	}
}

// TestCrashDuringRollForward kills the apply right after its commit
// record, then kills the recovery at each of its steps in turn before
// recovering for good.
func TestCrashDuringRollForward(t *testing.T) {
	requireRoot(t)
	ref, refSession := crashEnv(t)
	if _, err := refSession.Apply(ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	newSnap := snapshot(t, ref.ws)
	// Find the commit step.
	probe, _ := crashEnv(t)
	steps, _ := runChild(t, probe, "apply", 0)
	commitAt := -1
	for i, st := range steps {
		if st == "commit" {
			commitAt = i + 1
		}
	}
	if commitAt < 0 {
		t.Fatalf("no commit step in %v", steps)
	}
	for m := 1; ; m++ {
		e, s := crashEnv(t)
		if _, killed := runChild(t, e, "apply", commitAt); !killed {
			t.Fatal("apply was not killed at its commit step")
		}
		rsteps, killed := runChild(t, e, "recover", m)
		if !killed {
			t.Logf("recovery has %d steps", m-1)
			break
		}
		if _, err := e.store.Recover(); err != nil {
			t.Fatalf("recover after recovery killed at %d (%s): %v", m, rsteps[len(rsteps)-1], err)
		}
		checkSnapshot(t, fmt.Sprintf("recovery killed at %d (%s)", m, rsteps[len(rsteps)-1]), snapshot(t, e.ws), newSnap)
		if s.HasJournal() {
			t.Errorf("journal left")
		}
		if after, err := s.Changes(nil); err != nil || len(after) != 0 {
			t.Errorf("changes after recovery: got %v, %v; want none", changeKinds(after), err)
		}
		if m > 500 {
			t.Fatal("recovery never completes")
		}
	}
}
