package session

import (
	"bytes"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// joinRel joins a relative directory path and a name.
func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// splitRel splits p into its parent directory ("" for the top level) and
// its last element.
func splitRel(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// depth is the number of elements in p minus one.
func depth(p string) int { return strings.Count(p, "/") }

// walkWorkspace records the state of every entry below the trusted
// workspace root (which is not itself recorded). It does not follow
// symlinks (they are recorded with their targets) and does not descend into
// other mounts (the mount point is recorded with Mount set) nor into
// directories it may not read. Directories are read by a few workers in
// parallel; each is opened below the root with openBeneath, so one swapped
// for a symlink during the walk is skipped rather than followed.
func walkWorkspace(root int) (*manifest, error) {
	rootSt, err := fstatFD(root)
	if err != nil {
		return nil, fmt.Errorf("stat workspace: %w", err)
	}
	w := &walker{root: root, rootSt: rootSt, queue: []string{""}, pending: 1}
	w.cond = sync.NewCond(&w.mu)
	workers := min(max(runtime.GOMAXPROCS(0), 1), 8)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.work()
		}()
	}
	wg.Wait()
	if w.err != nil {
		return nil, w.err
	}
	m := &manifest{entries: w.entries}
	m.sortEntries()
	return m, nil
}

// walker is the shared state of a parallel workspace walk.
type walker struct {
	root   int
	rootSt fileStat

	mu      sync.Mutex // guards the fields below
	cond    *sync.Cond // signalled when queue grows or pending drops to 0
	queue   []string   // directories to read
	pending int        // directories queued or being read
	entries []entry
	err     error
}

func (w *walker) work() {
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && w.pending > 0 && w.err == nil {
			w.cond.Wait()
		}
		if w.pending == 0 || w.err != nil {
			w.mu.Unlock()
			w.cond.Broadcast()
			return
		}
		dir := w.queue[len(w.queue)-1]
		w.queue = w.queue[:len(w.queue)-1]
		w.mu.Unlock()

		entries, subdirs, err := w.readDir(dir)

		w.mu.Lock()
		w.entries = append(w.entries, entries...)
		w.queue = append(w.queue, subdirs...)
		w.pending += len(subdirs) - 1
		if err != nil && w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
		w.cond.Broadcast()
	}
}

// readDir records the entries of one directory and returns the
// subdirectories to walk.
func (w *walker) readDir(dir string) ([]entry, []string, error) {
	fd, err := openDirBeneath(w.root, dir)
	if isNotExist(err) || isPermission(err) || (err != nil && isResolveRefusal(err)) {
		return nil, nil, nil // gone, unreadable (for the agent too), or swapped for a symlink
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open %q: %w", dir, err)
	}
	defer closeFD(fd)
	names, err := readDirNames(fd)
	if err != nil {
		return nil, nil, fmt.Errorf("read directory %q: %w", dir, err)
	}
	entries := make([]entry, 0, len(names))
	var subdirs []string
	for _, name := range names {
		p := joinRel(dir, name)
		st, err := statAt(fd, name)
		if isNotExist(err) {
			continue // removed while we walked
		}
		if err != nil {
			return nil, nil, fmt.Errorf("stat %q: %w", p, err)
		}
		e := entryFromStat(p, st)
		switch st.Type {
		case typeSymlink:
			t, err := readlinkAt(fd, name)
			if isNotExist(err) {
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("readlink %q: %w", p, err)
			}
			e.Target = t
		case typeDir:
			if st.Dev != w.rootSt.Dev || (st.MntID != 0 && w.rootSt.MntID != 0 && st.MntID != w.rootSt.MntID) {
				e.Mount = true
			} else {
				subdirs = append(subdirs, p)
			}
		}
		entries = append(entries, e)
	}
	return entries, subdirs, nil
}

// upperEntry is one entry found in the session's upper directory.
type upperEntry struct {
	Path     string
	Type     fileType
	Mode     uint32 // 07777 bits as found
	Size     int64
	Target   string // symlink target
	Whiteout bool   // character device 0:0: the path was deleted
	Opaque   bool   // directory hides everything below it in the workspace
	// Refused says why this entry can never be applied (a device node, a
	// metadata-only copy-up, an unreadable directory, ...).
	Refused string
}

// Overlayfs keeps its own attributes under "trusted.overlay." when mounted
// by real root and under "user.overlay." with the userxattr option (the
// mode used inside a user namespace). Both are consulted.
var overlayPrefixes = []string{"user.overlay.", "trusted.overlay."}

// overlayXattr returns the value of the overlay attribute name under either
// prefix, or nil.
func overlayXattr(fd int, name string) ([]byte, error) {
	for _, prefix := range overlayPrefixes {
		v, err := getxattrFD(fd, prefix+name)
		if err != nil {
			return nil, err
		}
		if v != nil {
			return v, nil
		}
	}
	return nil, nil
}

// walkUpper lists the upper directory opened at root. The upper directory
// is written by the agent and so untrusted: the walk works on descriptors,
// never follows a symlink, checks every type with stat, and turns anything
// it cannot represent faithfully into a refused entry instead of guessing.
// The result is sorted by path.
func walkUpper(root int) ([]upperEntry, error) {
	var out []upperEntry
	var walk func(fd int, dir string) error
	walk = func(fd int, dir string) error {
		names, err := readDirNames(fd)
		if err != nil {
			return fmt.Errorf("read session directory %q: %w", dir, err)
		}
		sort.Strings(names)
		for _, name := range names {
			p := joinRel(dir, name)
			if !validRelPath(p) {
				continue
			}
			st, err := statAt(fd, name)
			if isNotExist(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("stat session entry %q: %w", p, err)
			}
			u := upperEntry{Path: p, Type: st.Type, Mode: st.Mode, Size: st.Size}
			switch st.Type {
			case typeChar:
				if st.Rdev == 0 {
					u.Whiteout = true
				} else {
					u.Refused = "device nodes are not applied"
				}
				out = append(out, u)
			case typeBlock:
				u.Refused = "device nodes are not applied"
				out = append(out, u)
			case typeFIFO, typeSocket:
				u.Refused = st.Type.String() + "s are not applied"
				out = append(out, u)
			case typeSymlink:
				t, err := readlinkAt(fd, name)
				if err != nil {
					u.Refused = fmt.Sprintf("cannot read symlink: %v", err)
				}
				u.Target = t
				out = append(out, u)
			case typeFile:
				u.Refused = checkUpperFile(fd, name, st)
				out = append(out, u)
			case typeDir:
				sub, err := openDirAt(fd, name)
				if err != nil {
					u.Refused = fmt.Sprintf("cannot read directory: %v", err)
					out = append(out, u)
					continue
				}
				if v, err := overlayXattr(sub, "redirect"); err != nil || v != nil {
					u.Refused = "renamed directory (overlay redirect) is not supported"
				}
				if v, err := overlayXattr(sub, "opaque"); err == nil && bytes.Equal(v, []byte("y")) {
					u.Opaque = true
				}
				out = append(out, u)
				if u.Refused == "" {
					err = walk(sub, p)
				}
				closeFD(sub)
				if err != nil {
					return err
				}
			default:
				u.Refused = "unknown file type"
				out = append(out, u)
			}
		}
		return nil
	}
	if err := walk(root, ""); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// checkUpperFile opens a regular file of the upper directory to check that
// it is readable and a full copy (a metadata-only copy-up has no data of its
// own and would apply as an empty file).
func checkUpperFile(dirfd int, name string, st fileStat) string {
	fd, err := openReadAt(dirfd, name)
	if err != nil {
		return fmt.Sprintf("cannot read file: %v", err)
	}
	defer closeFD(fd)
	fst, err := fstatFD(fd)
	if err != nil || fst.Type != typeFile || fst.Ino != st.Ino || fst.Dev != st.Dev {
		return "file changed while it was read"
	}
	if v, err := overlayXattr(fd, "metacopy"); err != nil || v != nil {
		return "metadata-only copy-up (overlay metacopy) is not supported"
	}
	return ""
}
