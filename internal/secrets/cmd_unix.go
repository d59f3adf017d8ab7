//go:build unix

package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// loadCmd runs command with /bin/sh -c in its own process group and returns
// its trimmed stdout. stdin is empty; stderr is kept (bounded) for the error.
func loadCmd(ctx context.Context, name, command string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, CmdTimeout)
	defer cancel()
	stdout := &limitedBuffer{max: MaxValueSize}
	stderr := &limitedBuffer{max: maxStderr}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// Kill the whole group: a child of the shell may hold the pipes.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = time.Second
	runErr := cmd.Run()
	out := bytes.TrimSpace(stdout.buf.Bytes())
	if runErr != nil {
		// Whatever the command printed may be (part of) the value: redact
		// it and the known token shapes from stderr before quoting it.
		known := map[string][]byte{}
		if len(out) > 0 {
			known[name] = out
		}
		msg := NewRedactor(known).String(string(bytes.TrimSpace(stderr.buf.Bytes())))
		if stderr.overflow {
			msg += " [truncated]"
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			if errors.Is(ctxErr, context.DeadlineExceeded) {
				return nil, fmt.Errorf("command timed out: %w (stderr: %q)", ctxErr, msg)
			}
			return nil, fmt.Errorf("command canceled: %w (stderr: %q)", ctxErr, msg)
		}
		return nil, fmt.Errorf("command failed: %w (stderr: %q)", runErr, msg)
	}
	if stdout.overflow {
		return nil, fmt.Errorf("command printed more than %d bytes", MaxValueSize)
	}
	return out, nil
}
