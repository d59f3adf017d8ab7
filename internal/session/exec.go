package session

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// applier runs the steps of one journal against the workspace.
type applier struct {
	s     *Session
	ws    int // workspace root
	upper int // upper directory root, -1 during recovery
	res   *resolver
	j     *journal
	// created records which phase-1 steps of a live apply made their
	// entry, so an in-process rollback removes exactly those; nil during
	// recovery, where every planned name is tried.
	created []bool
	// batchSync: many files are staged, so one syncfs of the workspace
	// file system replaces an fsync per file and per directory.
	batchSync bool
}

// batchSyncThreshold is the number of staged files from which one syncfs
// is cheaper than an fsync each.
const batchSyncThreshold = 64

// stageWorkers is how many files are copied in parallel while staging.
const stageWorkers = 4

// stage runs phase 1: directories first, in order, then the files and
// symlinks, then an fsync of every directory that received a new entry.
func (a *applier) stage() error {
	ops := a.j.ops
	a.created = make([]bool, len(ops))
	var groups []string
	byDir := map[string][]int{}
	for i := range ops {
		op := &ops[i]
		switch op.Op {
		case opMkdir, opStageDir:
			hook("stage %d", i)
			if err := a.stageDirOp(i); err != nil {
				return err
			}
		case opStageFile, opStageLink:
			if _, ok := byDir[op.Dir]; !ok {
				groups = append(groups, op.Dir)
			}
			byDir[op.Dir] = append(byDir[op.Dir], i)
		}
	}
	files := 0
	for _, idx := range byDir {
		files += len(idx)
	}
	a.batchSync = files >= batchSyncThreshold
	workers := stageWorkers
	if testHookStep != nil {
		workers = 1 // keep the step order deterministic for the tests
	}
	var (
		mu       sync.Mutex // guards firstErr, next and a.j.staged
		firstErr error
		next     int
	)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(groups)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if firstErr != nil || next >= len(groups) {
					mu.Unlock()
					return
				}
				dir := groups[next]
				next++
				mu.Unlock()
				err := a.stageGroup(dir, byDir[dir], &mu)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	// The staged data and the new names must be durable before the commit
	// record is.
	if a.batchSync {
		if err := syncFS(a.ws); err != nil {
			return fmt.Errorf("sync workspace file system: %w", err)
		}
		hook("staged")
		return nil
	}
	dirs := map[string]bool{}
	for i := range ops {
		if ops[i].phase1() {
			dirs[ops[i].Dir] = true
		}
	}
	for d := range dirs {
		fd, err := a.res.dir(d)
		if err != nil {
			return fmt.Errorf("fsync %q: %w", d, err)
		}
		if err := fsyncFD(fd); err != nil {
			return fmt.Errorf("fsync %q: %w", d, err)
		}
	}
	hook("staged")
	return nil
}

// stageDirOp creates the directory of a mkdir or stage-dir step.
func (a *applier) stageDirOp(i int) error {
	op := &a.j.ops[i]
	fd, err := a.res.dir(op.Dir)
	if err != nil {
		return fmt.Errorf("stage %q: open %q: %s: %w", op.Path, op.Dir, describeResolveError(err), err)
	}
	name := op.Name
	if op.Op == opStageDir {
		name = op.Temp
	}
	err = mkdirAt(fd, name, 0o700)
	if op.Op == opMkdir && errors.Is(err, syscall.EEXIST) {
		// Made by someone else meanwhile: use it, but it is not ours to
		// remove on rollback.
		if st, serr := statAt(fd, name); serr == nil && st.Type == typeDir {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("stage %q: mkdir: %w", op.Path, err)
	}
	a.created[i] = true
	a.res.forget(joinRel(op.Dir, name))
	return nil
}

// stageGroup stages the files and symlinks of one directory.
func (a *applier) stageGroup(dir string, idx []int, mu *sync.Mutex) error {
	dfd, err := openDirBeneath(a.ws, dir)
	if err != nil {
		return fmt.Errorf("stage into %q: %s: %w", dir, describeResolveError(err), err)
	}
	defer closeFD(dfd)
	for _, i := range idx {
		op := &a.j.ops[i]
		hook("stage %d", i)
		if op.Op == opStageLink {
			if err := symlinkAt(op.Target, dfd, op.Temp); err != nil {
				return fmt.Errorf("stage %q: symlink: %w", op.Path, err)
			}
			mu.Lock()
			a.created[i] = true
			mu.Unlock()
			continue
		}
		sum, err := a.stageFile(dfd, op, func() {
			mu.Lock()
			a.created[i] = true
			mu.Unlock()
		})
		if err != nil {
			return err
		}
		mu.Lock()
		a.j.staged[i] = sum
		mu.Unlock()
	}
	return nil
}

// stageFile copies the upper file op.Src into the new temporary
// op.Temp of the directory dfd, streaming, sets its mode and fsyncs it.
func (a *applier) stageFile(dfd int, op *journalOp, created func()) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	sfd, _, err := openUpperFile(a.upper, op.Src)
	if err != nil {
		return sum, fmt.Errorf("stage %q: %w", op.Path, err)
	}
	src := os.NewFile(uintptr(sfd), op.Src)
	defer src.Close()
	tfd, err := createExclAt(dfd, op.Temp, 0o600)
	if err != nil {
		return sum, fmt.Errorf("stage %q: create temporary file: %w", op.Path, err)
	}
	created()
	dst := os.NewFile(uintptr(tfd), op.Temp)
	defer dst.Close()
	h := sha256.New()
	if err := copyHashing(dst, src, h); err != nil {
		return sum, fmt.Errorf("stage %q: copy: %w", op.Path, err)
	}
	if err := fchmodFD(tfd, op.Mode); err != nil {
		return sum, fmt.Errorf("stage %q: chmod: %w", op.Path, err)
	}
	if !a.batchSync {
		if err := fsyncFD(tfd); err != nil {
			return sum, fmt.Errorf("stage %q: fsync: %w", op.Path, err)
		}
	}
	if err := dst.Close(); err != nil {
		return sum, fmt.Errorf("stage %q: close: %w", op.Path, err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func copyHashing(dst io.Writer, src io.Reader, h hash.Hash) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if _, err := dst.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// rollback undoes phase 1 and removes the journal. In a live apply only
// the entries this process created are removed; in recovery every planned
// name that exists is removed (they carry the apply's random id). Steps
// run in reverse, so temporaries go before the directories holding them.
func (a *applier) rollback() error {
	ops := a.j.ops
	var errs []error
	for i := len(ops) - 1; i >= 0; i-- {
		op := &ops[i]
		if !op.phase1() || (a.created != nil && !a.created[i]) {
			continue
		}
		hook("rollback %d", i)
		fd, err := openDirBeneath(a.ws, op.Dir)
		if isNotExist(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("roll back %q: %w", op.Path, err))
			continue
		}
		switch op.Op {
		case opStageFile, opStageLink:
			err = unlinkAt(fd, op.Temp, false)
		case opStageDir:
			err = removeAllAt(fd, op.Temp)
		case opMkdir:
			err = unlinkAt(fd, op.Name, true)
			if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
				err = nil // someone put something there: it is theirs now
			}
		}
		closeFD(fd)
		if err != nil && !isNotExist(err) {
			errs = append(errs, fmt.Errorf("roll back %q: %w", op.Path, err))
		}
	}
	a.res.close()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// The removals must be durable before the journal that lists them is
	// gone, or a power loss could bring temporaries back with no record.
	if err := syncFS(a.ws); err != nil {
		return fmt.Errorf("sync workspace file system: %w", err)
	}
	hook("rolled back")
	return a.j.remove()
}

// outcome of phase 3.
type forwardResult struct {
	applied, failed, conflicts []string
	messages                   []string
}

// rollForward runs phase 3 (idempotently: every step checks whether it
// already happened), makes the result durable, records it in the manifest
// and the metadata, and removes the journal.
func (a *applier) rollForward() (forwardResult, error) {
	var res forwardResult
	ops := a.j.ops
	for i := range ops {
		op := &ops[i]
		if op.phase1() {
			continue
		}
		if _, done := a.j.skipped[i]; done {
			a.cleanupSkipped(i)
			continue
		}
		hook("op %d", i)
		why, isConflict, err := a.runOp(i)
		if err != nil {
			return res, err
		}
		if why != "" {
			if !isConflict {
				why = failedPrefix + why
			}
			if err := a.j.skip(i, why); err != nil {
				return res, err
			}
			a.cleanupSkipped(i)
		}
	}
	// Make the renames and removals durable: fsync each parent directory,
	// or the whole file system when there are many.
	synced := map[string]bool{}
	for i := range ops {
		if !ops[i].phase1() {
			d, _ := splitRel(ops[i].Path)
			synced[d] = true
		}
	}
	if len(synced) >= batchSyncThreshold {
		if err := syncFS(a.ws); err != nil {
			return res, fmt.Errorf("sync workspace file system: %w", err)
		}
	} else {
		for d := range synced {
			if fd, err := a.res.dir(d); err == nil {
				if err := fsyncFD(fd); err != nil {
					return res, fmt.Errorf("fsync %q: %w", d, err)
				}
			}
		}
	}
	hook("synced")
	// A change is applied when none of its steps was skipped and, for
	// content built inside a temporary directory, that directory was
	// installed.
	installs := installsOfTempDirs(ops)
	skippedPath := map[string]string{}
	for i := range ops {
		op := &ops[i]
		why, skipped := a.j.skipped[i]
		if !skipped && op.InTemp > 0 {
			if k, ok := installs[op.InTemp-1]; ok {
				why, skipped = a.j.skipped[k]
			}
			if skipped {
				why = "its new parent directory was not installed: " + why
			}
		}
		if skipped {
			if _, ok := skippedPath[op.Path]; !ok {
				skippedPath[op.Path] = why
				res.messages = append(res.messages, fmt.Sprintf("%s: %s", quotePath(op.Path), why))
				if strings.Contains(why, failedPrefix) {
					res.failed = append(res.failed, op.Path)
				} else {
					res.conflicts = append(res.conflicts, op.Path)
				}
			}
		}
	}
	applied := map[string]*journalOp{}
	for i := range ops {
		op := &ops[i]
		if _, bad := skippedPath[op.Path]; bad {
			continue
		}
		if prev, ok := applied[op.Path]; !ok || prev.phase1() || op.Op == opInstall {
			applied[op.Path] = op
		}
	}
	for p := range applied {
		res.applied = append(res.applied, p)
	}
	sort.Strings(res.applied)
	if err := a.updateManifest(applied); err != nil {
		return res, err
	}
	hook("manifest")
	if err := a.updateMeta(res.applied); err != nil {
		return res, err
	}
	hook("meta")
	if err := a.j.remove(); err != nil {
		return res, err
	}
	hook("done")
	return res, nil
}

// failedPrefix starts the recorded reason of a step skipped because of
// an error rather than a concurrent change.
const failedPrefix = "error: "

// installsOfTempDirs maps each stage-dir step to the install step that
// moves its temporary directory into place.
func installsOfTempDirs(ops []journalOp) map[int]int {
	type key struct{ dir, temp string }
	stage := map[key]int{}
	for i := range ops {
		if ops[i].Op == opStageDir {
			stage[key{ops[i].Dir, ops[i].Temp}] = i
		}
	}
	out := map[int]int{}
	for i := range ops {
		if ops[i].Op == opInstall {
			if k, ok := stage[key{ops[i].Dir, ops[i].Temp}]; ok {
				out[k] = i
			}
		}
	}
	return out
}

// runOp runs phase-3 step i. It returns a non-empty reason when the step
// was skipped (isConflict: because the workspace changed under us), and an
// error only when the journal itself cannot be trusted to continue.
func (a *applier) runOp(i int) (why string, isConflict bool, err error) {
	op := &a.j.ops[i]
	if op.Op == opNoop {
		return "", false, nil
	}
	if op.Op == opChmod {
		fd, err := openDirBeneath(a.ws, op.Path)
		if isNotExist(err) {
			return "directory vanished before its mode was set", false, nil
		}
		if err != nil {
			return fmt.Sprintf("set mode: %s", describeResolveError(err)), false, nil
		}
		defer closeFD(fd)
		if err := fchmodFD(fd, op.Mode); err != nil {
			return fmt.Sprintf("set mode: %v", err), false, nil
		}
		if err := fsyncFD(fd); err != nil {
			return fmt.Sprintf("fsync: %v", err), false, nil
		}
		return "", false, nil
	}
	fd, err := a.res.dir(op.Dir)
	if err != nil {
		if isNotExist(err) && op.InTemp > 0 {
			// The temporary directory holding this step was already
			// installed under its final name: so was this step.
			return "", false, nil
		}
		if isNotExist(err) && op.Gone {
			return "", false, nil
		}
		return fmt.Sprintf("open %q: %s", op.Dir, describeResolveError(err)), !isNotExist(err) && isResolveRefusal(err), nil
	}
	switch op.Op {
	case opRemove:
		st, err := statAt(fd, op.Name)
		if isNotExist(err) {
			return "", false, nil
		}
		if err != nil {
			return fmt.Sprintf("stat: %v", err), false, nil
		}
		if !op.Expect.matches(st) {
			return "changed in the workspace during the apply", true, nil
		}
		if err := unlinkAt(fd, op.Name, false); err != nil && !isNotExist(err) {
			return fmt.Sprintf("remove: %v", err), false, nil
		}
	case opRmdir:
		err := unlinkAt(fd, op.Name, true)
		switch {
		case err == nil, isNotExist(err):
		case errors.Is(err, syscall.ENOTEMPTY), errors.Is(err, syscall.EEXIST):
			return "new entries appeared in the directory during the apply", true, nil
		default:
			return fmt.Sprintf("remove directory: %v", err), false, nil
		}
		a.res.forget(op.Path)
	case opInstall:
		tst, err := statAt(fd, op.Temp)
		if isNotExist(err) {
			return "", false, nil // installed before
		}
		if err != nil {
			return fmt.Sprintf("stat staged copy: %v", err), false, nil
		}
		st, err := statAt(fd, op.Name)
		if err != nil && !isNotExist(err) {
			return fmt.Sprintf("stat: %v", err), false, nil
		}
		noReplace := true
		switch {
		case st.Type == typeNone:
			if !op.Expect.Absent && !op.ReplaceDir {
				return "deleted in the workspace during the apply", true, nil
			}
		case op.ReplaceDir:
			if st.Type != typeDir {
				return "changed in the workspace during the apply", true, nil
			}
			if err := unlinkAt(fd, op.Name, true); err != nil {
				if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
					return "new entries appeared in the directory during the apply", true, nil
				}
				return fmt.Sprintf("remove directory: %v", err), false, nil
			}
			a.res.forget(op.Path)
		case !op.Expect.matches(st):
			return "changed in the workspace during the apply", true, nil
		case tst.Type == typeDir:
			// A directory cannot be renamed over a file: remove the file,
			// then move the directory into the free name.
			if err := unlinkAt(fd, op.Name, false); err != nil && !isNotExist(err) {
				return fmt.Sprintf("remove: %v", err), false, nil
			}
		default:
			noReplace = false // atomic replacement of a non-directory
		}
		if err := renameAt(fd, op.Temp, fd, op.Name, noReplace); err != nil {
			if errors.Is(err, syscall.EEXIST) {
				return "created in the workspace during the apply", true, nil
			}
			return fmt.Sprintf("rename into place: %v", err), false, nil
		}
		if tst.Type == typeDir {
			a.res.forget(op.Path)
		}
	default:
		return "", false, fmt.Errorf("%w: unknown step %q", errCorruptJournal, op.Op)
	}
	return "", false, nil
}

// cleanupSkipped removes the staged temporary of a skipped install.
func (a *applier) cleanupSkipped(i int) {
	op := &a.j.ops[i]
	if op.Op != opInstall {
		return
	}
	fd, err := a.res.dir(op.Dir)
	if err != nil {
		return
	}
	_ = removeAllAt(fd, op.Temp)
}

// updateManifest records the applied paths as the new base state, so the
// session shows no change for them any more and a later edit of them in
// the workspace is a conflict. applied maps each path to its deciding step.
func (a *applier) updateManifest(applied map[string]*journalOp) error {
	m, err := loadManifest(a.s.manifestPath())
	if err != nil {
		return err
	}
	if m == nil {
		m = &manifest{}
	}
	hashes := map[string][sha256.Size]byte{}
	for i, h := range a.j.staged {
		hashes[a.j.ops[i].Path] = h
	}
	keep := m.entries[:0]
	for _, e := range m.entries {
		if _, ok := applied[e.Path]; !ok {
			keep = append(keep, e)
		}
	}
	m.entries = keep
	for p, op := range applied {
		if op.Gone {
			continue
		}
		st, err := a.res.lstat(p)
		if err != nil || st.Type == typeNone {
			continue // it will show as a change again
		}
		e := entryFromStat(p, st)
		switch st.Type {
		case typeSymlink:
			t, err := a.res.readlink(p)
			if err != nil {
				continue
			}
			e.Target = t
		case typeFile:
			if h, ok := hashes[p]; ok {
				e.Hash, e.HasHash = h, true
			}
		}
		m.entries = append(m.entries, e)
	}
	m.sortEntries()
	return saveManifest(a.s.manifestPath(), m)
}

func (a *applier) updateMeta(applied []string) error {
	if len(applied) == 0 {
		return nil
	}
	if err := a.s.refreshMeta(); err != nil {
		return err
	}
	set := map[string]bool{}
	for _, p := range a.s.meta.Applied {
		set[p] = true
	}
	for _, p := range applied {
		set[p] = true
	}
	a.s.meta.Applied = a.s.meta.Applied[:0]
	for p := range set {
		a.s.meta.Applied = append(a.s.meta.Applied, p)
	}
	sort.Strings(a.s.meta.Applied)
	a.s.meta.AppliedAt = time.Now().UTC()
	return a.s.saveMeta()
}

// recoverLocked finishes or rolls back an interrupted apply of s (whose
// lock the caller holds) and returns what it did, or nil when there was
// nothing to do.
func (s *Session) recoverLocked() ([]string, error) {
	data, err := os.ReadFile(s.journalPath())
	if isNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	j, err := parseJournal(s.journalPath(), data)
	if err != nil {
		return nil, fmt.Errorf("session %s: %w (left in place at %s)", s.meta.ID, err, s.journalPath())
	}
	if !j.planned {
		// Nothing was staged before the plan became durable.
		if err := j.remove(); err != nil {
			return nil, err
		}
		return []string{fmt.Sprintf("session %s: removed the journal of an apply interrupted before it started", s.meta.ID)}, nil
	}
	ws, err := openRoot(j.workspace)
	if err != nil {
		return nil, fmt.Errorf("session %s: recover interrupted apply: open workspace: %w", s.meta.ID, err)
	}
	defer closeFD(ws)
	a := &applier{s: s, ws: ws, upper: -1, res: newResolver(ws), j: j}
	defer a.res.close()
	if !j.committed {
		if err := a.rollback(); err != nil {
			return nil, fmt.Errorf("session %s: roll back interrupted apply: %w", s.meta.ID, err)
		}
		return []string{fmt.Sprintf("session %s: rolled back an interrupted apply; the workspace is as it was before it", s.meta.ID)}, nil
	}
	res, err := a.rollForward()
	if err != nil {
		return nil, fmt.Errorf("session %s: finish interrupted apply: %w", s.meta.ID, err)
	}
	msgs := []string{fmt.Sprintf("session %s: finished an interrupted apply (%d change(s) applied)", s.meta.ID, len(res.applied))}
	msgs = append(msgs, res.messages...)
	return msgs, nil
}

// Recover finishes or rolls back every interrupted apply in the store (see
// the package documentation) and empties the trash of interrupted
// discards. It is meant to run at the start of every airlock command and
// returns one line per thing it did. Sessions held by another process are
// left alone: their apply is not interrupted, it is running.
func (s *Store) Recover() ([]string, error) {
	var msgs []string
	var errs []error
	trash := filepath.Join(s.dir, trashDir)
	if ents, err := os.ReadDir(trash); err == nil {
		for _, e := range ents {
			if err := removeAllPath(filepath.Join(trash, e.Name())); err != nil {
				errs = append(errs, fmt.Errorf("empty trash: %w", err))
			}
		}
	}
	// A session directory without meta.json is a Create that died; Create
	// holds the store lock until meta.json exists, so take it too.
	if unlock, err := s.lockStore(); err == nil {
		dir := filepath.Join(s.dir, sessionsDir)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if _, err := os.Lstat(filepath.Join(dir, e.Name(), metaFile)); !isNotExist(err) {
				continue
			}
			if err := removeAllPath(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, fmt.Errorf("remove unfinished session %s: %w", e.Name(), err))
			} else {
				msgs = append(msgs, fmt.Sprintf("removed unfinished session directory %s", e.Name()))
			}
		}
		unlock()
	} else {
		errs = append(errs, err)
	}
	sessions, err := s.all()
	if err != nil {
		return nil, err
	}
	for _, sess := range sessions {
		if !sess.HasJournal() {
			continue
		}
		release, err := sess.acquire()
		if errors.Is(err, ErrBusy) || errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m, err := sess.recoverLocked()
		release()
		msgs = append(msgs, m...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return msgs, errors.Join(errs...)
}
