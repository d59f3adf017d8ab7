package seccomp

import (
	"fmt"
	"math"
	"strings"

	"golang.org/x/net/bpf"
)

// Classic BPF opcodes the generator emits (linux/bpf_common.h).
const (
	opLdWAbs  = 0x20 // BPF_LD | BPF_W | BPF_ABS
	opAndK    = 0x54 // BPF_ALU | BPF_AND | BPF_K
	opRetK    = 0x06 // BPF_RET | BPF_K
	opJA      = 0x05 // BPF_JMP | BPF_JA
	opJeqK    = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	opJgtK    = 0x25 // BPF_JMP | BPF_JGT | BPF_K
	opJgeK    = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	opJsetK   = 0x45 // BPF_JMP | BPF_JSET | BPF_K
	unreached = "unreached"
)

// Disassemble renders a filter for auditArch as text, one instruction per
// line with absolute jump targets. Comments show what A holds, name the
// syscall numbers compared against and, at each return, the action and the
// range of syscall numbers that can reach it. The golden files in testdata
// use this format; diagnostics can print it too.
func Disassemble(prog []bpf.RawInstruction, auditArch uint32) (string, error) {
	ar, err := archFor(auditArch)
	if err != nil {
		return "", fmt.Errorf("disassemble: %w", err)
	}
	type state struct {
		a      string // what A holds; "" unknown, unreached if no path
		lo, hi uint64 // range of nr on every path reaching here
	}
	st := make([]state, len(prog))
	for i := range st {
		st[i] = state{a: unreached, lo: math.MaxUint32, hi: 0}
	}
	if len(prog) > 0 {
		st[0] = state{a: "", lo: 0, hi: math.MaxUint32}
	}
	flow := func(from, to int, s state) error {
		if to <= from || to >= len(prog) {
			return fmt.Errorf("disassemble: instruction %d jumps to %d, outside the program", from, to)
		}
		if s.lo > s.hi {
			return nil // branch cannot be taken
		}
		d := &st[to]
		if d.a == unreached {
			*d = s
			return nil
		}
		if d.a != s.a {
			d.a = ""
		}
		d.lo, d.hi = min(d.lo, s.lo), max(d.hi, s.hi)
		return nil
	}

	var b strings.Builder
	for i, ins := range prog {
		s := st[i]
		var text, note string
		switch ins.Op {
		case opLdWAbs:
			text = fmt.Sprintf("ld   [%d]", ins.K)
			loaded := fieldName(ins.K)
			note = "A = " + loaded
			if err := flow(i, i+1, state{a: loaded, lo: s.lo, hi: s.hi}); err != nil {
				return "", err
			}
		case opAndK:
			text = fmt.Sprintf("and  #%#x", ins.K)
			res := fmt.Sprintf("(%s & %#x)", orUnknown(s.a), ins.K)
			note = "A = " + res
			if err := flow(i, i+1, state{a: res, lo: s.lo, hi: s.hi}); err != nil {
				return "", err
			}
		case opRetK:
			text = fmt.Sprintf("ret  #%#x", ins.K)
			note = actionName(ins.K)
			if s.a != unreached && (s.lo != 0 || s.hi != math.MaxUint32) {
				note += "  " + nrRange(ar, s.lo, s.hi)
			}
		case opJA:
			t := i + 1 + int(ins.K)
			text = fmt.Sprintf("ja   %d", t)
			if err := flow(i, t, s); err != nil {
				return "", err
			}
		case opJeqK, opJgtK, opJgeK, opJsetK:
			name := map[uint16]string{opJeqK: "jeq", opJgtK: "jgt", opJgeK: "jge", opJsetK: "jset"}[ins.Op]
			sym := map[uint16]string{opJeqK: "==", opJgtK: ">", opJgeK: ">=", opJsetK: "&"}[ins.Op]
			jt, jf := i+1+int(ins.Jt), i+1+int(ins.Jf)
			text = fmt.Sprintf("%-4s #%#x jt %d jf %d", name, ins.K, jt, jf)
			note = fmt.Sprintf("%s %s %s", orUnknown(s.a), sym, constName(ar, s.a, ins.K))
			ts, fs := s, s
			if s.a == "nr" {
				k := uint64(ins.K)
				switch ins.Op {
				case opJeqK:
					ts.lo, ts.hi = max(ts.lo, k), min(ts.hi, k)
				case opJgtK:
					ts.lo, fs.hi = max(ts.lo, k+1), min(fs.hi, k)
				case opJgeK:
					ts.lo = max(ts.lo, k)
					if k == 0 {
						fs.lo, fs.hi = 1, 0
					} else {
						fs.hi = min(fs.hi, k-1)
					}
				}
			}
			if err := flow(i, jt, ts); err != nil {
				return "", err
			}
			if err := flow(i, jf, fs); err != nil {
				return "", err
			}
		default:
			text = fmt.Sprintf(".raw op=%#04x jt=%d jf=%d k=%#x", ins.Op, ins.Jt, ins.Jf, ins.K)
			note = "not emitted by this package"
			if i+1 < len(prog) {
				if err := flow(i, i+1, state{a: "", lo: s.lo, hi: s.hi}); err != nil {
					return "", err
				}
			}
		}
		if s.a == unreached {
			note = "unreachable; " + note
		}
		fmt.Fprintf(&b, "%4d  %-32s ; %s\n", i, text, note)
	}
	return b.String(), nil
}

// fieldName names the seccomp_data word at off.
func fieldName(off uint32) string {
	switch {
	case off == offNr:
		return "nr"
	case off == offArch:
		return "arch"
	case off == 8:
		return "ip.lo"
	case off == 12:
		return "ip.hi"
	case off >= offArgs && off < offArgs+6*8 && off%4 == 0:
		half := "lo"
		if (off-offArgs)%8 == 4 {
			half = "hi"
		}
		return fmt.Sprintf("args[%d].%s", (off-offArgs)/8, half)
	}
	return fmt.Sprintf("data[%d]", off)
}

func orUnknown(a string) string {
	if a == "" {
		return "A"
	}
	return a
}

// constName renders a comparison constant, with the syscall or audit
// architecture name when A holds nr or arch.
func constName(ar *arch, a string, k uint32) string {
	switch a {
	case "nr":
		if name := ar.byNr()[k]; name != "" {
			return fmt.Sprintf("%d (%s)", k, name)
		}
		return fmt.Sprint(k)
	case "arch":
		names := map[uint32]string{
			auditArchX86_64: "AUDIT_ARCH_X86_64", auditArchI386: "AUDIT_ARCH_I386",
			auditArchAarch64: "AUDIT_ARCH_AARCH64", auditArchARM: "AUDIT_ARCH_ARM",
		}
		if n, ok := names[k]; ok {
			return n
		}
	}
	return fmt.Sprintf("%#x", k)
}

// nrRange describes the syscall numbers in [lo, hi].
func nrRange(ar *arch, lo, hi uint64) string {
	name := func(n uint64) string {
		if n <= math.MaxUint32 {
			if s := ar.byNr()[uint32(n)]; s != "" {
				return s
			}
		}
		return "-"
	}
	switch {
	case lo == hi:
		return fmt.Sprintf("nr %d %s", lo, name(lo))
	case hi == math.MaxUint32:
		return fmt.Sprintf("nr %d.. %s..", lo, name(lo))
	}
	return fmt.Sprintf("nr %d..%d %s..%s", lo, hi, name(lo), name(hi))
}

// actionName names a filter return value.
func actionName(k uint32) string {
	switch k & 0xffff0000 {
	case retKillProcess:
		return "KILL_PROCESS"
	case retKillThread:
		return "KILL_THREAD"
	case retAllow:
		return "ALLOW"
	case retUserNotif:
		return "USER_NOTIF"
	case retErrno:
		switch k & retDataMask {
		case errnoEPERM:
			return "ERRNO(EPERM)"
		case errnoENOSYS:
			return "ERRNO(ENOSYS)"
		}
		return fmt.Sprintf("ERRNO(%d)", k&retDataMask)
	}
	return fmt.Sprintf("action %#x", k)
}
