//go:build unix

package scan

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openDir opens a directory without following a symlink in its last
// component (one the sandbox may have swapped in after the listing).
func openDir(abs string) (*os.File, error) {
	return os.OpenFile(abs, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// openFile opens a file for reading without following a symlink in its
// last component and without blocking on a FIFO swapped in after the
// listing; the caller checks that it is a regular file.
func openFile(abs string) (*os.File, error) {
	return os.OpenFile(abs, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
}

// deviceOf returns the device a file lives on.
func deviceOf(fi fs.FileInfo) (uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Dev), true // Dev is int32 on some systems
}
