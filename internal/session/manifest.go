package session

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// entry is the recorded base state of one workspace path.
type entry struct {
	Path   string // relative, slash-separated, never "." or empty
	Type   fileType
	Mode   uint32 // 07777 bits
	Size   int64
	Mtime  int64
	Ctime  int64
	Dev    uint64
	Ino    uint64
	Target string // symlink target
	// Mount is set on a directory that is the root of another mount; the
	// walk did not descend into it.
	Mount   bool
	HasHash bool
	Hash    [sha256.Size]byte // content of a regular file, when HasHash
}

func entryFromStat(p string, st fileStat) entry {
	return entry{Path: p, Type: st.Type, Mode: st.Mode, Size: st.Size, Mtime: st.Mtime, Ctime: st.Ctime, Dev: st.Dev, Ino: st.Ino}
}

// sameStat reports whether st has the identity and timestamps recorded in
// e: the cheap "unchanged since the base state" test.
func (e *entry) sameStat(st fileStat) bool {
	return e.Type == st.Type && e.Mode == st.Mode && e.Size == st.Size && e.Mtime == st.Mtime &&
		e.Ctime == st.Ctime && e.Dev == st.Dev && e.Ino == st.Ino
}

// manifest is a set of entries sorted by path. Because the paths below a
// directory d share the prefix "d/", they form one contiguous run.
type manifest struct {
	entries []entry
}

func (m *manifest) index(p string) int {
	return sort.Search(len(m.entries), func(i int) bool { return m.entries[i].Path >= p })
}

// get returns the entry of p or nil.
func (m *manifest) get(p string) *entry {
	if m == nil {
		return nil
	}
	i := m.index(p)
	if i < len(m.entries) && m.entries[i].Path == p {
		return &m.entries[i]
	}
	return nil
}

// descendants returns the entries strictly below directory p, in path
// order (p "" means the whole manifest).
func (m *manifest) descendants(p string) []entry {
	if m == nil {
		return nil
	}
	if p == "" {
		return m.entries
	}
	prefix := p + "/"
	i := m.index(prefix)
	j := i
	for j < len(m.entries) && strings.HasPrefix(m.entries[j].Path, prefix) {
		j++
	}
	return m.entries[i:j]
}

// children returns the entries directly inside directory p.
func (m *manifest) children(p string) []entry {
	var out []entry
	for _, e := range m.descendants(p) {
		rest := e.Path
		if p != "" {
			rest = e.Path[len(p)+1:]
		}
		if !strings.Contains(rest, "/") {
			out = append(out, e)
		}
	}
	return out
}

func (m *manifest) sortEntries() {
	sort.Slice(m.entries, func(i, j int) bool { return m.entries[i].Path < m.entries[j].Path })
}

// The manifest file format, all integers as (u)varints:
//
//	magic "airlock-manifest-1\n"
//	count
//	count times: shared-prefix-length, suffix-length, suffix,
//	             type, flags, mode, size, mtime, ctime, dev, ino,
//	             [target-length, target] for symlinks, [32-byte sha256] with flagHash
//	sha256 of everything above
//
// Paths are strictly increasing, so a reordered or duplicated entry is a
// corrupt file.
const manifestMagic = "airlock-manifest-1\n"

const (
	flagHash  = 1 << 0
	flagMount = 1 << 1
)

// maxManifestEntries bounds what decodeManifest accepts, so a corrupt count
// cannot make it allocate without limit.
const maxManifestEntries = 1 << 26

func encodeManifest(w io.Writer, m *manifest) error {
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 256<<10)
	var tmp [binary.MaxVarintLen64]byte
	uv := func(v uint64) { bw.Write(tmp[:binary.PutUvarint(tmp[:], v)]) }
	sv := func(v int64) { bw.Write(tmp[:binary.PutVarint(tmp[:], v)]) }
	bw.WriteString(manifestMagic)
	uv(uint64(len(m.entries)))
	prev := ""
	for i := range m.entries {
		e := &m.entries[i]
		shared := commonPrefix(prev, e.Path)
		uv(uint64(shared))
		uv(uint64(len(e.Path) - shared))
		bw.WriteString(e.Path[shared:])
		var flags byte
		if e.HasHash {
			flags |= flagHash
		}
		if e.Mount {
			flags |= flagMount
		}
		bw.WriteByte(byte(e.Type))
		bw.WriteByte(flags)
		uv(uint64(e.Mode))
		sv(e.Size)
		sv(e.Mtime)
		sv(e.Ctime)
		uv(e.Dev)
		uv(e.Ino)
		if e.Type == typeSymlink {
			uv(uint64(len(e.Target)))
			bw.WriteString(e.Target)
		}
		if e.HasHash {
			bw.Write(e.Hash[:])
		}
		prev = e.Path
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(h.Sum(nil))
	return err
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

var errCorruptManifest = errors.New("corrupt manifest")

func decodeManifest(data []byte) (*manifest, error) {
	if len(data) < len(manifestMagic)+sha256.Size || !bytes.HasPrefix(data, []byte(manifestMagic)) {
		return nil, errCorruptManifest
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("%w: checksum mismatch", errCorruptManifest)
	}
	r := &byteReader{b: body[len(manifestMagic):]}
	count := r.uvarint()
	if r.err != nil || count > maxManifestEntries || count > uint64(len(r.b)) {
		return nil, fmt.Errorf("%w: bad entry count", errCorruptManifest)
	}
	m := &manifest{entries: make([]entry, 0, count)}
	prev := ""
	for i := uint64(0); i < count; i++ {
		shared := r.uvarint()
		suffixLen := r.uvarint()
		if r.err != nil || shared > uint64(len(prev)) {
			return nil, fmt.Errorf("%w: entry %d", errCorruptManifest, i)
		}
		suffix := r.bytes(suffixLen)
		var e entry
		e.Path = prev[:shared] + string(suffix)
		e.Type = fileType(r.byte())
		flags := r.byte()
		e.Mode = uint32(r.uvarint())
		e.Size = r.varint()
		e.Mtime = r.varint()
		e.Ctime = r.varint()
		e.Dev = r.uvarint()
		e.Ino = r.uvarint()
		if e.Type == typeSymlink {
			e.Target = string(r.bytes(r.uvarint()))
		}
		if flags&flagHash != 0 {
			e.HasHash = true
			copy(e.Hash[:], r.bytes(sha256.Size))
		}
		e.Mount = flags&flagMount != 0
		if r.err != nil || e.Type == typeNone || e.Type > typeSocket || flags&^(flagHash|flagMount) != 0 ||
			e.Mode&^0o7777 != 0 || (prev != "" && e.Path <= prev) || !validRelPath(e.Path) {
			return nil, fmt.Errorf("%w: entry %d", errCorruptManifest, i)
		}
		m.entries = append(m.entries, e)
		prev = e.Path
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: trailing data", errCorruptManifest)
	}
	return m, nil
}

// byteReader decodes varints from a byte slice, remembering the first error.
type byteReader struct {
	b   []byte
	err error
}

func (r *byteReader) fail() {
	if r.err == nil {
		r.err = errCorruptManifest
	}
	r.b = nil
}

func (r *byteReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *byteReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *byteReader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *byteReader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// validRelPath reports whether p is a clean relative slash path with no
// empty, "." or ".." element.
func validRelPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." || strings.IndexByte(part, 0) >= 0 {
			return false
		}
	}
	return true
}

// loadManifest reads the manifest file p; a missing file is (nil, nil).
func loadManifest(p string) (*manifest, error) {
	data, err := os.ReadFile(p)
	if isNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	m, err := decodeManifest(data)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", p, err)
	}
	return m, nil
}

// saveManifest writes m to p atomically and durably.
func saveManifest(p string, m *manifest) error {
	return writeFileAtomic(p, func(w io.Writer) error { return encodeManifest(w, m) })
}

// writeFileAtomic writes a new file next to p, fsyncs it, renames it over p
// and fsyncs the directory, so p is always either the old or the new file.
func writeFileAtomic(p string, write func(io.Writer) error) error {
	dir := filepath.Dir(p)
	f, err := os.CreateTemp(dir, "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	ok = true
	return syncDir(dir)
}

// syncDir fsyncs the directory at the trusted path dir.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
