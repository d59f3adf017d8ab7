package seccomp

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// TestAssemblerLongJumps builds programs whose branches reach farther than
// the 255 instructions a conditional jump can encode and checks the
// trampolines send every input to the right return.
func TestAssemblerLongJumps(t *testing.T) {
	// The true branch of instruction 1 spans gap+2 instructions plus any
	// trampoline of instruction 2; the false branch of instruction 2 spans
	// 2*gap+2.
	for _, c := range []struct{ gap, trampolines int }{
		{100, 0}, {126, 0}, {127, 1}, {252, 1}, {253, 2}, {1000, 2},
	} {
		gap := c.gap
		t.Run(fmt.Sprintf("gap %d", gap), func(t *testing.T) {
			var a assembler
			farT, farF, near := a.newLabel(), a.newLabel(), a.newLabel()
			a.ld(offNr)
			a.jump(bpf.JumpEqual, 1, farT, next) // far true branch
			a.jump(bpf.JumpEqual, 2, near, farF) // far false branch
			a.bind(near)
			a.ret(0x1002)
			for i := range gap {
				a.ret(uint32(0x2000 + i)) // filler nothing reaches
			}
			a.bind(farT)
			a.ret(0x1001)
			for i := range gap {
				a.ret(uint32(0x3000 + i))
			}
			a.bind(farF)
			a.ret(0x1003)
			prog, err := a.assemble()
			if err != nil {
				t.Fatalf("assemble: %v", err)
			}
			vm := newVM(t, prog)
			for in, want := range map[uint32]uint32{1: 0x1001, 2: 0x1002, 3: 0x1003} {
				if got := run(t, vm, seccompData{nr: in}); got != want {
					t.Errorf("nr %d: got %#x, want %#x", in, got, want)
				}
			}
			trampolines := 0
			for _, ins := range prog {
				if ins.Op == opJA {
					trampolines++
				}
			}
			if trampolines != c.trampolines {
				t.Errorf("got %d trampolines, want %d", trampolines, c.trampolines)
			}
		})
	}
}

// TestAssemblerRandom assembles random label programs with long gaps and
// compares the VM against a direct interpretation of the symbolic program.
func TestAssemblerRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for iter := range 200 {
		var a assembler
		type pending struct{ label, at int }
		var labels []pending
		size := 50 + rng.IntN(900)
		labelAt := make(map[int][]int) // node index -> labels bound there
		for i := 1; i < size; i++ {
			if rng.IntN(3) == 0 {
				l := a.newLabel()
				labels = append(labels, pending{l, i})
				labelAt[i] = append(labelAt[i], l)
			}
		}
		pick := func(from int) int {
			var cands []int
			for _, p := range labels {
				if p.at > from {
					cands = append(cands, p.label)
				}
			}
			if len(cands) == 0 || rng.IntN(4) == 0 {
				return next
			}
			return cands[rng.IntN(len(cands))]
		}
		a.ld(offNr)
		for i := 1; i < size; i++ {
			for _, l := range labelAt[i] {
				a.bind(l)
			}
			switch r := rng.IntN(10); {
			case i == size-1 || r < 3:
				a.ret(uint32(i))
			case r < 8:
				a.jump([]bpf.JumpTest{bpf.JumpEqual, bpf.JumpGreaterThan, bpf.JumpGreaterOrEqual, bpf.JumpBitsSet}[rng.IntN(4)],
					uint32(rng.IntN(64)), pick(i), pick(i))
			case r < 9:
				a.ja(pick(i))
			default:
				a.and(uint32(rng.IntN(64)))
			}
		}
		prog, err := a.assemble()
		if err != nil {
			// A jump with "next" at the end is impossible: the last node
			// is always a return.
			t.Fatalf("iteration %d: assemble: %v", iter, err)
		}
		vm := newVM(t, prog)
		for in := range uint32(64) {
			want, err := a.interpret(in)
			if err != nil {
				t.Fatalf("iteration %d: interpret: %v", iter, err)
			}
			if got := run(t, vm, seccompData{nr: in}); got != want {
				t.Fatalf("iteration %d, nr %d: got %#x, want %#x", iter, in, got, want)
			}
		}
	}
}

// interpret runs the symbolic program directly on A = nr.
func (a *assembler) interpret(nr uint32) (uint32, error) {
	acc := uint32(0)
	for i := 0; i < len(a.nodes); {
		n := a.nodes[i]
		switch n.kind {
		case kindPlain:
			switch ins := n.ins.(type) {
			case bpf.LoadAbsolute:
				acc = nr
			case bpf.ALUOpConstant:
				acc &= ins.Val
			case bpf.RetConstant:
				return ins.Val, nil
			}
			i++
		case kindJump:
			t, err := a.target(i, n.jt)
			if err != nil {
				return 0, err
			}
			i = t
		case kindCond:
			var taken bool
			switch n.cond {
			case bpf.JumpEqual:
				taken = acc == n.k
			case bpf.JumpGreaterThan:
				taken = acc > n.k
			case bpf.JumpGreaterOrEqual:
				taken = acc >= n.k
			case bpf.JumpBitsSet:
				taken = acc&n.k != 0
			}
			l := n.jf
			if taken {
				l = n.jt
			}
			t, err := a.target(i, l)
			if err != nil {
				return 0, err
			}
			i = t
		}
	}
	return 0, fmt.Errorf("fell off the end")
}

func TestAssemblerErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(a *assembler)
		want  string
	}{
		{"empty", func(a *assembler) {}, "empty program"},
		{"no return at end", func(a *assembler) { a.ld(0) }, "does not end with a return"},
		{"unbound label", func(a *assembler) {
			l := a.newLabel()
			a.ld(0)
			a.jump(bpf.JumpEqual, 1, l, next)
			a.ret(0)
		}, "unbound label"},
		{"backward jump", func(a *assembler) {
			l := a.newLabel()
			a.bind(l)
			a.ld(0)
			a.ja(l)
			a.ret(0)
		}, "backwards"},
		{"label bound twice", func(a *assembler) {
			l := a.newLabel()
			a.bind(l)
			a.bind(l)
			a.ret(0)
		}, "bound twice"},
		{"label past the end", func(a *assembler) {
			l := a.newLabel()
			a.ld(0)
			a.jump(bpf.JumpEqual, 1, l, next)
			a.ret(0)
			a.bind(l)
		}, "past the last instruction"},
		{"unencodable test", func(a *assembler) {
			a.jump(bpf.JumpNotEqual, 1, next, next)
			a.ret(0)
		}, "no direct classic BPF encoding"},
		{"too long", func(a *assembler) {
			for range maxInstructions + 1 {
				a.ret(0)
			}
		}, "over the kernel limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var a assembler
			c.build(&a)
			prog, err := a.assemble()
			if err == nil {
				t.Fatalf("got %d instructions and no error, want error containing %q", len(prog), c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("got error %q, want it to contain %q", err, c.want)
			}
		})
	}
}
