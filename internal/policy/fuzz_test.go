package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// policySeeds are native policies for the fuzz corpus: valid ones, and ones
// that stop at each kind of error.
var policySeeds = []string{
	"",
	"version: 1\nprofile: agent\n",
	"filesystem:\n  workspace: ~/src\n  allow_write: [/tmp/x]\n  deny_read: [.env, \"*.key\", ~/.aws]\n  allow_read: [~/.aws/config]\n  deny_write: [Makefile]\n  unprotect: [.vscode]\n  allow_unix_sockets: [/run/user/1000/bus]\n",
	"network:\n  allow_domains: [example.com, \"*.npmjs.org:443\", \"[::1]:80\"]\n  deny_domains: [\"*:22\"]\n  allow_cidrs: [10.0.0.0/8]\n  deny_cidrs: [169.254.169.254]\n  allow_local_binding: true\n",
	"process:\n  env: [A, B=1]\n  root: true\n  hostname: box\n",
	"limits:\n  memory: 512M\n  pids: 0x10\n  cpus: 1.5\n  timeout: 1h30m\n  max_open_files: \"1024\"\n  max_file_size: 64KiB\n",
	"allow_degraded: [cgroup]\n",
	"filesystem:\n  deny_raed: [x]\n",
	"a: &x 1\nb: *x\n",
	"version: 1\n---\nversion: 1\n",
	"filesystem: [\n",
	"process:\n  hostname: \"a\\u2028b\"\n",
	"filesystem:\n  deny_write: [\"line\\nbreak\", \"\\ufeffbom\", \"'q'\"]\n",
}

func FuzzLoadPolicy(f *testing.F) {
	for _, s := range policySeeds {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		in := filepath.Join(dir, "in.yaml")
		if err := os.WriteFile(in, data, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := LoadFile(in)
		if err != nil {
			return
		}
		checkRoundTrip(t, dir, p)
	})
}

func FuzzLoadSettings(f *testing.F) {
	for _, s := range []string{
		srtExample,
		`{}`,
		`{"network": {"allowedDomains": ["a.com"], "deniedDomains": []}, "filesystem": {"denyRead": ["**/.env"], "allowWrite": ["."], "denyWrite": []}}`,
		`{"credentials": {"files": [{"path": "~/.x", "mode": "mask"}], "envVars": [{"name": "K", "mode": "deny"}]}}`,
		`{"enableWeakerNestedSandbox": true}`,
		`{"network": {"allowedDomains": ["*.com"]}}`,
		`{"filesystem": {"denyRead": ["\u00e9\ud800"]}}`,
		`{"windows": {"a": [{"b": [[]]}]}}`,
		`[`,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		in := filepath.Join(dir, "in.json")
		if err := os.WriteFile(in, data, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := LoadSettings(in)
		if err != nil {
			return
		}
		checkRoundTrip(t, dir, p)
	})
}

// checkRoundTrip asserts that a policy that loaded survives Show and
// LoadFile unchanged.
func checkRoundTrip(t *testing.T, dir string, p *Policy) {
	t.Helper()
	out, err := Show(p)
	if err != nil {
		t.Fatalf("Show of a loaded policy: %v", err)
	}
	shown := filepath.Join(dir, "shown.yaml")
	if err := os.WriteFile(shown, out, 0o600); err != nil {
		t.Fatal(err)
	}
	q, err := LoadFile(shown)
	if err != nil {
		t.Fatalf("LoadFile(Show(p)): %v\npolicy: %#v\nyaml:\n%s", err, p, out)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip changed the policy\ngot  %#v\nwant %#v\nyaml:\n%s", q, p, out)
	}
}
