// Package reexec lets the airlock binary run one of its own internal entry
// points (the sandbox init, doctor probes) in a fresh process by executing
// /proc/self/exe with a reserved argv[0]. Dispatch runs before any CLI
// parsing, so these entry points are never visible as user commands.
//
// It trusts nothing from the environment: an entry point is chosen only by an
// exact argv[0] match against names registered by the program itself.
package reexec

import (
	"os"
	"strings"
)

// prefix marks argv[0] of an internal entry point. A user cannot reach an
// entry point by accident: the name contains a character no shell command
// name starts with in practice, and the entry points validate their inputs.
const prefix = "airlock:"

var entries = map[string]func(){}

// Register adds an internal entry point. It is called from main before
// Dispatch, never from package init functions.
func Register(name string, fn func()) {
	entries[name] = fn
}

// Dispatch runs the entry point named by argv[0] and reports whether it did.
// The entry point is expected to exit the process itself.
func Dispatch() bool {
	if len(os.Args) == 0 || !strings.HasPrefix(os.Args[0], prefix) {
		return false
	}
	fn, ok := entries[strings.TrimPrefix(os.Args[0], prefix)]
	if !ok {
		return false
	}
	fn()
	return true
}

// Argv0 returns the argv[0] that selects entry point name.
func Argv0(name string) string { return prefix + name }

// Self is the path used to re-execute the running binary.
const Self = "/proc/self/exe"
