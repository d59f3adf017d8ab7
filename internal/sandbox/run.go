package sandbox

import (
	"context"
	"io"
	"net"
	"os"
	"time"

	"github.com/airlock-sandbox/airlock/internal/cgroup"
)

// InitName is the reexec entry point of the sandbox init.
const InitName = "init"

// SetupError is a sandbox that could not be set up as asked. The run exits
// with ExitSetup (or Code, when set, for a command that cannot start).
type SetupError struct {
	Layer string
	Msg   string
	Hint  string
	Code  int
}

func (e *SetupError) Error() string { return e.Msg }

// Options are run-time settings that are not part of the Spec init sees.
type Options struct {
	Limits        cgroup.Limits
	Timeout       time.Duration
	AllowNoCgroup bool
	// Stdin, Stdout, Stderr default to the process's own.
	Stdin *os.File
	// Input, when set, replaces Stdin as the source of the bytes relayed to
	// the sandbox's pty (Stdin stays the terminal whose mode and size are
	// managed).
	Input          io.Reader
	Stdout, Stderr *os.File
	// Warn reports a best-effort layer that is missing on this run.
	Warn func(layer, msg string)
	// Egress serves the proxy on the listeners init created in the
	// sandbox's network namespace: HTTP, SOCKS5, and the gateway when the
	// spec asks for it. It must return promptly:
	// serving happens in goroutines it starts. Required when the spec asks
	// for egress.
	Egress func(ctx context.Context, listeners []net.Listener) error
	// Notify handles seccomp notifications (the create guard); required
	// when the spec asks for them. landlockFD is the sandbox's Landlock
	// ruleset, or -1; it stays open until Run returns.
	Notify func(ctx context.Context, listener, landlockFD int)
}

// Result describes how the run ended.
type Result struct {
	Code int
	// Killed names the limit that ended the command: "timeout", "memory",
	// "pids", or "" when it ended on its own.
	Killed string
}
