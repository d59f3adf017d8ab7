package escape

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExecDeny denies a program with a command rule and tries every route
// to it from inside: its name, its path, a symlink, a hard link, the
// /proc/self/root path, ld.so, an interpreter's exec and a shell script.
// Each route works outside (the control).
func TestExecDeny(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	bin, err := exec.LookPath("id")
	if err != nil {
		t.Skip("no id binary")
	}
	bin, _ = filepath.EvalSymlinks(bin)
	ldso := ""
	for _, c := range []string{"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"} {
		if _, err := os.Stat(c); err == nil {
			ldso = c
		}
	}
	pol := filepath.Join(f.Home, "deny.yaml")
	if err := os.WriteFile(pol, []byte("commands:\n  deny:\n    - pattern: \"id *\"\n      justification: test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The scratch directory is the workspace's; outside it is on the same
	// filesystem as the fixture, so the hard link can be made there.
	routes := []struct{ name, script string }{
		{"name", `id -u`},
		{"path", bin + ` -u`},
		{"symlink", `ln -sf ` + bin + ` ./l && ./l -u`},
		{"hard link", `rm -f ./h; ln ` + bin + ` ./h && ./h -u`},
		{"proc root", `/proc/self/root` + bin + ` -u`},
		{"copy", `cat ` + bin + ` > ./c && chmod +x ./c && ./c -u`},
		{"python exec", `python3 -c 'import os; os.execv("` + bin + `", ["id", "-u"])'`},
		{"script", `printf '#!/bin/sh\nexec ` + bin + ` -u\n' > ./s.sh && chmod +x ./s.sh && ./s.sh`},
	}
	if ldso != "" {
		routes = append(routes, struct{ name, script string }{"ld.so", ldso + " " + bin + " -u"})
	}
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			ctl := f.outside(t, r.script)
			if ctl.Code != 0 || strings.TrimSpace(ctl.Stdout) == "" {
				if r.name == "hard link" {
					t.Skipf("control: a hard link to %s cannot be made here: %v", bin, ctl)
				}
				t.Fatalf("control failed: %v", ctl)
			}
			got := f.sandbox(t, []string{"--policy", pol}, r.script)
			if got.Code == 0 {
				t.Errorf("the denied program ran: %v", got)
			}
			if strings.TrimSpace(got.Stdout) != "" {
				t.Errorf("the denied program printed %q", got.Stdout)
			}
		})
	}
}
