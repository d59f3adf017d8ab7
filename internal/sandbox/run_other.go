//go:build !linux

package sandbox

import (
	"context"
	"errors"
	"os"
)

var errUnsupported = errors.New("the sandbox needs Linux: namespaces, seccomp and Landlock")

// Run fails: Airlock's sandbox is Linux-only, and it never runs a command
// unconfined.
func Run(ctx context.Context, s *Spec, o Options) (Result, error) {
	return Result{}, &SetupError{Layer: "os", Msg: errUnsupported.Error()}
}

// RunInit exits: there is no sandbox init off Linux.
func RunInit() { os.Exit(ExitSetup) }
