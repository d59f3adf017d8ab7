package session

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
)

// ChangeKind says what a change does to a path.
type ChangeKind int

const (
	// Added creates a path that did not exist in the base state.
	Added ChangeKind = iota + 1
	// Modified changes the content of a regular file (maybe its mode too).
	Modified
	// Deleted removes a path.
	Deleted
	// TypeChanged replaces a path with one of another type (a file with a
	// directory, a symlink with a file, ...).
	TypeChanged
	// ModeChanged changes only the permission bits.
	ModeChanged
	// SymlinkChanged points a symlink somewhere else.
	SymlinkChanged
)

// String names the kind in lowercase.
func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "added"
	case Modified:
		return "modified"
	case Deleted:
		return "deleted"
	case TypeChanged:
		return "type changed"
	case ModeChanged:
		return "mode changed"
	case SymlinkChanged:
		return "symlink changed"
	}
	return fmt.Sprintf("ChangeKind(%d)", int(k))
}

// Change is one difference between the session and the workspace's base
// state.
type Change struct {
	Path string // relative to the workspace, slash-separated
	Kind ChangeKind
	// OldMode is the mode in the base state, NewMode the mode the change
	// would give the path (zero when absent). Both carry the type bits
	// (fs.ModeDir, fs.ModeSymlink). NewMode never has setuid, setgid or
	// sticky bits: Apply strips them.
	OldMode, NewMode     fs.FileMode
	OldTarget, NewTarget string // symlink targets
	OldSize, NewSize     int64
	// Binary is set when either side is a regular file with a NUL byte in
	// its first 8000 bytes (git's rule).
	Binary bool
	// Protected is set when the path matches one of the protected rules
	// given to Changes; ProtectedBy is that rule.
	Protected   bool
	ProtectedBy string
	// Conflict is non-empty when the workspace path changed since the base
	// state, so applying would overwrite someone else's edit. Force
	// overrides it unless it ends in noForceSuffix.
	Conflict string
	// Refused is non-empty when the change can never be applied (a device
	// node, a path through a symlink or mount in the workspace, ...).
	Refused string

	base     *entry      // base state, nil when Added
	up       *upperEntry // session state, nil when Deleted
	cur      fileStat    // workspace state when the changes were computed
	hard     bool        // Conflict cannot be forced
	underNew bool        // below a directory that replaces a non-directory
}

// noForceSuffix marks a conflict Force cannot override.
const noForceSuffix = " (not overridable)"

// IsDir reports whether the path is a directory on the session side (or,
// for a deletion, was one in the base state).
func (c *Change) IsDir() bool {
	if c.up != nil {
		return c.up.Type == typeDir
	}
	return c.base != nil && c.base.Type == typeDir
}

// fileMode converts a type and 07777 bits into an fs.FileMode.
func fileMode(t fileType, bits uint32) fs.FileMode {
	m := fs.FileMode(bits & 0o777)
	if bits&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if bits&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if bits&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch t {
	case typeDir:
		m |= fs.ModeDir
	case typeSymlink:
		m |= fs.ModeSymlink
	case typeChar:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case typeBlock:
		m |= fs.ModeDevice
	case typeFIFO:
		m |= fs.ModeNamedPipe
	case typeSocket:
		m |= fs.ModeSocket
	}
	return m
}

// appliedBits is the permission set Apply gives a path: setuid, setgid and
// sticky bits written by the agent are dropped, so applying a session can
// never create a set-id program.
func appliedBits(bits uint32) uint32 { return bits & 0o777 }

// binaryProbe is how much of a file is searched for a NUL byte.
const binaryProbe = 8000

// contentSource reads file contents for the comparisons Changes needs.
type contentSource struct {
	res   *resolver // workspace
	upper int       // upper directory root
}

// upperHash hashes the upper file p.
func (cs *contentSource) upperHash(p string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	fd, _, err := openUpperFile(cs.upper, p)
	if err != nil {
		return sum, err
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, fmt.Errorf("read session file %q: %w", p, err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// workspaceHash hashes the workspace file p, checking that it still has
// the state want (when want is non-nil).
func (cs *contentSource) workspaceHash(p string) ([sha256.Size]byte, fileStat, error) {
	var sum [sha256.Size]byte
	fd, st, err := cs.res.openRead(p)
	if err != nil {
		return sum, st, err
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, st, fmt.Errorf("read %q: %w", p, err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, st, nil
}

// sameBytes compares the upper file p with the workspace file p.
func (cs *contentSource) sameBytes(p string) (bool, error) {
	ufd, ust, err := openUpperFile(cs.upper, p)
	if err != nil {
		return false, err
	}
	uf := os.NewFile(uintptr(ufd), p)
	defer uf.Close()
	wfd, wst, err := cs.res.openRead(p)
	if err != nil {
		return false, err
	}
	wf := os.NewFile(uintptr(wfd), p)
	defer wf.Close()
	if ust.Size != wst.Size {
		return false, nil
	}
	a := make([]byte, 64<<10)
	b := make([]byte, 64<<10)
	for {
		n, errA := io.ReadFull(uf, a)
		m, errB := io.ReadFull(wf, b)
		if n != m || !bytes.Equal(a[:n], b[:m]) {
			return false, nil
		}
		if errA == io.EOF || errA == io.ErrUnexpectedEOF {
			return errB == io.EOF || errB == io.ErrUnexpectedEOF, nil
		}
		if errA != nil {
			return false, errA
		}
		if errB != nil {
			return false, errB
		}
	}
}

// probeBinary reports whether the first bytes of fd contain a NUL byte.
func probeBinary(fd int, name string) bool {
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	buf := make([]byte, binaryProbe)
	n, _ := io.ReadFull(f, buf)
	return bytes.IndexByte(buf[:n], 0) >= 0
}

// computeChanges turns the upper directory listing into changes against
// the base manifest, without looking at the workspace except through cs
// (for content comparisons).
func computeChanges(base *manifest, ups []upperEntry, cs *contentSource) ([]Change, error) {
	children := map[string][]*upperEntry{}
	present := make(map[string]bool, len(ups))
	for i := range ups {
		u := &ups[i]
		dir, _ := splitRel(u.Path)
		children[dir] = append(children[dir], u)
		present[u.Path] = true
	}
	var out []Change
	deletion := func(b *entry) {
		out = append(out, Change{Path: b.Path, Kind: Deleted, base: b})
		if b.Type == typeDir {
			desc := base.descendants(b.Path)
			for i := range desc {
				out = append(out, Change{Path: desc[i].Path, Kind: Deleted, base: &desc[i]})
			}
		}
	}
	var visit func(dir string, underNew bool) error
	visit = func(dir string, underNew bool) error {
		for _, u := range children[dir] {
			var b *entry
			if !underNew {
				b = base.get(u.Path)
			}
			if u.Whiteout {
				if b != nil {
					deletion(b)
				}
				continue
			}
			c := Change{Path: u.Path, base: b, up: u, underNew: underNew}
			if u.Refused != "" {
				switch {
				case b == nil:
					c.Kind = Added
				case b.Type != u.Type:
					c.Kind = TypeChanged
				case u.Type == typeDir:
					c.Kind = ModeChanged
				default:
					c.Kind = Modified
				}
				c.Refused = u.Refused
				out = append(out, c)
				continue
			}
			switch {
			case u.Type == typeDir:
				switch {
				case b == nil:
					c.Kind = Added
					out = append(out, c)
					if err := visit(u.Path, underNew); err != nil {
						return err
					}
				case b.Type == typeDir:
					if appliedBits(b.Mode) != appliedBits(u.Mode) {
						c.Kind = ModeChanged
						out = append(out, c)
					}
					if u.Opaque {
						for _, child := range base.children(u.Path) {
							if !present[child.Path] {
								deletion(base.get(child.Path))
							}
						}
					}
					if err := visit(u.Path, false); err != nil {
						return err
					}
				default:
					c.Kind = TypeChanged
					out = append(out, c)
					if err := visit(u.Path, true); err != nil {
						return err
					}
				}
			case b == nil:
				c.Kind = Added
				out = append(out, c)
			case b.Type == typeDir:
				c.Kind = TypeChanged
				out = append(out, c)
				desc := base.descendants(b.Path)
				for i := range desc {
					out = append(out, Change{Path: desc[i].Path, Kind: Deleted, base: &desc[i]})
				}
			case b.Type != u.Type:
				c.Kind = TypeChanged
				out = append(out, c)
			case u.Type == typeSymlink:
				if b.Target != u.Target {
					c.Kind = SymlinkChanged
					out = append(out, c)
				}
			default: // regular file on both sides
				same, err := sameContent(b, u, cs)
				if err != nil {
					return err
				}
				switch {
				case !same:
					c.Kind = Modified
					out = append(out, c)
				case appliedBits(b.Mode) != appliedBits(u.Mode):
					c.Kind = ModeChanged
					out = append(out, c)
				}
			}
		}
		return nil
	}
	if err := visit("", false); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	// A path can be reported twice only through a corrupt upper directory
	// (a deletion found both by an opaque parent and a whiteout); keep one.
	dedup := out[:0]
	for i := range out {
		if i > 0 && out[i].Path == out[i-1].Path {
			continue
		}
		dedup = append(dedup, out[i])
	}
	for i := range dedup {
		fillModes(&dedup[i])
	}
	return dedup, nil
}

// sameContent decides whether a copied-up regular file still has its base
// content: by size, then by the base hash recorded at End, then (when the
// workspace file is unchanged since the base state) by comparing bytes.
func sameContent(b *entry, u *upperEntry, cs *contentSource) (bool, error) {
	if b.Size != u.Size {
		return false, nil
	}
	if b.HasHash {
		sum, err := cs.upperHash(u.Path)
		if err != nil {
			return false, err
		}
		return sum == b.Hash, nil
	}
	st, err := cs.res.lstat(u.Path)
	if err != nil || !b.sameStat(st) {
		return false, nil
	}
	same, err := cs.sameBytes(u.Path)
	if err != nil {
		return false, nil
	}
	return same, nil
}

func fillModes(c *Change) {
	if c.base != nil {
		c.OldMode = fileMode(c.base.Type, c.base.Mode)
		c.OldTarget = c.base.Target
		c.OldSize = c.base.Size
	}
	if c.up != nil {
		c.NewMode = fileMode(c.up.Type, appliedBits(c.up.Mode))
		c.NewTarget = c.up.Target
		c.NewSize = c.up.Size
		if c.up.Type == typeDir || c.up.Type == typeSymlink {
			c.NewSize = 0
		}
	}
}

// evaluate fills in the workspace side of every change: its current state,
// conflicts with the base state, refusals, protection and the binary flag.
func evaluate(changes []Change, base *manifest, cs *contentSource, protected []string) error {
	for i := range changes {
		c := &changes[i]
		if rule := protectedBy(c.Path, protected); rule != "" {
			c.Protected, c.ProtectedBy = true, rule
		}
		if c.underNew {
			// Below a directory that replaces a non-directory: the
			// workspace has nothing here, whatever the old path was.
			continue
		}
		st, err := cs.res.lstat(c.Path)
		if errors.Is(err, errRefusedPath) {
			c.Refused = "cannot apply: " + strings.TrimPrefix(err.Error(), errRefusedPath.Error()+": ")
			continue
		}
		if err != nil {
			return err
		}
		c.cur = st
		if c.base != nil && c.base.Mount {
			c.Refused = "is a mount point in the workspace"
			continue
		}
		if err := checkConflict(c, base, cs); err != nil {
			return err
		}
	}
	for i := range changes {
		c := &changes[i]
		if c.Refused != "" || c.Kind == Deleted && c.up == nil && c.base.Type == typeDir {
			continue
		}
		c.Binary = isBinary(c, cs)
	}
	return nil
}

func isBinary(c *Change, cs *contentSource) bool {
	if c.up != nil && c.up.Type == typeFile {
		if fd, _, err := openUpperFile(cs.upper, c.Path); err == nil && probeBinary(fd, c.Path) {
			return true
		}
	}
	if c.cur.Type == typeFile {
		if fd, _, err := cs.res.openRead(c.Path); err == nil && probeBinary(fd, c.Path) {
			return true
		}
	}
	return false
}

// checkConflict compares the workspace state of c.Path now (c.cur) with
// the base state.
func checkConflict(c *Change, base *manifest, cs *contentSource) error {
	cur := c.cur
	newDir := c.up != nil && c.up.Type == typeDir
	if c.base == nil {
		switch {
		case cur.Type == typeNone:
		case cur.Type == typeDir && newDir:
			// Both sides created the directory: nothing to do for it.
		case cur.Type == typeDir:
			c.Conflict = "a directory was created at this path in the workspace since the session started" + noForceSuffix
			c.hard = true
		default:
			c.Conflict = "created in the workspace since the session started"
		}
		return nil
	}
	if cur.Type == typeNone {
		if c.up != nil {
			c.Conflict = "deleted in the workspace since the session started"
		}
		return nil
	}
	same, err := sameState(c.base, cur, c.Path, cs)
	if err != nil {
		return err
	}
	if !same {
		c.Conflict = "changed in the workspace since the session started"
		if cur.Type == typeDir && !newDir {
			// Replacing or deleting a directory the user made.
			c.Conflict += noForceSuffix
			c.hard = true
			return nil
		}
	}
	if cur.Type == typeDir && c.base.Type == typeDir && !newDir {
		// The directory goes away: it may only hold what the base state
		// knew about, everything else is the user's.
		names, err := cs.res.names(c.Path)
		if err != nil {
			return fmt.Errorf("list %q: %w", c.Path, err)
		}
		var extra []string
		for _, n := range names {
			if base.get(joinRel(c.Path, n)) == nil {
				extra = append(extra, n)
			}
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			if len(extra) > 5 {
				extra = append(extra[:5], "...")
			}
			c.Conflict = "has new entries in the workspace since the session started: " + strings.Join(extra, ", ") + noForceSuffix
			c.hard = true
		}
	}
	return nil
}

// sameState reports whether the workspace path p (state cur) still is what
// the base state recorded.
func sameState(b *entry, cur fileStat, p string, cs *contentSource) (bool, error) {
	if b.Type != cur.Type {
		return false, nil
	}
	switch b.Type {
	case typeDir:
		return true, nil
	case typeSymlink:
		t, err := cs.res.readlink(p)
		if err != nil {
			return false, nil
		}
		return t == b.Target, nil
	case typeFile:
		if b.sameStat(cur) {
			return true, nil
		}
		if !b.HasHash || b.Size != cur.Size || b.Mode != cur.Mode {
			return false, nil
		}
		sum, st, err := cs.workspaceHash(p)
		if err != nil {
			return false, nil
		}
		return sum == b.Hash && st.Size == b.Size, nil
	}
	return b.sameStat(cur), nil
}
