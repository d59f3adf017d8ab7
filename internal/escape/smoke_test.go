package escape

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSmokeRunsAndWrites is the harness's own check: a command runs, its
// output and status come back, and a workspace write lands on the host.
func TestSmokeRunsAndWrites(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	r := f.sandbox(t, nil, "echo out; echo err >&2; echo data > written.txt; exit 7")
	if r.Code != 7 || r.Stdout != "out\n" {
		t.Fatalf("got %v, want exit 7 and stdout \"out\\n\"", r)
	}
	mustContain(t, "stderr", r.Stderr, "err")
	b, err := os.ReadFile(filepath.Join(f.Work, "written.txt"))
	if err != nil || string(b) != "data\n" {
		t.Fatalf("workspace write: got %q, %v; want \"data\\n\"", b, err)
	}
}
