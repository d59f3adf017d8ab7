package seccomp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The real-kernel tests re-execute the test binary. TestMain sees
// childModeEnv and runs seccompChild instead of the tests: it locks the OS
// thread, optionally installs the filter, runs each probe on that thread
// and prints the outcome as JSON. The parent compares a filtered run with
// a control run of the same probes without the filter.
//
//	parent (go test)                      child (same binary)
//	   |-- exec, childModeEnv=mode ---------->|
//	   |                                      | LockOSThread, open pty
//	   |                                      | [no_new_privs + Install]
//	   |                                      | probes on the locked thread
//	   |<-------- stdout: {"probe": errno} ----|
const (
	childModeEnv = "AIRLOCK_SECCOMP_TEST_CHILD"
	childDirEnv  = "AIRLOCK_SECCOMP_TEST_DIR"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		if err := seccompChild(mode, os.Getenv(childDirEnv)); err != nil {
			fmt.Fprintf(os.Stderr, "seccomp test child: %v\n", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the control runs create namespaces and inject terminal input")
	}
}

// runChild runs the test binary in child mode and decodes its results.
func runChild(t *testing.T, mode, dir string) map[string]int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childModeEnv+"="+mode, childDirEnv+"="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child %s: %v (a SIGSYS here means the filter killed it)\nstderr:\n%s", mode, err, stderr.String())
	}
	var res map[string]int
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("child %s: decode %q: %v\nstderr:\n%s", mode, stdout.String(), err, stderr.String())
	}
	return res
}

// TestInstallBlocksAttacks pairs each refused operation with a control run
// showing that the same call succeeds, or fails differently, without the
// filter.
func TestInstallBlocksAttacks(t *testing.T) {
	requireRoot(t)
	control := runChild(t, "control", "")
	filtered := runChild(t, "filtered", "")
	unixAllowed := runChild(t, "filtered-unix", "")

	const ok = 0
	cases := []struct {
		probe                   string
		control, filtered, unix int
	}{
		// The Go runtime is multithreaded, so unshare(CLONE_NEWUSER)
		// fails with EINVAL outside the filter: it still differs.
		{"unshare_newuser", int(unix.EINVAL), int(unix.EPERM), int(unix.EPERM)},
		{"unshare_newuts", ok, int(unix.EPERM), int(unix.EPERM)},
		{"uts_ns_changed", 1, 0, 0},
		{"unshare_sysvsem", ok, ok, ok},
		{"ioctl_tiocsti", ok, int(unix.EPERM), int(unix.EPERM)},
		{"ioctl_tiocsti_high_bits", ok, int(unix.EPERM), int(unix.EPERM)},
		{"tty_bytes_injected", 2, 0, 0},
		{"ioctl_tcgets", ok, ok, ok},
		{"socket_unix", ok, int(unix.EPERM), ok},
		{"socket_inet", ok, ok, ok},
		{"socket_packet", ok, int(unix.EPERM), int(unix.EPERM)},
		{"socketpair_unix_stream", ok, ok, ok},
		{"socketpair_unix_dgram", ok, int(unix.EPERM), ok},
		{"clone3", int(unix.EINVAL), int(unix.ENOSYS), int(unix.ENOSYS)},
		{"nr_1000", int(unix.ENOSYS), int(unix.ENOSYS), int(unix.ENOSYS)},
		{"listmount", int(unix.EFAULT), int(unix.ENOSYS), int(unix.ENOSYS)},
		{"mount", int(unix.ENOENT), int(unix.EPERM), int(unix.EPERM)},
		{"personality_query", ok, int(unix.EPERM), int(unix.EPERM)},
		{"getpid", ok, ok, ok},
		{"exec_shell_with_background_job", ok, ok, ok},
		{"exec_threaded_python", ok, ok, ok},
	}
	for _, c := range cases {
		t.Run(c.probe, func(t *testing.T) {
			if control[c.probe] == probeMissing {
				t.Skipf("the probe's program is not installed")
			}
			for _, run := range []struct {
				name string
				res  map[string]int
				want int
			}{{"control", control, c.control}, {"filtered", filtered, c.filtered}, {"filtered AllowUnixSockets", unixAllowed, c.unix}} {
				got, present := run.res[c.probe]
				if !present {
					t.Errorf("%s: probe did not report", run.name)
					continue
				}
				if got != run.want {
					t.Errorf("%s: got %s, want %s", run.name, errnoName(got), errnoName(run.want))
				}
			}
		})
	}
}

func errnoName(e int) string {
	if e == 0 {
		return "success (0)"
	}
	return fmt.Sprintf("%s (%d)", unix.ErrnoName(unix.Errno(e)), e)
}

// TestInstallNotify checks the user notification path end to end: creating
// opens reach the listener, which can fail them or let them continue, and
// other opens never reach it.
func TestInstallNotify(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "existing"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runChild(t, "notify", dir)
	cases := []struct {
		probe string
		want  int
	}{
		{"openat_creat", int(unix.EXDEV)}, // the listener answered EXDEV
		{"openat_creat_notified_nr", int(archX86_64.sysnum["openat"])},
		{"openat_read", 0}, // no notification needed
		{"mkdirat", 0},     // the listener let it continue
		{"mkdirat_notified_nr", int(archX86_64.sysnum["mkdirat"])},
		{"openat2", int(unix.ENOSYS)},
		{"notifications", 2},
		{"listener_cloexec", unix.FD_CLOEXEC},
	}
	if runtime.GOARCH == "arm64" {
		cases[1].want = int(archAarch64.sysnum["openat"])
		cases[4].want = int(archAarch64.sysnum["mkdirat"])
	}
	for _, c := range cases {
		t.Run(c.probe, func(t *testing.T) {
			if got, present := res[c.probe]; !present {
				t.Error("probe did not report")
			} else if got != c.want {
				t.Errorf("got %d, want %d", got, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "created")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file the listener refused: stat got %v, want not exist", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "sub")); err != nil || !fi.IsDir() {
		t.Errorf("directory the listener let continue: stat got %v, want a directory", err)
	}
}

func TestInstallRejectsBadPrograms(t *testing.T) {
	// These fail before the syscall or in the kernel's checks, so they
	// install nothing and can run in the test process itself.
	cases := []struct {
		name string
		prog []bpf.RawInstruction
	}{
		{"empty", nil},
		{"too long", make([]bpf.RawInstruction, maxInstructions+1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fd, err := Install(c.prog, 0)
			if err == nil {
				t.Fatalf("got fd %d and no error, want an error", fd)
			}
			if fd != -1 {
				t.Errorf("got fd %d, want -1", fd)
			}
		})
	}
}

// seccompChild runs the probes for one mode and prints their results.
func seccompChild(mode, dir string) error {
	runtime.LockOSThread() // never unlocked: the thread carries the filter

	master, slave, err := openPTY()
	if err != nil {
		return err
	}
	defer unix.Close(master)
	defer unix.Close(slave)

	var opts Options
	flags := uintptr(0)
	switch mode {
	case "control":
	case "filtered":
	case "filtered-unix":
		opts.AllowUnixSockets = true
	case "notify":
		opts.NotifyCreate = true
		flags = unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	listener := -1
	if mode != "control" {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
		prog, err := Program(opts)
		if err != nil {
			return err
		}
		if listener, err = Install(prog, flags); err != nil {
			return err
		}
		if (flags == 0) != (listener == -1) {
			return fmt.Errorf("install with flags %#x returned listener %d", flags, listener)
		}
	}

	res := map[string]int{}
	if mode == "notify" {
		fdFlags, err := unix.FcntlInt(uintptr(listener), unix.F_GETFD, 0)
		res["listener_cloexec"] = -1
		if err == nil {
			res["listener_cloexec"] = fdFlags & unix.FD_CLOEXEC
		}
		notifyProbes(res, listener, dir)
	} else {
		attackProbes(res, slave)
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func errnoOf(err error) int {
	var e unix.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	if err != nil {
		return -1
	}
	return 0
}

func rawErrno(_, _ uintptr, e unix.Errno) int { return int(e) }

func attackProbes(res map[string]int, tty int) {
	res["unshare_newuser"] = errnoOf(unix.Unshare(unix.CLONE_NEWUSER))

	before, _ := os.Readlink("/proc/thread-self/ns/uts")
	res["unshare_newuts"] = errnoOf(unix.Unshare(unix.CLONE_NEWUTS))
	after, _ := os.Readlink("/proc/thread-self/ns/uts")
	res["uts_ns_changed"] = 0
	if before != after {
		res["uts_ns_changed"] = 1
	}
	// A flag outside the namespace set passes the filter. (Not
	// CLONE_FILES: a thread with its own fd table breaks the Go runtime's
	// netpoller.)
	res["unshare_sysvsem"] = errnoOf(unix.Unshare(unix.CLONE_SYSVSEM))

	// TIOCSTI pushes a byte into the terminal's input queue; TIOCINQ
	// counts the queued bytes afterwards (canonical mode counts complete
	// lines, hence newlines).
	nl := byte('\n')
	res["ioctl_tiocsti"] = rawErrno(unix.Syscall(unix.SYS_IOCTL, uintptr(tty), unix.TIOCSTI, uintptr(unsafe.Pointer(&nl))))
	highBits := uint64(0xffffffff00000000 | unix.TIOCSTI)
	res["ioctl_tiocsti_high_bits"] = rawErrno(unix.Syscall(unix.SYS_IOCTL, uintptr(tty), uintptr(highBits), uintptr(unsafe.Pointer(&nl))))
	queued, err := unix.IoctlGetInt(tty, unix.TIOCINQ)
	if err != nil {
		queued = -1
	}
	res["tty_bytes_injected"] = queued
	_, err = unix.IoctlGetTermios(tty, unix.TCGETS)
	res["ioctl_tcgets"] = errnoOf(err)

	socket := func(domain, typ int) int {
		fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
		}
		return errnoOf(err)
	}
	res["socket_unix"] = socket(unix.AF_UNIX, unix.SOCK_STREAM)
	res["socket_inet"] = socket(unix.AF_INET, unix.SOCK_STREAM)
	res["socket_packet"] = socket(unix.AF_PACKET, unix.SOCK_DGRAM)
	pair := func(typ int) int {
		fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
		}
		return errnoOf(err)
	}
	res["socketpair_unix_stream"] = pair(unix.SOCK_STREAM)
	res["socketpair_unix_dgram"] = pair(unix.SOCK_DGRAM)

	// clone3 with no arguments: EINVAL from the kernel, ENOSYS from the
	// filter. Nothing is cloned either way.
	res["clone3"] = rawErrno(unix.Syscall(unix.SYS_CLONE3, 0, 0, 0))
	res["nr_1000"] = rawErrno(unix.Syscall(1000, 0, 0, 0))
	// listmount with a NULL request: EFAULT from the kernel.
	res["listmount"] = rawErrno(unix.Syscall6(unix.SYS_LISTMOUNT, 0, 0, 0, 0, 0, 0))
	res["mount"] = errnoOf(unix.Mount("none", "/nonexistent-airlock-seccomp-test", "tmpfs", 0, ""))
	res["personality_query"] = rawErrno(unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0))
	res["getpid"] = rawErrno(unix.Syscall(unix.SYS_GETPID, 0, 0, 0))

	// A shell running a background job exercises fork/clone, execve,
	// wait4 and glibc's clone3 fallback. os/exec forks from this locked
	// thread, so the shell inherits the filter.
	res["exec_shell_with_background_job"] = runStatus(exec.Command("/bin/sh", "-c", "/bin/true & wait $! && exit 0"))
	// glibc's pthread_create tries clone3 first and falls back to clone
	// on ENOSYS; a threaded Python shows the fallback works.
	res["exec_threaded_python"] = probeMissing
	if _, err := os.Stat(pythonPath); err == nil {
		res["exec_threaded_python"] = runStatus(exec.Command(pythonPath, "-c",
			"import threading; t = threading.Thread(target=lambda: None); t.start(); t.join()"))
	}
}

const (
	pythonPath = "/usr/bin/python3"
	// probeMissing marks a probe whose program is not installed.
	probeMissing = -2
)

// runStatus runs cmd and returns its exit code, or -1 if it did not start
// or was killed by a signal.
func runStatus(cmd *exec.Cmd) int {
	err := cmd.Run()
	if err == nil {
		return 0
	}
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		return exit.ExitCode()
	}
	return -1
}

// openPTY opens a pseudo-terminal pair.
func openPTY() (master, slave int, err error) {
	master, err = unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(master)
		return -1, -1, fmt.Errorf("unlock pty: %w", err)
	}
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if e != 0 {
		unix.Close(master)
		return -1, -1, fmt.Errorf("open pty peer: %w", e)
	}
	return master, int(r), nil
}

// struct seccomp_notif and struct seccomp_notif_resp.
type seccompNotif struct {
	ID    uint64
	PID   uint32
	Flags uint32
	Data  [64]byte
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

const notifFlagContinue = 1 // SECCOMP_USER_NOTIF_FLAG_CONTINUE

// notifyProbes serves the listener from another thread while this locked,
// filtered thread makes the calls.
func notifyProbes(res map[string]int, listener int, dir string) {
	nrs := make(chan int, 16)
	go func() {
		for {
			var n seccompNotif
			if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n))); e != 0 {
				close(nrs)
				return
			}
			nr := binary.NativeEndian.Uint32(n.Data[0:4])
			resp := seccompNotifResp{ID: n.ID}
			if nr == uint32(unix.SYS_OPENAT) {
				resp.Error = -int32(unix.EXDEV)
			} else {
				resp.Flags = notifFlagContinue
			}
			nrs <- int(nr)
			unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
		}
	}()
	count := 0
	recv := func() int {
		count++
		return <-nrs
	}

	fd, err := unix.Openat(unix.AT_FDCWD, filepath.Join(dir, "created"), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err == nil {
		unix.Close(fd)
	}
	res["openat_creat"] = errnoOf(err)
	res["openat_creat_notified_nr"] = recv()

	fd, err = unix.Openat(unix.AT_FDCWD, filepath.Join(dir, "existing"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
	}
	res["openat_read"] = errnoOf(err)

	res["mkdirat"] = errnoOf(unix.Mkdirat(unix.AT_FDCWD, filepath.Join(dir, "sub"), 0o700))
	res["mkdirat_notified_nr"] = recv()

	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC}
	fd, err = unix.Openat2(unix.AT_FDCWD, filepath.Join(dir, "existing"), &how)
	if err == nil {
		unix.Close(fd)
	}
	res["openat2"] = errnoOf(err)

	// Any notification beyond the two expected ones would be queued now.
	select {
	case nr := <-nrs:
		res["unexpected_notification_nr"] = nr
		count++
	default:
	}
	res["notifications"] = count
}
