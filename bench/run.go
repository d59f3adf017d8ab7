package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// contender is one command that is timed.
type contender struct {
	name string
	argv []string // argv[0] is an absolute path, resolved before timing
	dir  string   // working directory
	// display is the command as the report shows it.
	display string
	// unavailable says why the contender cannot run; empty when it can.
	unavailable string
	// wantStdout, when set, is the output every run must produce.
	wantStdout []byte
	checkOut   bool
}

// outcome is the result of one run.
type outcome struct {
	wall      time.Duration
	directKiB int64 // ru_maxrss read by the harness itself (see maxRSSKiB)
	stdout    []byte
	err       error
}

// maxCapture bounds how much of a run's stdout or stderr is kept.
const maxCapture = 64 << 10

// runOnce runs argv in dir with a timeout, stdin from /dev/null and stdout
// and stderr to scratch files, and times it from just before fork to just
// after wait4. On timeout the whole process group is killed.
func runOnce(argv []string, dir, scratch string, timeout time.Duration) outcome {
	outF, err := os.CreateTemp(scratch, "stdout-")
	if err != nil {
		return outcome{err: fmt.Errorf("create stdout file: %w", err)}
	}
	defer os.Remove(outF.Name())
	defer outF.Close()
	errF, err := os.CreateTemp(scratch, "stderr-")
	if err != nil {
		return outcome{err: fmt.Errorf("create stderr file: %w", err)}
	}
	defer os.Remove(errF.Name())
	defer errF.Close()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout = outF
	cmd.Stderr = errF
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second

	start := time.Now()
	err = cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	o := outcome{wall: time.Since(start)}
	if cmd.ProcessState != nil {
		if kib, rerr := maxRSSKiB(cmd.ProcessState); rerr == nil {
			o.directKiB = kib
		}
	}
	o.stdout = readCapped(outF)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %s: %w", timeout, err)
		}
		if tail := strings.TrimSpace(string(tailOf(readCapped(errF), 600))); tail != "" {
			err = fmt.Errorf("%w; stderr: %s", err, tail)
		}
		o.err = fmt.Errorf("run %s: %w", strings.Join(argv, " "), err)
	}
	return o
}

// readCapped reads the start of f, at most maxCapture bytes.
func readCapped(f *os.File) []byte {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(f, maxCapture))
	return b
}

// tailOf returns the last n bytes of b.
func tailOf(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return b[len(b)-n:]
}

// samples collects the successful runs of one contender.
type samples struct {
	walls    []time.Duration
	direct   []int64
	failures int
	lastErr  error
}

// phase runs a set of contenders round-robin.
type phase struct {
	contenders []contender
	scratch    string
	timeout    time.Duration // per run
	deadline   time.Time     // no new iteration starts after it
	log        io.Writer
}

// checkRun validates one outcome of c: exit status zero and, when c checks
// its output, the expected stdout.
func checkRun(c contender, o outcome) error {
	if o.err != nil {
		return o.err
	}
	if c.checkOut && string(o.stdout) != string(c.wantStdout) {
		return fmt.Errorf("%s: output differs from the bare run: got %q, want %q",
			c.name, tailOf(o.stdout, 200), tailOf(c.wantStdout, 200))
	}
	return nil
}

// warmUp runs every available contender n times and marks the ones that fail
// as unavailable with the reason.
func (ph *phase) warmUp(n int) {
	for i := range ph.contenders {
		c := &ph.contenders[i]
		if c.unavailable != "" {
			continue
		}
		for range n {
			o := runOnce(c.argv, c.dir, ph.scratch, ph.timeout)
			if err := checkRun(*c, o); err != nil {
				c.unavailable = "warm-up failed: " + err.Error()
				fmt.Fprintf(ph.log, "bench: %s unavailable: %v\n", c.name, err)
				break
			}
		}
	}
}

// measure runs iters round-robin iterations over the available contenders,
// rotating which contender goes first. It stops early at the deadline and
// returns the samples per contender and the iterations completed.
func (ph *phase) measure(iters int) ([]samples, int) {
	out := make([]samples, len(ph.contenders))
	k := len(ph.contenders)
	done := 0
	for it := range iters {
		if time.Now().After(ph.deadline) {
			fmt.Fprintf(ph.log, "bench: deadline reached after %d of %d iterations\n", it, iters)
			break
		}
		for j := range k {
			idx := (it + j) % k
			c := ph.contenders[idx]
			if c.unavailable != "" {
				continue
			}
			o := runOnce(c.argv, c.dir, ph.scratch, ph.timeout)
			if err := checkRun(c, o); err != nil {
				out[idx].failures++
				out[idx].lastErr = err
				continue
			}
			out[idx].walls = append(out[idx].walls, o.wall)
			out[idx].direct = append(out[idx].direct, o.directKiB)
		}
		done++
	}
	return out, done
}

// toRow summarises the samples of c.
func toRow(c contender, s samples) Row {
	r := Row{Name: c.name, Command: c.display}
	if r.Command == "" {
		r.Command = displayCommand(c.argv)
	}
	if c.unavailable != "" {
		r.Unavailable = c.unavailable
		return r
	}
	if len(s.walls) == 0 {
		r.Unavailable = "every run failed"
		if s.lastErr != nil {
			r.Unavailable += ": " + s.lastErr.Error()
		}
		return r
	}
	r.N = len(s.walls)
	r.Min = percentile(s.walls, 0)
	r.Median = median(s.walls)
	r.P90 = percentile(s.walls, 90)
	return r
}

// displayCommand shows argv with well-known long paths shortened so the
// table stays readable; the machine table lists where each tool lives.
func displayCommand(argv []string) string {
	parts := make([]string, len(argv))
	copy(parts, argv)
	if len(parts) > 0 {
		parts[0] = shortBinary(parts[0])
	}
	return strings.Join(parts, " ")
}

// shortBinary returns the base name of the binary of a tool the report
// names in its machine table; other paths are left as they are.
func shortBinary(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return p
	}
	switch base := p[i+1:]; base {
	case "airlock", "srt", "bwrap", "runsc", "true", "git", "sh", "time":
		return base
	}
	return p
}

// errUnsupported is returned by the parts of the harness that only work on
// Linux.
var errUnsupported = errors.New("unsupported on this operating system")
