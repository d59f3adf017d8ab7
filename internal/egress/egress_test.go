package egress

import (
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/airlock-sandbox/airlock/internal/policy"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// testNetwork exercises every kind of entry.
var testNetwork = policy.Network{
	AllowDomains: []string{
		"example.com", "*.github.com", "api.example.org:8443", "localhost:3000",
		"192.0.2.10", "[2001:db8::10]:8080", "Mixed.Case.Example",
	},
	DenyDomains: []string{"evil.example.com", "*.bad.github.com", "*:25", "198.51.100.99"},
	AllowCIDRs: []string{
		"10.0.0.0/8", "203.0.113.0/24:8080", "127.0.0.1/32:5432", "169.254.169.254/32",
		"0.0.0.0/0:9999", "fd00::/8", "::ffff:172.16.0.0/108",
	},
	DenyCIDRs: []string{"10.9.0.0/16", "198.51.100.7", "2001:db8:dead::/48"},
}

func compile(t testing.TB, n policy.Network) *Policy {
	t.Helper()
	p, err := Compile(n)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

type wantVerdict struct {
	allow   bool
	rule    string
	hint    string
	noMatch bool
	reason  string // substring
}

func checkVerdict(t *testing.T, what string, got Verdict, want wantVerdict) {
	t.Helper()
	if got.Allow != want.allow {
		t.Errorf("%s Allow: got %v, want %v (%+v)", what, got.Allow, want.allow, got)
	}
	if got.Rule != want.rule {
		t.Errorf("%s Rule: got %q, want %q", what, got.Rule, want.rule)
	}
	if got.Hint != want.hint {
		t.Errorf("%s Hint: got %q, want %q", what, got.Hint, want.hint)
	}
	if got.NoMatch != want.noMatch {
		t.Errorf("%s NoMatch: got %v, want %v", what, got.NoMatch, want.noMatch)
	}
	if !strings.Contains(got.Reason, want.reason) {
		t.Errorf("%s Reason: got %q, want it to contain %q", what, got.Reason, want.reason)
	}
	if got.Reason == "" {
		t.Errorf("%s Reason: got empty, want a reason", what)
	}
}

func TestCheckName(t *testing.T) {
	p := compile(t, testNetwork)
	tests := []struct {
		name     string
		host     string
		port     int
		wantName string
		wantLit  string
		want     wantVerdict
	}{
		// Names and the allow list.
		{"exact", "example.com", 443, "example.com", "", wantVerdict{allow: true, rule: "allow_domains: example.com", reason: `example.com:443 matches allow_domains entry "example.com"`}},
		{"exact port 80", "example.com", 80, "example.com", "", wantVerdict{allow: true, rule: "allow_domains: example.com"}},
		{"normalised", "EXAMPLE.Com.", 443, "example.com", "", wantVerdict{allow: true, rule: "allow_domains: example.com"}},
		{"exact other port", "example.com", 8080, "example.com", "", wantVerdict{rule: "", hint: "--allow-domain example.com:8080", noMatch: true, reason: `allow_domains entry "example.com" covers ports 80 and 443 only`}},
		{"exact no subdomain", "www.example.com", 443, "www.example.com", "", wantVerdict{hint: "--allow-domain www.example.com", noMatch: true, reason: "no allow_domains entry matches it"}},
		{"suffix is not a subdomain", "badexample.com", 443, "badexample.com", "", wantVerdict{hint: "--allow-domain badexample.com", noMatch: true}},
		{"wildcard subdomain", "api.github.com", 443, "api.github.com", "", wantVerdict{allow: true, rule: "allow_domains: *.github.com"}},
		{"wildcard deep", "a.b.github.com", 80, "a.b.github.com", "", wantVerdict{allow: true, rule: "allow_domains: *.github.com"}},
		{"wildcard upper", "API.GitHub.com", 443, "api.github.com", "", wantVerdict{allow: true, rule: "allow_domains: *.github.com"}},
		{"wildcard not apex", "github.com", 443, "github.com", "", wantVerdict{hint: "--allow-domain github.com", noMatch: true}},
		{"wildcard not suffix", "xgithub.com", 443, "xgithub.com", "", wantVerdict{hint: "--allow-domain xgithub.com", noMatch: true}},
		{"wildcard other port", "api.github.com", 22, "api.github.com", "", wantVerdict{hint: "--allow-domain api.github.com:22", noMatch: true, reason: `allow_domains entry "*.github.com" covers ports 80 and 443 only`}},
		{"port entry", "api.example.org", 8443, "api.example.org", "", wantVerdict{allow: true, rule: "allow_domains: api.example.org:8443"}},
		{"port entry default port", "api.example.org", 443, "api.example.org", "", wantVerdict{hint: "--allow-domain api.example.org", noMatch: true, reason: "covers port 8443 only"}},
		{"entry written in capitals", "mixed.case.example", 443, "mixed.case.example", "", wantVerdict{allow: true, rule: "allow_domains: Mixed.Case.Example"}},
		{"localhost", "localhost", 3000, "localhost", "", wantVerdict{allow: true, rule: "allow_domains: localhost:3000"}},
		{"localhost other port", "LocalHost.", 80, "localhost", "", wantVerdict{hint: "--allow-domain localhost", noMatch: true}},
		{"single label", "intranet", 443, "intranet", "", wantVerdict{hint: "", noMatch: true}},
		{"underscore", "a_b.example.com", 443, "a_b.example.com", "", wantVerdict{hint: "--allow-domain a_b.example.com", noMatch: true}},
		{"punycode", "xn--bcher-kva.example", 443, "xn--bcher-kva.example", "", wantVerdict{hint: "--allow-domain xn--bcher-kva.example", noMatch: true}},

		// Deny beats allow.
		{"deny exact", "evil.example.com", 443, "evil.example.com", "", wantVerdict{rule: "deny_domains: evil.example.com", hint: `remove "evil.example.com" from network.deny_domains`, reason: "denied by deny_domains"}},
		{"deny wildcard over allow wildcard", "x.bad.github.com", 443, "x.bad.github.com", "", wantVerdict{rule: "deny_domains: *.bad.github.com", hint: `remove "*.bad.github.com" from network.deny_domains`}},
		{"deny wildcard not apex", "bad.github.com", 443, "bad.github.com", "", wantVerdict{allow: true, rule: "allow_domains: *.github.com"}},
		{"deny star port", "api.github.com", 25, "api.github.com", "", wantVerdict{rule: "deny_domains: *:25", hint: `remove "*:25" from network.deny_domains`}},
		{"deny star port literal", "10.1.2.3", 25, "", "10.1.2.3", wantVerdict{rule: "deny_domains: *:25", hint: `remove "*:25" from network.deny_domains`}},

		// Bad hosts and ports.
		{"unicode", "bücher.example", 443, "xn--bcher-kva.example", "", wantVerdict{hint: "--allow-domain xn--bcher-kva.example", noMatch: true}},
		{"fullwidth IP literal is refused as the literal", "１２７．０．０．１", 443, "", "127.0.0.1", wantVerdict{reason: "127.0.0.1", hint: "--allow-cidr 127.0.0.1/32"}},
		{"invalid punycode", "xn--zz.example", 443, "", "", wantVerdict{reason: "invalid international label"}},
		{"empty", "", 443, "", "", wantVerdict{reason: "empty host"}},
		{"space", "example.com x", 443, "", "", wantVerdict{reason: `invalid host "example.com x"`}},
		{"host with port", "example.com:443", 443, "", "", wantVerdict{reason: "invalid host"}},
		{"port zero", "example.com", 0, "example.com", "", wantVerdict{reason: "invalid port 0"}},
		{"port too big", "example.com", 65536, "example.com", "", wantVerdict{reason: "invalid port 65536"}},
		{"bad ipv4", "1.2.3.256", 443, "", "", wantVerdict{reason: "larger than 255"}},
		{"numeric tld", "example.123", 443, "", "", wantVerdict{reason: "invalid IPv4"}},

		// IP literals need an address entry.
		{"cidr", "10.1.2.3", 443, "", "10.1.2.3", wantVerdict{allow: true, rule: "allow_cidrs: 10.0.0.0/8", reason: `covered by allow_cidrs entry "10.0.0.0/8"`}},
		{"cidr decimal", "167838211", 443, "", "10.1.2.3", wantVerdict{allow: true, rule: "allow_cidrs: 10.0.0.0/8"}},
		{"cidr octal", "012.1.2.3", 80, "", "10.1.2.3", wantVerdict{allow: true, rule: "allow_cidrs: 10.0.0.0/8"}},
		{"cidr hex", "0xa010203", 80, "", "10.1.2.3", wantVerdict{allow: true, rule: "allow_cidrs: 10.0.0.0/8"}},
		{"cidr short", "10.66051", 80, "", "10.1.2.3", wantVerdict{allow: true, rule: "allow_cidrs: 10.0.0.0/8"}},
		{"cidr mapped", "::ffff:10.1.2.3", 443, "", "::ffff:10.1.2.3", wantVerdict{allow: true, rule: "allow_cidrs: 10.0.0.0/8"}},
		{"cidr 6to4", "2002:a01:203::1", 443, "", "2002:a01:203::1", wantVerdict{allow: true, rule: "allow_cidrs: 10.0.0.0/8"}},
		{"cidr other port", "10.1.2.3", 22, "", "10.1.2.3", wantVerdict{hint: "--allow-cidr 10.1.2.3/32:22", reason: "no allow_cidrs entry covers it"}},
		{"cidr entry with port", "203.0.113.5", 8080, "", "203.0.113.5", wantVerdict{allow: true, rule: "allow_cidrs: 203.0.113.0/24:8080"}},
		{"cidr entry with port, other port", "203.0.113.5", 443, "", "203.0.113.5", wantVerdict{hint: "--allow-cidr 203.0.113.5/32"}},
		{"mapped cidr entry", "172.16.3.4", 443, "", "172.16.3.4", wantVerdict{allow: true, rule: "allow_cidrs: ::ffff:172.16.0.0/108"}},
		{"deny cidr beats allow cidr", "10.9.1.1", 443, "", "10.9.1.1", wantVerdict{rule: "deny_cidrs: 10.9.0.0/16", hint: `remove "10.9.0.0/16" from network.deny_cidrs`}},
		{"deny cidr decimal", "168362241", 443, "", "10.9.1.1", wantVerdict{rule: "deny_cidrs: 10.9.0.0/16", hint: `remove "10.9.0.0/16" from network.deny_cidrs`}},
		{"deny bare address", "198.51.100.7", 443, "", "198.51.100.7", wantVerdict{rule: "deny_cidrs: 198.51.100.7", hint: `remove "198.51.100.7" from network.deny_cidrs`}},
		{"deny address in deny_domains", "198.51.100.99", 443, "", "198.51.100.99", wantVerdict{rule: "deny_domains: 198.51.100.99", hint: `remove "198.51.100.99" from network.deny_domains`}},
		{"deny ipv6 cidr", "[2001:db8:dead::1]", 8080, "", "2001:db8:dead::1", wantVerdict{rule: "deny_cidrs: 2001:db8:dead::/48", hint: `remove "2001:db8:dead::/48" from network.deny_cidrs`}},
		{"address in allow_domains", "192.0.2.10", 443, "", "192.0.2.10", wantVerdict{allow: true, rule: "allow_domains: 192.0.2.10"}},
		{"address in allow_domains decimal", "3221225994", 80, "", "192.0.2.10", wantVerdict{allow: true, rule: "allow_domains: 192.0.2.10"}},
		{"ipv6 in allow_domains", "[2001:db8::10]", 8080, "", "2001:db8::10", wantVerdict{allow: true, rule: "allow_domains: [2001:db8::10]:8080"}},
		{"ipv6 in allow_domains no brackets", "2001:DB8:0::10", 8080, "", "2001:db8::10", wantVerdict{allow: true, rule: "allow_domains: [2001:db8::10]:8080"}},
		{"ipv6 in allow_domains other port", "[2001:db8::10]", 443, "", "2001:db8::10", wantVerdict{hint: "--allow-cidr 2001:db8::10/128"}},
		{"public literal", "8.8.8.8", 443, "", "8.8.8.8", wantVerdict{hint: "--allow-cidr 8.8.8.8/32", noMatch: true}},
		{"public literal port entry", "8.8.8.8", 9999, "", "8.8.8.8", wantVerdict{allow: true, rule: "allow_cidrs: 0.0.0.0/0:9999"}},
		{"loopback exact entry", "127.0.0.1", 5432, "", "127.0.0.1", wantVerdict{allow: true, rule: "allow_cidrs: 127.0.0.1/32:5432"}},
		{"loopback decimal", "2130706433", 80, "", "127.0.0.1", wantVerdict{hint: "--allow-cidr 127.0.0.1/32"}},
		{"loopback octal", "0177.0.0.1", 80, "", "127.0.0.1", wantVerdict{hint: "--allow-cidr 127.0.0.1/32"}},
		{"loopback octal whole", "017700000001", 80, "", "127.0.0.1", wantVerdict{hint: "--allow-cidr 127.0.0.1/32"}},
		{"loopback hex", "0x7f.0.0.1", 80, "", "127.0.0.1", wantVerdict{hint: "--allow-cidr 127.0.0.1/32"}},
		{"loopback hex whole", "0x7f000001", 80, "", "127.0.0.1", wantVerdict{hint: "--allow-cidr 127.0.0.1/32"}},
		{"loopback short", "127.1", 80, "", "127.0.0.1", wantVerdict{hint: "--allow-cidr 127.0.0.1/32"}},
		{"loopback mixed", "0x7f.0.01", 8000, "", "127.0.0.1", wantVerdict{hint: "--allow-cidr 127.0.0.1/32:8000"}},
		{"loopback v6", "[::1]", 80, "", "::1", wantVerdict{hint: "--allow-cidr ::1/128"}},
		{"loopback mapped", "::ffff:127.0.0.1", 80, "", "::ffff:127.0.0.1", wantVerdict{hint: "--allow-cidr 127.0.0.1/32", reason: "(it embeds 127.0.0.1)"}},
		{"loopback nat64", "64:ff9b::7f00:1", 80, "", "64:ff9b::7f00:1", wantVerdict{hint: "--allow-cidr 127.0.0.1/32"}},
		{"loopback 6to4", "2002:7f00:1::", 80, "", "2002:7f00:1::", wantVerdict{hint: "--allow-cidr 127.0.0.1/32"}},
		{"loopback teredo", "2001:0:4136:e378:8000:63bf:80ff:fffe", 80, "", "2001:0:4136:e378:8000:63bf:80ff:fffe", wantVerdict{hint: "--allow-cidr 127.0.0.1/32"}},
		{"link-local zone", "fe80::1%eth0", 80, "", "fe80::1%eth0", wantVerdict{hint: "--allow-cidr fe80::1/128"}},
		{"link-local url zone", "[fe80::1%25eth0]", 80, "", "fe80::1%eth0", wantVerdict{hint: "--allow-cidr fe80::1/128"}},
		{"metadata named", "169.254.169.254", 80, "", "169.254.169.254", wantVerdict{allow: true, rule: "allow_cidrs: 169.254.169.254/32"}},
		{"metadata hex named", "0xa9fea9fe", 80, "", "169.254.169.254", wantVerdict{allow: true, rule: "allow_cidrs: 169.254.169.254/32"}},
		{"metadata alibaba", "100.100.100.200", 80, "", "100.100.100.200", wantVerdict{hint: "", reason: "never a good idea"}},
		{"metadata aws v6", "[fd00:ec2::254]", 80, "", "fd00:ec2::254", wantVerdict{allow: true, rule: "allow_cidrs: fd00::/8"}},
		{"zero", "0", 80, "", "0.0.0.0", wantVerdict{hint: "--allow-cidr 0.0.0.0/32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, lit, v := p.CheckName(tt.host, tt.port)
			if name != tt.wantName {
				t.Errorf("CheckName(%q, %d) name: got %q, want %q", tt.host, tt.port, name, tt.wantName)
			}
			var wantLit netip.Addr
			if tt.wantLit != "" {
				wantLit = mustAddr(tt.wantLit)
			}
			if lit != wantLit {
				t.Errorf("CheckName(%q, %d) literal: got %v, want %v", tt.host, tt.port, lit, wantLit)
			}
			checkVerdict(t, "CheckName", v, tt.want)
		})
	}
}

func TestCheckAddr(t *testing.T) {
	p := compile(t, testNetwork).WithSelf(mustAddr("192.168.1.5"), mustAddr("::ffff:198.18.7.7"), mustAddr("2a01:4f8::5%eth0"), netip.Addr{})
	tests := []struct {
		name string
		host string // name as CheckName returned it
		ip   string
		port int
		want wantVerdict
	}{
		{"public", "api.github.com", "140.82.112.3", 443, wantVerdict{allow: true, rule: "allow_domains: *.github.com", reason: "140.82.112.3:443 (api.github.com:443) is a public address"}},
		{"public v6", "api.github.com", "2606:50c0:8000::154", 443, wantVerdict{allow: true, rule: "allow_domains: *.github.com"}},
		{"public mapped", "api.github.com", "::ffff:140.82.112.3", 443, wantVerdict{allow: true, rule: "allow_domains: *.github.com"}},
		{"public approved name", "other.example.net", "93.184.216.34", 443, wantVerdict{allow: true, rule: "address class: public"}},
		{"public literal", "", "8.8.8.8", 9999, wantVerdict{allow: true, rule: "allow_cidrs: 0.0.0.0/0:9999"}},
		{"loopback", "api.github.com", "127.0.0.1", 443, wantVerdict{rule: "address class: loopback", hint: "--allow-cidr 127.0.0.1/32", reason: "loopback 127.0.0.0/8"}},
		{"loopback other", "api.github.com", "127.3.4.5", 8080, wantVerdict{rule: "address class: loopback", hint: "--allow-cidr 127.3.4.5/32:8080"}},
		{"loopback v6", "api.github.com", "::1", 443, wantVerdict{rule: "address class: loopback", hint: "--allow-cidr ::1/128"}},
		{"loopback mapped", "api.github.com", "::ffff:127.0.0.1", 443, wantVerdict{rule: "address class: loopback", hint: "--allow-cidr 127.0.0.1/32", reason: "(it embeds 127.0.0.1)"}},
		{"loopback nat64", "api.github.com", "64:ff9b::7f00:1", 443, wantVerdict{rule: "address class: loopback", hint: "--allow-cidr 127.0.0.1/32"}},
		{"loopback 6to4", "api.github.com", "2002:7f00:1::1", 443, wantVerdict{rule: "address class: loopback", hint: "--allow-cidr 127.0.0.1/32"}},
		{"loopback teredo", "api.github.com", "2001:0:4136:e378:8000:63bf:80ff:fffe", 443, wantVerdict{rule: "address class: loopback", hint: "--allow-cidr 127.0.0.1/32"}},
		{"loopback exact entry", "api.github.com", "127.0.0.1", 5432, wantVerdict{allow: true, rule: "allow_cidrs: 127.0.0.1/32:5432"}},
		{"loopback broad entry does not open", "api.github.com", "127.0.0.1", 9999, wantVerdict{rule: "address class: loopback", hint: "--allow-cidr 127.0.0.1/32:9999", reason: `allow_cidrs entry "0.0.0.0/0:9999" covers it but is wider than that range`}},
		{"unspecified broad entry does not open", "", "0.0.0.0", 9999, wantVerdict{rule: "address class: unspecified", hint: "--allow-cidr 0.0.0.0/32:9999"}},
		{"private entry", "api.github.com", "10.1.2.3", 443, wantVerdict{allow: true, rule: "allow_cidrs: 10.0.0.0/8", reason: "opened by allow_cidrs entry"}},
		{"private entry other port", "api.github.com", "10.1.2.3", 22, wantVerdict{rule: "address class: private", hint: "--allow-cidr 10.1.2.3/32:22"}},
		{"private 172", "api.github.com", "172.20.0.1", 443, wantVerdict{allow: true, rule: "allow_cidrs: ::ffff:172.16.0.0/108"}},
		{"private 192.168", "api.github.com", "192.168.0.1", 443, wantVerdict{rule: "address class: private", hint: "--allow-cidr 192.168.0.1/32"}},
		{"private 6to4", "api.github.com", "2002:c0a8:1::", 443, wantVerdict{rule: "address class: private", hint: "--allow-cidr 192.168.0.1/32"}},
		{"private teredo", "api.github.com", "2001:0:4136:e378:8000:63bf:3f57:fefe", 443, wantVerdict{rule: "address class: private", hint: "--allow-cidr 192.168.1.1/32"}},
		{"deny cidr", "api.github.com", "10.9.0.1", 443, wantVerdict{rule: "deny_cidrs: 10.9.0.0/16", hint: `remove "10.9.0.0/16" from network.deny_cidrs`}},
		{"deny cidr mapped", "api.github.com", "::ffff:198.51.100.7", 443, wantVerdict{rule: "deny_cidrs: 198.51.100.7", hint: `remove "198.51.100.7" from network.deny_cidrs`}},
		{"deny cidr nat64", "api.github.com", "64:ff9b::c633:6407", 443, wantVerdict{rule: "deny_cidrs: 198.51.100.7", hint: `remove "198.51.100.7" from network.deny_cidrs`}},
		{"deny name", "x.bad.github.com", "140.82.112.3", 443, wantVerdict{rule: "deny_domains: *.bad.github.com", hint: `remove "*.bad.github.com" from network.deny_domains`}},
		{"deny star port", "api.github.com", "140.82.112.3", 25, wantVerdict{rule: "deny_domains: *:25", hint: `remove "*:25" from network.deny_domains`}},
		{"deny star port literal", "", "8.8.8.8", 25, wantVerdict{rule: "deny_domains: *:25", hint: `remove "*:25" from network.deny_domains`}},
		{"link-local", "api.github.com", "169.254.1.1", 443, wantVerdict{rule: "address class: link-local", hint: "--allow-cidr 169.254.1.1/32"}},
		{"link-local zone", "", "fe80::1%eth0", 443, wantVerdict{rule: "address class: link-local", hint: "--allow-cidr fe80::1/128"}},
		{"cgnat", "api.github.com", "100.64.1.1", 443, wantVerdict{rule: "address class: cgnat", hint: "--allow-cidr 100.64.1.1/32"}},
		{"multicast", "api.github.com", "224.0.0.251", 443, wantVerdict{rule: "address class: multicast", hint: "--allow-cidr 224.0.0.251/32"}},
		{"multicast v6", "api.github.com", "ff02::fb", 443, wantVerdict{rule: "address class: multicast", hint: "--allow-cidr ff02::fb/128"}},
		{"broadcast", "api.github.com", "255.255.255.255", 443, wantVerdict{rule: "address class: broadcast", hint: "--allow-cidr 255.255.255.255/32"}},
		{"reserved", "api.github.com", "240.1.2.3", 443, wantVerdict{rule: "address class: reserved", hint: "--allow-cidr 240.1.2.3/32"}},
		{"documentation", "api.github.com", "192.0.2.1", 443, wantVerdict{rule: "address class: documentation", hint: "--allow-cidr 192.0.2.1/32"}},
		{"documentation exact entry", "", "192.0.2.10", 443, wantVerdict{allow: true, rule: "allow_domains: 192.0.2.10"}},
		{"benchmark", "api.github.com", "198.18.0.1", 443, wantVerdict{rule: "address class: benchmark", hint: "--allow-cidr 198.18.0.1/32"}},
		{"unique local entry", "api.github.com", "fd12::1", 443, wantVerdict{allow: true, rule: "allow_cidrs: fd00::/8"}},
		{"unique local no entry", "api.github.com", "fc00::1", 443, wantVerdict{rule: "address class: private", hint: "--allow-cidr fc00::1/128"}},
		{"nat64 local ambiguous", "api.github.com", "64:ff9b:1:ab::808:808", 443, wantVerdict{rule: "address class: nat64", hint: "--allow-cidr 64:ff9b:1:ab::808:808/128"}},
		{"metadata named", "api.github.com", "169.254.169.254", 80, wantVerdict{allow: true, rule: "allow_cidrs: 169.254.169.254/32", reason: "cloud instance metadata"}},
		{"metadata named teredo", "api.github.com", "2001:0:4136:e378:8000:63bf:5601:5601", 80, wantVerdict{allow: true, rule: "allow_cidrs: 169.254.169.254/32"}},
		{"metadata not on port", "api.github.com", "169.254.169.254", 8080, wantVerdict{rule: "address class: metadata", reason: "never a good idea"}},
		{"metadata ecs", "api.github.com", "169.254.170.2", 80, wantVerdict{rule: "address class: metadata", reason: "AWS ECS"}},
		{"metadata alibaba", "api.github.com", "100.100.100.200", 80, wantVerdict{rule: "address class: metadata", reason: "Alibaba"}},
		{"metadata alibaba mapped", "api.github.com", "::ffff:100.100.100.200", 80, wantVerdict{rule: "address class: metadata"}},
		{"metadata oracle", "api.github.com", "192.0.0.192", 80, wantVerdict{rule: "address class: metadata"}},
		{"metadata azure", "api.github.com", "168.63.129.16", 80, wantVerdict{rule: "address class: metadata"}},
		{"metadata aws v6 inside opened range", "api.github.com", "fd00:ec2::254", 80, wantVerdict{rule: "address class: metadata", reason: `allow_cidrs entry "fd00::/8" covers it but is wider`}},
		{"self", "api.github.com", "192.168.1.5", 443, wantVerdict{rule: "address class: self", hint: "--allow-cidr 192.168.1.5/32"}},
		{"self mapped", "api.github.com", "::ffff:192.168.1.5", 443, wantVerdict{rule: "address class: self", hint: "--allow-cidr 192.168.1.5/32"}},
		{"self given mapped", "api.github.com", "198.18.7.7", 443, wantVerdict{rule: "address class: self", hint: "--allow-cidr 198.18.7.7/32"}},
		{"self public v6 zone", "api.github.com", "2a01:4f8::5", 443, wantVerdict{rule: "address class: self", hint: "--allow-cidr 2a01:4f8::5/128"}},
		{"localhost", "localhost", "127.0.0.1", 3000, wantVerdict{allow: true, rule: "allow_domains: localhost:3000", reason: "opened for localhost"}},
		{"localhost v6", "localhost", "::1", 3000, wantVerdict{allow: true, rule: "allow_domains: localhost:3000"}},
		{"localhost other port", "localhost", "127.0.0.1", 3001, wantVerdict{rule: "address class: loopback", hint: "--allow-domain localhost:3001"}},
		{"localhost private", "localhost", "192.168.3.3", 3000, wantVerdict{rule: "address class: private", hint: "--allow-cidr 192.168.3.3/32:3000"}},
		{"other name to loopback", "evil.github.com", "127.0.0.1", 3000, wantVerdict{rule: "address class: loopback", hint: "--allow-cidr 127.0.0.1/32:3000"}},
		{"name not normalised", "API.github.com", "140.82.112.3", 443, wantVerdict{reason: "CheckAddr takes the name CheckName returned"}},
		{"name is a literal", "8.8.8.8", "8.8.8.8", 443, wantVerdict{reason: "CheckAddr takes the name CheckName returned"}},
		{"port zero", "api.github.com", "140.82.112.3", 0, wantVerdict{reason: "invalid port 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := p.CheckAddr(tt.host, mustAddr(tt.ip), tt.port)
			checkVerdict(t, "CheckAddr", v, tt.want)
		})
	}
	t.Run("invalid address", func(t *testing.T) {
		checkVerdict(t, "CheckAddr", p.CheckAddr("api.github.com", netip.Addr{}, 443), wantVerdict{reason: "invalid address"})
	})
}

func TestSelfNamedExactly(t *testing.T) {
	n := policy.Network{AllowDomains: []string{"example.com"}, AllowCIDRs: []string{"192.168.0.0/16", "192.168.1.5/32"}}
	p := compile(t, n).WithSelf(mustAddr("192.168.1.5"))
	checkVerdict(t, "self named", p.CheckAddr("example.com", mustAddr("192.168.1.5"), 443),
		wantVerdict{allow: true, rule: "allow_cidrs: 192.168.1.5/32"})
	checkVerdict(t, "neighbour", p.CheckAddr("example.com", mustAddr("192.168.1.6"), 443),
		wantVerdict{allow: true, rule: "allow_cidrs: 192.168.0.0/16"})
	// WithSelf returns a copy: the original does not refuse the address.
	q := compile(t, policy.Network{AllowDomains: []string{"example.com"}})
	q2 := q.WithSelf(mustAddr("8.8.4.4"))
	checkVerdict(t, "original", q.CheckAddr("example.com", mustAddr("8.8.4.4"), 443),
		wantVerdict{allow: true, rule: "allow_domains: example.com"})
	checkVerdict(t, "copy", q2.CheckAddr("example.com", mustAddr("8.8.4.4"), 443),
		wantVerdict{rule: "address class: self", hint: "--allow-cidr 8.8.4.4/32"})
	q3 := q2.WithSelf(mustAddr("8.8.8.8"))
	checkVerdict(t, "copy of copy keeps the first", q3.CheckAddr("example.com", mustAddr("8.8.4.4"), 443),
		wantVerdict{rule: "address class: self", hint: "--allow-cidr 8.8.4.4/32"})
	checkVerdict(t, "copy does not see the second", q2.CheckAddr("example.com", mustAddr("8.8.8.8"), 443),
		wantVerdict{allow: true, rule: "allow_domains: example.com"})
}

func TestEmptyAllowlist(t *testing.T) {
	p := compile(t, policy.Network{})
	for _, host := range []string{"example.com", "localhost", "github.com"} {
		t.Run(host, func(t *testing.T) {
			_, _, v := p.CheckName(host, 443)
			checkVerdict(t, "CheckName", v, wantVerdict{hint: "--allow-domain " + host, noMatch: true, reason: "the policy allows no destinations"})
		})
	}
	t.Run("literal", func(t *testing.T) {
		_, _, v := p.CheckName("1.1.1.1", 443)
		checkVerdict(t, "CheckName", v, wantVerdict{hint: "--allow-cidr 1.1.1.1/32", noMatch: true})
	})
	t.Run("metadata literal", func(t *testing.T) {
		_, _, v := p.CheckName("169.254.169.254", 80)
		checkVerdict(t, "CheckName", v, wantVerdict{reason: "never a good idea"})
	})
	t.Run("metadata addr", func(t *testing.T) {
		checkVerdict(t, "CheckAddr", p.CheckAddr("metadata.google.internal", mustAddr("169.254.169.254"), 80),
			wantVerdict{rule: "address class: metadata", reason: "never a good idea"})
	})
}

func TestDenyEverything(t *testing.T) {
	p := compile(t, policy.Network{AllowDomains: []string{"example.com"}, AllowCIDRs: []string{"0.0.0.0/0"}, DenyDomains: []string{"*"}})
	for _, host := range []string{"example.com", "8.8.8.8", "[::1]"} {
		t.Run(host, func(t *testing.T) {
			_, _, v := p.CheckName(host, 443)
			checkVerdict(t, "CheckName", v, wantVerdict{rule: "deny_domains: *", hint: `remove "*" from network.deny_domains`})
		})
	}
	checkVerdict(t, "CheckAddr", p.CheckAddr("example.com", mustAddr("8.8.8.8"), 443),
		wantVerdict{rule: "deny_domains: *", hint: `remove "*" from network.deny_domains`})
}

func TestNilPolicy(t *testing.T) {
	var p *Policy
	if _, _, v := p.CheckName("example.com", 443); v.Allow {
		t.Errorf("nil CheckName: got allow, want deny")
	}
	if v := p.CheckAddr("example.com", mustAddr("8.8.8.8"), 443); v.Allow {
		t.Errorf("nil CheckAddr: got allow, want deny")
	}
	if p.WithSelf(mustAddr("8.8.8.8")) != nil {
		t.Errorf("nil WithSelf: got a policy, want nil")
	}
}

// TestHintsWork applies every hint CheckName and CheckAddr give for a
// denial and checks that the destination is then allowed.
func TestHintsWork(t *testing.T) {
	cases := []struct {
		host string
		ip   string // resolved address, "" for the literal
		port int
	}{
		{"api.example.com", "93.184.216.34", 443},
		{"api.example.com", "93.184.216.34", 8443},
		{"localhost", "127.0.0.1", 5173},
		{"dev.internal.example", "10.1.2.3", 8080},
		{"dev.internal.example", "fd12::3", 443},
		{"127.0.0.1", "", 3000},
		{"0x7f.1", "", 80},
		{"::ffff:10.0.0.7", "", 443},
		{"2002:a00:7::", "", 443},
		{"[fe80::1%25eth0]", "", 8080},
		{"8.8.8.8", "", 53},
	}
	for _, c := range cases {
		t.Run(c.host, func(t *testing.T) {
			var n policy.Network
			for range 3 {
				p := compile(t, n)
				name, lit, v := p.CheckName(c.host, c.port)
				if v.Allow {
					ip := lit
					if c.ip != "" {
						ip = mustAddr(c.ip)
					}
					v = p.CheckAddr(name, ip, c.port)
					if v.Allow {
						return
					}
				}
				flag, value, ok := strings.Cut(v.Hint, " ")
				switch {
				case !ok:
					t.Fatalf("denied with no usable hint: %+v", v)
				case flag == "--allow-domain":
					n.AllowDomains = append(n.AllowDomains, value)
				case flag == "--allow-cidr":
					n.AllowCIDRs = append(n.AllowCIDRs, value)
				default:
					t.Fatalf("unknown hint flag %q", flag)
				}
				if err := (&policy.Policy{Network: n}).Validate(); err != nil {
					t.Fatalf("hint %q gives an invalid policy: %v", v.Hint, err)
				}
			}
			t.Fatalf("still denied after following the hints: %+v", n)
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	p := compile(t, testNetwork).WithSelf(mustAddr("192.168.1.5"))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				_, _, v := p.CheckName("api.github.com", 443)
				if !v.Allow {
					t.Errorf("goroutine %d/%d: CheckName denied: %+v", i, j, v)
					return
				}
				if v := p.CheckAddr("api.github.com", mustAddr("192.168.1.5"), 443); v.Allow {
					t.Errorf("goroutine %d/%d: CheckAddr allowed self", i, j)
					return
				}
				_ = p.WithSelf(mustAddr("10.0.0.1"))
			}
		})
	}
	wg.Wait()
}

// TestWithPins: a --resolve pin opens its address for its own name only,
// and deny rules and the proxy's own addresses still win.
func TestWithPins(t *testing.T) {
	base, err := Compile(policy.Network{AllowDomains: []string{"app.test:8080", "other.test:8080"}, DenyCIDRs: []string{"10.9.9.9/32"}})
	if err != nil {
		t.Fatal(err)
	}
	loop := netip.MustParseAddr("127.0.0.1")
	denied := netip.MustParseAddr("10.9.9.9")
	p := base.WithPins(map[string][]netip.Addr{"APP.test.": {loop, denied}}).WithSelf(netip.MustParseAddr("127.0.0.2"))
	self := p.WithPins(map[string][]netip.Addr{"app.test": {netip.MustParseAddr("127.0.0.2")}})
	cases := []struct {
		name  string
		p     *Policy
		host  string
		ip    netip.Addr
		allow bool
	}{
		{"pinned loopback for its name", p, "app.test", loop, true},
		{"same address for another name", p, "other.test", loop, false},
		{"without the pin", base, "app.test", loop, false},
		{"pinned but denied by deny_cidrs", p, "app.test", denied, false},
		{"pinned to the proxy's own address", self, "app.test", netip.MustParseAddr("127.0.0.2"), false},
		{"pinned to a metadata address", base.WithPins(map[string][]netip.Addr{"app.test": {netip.MustParseAddr("169.254.169.254")}}), "app.test", netip.MustParseAddr("169.254.169.254"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.p.CheckAddr(c.host, c.ip, 8080); got.Allow != c.allow {
				t.Errorf("CheckAddr(%q, %v): got allow=%v (%s), want %v", c.host, c.ip, got.Allow, got.Reason, c.allow)
			}
		})
	}
}
