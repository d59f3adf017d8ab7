package session

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// fileType is the kind of a file system entry.
type fileType uint8

const (
	typeNone fileType = iota
	typeFile
	typeDir
	typeSymlink
	typeChar
	typeBlock
	typeFIFO
	typeSocket
)

// String names the type the way ls -l would describe it.
func (t fileType) String() string {
	switch t {
	case typeFile:
		return "regular file"
	case typeDir:
		return "directory"
	case typeSymlink:
		return "symlink"
	case typeChar:
		return "character device"
	case typeBlock:
		return "block device"
	case typeFIFO:
		return "fifo"
	case typeSocket:
		return "socket"
	}
	return "nothing"
}

// fileStat is the part of stat(2) this package records and compares.
type fileStat struct {
	Type  fileType
	Mode  uint32 // permission bits plus setuid, setgid and sticky (07777)
	Size  int64
	Mtime int64 // nanoseconds since the epoch
	Ctime int64 // nanoseconds since the epoch
	Dev   uint64
	Ino   uint64
	Rdev  uint64
	MntID uint64
	Nlink uint64
}

// errBusyLock is what lockFD returns when the lock is held elsewhere.
var errBusyLock = errors.New("lock is held by another process")

// isNotExist reports a missing entry.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// removeAllAt removes name inside dirfd and everything below it without
// following symlinks. Directories the caller cannot read or write (an agent
// may leave 0000 directories behind; overlayfs creates its work directory
// with mode 0000) are made accessible with chmodDirAt first. A missing name
// is not an error.
func removeAllAt(dirfd int, name string) error {
	st, err := statAt(dirfd, name)
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Type != typeDir {
		err := unlinkAt(dirfd, name, false)
		if isPermission(err) {
			if fchmodFD(dirfd, 0o700) == nil {
				err = unlinkAt(dirfd, name, false)
			}
		}
		if isNotExist(err) {
			return nil
		}
		return err
	}
	fd, err := openDirAt(dirfd, name)
	if isPermission(err) {
		if cerr := chmodDirAt(dirfd, name, 0o700); cerr == nil {
			fd, err = openDirAt(dirfd, name)
		}
	}
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := removeChildren(fd); err != nil {
		closeFD(fd)
		return err
	}
	closeFD(fd)
	err = unlinkAt(dirfd, name, true)
	if isPermission(err) {
		if fchmodFD(dirfd, 0o700) == nil {
			err = unlinkAt(dirfd, name, true)
		}
	}
	if isNotExist(err) {
		return nil
	}
	return err
}

// removeChildren empties the directory fd.
func removeChildren(fd int) error {
	// Lookups need search permission and unlinking needs write
	// permission on the directory itself; grant them to ourselves, as the
	// whole directory is going away.
	if st, err := fstatFD(fd); err == nil && st.Mode&0o700 != 0o700 {
		_ = fchmodFD(fd, st.Mode|0o700)
	}
	names, err := readDirNames(fd)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := removeAllAt(fd, n); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	}
	return nil
}

func isPermission(err error) bool {
	return errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)
}
