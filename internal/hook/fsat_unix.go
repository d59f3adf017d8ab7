//go:build unix

package hook

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// dir is an open directory. Every file operation below is relative to its
// descriptor and refuses to follow a symlink in the last component, so a
// link planted in a project (or swapped in while Airlock works) can neither
// redirect the write nor be read through.
type dir struct {
	f    *os.File
	path string // for messages and the returned paths only
}

// openDir opens path, which the caller trusts (symlinks in it are followed).
func openDir(path string) (*dir, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open directory %q: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %q: %w", path, err)
	}
	if !st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open directory %q: not a directory", path)
	}
	return &dir{f: f, path: path}, nil
}

func (d *dir) Close() error { return d.f.Close() }

func (d *dir) fd() int { return int(d.f.Fd()) }

// symlinkError returns an ErrSymlink error if name in d is a symlink.
func (d *dir) symlinkError(name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return fmt.Errorf("%w: %s", ErrSymlink, filepath.Join(d.path, name))
	}
	return nil
}

// subdir opens the directory name in d, creating it with perm if create is
// set and it does not exist.
func (d *dir) subdir(name string, create bool, perm os.FileMode) (*dir, error) {
	p := filepath.Join(d.path, name)
	for attempt := 0; ; attempt++ {
		fd, err := unix.Openat(d.fd(), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == nil {
			return &dir{f: os.NewFile(uintptr(fd), p), path: p}, nil
		}
		if serr := d.symlinkError(name); serr != nil {
			return nil, serr
		}
		if err != unix.ENOENT || !create || attempt > 0 {
			return nil, fmt.Errorf("open directory %q: %w", p, err)
		}
		if err := unix.Mkdirat(d.fd(), name, uint32(perm.Perm())); err != nil && err != unix.EEXIST {
			return nil, fmt.Errorf("create directory %q: %w", p, err)
		}
	}
}

// fileMeta is what a rewrite keeps of the file it replaces.
type fileMeta struct {
	perm     os.FileMode
	uid, gid int
}

// readFile reads the regular file name in d, at most limit bytes. exists
// is false when there is no such file.
func (d *dir) readFile(name string, limit int64) (data []byte, meta fileMeta, exists bool, err error) {
	p := filepath.Join(d.path, name)
	// O_NONBLOCK: opening a FIFO planted under the name must not hang.
	fd, err := unix.Openat(d.fd(), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return nil, fileMeta{}, false, nil
	}
	if err != nil {
		if serr := d.symlinkError(name); serr != nil {
			return nil, fileMeta{}, false, serr
		}
		return nil, fileMeta{}, false, fmt.Errorf("open %q: %w", p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fileMeta{}, false, fmt.Errorf("stat %q: %w", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fileMeta{}, false, fmt.Errorf("%q is not a regular file", p)
	}
	data, err = io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fileMeta{}, false, fmt.Errorf("read %q: %w", p, err)
	}
	if int64(len(data)) > limit {
		return nil, fileMeta{}, false, fmt.Errorf("%q is larger than %d bytes", p, limit)
	}
	meta = fileMeta{perm: os.FileMode(st.Mode) & os.ModePerm, uid: int(st.Uid), gid: int(st.Gid)}
	return data, meta, true, nil
}

// writeFileAtomic replaces name in d with data: it writes a new file next to
// it, syncs it, renames it over name and syncs the directory, so a reader
// sees the old or the new content and never a partial file. The rename
// replaces a symlink swapped in meanwhile rather than writing through it.
// When old is set, the new file gets old's permissions and (best effort)
// owner; otherwise perm.
func (d *dir) writeFileAtomic(name string, data []byte, perm os.FileMode, old *fileMeta) (err error) {
	p := filepath.Join(d.path, name)
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("write %q: %w", p, err)
	}
	tmp := "." + name + ".airlock-" + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(d.fd(), tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create temporary file in %q: %w", d.path, err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(d.path, tmp))
	defer func() {
		if err != nil {
			f.Close()
			_ = unix.Unlinkat(d.fd(), tmp, 0)
		}
	}()
	if old != nil {
		perm = old.perm
		if old.uid != os.Geteuid() || old.gid != os.Getegid() {
			// Keep the owner when we may (root); otherwise the file
			// becomes ours, as with any editor that saves by renaming.
			_ = f.Chown(old.uid, old.gid)
		}
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %q: %w", p, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %q: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %q: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %q: %w", p, err)
	}
	if err := unix.Renameat(d.fd(), tmp, d.fd(), name); err != nil {
		return fmt.Errorf("replace %q: %w", p, err)
	}
	if err := d.f.Sync(); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("sync directory %q: %w", d.path, err)
	}
	return nil
}
