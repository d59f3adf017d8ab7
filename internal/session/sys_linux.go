package session

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// This file holds every system call the package makes. The rest of the
// package is written against these few primitives, which all work on
// directory descriptors and single path elements, never follow a symlink
// (except where the caller's own trusted root path is opened), and return
// the raw errno so callers can wrap it with context.

// resolveFlags is how every path below a tree root is resolved: it must stay
// beneath the root, may not traverse any symlink (a planted symlink component
// fails with ELOOP) nor a magic link, and may not cross into another mount.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// sysSupported reports whether this package can work on this system.
func sysSupported() error { return nil }

// openRoot opens a trusted tree root given by the caller. Symlinks in p
// itself are followed: the caller chose the path.
func openRoot(p string) (int, error) {
	return retryEINTR(func() (int, error) {
		return unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
}

// openBeneath opens rel (slash-separated, relative) below root with the
// given open flags, refusing symlinks anywhere in rel, escapes and mount
// crossings. rel "" or "." opens root itself again.
func openBeneath(root int, rel string, flags int, mode uint32) (int, error) {
	if rel == "" {
		rel = "."
	}
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW),
		Mode:    uint64(mode),
		Resolve: resolveFlags,
	}
	for i := 0; ; i++ {
		fd, err := unix.Openat2(root, rel, &how)
		// EAGAIN means a concurrent rename or mount was seen during the
		// walk; the kernel asks for a retry.
		if (errors.Is(err, unix.EAGAIN) && i < 64) || errors.Is(err, unix.EINTR) {
			continue
		}
		return fd, err
	}
}

// openDirBeneath opens the directory rel below root (see openBeneath). A
// symlink as the last element fails with ELOOP like one in the middle
// (O_DIRECTORY|O_NOFOLLOW alone would report ENOTDIR for it).
func openDirBeneath(root int, rel string) (int, error) {
	fd, err := openBeneath(root, rel, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if !errors.Is(err, unix.ENOTDIR) {
		return fd, err
	}
	pfd, perr := openBeneath(root, rel, unix.O_PATH, 0)
	if perr != nil {
		if errors.Is(perr, unix.ELOOP) {
			return -1, perr
		}
		return -1, err
	}
	defer unix.Close(pfd)
	if st, serr := fstatFD(pfd); serr == nil && st.Type == typeSymlink {
		return -1, unix.ELOOP
	}
	return -1, err
}

// openReadBeneath opens the file rel below root for reading. O_NONBLOCK
// keeps a planted FIFO from blocking the open; callers check the type with
// fstatFD before reading.
func openReadBeneath(root int, rel string) (int, error) {
	return openBeneath(root, rel, unix.O_RDONLY|unix.O_NONBLOCK, 0)
}

// openDirAt opens the directory name inside dirfd without following a
// symlink.
func openDirAt(dirfd int, name string) (int, error) {
	return retryEINTR(func() (int, error) {
		return unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
}

// openReadAt opens name inside dirfd for reading without following a
// symlink and without blocking on a FIFO.
func openReadAt(dirfd int, name string) (int, error) {
	return retryEINTR(func() (int, error) {
		return unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	})
}

// createExclAt creates the new regular file name inside dirfd for writing.
// O_EXCL makes it fail on any existing name, a dangling symlink included.
func createExclAt(dirfd int, name string, mode uint32) (int, error) {
	return retryEINTR(func() (int, error) {
		return unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	})
}

// openLockFile opens (creating it if needed) the lock file at the trusted
// path p.
func openLockFile(p string) (int, error) {
	return retryEINTR(func() (int, error) {
		return unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	})
}

func retryEINTR(f func() (int, error)) (int, error) {
	for {
		fd, err := f()
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

func fileTypeOf(mode uint32) fileType {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return typeFile
	case unix.S_IFDIR:
		return typeDir
	case unix.S_IFLNK:
		return typeSymlink
	case unix.S_IFCHR:
		return typeChar
	case unix.S_IFBLK:
		return typeBlock
	case unix.S_IFIFO:
		return typeFIFO
	case unix.S_IFSOCK:
		return typeSocket
	}
	return typeNone
}

func statFromStatx(st *unix.Statx_t) fileStat {
	return fileStat{
		Type:  fileTypeOf(uint32(st.Mode)),
		Mode:  uint32(st.Mode) & 0o7777,
		Size:  int64(st.Size),
		Mtime: st.Mtime.Sec*1e9 + int64(st.Mtime.Nsec),
		Ctime: st.Ctime.Sec*1e9 + int64(st.Ctime.Nsec),
		Dev:   unix.Mkdev(st.Dev_major, st.Dev_minor),
		Ino:   st.Ino,
		Rdev:  unix.Mkdev(st.Rdev_major, st.Rdev_minor),
		MntID: st.Mnt_id,
		Nlink: uint64(st.Nlink),
	}
}

// statAt stats name inside dirfd without following a symlink.
func statAt(dirfd int, name string) (fileStat, error) {
	var st unix.Statx_t
	for {
		err := unix.Statx(dirfd, name, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT|unix.AT_STATX_SYNC_AS_STAT,
			unix.STATX_BASIC_STATS|unix.STATX_MNT_ID, &st)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fileStat{}, err
		}
		return statFromStatx(&st), nil
	}
}

// fstatFD stats an open descriptor.
func fstatFD(fd int) (fileStat, error) {
	var st unix.Statx_t
	err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_STATX_SYNC_AS_STAT, unix.STATX_BASIC_STATS|unix.STATX_MNT_ID, &st)
	if err != nil {
		return fileStat{}, err
	}
	return statFromStatx(&st), nil
}

// readDirNames lists the names in the directory fd (without "." and "..").
func readDirNames(fd int) ([]string, error) {
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return nil, err
	}
	buf := make([]byte, 32<<10)
	var names []string
	for {
		n, err := unix.ReadDirent(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// readlinkAt reads the target of the symlink name inside dirfd.
func readlinkAt(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if errors.Is(err, unix.EINTR) {
			size /= 2
			continue
		}
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
		if size > unix.PathMax*2 {
			return "", unix.ENAMETOOLONG
		}
	}
}

// getxattrFD reads the extended attribute key of fd; a missing attribute
// (or a file system without them) is reported as nil, nil.
func getxattrFD(fd int, key string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Fgetxattr(fd, key, buf)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
			// Without CAP_SYS_ADMIN the kernel hides trusted.* (ENODATA);
			// treat every "cannot see it" answer as absent.
			return nil, nil
		case errors.Is(err, unix.ERANGE):
			if len(buf) >= 64<<10 {
				return nil, err
			}
			buf = make([]byte, len(buf)*4)
			continue
		case err != nil:
			return nil, err
		}
		return buf[:n], nil
	}
}

func mkdirAt(dirfd int, name string, mode uint32) error {
	return retryErr(func() error { return unix.Mkdirat(dirfd, name, mode) })
}

func symlinkAt(target string, dirfd int, name string) error {
	return retryErr(func() error { return unix.Symlinkat(target, dirfd, name) })
}

// renameAt renames within or across directory descriptors. With noReplace
// an existing new name makes it fail with EEXIST instead of being replaced.
func renameAt(olddirfd int, oldname string, newdirfd int, newname string, noReplace bool) error {
	var flags uint
	if noReplace {
		flags = unix.RENAME_NOREPLACE
	}
	return retryErr(func() error { return unix.Renameat2(olddirfd, oldname, newdirfd, newname, flags) })
}

func unlinkAt(dirfd int, name string, dir bool) error {
	flags := 0
	if dir {
		flags = unix.AT_REMOVEDIR
	}
	return retryErr(func() error { return unix.Unlinkat(dirfd, name, flags) })
}

func fchmodFD(fd int, mode uint32) error {
	return retryErr(func() error { return unix.Fchmod(fd, mode) })
}

func fsyncFD(fd int) error {
	return retryErr(func() error { return unix.Fsync(fd) })
}

// syncFS flushes the whole file system holding fd (syncfs(2)); since Linux
// 5.8 it reports writeback errors.
func syncFS(fd int) error {
	return retryErr(func() error { return unix.Syncfs(fd) })
}

func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}

// lockFD takes an exclusive flock on fd without waiting; errBusyLock when
// another open file description holds it.
func lockFD(fd int) error {
	err := retryErr(func() error { return unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) })
	if errors.Is(err, unix.EWOULDBLOCK) {
		return errBusyLock
	}
	return err
}

func retryErr(f func() error) error {
	for {
		err := f()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// describeResolveError turns the errno of a failed beneath-resolution into
// a sentence for the user.
func describeResolveError(err error) string {
	switch {
	case errors.Is(err, unix.ELOOP):
		return "a component is a symlink in the workspace"
	case errors.Is(err, unix.EXDEV):
		return "it crosses a mount point or leaves the tree"
	case errors.Is(err, unix.ENOTDIR):
		return "a parent is not a directory in the workspace"
	}
	return strings.TrimSpace(fmt.Sprint(err))
}

// isResolveRefusal reports whether err is one of the resolution refusals
// (symlink component, mount crossing) rather than a plain missing path.
func isResolveRefusal(err error) bool {
	return errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV)
}

// chmodDirAt sets the mode of the directory name inside dirfd even when the
// caller may not read it (mode 0000): it opens the entry with O_PATH and
// O_NOFOLLOW, checks that it is a directory, and changes the mode of exactly
// that inode through its /proc/self/fd magic link.
func chmodDirAt(dirfd int, name string, mode uint32) error {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	st, err := fstatFD(fd)
	if err != nil {
		return err
	}
	if st.Type != typeDir {
		return unix.ENOTDIR
	}
	return retryErr(func() error { return unix.Chmod(fmt.Sprintf("/proc/self/fd/%d", fd), mode) })
}

// sameFile reports whether the descriptor state a and the os.FileInfo b
// describe the same inode.
func sameFile(a fileStat, b os.FileInfo) bool {
	st, ok := b.Sys().(*syscall.Stat_t)
	return ok && uint64(st.Dev) == a.Dev && uint64(st.Ino) == a.Ino
}
