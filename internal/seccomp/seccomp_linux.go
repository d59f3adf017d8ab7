package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// nativeArch returns the description of the running architecture.
func nativeArch() (*arch, error) { return archForGOARCH(runtime.GOARCH) }

// archForGOARCH maps a Go architecture name to its audit architecture.
func archForGOARCH(goarch string) (*arch, error) {
	switch goarch {
	case "amd64":
		return archX86_64, nil
	case "arm64":
		return archAarch64, nil
	}
	return nil, fmt.Errorf("unsupported arch %s", goarch)
}

// Install loads prog on the calling thread (caller must have set
// PR_SET_NO_NEW_PRIVS and should hold runtime.LockOSThread).
// flags are SECCOMP_FILTER_FLAG_*; if flags include
// SECCOMP_FILTER_FLAG_NEW_LISTENER the listener fd is returned, else -1.
// The listener fd is close-on-exec.
func Install(prog []bpf.RawInstruction, flags uintptr) (listenerFD int, err error) {
	if len(prog) == 0 {
		return -1, errors.New("install seccomp filter: empty program")
	}
	if len(prog) > maxInstructions {
		return -1, fmt.Errorf("install seccomp filter: %d instructions, over the kernel limit of %d", len(prog), maxInstructions)
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(filter)
	if errno != 0 {
		if errno == unix.EACCES {
			return -1, fmt.Errorf("install seccomp filter: %w (no_new_privs is not set and the thread lacks CAP_SYS_ADMIN)", errno)
		}
		return -1, fmt.Errorf("install seccomp filter: %w", errno)
	}
	if flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
		return int(r), nil
	}
	return -1, nil
}
