package cgroup

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// maxFileSize bounds what is read from one cgroup file (cgroup.procs of a
// large group is the biggest).
const maxFileSize = 4 << 20

// openDirNoFollow opens the absolute directory p one component at a time
// with O_NOFOLLOW, so no symlink anywhere in p is followed.
func openDirNoFollow(p string) (int, error) {
	if !path.IsAbs(p) || path.Clean(p) != p {
		return -1, fmt.Errorf("open %q: not a clean absolute path", p)
	}
	fd, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /: %w", err)
	}
	for _, comp := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if comp == "" {
			continue
		}
		next, err := openSubdir(fd, comp)
		unix.Close(fd)
		if err != nil {
			return -1, fmt.Errorf("open %q: component %q: %w", p, comp, err)
		}
		fd = next
	}
	return fd, nil
}

// openSubdir opens the directory name inside dirfd without following a
// symlink.
func openSubdir(dirfd int, name string) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return fd, err
	}
}

// checkCgroupFS checks that fd is a directory on a cgroup file system of the
// given version.
func checkCgroupFS(fd int, version string) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	want := int64(unix.CGROUP_SUPER_MAGIC)
	if version == version2 {
		want = unix.CGROUP2_SUPER_MAGIC
	}
	if int64(st.Type) != want {
		return fmt.Errorf("file system type %#x is not cgroup %s", st.Type, version)
	}
	return nil
}

// readFileAt reads the file name (a single path element) inside dirfd
// without following a symlink.
func readFileAt(dirfd int, name string) ([]byte, error) {
	fd, err := openFileAt(dirfd, name, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []byte
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, buf[:n]...)
		if len(out) > maxFileSize {
			return nil, fmt.Errorf("read %s: larger than %d bytes", name, maxFileSize)
		}
	}
}

// writeFileAt writes data to the existing file name (a single path element)
// inside dirfd in one write(2), as cgroup files require, without following
// a symlink and without creating the file.
func writeFileAt(dirfd int, name, data string) error {
	fd, err := openFileAt(dirfd, name, unix.O_WRONLY|unix.O_TRUNC)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Write(fd, []byte(data))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("write %q to %s: %w", data, name, err)
		}
		if n != len(data) {
			return fmt.Errorf("write %q to %s: %w", data, name, io.ErrShortWrite)
		}
		return nil
	}
}

func openFileAt(dirfd int, name string, flags int) (int, error) {
	if name == "" || strings.Contains(name, "/") || name == "." || name == ".." {
		return -1, fmt.Errorf("open %q: not a single file name", name)
	}
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("open %s: %w", name, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("stat %s: %w", name, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			unix.Close(fd)
			return -1, fmt.Errorf("open %s: not a regular file", name)
		}
		return fd, nil
	}
}

// existsAt reports whether the file name exists inside dirfd (a symlink
// counts as absent: it is never used).
func existsAt(dirfd int, name string) bool {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == unix.S_IFREG
}
