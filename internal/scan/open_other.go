//go:build !unix

package scan

import (
	"errors"
	"io/fs"
	"os"
)

// openDir opens a directory after checking that it is not a symlink; on
// these systems the check and the open are not atomic.
func openDir(abs string) (*os.File, error) {
	if err := notSymlink(abs); err != nil {
		return nil, err
	}
	return os.Open(abs)
}

// openFile opens a file after checking that it is not a symlink; the
// caller checks that it is a regular file.
func openFile(abs string) (*os.File, error) {
	if err := notSymlink(abs); err != nil {
		return nil, err
	}
	return os.Open(abs)
}

func notSymlink(abs string) error {
	fi, err := os.Lstat(abs)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return errors.New("is a symlink")
	}
	return nil
}

// deviceOf is unknown here: the walk does not detect mount points.
func deviceOf(fs.FileInfo) (uint64, bool) { return 0, false }
