package secrets

import (
	"reflect"
	"testing"
)

func TestParseFlag(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Secret
	}{
		{"env one host", "GITHUB_TOKEN=env:GH_TOKEN@api.github.com",
			Secret{Name: "GITHUB_TOKEN", Source: Source{"env", "GH_TOKEN"}, Hosts: []string{"api.github.com"}}},
		{"file several hosts and port", "K=file:/run/keys/k.txt@api.example.com:443,*.example.org,localhost:8080",
			Secret{Name: "K", Source: Source{"file", "/run/keys/k.txt"}, Hosts: []string{"api.example.com:443", "*.example.org", "localhost:8080"}}},
		{"file path with @", "K=file:/home/me@work/k@api.example.com",
			Secret{Name: "K", Source: Source{"file", "/home/me@work/k"}, Hosts: []string{"api.example.com"}}},
		{"cmd with spaces, @ and =", "ANTHROPIC_API_KEY=cmd:pass show a=b me@work@api.anthropic.com",
			Secret{Name: "ANTHROPIC_API_KEY", Source: Source{"cmd", "pass show a=b me@work"}, Hosts: []string{"api.anthropic.com"}}},
		{"ip hosts", "K=env:V@192.0.2.1:8443,[2001:db8::1]:443,[2001:db8::2]",
			Secret{Name: "K", Source: Source{"env", "V"}, Hosts: []string{"192.0.2.1:8443", "[2001:db8::1]:443", "[2001:db8::2]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFlag(tt.in)
			if err != nil {
				t.Fatalf("ParseFlag(%q): got error %v, want nil", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseFlag(%q): got %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseFlagErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no equals", "GITHUB_TOKEN", `invalid secret "GITHUB_TOKEN": missing '='; want NAME=SOURCE@HOST[,HOST...] where SOURCE is env:VAR, file:PATH or cmd:COMMAND`},
		{"bad name", "1X=env:A@a.com", `invalid secret "1X=env:A@a.com": name "1X" is not a variable name (letters, digits and '_', not starting with a digit)`},
		{"empty name", "=env:A@a.com", `invalid secret "=env:A@a.com": name "" is not a variable name (letters, digits and '_', not starting with a digit)`},
		{"no at", "X=env:A", `invalid secret "X=env:A": missing '@HOST' after the source; want NAME=SOURCE@HOST[,HOST...] where SOURCE is env:VAR, file:PATH or cmd:COMMAND`},
		{"no kind", "X=A@a.com", `invalid secret "X=A@a.com": source "A" has no kind; want env:VAR, file:PATH or cmd:COMMAND`},
		{"unknown kind", "X=vault:a/b@a.com", `invalid secret "X=vault:a/b@a.com": unknown source kind "vault"; want env, file or cmd`},
		{"bad env var", "X=env:A-B@a.com", `invalid secret "X=env:A-B@a.com": env source "A-B" is not a variable name`},
		{"empty file", "X=file:@a.com", `invalid secret "X=file:@a.com": file source has an empty path`},
		{"empty cmd", "X=cmd:  @a.com", `invalid secret "X=cmd:  @a.com": cmd source has an empty command`},
		{"empty hosts", "X=env:A@", `invalid secret "X=env:A@": empty host list after '@'`},
		{"empty host in list", "X=env:A@a.com,", `invalid secret "X=env:A@a.com,": host "": empty host`},
		{"star", "X=env:A@*", `invalid secret "X=env:A@*": host "*": "*" would send the secret anywhere; name the hosts`},
		{"bad port", "X=env:A@a.com:0", `invalid secret "X=env:A@a.com:0": host "a.com:0": port "0" is not a number from 1 to 65535`},
		{"scheme", "X=env:A@https://a.com", `invalid secret "X=env:A@https://a.com": host "https://a.com": want a host pattern, with no scheme, user or path`},
		{"short wildcard", "X=env:A@*.com", `invalid secret "X=env:A@*.com": host "*.com": a wildcard needs at least two labels after "*.", like "*.example.com"`},
		{"inner wildcard", "X=env:A@a.*.com", `invalid secret "X=env:A@a.*.com": host "a.*.com": the only wildcard form is a leading "*.", like "*.example.com"`},
		{"single label", "X=env:A@intranet", `invalid secret "X=env:A@intranet": host "intranet": want a fully qualified name with a dot, like "example.com" (or "localhost")`},
		{"bare ipv6", "X=env:A@2001:db8::1", `invalid secret "X=env:A@2001:db8::1": host "2001:db8::1": write an IPv6 address in brackets, like "[2001:db8::1]:443"`},
		{"bad label", "X=env:A@-a.com", `invalid secret "X=env:A@-a.com": host "-a.com": want a host name ("example.com"), a wildcard ("*.example.com"), "localhost" or an IP address ("192.0.2.1", "[2001:db8::1]"), with an optional ":PORT"`},
		{"numeric tld", "X=env:A@1.2.3", `invalid secret "X=env:A@1.2.3": host "1.2.3": numeric top-level label: not a domain name nor an IPv4 address`},
		{"bad bracket", "X=env:A@[a.com]", `invalid secret "X=env:A@[a.com]": host "[a.com]": "a.com" in brackets is not an IPv6 address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFlag(tt.in)
			if err == nil {
				t.Fatalf("ParseFlag(%q): got nil error, want %q", tt.in, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("ParseFlag(%q):\ngot  %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestAllowsHost(t *testing.T) {
	s := Secret{Hosts: []string{"api.example.com", "*.example.org", "localhost:8080", "[2001:db8::1]:443", "192.0.2.1"}}
	tests := []struct {
		host string
		port int
		want bool
	}{
		{"api.example.com", 443, true},
		{"API.Example.COM.", 443, true},
		{"evil-api.example.com", 443, false},
		{"api.example.com.evil.net", 443, false},
		{"x.example.org", 443, true},
		{"a.b.example.org", 80, true},
		{"example.org", 443, false},
		{".example.org", 443, false},
		{"a..example.org", 443, false},
		{"localhost", 8080, true},
		{"localhost", 8081, false},
		{"[2001:db8::1]", 443, true},
		{"2001:db8:0::1", 443, true},
		{"2001:db8::1", 80, false},
		{"192.0.2.1", 1, true},
		{"192.0.2.2", 1, false},
		{"", 443, false},
	}
	for _, tt := range tests {
		if got := s.AllowsHost(tt.host, tt.port); got != tt.want {
			t.Errorf("AllowsHost(%q, %d): got %v, want %v", tt.host, tt.port, got, tt.want)
		}
	}
}
