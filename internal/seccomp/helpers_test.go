package seccomp

import (
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/net/bpf"
)

// seccompData is struct seccomp_data as the kernel fills it in for a filter.
type seccompData struct {
	nr   uint32
	arch uint32
	ip   uint64
	args [6]uint64
}

// packet returns the input for the x/net/bpf VM that makes the VM see what
// the kernel's filter sees.
//
// The kernel does not run a seccomp filter over bytes the way a socket
// filter runs over a packet. seccomp_check_filter rewrites every
// "ld [k]" (BPF_LD|BPF_W|BPF_ABS) into BPF_LDX|BPF_W|BPF_ABS, which
// bpf_convert_filter turns into A = *(u32 *)(ctx + k): a native, host-order
// 32-bit load from struct seccomp_data. On a little-endian machine the word
// at offset 16 is therefore the low half of args[0], as a number.
//
// x/net/bpf's VM instead reads each word big-endian, as network byte order.
// So the packet is built in two steps: first lay the struct out exactly as
// the kernel does on a little-endian host (so every field and every half of
// a 64-bit argument lands at the kernel's offset), then rewrite each 32-bit
// word in big-endian order. The VM's "ld [k]" then yields the same value
// as the kernel's native load of [k]. Both supported architectures are
// little-endian.
func (d seccompData) packet() []byte {
	host := make([]byte, 64)
	binary.LittleEndian.PutUint32(host[0:], d.nr)
	binary.LittleEndian.PutUint32(host[4:], d.arch)
	binary.LittleEndian.PutUint64(host[8:], d.ip)
	for i, a := range d.args {
		binary.LittleEndian.PutUint64(host[16+8*i:], a)
	}
	vm := make([]byte, len(host))
	for off := 0; off < len(host); off += 4 {
		binary.BigEndian.PutUint32(vm[off:], binary.LittleEndian.Uint32(host[off:]))
	}
	return vm
}

// newVM loads prog into the x/net/bpf interpreter after checking that the
// kernel would accept it.
func newVM(t testing.TB, prog []bpf.RawInstruction) *bpf.VM {
	t.Helper()
	if err := checkSeccompProgram(prog); err != nil {
		t.Fatalf("kernel would reject program: %v", err)
	}
	insns, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatal("program contains instructions x/net/bpf cannot decode")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatalf("load program into VM: %v", err)
	}
	return vm
}

// run executes the filter on d and returns the action.
func run(t testing.TB, vm *bpf.VM, d seccompData) uint32 {
	t.Helper()
	out, err := vm.Run(d.packet())
	if err != nil {
		t.Fatalf("run filter on %+v: %v", d, err)
	}
	return uint32(out)
}

// program builds the filter or fails the test.
func program(t testing.TB, ar *arch, opts Options) []bpf.RawInstruction {
	t.Helper()
	prog, err := ProgramFor(ar.audit, opts)
	if err != nil {
		t.Fatalf("ProgramFor(%s, %+v): %v", ar.name, opts, err)
	}
	return prog
}

// nr returns the number of a syscall that must exist on ar.
func nr(t testing.TB, ar *arch, name string) uint32 {
	t.Helper()
	n, ok := ar.sysnum[name]
	if !ok {
		t.Fatalf("no syscall %s on %s", name, ar.name)
	}
	return n
}

// checkSeccompProgram applies the checks of the kernel's
// seccomp_check_filter and bpf_check_classic that a generated program
// could violate: only the instruction set seccomp permits, loads of
// aligned words inside struct seccomp_data, jumps inside the program, a
// return at the end and at most BPF_MAXINSNS instructions.
func checkSeccompProgram(prog []bpf.RawInstruction) error {
	if len(prog) == 0 || len(prog) > 4096 {
		return fmt.Errorf("program length %d outside 1..4096", len(prog))
	}
	for i, ins := range prog {
		switch ins.Op {
		case 0x20: // ld [k]
			if ins.K >= 64 || ins.K%4 != 0 {
				return fmt.Errorf("instruction %d loads offset %d", i, ins.K)
			}
		case 0x04, 0x14, 0x24, 0x34, 0x44, 0x54, 0x64, 0x74, 0x84, 0x94, 0xa4: // alu k
			if (ins.Op == 0x34 || ins.Op == 0x94) && ins.K == 0 {
				return fmt.Errorf("instruction %d divides by zero", i)
			}
		case 0x06: // ret k
		case 0x05: // ja
			if uint64(i)+1+uint64(ins.K) >= uint64(len(prog)) {
				return fmt.Errorf("instruction %d jumps out of the program", i)
			}
		case 0x15, 0x25, 0x35, 0x45: // jeq/jgt/jge/jset k
			if i+1+int(ins.Jt) >= len(prog) || i+1+int(ins.Jf) >= len(prog) {
				return fmt.Errorf("instruction %d jumps out of the program", i)
			}
		default:
			return fmt.Errorf("instruction %d has opcode %#x, not used by or not allowed in seccomp filters", i, ins.Op)
		}
	}
	if last := prog[len(prog)-1]; last.Op != 0x06 {
		return fmt.Errorf("last instruction %#x is not a return", last.Op)
	}
	return nil
}

// longestPath returns the most instructions any input can execute.
func longestPath(prog []bpf.RawInstruction) int {
	depth := make([]int, len(prog)+1) // instructions executed from i to a return
	for i := len(prog) - 1; i >= 0; i-- {
		ins := prog[i]
		switch ins.Op {
		case 0x06:
			depth[i] = 1
		case 0x05:
			depth[i] = 1 + depth[i+1+int(ins.K)]
		case 0x15, 0x25, 0x35, 0x45:
			depth[i] = 1 + max(depth[i+1+int(ins.Jt)], depth[i+1+int(ins.Jf)])
		default:
			depth[i] = 1 + depth[i+1]
		}
	}
	return depth[0]
}
