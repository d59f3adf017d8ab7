package session

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

var (
	// ErrNotFound is returned when no session has the given name or id.
	ErrNotFound = errors.New("session not found")
	// ErrExists is returned by Create when the name is taken.
	ErrExists = errors.New("session already exists")
	// ErrBusy is returned when another airlock process holds the session
	// (a run in progress, an apply, a discard).
	ErrBusy = errors.New("session is in use by another airlock process")
	// ErrInvalidName is returned for a session name Create does not accept.
	ErrInvalidName = errors.New("invalid session name")
)

// File and directory names inside a session directory.
const (
	metaFile     = "meta.json"
	lockFile     = "lock"
	manifestFile = "base.manifest"
	journalFile  = "journal"
	upperDir     = "upper"
	workDir      = "work"
	sessionsDir  = "sessions"
	trashDir     = "trash"
)

// Store is the directory holding all sessions:
//
//	<dir>/lock                 serializes Create (name uniqueness)
//	<dir>/sessions/<id>/       one session (see Session)
//	<dir>/trash/               sessions being discarded
type Store struct {
	dir string
}

// DefaultDir returns where the store lives: $XDG_STATE_HOME/airlock when
// XDG_STATE_HOME is set to an absolute path in environ (the XDG spec says
// to ignore relative values), otherwise home/.local/state/airlock. It
// returns "" when neither gives an absolute path.
func DefaultDir(environ []string, home string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "XDG_STATE_HOME="); ok {
			if filepath.IsAbs(v) {
				return filepath.Join(v, "airlock")
			}
			break
		}
	}
	if !filepath.IsAbs(home) {
		return ""
	}
	return filepath.Join(home, ".local", "state", "airlock")
}

// Open opens the store at dir, creating it (mode 0700) when missing.
func Open(dir string) (*Store, error) {
	if err := sysSupported(); err != nil {
		return nil, fmt.Errorf("open session store: %w", err)
	}
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("open session store %q: not an absolute path", dir)
	}
	dir = filepath.Clean(dir)
	for _, d := range []string{dir, filepath.Join(dir, sessionsDir), filepath.Join(dir, trashDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open session store: %w", err)
		}
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("open session store: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open session store %q: not a directory", dir)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the store directory.
func (s *Store) Dir() string { return s.dir }

// Meta describes one session. It is stored as meta.json in the session
// directory.
type Meta struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Workspace string    `json:"workspace"`
	Command   []string  `json:"command,omitempty"`
	Created   time.Time `json:"created"`
	// Started and Ended bound the latest run; Started after Ended (or
	// Ended zero) means a run is in progress or was interrupted.
	Started  time.Time `json:"started,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`
	Runs     int       `json:"runs"`
	ExitCode int       `json:"exit_code"`
	// Applied lists, sorted, every path applied to the workspace so far.
	Applied   []string  `json:"applied,omitempty"`
	AppliedAt time.Time `json:"applied_at,omitzero"`
}

// lastActive is the latest time anything happened in the session.
func (m *Meta) lastActive() time.Time {
	t := m.Created
	for _, u := range []time.Time{m.Started, m.Ended, m.AppliedAt} {
		if u.After(t) {
			t = u
		}
	}
	return t
}

// Session is one sandboxed change set on top of a workspace:
//
//	<id>/meta.json        Meta
//	<id>/lock             flock held by a run (Begin..End), Apply, Discard, Recover
//	<id>/base.manifest    base state of the workspace (see Begin)
//	<id>/journal          present only while an apply is unfinished
//	<id>/upper/           overlayfs upper directory, written by the agent
//	<id>/work/            overlayfs work directory
type Session struct {
	store *Store
	dir   string
	meta  Meta
	// release drops the session lock held from Begin to End; nil when not
	// held. A Session is used by one goroutine at a time.
	release func()
}

// Create makes a new session for the workspace directory (an absolute
// path) that will run command. An empty name makes the generated id the
// only handle; a non-empty name must be unused (as a name or an id) and
// consist of letters, digits, '.', '_' and '-' (at most 64, starting with a
// letter or digit).
func (s *Store) Create(name, workspace string, command []string) (*Session, error) {
	if name != "" {
		if err := validateName(name); err != nil {
			return nil, err
		}
	}
	if !filepath.IsAbs(workspace) {
		return nil, fmt.Errorf("create session: workspace %q is not an absolute path", workspace)
	}
	workspace = filepath.Clean(workspace)
	wst, err := os.Stat(workspace)
	if err != nil {
		return nil, fmt.Errorf("create session: workspace: %w", err)
	}
	if !wst.IsDir() {
		return nil, fmt.Errorf("create session: workspace %q is not a directory", workspace)
	}
	unlock, err := s.lockStore()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if name != "" {
		if _, err := s.find(name); err == nil {
			return nil, fmt.Errorf("create session %q: %w", name, ErrExists)
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	now := time.Now().UTC()
	var id, dir string
	for i := 0; ; i++ {
		id = newID(now)
		dir = filepath.Join(s.dir, sessionsDir, id)
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i > 16 {
			return nil, fmt.Errorf("create session: %w", err)
		}
	}
	sess := &Session{store: s, dir: dir, meta: Meta{
		ID: id, Name: name, Workspace: workspace, Command: append([]string(nil), command...), Created: now,
	}}
	fail := func(err error) (*Session, error) {
		_ = removeAllPath(dir)
		return nil, fmt.Errorf("create session: %w", err)
	}
	// The upper directory's root is the root of the merged view: give it
	// the workspace root's permission bits.
	if err := os.Mkdir(filepath.Join(dir, upperDir), 0o700); err != nil {
		return fail(err)
	}
	if err := os.Chmod(filepath.Join(dir, upperDir), wst.Mode().Perm()); err != nil {
		return fail(err)
	}
	if err := os.Mkdir(filepath.Join(dir, workDir), 0o700); err != nil {
		return fail(err)
	}
	// meta.json is written last: a directory without it is an unfinished
	// Create, which List skips and Recover removes.
	if err := sess.saveMeta(); err != nil {
		return fail(err)
	}
	return sess, nil
}

// newID returns a sortable, mostly unique session id such as
// "20250131-142502-9f3a".
func newID(t time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return t.Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

func validateName(name string) error {
	if len(name) > 64 {
		return fmt.Errorf("%w %q: longer than 64 characters", ErrInvalidName, name)
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if i == 0 && !alnum {
			return fmt.Errorf("%w %q: must start with a letter or digit", ErrInvalidName, name)
		}
		if !alnum && r != '.' && r != '_' && r != '-' {
			return fmt.Errorf("%w %q: only letters, digits, '.', '_' and '-' are allowed", ErrInvalidName, name)
		}
	}
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	return nil
}

// lockStore takes the store lock, waiting for it.
func (s *Store) lockStore() (func(), error) {
	fd, err := openLockFile(filepath.Join(s.dir, lockFile))
	if err != nil {
		return nil, fmt.Errorf("lock session store: %w", err)
	}
	for i := 0; ; i++ {
		err := lockFD(fd)
		if err == nil {
			return func() { closeFD(fd) }, nil
		}
		if !errors.Is(err, errBusyLock) || i > 300 {
			closeFD(fd)
			return nil, fmt.Errorf("lock session store: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Get returns the session with the given id or name.
func (s *Store) Get(nameOrID string) (*Session, error) {
	sess, err := s.find(nameOrID)
	if err != nil {
		return nil, err
	}
	return sess, nil
}

func (s *Store) find(nameOrID string) (*Session, error) {
	if nameOrID == "" {
		return nil, fmt.Errorf("session %q: %w", nameOrID, ErrNotFound)
	}
	if validateName(nameOrID) == nil {
		if sess, err := s.load(nameOrID); err == nil {
			return sess, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	sessions, err := s.all()
	if err != nil {
		return nil, err
	}
	for _, sess := range sessions {
		if sess.meta.Name == nameOrID {
			return sess, nil
		}
	}
	return nil, fmt.Errorf("session %q: %w", nameOrID, ErrNotFound)
}

// load reads the session directory id.
func (s *Store) load(id string) (*Session, error) {
	dir := filepath.Join(s.dir, sessionsDir, id)
	data, err := os.ReadFile(filepath.Join(dir, metaFile))
	if isNotExist(err) {
		return nil, fmt.Errorf("session %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("session %q: %w", id, err)
	}
	var m Meta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("session %q: read %s: %w", id, metaFile, err)
	}
	if m.ID != id {
		return nil, fmt.Errorf("session %q: %s names id %q", id, metaFile, m.ID)
	}
	return &Session{store: s, dir: dir, meta: m}, nil
}

// all loads every complete session, oldest first.
func (s *Store) all() ([]*Session, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, sessionsDir))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	var out []*Session
	for _, e := range ents {
		if !e.IsDir() || validateName(e.Name()) != nil {
			continue
		}
		sess, err := s.load(e.Name())
		if err != nil {
			continue // unfinished Create or Discard; Recover cleans up
		}
		out = append(out, sess)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].meta.Created.Equal(out[j].meta.Created) {
			return out[i].meta.Created.Before(out[j].meta.Created)
		}
		return out[i].meta.ID < out[j].meta.ID
	})
	return out, nil
}

// List returns the metadata of every session, oldest first.
func (s *Store) List() ([]Meta, error) {
	sessions, err := s.all()
	if err != nil {
		return nil, err
	}
	out := make([]Meta, len(sessions))
	for i, sess := range sessions {
		out[i] = sess.Meta()
	}
	return out, nil
}

// Latest returns the session of workspace with the most recent activity
// (creation, run start or end, apply).
func (s *Store) Latest(workspace string) (*Session, error) {
	sessions, err := s.all()
	if err != nil {
		return nil, err
	}
	workspace = filepath.Clean(workspace)
	var best *Session
	for _, sess := range sessions {
		if sess.meta.Workspace != workspace {
			continue
		}
		if best == nil || !sess.meta.lastActive().Before(best.meta.lastActive()) {
			best = sess
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no session for workspace %s: %w", workspace, ErrNotFound)
	}
	return best, nil
}

// Discard removes the session completely: its upper directory (whatever
// modes and device nodes the agent left there), the overlay work
// directory, the manifest and the metadata. It fails with ErrBusy while
// another process holds the session. The directory is first renamed into
// the store's trash, so a crash mid-way never leaves a half-removed session
// visible; Recover empties the trash.
func (s *Store) Discard(nameOrID string) error {
	sess, err := s.find(nameOrID)
	if err != nil {
		return err
	}
	release, err := sess.acquire()
	if err != nil {
		return fmt.Errorf("discard session %s: %w", sess.meta.ID, err)
	}
	trash := filepath.Join(s.dir, trashDir, sess.meta.ID+"."+hex.EncodeToString(randomBytes(4)))
	err = os.Rename(sess.dir, trash)
	release()
	if err != nil {
		return fmt.Errorf("discard session %s: %w", sess.meta.ID, err)
	}
	if err := syncDir(filepath.Join(s.dir, sessionsDir)); err != nil {
		return fmt.Errorf("discard session %s: %w", sess.meta.ID, err)
	}
	if err := removeAllPath(trash); err != nil {
		return fmt.Errorf("discard session %s: remove %s: %w", sess.meta.ID, trash, err)
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// removeAllPath removes the trusted path p and everything below it (see
// removeAllAt).
func removeAllPath(p string) error {
	parent, err := openRoot(filepath.Dir(p))
	if err != nil {
		return err
	}
	defer closeFD(parent)
	return removeAllAt(parent, filepath.Base(p))
}

// Meta returns a copy of the session's metadata.
func (s *Session) Meta() Meta {
	m := s.meta
	m.Command = append([]string(nil), m.Command...)
	m.Applied = append([]string(nil), m.Applied...)
	return m
}

// Dir returns the session directory.
func (s *Session) Dir() string { return s.dir }

// UpperDir is the overlayfs upperdir for runs of this session.
func (s *Session) UpperDir() string { return filepath.Join(s.dir, upperDir) }

// WorkDir is the overlayfs workdir (same file system as UpperDir).
func (s *Session) WorkDir() string { return filepath.Join(s.dir, workDir) }

func (s *Session) saveMeta() error {
	return writeFileAtomic(filepath.Join(s.dir, metaFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(&s.meta)
	})
}

// acquire takes the session lock without waiting and returns its release
// function. It fails with ErrBusy when another process (or another
// Session value) holds it, and with ErrNotFound when the session was
// discarded while we waited.
func (s *Session) acquire() (func(), error) {
	p := filepath.Join(s.dir, lockFile)
	fd, err := openLockFile(p)
	if isNotExist(err) {
		return nil, fmt.Errorf("session %s: %w", s.meta.ID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("lock session %s: %w", s.meta.ID, err)
	}
	if err := lockFD(fd); err != nil {
		closeFD(fd)
		if errors.Is(err, errBusyLock) {
			return nil, fmt.Errorf("session %s: %w", s.meta.ID, ErrBusy)
		}
		return nil, fmt.Errorf("lock session %s: %w", s.meta.ID, err)
	}
	// The lock must belong to the session directory still in place: a
	// Discard may have renamed it away between our open and our flock.
	held, err1 := fstatFD(fd)
	now, err2 := os.Lstat(p)
	if err1 != nil || err2 != nil || !sameFile(held, now) {
		closeFD(fd)
		return nil, fmt.Errorf("session %s: %w", s.meta.ID, ErrNotFound)
	}
	return func() { closeFD(fd) }, nil
}

// refreshMeta re-reads meta.json (another process may have applied).
func (s *Session) refreshMeta() error {
	fresh, err := s.store.load(s.meta.ID)
	if err != nil {
		return err
	}
	s.meta = fresh.meta
	return nil
}
