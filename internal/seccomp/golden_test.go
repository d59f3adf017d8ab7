package seccomp

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden compares the assembled programs with the reviewed disassembly
// in testdata. A change to the rules or the generator shows up as a diff a
// reviewer reads instruction by instruction; run
// `go test ./internal/seccomp -run TestGolden -update` to accept it.
func TestGolden(t *testing.T) {
	cases := []struct {
		file string
		ar   *arch
		opts Options
	}{
		{"x86_64-default.golden", archX86_64, Options{}},
		{"x86_64-unix-notify.golden", archX86_64, Options{AllowUnixSockets: true, NotifyCreate: true, NotifyExec: true}},
		{"aarch64-default.golden", archAarch64, Options{}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			prog := program(t, c.ar, c.opts)
			text, err := Disassemble(prog, c.ar.audit)
			if err != nil {
				t.Fatalf("disassemble: %v", err)
			}
			got := fmt.Sprintf("# seccomp filter for %s, Options%+v, %d instructions, longest path %d\n%s",
				c.ar.name, c.opts, len(prog), longestPath(prog), text)
			path := filepath.Join("testdata", c.file)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatalf("update golden file: %v", err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("program differs from %s (run with -update after review):\n%s", path, firstDiff(string(want), got))
			}
		})
	}
}

// firstDiff describes the first differing line of two texts.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return "texts are equal"
}

// TestDisassemble checks the disassembler on a small hand-written program,
// so that the golden files rest on a tested renderer.
func TestDisassemble(t *testing.T) {
	var a assembler
	ok, deny := a.newLabel(), a.newLabel()
	a.ld(offArch)
	a.jump(bpf.JumpEqual, auditArchX86_64, ok, next)
	a.ret(actKill)
	a.bind(ok)
	a.ld(offNr)
	a.jump(bpf.JumpGreaterOrEqual, 16, deny, next)
	a.ret(actAllow)
	a.bind(deny)
	a.ld(argLo(1))
	a.ret(actEPERM)
	prog, err := a.assemble()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Disassemble(prog, auditArchX86_64)
	if err != nil {
		t.Fatal(err)
	}
	want := `   0  ld   [4]                         ; A = arch
   1  jeq  #0xc000003e jt 3 jf 2       ; arch == AUDIT_ARCH_X86_64
   2  ret  #0x80000000                 ; KILL_PROCESS
   3  ld   [0]                         ; A = nr
   4  jge  #0x10 jt 6 jf 5             ; nr >= 16 (ioctl)
   5  ret  #0x7fff0000                 ; ALLOW  nr 0..15 read..rt_sigreturn
   6  ld   [24]                        ; A = args[1].lo
   7  ret  #0x50001                    ; ERRNO(EPERM)  nr 16.. ioctl..
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if _, err := Disassemble(prog, mAuditI386); err == nil {
		t.Error("got no error for an unsupported arch, want one")
	}
}
