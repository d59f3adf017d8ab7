package seccomp

import (
	"fmt"
	"math"
	"sort"

	"golang.org/x/net/bpf"
)

// Options select the optional parts of the filter.
type Options struct {
	// AllowUnixSockets allows socket(AF_UNIX, ...) and every socketpair.
	// When false, AF_UNIX sockets fail with EPERM and socketpair is
	// allowed only for connected AF_UNIX stream pairs.
	AllowUnixSockets bool
	// NotifyCreate sends syscalls that create a name in the file system
	// (open/openat with O_CREAT, creat, mkdir, mknod, symlink, link,
	// rename and their *at forms) to the user notification listener, and
	// makes openat2 fail with ENOSYS because its flags sit behind a
	// pointer the filter cannot read.
	NotifyCreate bool
	// NotifyExec sends execve and execveat to the user notification
	// listener.
	//
	// With either Notify option, Install needs
	// SECCOMP_FILTER_FLAG_NEW_LISTENER and the supervisor must serve the
	// listener: without a listener the kernel fails notified syscalls
	// with ENOSYS, and with an unserved one they block.
	NotifyExec bool
}

// Program returns the assembled filter for the running architecture.
func Program(opts Options) ([]bpf.RawInstruction, error) {
	a, err := nativeArch()
	if err != nil {
		return nil, fmt.Errorf("seccomp program: %w", err)
	}
	return build(a, opts)
}

// ProgramFor returns the filter for a given audit arch (for tests/golden).
// It supports AUDIT_ARCH_X86_64 and AUDIT_ARCH_AARCH64 and returns an
// "unsupported audit arch" error for any other value.
func ProgramFor(auditArch uint32, opts Options) ([]bpf.RawInstruction, error) {
	a, err := archFor(auditArch)
	if err != nil {
		return nil, fmt.Errorf("seccomp program: %w", err)
	}
	return build(a, opts)
}

// SyscallNumber returns the number of the named syscall on the running
// architecture.
func SyscallNumber(name string) (int, bool) {
	a, err := nativeArch()
	if err != nil {
		return 0, false
	}
	nr, ok := a.sysnum[name]
	return int(nr), ok
}

// SyscallName returns the name of syscall nr on the running architecture,
// or "" if the number is unknown.
func SyscallName(nr int) string {
	a, err := nativeArch()
	if err != nil || nr < 0 || nr > math.MaxUint32 {
		return ""
	}
	return a.byNr()[uint32(nr)]
}

// rule is the action for one syscall number: either a constant action or
// an argument-checking block that ends in a return on every path.
type rule struct {
	ret   uint32
	block func(a *assembler)
}

// interval is the rule for syscall numbers [start, next interval's start).
type interval struct {
	start uint32
	rule  rule
}

// build generates the filter:
//
//	ld arch; if arch != native: KILL_PROCESS
//	ld nr;   binary search over number ranges -> action or argument block
//
// Numbers not covered by a rule, including every number with the x32 bit
// set and every number above the table, fall in the ENOSYS ranges.
func build(ar *arch, opts Options) ([]bpf.RawInstruction, error) {
	rules, err := rulesFor(ar, opts)
	if err != nil {
		return nil, err
	}
	ivs := intervals(rules)

	var a assembler
	archOK := a.newLabel()
	a.ld(offArch)
	a.jump(bpf.JumpEqual, ar.audit, archOK, next)
	a.ret(actKill)
	a.bind(archOK)
	a.ld(offNr)
	emitTree(&a, ivs)
	prog, err := a.assemble()
	if err != nil {
		return nil, fmt.Errorf("assemble %s filter: %w", ar.name, err)
	}
	return prog, nil
}

// rulesFor maps each syscall number of ar to its rule.
func rulesFor(ar *arch, opts Options) (map[uint32]rule, error) {
	rules := make(map[uint32]rule)
	owner := make(map[uint32]string)
	set := func(name string, r rule) error {
		nr, ok := ar.sysnum[name]
		if !ok {
			return nil // not a syscall on this architecture
		}
		if nr&x32Bit != 0 {
			return fmt.Errorf("syscall %s number %#x has the x32 bit set", name, nr)
		}
		if prev, dup := owner[nr]; dup {
			return fmt.Errorf("syscall %s (%d) has two rules (also %s)", name, nr, prev)
		}
		owner[nr] = name
		rules[nr] = r
		return nil
	}
	setAll := func(names []string, r rule) error {
		for _, name := range names {
			if err := set(name, r); err != nil {
				return err
			}
		}
		return nil
	}
	ifElse := func(cond bool, yes, no uint32) rule {
		if cond {
			return rule{ret: yes}
		}
		return rule{ret: no}
	}

	argRuleSet := map[string]rule{
		"clone":      {block: denyFlags(0, nsFlags)},
		"unshare":    {block: denyFlags(0, nsFlags)},
		"clone3":     {ret: actENOSYS},
		"ioctl":      {block: ioctlRule},
		"socket":     {block: socketRule(opts.AllowUnixSockets)},
		"socketpair": {block: socketpairRule},
		"creat":      ifElse(opts.NotifyCreate, actNotify, actAllow),
		"openat2":    ifElse(opts.NotifyCreate, actENOSYS, actAllow),
		"open":       {ret: actAllow},
		"openat":     {ret: actAllow},
	}
	if opts.AllowUnixSockets {
		argRuleSet["socketpair"] = rule{ret: actAllow}
	}
	if opts.NotifyCreate {
		argRuleSet["open"] = rule{block: notifyOnCreat(1)}
		argRuleSet["openat"] = rule{block: notifyOnCreat(2)}
	}

	steps := []error{
		setAll(allowed, rule{ret: actAllow}),
		setAll(refused, rule{ret: actEPERM}),
		setAll(createFamily, ifElse(opts.NotifyCreate, actNotify, actAllow)),
		setAll(execFamily, ifElse(opts.NotifyExec, actNotify, actAllow)),
	}
	for _, name := range argRules {
		r, ok := argRuleSet[name]
		if !ok {
			return nil, fmt.Errorf("no argument rule for %s", name)
		}
		steps = append(steps, set(name, r))
	}
	for _, err := range steps {
		if err != nil {
			return nil, fmt.Errorf("%s rules: %w", ar.name, err)
		}
	}
	return rules, nil
}

// intervals turns per-number rules into ranges covering all 2^32 numbers,
// merging neighbours with the same constant action. Numbers without a rule
// get ENOSYS.
func intervals(rules map[uint32]rule) []interval {
	nrs := make([]uint32, 0, len(rules))
	for nr := range rules {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })

	enosys := rule{ret: actENOSYS}
	var out []interval
	add := func(start uint32, r rule) {
		if n := len(out); n > 0 && r.block == nil && out[n-1].rule.block == nil && out[n-1].rule.ret == r.ret {
			return // extends the previous range
		}
		out = append(out, interval{start, r})
	}
	var want uint32 // lowest number not yet covered
	for _, nr := range nrs {
		if nr > want {
			add(want, enosys)
		}
		add(nr, rules[nr])
		want = nr + 1
	}
	// rulesFor admits no number with the x32 bit set, so want cannot
	// have wrapped and the last range [want, 2^32) is never empty.
	add(want, enosys)
	return out
}

// emitTree emits a binary search over ivs, which must be sorted and cover
// the numbers from ivs[0].start upwards. A holds the syscall number.
func emitTree(a *assembler, ivs []interval) {
	if len(ivs) == 1 {
		if r := ivs[0].rule; r.block != nil {
			r.block(a)
		} else {
			a.ret(r.ret)
		}
		return
	}
	mid := len(ivs) / 2
	upper := a.newLabel()
	a.jump(bpf.JumpGreaterOrEqual, ivs[mid].start, upper, next)
	emitTree(a, ivs[:mid])
	a.bind(upper)
	emitTree(a, ivs[mid:])
}

// denyFlags returns EPERM when the low word of argument arg has any of
// flags set, else ALLOW. clone and unshare use it with every CLONE_NEW*
// flag. For clone, CLONE_NEWTIME (0x80) lies in the exit-signal byte; a
// signal number of 128 or more is invalid (EINVAL) anyway, so refusing it
// costs nothing.
func denyFlags(arg int, flags uint32) func(a *assembler) {
	return func(a *assembler) {
		deny := a.newLabel()
		a.ld(argLo(arg))
		a.jump(bpf.JumpBitsSet, flags, deny, next)
		a.ret(actAllow)
		a.bind(deny)
		a.ret(actEPERM)
	}
}

// ioctlRule refuses TIOCSTI and TIOCLINUX. The request is an unsigned int,
// so the kernel ignores the high word and the filter compares only the low
// one: 0xffffffff00005412 is TIOCSTI too.
func ioctlRule(a *assembler) {
	deny := a.newLabel()
	a.ld(argLo(1))
	a.jump(bpf.JumpEqual, ioctlTIOCSTI, deny, next)
	a.jump(bpf.JumpEqual, ioctlTIOCLINUX, deny, next)
	a.ret(actAllow)
	a.bind(deny)
	a.ret(actEPERM)
}

// socketRule refuses AF_PACKET, AF_VSOCK and, unless allowUnix, AF_UNIX.
func socketRule(allowUnix bool) func(a *assembler) {
	return func(a *assembler) {
		deny := a.newLabel()
		a.ld(argLo(0))
		if !allowUnix {
			a.jump(bpf.JumpEqual, afUnix, deny, next)
		}
		a.jump(bpf.JumpEqual, afPacket, deny, next)
		a.jump(bpf.JumpEqual, afVsock, deny, next)
		a.ret(actAllow)
		a.bind(deny)
		a.ret(actEPERM)
	}
}

// socketpairRule allows only AF_UNIX stream pairs. A datagram or seqpacket
// pair can sendto() any pathname socket, which is what refusing AF_UNIX
// sockets is meant to prevent; a stream pair is connected to itself only.
func socketpairRule(a *assembler) {
	deny := a.newLabel()
	a.ld(argLo(0))
	a.jump(bpf.JumpEqual, afUnix, next, deny)
	a.ld(argLo(1))
	a.and(sockTypeMask)
	a.jump(bpf.JumpEqual, sockStream, next, deny)
	a.ret(actAllow)
	a.bind(deny)
	a.ret(actEPERM)
}

// notifyOnCreat sends the call to the listener when the flags in argument
// arg contain O_CREAT, else allows it.
func notifyOnCreat(arg int) func(a *assembler) {
	return func(a *assembler) {
		notify := a.newLabel()
		a.ld(argLo(arg))
		a.jump(bpf.JumpBitsSet, oCreat, notify, next)
		a.ret(actAllow)
		a.bind(notify)
		a.ret(actNotify)
	}
}
