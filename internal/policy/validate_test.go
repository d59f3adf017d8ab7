package policy

import (
	"math"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		want string // "" means valid
	}{
		{"zero policy", Policy{}, ""},
		{"version 3", Policy{Version: 3}, `version: unsupported version 3 (only version 1 exists)`},
		{"bad profile", Policy{Profile: "strict"}, `profile: unknown profile "strict" (valid: agent, none)`},
		{"nul in workspace", Policy{Filesystem: Filesystem{Workspace: "/a\x00b"}}, `filesystem.workspace: "/a\x00b" contains a control character`},
		{"newline in path", Policy{Filesystem: Filesystem{AllowWrite: []string{"/tmp/a\nb"}}}, `filesystem.allow_write[0]: "/tmp/a\nb" contains a control character`},
		{"newline in env value", Policy{Process: Process{Env: []string{"PEM=a\nb"}}}, ""},
		{"invalid utf-8", Policy{Filesystem: Filesystem{DenyRead: []string{"a", "\xff"}}}, `filesystem.deny_read[1]: "\xff" is not valid UTF-8`},
		{"workspace may contain brackets", Policy{Filesystem: Filesystem{Workspace: "/src/app[1]"}}, ""},
		{"negative memory", Policy{Limits: Limits{MemoryBytes: -1}}, `limits.memory: must be positive (leave it out for no limit)`},
		{"negative timeout", Policy{Limits: Limits{Timeout: -1}}, `limits.timeout: must be positive (leave it out for no limit)`},
		{"nan cpus", Policy{Limits: Limits{CPUs: math.NaN()}}, `limits.cpus: cpus NaN is out of range (at most 1048576)`},
		{"unknown layer", Policy{AllowDegraded: []string{"apparmor"}}, `allow_degraded[0]: unknown layer "apparmor" (valid: userns, seccomp, landlock, cgroup)`},
		{"deny star", Policy{Network: Network{DenyDomains: []string{"*", "*:25"}}}, ""},
		{"localhost with port", Policy{Network: Network{AllowDomains: []string{"localhost:8080"}}}, ""},
		{"single label", Policy{Network: Network{AllowDomains: []string{"intranet"}}},
			`network.allow_domains[0]: invalid domain pattern "intranet": want a fully qualified name with a dot, like "example.com" (or "localhost")`},
		{"numeric tld", Policy{Network: Network{AllowDomains: []string{"1.2.3.999"}}},
			`network.allow_domains[0]: invalid domain pattern "1.2.3.999": numeric top-level label: not a domain name nor an IPv4 address`},
		{"trailing dot", Policy{Network: Network{AllowDomains: []string{"example.com."}}},
			`network.allow_domains[0]: invalid domain pattern "example.com.": want a host name ("example.com"), a wildcard ("*.example.com"), "localhost" or an IP address ("192.0.2.1", "[2001:db8::1]"), with an optional ":PORT"`},
		{"leading zero port", Policy{Network: Network{AllowDomains: []string{"example.com:0443"}}},
			`network.allow_domains[0]: invalid domain pattern "example.com:0443": port "0443" is not a number from 1 to 65535`},
		{"bracketed ipv4", Policy{Network: Network{AllowDomains: []string{"[192.0.2.1]"}}},
			`network.allow_domains[0]: invalid domain pattern "[192.0.2.1]": "192.0.2.1" in brackets is not an IPv6 address`},
		{"ipv6 cidr with port", Policy{Network: Network{AllowCIDRs: []string{"2001:db8::/32:443"}}}, ""},
		{"deny cidr bare ipv6", Policy{Network: Network{DenyCIDRs: []string{"::1", "fe80::/10"}}}, ""},
		{"env with value", Policy{Process: Process{Env: []string{"A_1=x=y", "_B"}}}, ""},
		{"env empty name", Policy{Process: Process{Env: []string{"=x"}}},
			`process.env[0]: invalid variable "=x": want NAME or NAME=VALUE, where NAME has letters, digits and "_" and does not start with a digit`},
		{"hostname too long", Policy{Process: Process{Hostname: "a23456789.123456789.123456789.123456789.123456789.123456789.12345"}},
			`process.hostname: hostname "a23456789.123456789.123456789.123456789.123456789.123456789.12345" is longer than 64 bytes`},
		{"deny_read names home", Policy{Filesystem: Filesystem{DenyRead: []string{"~"}, AllowWrite: []string{"~/x"}}},
			`filesystem.allow_write: writable path "~/x" is hidden by filesystem.deny_read entry "~"; add it to filesystem.allow_read to expose it`},
		{"base-name allow_read does not re-expose a path deny", Policy{Filesystem: Filesystem{
			DenyRead: []string{"~/.aws"}, AllowRead: []string{"cache"}, AllowWrite: []string{"~/.aws/cache"}}},
			`filesystem.allow_write: writable path "~/.aws/cache" is hidden by filesystem.deny_read entry "~/.aws"; add it to filesystem.allow_read to expose it`},
		{"allow_read naming the deny entry re-exposes", Policy{Filesystem: Filesystem{
			DenyRead: []string{"~/.aws"}, AllowRead: []string{"~/.aws"}, AllowWrite: []string{"~/.aws/cache"}}}, ""},
		{"deny_read inside writable path is fine", Policy{Filesystem: Filesystem{
			DenyRead: []string{"/srv/app/secrets"}, AllowWrite: []string{"/srv/app"}}}, ""},
		{"root deny_write covers everything", Policy{Filesystem: Filesystem{
			DenyWrite: []string{"/"}, AllowWrite: []string{"/tmp/x"}}},
			`filesystem.allow_write: "/tmp/x" is inside filesystem.deny_write entry "/", so it can never be written`},
		{"different spellings are not compared before Expand", Policy{Filesystem: Filesystem{
			DenyWrite: []string{"/home/u/x"}, AllowWrite: []string{"~/x"}}}, ""},
		{"relative paths compared", Policy{Filesystem: Filesystem{
			DenyWrite: []string{"build"}, AllowWrite: []string{"./build/out"}}},
			`filesystem.allow_write: "./build/out" is inside filesystem.deny_write entry "build", so it can never be written`},
		{"dot deny_read hides relative", Policy{Filesystem: Filesystem{
			DenyRead: []string{"."}, AllowWrite: []string{"out"}}},
			`filesystem.allow_write: writable path "out" is hidden by filesystem.deny_read entry "."; add it to filesystem.allow_read to expose it`},
		{"sibling prefix is not inside", Policy{Filesystem: Filesystem{
			DenyRead: []string{"~/.aws"}, AllowWrite: []string{"~/.aws-cache"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			wantError(t, err, tt.want)
		})
	}
}

func TestValidateAfterExpand(t *testing.T) {
	p := &Policy{Filesystem: Filesystem{
		DenyWrite:  []string{"/home/u/x"},
		AllowWrite: []string{"~/x"},
	}}
	if err := p.Validate(); err != nil {
		t.Fatalf("before Expand: got %v, want nil", err)
	}
	x, err := p.Expand("/home/u", "/home/u/src")
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, x.Validate(), `filesystem.allow_write: "/home/u/x" is also in filesystem.deny_write; a path cannot be both writable and write-protected`)
}
