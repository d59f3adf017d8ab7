package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airlock-sandbox/airlock/internal/cgroup"
	"github.com/airlock-sandbox/airlock/internal/reexec"
)

// Run executes the spec in a new sandbox and waits for it.
func Run(ctx context.Context, s *Spec, o Options) (Result, error) {
	if o.Stdin == nil {
		o.Stdin, o.Stdout, o.Stderr = os.Stdin, os.Stdout, os.Stderr
	}
	// Descriptors leaked to airlock by its parent must not reach the
	// sandbox: exec only closes those marked close-on-exec.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return Result{}, &SetupError{Layer: "supervisor", Msg: fmt.Sprintf("close inherited descriptors: %v", err)}
	}
	ctl, child, err := socketpair()
	if err != nil {
		return Result{}, &SetupError{Layer: "supervisor", Msg: err.Error()}
	}
	defer unix.Close(ctl.fd)

	var group *cgroup.Group
	if o.Limits != (cgroup.Limits{}) {
		group, err = cgroup.New(fmt.Sprintf("airlock-%d", os.Getpid()), o.Limits)
		switch {
		case err != nil && o.AllowNoCgroup:
			o.warn("cgroup", "resource limits (--memory, --pids, --cpus) are NOT enforced: "+err.Error())
			group = nil
		case err != nil:
			return Result{}, &SetupError{Layer: "cgroup", Msg: err.Error(), Hint: "run `airlock doctor`; resource limits need a writable cgroup (v2 delegation or v1 memory/pids/cpu), or pass --allow-degraded cgroup"}
		default:
			defer group.Close()
		}
	}

	cmd := &exec.Cmd{
		Path: reexec.Self,
		Args: []string{reexec.Argv0(InitName)},
		// Init is a reaper: one P keeps the stop-the-world pauses of its
		// all-threads lockdown short. Nothing else reaches its environment.
		Env:        []string{"GOMAXPROCS=1"},
		ExtraFiles: []*os.File{child},
		SysProcAttr: &unix.SysProcAttr{
			Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID |
				unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: s.UID, HostID: s.HostUID, Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: s.GID, HostID: s.HostGID, Size: 1}},
			// A privileged parent may let init drop the supplementary groups.
			GidMappingsEnableSetgroups: s.HostUID == 0,
			AmbientCaps:                initCaps,
			Pdeathsig:                  unix.SIGKILL,
		},
	}
	if s.TTY {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, o.Stderr
	} else {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	}
	// Catch signals before init exists, so none can kill the supervisor
	// by default action and leave the sandbox dying on its own.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGWINCH)
	defer signal.Stop(sigs)
	// Start init from a locked thread whose bounding set holds only the
	// capabilities init needs (when this process may change it). The
	// thread is never unlocked: init's PDEATHSIG is tied to the thread
	// that forked it, which must live as long as the sandbox, and a thread
	// with a reduced bounding set must not go back to the scheduler to
	// start anything else. The rest of Run stays on it.
	runtime.LockOSThread()
	dropBoundingForInit(initCaps)
	if err := cmd.Start(); err != nil {
		child.Close()
		return Result{}, &SetupError{Layer: "userns", Msg: fmt.Sprintf("start sandbox init: %v", err),
			Hint: "user namespaces may be restricted here; run `airlock doctor`"}
	}
	child.Close()
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	kill := func() { _ = cmd.Process.Signal(unix.SIGKILL) }

	if group != nil {
		if err := group.Add(cmd.Process.Pid); err != nil {
			kill()
			<-waitErr
			return Result{}, &SetupError{Layer: "cgroup", Msg: fmt.Sprintf("cgroup: %v", err)}
		}
	}
	var filesFD []int
	if len(s.Files) > 0 {
		fd, err := filesMemfd(s.Files)
		if err != nil {
			kill()
			<-waitErr
			return Result{}, &SetupError{Layer: "supervisor", Msg: fmt.Sprintf("airlock files: %v", err)}
		}
		defer unix.Close(fd)
		filesFD = append(filesFD, fd)
	}
	if err := ctl.send(message{Type: msgSpec, Spec: s}, filesFD...); err != nil {
		kill()
		<-waitErr
		return Result{}, &SetupError{Layer: "supervisor", Msg: fmt.Sprintf("send spec: %v", err)}
	}

	// One reader owns the control socket for the whole run.
	type packet struct {
		m   message
		fds []int
	}
	msgs := make(chan packet, 8)
	go func() {
		defer close(msgs)
		for {
			m, fds, err := ctl.recv()
			if err != nil {
				return
			}
			msgs <- packet{m, fds}
		}
	}()

	// Set-up phase: wait for started or error. Signals that arrive now
	// are held and delivered once the command runs.
	var master *os.File
	var restore func()
	landlockFD := -1
	defer func() {
		if landlockFD >= 0 {
			unix.Close(landlockFD)
		}
	}()
	var outDone <-chan struct{}
	var held []os.Signal
	fail := func(e *SetupError) (Result, error) {
		kill()
		<-waitErr
		if restore != nil {
			restore()
		}
		return Result{}, e
	}
	for started := false; !started; {
		var p packet
		select {
		case s := <-sigs:
			held = append(held, s)
			continue
		case pk, ok := <-msgs:
			if !ok {
				return fail(&SetupError{Layer: "init", Msg: "sandbox init died during set-up", Hint: "run `airlock doctor`"})
			}
			p = pk
		}
		m, fds := p.m, p.fds
		switch m.Type {
		case msgPty:
			if len(fds) == 1 {
				master = os.NewFile(uintptr(fds[0]), "ptmx")
				restore, outDone = relayPty(master, o.Stdin, o.Input, o.Stdout)
			}
		case msgNotify:
			if len(fds) == 1 {
				if o.Notify == nil {
					unix.Close(fds[0])
					return fail(&SetupError{Layer: "seccomp", Msg: "no handler for seccomp notifications"})
				}
				go o.Notify(ctx, fds[0], landlockFD)
			}
		case msgError:
			return fail(&SetupError{Layer: m.Layer, Msg: m.Msg, Hint: m.Hint, Code: m.Code})
		case msgProxy:
			if len(fds) < 2 || len(fds) > 3 || o.Egress == nil {
				for _, fd := range fds {
					unix.Close(fd)
				}
				return fail(&SetupError{Layer: "netns", Msg: "the proxy listeners could not be taken over"})
			}
			ls, err := fileListeners(fds)
			if err != nil {
				return fail(&SetupError{Layer: "netns", Msg: fmt.Sprintf("proxy listeners: %v", err)})
			}
			if err := o.Egress(ctx, ls); err != nil {
				return fail(&SetupError{Layer: "proxy", Msg: fmt.Sprintf("start the egress proxy: %v", err)})
			}
		case msgLandlock:
			if len(fds) == 1 {
				landlockFD = fds[0]
			}
		case msgDegraded:
			o.warn(m.Layer, m.Msg)
		case msgStarted:
			started = true
		}
	}
	defer func() {
		if restore != nil {
			restore()
		}
	}()

	// Run phase.
	var timeout <-chan time.Time
	if o.Timeout > 0 {
		t := time.NewTimer(o.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	forward := func(s os.Signal) {
		if s == unix.SIGWINCH {
			if master != nil {
				syncWinsize(o.Stdin, master)
			}
			return
		}
		_ = cmd.Process.Signal(s)
	}
	for _, s := range held {
		forward(s)
	}
	res := Result{Code: -1}
	for done := false; !done; {
		select {
		case s := <-sigs:
			forward(s)
		case p, ok := <-msgs:
			if !ok {
				msgs = nil // init is gone; its exit status comes from wait
			} else if p.m.Type == msgExit {
				res.Code = p.m.Code
			}
		case <-timeout:
			res.Killed = "timeout"
			kill()
		case <-ctx.Done():
			kill()
		case err := <-waitErr:
			if res.Code < 0 {
				// Init exits with the command's status.
				res.Code = exitCode(err)
			}
			done = true
		}
	}
	if res.Killed == "timeout" {
		res.Code = ExitTimeout
	} else if group != nil {
		if why, err := group.Reason(); err == nil && why != "" {
			res.Killed = why
		}
	}
	if master != nil {
		// Output written just before exit is still in the pty buffer.
		select {
		case <-outDone:
		case <-time.After(2 * time.Second):
		}
		master.Close()
	}
	return res, nil
}

// initCaps are the capabilities init needs, inside its user namespace,
// until it locks itself down: mounts, the network namespace's loopback,
// dropping the bounding set, setgroups, and its own tmpfs files.
var initCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_SETPCAP,
	unix.CAP_SETGID, unix.CAP_DAC_OVERRIDE, unix.CAP_SYS_CHROOT}

// dropBoundingForInit removes every capability but keep from the calling
// (locked) thread's bounding set, which init inherits: init then drops only
// those few on each of its threads, each drop being a stop-the-world
// all-threads call. It needs CAP_SETPCAP (a root supervisor); otherwise it
// changes nothing and init drops the whole set itself. The thread keeps its
// effective capabilities; the bounding set only limits what an exec from
// it could gain, and this thread only ever starts init.
func dropBoundingForInit(keep []uintptr) {
	if os.Geteuid() != 0 {
		return
	}
	for c := uintptr(0); c <= unix.CAP_LAST_CAP; c++ {
		if !slices.Contains(keep, c) {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err != nil {
				return
			}
		}
	}
}

// fileListeners wraps received listening sockets.
func fileListeners(fds []int) ([]net.Listener, error) {
	var out []net.Listener
	for _, fd := range fds {
		f := os.NewFile(uintptr(fd), "proxy-listener")
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func (o Options) warn(layer, msg string) {
	if o.Warn != nil {
		o.Warn(layer, msg)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(unix.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return ExitSetup
}

// relayPty puts the host terminal in raw mode and copies bytes both ways
// between it and the sandbox's pty master (input, when set, is where the
// keystrokes come from instead of in: a prompter that borrows some). It returns a function restoring
// the terminal and a channel closed when the output side has ended (the last
// slave closed, which the death of the PID namespace guarantees).
func relayPty(master, in *os.File, input io.Reader, out *os.File) (func(), <-chan struct{}) {
	syncWinsize(in, master)
	old, err := unix.IoctlGetTermios(int(in.Fd()), unix.TCGETS)
	restore := func() {}
	if err == nil {
		raw := *old
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
		if unix.IoctlSetTermios(int(in.Fd()), unix.TCSETS, &raw) == nil {
			var once sync.Once
			restore = func() { once.Do(func() { _ = unix.IoctlSetTermios(int(in.Fd()), unix.TCSETS, old) }) }
		}
	}
	done := make(chan struct{})
	if input == nil {
		input = in
	}
	go func() { _, _ = io.Copy(master, input) }()
	go func() {
		defer close(done)
		_, _ = io.Copy(out, master)
	}()
	return restore, done
}

func syncWinsize(from, to *os.File) {
	ws, err := unix.IoctlGetWinsize(int(from.Fd()), unix.TIOCGWINSZ)
	if err == nil {
		_ = unix.IoctlSetWinsize(int(to.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// filesMemfd writes files as JSON into a sealed memfd for init.
func filesMemfd(files []File) (int, error) {
	b, err := json.Marshal(files)
	if err != nil {
		return -1, err
	}
	fd, err := unix.MemfdCreate("airlock-files", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, err
	}
	f := os.NewFile(uintptr(fd), "airlock-files")
	if _, err := f.Write(b); err != nil {
		f.Close()
		return -1, err
	}
	nfd, err := unix.Dup(fd)
	f.Close()
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(nfd)
	_, err = unix.FcntlInt(uintptr(nfd), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE)
	if err != nil {
		unix.Close(nfd)
		return -1, err
	}
	return nfd, nil
}
