package cmdpolicy

import (
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"
)

// FuzzCheck checks that Check never panics, that input the bash parser
// rejects is never allowed, and that every Result is consistent. Found
// inputs live in testdata/fuzz/FuzzCheck.
func FuzzCheck(f *testing.F) {
	cmds, err := LoadCorpus(corpusPath)
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cmds {
		f.Add(c)
	}
	e := testEngine(f)
	parser := syntax.NewParser(syntax.Variant(syntax.LangBash))
	f.Fuzz(func(t *testing.T, cmd string) {
		r := e.Check(cmd)
		if !r.Decision.valid() {
			t.Fatalf("Check(%q).Decision = %d, not a decision", cmd, int(r.Decision))
		}
		if r.ParseError != "" && r.Decision == Allow {
			t.Fatalf("Check(%q): parse error %q but decision allow", cmd, r.ParseError)
		}
		if _, perr := parser.Parse(strings.NewReader(cmd), ""); perr != nil {
			if r.Decision == Allow {
				t.Fatalf("Check(%q) = allow, but the parser rejects it: %v", cmd, perr)
			}
			if r.ParseError == "" {
				t.Fatalf("Check(%q) has no ParseError, but the parser rejects it: %v", cmd, perr)
			}
		}
		checkInvariants(t, cmd, r)
		if again := e.Check(cmd); again.Decision != r.Decision || len(again.Findings) != len(r.Findings) {
			t.Fatalf("Check(%q) is not deterministic: %s then %s", cmd, r.Decision, again.Decision)
		}
	})
}
