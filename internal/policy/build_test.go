package policy

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestBuildMerge(t *testing.T) {
	inTempDir(t)
	writeFile(t, "p.yaml", `profile: none
filesystem:
  workspace: ~/src/app
  allow_write: [~/.cache/go-build]
  deny_read: [secrets]
network:
  allow_domains: [example.com]
limits:
  memory: 1G
  pids: 100
`)
	writeFile(t, "s.json", `{
  "filesystem": {"denyRead": ["secrets", "**/.env"], "allowWrite": ["/tmp/build"]},
  "network": {"allowedDomains": ["example.com", "api.github.com"], "allowLocalBinding": true}
}`)
	root := true
	got, err := Build("", "p.yaml", "s.json", Overrides{
		Workspace:    "/work/app",
		AllowWrite:   []string{"/var/tmp/out"},
		DenyRead:     []string{"~/.config/mine"},
		Env:          []string{"GOFLAGS"},
		AllowDomains: []string{"proxy.golang.org"},
		Memory:       "2G",
		Timeout:      "90s",
		Root:         &root,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &Policy{
		Version: 1,
		Profile: "none",
		Filesystem: Filesystem{
			Workspace:  "/work/app",
			AllowWrite: []string{"~/.cache/go-build", "/tmp/build", "/var/tmp/out"},
			DenyRead:   []string{"secrets", ".env", "~/.config/mine"},
		},
		Network: Network{
			AllowDomains:      []string{"example.com", "api.github.com", "proxy.golang.org"},
			AllowLocalBinding: true,
		},
		Process: Process{Env: []string{"GOFLAGS"}, Root: true},
		Limits:  Limits{MemoryBytes: 2 << 30, Pids: 100, Timeout: 90 * time.Second},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestBuildProfileSelection(t *testing.T) {
	inTempDir(t)
	writeFile(t, "none.yaml", "profile: none\n")
	writeFile(t, "plain.yaml", "version: 1\n")
	tests := []struct {
		name, profile, file string
		wantProfile         string
		wantDeny            bool
	}{
		{"default is agent", "", "", "agent", true},
		{"flag selects none", "none", "", "none", false},
		{"file selects none", "", "none.yaml", "none", false},
		{"flag beats file", "agent", "none.yaml", "agent", true},
		{"file without profile keeps agent", "", "plain.yaml", "agent", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(tt.profile, tt.file, "", Overrides{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Profile != tt.wantProfile {
				t.Errorf("got profile %q, want %q", p.Profile, tt.wantProfile)
			}
			if got := slices.Contains(p.Filesystem.DenyRead, "~/.ssh"); got != tt.wantDeny {
				t.Errorf("got ~/.ssh denied %v, want %v", got, tt.wantDeny)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	inTempDir(t)
	writeFile(t, "p.yaml", "filesystem:\n  deny_write: [/srv/data]\n")
	writeFile(t, "aws.yaml", "filesystem:\n  allow_write: [~/.aws/sso/cache]\n")
	writeFile(t, "s.json", "{\"filesystem\": {\n  \"allowWrite\": [\"/srv/data\"]}}")
	writeFile(t, "bad.yaml", "limits:\n  pids: 0\n")
	tests := []struct {
		name, profile, file, settings string
		o                             Overrides
		want                          string
	}{
		{"unknown profile flag", "agnet", "", "", Overrides{},
			`--profile: unknown profile "agnet" (valid: agent, none) (did you mean "agent"?)`},
		{"policy file error", "", "bad.yaml", "", Overrides{},
			`bad.yaml:2:9: limits.pids: must be positive (leave it out for no limit)`},
		{"bad memory flag", "", "", "", Overrides{Memory: "lots"},
			`--memory: invalid size "lots": want a whole number of bytes with an optional binary unit: K, M, G or T (also KiB, KB, ...; 1K = 1024)`},
		{"zero pids flag", "", "", "", Overrides{Pids: "0"},
			`--pids: must be positive (leave it out for no limit)`},
		{"bad cpus flag", "", "", "", Overrides{CPUs: "two"},
			`--cpus: invalid number of cpus "two": want a positive number such as 1.5`},
		{"bad timeout flag", "", "", "", Overrides{Timeout: "10"},
			`--timeout: invalid duration "10": want a number with a unit, such as 30s, 5m or 1h30m`},
		{"bad max-open-files flag", "", "", "", Overrides{MaxOpenFiles: "-1"},
			`--max-open-files: invalid number "-1": want a positive whole number`},
		{"bad max-file-size flag", "", "", "", Overrides{MaxFileSize: "0K"},
			`--max-file-size: must be positive (leave it out for no limit)`},
		{"bad layer flag", "", "", "", Overrides{AllowDegraded: []string{"seccom"}},
			`--allow-degraded: unknown layer "seccom" (valid: userns, seccomp, landlock, cgroup) (did you mean "seccomp"?)`},
		{"relative socket flag", "", "", "", Overrides{AllowUnixSockets: []string{"docker.sock"}},
			`--allow-unix-socket: "docker.sock" is relative; a unix socket path must be absolute or start with "~/"`},
		{"bad domain flag", "", "", "", Overrides{DenyDomains: []string{"*.*.example.com"}},
			`--deny-domain: invalid domain pattern "*.*.example.com": the only wildcard form is a leading "*.", like "*.example.com"`},
		{"settings conflicts with policy file", "", "p.yaml", "s.json", Overrides{},
			`s.json:2:18: filesystem.allowWrite[0]: "/srv/data" is also in filesystem.deny_write (p.yaml:2:16); a path cannot be both writable and write-protected`},
		{"flag conflicts with policy file", "", "p.yaml", "", Overrides{AllowWrite: []string{"/srv/data/x"}},
			`--allow-write: "/srv/data/x" is inside filesystem.deny_write entry "/srv/data" (p.yaml:2:16), so it can never be written`},
		{"flag conflicts with flag", "", "", "", Overrides{AllowDomains: []string{"a.example.com"}, DenyDomains: []string{"a.example.com"}},
			`--allow-domain: "a.example.com" is also in network.deny_domains (--deny-domain); a domain cannot be both allowed and denied`},
		{"policy file conflicts with profile", "", "aws.yaml", "", Overrides{},
			`aws.yaml:2:17: filesystem.allow_write[0]: writable path "~/.aws/sso/cache" is hidden by filesystem.deny_read entry "~/.aws" (the agent profile); add it to filesystem.allow_read to expose it`},
		{"workspace flag hidden by profile", "", "", "", Overrides{Workspace: "~/.ssh"},
			`--workspace: the workspace "~/.ssh" is hidden by filesystem.deny_read entry "~/.ssh" (the agent profile); add it to filesystem.allow_read to expose it`},
		{"env file hidden by profile", "", "", "", Overrides{AllowWrite: []string{".env.local"}},
			`--allow-write: writable path ".env.local" is hidden by filesystem.deny_read entry ".env.*" (the agent profile); add it to filesystem.allow_read to expose it`},
		{"missing policy file", "", "nope.yaml", "", Overrides{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(tt.profile, tt.file, tt.settings, tt.o)
			if p != nil {
				t.Errorf("got policy with the error, want nil")
			}
			if tt.want == "" {
				if err == nil {
					t.Fatal("got no error, want one")
				}
				return
			}
			wantError(t, err, tt.want)
		})
	}
}

func TestBuildAllowReadResolvesConflict(t *testing.T) {
	inTempDir(t)
	p, err := Build("", "", "", Overrides{
		AllowWrite: []string{"~/.aws/sso/cache", ".env.local"},
		AllowRead:  []string{"~/.aws/sso", ".env.*"},
	})
	if err != nil {
		t.Fatalf("got %v, want allow_read to resolve the conflicts", err)
	}
	if !slices.Contains(p.Filesystem.AllowRead, "~/.aws/sso") {
		t.Errorf("got allow_read %q, want it to include ~/.aws/sso", p.Filesystem.AllowRead)
	}
}

func TestBuildRootFalseOverrides(t *testing.T) {
	inTempDir(t)
	writeFile(t, "p.yaml", "process:\n  root: true\n")
	off := false
	p, err := Build("", "p.yaml", "", Overrides{Root: &off})
	if err != nil {
		t.Fatal(err)
	}
	if p.Process.Root {
		t.Error("got root true, want --root=false to override the policy file")
	}
}
