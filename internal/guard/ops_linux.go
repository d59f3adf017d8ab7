package guard

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const resolveInRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// resolveParent opens the directory that would hold path's last component,
// resolving inside the task's root without magic links. It returns the
// directory, its real path in the sandbox's view, and the last component.
func resolveParent(t *target, path string) (fd int, real, base string, err error) {
	p := strings.TrimRight(path, "/")
	if p == "" {
		return -1, "", "", unix.EEXIST
	}
	i := strings.LastIndex(p, "/")
	dir, base := p[:i], p[i+1:]
	if dir == "" {
		dir = "/"
	}
	fd, err = unix.Openat2(t.root, dir, &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: resolveInRoot})
	if err != nil {
		return -1, "", "", err
	}
	real, err = os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		unix.Close(fd)
		return -1, "", "", err
	}
	return fd, real, base, nil
}

// isMountRoot reports whether base in dirfd is the root of a mount in the
// sandbox's mount tree (dirfd was resolved inside it, so the lookup crosses
// the sandbox's mounts).
func isMountRoot(dirfd int, base string) bool {
	var stx unix.Statx_t
	err := unix.Statx(dirfd, base, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, unix.STATX_BASIC_STATS, &stx)
	if err != nil {
		return false
	}
	return stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
}

func exists(dirfd int, base string) bool {
	var st unix.Stat_t
	return unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

func dotName(base string) bool { return base == "." || base == ".." }

func deny(rule string) (reply, string) { return reply{errno: unix.EPERM, fd: -1}, rule }

func done(err error) (reply, string) {
	if err != nil {
		return errReply(err), ""
	}
	return reply{fd: -1}, ""
}

func (op *operation) run(t *target, r rules, umask uint32, landlockFD int) (reply, string) {
	switch op.call {
	case "open", "creat", "openat":
		return op.open(t, r, umask, landlockFD)
	}
	pfd, preal, base, err := resolveParent(t, op.path)
	if err != nil {
		return done(err)
	}
	defer unix.Close(pfd)
	if dotName(base) {
		return done(unix.EEXIST)
	}
	// What the kernel would refuse anyway is answered as the kernel would
	// (mkdir -p and git rely on EEXIST for names that are already there).
	if op.call != "rename" && op.call != "renameat" && op.call != "renameat2" && exists(pfd, base) {
		return done(unix.EEXIST)
	}
	perm := op.mode &^ umask & 0o7777
	switch op.call {
	case "mkdir", "mkdirat":
		if rule := r.check(preal, base, kindDir); rule != "" {
			return deny(rule)
		}
		return done(unix.Mkdirat(pfd, base, perm))
	case "mknod", "mknodat":
		typ := op.mode & unix.S_IFMT
		if typ != 0 && typ != unix.S_IFREG && typ != unix.S_IFIFO && typ != unix.S_IFSOCK {
			return deny("device nodes")
		}
		if rule := r.check(preal, base, kindFile); rule != "" {
			return deny(rule)
		}
		return done(unix.Mknodat(pfd, base, typ|perm, 0))
	case "symlink", "symlinkat":
		if rule := r.check(preal, base, kindSymlink); rule != "" {
			return deny(rule)
		}
		return done(unix.Symlinkat(op.str, pfd, base))
	case "link", "linkat":
		return op.link(t, r, pfd, preal, base)
	default: // rename, renameat, renameat2
		return op.rename(t, r, pfd, preal, base)
	}
}

func (op *operation) link(t *target, r rules, pfd int, preal, base string) (reply, string) {
	if op.flags&^unix.AT_SYMLINK_FOLLOW != 0 {
		return done(unix.EINVAL)
	}
	if rule := r.check(preal, base, kindLink); rule != "" {
		return deny(rule)
	}
	if op.flags&unix.AT_SYMLINK_FOLLOW != 0 {
		ofd, err := unix.Openat2(t.root, op.oldPath, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: resolveInRoot})
		if err != nil {
			return done(err)
		}
		defer unix.Close(ofd)
		return done(unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(ofd), pfd, base, unix.AT_SYMLINK_FOLLOW))
	}
	opfd, _, obase, err := resolveParent(t, op.oldPath)
	if err != nil {
		return done(err)
	}
	defer unix.Close(opfd)
	return done(unix.Linkat(opfd, obase, pfd, base, 0))
}

func (op *operation) rename(t *target, r rules, npfd int, npreal, nbase string) (reply, string) {
	const known = unix.RENAME_NOREPLACE | unix.RENAME_EXCHANGE | unix.RENAME_WHITEOUT
	if op.flags&^known != 0 {
		return done(unix.EINVAL)
	}
	opfd, opreal, obase, err := resolveParent(t, op.oldPath)
	if err != nil {
		return done(err)
	}
	defer unix.Close(opfd)
	if dotName(obase) {
		return done(unix.EBUSY)
	}
	if op.flags&unix.RENAME_NOREPLACE != 0 && exists(npfd, nbase) {
		return done(unix.EEXIST)
	}
	if rule := r.checkMove(opfd, obase, npreal, nbase); rule != "" {
		return deny(rule)
	}
	if op.flags&unix.RENAME_EXCHANGE != 0 {
		if rule := r.checkMove(npfd, nbase, opreal, obase); rule != "" {
			return deny(rule)
		}
	}
	// The guard runs in the host's mount namespace, where the sandbox's
	// mounts (masks, read-only binds) are not mount points, so the kernel
	// would not refuse to move them. Refuse as it would inside: EBUSY.
	if isMountRoot(opfd, obase) || isMountRoot(npfd, nbase) {
		return done(unix.EBUSY)
	}
	return done(unix.Renameat2(opfd, obase, npfd, nbase, uint(op.flags)))
}

// checkMove decides whether the entry srcBase in srcDir may arrive at
// dstBase in the directory whose real path is dstReal.
func (r rules) checkMove(srcDir int, srcBase, dstReal, dstBase string) string {
	var st unix.Stat_t
	if err := unix.Fstatat(srcDir, srcBase, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return "" // the rename itself will fail with the real error
	}
	k := kindFile
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		k = kindDir
	case unix.S_IFLNK:
		k = kindSymlink
	}
	if rule := r.check(dstReal, dstBase, k); rule != "" {
		return rule
	}
	if k != kindDir || !r.receivesNested(dstReal, dstBase) {
		return ""
	}
	names, err := subtreeNames(srcDir, srcBase, maxMovedEntries)
	if err != nil {
		return "protected " + dstBase + " (its content cannot be checked: " + err.Error() + ")"
	}
	return r.checkRenamedDir(names)
}

// maxMovedEntries bounds the walk of a directory moved into a git dir; a
// larger one is refused rather than moved unchecked.
const maxMovedEntries = 10000

// subtreeNames lists the names of every entry below base in dirfd, without
// following symlinks, up to limit entries.
func subtreeNames(dirfd int, base string, limit int) ([]string, error) {
	var names []string
	var walk func(parent int, name string) error
	walk = func(parent int, name string) error {
		fd, err := unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), name)
		defer f.Close()
		ents, err := f.ReadDir(-1)
		if err != nil {
			return err
		}
		for _, e := range ents {
			names = append(names, e.Name())
			if len(names) > limit {
				return fmt.Errorf("more than %d entries", limit)
			}
			if e.IsDir() {
				if err := walk(fd, e.Name()); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return names, walk(dirfd, base)
}

// selfFDNumber returns N when path names the task's own descriptor N in one
// of the spellings that shells and scripts open with O_CREAT
// (> /dev/stdout): /dev/fd/N, /dev/stdin|stdout|stderr,
// /proc/self/fd/N, /proc/thread-self/fd/N. They are magic links in the
// task's /proc; the receiving thread duplicates the task's descriptor
// (pidfd_getfd) and the executor reopens the duplicate. (Parsed by hand:
// a regexp compiled at package init would cost every airlock process.)
func selfFDNumber(path string) (int, bool) {
	switch path {
	case "/dev/stdin":
		return 0, true
	case "/dev/stdout":
		return 1, true
	case "/dev/stderr":
		return 2, true
	}
	var num string
	for _, prefix := range []string{"/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			num = rest
			break
		}
	}
	if num == "" || strings.Trim(num, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, false
	}
	return n, true
}

func (op *operation) open(t *target, r rules, umask uint32, landlockFD int) (reply, string) {
	flags := op.flags
	cloexec := flags&unix.O_CLOEXEC != 0
	if op.selfFD >= 0 {
		// Reopen the task's own descriptor (duplicated into this process
		// by the receiving thread) through our /proc/self, so Landlock
		// checks the file it refers to, as it would for the task.
		fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(op.selfFD), (flags&^unix.O_CREAT)|unix.O_CLOEXEC, 0)
		if err != nil {
			return done(err)
		}
		return existing(fd, cloexec)
	}
	pfd, preal, base, err := resolveParent(t, op.path)
	if err != nil {
		return done(err)
	}
	defer unix.Close(pfd)
	if dotName(base) || strings.HasSuffix(op.path, "/") {
		return done(unix.EISDIR)
	}
	var st unix.Stat_t
	err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK:
		if flags&unix.O_EXCL != 0 {
			return done(unix.EEXIST)
		}
		if flags&unix.O_NOFOLLOW != 0 {
			return done(unix.ELOOP)
		}
		how := &unix.OpenHow{Flags: uint64((flags &^ unix.O_CREAT) | unix.O_CLOEXEC), Resolve: resolveInRoot}
		fd, err := unix.Openat2(t.root, op.path, how)
		if errors.Is(err, unix.ENOENT) {
			return reply{errno: unix.EACCES, fd: -1}, "creation through a dangling symlink"
		}
		if err != nil {
			return done(err)
		}
		return existing(fd, cloexec)
	case err == nil:
		if flags&unix.O_EXCL != 0 {
			return done(unix.EEXIST)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == ttyDev {
			return done(unix.ENXIO)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFIFO {
			// Opening a FIFO blocks until its peer opens it; no name is
			// created, so it needs no serialization.
			dup, err := unix.FcntlInt(uintptr(pfd), unix.F_DUPFD_CLOEXEC, 0)
			if err != nil {
				return done(err)
			}
			return reply{async: func() reply { return openFIFO(dup, base, flags, cloexec, landlockFD) }, fd: -1}, ""
		}
		fd, err := unix.Openat(pfd, base, (flags&^unix.O_CREAT)|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			return done(err)
		}
		return existing(fd, cloexec)
	case errors.Is(err, unix.ENOENT):
		if rule := r.check(preal, base, kindFile); rule != "" {
			return deny(rule)
		}
		fd, err := unix.Openat(pfd, base, flags|unix.O_EXCL|unix.O_CLOEXEC|unix.O_NOFOLLOW, op.mode&^umask&0o7777)
		if err != nil {
			return done(err)
		}
		return reply{fd: fd, cloexec: cloexec}, ""
	default:
		return done(err)
	}
}

// existing returns an fd opened on something that already existed, unless
// it is the controlling-terminal device, which would mean the supervisor's.
func existing(fd int, cloexec bool) (reply, string) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == ttyDev {
		unix.Close(fd)
		return done(unix.ENXIO)
	}
	return reply{fd: fd, cloexec: cloexec}, ""
}

func openFIFO(dirfd int, base string, flags int, cloexec bool, landlockFD int) reply {
	defer unix.Close(dirfd)
	runtime.LockOSThread() // restricted below and never handed back
	if err := restrictThread(landlockFD); err != nil {
		return errReply(err)
	}
	fd, err := unix.Openat(dirfd, base, (flags&^unix.O_CREAT)|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return errReply(err)
	}
	return reply{fd: fd, cloexec: cloexec}
}
