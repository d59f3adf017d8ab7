package policy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown key with suggestion", "version: 1\nfilesystem:\n  allow_write: [/tmp/x]\n  deny_raed: [x]\n",
			`p.yaml:4:3: filesystem.deny_raed: unknown key (did you mean "deny_read"?)`},
		{"unknown key camel case suggests snake case", "network:\n  allowDomains: [example.com]\n",
			`p.yaml:2:3: network.allowDomains: unknown key (did you mean "allow_domains"?)`},
		{"unknown key far from any", "zzzzzz: 1\n",
			`p.yaml:1:1: zzzzzz: unknown key`},
		{"unknown top-level key suggestion", "limit:\n  pids: 3\n",
			`p.yaml:1:1: limit: unknown key (did you mean "limits"?)`},
		{"duplicate key", "process:\n  root: true\n  root: false\n",
			`p.yaml:3:3: process.root: duplicate key (first set at line 2)`},
		{"duplicate top-level key", "filesystem: {}\nfilesystem: {}\n",
			`p.yaml:2:1: filesystem: duplicate key (first set at line 1)`},
		{"list where string wanted", "process:\n  hostname: [a]\n",
			`p.yaml:2:13: process.hostname: expected a string, got a list`},
		{"string where list wanted", "filesystem:\n  deny_read: .env\n",
			`p.yaml:2:14: filesystem.deny_read: expected a list of strings, got a string`},
		{"integer list entry", "network:\n  allow_domains:\n    - example.com\n    - 42\n",
			`p.yaml:4:7: network.allow_domains[1]: expected a string, got an integer`},
		{"bare tilde is null", "filesystem:\n  allow_write: [~]\n",
			`p.yaml:2:17: filesystem.allow_write[0]: expected a string, got null ("~" alone is YAML for null; write "~/" or quote it)`},
		{"string where bool wanted", "network:\n  allow_local_binding: yes\n",
			`p.yaml:2:24: network.allow_local_binding: expected true or false, got a string`},
		{"section not a mapping", "limits: 5\n",
			`p.yaml:1:9: limits: expected a mapping, got an integer`},
		{"top level not a mapping", "- a\n- b\n",
			`p.yaml:1:1: expected a mapping of policy settings, got a list`},
		{"version 2", "version: 2\n",
			`p.yaml:1:10: version: unsupported version 2 (only version 1 exists)`},
		{"version string", "version: \"1\"\n",
			`p.yaml:1:10: version: expected an integer, got a string`},
		{"unknown profile", "profile: agnet\n",
			`p.yaml:1:10: profile: unknown profile "agnet" (valid: agent, none) (did you mean "agent"?)`},
		{"bad size unit", "limits:\n  memory: 12X\n",
			`p.yaml:2:11: limits.memory: invalid size "12X": want a whole number of bytes with an optional binary unit: K, M, G or T (also KiB, KB, ...; 1K = 1024)`},
		{"fractional size", "limits:\n  max_file_size: 1.5G\n",
			`p.yaml:2:18: limits.max_file_size: invalid size "1.5G": want a whole number of bytes with an optional binary unit: K, M, G or T (also KiB, KB, ...; 1K = 1024)`},
		{"size overflow", "limits:\n  memory: 99999999999T\n",
			`p.yaml:2:11: limits.memory: size "99999999999T" is too large`},
		{"zero memory", "limits:\n  memory: 0\n",
			`p.yaml:2:11: limits.memory: must be positive (leave it out for no limit)`},
		{"negative pids", "limits:\n  pids: -4\n",
			`p.yaml:2:9: limits.pids: must be positive (leave it out for no limit)`},
		{"pids not a number", "limits:\n  pids: many\n",
			`p.yaml:2:9: limits.pids: invalid number "many": want a positive whole number`},
		{"pids float", "limits:\n  pids: 1.5\n",
			`p.yaml:2:9: limits.pids: expected a positive integer, got a number`},
		{"zero cpus", "limits:\n  cpus: 0.0\n",
			`p.yaml:2:9: limits.cpus: must be positive (leave it out for no limit)`},
		{"infinite cpus", "limits:\n  cpus: .inf\n",
			`p.yaml:2:9: limits.cpus: cpus +Inf is out of range (at most 1048576)`},
		{"timeout without unit", "limits:\n  timeout: 30\n",
			`p.yaml:2:12: limits.timeout: expected a duration with a unit such as "30s" or "5m", got an integer`},
		{"bad timeout", "limits:\n  timeout: 30 seconds\n",
			`p.yaml:2:12: limits.timeout: invalid duration "30 seconds": want a number with a unit, such as 30s, 5m or 1h30m`},
		{"negative timeout", "limits:\n  timeout: -5s\n",
			`p.yaml:2:12: limits.timeout: must be positive (leave it out for no limit)`},
		{"max_open_files zero", "limits:\n  max_open_files: \"0\"\n",
			`p.yaml:2:19: limits.max_open_files: must be positive (leave it out for no limit)`},
		{"bad layer", "allow_degraded: [seccomp, landlok]\n",
			`p.yaml:1:27: allow_degraded[1]: unknown layer "landlok" (valid: userns, seccomp, landlock, cgroup) (did you mean "landlock"?)`},
		{"relative unix socket", "filesystem:\n  allow_unix_sockets: [run/docker.sock]\n",
			`p.yaml:2:24: filesystem.allow_unix_sockets[0]: "run/docker.sock" is relative; a unix socket path must be absolute or start with "~/"`},
		{"unknown protected name", "filesystem:\n  unprotect: [.vscod]\n",
			`p.yaml:2:15: filesystem.unprotect[0]: ".vscod" is not a protected name (valid: .git/hooks, .git/config, .gitmodules, .bashrc, .bash_profile, .zshrc, .zprofile, .profile, .envrc, .vscode, .idea, .claude, .codex, .mcp.json) (did you mean ".vscode"?)`},
		{"wildcard in the middle", "network:\n  allow_domains: [\"api.*.example.com\"]\n",
			`p.yaml:2:19: network.allow_domains[0]: invalid domain pattern "api.*.example.com": the only wildcard form is a leading "*.", like "*.example.com"`},
		{"wildcard too broad", "network:\n  allow_domains: [\"*.com\"]\n",
			`p.yaml:2:19: network.allow_domains[0]: invalid domain pattern "*.com": a wildcard needs at least two labels after "*.", like "*.example.com"`},
		{"star in allow list", "network:\n  allow_domains: [\"*\"]\n",
			`p.yaml:2:19: network.allow_domains[0]: invalid domain pattern "*": "*" alone is only allowed in a deny list; name the domains to allow`},
		{"domain with scheme", "network:\n  allow_domains: [\"https://example.com\"]\n",
			`p.yaml:2:19: network.allow_domains[0]: invalid domain pattern "https://example.com": want a host name ("example.com"), a wildcard ("*.example.com"), "localhost" or an IP address ("192.0.2.1", "[2001:db8::1]"), with an optional ":PORT"; no scheme or path`},
		{"port out of range", "network:\n  allow_domains: [example.com:70000]\n",
			`p.yaml:2:19: network.allow_domains[0]: invalid domain pattern "example.com:70000": port "70000" is not a number from 1 to 65535`},
		{"port zero", "network:\n  deny_domains: [\"*:0\"]\n",
			`p.yaml:2:18: network.deny_domains[0]: invalid domain pattern "*:0": port "0" is not a number from 1 to 65535`},
		{"unbracketed ipv6", "network:\n  allow_domains: [\"2001:db8::1\"]\n",
			`p.yaml:2:19: network.allow_domains[0]: invalid domain pattern "2001:db8::1": write an IPv6 address in brackets, like "[2001:db8::1]:443"`},
		{"bad cidr", "network:\n  allow_cidrs: [10.0.0.0/33]\n",
			`p.yaml:2:17: network.allow_cidrs[0]: invalid CIDR "10.0.0.0/33": want ADDRESS/BITS with an optional ":PORT", like "10.0.0.0/8" or "10.0.0.0/8:443"`},
		{"cidr host bits", "network:\n  allow_cidrs: [10.1.2.3/8]\n",
			`p.yaml:2:17: network.allow_cidrs[0]: CIDR "10.1.2.3/8" has host bits set (did you mean "10.0.0.0/8"?)`},
		{"cidr bad port", "network:\n  allow_cidrs: [\"10.0.0.0/8:http\"]\n",
			`p.yaml:2:17: network.allow_cidrs[0]: invalid CIDR "10.0.0.0/8:http": port "http" is not a number from 1 to 65535`},
		{"cidr without bits", "network:\n  allow_cidrs: [10.0.0.1]\n",
			`p.yaml:2:17: network.allow_cidrs[0]: invalid CIDR "10.0.0.1": want ADDRESS/BITS with an optional ":PORT", like "10.0.0.0/8" or "10.0.0.0/8:443"`},
		{"bad env", "process:\n  env: [\"1FOO=x\"]\n",
			`p.yaml:2:9: process.env[0]: invalid variable "1FOO=x": want NAME or NAME=VALUE, where NAME has letters, digits and "_" and does not start with a digit`},
		{"bad hostname", "process:\n  hostname: \"-box\"\n",
			`p.yaml:2:13: process.hostname: invalid hostname "-box": want dot-separated labels of letters, digits and inner hyphens`},
		{"glob in path", "filesystem:\n  deny_read: [\"~/.config/*/token\"]\n",
			`p.yaml:2:15: filesystem.deny_read[0]: "~/.config/*/token": globs are only supported as base names without "/", such as "*.key"`},
		{"double star", "filesystem:\n  deny_read: [\"**\"]\n",
			`p.yaml:2:15: filesystem.deny_read[0]: "**": "**" is not supported; a base-name glob such as "*.key" already matches at any depth`},
		{"malformed glob", "filesystem:\n  deny_read: [\"[a\"]\n",
			`p.yaml:2:15: filesystem.deny_read[0]: "[a" is not a valid glob: syntax error in pattern`},
		{"glob in deny_write", "filesystem:\n  deny_write: [\"*.lock\"]\n",
			`p.yaml:2:16: filesystem.deny_write[0]: "*.lock": globs are not supported here; name the path`},
		{"tilde user", "filesystem:\n  allow_write: [\"~bob/x\"]\n",
			`p.yaml:2:17: filesystem.allow_write[0]: "~bob/x": only "~" and "~/" are supported for the home directory`},
		{"empty path", "filesystem:\n  allow_write: [\"\"]\n",
			`p.yaml:2:17: filesystem.allow_write[0]: empty path`},
		{"allow_write equals deny_write", "filesystem:\n  deny_write: [/srv/data]\n  allow_write: [/srv/data/]\n",
			`p.yaml:3:17: filesystem.allow_write[0]: "/srv/data/" is also in filesystem.deny_write (p.yaml:2:16); a path cannot be both writable and write-protected`},
		{"allow_write inside deny_write", "filesystem:\n  allow_write: [/srv/data/cache]\n  deny_write: [/srv/data]\n",
			`p.yaml:2:17: filesystem.allow_write[0]: "/srv/data/cache" is inside filesystem.deny_write entry "/srv/data" (p.yaml:3:16), so it can never be written`},
		{"allow_write inside deny_read", "filesystem:\n  deny_read: [~/.aws]\n  allow_write: [~/.aws/cli/cache]\n",
			`p.yaml:3:17: filesystem.allow_write[0]: writable path "~/.aws/cli/cache" is hidden by filesystem.deny_read entry "~/.aws" (p.yaml:2:15); add it to filesystem.allow_read to expose it`},
		{"allow_write matches base-name deny", "filesystem:\n  deny_read: [\"*.key\"]\n  allow_write: [certs/server.key]\n",
			`p.yaml:3:17: filesystem.allow_write[0]: writable path "certs/server.key" is hidden by filesystem.deny_read entry "*.key" (p.yaml:2:15); add it to filesystem.allow_read to expose it`},
		{"workspace inside deny_read", "filesystem:\n  workspace: ~/.ssh/work\n  deny_read: [~/.ssh]\n",
			`p.yaml:2:14: filesystem.workspace: the workspace "~/.ssh/work" is hidden by filesystem.deny_read entry "~/.ssh" (p.yaml:3:15); add it to filesystem.allow_read to expose it`},
		{"socket inside deny_read", "filesystem:\n  deny_read: [~/.gnupg]\n  allow_unix_sockets: [~/.gnupg/S.gpg-agent]\n",
			`p.yaml:3:24: filesystem.allow_unix_sockets[0]: socket "~/.gnupg/S.gpg-agent" is hidden by filesystem.deny_read entry "~/.gnupg" (p.yaml:2:15); add it to filesystem.allow_read to expose it`},
		{"domain allowed and denied", "network:\n  deny_domains: [evil.example.com]\n  allow_domains: [evil.example.com]\n",
			`p.yaml:3:19: network.allow_domains[0]: "evil.example.com" is also in network.deny_domains (p.yaml:2:18); a domain cannot be both allowed and denied`},
		{"anchor", "filesystem:\n  deny_read: &d [a]\n  allow_read: *d\n",
			`p.yaml:2:14: YAML anchors and aliases are not supported`},
		{"second document", "version: 1\n---\nprofile: none\n",
			`p.yaml:3:1: a policy file holds one YAML document; found a second one`},
		{"syntax error", "filesystem:\n  deny_read: [a, b\n",
			`p.yaml:1: invalid YAML: did not find expected ',' or ']'`},
		{"tab indentation", "filesystem:\n\tdeny_read: []\n",
			`p.yaml:2: invalid YAML: found character that cannot start any token`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			writeFile(t, "p.yaml", tt.src)
			p, err := LoadFile("p.yaml")
			if p != nil {
				t.Errorf("got policy %+v with the error, want nil", p)
			}
			wantError(t, err, tt.want)
		})
	}
}

func TestLoadFile(t *testing.T) {
	inTempDir(t)
	writeFile(t, "p.yaml", `# every key of the native format
version: 1
profile: none
filesystem:
  workspace: ~/src/app
  allow_write: [~/.cache/go-build, /var/tmp/build]
  deny_read: [secrets.txt, "*.tfstate", ~/.config/app/token]
  allow_read: [.env.example]
  deny_write: [Makefile]
  unprotect: [.vscode]
  allow_unix_sockets: [/run/user/1000/bus]
network:
  allow_domains: [example.com, "*.npmjs.org", "api.github.com:443", "[2001:db8::1]:8443", 192.0.2.1]
  deny_domains: ["*:22"]
  allow_cidrs: [10.0.0.0/8, "192.168.1.0/24:5432", "fd00::/8"]
  deny_cidrs: [169.254.169.254, 100.64.0.0/10]
  allow_local_binding: true
process:
  env: [GOFLAGS, "CI=1"]
  root: true
  hostname: build-box
limits:
  memory: 512M
  pids: 256
  cpus: 1.5
  timeout: 5m
  max_open_files: 0x400
  max_file_size: 64KiB
allow_degraded: [cgroup]
`)
	got, err := LoadFile("p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Policy{
		Version: 1,
		Profile: "none",
		Filesystem: Filesystem{
			Workspace:        "~/src/app",
			AllowWrite:       []string{"~/.cache/go-build", "/var/tmp/build"},
			DenyRead:         []string{"secrets.txt", "*.tfstate", "~/.config/app/token"},
			AllowRead:        []string{".env.example"},
			DenyWrite:        []string{"Makefile"},
			Unprotect:        []string{".vscode"},
			AllowUnixSockets: []string{"/run/user/1000/bus"},
		},
		Network: Network{
			AllowDomains:      []string{"example.com", "*.npmjs.org", "api.github.com:443", "[2001:db8::1]:8443", "192.0.2.1"},
			DenyDomains:       []string{"*:22"},
			AllowCIDRs:        []string{"10.0.0.0/8", "192.168.1.0/24:5432", "fd00::/8"},
			DenyCIDRs:         []string{"169.254.169.254", "100.64.0.0/10"},
			AllowLocalBinding: true,
		},
		Process: Process{Env: []string{"GOFLAGS", "CI=1"}, Root: true, Hostname: "build-box"},
		Limits: Limits{
			MemoryBytes:  512 << 20,
			Pids:         256,
			CPUs:         1.5,
			Timeout:      5 * time.Minute,
			MaxOpenFiles: 1024,
			MaxFileSize:  64 << 10,
		},
		AllowDegraded: []string{"cgroup"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestLoadFileEmpty(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "---\n", "filesystem:\nnetwork: ~\n"} {
		t.Run(strings.TrimSpace(src), func(t *testing.T) {
			inTempDir(t)
			writeFile(t, "p.yaml", src)
			got, err := LoadFile("p.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, &Policy{}) {
				t.Errorf("got %+v, want the zero policy", got)
			}
		})
	}
}

func TestLoadFileSizes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1024", 1024},
		{"\"1024\"", 1024},
		{"1b", 1},
		{"64K", 64 << 10},
		{"64k", 64 << 10},
		{"64KB", 64 << 10},
		{"64KiB", 64 << 10},
		{"512M", 512 << 20},
		{"512mib", 512 << 20},
		{"2G", 2 << 30},
		{"2GB", 2 << 30},
		{"3T", 3 << 40},
		{"8388607T", 8388607 << 40},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			inTempDir(t)
			writeFile(t, "p.yaml", "limits:\n  memory: "+tt.in+"\n  max_file_size: "+tt.in+"\n")
			p, err := LoadFile("p.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if p.Limits.MemoryBytes != tt.want || p.Limits.MaxFileSize != tt.want {
				t.Errorf("got memory %d, max_file_size %d, want %d", p.Limits.MemoryBytes, p.Limits.MaxFileSize, tt.want)
			}
		})
	}
}

func TestLoadFileIOErrors(t *testing.T) {
	dir := inTempDir(t)
	_, err := LoadFile("missing.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want an error wrapping fs.ErrNotExist", err)
	}
	writeFile(t, "big.yaml", "# "+strings.Repeat("x", maxFileBytes)+"\n")
	_, err = LoadFile("big.yaml")
	wantError(t, err, "big.yaml: file is larger than 1048576 bytes")
	if _, err := LoadFile(dir); err == nil {
		t.Error("got no error reading a directory, want one")
	}
}

// TestLoadFileWorkspaceTilde: "workspace: ~" is YAML null, but the user
// meant the home directory; it must not silently mean "unset".
func TestLoadFileWorkspaceTilde(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte("filesystem:\n  workspace: ~\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path)
	want := path + `:2:14: filesystem.workspace: got null ("~" alone is YAML for null; write "~/" or quote it)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestLoadCommands(t *testing.T) {
	inTempDir(t)
	writeFile(t, "p.yaml", `commands:
  allow:
    - "npm *"
  deny:
    - pattern: "sudo *"
      justification: no root for agents
      match: ["sudo ls"]
      not_match: ["ls"]
`)
	p, err := LoadFile("p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Commands.Allow) != 1 || p.Commands.Allow[0].Pattern != "npm *" || p.Commands.Allow[0].Source != "p.yaml:3:7" {
		t.Errorf("allow = %+v, want npm * from p.yaml:3:7", p.Commands.Allow)
	}
	d := p.Commands.Deny
	if len(d) != 1 || d[0].Pattern != "sudo *" || d[0].Justification != "no root for agents" || d[0].Match[0] != "sudo ls" || d[0].NotMatch[0] != "ls" || d[0].Source != "p.yaml:5:7" {
		t.Errorf("deny = %+v", d)
	}
	writeFile(t, "bad.yaml", "commands:\n  ask:\n    - justification: x\n")
	_, err = LoadFile("bad.yaml")
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:3:7") || !strings.Contains(err.Error(), "needs a pattern") {
		t.Errorf("got %v, want an error at bad.yaml:3:7 about the missing pattern", err)
	}
}
