//go:build !linux

package seccomp

import (
	"fmt"
	"runtime"

	"golang.org/x/net/bpf"
)

// errUnsupported is returned on systems without seccomp.
var errUnsupported = fmt.Errorf("seccomp is unsupported on %s", runtime.GOOS)

// nativeArch fails: there is no seccomp outside Linux.
func nativeArch() (*arch, error) { return nil, errUnsupported }

// Install fails: there is no seccomp outside Linux. The caller must treat
// the error as fatal rather than run the command unfiltered.
func Install(prog []bpf.RawInstruction, flags uintptr) (listenerFD int, err error) {
	return -1, fmt.Errorf("install seccomp filter: %w", errUnsupported)
}
