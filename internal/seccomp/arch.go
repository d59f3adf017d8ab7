package seccomp

import (
	"fmt"
	"sync"
)

// arch describes one supported audit architecture. Both supported
// architectures are little-endian and pass the arguments the rules inspect
// in the same positions (clone and unshare flags in args[0], the ioctl
// request in args[1], socket domain and type in args[0] and args[1], open
// flags in args[1], openat flags in args[2]).
type arch struct {
	name   string
	audit  uint32
	sysnum map[string]uint32 // syscall name -> number

	byNr func() map[uint32]string // number -> name, built on first use
}

func newArch(name string, audit uint32, sysnum map[string]uint32) *arch {
	return &arch{
		name:   name,
		audit:  audit,
		sysnum: sysnum,
		byNr: sync.OnceValue(func() map[uint32]string {
			m := make(map[uint32]string, len(sysnum))
			for name, nr := range sysnum {
				m[nr] = name
			}
			return m
		}),
	}
}

var (
	archX86_64  = newArch("x86_64", auditArchX86_64, sysnumX86_64)
	archAarch64 = newArch("aarch64", auditArchAarch64, sysnumAarch64)
)

// archFor returns the description of an audit architecture.
func archFor(audit uint32) (*arch, error) {
	switch audit {
	case auditArchX86_64:
		return archX86_64, nil
	case auditArchAarch64:
		return archAarch64, nil
	}
	return nil, fmt.Errorf("unsupported audit arch %#x", audit)
}

// argLo is the offset of the low 32 bits of syscall argument i in
// seccomp_data. The kernel stores the 64-bit args in host byte order, and
// both supported architectures are little-endian, so the low word comes
// first. Every rule compares only the low word, because every argument it
// inspects has its meaning there: socket, socketpair, open and openat take
// int arguments and ioctl an unsigned int request, which the kernel
// truncates to 32 bits; clone reads only the lower 32 bits of its flags;
// unshare rejects any high bit with EINVAL.
func argLo(i int) uint32 { return offArgs + 8*uint32(i) }
