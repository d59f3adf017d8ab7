package escape

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestExecAuditChain runs the chain through `airlock run --audit`
// and finds every program of it in the audit, each the child of the one
// before. The control is the chain's output outside: it runs id.
func TestExecAuditChain(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	script := `PATH=/usr/bin:/bin; python3 -c "import os; os.system(\"id\")"`
	ctl := f.outside(t, script)
	mustContain(t, "control", ctl.Stdout, "uid=")
	audit := filepath.Join(f.Home, "audit.jsonl")
	r := f.sandbox(t, []string{"--audit", audit}, script)
	if r.Code != 0 || !strings.Contains(r.Stdout, "uid=") {
		t.Fatalf("got %v", r)
	}
	type rec struct {
		pid, ppid int
		path      string
		argv      []string
	}
	var execs []rec
	for _, m := range readAudit(t, audit) {
		if m["event"] != "exec" {
			continue
		}
		var argv []string
		for _, a := range m["argv"].([]any) {
			argv = append(argv, a.(string))
		}
		execs = append(execs, rec{int(m["pid"].(float64)), int(m["ppid"].(float64)), m["path"].(string), argv})
		if m["cwd"] != f.Work {
			t.Errorf("exec %v: cwd %v, want %s", argv, m["cwd"], f.Work)
		}
	}
	// The chain: /bin/sh -c SCRIPT, python3 -c ..., sh -c id, id.
	want := []func(rec) bool{
		func(e rec) bool {
			return e.path == "/bin/sh" && slices.Equal(e.argv, []string{"/bin/sh", "-c", script})
		},
		func(e rec) bool {
			return strings.HasSuffix(e.path, "/python3") && len(e.argv) == 3 && e.argv[1] == "-c"
		},
		func(e rec) bool { return e.path == "/bin/sh" && slices.Equal(e.argv, []string{"sh", "-c", "id"}) },
		func(e rec) bool { return strings.HasSuffix(e.path, "/id") && slices.Equal(e.argv, []string{"id"}) },
	}
	var chain []rec
	for _, e := range execs {
		if len(chain) < len(want) && want[len(chain)](e) {
			chain = append(chain, e)
		}
	}
	if len(chain) != len(want) {
		t.Fatalf("found %d of the %d programs of the chain in %v", len(chain), len(want), execs)
	}
	for i := 1; i < len(chain); i++ {
		// A process that execs keeps its pid; a forked child names it as ppid.
		if chain[i].ppid != chain[i-1].pid && chain[i].pid != chain[i-1].pid {
			t.Errorf("%v (pid %d, ppid %d) does not descend from %v (pid %d)", chain[i].argv, chain[i].pid, chain[i].ppid, chain[i-1].argv, chain[i-1].pid)
		}
	}
}
