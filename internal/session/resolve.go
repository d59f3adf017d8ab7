package session

import (
	"errors"
	"fmt"
	"syscall"
)

// resolver looks up workspace paths below the workspace root descriptor
// without following symlinks or crossing mounts (openBeneath), caching the
// parent directories it opened.
type resolver struct {
	root int
	dirs map[string]dirResult
}

type dirResult struct {
	fd  int
	err error
}

// maxCachedDirs bounds the descriptors a resolver keeps open.
const maxCachedDirs = 256

func newResolver(root int) *resolver {
	return &resolver{root: root, dirs: map[string]dirResult{}}
}

func (r *resolver) close() {
	for _, d := range r.dirs {
		closeFD(d.fd)
	}
	r.dirs = map[string]dirResult{}
}

// dir opens the directory rel ("" is the root).
func (r *resolver) dir(rel string) (int, error) {
	if rel == "" {
		return r.root, nil
	}
	if d, ok := r.dirs[rel]; ok {
		return d.fd, d.err
	}
	if len(r.dirs) >= maxCachedDirs {
		r.close()
	}
	fd, err := openDirBeneath(r.root, rel)
	if err != nil {
		fd = -1
	}
	r.dirs[rel] = dirResult{fd: fd, err: err}
	return fd, err
}

// forget drops the cached descriptor of rel and everything below it, after
// the directory was renamed or removed.
func (r *resolver) forget(rel string) {
	for k, d := range r.dirs {
		if k == rel || (len(k) > len(rel) && k[:len(rel)+1] == rel+"/") {
			closeFD(d.fd)
			delete(r.dirs, k)
		}
	}
}

// errRefusedPath wraps resolution refusals (symlink component, mount
// crossing) so callers can tell them from a missing path.
var errRefusedPath = errors.New("path refused")

// parent opens the parent directory of p. A missing parent, or one that is
// not a directory, reports absent=true.
func (r *resolver) parent(p string) (fd int, name string, absent bool, err error) {
	dir, name := splitRel(p)
	fd, err = r.dir(dir)
	switch {
	case err == nil:
		return fd, name, false, nil
	case isNotExist(err) || errors.Is(err, syscall.ENOTDIR):
		return -1, name, true, nil
	case isResolveRefusal(err):
		return -1, name, false, fmt.Errorf("%w: %s", errRefusedPath, describeResolveError(err))
	}
	return -1, name, false, fmt.Errorf("open directory %q: %w", dir, err)
}

// lstat returns the state of p; a missing p has Type typeNone.
func (r *resolver) lstat(p string) (fileStat, error) {
	fd, name, absent, err := r.parent(p)
	if err != nil || absent {
		return fileStat{}, err
	}
	st, err := statAt(fd, name)
	if isNotExist(err) || errors.Is(err, syscall.ENOTDIR) {
		return fileStat{}, nil
	}
	if err != nil {
		return fileStat{}, fmt.Errorf("stat %q: %w", p, err)
	}
	return st, nil
}

// readlink reads the symlink p.
func (r *resolver) readlink(p string) (string, error) {
	fd, name, absent, err := r.parent(p)
	if err != nil {
		return "", err
	}
	if absent {
		return "", syscall.ENOENT
	}
	return readlinkAt(fd, name)
}

// openRead opens the regular file p for reading and returns its state,
// checking the type on the open descriptor.
func (r *resolver) openRead(p string) (int, fileStat, error) {
	fd, name, absent, err := r.parent(p)
	if err != nil {
		return -1, fileStat{}, err
	}
	if absent {
		return -1, fileStat{}, syscall.ENOENT
	}
	f, err := openReadAt(fd, name)
	if err != nil {
		return -1, fileStat{}, err
	}
	st, err := fstatFD(f)
	if err != nil {
		closeFD(f)
		return -1, fileStat{}, err
	}
	if st.Type != typeFile {
		closeFD(f)
		return -1, fileStat{}, fmt.Errorf("%q is a %s, not a regular file", p, st.Type)
	}
	return f, st, nil
}

// names lists the directory p.
func (r *resolver) names(p string) ([]string, error) {
	fd, err := r.dir(p)
	if err != nil {
		return nil, err
	}
	return readDirNames(fd)
}

// openUpperFile opens the regular file rel of the untrusted upper directory
// (root) for reading, refusing symlink components and checking the type on
// the descriptor.
func openUpperFile(root int, rel string) (int, fileStat, error) {
	fd, err := openReadBeneath(root, rel)
	if err != nil {
		return -1, fileStat{}, fmt.Errorf("open session file %q: %w", rel, err)
	}
	st, err := fstatFD(fd)
	if err != nil {
		closeFD(fd)
		return -1, fileStat{}, fmt.Errorf("stat session file %q: %w", rel, err)
	}
	if st.Type != typeFile {
		closeFD(fd)
		return -1, fileStat{}, fmt.Errorf("session file %q is a %s, not a regular file", rel, st.Type)
	}
	return fd, st, nil
}
