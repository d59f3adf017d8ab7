package seccomp

import (
	"slices"
	"sync"
	"testing"

	"golang.org/x/net/bpf"
)

// fuzzVMs caches one VM per architecture and Options value.
var fuzzVMs sync.Map // key fuzzKey -> *bpf.VM

type fuzzKey struct {
	audit uint32
	opts  Options
}

func fuzzVM(t *testing.T, ar *arch, opts Options) *bpf.VM {
	key := fuzzKey{ar.audit, opts}
	if vm, ok := fuzzVMs.Load(key); ok {
		return vm.(*bpf.VM)
	}
	vm := newVM(t, program(t, ar, opts))
	fuzzVMs.Store(key, vm)
	return vm
}

// FuzzFilter runs random seccomp_data through the filter and checks it
// against the model and against invariants that hold whatever the model
// says: a foreign arch is killed, an x32 or unknown number never runs, a
// refused syscall never runs, clone and unshare never pass a namespace
// flag, TIOCSTI never passes.
func FuzzFilter(f *testing.F) {
	for _, name := range []string{"read", "clone", "unshare", "ioctl", "socket", "socketpair", "openat", "mount", "clone3", "execve"} {
		n := archX86_64.sysnum[name]
		f.Add(uint32(mAuditX86_64), n, uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint8(0))
		f.Add(uint32(mAuditX86_64), n, uint64(0x10000000), uint64(0x5412), uint64(0x40), uint64(0), uint64(0), uint64(0), uint8(7))
	}
	f.Add(uint32(mAuditI386), uint32(3), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint8(0))
	f.Add(uint32(mAuditAarch64), uint32(220), uint64(0x20000), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint8(8))
	f.Add(uint32(mAuditX86_64), uint32(0x40000000|59), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint8(0))

	f.Fuzz(func(t *testing.T, archVal, nrVal uint32, a0, a1, a2, a3, a4, a5 uint64, sel uint8) {
		ar := archX86_64
		if sel&8 != 0 {
			ar = archAarch64
		}
		opts := Options{AllowUnixSockets: sel&1 != 0, NotifyCreate: sel&2 != 0, NotifyExec: sel&4 != 0}
		vm := fuzzVM(t, ar, opts)
		args := [6]uint64{a0, a1, a2, a3, a4, a5}
		// Try the raw inputs, then steer them toward the interesting
		// parts of the input space: the native arch and known numbers.
		inputs := []seccompData{
			{nr: nrVal, arch: archVal, args: args},
			{nr: nrVal, arch: ar.audit, args: args},
			{nr: nrVal % 512, arch: ar.audit, args: args},
			{nr: nrVal%512 | x32Bit, arch: ar.audit, args: args},
		}
		for _, d := range inputs {
			got := run(t, vm, d)
			if want := expected(ar, opts, d); got != want {
				t.Fatalf("%s %+v nr %d arch %#x args %#x: got %s, want %s", ar.name, opts, d.nr, d.arch, d.args, actionName(got), actionName(want))
			}
			name := ar.byNr()[d.nr]
			lo := func(i int) uint32 { return uint32(d.args[i]) }
			switch {
			case d.arch != ar.audit && got != mKill:
				t.Fatalf("foreign arch %#x: got %s, want KILL_PROCESS", d.arch, actionName(got))
			case d.arch != ar.audit:
			case d.nr&x32Bit != 0 && got != mENOSYS:
				t.Fatalf("x32 nr %#x: got %s, want ERRNO(ENOSYS)", d.nr, actionName(got))
			case name == "" && got != mENOSYS:
				t.Fatalf("unknown nr %d: got %s, want ERRNO(ENOSYS)", d.nr, actionName(got))
			case slices.Contains(refused, name) && got != mEPERM:
				t.Fatalf("refused %s: got %s, want ERRNO(EPERM)", name, actionName(got))
			case (name == "clone" || name == "unshare") && lo(0)&0x7e020080 != 0 && got == mAllow:
				t.Fatalf("%s with flags %#x: got ALLOW", name, d.args[0])
			case name == "ioctl" && (lo(1) == 0x5412 || lo(1) == 0x541c) && got == mAllow:
				t.Fatalf("ioctl %#x: got ALLOW", d.args[1])
			case name == "clone3" && got != mENOSYS:
				t.Fatalf("clone3: got %s, want ERRNO(ENOSYS)", actionName(got))
			}
		}
	})
}
