package seccomp

import (
	"errors"
	"fmt"

	"golang.org/x/net/bpf"
)

// assembler builds a classic BPF program with symbolic forward jumps.
//
// A conditional jump in classic BPF reaches at most 255 instructions ahead.
// assemble resolves labels and, for every branch whose target is farther,
// inserts a trampoline (an unconditional "ja", which has a 32-bit offset)
// right after the conditional jump and points the branch at it. Inserting
// trampolines only moves targets farther away, so assemble repeats the
// layout until no new trampoline is needed; this terminates because a branch
// once marked far stays far.
type assembler struct {
	nodes  []node
	labels []int // label id -> index of the node it is bound to, or -1
	err    error // first construction error, reported by assemble
}

// next is the jump target meaning "the following instruction".
const next = -1

type nodeKind int

const (
	kindPlain nodeKind = iota // no jump
	kindCond                  // conditional jump with two targets
	kindJump                  // unconditional jump
)

type node struct {
	kind   nodeKind
	ins    bpf.Instruction // kindPlain: the instruction
	cond   bpf.JumpTest    // kindCond: the test against K
	k      uint32          // kindCond: the constant
	jt, jf int             // kindCond: label ids or next; kindJump: jt
}

// newLabel returns an unbound label.
func (a *assembler) newLabel() int {
	a.labels = append(a.labels, -1)
	return len(a.labels) - 1
}

// bind attaches label l to the next instruction emitted.
func (a *assembler) bind(l int) {
	if a.labels[l] != -1 {
		a.fail(fmt.Errorf("label %d bound twice", l))
		return
	}
	a.labels[l] = len(a.nodes)
}

func (a *assembler) fail(err error) {
	if a.err == nil {
		a.err = err
	}
}

// ld loads the 32-bit word at off in seccomp_data into A.
func (a *assembler) ld(off uint32) {
	a.nodes = append(a.nodes, node{kind: kindPlain, ins: bpf.LoadAbsolute{Off: off, Size: 4}})
}

// and computes A &= k.
func (a *assembler) and(k uint32) {
	a.nodes = append(a.nodes, node{kind: kindPlain, ins: bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: k}})
}

// ret returns action k.
func (a *assembler) ret(k uint32) {
	a.nodes = append(a.nodes, node{kind: kindPlain, ins: bpf.RetConstant{Val: k}})
}

// jump emits "if A <cond> k goto jt else goto jf". Only the tests that
// classic BPF encodes directly are accepted.
func (a *assembler) jump(cond bpf.JumpTest, k uint32, jt, jf int) {
	switch cond {
	case bpf.JumpEqual, bpf.JumpGreaterThan, bpf.JumpGreaterOrEqual, bpf.JumpBitsSet:
	default:
		a.fail(fmt.Errorf("jump test %v has no direct classic BPF encoding", cond))
		return
	}
	a.nodes = append(a.nodes, node{kind: kindCond, cond: cond, k: k, jt: jt, jf: jf})
}

// ja emits an unconditional jump to label l.
func (a *assembler) ja(l int) {
	a.nodes = append(a.nodes, node{kind: kindJump, jt: l})
}

// target returns the node index a branch of node i goes to.
func (a *assembler) target(i, l int) (int, error) {
	if l == next {
		if i+1 >= len(a.nodes) {
			return 0, fmt.Errorf("instruction %d falls off the end of the program", i)
		}
		return i + 1, nil
	}
	if l < 0 || l >= len(a.labels) {
		return 0, fmt.Errorf("instruction %d jumps to unknown label %d", i, l)
	}
	t := a.labels[l]
	if t == -1 {
		return 0, fmt.Errorf("instruction %d jumps to unbound label %d", i, l)
	}
	if t >= len(a.nodes) {
		return 0, fmt.Errorf("label %d is bound past the last instruction", l)
	}
	if t <= i {
		return 0, fmt.Errorf("instruction %d jumps backwards to %d", i, t)
	}
	return t, nil
}

// assemble resolves labels, inserts trampolines and encodes the program.
func (a *assembler) assemble() ([]bpf.RawInstruction, error) {
	if a.err != nil {
		return nil, a.err
	}
	if len(a.nodes) == 0 {
		return nil, errors.New("empty program")
	}
	if last := a.nodes[len(a.nodes)-1]; last.kind != kindPlain {
		return nil, errors.New("program does not end with a return")
	} else if _, ok := last.ins.(bpf.RetConstant); !ok {
		return nil, errors.New("program does not end with a return")
	}

	// Resolve every target to a node index once.
	jt := make([]int, len(a.nodes))
	jf := make([]int, len(a.nodes))
	for i, n := range a.nodes {
		var err error
		switch n.kind {
		case kindCond:
			if jt[i], err = a.target(i, n.jt); err != nil {
				return nil, err
			}
			if jf[i], err = a.target(i, n.jf); err != nil {
				return nil, err
			}
		case kindJump:
			if jt[i], err = a.target(i, n.jt); err != nil {
				return nil, err
			}
		}
	}

	// Lay out until every conditional branch is either near or marked far.
	farT := make([]bool, len(a.nodes))
	farF := make([]bool, len(a.nodes))
	pos := make([]int, len(a.nodes)+1)
	for {
		for i := range a.nodes {
			size := 1
			if farT[i] {
				size++
			}
			if farF[i] {
				size++
			}
			pos[i+1] = pos[i] + size
		}
		changed := false
		for i, n := range a.nodes {
			if n.kind != kindCond {
				continue
			}
			if !farT[i] && pos[jt[i]]-(pos[i]+1) > 255 {
				farT[i], changed = true, true
			}
			if !farF[i] && pos[jf[i]]-(pos[i]+1) > 255 {
				farF[i], changed = true, true
			}
		}
		if !changed {
			break
		}
	}
	if total := pos[len(a.nodes)]; total > maxInstructions {
		return nil, fmt.Errorf("program has %d instructions, over the kernel limit of %d", total, maxInstructions)
	}

	out := make([]bpf.Instruction, 0, pos[len(a.nodes)])
	for i, n := range a.nodes {
		switch n.kind {
		case kindPlain:
			out = append(out, n.ins)
		case kindJump:
			out = append(out, bpf.Jump{Skip: uint32(pos[jt[i]] - (pos[i] + 1))})
		case kindCond:
			// Trampolines follow the jump: first the one for jt, then jf.
			tramp := pos[i] + 1
			var skipT, skipF int
			var tramps []bpf.Instruction
			if farT[i] {
				skipT = tramp - (pos[i] + 1)
				tramps = append(tramps, bpf.Jump{Skip: uint32(pos[jt[i]] - (tramp + 1))})
				tramp++
			} else {
				skipT = pos[jt[i]] - (pos[i] + 1)
			}
			if farF[i] {
				skipF = tramp - (pos[i] + 1)
				tramps = append(tramps, bpf.Jump{Skip: uint32(pos[jf[i]] - (tramp + 1))})
			} else {
				skipF = pos[jf[i]] - (pos[i] + 1)
			}
			out = append(out, bpf.JumpIf{Cond: n.cond, Val: n.k, SkipTrue: uint8(skipT), SkipFalse: uint8(skipF)})
			out = append(out, tramps...)
		}
	}
	raw, err := bpf.Assemble(out)
	if err != nil {
		return nil, fmt.Errorf("encode program: %w", err)
	}
	return raw, nil
}
