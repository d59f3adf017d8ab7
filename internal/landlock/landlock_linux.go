package landlock

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Access rights grouped by the ABI version that introduced them.
const (
	accessFSV1 = unix.LANDLOCK_ACCESS_FS_EXECUTE |
		unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR |
		unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
		unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
		unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM

	// accessFile is the subset of rights that apply to a non-directory; a
	// rule on a file carrying any other right is rejected by the kernel.
	accessFile = unix.LANDLOCK_ACCESS_FS_EXECUTE |
		unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_TRUNCATE |
		unix.LANDLOCK_ACCESS_FS_IOCTL_DEV |
		unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX

	// accessRO is what a ReadOnly path gets.
	accessRO = unix.LANDLOCK_ACCESS_FS_EXECUTE |
		unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR

	// accessList is what a directory on a deny chain gets.
	accessList = unix.LANDLOCK_ACCESS_FS_READ_DIR

	// scopeABI is the first ABI with scopes.
	scopeABI = 6
)

// handledFS returns every filesystem right the given ABI knows.
func handledFS(abi int) uint64 {
	h := uint64(accessFSV1)
	if abi >= 2 {
		h |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		h |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 5 {
		h |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	if abi >= 9 {
		h |= unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX
	}
	return h
}

// rulesetAttr is struct landlock_ruleset_attr up to ABI 6 (scoped). Kernels
// that know fewer fields accept it because the extra fields are zero unless
// the ABI supports them.
type rulesetAttr struct {
	handledAccessFS  uint64
	handledAccessNet uint64
	scoped           uint64
}

// ABI returns the kernel's Landlock ABI version, or 0 and an error that says
// why Landlock is unavailable. The error wraps the errno (unix.ENOSYS: not
// built into the kernel or blocked by a seccomp filter; unix.EOPNOTSUPP:
// built but not enabled at boot).
func ABI() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		switch errno {
		case unix.ENOSYS:
			return 0, fmt.Errorf("landlock is not available: the kernel is built without it (CONFIG_SECURITY_LANDLOCK=n) or a seccomp filter blocks its system calls: %w", errno)
		case unix.EOPNOTSUPP:
			return 0, fmt.Errorf("landlock is built into the kernel but not enabled at boot (landlock is missing from the lsm= list): %w", errno)
		default:
			return 0, fmt.Errorf("query landlock abi version: %w", errno)
		}
	}
	return int(v), nil
}

// Restrict builds a ruleset from r and enforces it on the calling thread
// only, with landlock_restrict_self. The caller holds runtime.LockOSThread
// and either executes the sandboxed program right after (the domain is
// inherited) or never returns the thread to the Go scheduler. no_new_privs
// must already be set on the thread. Restrict fails if the kernel's ABI is
// lower than minABI.
//
// Scopes are applied only when requested and the ABI is at least 6;
// otherwise Result.Scoped reports what was not applied as 0, and the caller
// decides whether to continue.
func Restrict(r Rules, minABI int) (Result, error) {
	fd, res, err := Ruleset(r, minABI)
	if err != nil {
		return res, err
	}
	defer unix.Close(fd)
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(fd), 0, 0); errno != 0 {
		return res, fmt.Errorf("landlock_restrict_self: %w", errno)
	}
	return res, nil
}

// Ruleset builds the ruleset for r and returns its fd without enforcing it,
// for a caller that enforces it on several threads at once (for example
// with syscall.AllThreadsSyscall(SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0)).
// The caller closes the fd. The same no_new_privs requirement as Restrict
// applies on every thread that enforces it.
func Ruleset(r Rules, minABI int) (int, Result, error) {
	abi, err := ABI()
	if err != nil {
		return -1, Result{}, err
	}
	if abi < minABI {
		return -1, Result{ABI: abi}, fmt.Errorf("landlock abi %d is lower than the required %d", abi, minABI)
	}
	nnp, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	if err != nil {
		return -1, Result{ABI: abi}, fmt.Errorf("read no_new_privs: %w", err)
	}
	if nnp != 1 {
		return -1, Result{ABI: abi}, errors.New("no_new_privs is not set on the calling thread: set it with prctl(PR_SET_NO_NEW_PRIVS) before restricting")
	}

	p, err := makePlan(r)
	if err != nil {
		return -1, Result{ABI: abi}, err
	}

	res := Result{ABI: abi, HandledFS: handledFS(abi), Skipped: p.skipped}
	if abi >= scopeABI {
		if r.ScopeSignals {
			res.Scoped |= unix.LANDLOCK_SCOPE_SIGNAL
		}
		if r.ScopeAbstractUnix {
			res.Scoped |= unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
		}
	}

	attr := rulesetAttr{handledAccessFS: res.HandledFS, scoped: res.Scoped}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if errno != 0 {
		return -1, res, fmt.Errorf("landlock_create_ruleset: %w", errno)
	}
	rulesetFD := int(fd)
	n, err := p.apply(rulesetFD, res.HandledFS)
	res.Rules = n
	if err != nil {
		unix.Close(rulesetFD)
		return -1, res, err
	}
	return rulesetFD, res, nil
}

// addRule grants access (limited to handled, and to file rights when fd is
// not a directory) beneath the object fd refers to. It reports whether a
// rule was added: a rule with no rights left is skipped.
func addRule(rulesetFD, fd int, access, handled uint64, isDir bool) (bool, error) {
	access &= handled
	if !isDir {
		access &= accessFile
	}
	if access == 0 {
		return false, nil
	}
	attr := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rulesetFD), unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&attr)), 0, 0, 0)
	if errno != 0 {
		return false, errno
	}
	return true, nil
}
