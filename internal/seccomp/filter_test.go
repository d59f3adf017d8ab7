package seccomp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// TestFilterX86_64 runs the x86_64 filter in the BPF VM over hand-picked
// inputs, one row per behaviour the package promises.
func TestFilterX86_64(t *testing.T) {
	ar := archX86_64
	n := func(name string) uint32 { return nr(t, ar, name) }
	data := func(name string, args ...uint64) seccompData {
		d := seccompData{nr: n(name), arch: mAuditX86_64}
		copy(d.args[:], args)
		return d
	}
	raw := func(nr uint32) seccompData { return seccompData{nr: nr, arch: mAuditX86_64} }

	var (
		none      = Options{}
		unix      = Options{AllowUnixSockets: true}
		create    = Options{NotifyCreate: true}
		execNotif = Options{NotifyExec: true}
	)
	type tc struct {
		name string
		opts Options
		in   seccompData
		want uint32
	}
	cases := []tc{
		{"read", none, data("read", 0, 0, 4096), mAllow},
		{"write", none, data("write", 1), mAllow},
		{"mmap", none, data("mmap"), mAllow},
		{"futex", none, data("futex"), mAllow},
		{"execve", none, data("execve"), mAllow},
		{"wait4", none, data("wait4"), mAllow},
		{"rt_sigreturn", none, data("rt_sigreturn"), mAllow},
		{"epoll_pwait", none, data("epoll_pwait"), mAllow},
		{"timerfd_create", none, data("timerfd_create"), mAllow},
		{"exit_group", none, data("exit_group"), mAllow},
		{"nr 0 is read", none, raw(0), mAllow},

		{"unknown 1000", none, raw(1000), mENOSYS},
		{"unknown 4095", none, raw(4095), mENOSYS},
		{"unknown 0x3fffffff", none, raw(0x3fffffff), mENOSYS},
		{"unknown -1", none, raw(math.MaxUint32), mENOSYS},
		{"unlisted listmount", none, data("listmount"), mENOSYS},
		{"unlisted lsm_list_modules", none, data("lsm_list_modules"), mENOSYS},
		{"unlisted listns", none, data("listns"), mENOSYS},
		{"unimplemented tuxcall", none, data("tuxcall"), mENOSYS},

		{"clone3", none, data("clone3"), mENOSYS},
		{"clone fork", none, data("clone", mSIGCHLD), mAllow},
		{"clone thread", none, data("clone", mThreadFlags), mAllow},
		{"clone vfork", none, data("clone", mCloneVM|0x4000|mSIGCHLD), mAllow},
		{"clone ns flag in high word only", none, data("clone", uint64(0x10000000)<<32|mSIGCHLD), mAllow},
		{"unshare files", none, data("unshare", mCloneFiles), mAllow},
		{"unshare fs", none, data("unshare", mCloneFS), mAllow},

		{"ioctl TIOCSTI", none, data("ioctl", 0, mTIOCSTI), mEPERM},
		{"ioctl TIOCSTI high bits", none, data("ioctl", 0, 0xffffffff00000000|mTIOCSTI), mEPERM},
		{"ioctl TIOCSTI bit 32", none, data("ioctl", 0, 1<<32|mTIOCSTI), mEPERM},
		{"ioctl TIOCLINUX", none, data("ioctl", 0, mTIOCLINUX), mEPERM},
		{"ioctl TIOCLINUX high bits", none, data("ioctl", 3, 0xdead000000000000|mTIOCLINUX), mEPERM},
		{"ioctl TCGETS", none, data("ioctl", 0, mTCGETS), mAllow},
		{"ioctl TIOCSTI value in fd", none, data("ioctl", mTIOCSTI, mTCGETS), mAllow},
		{"ioctl TIOCSTI value in arg", none, data("ioctl", 0, mTCGETS, mTIOCSTI), mAllow},
		{"ioctl TIOCSTI in high word only", none, data("ioctl", 0, mTIOCSTI<<32), mAllow},

		{"socket unix", none, data("socket", mAFUnix, mSockStream), mEPERM},
		{"socket unix high bits", none, data("socket", 1<<40|mAFUnix, mSockStream), mEPERM},
		{"socket inet", none, data("socket", mAFInet, mSockStream), mAllow},
		{"socket inet6", none, data("socket", mAFInet6, mSockDgram), mAllow},
		{"socket netlink", none, data("socket", mAFNetlink, mSockDgram), mAllow},
		{"socket packet", none, data("socket", mAFPacket, 3), mEPERM},
		{"socket vsock", none, data("socket", mAFVsock, mSockStream), mEPERM},
		{"socket unix allowed", unix, data("socket", mAFUnix, mSockStream), mAllow},
		{"socket packet with unix allowed", unix, data("socket", mAFPacket, 3), mEPERM},
		{"socket vsock with unix allowed", unix, data("socket", mAFVsock, mSockStream), mEPERM},

		{"socketpair unix stream", none, data("socketpair", mAFUnix, mSockStream), mAllow},
		{"socketpair unix stream cloexec nonblock", none, data("socketpair", mAFUnix, mSockStream|mSockCloexec|mSockNonblock), mAllow},
		{"socketpair unix dgram", none, data("socketpair", mAFUnix, mSockDgram), mEPERM},
		{"socketpair unix dgram cloexec", none, data("socketpair", mAFUnix, mSockDgram|mSockCloexec), mEPERM},
		{"socketpair unix seqpacket", none, data("socketpair", mAFUnix, mSockSeqpacket), mEPERM},
		{"socketpair inet stream", none, data("socketpair", mAFInet, mSockStream), mEPERM},
		{"socketpair unix dgram with unix allowed", unix, data("socketpair", mAFUnix, mSockDgram), mAllow},

		{"arch i386", none, seccompData{nr: 3, arch: mAuditI386}, mKill},
		{"arch i386 nr of allowed x86_64 read", none, seccompData{nr: 0, arch: mAuditI386}, mKill},
		{"arch aarch64", none, seccompData{nr: 63, arch: mAuditAarch64}, mKill},
		{"arch arm", none, seccompData{nr: 3, arch: mAuditARM}, mKill},
		{"arch zero", none, seccompData{nr: 0, arch: 0}, mKill},
		{"arch x86_64 without 64-bit flag", none, seccompData{nr: 0, arch: 0x3e}, mKill},

		{"x32 read", none, raw(0x40000000 | n("read")), mENOSYS},
		{"x32 execve", none, raw(0x40000000 | 520), mENOSYS},
		{"x32 of clone", none, raw(0x40000000 | n("clone")), mENOSYS},
		{"x32 of refused mount", none, raw(0x40000000 | n("mount")), mENOSYS},

		{"openat O_CREAT plain", none, data("openat", 0, 0, mOCreat|mOWronly), mAllow},
		{"openat2 plain", none, data("openat2"), mAllow},
		{"mkdir plain", none, data("mkdir"), mAllow},
		{"creat plain", none, data("creat"), mAllow},
		{"openat O_CREAT notify", create, data("openat", 0, 0, mOCreat|mOWronly|mOCloexec), mNotify},
		{"openat O_CREAT high word notify", create, data("openat", 0, 0, 1<<33|mOCreat), mNotify},
		{"openat read-only", create, data("openat", 0, 0, mOCloexec), mAllow},
		{"openat O_CREAT bit in mode only", create, data("openat", 0, 0, mOWronly, mOCreat), mAllow},
		{"open O_CREAT notify", create, data("open", 0, mOCreat|mOWronly), mNotify},
		{"open read-only", create, data("open", 0, 0), mAllow},
		{"open O_CREAT bit in path only", create, data("open", mOCreat, 0), mAllow},
		{"creat notify", create, data("creat"), mNotify},
		{"openat2 notify", create, data("openat2"), mENOSYS},
		{"mkdir notify", create, data("mkdir"), mNotify},
		{"mkdirat notify", create, data("mkdirat"), mNotify},
		{"mknodat notify", create, data("mknodat"), mNotify},
		{"symlinkat notify", create, data("symlinkat"), mNotify},
		{"linkat notify", create, data("linkat"), mNotify},
		{"rename notify", create, data("rename"), mNotify},
		{"renameat2 notify", create, data("renameat2"), mNotify},
		{"unlink not notified", create, data("unlink"), mAllow},
		{"execve with create notify", create, data("execve"), mAllow},
		{"execve notify", execNotif, data("execve"), mNotify},
		{"execveat notify", execNotif, data("execveat"), mNotify},
		{"openat O_CREAT with exec notify", execNotif, data("openat", 0, 0, mOCreat), mAllow},
	}
	for _, flag := range mNamespaceFlags {
		cases = append(cases,
			tc{fmt.Sprintf("clone thread|%#x", flag), none, data("clone", mThreadFlags|uint64(flag)), mEPERM},
			tc{fmt.Sprintf("clone %#x alone", flag), none, data("clone", uint64(flag)), mEPERM},
			tc{fmt.Sprintf("unshare %#x", flag), none, data("unshare", uint64(flag)), mEPERM},
			tc{fmt.Sprintf("unshare files|%#x", flag), none, data("unshare", mCloneFiles|uint64(flag)), mEPERM},
		)
	}
	for _, name := range Refused() {
		if _, ok := ar.sysnum[name]; !ok {
			continue
		}
		for _, opts := range []Options{none, {true, true, true}} {
			cases = append(cases, tc{fmt.Sprintf("refused %s %+v", name, opts), opts, data(name, math.MaxUint64, math.MaxUint64), mEPERM})
		}
	}

	vms := map[Options]*bpf.VM{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vm, ok := vms[c.opts]
			if !ok {
				vm = newVM(t, program(t, ar, c.opts))
				vms[c.opts] = vm
			}
			if got := run(t, vm, c.in); got != c.want {
				t.Errorf("nr %d arch %#x args %#x: got %s, want %s", c.in.nr, c.in.arch, c.in.args, actionName(got), actionName(c.want))
			}
		})
	}
}

// TestFilterAarch64 checks the aarch64 tables are wired to the same rules.
func TestFilterAarch64(t *testing.T) {
	ar := archAarch64
	data := func(name string, args ...uint64) seccompData {
		d := seccompData{nr: nr(t, ar, name), arch: mAuditAarch64}
		copy(d.args[:], args)
		return d
	}
	cases := []struct {
		name string
		opts Options
		in   seccompData
		want uint32
	}{
		{"read", Options{}, data("read"), mAllow},
		{"openat O_CREAT notify", Options{NotifyCreate: true}, data("openat", 0, 0, mOCreat), mNotify},
		{"openat read-only", Options{NotifyCreate: true}, data("openat", 0, 0, 0), mAllow},
		{"clone newuser", Options{}, data("clone", 0x10000000|mSIGCHLD), mEPERM},
		{"clone fork", Options{}, data("clone", mSIGCHLD), mAllow},
		{"clone3", Options{}, data("clone3"), mENOSYS},
		{"ioctl TIOCSTI", Options{}, data("ioctl", 0, 0xffffffff00005412), mEPERM},
		{"socket unix", Options{}, data("socket", mAFUnix), mEPERM},
		{"mount", Options{}, data("mount"), mEPERM},
		{"unknown 1000", Options{}, seccompData{nr: 1000, arch: mAuditAarch64}, mENOSYS},
		{"arch arm compat", Options{}, seccompData{nr: 3, arch: mAuditARM}, mKill},
		{"arch x86_64", Options{}, seccompData{nr: 0, arch: mAuditX86_64}, mKill},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vm := newVM(t, program(t, ar, c.opts))
			if got := run(t, vm, c.in); got != c.want {
				t.Errorf("got %s, want %s", actionName(got), actionName(c.want))
			}
		})
	}
}

// TestFilterMatchesModel compares the BPF program with the plain-Go model on
// every syscall number of both architectures, every Options combination
// and a set of argument vectors aimed at the argument rules.
func TestFilterMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	argSets := [][6]uint64{
		{},
		{math.MaxUint64, math.MaxUint64, math.MaxUint64, math.MaxUint64, math.MaxUint64, math.MaxUint64},
		{mSIGCHLD}, {mThreadFlags}, {mAFUnix, mSockStream}, {mAFUnix, mSockDgram},
		{mAFPacket, 3}, {mAFVsock, 1}, {mAFInet, 1}, {0, mTIOCSTI}, {0, 1<<63 | mTIOCLINUX},
		{0, mOCreat, mOCreat}, {0, 0, mOCreat}, {0, mOCreat},
	}
	for _, f := range mNamespaceFlags {
		argSets = append(argSets, [6]uint64{uint64(f)}, [6]uint64{uint64(f) << 32})
	}
	for range 20 {
		var a [6]uint64
		for i := range a {
			a[i] = rng.Uint64()
		}
		argSets = append(argSets, a)
	}
	for _, ar := range supportedArches {
		maxNr := uint32(0)
		for _, n := range ar.sysnum {
			maxNr = max(maxNr, n)
		}
		for _, opts := range allOptions() {
			t.Run(fmt.Sprintf("%s/%+v", ar.name, opts), func(t *testing.T) {
				vm := newVM(t, program(t, ar, opts))
				failures := 0
				for n := uint32(0); n <= maxNr+64; n++ {
					for _, args := range argSets {
						d := seccompData{nr: n, arch: ar.audit, args: args}
						if got, want := run(t, vm, d), expected(ar, opts, d); got != want && failures < 20 {
							failures++
							t.Errorf("nr %d (%s) args %#x: got %s, want %s", n, ar.byNr()[n], args, actionName(got), actionName(want))
						}
					}
				}
			})
		}
	}
}

// TestProgramShape checks what the kernel and the hot path need: every
// program passes the kernel's checks, stays far below BPF_MAXINSNS and
// decides any syscall in a logarithmic number of steps.
func TestProgramShape(t *testing.T) {
	for _, ar := range supportedArches {
		for _, opts := range allOptions() {
			t.Run(fmt.Sprintf("%s/%+v", ar.name, opts), func(t *testing.T) {
				prog := program(t, ar, opts)
				if err := checkSeccompProgram(prog); err != nil {
					t.Fatalf("kernel checks: %v", err)
				}
				if got, limit := len(prog), 512; got > limit {
					t.Errorf("got %d instructions, want at most %d", got, limit)
				}
				// 2 arch instructions, 1 nr load, about log2(ranges)
				// comparisons and at most 6 for an argument rule.
				if got, limit := longestPath(prog), 24; got > limit {
					t.Errorf("longest path got %d instructions, want at most %d", got, limit)
				}
			})
		}
	}
}

func TestProgramForUnsupportedArch(t *testing.T) {
	for _, audit := range []uint32{mAuditI386, mAuditARM, 0, 0xc00000f3 /* riscv64 */} {
		t.Run(fmt.Sprintf("%#x", audit), func(t *testing.T) {
			prog, err := ProgramFor(audit, Options{})
			if err == nil || prog != nil {
				t.Fatalf("got %d instructions and error %v, want no program and an error", len(prog), err)
			}
			if !strings.Contains(err.Error(), "unsupported audit arch") {
				t.Errorf("got error %q, want it to say unsupported audit arch", err)
			}
		})
	}
}

func TestProgramIsDeterministic(t *testing.T) {
	for _, opts := range allOptions() {
		a := program(t, archX86_64, opts)
		b := program(t, archX86_64, opts)
		if !slices.Equal(a, b) {
			t.Fatalf("two builds with %+v differ", opts)
		}
	}
}
