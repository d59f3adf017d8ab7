package session

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func (s *Session) manifestPath() string { return filepath.Join(s.dir, manifestFile) }
func (s *Session) journalPath() string  { return filepath.Join(s.dir, journalFile) }

// Begin is called before every run of the session, the first and each
// resumed one. It takes the session lock (ErrBusy if another process holds
// it), finishes any interrupted apply, and records the base state of the
// workspace: the type, mode, size, timestamps and inode of every path.
//
// On a resumed run, paths the agent already touched (present in the upper
// directory, or hidden by a whiteout, an opaque directory or a
// non-directory there) keep the state recorded when they were first seen,
// because the agent's version was derived from that state; every other
// path is recorded afresh, because the agent will see its current version.
//
// The lock stays held until End.
func (s *Session) Begin() error {
	if s.release != nil {
		return fmt.Errorf("begin session %s: already begun", s.meta.ID)
	}
	release, err := s.acquire()
	if err != nil {
		return fmt.Errorf("begin session: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			release()
		}
	}()
	if err := s.refreshMeta(); err != nil {
		return fmt.Errorf("begin session: %w", err)
	}
	if _, err := s.recoverLocked(); err != nil {
		return fmt.Errorf("begin session: %w", err)
	}
	ws, err := openRoot(s.meta.Workspace)
	if err != nil {
		return fmt.Errorf("begin session: open workspace: %w", err)
	}
	fresh, err := walkWorkspace(ws)
	closeFD(ws)
	if err != nil {
		return fmt.Errorf("begin session: %w", err)
	}
	old, err := loadManifest(s.manifestPath())
	if err != nil {
		return fmt.Errorf("begin session: %w", err)
	}
	m := fresh
	if old != nil {
		upper, err := openRoot(s.UpperDir())
		if err != nil {
			return fmt.Errorf("begin session: open upper directory: %w", err)
		}
		ups, err := walkUpper(upper)
		closeFD(upper)
		if err != nil {
			return fmt.Errorf("begin session: %w", err)
		}
		m = mergeBase(old, fresh, ups)
	}
	if err := saveManifest(s.manifestPath(), m); err != nil {
		return fmt.Errorf("begin session: %w", err)
	}
	s.meta.Started = time.Now().UTC()
	s.meta.Runs++
	if err := s.saveMeta(); err != nil {
		return fmt.Errorf("begin session: %w", err)
	}
	ok = true
	s.release = release
	return nil
}

// mergeBase combines the old base state with a fresh walk for a resumed
// run (see Begin).
func mergeBase(old, fresh *manifest, ups []upperEntry) *manifest {
	inUpper := make(map[string]bool, len(ups))
	hides := map[string]bool{} // entries that hide the workspace below them
	for _, u := range ups {
		inUpper[u.Path] = true
		if u.Whiteout || u.Opaque || u.Type != typeDir {
			hides[u.Path] = true
		}
	}
	frozen := func(p string) bool {
		if inUpper[p] {
			return true
		}
		if len(hides) == 0 {
			return false
		}
		for d, _ := splitRel(p); d != ""; d, _ = splitRel(d) {
			if hides[d] {
				return true
			}
		}
		return false
	}
	m := &manifest{entries: make([]entry, 0, len(fresh.entries))}
	for _, e := range fresh.entries {
		if !frozen(e.Path) {
			m.entries = append(m.entries, e)
		}
	}
	for _, e := range old.entries {
		if frozen(e.Path) {
			m.entries = append(m.entries, e)
		}
	}
	m.sortEntries()
	return m
}

// End is called after every run. It records the end time and exit code,
// and for every regular file the agent touched whose workspace file is
// still unchanged since the base state, the SHA-256 of that content, so
// later comparisons do not depend on timestamps alone. It releases the
// lock taken by Begin.
func (s *Session) End(exitCode int) error {
	if s.release == nil {
		release, err := s.acquire()
		if err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		s.release = release
	}
	defer func() {
		s.release()
		s.release = nil
	}()
	if err := s.refreshMeta(); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	if err := s.hashTouched(); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	s.meta.Ended = time.Now().UTC()
	s.meta.ExitCode = exitCode
	if err := s.saveMeta(); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

func (s *Session) hashTouched() error {
	m, err := loadManifest(s.manifestPath())
	if err != nil || m == nil {
		return err
	}
	v, err := s.openView()
	if err != nil {
		return err
	}
	defer v.close()
	ups, err := walkUpper(v.upper)
	if err != nil {
		return err
	}
	cs := &contentSource{res: v.res, upper: v.upper}
	changed := false
	for _, u := range ups {
		if u.Type != typeFile {
			continue
		}
		e := m.get(u.Path)
		if e == nil || e.Type != typeFile || e.HasHash {
			continue
		}
		st, err := v.res.lstat(u.Path)
		if err != nil || !e.sameStat(st) {
			continue
		}
		sum, st2, err := cs.workspaceHash(u.Path)
		if err != nil || !e.sameStat(st2) {
			continue
		}
		e.Hash, e.HasHash = sum, true
		changed = true
	}
	if !changed {
		return nil
	}
	return saveManifest(s.manifestPath(), m)
}

// view holds the descriptors needed to compare the session with the
// workspace.
type view struct {
	s     *Session
	ws    int // workspace root
	upper int // upper directory root
	res   *resolver
}

func (s *Session) openView() (*view, error) {
	ws, err := openRoot(s.meta.Workspace)
	if err != nil {
		return nil, fmt.Errorf("open workspace: %w", err)
	}
	upper, err := openRoot(s.UpperDir())
	if err != nil {
		closeFD(ws)
		return nil, fmt.Errorf("open upper directory: %w", err)
	}
	return &view{s: s, ws: ws, upper: upper, res: newResolver(ws)}, nil
}

func (v *view) close() {
	v.res.close()
	closeFD(v.ws)
	closeFD(v.upper)
}

// changes computes and evaluates the session's changes.
func (v *view) changes(protected []string) ([]Change, error) {
	base, err := loadManifest(v.s.manifestPath())
	if err != nil {
		return nil, err
	}
	if base == nil {
		base = &manifest{}
	}
	ups, err := walkUpper(v.upper)
	if err != nil {
		return nil, err
	}
	cs := &contentSource{res: v.res, upper: v.upper}
	changes, err := computeChanges(base, ups, cs)
	if err != nil {
		return nil, err
	}
	if err := evaluate(changes, base, cs, protected); err != nil {
		return nil, err
	}
	return changes, nil
}

// Changes lists the differences between the session and the workspace's
// base state, sorted by path, with conflicts and protection evaluated
// against the workspace as it is now. It takes no lock: it only reads.
func (s *Session) Changes(protected []string) ([]Change, error) {
	v, err := s.openView()
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	defer v.close()
	changes, err := v.changes(protected)
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	return changes, nil
}

// HasJournal reports whether an apply of this session is unfinished.
func (s *Session) HasJournal() bool {
	_, err := os.Lstat(s.journalPath())
	return err == nil
}
