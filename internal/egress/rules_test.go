package egress

import (
	"testing"

	"github.com/airlock-sandbox/airlock/internal/policy"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		net  policy.Network
		want string
	}{
		{"star in allow", policy.Network{AllowDomains: []string{"example.com", "*"}},
			`network.allow_domains[1]: invalid domain pattern "*": "*" alone is only allowed in a deny list; name the domains to allow`},
		{"scheme", policy.Network{AllowDomains: []string{"https://example.com"}},
			`network.allow_domains[0]: invalid domain pattern "https://example.com": no scheme or path; want HOST or HOST:PORT`},
		{"single label", policy.Network{DenyDomains: []string{"intranet"}},
			`network.deny_domains[0]: invalid domain pattern "intranet": want a fully qualified name with a dot, like "example.com" (or "localhost")`},
		{"short wildcard", policy.Network{AllowDomains: []string{"*.com"}},
			`network.allow_domains[0]: invalid domain pattern "*.com": a wildcard needs at least two labels after "*.", like "*.example.com"`},
		{"inner wildcard", policy.Network{AllowDomains: []string{"a.*.example.com"}},
			`network.allow_domains[0]: invalid domain pattern "a.*.example.com": the only wildcard form is a leading "*.", like "*.example.com"`},
		{"bad port", policy.Network{AllowDomains: []string{"example.com:0443"}},
			`network.allow_domains[0]: invalid domain pattern "example.com:0443": port "0443" is not a number from 1 to 65535`},
		{"bare ipv6", policy.Network{AllowDomains: []string{"2001:db8::1"}},
			`network.allow_domains[0]: invalid domain pattern "2001:db8::1": write an IPv6 address in brackets, like "[2001:db8::1]:443"`},
		{"numeric tld", policy.Network{AllowDomains: []string{"1.2.3.999"}},
			`network.allow_domains[0]: invalid domain pattern "1.2.3.999": numeric top-level label: not a domain name nor an IPv4 address`},
		{"trailing dot", policy.Network{AllowDomains: []string{"example.com."}},
			`network.allow_domains[0]: invalid domain pattern "example.com.": want a host name ("example.com"), a wildcard ("*.example.com"), "localhost" or an IP address ("192.0.2.1", "[2001:db8::1]"), with an optional ":PORT"`},
		{"cidr without bits", policy.Network{AllowCIDRs: []string{"10.0.0.1"}},
			`network.allow_cidrs[0]: invalid CIDR "10.0.0.1": want ADDRESS/BITS with an optional ":PORT", like "10.0.0.0/8" or "10.0.0.0/8:443"`},
		{"cidr host bits", policy.Network{AllowCIDRs: []string{"10.0.0.1/8"}},
			`network.allow_cidrs[0]: CIDR "10.0.0.1/8" has host bits set (did you mean "10.0.0.0/8"?)`},
		{"cidr bad port", policy.Network{DenyCIDRs: []string{"10.0.0.0/8:x"}},
			`network.deny_cidrs[0]: invalid CIDR "10.0.0.0/8:x": port "x" is not a number from 1 to 65535`},
		{"deny bare with zone", policy.Network{DenyCIDRs: []string{"fe80::1%eth0"}},
			`network.deny_cidrs[0]: invalid address "fe80::1%eth0": want an IP address or ADDRESS/BITS with an optional ":PORT", like "10.0.0.0/8" or "10.0.0.0/8:443"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.net)
			if err == nil {
				t.Fatalf("Compile: got %+v, want error %q", p, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Compile error:\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

// entryCases are entries for every list, valid and not, on which Compile
// and internal/policy must agree.
var entryCases = []string{
	"example.com", "EXAMPLE.com", "*.example.com", "*.Example.COM:8443", "a_b.example.com",
	"localhost", "localhost:3000", "LOCALHOST", "*", "*:25", "*.*.example.com", "*.com",
	"192.0.2.1", "192.0.2.1:80", "[2001:db8::1]", "[2001:db8::1]:443", "[::ffff:10.0.0.1]",
	"[192.0.2.1]", "[fe80::1%eth0]", "[2001:db8::1]x", "2001:db8::1", "example.com:0",
	"example.com:65536", "example.com:+1", "-a.example.com", "a-.example.com", "intranet",
	"example.com.", "http://example.com", "example.com/path", "", ":443", "1.2.3.999",
	"10.0.0.0/8", "10.0.0.0/8:443", "10.0.0.1/8", "10.0.0.1", "10.0.0.0/33", "::/0",
	"2001:db8::/32:443", "fe80::/10", "::ffff:10.0.0.0/104", "::1", "10.0.0.0/8:", "0.0.0.0/0:9999",
	"0177.0.0.1", "127.1", "ex ample.com", "a..b.com", "xn--bcher-kva.example",
}

func TestCompileAgreesWithPolicy(t *testing.T) {
	for _, e := range entryCases {
		for _, c := range entryLists(e) {
			t.Run(c.name+"/"+e, func(t *testing.T) {
				_, cerr := Compile(c.net)
				verr := (&policy.Policy{Network: c.net}).Validate()
				if (cerr == nil) != (verr == nil) {
					t.Errorf("entry %q in %s: Compile error %v, policy.Validate error %v; want both nil or both non-nil", e, c.name, cerr, verr)
				}
			})
		}
	}
}

type entryList struct {
	name string
	net  policy.Network
}

func entryLists(e string) []entryList {
	return []entryList{
		{"allow_domains", policy.Network{AllowDomains: []string{e}}},
		{"deny_domains", policy.Network{DenyDomains: []string{e}}},
		{"allow_cidrs", policy.Network{AllowCIDRs: []string{e}}},
		{"deny_cidrs", policy.Network{DenyCIDRs: []string{e}}},
	}
}

func TestAllowLocalBinding(t *testing.T) {
	for _, want := range []bool{false, true} {
		p, err := Compile(policy.Network{AllowLocalBinding: want})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.AllowLocalBinding(); got != want {
			t.Errorf("AllowLocalBinding: got %v, want %v", got, want)
		}
		if got := p.WithSelf(mustAddr("127.0.0.1")).AllowLocalBinding(); got != want {
			t.Errorf("WithSelf(...).AllowLocalBinding: got %v, want %v", got, want)
		}
	}
}
