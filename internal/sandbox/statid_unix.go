//go:build unix

package sandbox

import (
	"io/fs"
	"syscall"
)

// statID returns the device and inode of fi.
func statID(fi fs.FileInfo) (struct{ dev, ino uint64 }, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return struct{ dev, ino uint64 }{}, false
	}
	return struct{ dev, ino uint64 }{uint64(st.Dev), st.Ino}, true
}
