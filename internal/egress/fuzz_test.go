package egress

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/airlock-sandbox/airlock/internal/policy"
)

// fuzzNetwork is the policy the fuzzers check against. Its address entries
// are all IPv4, so the oracles below can read them with netip alone.
var fuzzNetwork = policy.Network{
	AllowDomains: []string{"example.com", "*.github.com", "localhost", "192.0.2.10", "xn--bcher-kva.example"},
	DenyDomains:  []string{"evil.github.com", "*.bad.github.com"},
	AllowCIDRs:   []string{"10.0.0.0/8", "127.0.0.0/8:8080", "169.254.169.254/32", "8.8.8.0/24", "0.0.0.0/0:9999"},
	DenyCIDRs:    []string{"10.9.0.0/16", "8.8.8.8", "10.8.0.0/16:22"},
}

var hostSeeds = []string{
	"example.com", "EXAMPLE.COM.", "api.github.com", "evil.github.com", "x.bad.github.com", "github.com",
	"localhost", "xn--bcher-kva.example", "XN--BCHER-KVA.EXAMPLE.", "xn--zz.example", "bücher.example",
	"127.0.0.1", "2130706433", "0177.0.0.1", "017700000001", "0x7f.0.0.1", "0x7f000001", "127.1",
	"0x7f.1", "10.1.515", "0xa9fea9fe", "4294967296", "0x", "0", "08.1", "1.2.3.4.5", "example.123",
	"::1", "[::1]", "[fe80::1%25eth0]", "fe80::1%eth0", "::ffff:127.0.0.1", "::ffff:0:a00:1",
	"64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "64:ff9b:1:ab::1", "2002:a00:1::", "2001:0:4136:e378:8000:63bf:80ff:fffe",
	"fd00:ec2::254", "a..b", ".", "", "a_b.example.com", "%31.0.0.1", "192.0.2.10", "8.8.8.8", "8.8.8.9",
}

// addrEntry is an address entry of fuzzNetwork, read independently of
// the code under test.
type addrEntry struct {
	prefix netip.Prefix
	port   int // 0: none given
}

// fuzzEntries reads IPv4 "ADDR[/BITS][:PORT]" entries; others are skipped.
func fuzzEntries(lists ...[]string) []addrEntry {
	var out []addrEntry
	for _, list := range lists {
		for _, e := range list {
			text, portText, _ := strings.Cut(e, ":")
			port, _ := strconv.Atoi(portText)
			if p, err := netip.ParsePrefix(text); err == nil {
				out = append(out, addrEntry{p, port})
			} else if a, err := netip.ParseAddr(text); err == nil {
				out = append(out, addrEntry{netip.PrefixFrom(a, 32), port})
			}
		}
	}
	return out
}

// covers reports whether an entry contains ip for port: the port given, or
// 80 and 443 for an allow entry without one, or any port for a deny entry.
func covers(entries []addrEntry, ip netip.Addr, port int, deny bool) bool {
	return slices.ContainsFunc(entries, func(e addrEntry) bool {
		switch {
		case !e.prefix.Contains(ip):
			return false
		case e.port != 0:
			return e.port == port
		}
		return deny || port == 80 || port == 443
	})
}

// nameMatches is an independent reading of the domain patterns.
func nameMatches(patterns []string, name string) bool {
	for _, p := range patterns {
		if s, ok := strings.CutPrefix(p, "*."); ok {
			if strings.HasSuffix(name, "."+s) {
				return true
			}
		} else if name == p {
			return true
		}
	}
	return false
}

func FuzzCheckName(f *testing.F) {
	for _, h := range hostSeeds {
		f.Add(h, 443)
		f.Add(h, 8080)
	}
	p, err := Compile(fuzzNetwork)
	if err != nil {
		f.Fatal(err)
	}
	p = p.WithSelf(netip.MustParseAddr("10.0.0.2"))
	allowed := fuzzEntries(fuzzNetwork.AllowCIDRs, fuzzNetwork.AllowDomains)
	denied := fuzzEntries(fuzzNetwork.DenyCIDRs, fuzzNetwork.DenyDomains)
	f.Fuzz(func(t *testing.T, host string, port int) {
		name, lit, v := p.CheckName(host, port)
		if name != "" && lit.IsValid() {
			t.Fatalf("CheckName(%q): got both name %q and literal %v", host, name, lit)
		}
		if v.Allow && (port < 1 || port > 65535) {
			t.Fatalf("CheckName(%q, %d): allowed an invalid port", host, port)
		}
		if v.Allow && v.Rule == "" {
			t.Fatalf("CheckName(%q, %d): allowed with no rule: %+v", host, port, v)
		}
		if v.Allow && v.NoMatch {
			t.Fatalf("CheckName(%q, %d): allowed with NoMatch: %+v", host, port, v)
		}
		if name != "" {
			if len(name) > 253 || strings.ToLower(name) != name || strings.TrimFunc(name, func(r rune) bool {
				return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
			}) != "" {
				t.Fatalf("CheckName(%q): got name %q, want lowercase letters, digits, '-', '_' and '.'", host, name)
			}
			if v.Allow && (!nameMatches(fuzzNetwork.AllowDomains, name) || nameMatches(fuzzNetwork.DenyDomains, name)) {
				t.Fatalf("CheckName(%q, %d): allowed name %q that the patterns do not allow: %+v", host, port, name, v)
			}
		}
		if lit.IsValid() {
			u := Unmap(lit.WithZone(""))
			if v.Allow && !covers(allowed, u, port, false) {
				t.Fatalf("CheckName(%q, %d): allowed literal %v (unmapped %v) that no allow entry contains: %+v", host, port, lit, u, v)
			}
			if v.Allow && (covers(denied, u, port, true) || covers(denied, lit.WithZone(""), port, true)) {
				t.Fatalf("CheckName(%q, %d): allowed literal %v that a deny entry contains: %+v", host, port, lit, v)
			}
			if Classify(lit) == ClassMetadata && v.Hint != "" {
				t.Fatalf("CheckName(%q, %d): hint %q for a metadata address", host, port, v.Hint)
			}
			if v.Allow {
				av := p.CheckAddr("", lit, port)
				if c := Classify(lit); av.Allow && c != ClassPublic && !strings.HasPrefix(av.Rule, "allow_") {
					t.Fatalf("CheckAddr(%v, %d): allowed a %s address with rule %q", lit, port, c, av.Rule)
				}
				if av.Allow && Unmap(lit.WithZone("")) == netip.MustParseAddr("10.0.0.2") {
					t.Fatalf("CheckAddr(%v, %d): allowed the proxy's own address: %+v", lit, port, av)
				}
			}
		}
		// Normalisation is idempotent and decides the same way.
		var again string
		switch {
		case name != "":
			again = name
		case lit.IsValid():
			again = lit.String()
		default:
			return
		}
		name2, lit2, v2 := p.CheckName(again, port)
		if name2 != name || lit2 != lit {
			t.Fatalf("CheckName(%q) = (%q, %v) but CheckName(%q) = (%q, %v)", host, name, lit, again, name2, lit2)
		}
		if v2.Allow != v.Allow || v2.Rule != v.Rule || v2.Hint != v.Hint {
			t.Fatalf("CheckName(%q) = %+v but CheckName(%q) = %+v", host, v, again, v2)
		}
	})
}

// FuzzUnmapClassify checks that an IPv6 form of an IPv4 address is judged
// as the IPv4 address, so a private one never passes as public.
func FuzzUnmapClassify(f *testing.F) {
	for _, s := range []string{"::ffff:127.0.0.1", "64:ff9b::a00:1", "64:ff9b:1::c0a8:1", "64:ff9b:1:1::1", "2002:a9fe:a9fe::1", "2001:0:1:2:3:4:5:6", "::", "fd00:ec2::254", "2606:4700::1111"} {
		a := netip.MustParseAddr(s).As16()
		f.Add(a[:])
	}
	f.Add([]byte{127, 0, 0, 1})
	f.Add([]byte{10, 1, 2, 3, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 9, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		var raw [16]byte
		copy(raw[:], b)
		ip := netip.AddrFrom16(raw)
		u := Unmap(ip)
		if Unmap(u) != u {
			t.Fatalf("Unmap(Unmap(%v)) = %v, want %v", ip, Unmap(u), u)
		}
		if u != ip {
			if !u.Is4() {
				t.Fatalf("Unmap(%v) = %v, want an IPv4 address or %v itself", ip, u, ip)
			}
			if Classify(ip) != Classify(u) {
				t.Fatalf("Classify(%v) = %q, want %q, the class of the embedded %v", ip, Classify(ip), Classify(u), u)
			}
		}
		if c := Classify(ip); c == ClassInvalid || c == ClassSelf {
			t.Fatalf("Classify(%v) = %q, want a real class", ip, c)
		}
		var a4 [4]byte
		copy(a4[:], b)
		v4 := netip.AddrFrom4(a4)
		var salt [8]byte
		if len(b) > 4 {
			copy(salt[:], b[4:])
		}
		want := Classify(v4)
		for _, e := range embeddings(v4, salt) {
			if got := Unmap(e); got != v4 {
				t.Fatalf("Unmap(%v) = %v, want %v", e, got, v4)
			}
			got := Classify(e)
			if got != want {
				t.Fatalf("Classify(%v) = %q, want %q, the class of the embedded %v", e, got, want, v4)
			}
			if want != ClassPublic && got == ClassPublic {
				t.Fatalf("Classify(%v) = public, but it embeds %v (%s)", e, v4, want)
			}
		}
	})
}

func FuzzCheckAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::ffff:169.254.169.254", "10.9.0.1", "10.0.0.2", "8.8.8.8", "fe80::1", "64:ff9b::7f00:1"} {
		a := netip.MustParseAddr(s).As16()
		f.Add(a[:], 443, uint8(0))
	}
	p, err := Compile(fuzzNetwork)
	if err != nil {
		f.Fatal(err)
	}
	p = p.WithSelf(netip.MustParseAddr("10.0.0.2"))
	names := []string{"", "example.com", "api.github.com", "localhost", "evil.github.com"}
	denied := fuzzEntries(fuzzNetwork.DenyCIDRs)
	f.Fuzz(func(t *testing.T, b []byte, port int, which uint8) {
		var raw [16]byte
		copy(raw[:], b)
		ip := netip.AddrFrom16(raw)
		if len(b) == 4 {
			ip = netip.AddrFrom4([4]byte(b))
		}
		name := names[int(which)%len(names)]
		v := p.CheckAddr(name, ip, port)
		if !v.Allow {
			return
		}
		u := Unmap(ip)
		c := Classify(ip)
		switch {
		case port < 1 || port > 65535:
			t.Fatalf("CheckAddr(%q, %v, %d): allowed an invalid port", name, ip, port)
		case covers(denied, u, port, true) || covers(denied, ip, port, true):
			t.Fatalf("CheckAddr(%q, %v, %d): allowed an address a deny entry contains: %+v", name, ip, port, v)
		case name == "evil.github.com":
			t.Fatalf("CheckAddr(%q, %v, %d): allowed a denied name: %+v", name, ip, port, v)
		case u == netip.MustParseAddr("10.0.0.2"):
			t.Fatalf("CheckAddr(%q, %v, %d): allowed the proxy's own address: %+v", name, ip, port, v)
		case c == ClassMetadata && v.Rule != "allow_cidrs: 169.254.169.254/32":
			t.Fatalf("CheckAddr(%q, %v, %d): allowed metadata address by %q", name, ip, port, v.Rule)
		case c != ClassPublic && v.Rule == "allow_cidrs: 0.0.0.0/0:9999":
			t.Fatalf("CheckAddr(%q, %v, %d): the catch-all entry opened a %s address", name, ip, port, c)
		case c != ClassPublic && !strings.HasPrefix(v.Rule, "allow_"):
			t.Fatalf("CheckAddr(%q, %v, %d): allowed a %s address with rule %q", name, ip, port, c, v.Rule)
		}
	})
}

// FuzzCompile checks that Compile accepts exactly what internal/policy
// validates, entry by entry, and never panics.
func FuzzCompile(f *testing.F) {
	for _, e := range entryCases {
		f.Add(e, uint8(0))
		f.Add(e, uint8(2))
	}
	f.Fuzz(func(t *testing.T, entry string, which uint8) {
		lists := entryLists(entry)
		c := lists[int(which)%len(lists)]
		_, cerr := Compile(c.net)
		verr := (&policy.Policy{Network: c.net}).Validate()
		if (cerr == nil) != (verr == nil) {
			t.Fatalf("entry %q in %s: Compile error %v, policy.Validate error %v; want both nil or both non-nil", entry, c.name, cerr, verr)
		}
	})
}

func FuzzPunycode(f *testing.F) {
	for _, s := range []string{"bücher", "他们为什么不说中文", "3年b組金八先生", "ü-x", "-", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if dec, err := punyDecode(s); err == nil {
			if _, err := punyEncode(dec); err != nil {
				t.Fatalf("punyEncode(punyDecode(%q)): %v", s, err)
			}
		}
		r := []rune(s)
		enc, err := punyEncode(r)
		if err != nil {
			return
		}
		dec, err := punyDecode(enc)
		if err != nil || string(dec) != string(r) {
			t.Fatalf("punyDecode(punyEncode(%q)) = (%q, %v), want %q", s, string(dec), err, string(r))
		}
	})
}
