package sandbox

import (
	"errors"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/airlock-sandbox/airlock/internal/landlock"
	"github.com/airlock-sandbox/airlock/internal/seccomp"
)

const hintDegraded = "run `airlock doctor`; to run without this layer anyway, pass --allow-degraded "

// lockdown applies, on every thread of init, the restrictions the command
// inherits: no_new_privs, Landlock, an empty capability set, and the seccomp
// filter. Init holds nothing after this that the command lacks, so the
// posture of every thread in the sandbox is the same. It returns the seccomp
// listener fd when create-notification is on, else -1.
func lockdown(c conn, s *Spec) (int, error) {
	if err := allThreads(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return -1, fail("no_new_privs", "", "no_new_privs: %v", err)
	}
	if err := degradable(c, s.Landlock, applyLandlock(c, s)); err != nil {
		return -1, err
	}
	if err := dropCaps(); err != nil {
		return -1, fail("caps", "", "drop capabilities: %v", err)
	}
	fd, err := applySeccomp(s)
	if err := degradable(c, s.Seccomp, err); err != nil {
		return -1, err
	}
	return fd, nil
}

// degradable turns the failure of a best-effort layer into a report to the
// supervisor; a required layer's failure stays an error.
func degradable(c conn, mode Layer, err error) error {
	if err == nil || mode == Require {
		return err
	}
	var se *setupError
	if errors.As(err, &se) {
		return c.send(message{Type: msgDegraded, Layer: se.layer, Msg: se.msg})
	}
	return c.send(message{Type: msgDegraded, Msg: err.Error()})
}

func applySeccomp(s *Spec) (int, error) {
	if s.Seccomp == Off {
		return -1, nil
	}
	prog, err := seccomp.Program(seccomp.Options{AllowUnixSockets: s.AllowUnixSockets, NotifyCreate: s.NotifyCreate, NotifyExec: s.NotifyExec})
	if err != nil {
		return -1, fail("seccomp", hintDegraded+"seccomp", "seccomp filter: %v", err)
	}
	flags := uintptr(unix.SECCOMP_FILTER_FLAG_TSYNC)
	if s.NotifyCreate || s.NotifyExec {
		flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	}
	fd, err := seccomp.Install(prog, flags)
	if err != nil {
		return -1, fail("seccomp", hintDegraded+"seccomp", "install seccomp filter: %v", err)
	}
	return fd, nil
}

func applyLandlock(c conn, s *Spec) error {
	if s.Landlock == Off {
		return nil
	}
	rules := landlock.Rules{
		// Paths bound back inside masks (allow_read, allowed sockets) are
		// granted explicitly: a grant inside a denied area wins.
		ReadOnly:              append(append([]string{"/"}, s.Reexpose...), s.UnixSockets...),
		ReadWrite:             append([]string{"/tmp", "/dev", "/proc"}, s.Writable...),
		ScopeSignals:          true,
		ScopeAbstractUnix:     true,
		SkipDenyUnderWritable: true,
	}
	rules.Deny = append(rules.Deny, s.MaskDirs...)
	rules.Deny = append(rules.Deny, s.MaskFiles...)
	rules.Deny = append(rules.Deny, s.DenyMissing...)
	fd, _, err := landlock.Ruleset(rules, 1)
	if err != nil {
		return fail("landlock", hintDegraded+"landlock", "landlock: %v", err)
	}
	defer unix.Close(fd)
	if s.NotifyCreate {
		if err := c.send(message{Type: msgLandlock}, fd); err != nil {
			return fail("landlock", "", "send landlock ruleset: %v", err)
		}
	}
	if err := allThreads(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(fd), 0, 0); err != nil {
		return fail("landlock", hintDegraded+"landlock", "landlock_restrict_self: %v", err)
	}
	return nil
}

// dropCaps empties the bounding, ambient, inheritable, permitted and
// effective sets on every thread.
func dropCaps() error {
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		// Every thread of init shares the bounding set it started with:
		// a capability already absent needs no all-threads call. (A
		// root supervisor hands init a bounding set of the few
		// capabilities set-up needs; see dropBoundingForInit.)
		if in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err == nil && in == 0 {
			continue
		}
		err := allThreads(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0)
		if err != nil && !errors.Is(err, unix.EINVAL) {
			return err
		}
	}
	if err := allThreads(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil {
		return err
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	err := allThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	runtime.KeepAlive(&hdr)
	runtime.KeepAlive(&data)
	return err
}

func allThreads(trap, a1, a2, a3 uintptr) error {
	if _, _, e := syscall.AllThreadsSyscall(trap, a1, a2, a3); e != 0 {
		return e
	}
	return nil
}
