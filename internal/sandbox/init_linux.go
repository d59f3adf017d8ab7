package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// controlFD is where the supervisor places init's end of the control socket.
const controlFD = 3

// RunInit is the body of PID 1 inside the sandbox. It never returns.
func RunInit() {
	runtime.LockOSThread()
	c := conn{fd: controlFD}
	// Only stdio may reach the command: every other inherited descriptor,
	// including the control socket, is closed on exec.
	if err := unix.CloseRange(controlFD, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		os.Exit(ExitSetup)
	}
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	// Nothing may be dumped or ptraced out of init, and its memory and
	// /proc files stay closed to the command.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)

	m, fds, err := c.recv()
	if err != nil || m.Type != msgSpec || m.Spec == nil || len(fds) > 1 {
		os.Exit(ExitSetup)
	}
	spec := m.Spec
	if len(fds) == 1 {
		f := os.NewFile(uintptr(fds[0]), "airlock-files")
		err := json.NewDecoder(io.NewSectionReader(f, 0, 64<<20)).Decode(&spec.Files)
		f.Close()
		if err != nil {
			os.Exit(ExitSetup)
		}
	}
	// As PID 1, init ignores every signal it has no handler for: register
	// before the command starts, so a signal the supervisor forwards the
	// moment it hears "started" is not lost.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGWINCH, unix.SIGCHLD)
	cmdPid, err := setupAndStart(c, spec)
	if err != nil {
		var se *setupError
		if !errors.As(err, &se) {
			se = &setupError{msg: err.Error()}
		}
		_ = c.send(message{Type: msgError, Msg: se.msg, Hint: se.hint, Layer: se.layer, Code: se.code})
		os.Exit(ExitSetup)
	}
	os.Exit(supervise(c, cmdPid, sigs))
}

type setupError struct {
	msg, hint, layer string
	code             int
}

func (e *setupError) Error() string { return e.msg }

func fail(layer, hint string, format string, args ...any) error {
	return &setupError{msg: fmt.Sprintf(format, args...), hint: hint, layer: layer}
}

func setupAndStart(c conn, s *Spec) (int, error) {
	// A fresh cgroup namespace rooted at the cgroup the supervisor placed
	// us in, so /proc/self/cgroup shows no host paths.
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return 0, fail("cgroupns", "run `airlock doctor`", "cgroup namespace: %v", err)
	}
	if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
		return 0, fail("utsns", "", "sethostname: %v", err)
	}
	if err := loopbackUp(); err != nil {
		return 0, fail("netns", "run `airlock doctor`", "bring up loopback: %v", err)
	}
	if s.Egress {
		if err := sendProxyListeners(c, s.Gateway); err != nil {
			return 0, fail("netns", "", "proxy listeners: %v", err)
		}
	}
	if s.HostUID == 0 {
		// Only a privileged parent may allow setgroups; drop the host's
		// supplementary groups so they grant nothing inside.
		if _, _, e := syscall.AllThreadsSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
			return 0, fail("userns", "", "setgroups: %v", e)
		}
	}
	if err := buildRoot(s); err != nil {
		return 0, err
	}
	if err := os.Chdir(s.Dir); err != nil {
		return 0, fail("mount", "", "chdir %s inside the sandbox: %v", s.Dir, err)
	}

	var master, slave *os.File
	if s.TTY {
		var err error
		if master, slave, err = openPty(); err != nil {
			return 0, fail("pty", "run without a terminal, or check /dev/pts", "pty: %v", err)
		}
		// /dev/tty must name this pty: the host's /dev/tty node means "the
		// caller's terminal", which for the supervisor is the host's.
		if err := unix.Mount(slave.Name(), "/dev/tty", "", unix.MS_BIND, ""); err != nil {
			return 0, fail("pty", "", "bind pty over /dev/tty: %v", err)
		}
		if err := c.send(message{Type: msgPty}, int(master.Fd())); err != nil {
			return 0, err
		}
		master.Close()
	}
	for _, r := range s.Rlimits {
		if err := unix.Setrlimit(r.Resource, &unix.Rlimit{Cur: r.Value, Max: r.Value}); err != nil {
			return 0, fail("rlimit", "", "setrlimit %s: %v", r.Name, err)
		}
	}
	path, err := lookPath(s.Argv[0], s.Env)
	if err != nil {
		return 0, &setupError{msg: err.Error(), code: ExitNotFound}
	}
	notifyFD, err := lockdown(c, s)
	if err != nil {
		return 0, err
	}
	if notifyFD >= 0 {
		if err := c.send(message{Type: msgNotify}, notifyFD); err != nil {
			return 0, err
		}
		unix.Close(notifyFD)
	}

	attr := &os.ProcAttr{
		Dir: s.Dir,
		Env: s.Env,
		Sys: &syscall.SysProcAttr{Setsid: true},
	}
	if slave != nil {
		attr.Files = []*os.File{slave, slave, slave}
		attr.Sys.Setctty = true
		attr.Sys.Ctty = 0
	} else {
		attr.Files = []*os.File{os.Stdin, os.Stdout, os.Stderr}
	}
	p, err := os.StartProcess(path, s.Argv, attr)
	if err != nil {
		code := ExitNotFound
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOEXEC) || errors.Is(err, unix.EPERM) {
			code = 126
		}
		return 0, &setupError{msg: fmt.Sprintf("start %s: %v", s.Argv[0], unwrapPathErr(err)), code: code}
	}
	if slave != nil {
		slave.Close()
	}
	if err := c.send(message{Type: msgStarted}); err != nil {
		return 0, err
	}
	return p.Pid, nil
}

// supervise reaps every child, forwards signals to the command, and returns
// the command's exit status (128+N when killed by signal N).
func supervise(c conn, cmdPid int, sigs <-chan os.Signal) int {
	go func() {
		// The supervisor never closes the socket while the command runs:
		// EOF means it died, and nothing may outlive it.
		for {
			if _, _, err := c.recv(); err != nil {
				os.Exit(137)
			}
		}
	}()
	for {
		// Reap everything that has exited; orphans re-parent to us.
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err == unix.EINTR {
				continue
			}
			if pid <= 0 || err != nil {
				break
			}
			if pid == cmdPid {
				code, sig := ws.ExitStatus(), 0
				if ws.Signaled() {
					sig = int(ws.Signal())
					code = 128 + sig
				}
				_ = c.send(message{Type: msgExit, Code: code, Signal: sig})
				return code
			}
		}
		s := <-sigs
		if s != unix.SIGCHLD {
			_ = unix.Kill(cmdPid, s.(syscall.Signal))
		}
	}
}

// sendProxyListeners creates the proxy's listening sockets on the
// sandbox's loopback and hands them to the supervisor.
func sendProxyListeners(c conn, gateway bool) error {
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	ports := []int{ProxyHTTPPort, ProxySOCKSPort}
	if gateway {
		ports = append(ports, ProxyGatewayPort)
	}
	for _, port := range ports {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		fds = append(fds, fd)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return fmt.Errorf("bind 127.0.0.1:%d: %w", port, err)
		}
		if err := unix.Listen(fd, 1024); err != nil {
			return err
		}
	}
	return c.send(message{Type: msgProxy}, fds...)
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

func openPty() (master, slave *os.File, err error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(mfd)
		return nil, nil, err
	}
	n, err := unix.IoctlGetInt(mfd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(mfd)
		return nil, nil, err
	}
	sfd, err := unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(mfd)
		return nil, nil, err
	}
	return os.NewFile(uintptr(mfd), "/dev/ptmx"), os.NewFile(uintptr(sfd), fmt.Sprintf("/dev/pts/%d", n)), nil
}

// lookPath finds argv0 on the sandbox's PATH, as seen inside the sandbox.
func lookPath(argv0 string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		return argv0, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, argv0)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command not found: %s", argv0)
}
