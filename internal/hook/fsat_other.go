//go:build !unix

package hook

import (
	"errors"
	"os"
)

// errUnsupported: writing agent settings needs descriptor-relative file
// operations that refuse symlinks, which only the unix build has.
var errUnsupported = errors.New("writing agent settings is not supported on this operating system")

type dir struct{ path string }

type fileMeta struct {
	perm     os.FileMode
	uid, gid int
}

func openDir(string) (*dir, error) { return nil, errUnsupported }

func (d *dir) Close() error { return nil }

func (d *dir) subdir(string, bool, os.FileMode) (*dir, error) { return nil, errUnsupported }

func (d *dir) readFile(string, int64) ([]byte, fileMeta, bool, error) {
	return nil, fileMeta{}, false, errUnsupported
}

func (d *dir) writeFileAtomic(string, []byte, os.FileMode, *fileMeta) error {
	return errUnsupported
}
