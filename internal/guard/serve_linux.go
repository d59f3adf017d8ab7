package guard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/airlock-sandbox/airlock/internal/seccomp"
)

// Kernel ABI of seccomp user notification (linux/seccomp.h).
type notif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type notifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

type notifAddFD struct {
	ID         uint64
	Flags      uint32
	SrcFD      uint32
	NewFD      uint32
	NewFDFlags uint32
}

const (
	ioctlRecv    = unix.SECCOMP_IOCTL_NOTIF_RECV
	ioctlSend    = unix.SECCOMP_IOCTL_NOTIF_SEND
	ioctlIDValid = 0x40082102 // _IOW('!', 2, __u64)
	ioctlAddFD   = 0x40182103 // _IOW('!', 3, struct seccomp_notif_addfd)
)

// ttyDev is /dev/tty (5,0): opened by the supervisor it would mean the
// supervisor's own terminal, so the guard answers ENXIO ("no controlling
// terminal") instead. With a pty, init binds the pty over /dev/tty.
var ttyDev = unix.Mkdev(5, 0)

// Serve handles notifications on listener until the sandbox is gone. It
// owns the listener and closes it.
//
// Two threads do the work. The receiving thread reads each notification and
// the target's memory, /proc links and umask; it also records execs (see
// Config.OnExec), which need no file operation. The executor thread performs
// the operation: it runs with no effective capabilities, the sandbox's
// Landlock ruleset and a umask of 0, so it can do no more to the
// filesystem than the sandboxed task itself.
func Serve(ctx context.Context, listener int, cfg Config) error {
	defer unix.Close(listener)
	ex, err := startExecutor(cfg.LandlockFD)
	if err != nil {
		return err
	}
	defer close(ex.jobs)
	s := &server{listener: listener, rules: compile(cfg), onDeny: cfg.OnDeny, onExec: cfg.OnExec, ex: ex, landlockFD: cfg.LandlockFD}
	fds := []unix.PollFd{{Fd: int32(listener), Events: unix.POLLIN}}
	for ctx.Err() == nil {
		// Wait with a timeout so a cancelled context is noticed. POLLHUP
		// means the filter has no tasks left: the sandbox is gone.
		n, err := unix.Poll(fds, 250)
		if errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if err != nil {
			return fmt.Errorf("guard: poll: %w", err)
		}
		if fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			return nil
		}
		var nt notif
		if err := ioctl(listener, ioctlRecv, unsafe.Pointer(&nt)); err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOENT) {
				continue // the task died before we received its notification
			}
			return nil
		}
		s.handle(&nt)
	}
	return ctx.Err()
}

// executor runs jobs on one restricted thread.
type executor struct {
	jobs chan func()
}

func startExecutor(landlockFD int) (*executor, error) {
	ex := &executor{jobs: make(chan func())}
	ready := make(chan error)
	go func() {
		// The thread is restricted for good and never handed back: it
		// dies with this goroutine.
		runtime.LockOSThread()
		if err := restrictThread(landlockFD); err != nil {
			ready <- err
			return
		}
		close(ready)
		for job := range ex.jobs {
			job()
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return ex, nil
}

// run executes f on the executor thread and returns its reply.
func (ex *executor) run(f func() reply) reply {
	out := make(chan reply, 1)
	ex.jobs <- func() { out <- f() }
	return <-out
}

// restrictThread makes the calling thread as weak as the sandboxed process
// in the ways that matter for the operations it emulates: the sandbox's
// Landlock domain, no effective capabilities (so file permissions apply as
// they do to the sandbox) and a private umask of 0 (the target's umask is
// applied explicitly).
func restrictThread(landlockFD int) error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("guard: unshare fs: %w", err)
	}
	unix.Umask(0)
	if landlockFD > 0 {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("guard: no_new_privs: %w", err)
		}
		if _, _, e := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(landlockFD), 0, 0); e != 0 {
			return fmt.Errorf("guard: enforce the sandbox's landlock ruleset: %w", e)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("guard: capget: %w", err)
	}
	data[0].Effective, data[1].Effective = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("guard: drop capabilities: %w", err)
	}
	return nil
}

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}

type server struct {
	listener   int
	rules      rules
	onDeny     func(Denial)
	onExec     func(Exec)
	ex         *executor
	landlockFD int
}

// reply is the outcome of one emulated syscall.
type reply struct {
	val     int64
	errno   unix.Errno
	fd      int // >= 0: inject this fd as the syscall's result
	cloexec bool
	// async, when set, completes the reply on another thread (an open that
	// may block); the notification stays pending until then.
	async func() reply
}

func errReply(err error) reply {
	var e unix.Errno
	if errors.As(err, &e) {
		return reply{errno: e, fd: -1}
	}
	return reply{errno: unix.EACCES, fd: -1}
}

func (s *server) handle(n *notif) {
	name := seccomp.SyscallName(int(n.Nr))
	if name == "execve" || name == "execveat" {
		s.exec(n, name)
		return
	}
	r := s.emulate(n, name)
	if r.async != nil {
		go func(id uint64, f func() reply) { s.respond(id, f()) }(n.ID, r.async)
		return
	}
	s.respond(n.ID, r)
}

func (s *server) respond(id uint64, r reply) {
	if r.fd >= 0 {
		flags := uint32(0)
		if r.cloexec {
			flags = unix.O_CLOEXEC
		}
		add := notifAddFD{ID: id, Flags: unix.SECCOMP_ADDFD_FLAG_SEND, SrcFD: uint32(r.fd), NewFDFlags: flags}
		err := ioctl(s.listener, ioctlAddFD, unsafe.Pointer(&add))
		unix.Close(r.fd)
		if err == nil {
			return
		}
		r = errReply(err)
	}
	resp := notifResp{ID: id, Val: r.val, Error: -int32(r.errno)}
	_ = ioctl(s.listener, ioctlSend, unsafe.Pointer(&resp))
}

// target is the sandboxed task behind one notification.
type target struct {
	pid  int
	mem  *os.File
	root int // O_PATH fd of the task's root directory
}

func (t *target) close() {
	if t.mem != nil {
		t.mem.Close()
	}
	if t.root >= 0 {
		unix.Close(t.root)
	}
}

func (s *server) valid(id uint64) bool {
	return ioctl(s.listener, ioctlIDValid, unsafe.Pointer(&id)) == nil
}

func (s *server) emulate(n *notif, name string) reply {
	t := &target{pid: int(n.Pid), root: -1}
	defer t.close()
	var err error
	if t.mem, err = os.Open("/proc/" + strconv.Itoa(t.pid) + "/mem"); err != nil {
		return errReply(unix.ESRCH)
	}
	if t.root, err = unix.Open("/proc/"+strconv.Itoa(t.pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return errReply(unix.ESRCH)
	}
	a := n.Args
	atFD := func(i int) int { return int(int32(a[i])) }
	var op operation
	switch name {
	case "open":
		op = operation{call: name, dirfd: unix.AT_FDCWD, pathArg: a[0], flags: int(a[1]), mode: uint32(a[2])}
	case "creat":
		op = operation{call: name, dirfd: unix.AT_FDCWD, pathArg: a[0], flags: unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC, mode: uint32(a[1])}
	case "openat":
		op = operation{call: name, dirfd: atFD(0), pathArg: a[1], flags: int(a[2]), mode: uint32(a[3])}
	case "mkdir":
		op = operation{call: name, dirfd: unix.AT_FDCWD, pathArg: a[0], mode: uint32(a[1])}
	case "mkdirat":
		op = operation{call: name, dirfd: atFD(0), pathArg: a[1], mode: uint32(a[2])}
	case "mknod":
		op = operation{call: name, dirfd: unix.AT_FDCWD, pathArg: a[0], mode: uint32(a[1])}
	case "mknodat":
		op = operation{call: name, dirfd: atFD(0), pathArg: a[1], mode: uint32(a[2])}
	case "symlink":
		op = operation{call: name, strArg: a[0], dirfd: unix.AT_FDCWD, pathArg: a[1]}
	case "symlinkat":
		op = operation{call: name, strArg: a[0], dirfd: atFD(1), pathArg: a[2]}
	case "link":
		op = operation{call: name, oldDirfd: unix.AT_FDCWD, oldArg: a[0], dirfd: unix.AT_FDCWD, pathArg: a[1]}
	case "linkat":
		op = operation{call: name, oldDirfd: atFD(0), oldArg: a[1], dirfd: atFD(2), pathArg: a[3], flags: int(a[4])}
	case "rename":
		op = operation{call: name, oldDirfd: unix.AT_FDCWD, oldArg: a[0], dirfd: unix.AT_FDCWD, pathArg: a[1]}
	case "renameat":
		op = operation{call: name, oldDirfd: atFD(0), oldArg: a[1], dirfd: atFD(2), pathArg: a[3]}
	case "renameat2":
		op = operation{call: name, oldDirfd: atFD(0), oldArg: a[1], dirfd: atFD(2), pathArg: a[3], flags: int(a[4])}
	default:
		return errReply(unix.ENOSYS)
	}
	op.selfFD = -1
	if err := op.load(t); err != nil {
		return errReply(err)
	}
	if n, ok := selfFDNumber(op.path); ok && (name == "open" || name == "creat" || name == "openat") {
		fd, err := dupTaskFD(t.pid, n)
		if err != nil {
			return errReply(err)
		}
		op.selfFD = fd
		defer unix.Close(fd)
	}
	// Everything the decision depends on has been read: make sure it was
	// read from the task that is still waiting, not a recycled pid.
	if !s.valid(n.ID) {
		return errReply(unix.ESRCH)
	}
	umask := readUmask(t.pid)
	var denial string
	r := s.ex.run(func() reply {
		var r reply
		r, denial = op.run(t, s.rules, umask, s.landlockFD)
		return r
	})
	if denial != "" && s.onDeny != nil {
		s.onDeny(Denial{Pid: t.pid, Syscall: name, Path: op.path, Rule: denial, Allow: s.rules.allowFor(denial)})
	}
	return r
}

// operation is one decoded path-creating syscall.
type operation struct {
	call     string
	dirfd    int
	pathArg  uint64
	path     string
	oldDirfd int
	oldArg   uint64
	oldPath  string
	strArg   uint64
	str      string
	flags    int
	mode     uint32
	// selfFD is, for an open of the task's own /proc/self/fd/N (or
	// /dev/stdout ...), the task's descriptor duplicated into this
	// process; -1 otherwise.
	selfFD int
}

func (op *operation) load(t *target) error {
	var err error
	if op.path, err = t.abs(op.dirfd, op.pathArg); err != nil {
		return err
	}
	if op.oldArg != 0 {
		if op.oldPath, err = t.abs(op.oldDirfd, op.oldArg); err != nil {
			return err
		}
	}
	if op.strArg != 0 {
		if op.str, err = t.readString(op.strArg); err != nil {
			return err
		}
	}
	return nil
}

// readString reads a NUL-terminated string of at most PATH_MAX bytes from
// the target's memory, one page at a time so an unmapped page after the
// string does not fail the read.
func (t *target) readString(addr uint64) (string, error) {
	if addr == 0 {
		return "", unix.EFAULT
	}
	var out []byte
	buf := make([]byte, 4096)
	for len(out) < unix.PathMax {
		chunk := 4096 - int(addr%4096)
		n, err := t.mem.ReadAt(buf[:chunk], int64(addr))
		if n == 0 && err != nil {
			return "", unix.EFAULT
		}
		if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
			return string(append(out, buf[:i]...)), nil
		}
		out = append(out, buf[:n]...)
		addr += uint64(n)
	}
	return "", unix.ENAMETOOLONG
}

// abs reads a path argument and makes it absolute in the sandbox's view,
// using the task's cwd or the directory behind dirfd.
func (t *target) abs(dirfd int, addr uint64) (string, error) {
	p, err := t.readString(addr)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", unix.ENOENT
	}
	if strings.HasPrefix(p, "/") {
		return p, nil
	}
	link := "/proc/" + strconv.Itoa(t.pid) + "/cwd"
	if dirfd != unix.AT_FDCWD {
		if dirfd < 0 {
			return "", unix.EBADF
		}
		link = "/proc/" + strconv.Itoa(t.pid) + "/fd/" + strconv.Itoa(dirfd)
	}
	base, err := os.Readlink(link)
	if err != nil || !strings.HasPrefix(base, "/") || strings.HasSuffix(base, " (deleted)") {
		return "", unix.ENOENT
	}
	return strings.TrimSuffix(base, "/") + "/" + p, nil
}

// dupTaskFD duplicates descriptor n of task pid into this process.
func dupTaskFD(pid, n int) (int, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, unix.ESRCH
	}
	defer unix.Close(pidfd)
	fd, err := unix.PidfdGetfd(pidfd, n, 0)
	if err != nil {
		if errors.Is(err, unix.EBADF) {
			return -1, unix.ENOENT // like /proc/self/fd/N for a closed N
		}
		return -1, err
	}
	unix.CloseOnExec(fd)
	return fd, nil
}

func readUmask(pid int) uint32 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0o022
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return uint32(m)
			}
		}
	}
	return 0o022
}
