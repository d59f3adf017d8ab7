package egress

import "net/netip"

// Class is the kind of network an address belongs to, as far as egress is
// concerned. Only ClassPublic is reachable without an allow_cidrs rule.
type Class string

// The address classes. Classify returns all but ClassSelf, which only
// CheckAddr reports (for the addresses given to WithSelf).
const (
	ClassPublic        Class = "public"
	ClassLoopback      Class = "loopback"
	ClassPrivate       Class = "private"     // RFC 1918, unique-local fc00::/7, site-local fec0::/10
	ClassLinkLocal     Class = "link-local"  // 169.254.0.0/16, fe80::/10
	ClassCGNAT         Class = "cgnat"       // 100.64.0.0/10, RFC 6598
	ClassMulticast     Class = "multicast"   // 224.0.0.0/4, ff00::/8
	ClassUnspecified   Class = "unspecified" // 0.0.0.0/8 ("this host"), ::
	ClassBroadcast     Class = "broadcast"   // 255.255.255.255
	ClassReserved      Class = "reserved"    // 240.0.0.0/4, IETF protocol ranges, IPv6 outside 2000::/3
	ClassDocumentation Class = "documentation"
	ClassBenchmark     Class = "benchmark" // 198.18.0.0/15, 2001:2::/48
	ClassMetadata      Class = "metadata"  // cloud instance metadata and platform endpoints
	ClassNAT64         Class = "nat64"     // local-use NAT64 64:ff9b:1::/48 whose IPv4 cannot be decided
	ClassSelf          Class = "self"      // the proxy's own addresses (WithSelf)
	ClassInvalid       Class = "invalid"   // the zero netip.Addr
)

// classRange is one row of the classification table.
type classRange struct {
	prefix netip.Prefix
	class  Class
	what   string // the range in words, for reasons
}

func row(prefix string, class Class, what string) classRange {
	return classRange{netip.MustParsePrefix(prefix), class, what}
}

// classRanges is the classification table. The longest prefix that
// contains an address decides its class, so the metadata rows win over the
// ranges around them. IPv4 defaults to public, IPv6 to reserved except in
// the global unicast range 2000::/3.
var classRanges = []classRange{
	row("0.0.0.0/0", ClassPublic, "the public internet"),
	row("0.0.0.0/8", ClassUnspecified, `"this network" (0.0.0.0/8); 0.0.0.0 reaches this host`),
	row("10.0.0.0/8", ClassPrivate, "private network 10.0.0.0/8 (RFC 1918)"),
	row("100.64.0.0/10", ClassCGNAT, "carrier-grade NAT space 100.64.0.0/10 (RFC 6598)"),
	row("127.0.0.0/8", ClassLoopback, "loopback 127.0.0.0/8"),
	row("169.254.0.0/16", ClassLinkLocal, "link-local 169.254.0.0/16"),
	row("172.16.0.0/12", ClassPrivate, "private network 172.16.0.0/12 (RFC 1918)"),
	row("192.0.0.0/24", ClassReserved, "IETF protocol assignments 192.0.0.0/24"),
	row("192.0.2.0/24", ClassDocumentation, "documentation range 192.0.2.0/24 (TEST-NET-1)"),
	row("192.88.99.0/24", ClassReserved, "deprecated 6to4 relay anycast 192.88.99.0/24"),
	row("192.168.0.0/16", ClassPrivate, "private network 192.168.0.0/16 (RFC 1918)"),
	row("198.18.0.0/15", ClassBenchmark, "benchmarking range 198.18.0.0/15"),
	row("198.51.100.0/24", ClassDocumentation, "documentation range 198.51.100.0/24 (TEST-NET-2)"),
	row("203.0.113.0/24", ClassDocumentation, "documentation range 203.0.113.0/24 (TEST-NET-3)"),
	row("224.0.0.0/4", ClassMulticast, "multicast 224.0.0.0/4"),
	row("240.0.0.0/4", ClassReserved, "reserved 240.0.0.0/4"),
	row("255.255.255.255/32", ClassBroadcast, "limited broadcast 255.255.255.255"),

	// Cloud instance metadata and platform endpoints: they hand out the
	// host's credentials to anyone who can reach them.
	row("169.254.169.254/32", ClassMetadata, "cloud instance metadata (AWS, GCP, Azure, OCI, OpenStack, DigitalOcean and others)"),
	row("169.254.170.2/32", ClassMetadata, "AWS ECS task metadata and credentials"),
	row("169.254.170.23/32", ClassMetadata, "AWS EKS Pod Identity agent"),
	row("169.254.0.23/32", ClassMetadata, "Tencent Cloud instance metadata"),
	row("100.100.100.200/32", ClassMetadata, "Alibaba Cloud instance metadata"),
	row("192.0.0.192/32", ClassMetadata, "Oracle Cloud instance metadata"),
	row("168.63.129.16/32", ClassMetadata, "Azure platform endpoint (WireServer)"),
	row("fd00:ec2::254/128", ClassMetadata, "AWS instance metadata (IPv6)"),
	row("fd00:ec2::23/128", ClassMetadata, "AWS EKS Pod Identity agent (IPv6)"),
	row("fd20:ce::254/128", ClassMetadata, "GCP instance metadata (IPv6)"),

	row("::/0", ClassReserved, "IPv6 space outside global unicast 2000::/3"),
	row("::/128", ClassUnspecified, "the unspecified address ::"),
	row("::1/128", ClassLoopback, "loopback ::1"),
	row("64:ff9b:1::/48", ClassNAT64, "local-use NAT64 64:ff9b:1::/48 (RFC 8215)"),
	row("100::/64", ClassReserved, "discard-only range 100::/64"),
	row("2000::/3", ClassPublic, "the public internet"),
	row("2001::/23", ClassReserved, "IETF protocol assignments 2001::/23"),
	row("2001:2::/48", ClassBenchmark, "benchmarking range 2001:2::/48"),
	row("2001:db8::/32", ClassDocumentation, "documentation range 2001:db8::/32"),
	row("3fff::/20", ClassDocumentation, "documentation range 3fff::/20"),
	row("5f00::/16", ClassReserved, "SRv6 SIDs 5f00::/16"),
	row("fc00::/7", ClassPrivate, "unique local addresses fc00::/7"),
	row("fe80::/10", ClassLinkLocal, "link-local fe80::/10"),
	row("fec0::/10", ClassPrivate, "deprecated site-local fec0::/10"),
	row("ff00::/8", ClassMulticast, "multicast ff00::/8"),
}

// lookup returns the table row that classifies ip (after Unmap and with
// any zone removed) and the address it was classified as.
func lookup(ip netip.Addr) (classRange, netip.Addr) {
	u := Unmap(ip.WithZone(""))
	best := -1
	for i, r := range classRanges {
		if r.prefix.Contains(u) && (best < 0 || r.prefix.Bits() > classRanges[best].prefix.Bits()) {
			best = i
		}
	}
	if best < 0 {
		// Unreachable for a valid address: ::/0 and 0.0.0.0/0 cover all.
		return classRange{class: ClassInvalid, what: "an invalid address"}, u
	}
	return classRanges[best], u
}

// Classify returns the class of ip. An IPv6 address that embeds an IPv4
// address (IPv4-mapped, IPv4-translated, NAT64, 6to4, Teredo) is classified
// as that IPv4 address; a zone is ignored.
func Classify(ip netip.Addr) Class {
	if !ip.IsValid() {
		return ClassInvalid
	}
	r, _ := lookup(ip)
	return r.class
}

// Unmap returns the IPv4 address embedded in ip when ip is IPv4-mapped
// (::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96), well-known NAT64
// (64:ff9b::/96), local-use NAT64 in its /96 form (64:ff9b:1::/96 with the
// bits between prefix and address zero), 6to4 (2002::/16: bits 16-47) or
// Teredo (2001::/32: the client address is the bitwise NOT of the last 32
// bits). Any other address is returned unchanged.
func Unmap(ip netip.Addr) netip.Addr {
	if !ip.Is6() {
		return ip
	}
	b := ip.As16()
	v4 := func(o int) netip.Addr { return netip.AddrFrom4([4]byte{b[o], b[o+1], b[o+2], b[o+3]}) }
	zero := func(from, to int) bool {
		for _, c := range b[from:to] {
			if c != 0 {
				return false
			}
		}
		return true
	}
	switch {
	case zero(0, 10) && b[10] == 0xff && b[11] == 0xff: // ::ffff:a.b.c.d
		return v4(12)
	case zero(0, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0: // ::ffff:0:a.b.c.d
		return v4(12)
	case b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b:
		if zero(4, 12) { // 64:ff9b::/96
			return v4(12)
		}
		if b[4] == 0 && b[5] == 1 && zero(6, 12) { // 64:ff9b:1::/96
			return v4(12)
		}
	case b[0] == 0x20 && b[1] == 0x02: // 6to4
		return v4(2)
	case b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0: // Teredo
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
	}
	return ip
}
