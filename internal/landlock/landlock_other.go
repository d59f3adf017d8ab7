//go:build !linux

package landlock

import "errors"

var errUnsupported = errors.New("landlock is unsupported on this operating system")

// ABI returns the kernel's Landlock ABI version. It always fails here.
func ABI() (int, error) { return 0, errUnsupported }

// Restrict confines the calling thread. It always fails here.
func Restrict(r Rules, minABI int) (Result, error) { return Result{}, errUnsupported }

// Ruleset is unsupported off Linux.
func Ruleset(r Rules, minABI int) (int, Result, error) { return -1, Result{}, errUnsupported }
