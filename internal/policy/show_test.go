package policy

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestShowRoundTrip(t *testing.T) {
	full := &Policy{
		Version: 1,
		Profile: "agent",
		Filesystem: Filesystem{
			Workspace:        "/work/app",
			AllowWrite:       []string{"~/.cache/go-build", "/tmp/a b", "#not-a-comment", "- dash", "true", "null"},
			DenyRead:         append(Default().Filesystem.DenyRead, "*:*", "[xy]*"),
			AllowRead:        []string{".env.example"},
			DenyWrite:        []string{"Makefile", "quote\"d", "'single'", "ü", " lead", "trail ", "\u00a0nbsp", "\ufeffbom", "a\u2028b"},
			Unprotect:        []string{".git/config"},
			AllowUnixSockets: []string{"/run/user/1000/bus"},
		},
		Network: Network{
			AllowDomains:      []string{"example.com", "*.npmjs.org:443", "[::1]:8080"},
			DenyDomains:       []string{"*:22"},
			AllowCIDRs:        []string{"10.0.0.0/8:5432"},
			DenyCIDRs:         []string{"169.254.169.254"},
			AllowLocalBinding: true,
		},
		Process: Process{Env: []string{"A", "B=1", "C=yes", "D=: x", "E=\n", "F=a\nb\tc\u2028", "G= lead", "H=\u00a0"}, Root: true, Hostname: "box"},
		Limits: Limits{
			MemoryBytes:  3 << 30,
			Pids:         512,
			CPUs:         0.1,
			Timeout:      90*time.Minute + 500*time.Millisecond,
			MaxOpenFiles: math.MaxUint64,
			MaxFileSize:  1023,
		},
		AllowDegraded: []string{"cgroup", "landlock"},
	}
	tests := []struct {
		name string
		p    *Policy
	}{
		{"zero", &Policy{}},
		{"agent profile", Default()},
		{"none profile", &Policy{Version: 1, Profile: "none"}},
		{"every field", full},
		{"limits only", &Policy{Limits: Limits{MemoryBytes: 1 << 40, MaxFileSize: math.MaxInt64, CPUs: 1e-3}}},
		{"bool only", &Policy{Network: Network{AllowLocalBinding: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); err != nil {
				t.Fatalf("test policy is invalid: %v", err)
			}
			out, err := Show(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			inTempDir(t)
			writeFile(t, "shown.yaml", string(out))
			got, err := LoadFile("shown.yaml")
			if err != nil {
				t.Fatalf("LoadFile(Show(p)): %v\n%s", err, out)
			}
			if !reflect.DeepEqual(got, tt.p) {
				t.Errorf("round trip changed the policy\ngot  %+v\nwant %+v\nyaml:\n%s", got, tt.p, out)
			}
		})
	}
}

func TestShowFormat(t *testing.T) {
	p := &Policy{
		Version:    1,
		Profile:    "none",
		Filesystem: Filesystem{DenyRead: []string{"~/.ssh"}},
		Limits:     Limits{MemoryBytes: 512 << 20, Timeout: 30 * time.Second, CPUs: 1.5, MaxFileSize: 1000},
	}
	out, err := Show(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `version: 1
profile: none
filesystem:
  deny_read:
    - ~/.ssh
limits:
  memory: 512M
  cpus: 1.5
  timeout: 30s
  max_file_size: 1000
`
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}
