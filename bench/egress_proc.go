package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// parseStatusKiB returns the value in KiB of a "Key:   1234 kB" line of a
// /proc/PID/status file.
func parseStatusKiB(status, key string) (int64, error) {
	for l := range strings.Lines(status) {
		k, v, ok := strings.Cut(l, ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s: got %q, want a size in kB", key, strings.TrimSpace(v))
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", key, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("no %s line", key)
}

// readVmRSS returns the resident set size of process pid in KiB.
func readVmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read status of %d: %w", pid, err)
	}
	return parseStatusKiB(string(b), "VmRSS")
}

// fdCount is the open file descriptors of a process by kind.
type fdCount struct {
	sockets, pipes, other int
}

func (f fdCount) total() int { return f.sockets + f.pipes + f.other }

// fdKind classifies a /proc/PID/fd link target.
func fdKind(link string) string {
	switch {
	case strings.HasPrefix(link, "socket:"):
		return "socket"
	case strings.HasPrefix(link, "pipe:"):
		return "pipe"
	}
	return "other"
}

// countFDs counts the file descriptors process pid has open, by kind.
// Descriptors closed while it reads are skipped.
func countFDs(pid int) (fdCount, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fdCount{}, fmt.Errorf("list fds of %d: %w", pid, err)
	}
	var c fdCount
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		switch fdKind(link) {
		case "socket":
			c.sockets++
		case "pipe":
			c.pipes++
		default:
			c.other++
		}
	}
	return c, nil
}

// parseLimitsNoFile returns the soft "Max open files" limit from the text
// of /proc/PID/limits.
func parseLimitsNoFile(limits string) (int, error) {
	const key = "Max open files"
	for l := range strings.Lines(limits) {
		if !strings.HasPrefix(l, key) {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(l, key))
		if len(f) < 2 {
			return 0, fmt.Errorf("limits: short %q line", key)
		}
		if f[0] == "unlimited" {
			return math.MaxInt32, nil
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			return 0, fmt.Errorf("limits: %w", err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("limits: no %q line", key)
}

// procNoFile returns the soft RLIMIT_NOFILE of process pid.
func procNoFile(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0, fmt.Errorf("read limits of %d: %w", pid, err)
	}
	return parseLimitsNoFile(string(b))
}

// selfCPU is the user and system CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat: 100
// on every Linux architecture Go supports (it is fixed by the kernel ABI,
// not by CONFIG_HZ).
const clockTicks = 100

// parseStatCPU returns utime+stime of a /proc/PID/stat line. The command
// name, field 2, is in parentheses and may itself contain spaces and
// parentheses, so fields are counted from the last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	// After the name: state is field 3; utime and stime are 14 and 15.
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: got %d fields after the name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// procCPU returns the CPU time (user and system) process pid has used.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	return parseStatCPU(string(b))
}

// raiseNoFile raises this process's RLIMIT_NOFILE (soft and hard) to at
// least want, which its children inherit. Go raises the soft limit to the
// hard one at start-up and restores the original for children, unless the
// program sets the limit itself, as here. It returns the soft limit now in
// force.
func raiseNoFile(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur >= want && lim.Max >= want {
		// Set it anyway, so children inherit it rather than the limit
		// Go saved at start-up.
		return lim.Cur, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	next := syscall.Rlimit{Cur: want, Max: max(want, lim.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err != nil {
		// Without privilege the hard limit cannot grow: take what it allows.
		lim.Cur = lim.Max
		if err2 := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err2 != nil {
			return 0, fmt.Errorf("setrlimit: %w", err)
		}
		return lim.Cur, nil
	}
	return next.Cur, nil
}

// bgProc is a long-running helper process (a standalone proxy) in its own
// process group.
type bgProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been reaped

	mu   sync.Mutex
	tail []byte // last output lines seen, for error messages; guarded by mu
}

// startBackground starts argv in dir in a new process group and waits
// until a line of its stdout or stderr starts with prefix, returning that
// line without the prefix. Output after that line is drained and only its
// tail kept.
func startBackground(argv []string, dir, prefix string, timeout time.Duration) (*bgProc, string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, "", fmt.Errorf("pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, "", fmt.Errorf("start %s: %w", displayCommand(argv), err)
	}
	pw.Close()
	p := &bgProc{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if !sent && strings.HasPrefix(line, prefix) {
				found <- strings.TrimPrefix(line, prefix)
				sent = true
				continue
			}
			p.mu.Lock()
			p.tail = tailOf(append(p.tail, line+"\n"...), 600)
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case line := <-found:
		return p, line, nil
	case <-p.done:
		return nil, "", fmt.Errorf("%s exited before it was ready: %s; output: %s",
			displayCommand(argv), cmd.ProcessState, p.output())
	case <-time.After(timeout):
		p.stop()
		return nil, "", fmt.Errorf("%s not ready after %s; output: %s", displayCommand(argv), timeout, p.output())
	}
}

// pid is the process id of the helper.
func (p *bgProc) pid() int { return p.cmd.Process.Pid }

// output is the tail of what the helper printed.
func (p *bgProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.TrimSpace(string(p.tail))
}

// stop sends SIGTERM to the helper's process group, then SIGKILL if it has
// not exited within five seconds, and waits for it.
func (p *bgProc) stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Helpers the leader left behind in its group (srt's socat bridges).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// copyExecutable copies the running binary into dir as name, so that
// sandboxes that hide the Go build cache can run it.
func copyExecutable(dir, name string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own executable: %w", err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		return "", fmt.Errorf("read own executable: %w", err)
	}
	dst := filepath.Join(dir, name)
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		return "", fmt.Errorf("write %q: %w", dst, err)
	}
	return dst, nil
}
