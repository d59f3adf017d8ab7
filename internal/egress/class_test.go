package egress

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		addr string
		want Class
	}{
		{"8.8.8.8", ClassPublic},
		{"1.1.1.1", ClassPublic},
		{"140.82.112.3", ClassPublic},
		{"0.0.0.0", ClassUnspecified},
		{"0.1.2.3", ClassUnspecified},
		{"10.0.0.1", ClassPrivate},
		{"10.255.255.255", ClassPrivate},
		{"172.16.0.1", ClassPrivate},
		{"172.31.255.255", ClassPrivate},
		{"172.32.0.1", ClassPublic},
		{"192.168.1.1", ClassPrivate},
		{"100.64.0.1", ClassCGNAT},
		{"100.127.255.255", ClassCGNAT},
		{"100.128.0.1", ClassPublic},
		{"127.0.0.1", ClassLoopback},
		{"127.255.255.254", ClassLoopback},
		{"169.254.1.1", ClassLinkLocal},
		{"169.254.169.254", ClassMetadata},
		{"169.254.170.2", ClassMetadata},
		{"169.254.170.23", ClassMetadata},
		{"169.254.0.23", ClassMetadata},
		{"100.100.100.200", ClassMetadata},
		{"192.0.0.192", ClassMetadata},
		{"168.63.129.16", ClassMetadata},
		{"192.0.0.8", ClassReserved},
		{"192.0.2.1", ClassDocumentation},
		{"198.51.100.1", ClassDocumentation},
		{"203.0.113.1", ClassDocumentation},
		{"198.18.0.1", ClassBenchmark},
		{"198.19.255.255", ClassBenchmark},
		{"192.88.99.1", ClassReserved},
		{"224.0.0.1", ClassMulticast},
		{"239.255.255.250", ClassMulticast},
		{"240.0.0.1", ClassReserved},
		{"255.255.255.254", ClassReserved},
		{"255.255.255.255", ClassBroadcast},

		{"2606:4700::1111", ClassPublic},
		{"2a00:1450:4001::1", ClassPublic},
		{"::", ClassUnspecified},
		{"::1", ClassLoopback},
		{"::2", ClassReserved},
		{"::1.2.3.4", ClassReserved},
		{"fe80::1", ClassLinkLocal},
		{"fe80::1%eth0", ClassLinkLocal},
		{"febf::1", ClassLinkLocal},
		{"fec0::1", ClassPrivate},
		{"fc00::1", ClassPrivate},
		{"fd12:3456::1", ClassPrivate},
		{"fd00:ec2::254", ClassMetadata},
		{"fd00:ec2::23", ClassMetadata},
		{"fd20:ce::254", ClassMetadata},
		{"ff02::1", ClassMulticast},
		{"ff05::1:3", ClassMulticast},
		{"100::1", ClassReserved},
		{"2001:db8::1", ClassDocumentation},
		{"3fff::1", ClassDocumentation},
		{"2001:2::1", ClassBenchmark},
		{"2001:10::1", ClassReserved},
		{"5f00::1", ClassReserved},
		{"4000::1", ClassReserved},

		// Embedded IPv4 is classified as the IPv4 address.
		{"::ffff:8.8.8.8", ClassPublic},
		{"::ffff:127.0.0.1", ClassLoopback},
		{"::ffff:10.0.0.1", ClassPrivate},
		{"::ffff:169.254.169.254", ClassMetadata},
		{"::ffff:0:127.0.0.1", ClassLoopback},
		{"64:ff9b::127.0.0.1", ClassLoopback},
		{"64:ff9b::10.1.2.3", ClassPrivate},
		{"64:ff9b::8.8.8.8", ClassPublic},
		{"64:ff9b::a9fe:a9fe", ClassMetadata},
		{"64:ff9b:1::192.168.0.1", ClassPrivate},
		{"64:ff9b:1::8.8.8.8", ClassPublic},
		{"64:ff9b:1:ab::8.8.8.8", ClassNAT64},
		{"64:ff9b:0:1::1", ClassReserved},
		{"2002:7f00:1::", ClassLoopback},
		{"2002:a00:1:1234::5", ClassPrivate},
		{"2002:a9fe:a9fe::", ClassMetadata},
		{"2002:808:808::1", ClassPublic},
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", ClassLoopback}, // Teredo client 127.0.0.1
		{"2001:0:4136:e378:8000:63bf:f5ff:fffe", ClassPrivate},  // Teredo client 10.0.0.1
		{"2001:0:4136:e378:8000:63bf:5601:5601", ClassMetadata}, // Teredo client 169.254.169.254
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", ClassPublic},   // Teredo client 8.8.8.8
		{"2001:0:0:0:0:0:ffff:ffff", ClassUnspecified},          // Teredo client 0.0.0.0
		{"2001:0:4136:e378:8000:63bf:0:0", ClassBroadcast},      // Teredo client 255.255.255.255
		{"2001:1::1", ClassReserved},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := Classify(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("Classify(%s): got %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
	t.Run("zero", func(t *testing.T) {
		if got := Classify(netip.Addr{}); got != ClassInvalid {
			t.Errorf("Classify(zero Addr): got %q, want %q", got, ClassInvalid)
		}
	})
}

func TestUnmap(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"ipv4", "10.0.0.1", "10.0.0.1"},
		{"mapped", "::ffff:10.0.0.1", "10.0.0.1"},
		{"translated", "::ffff:0:10.0.0.1", "10.0.0.1"},
		{"nat64", "64:ff9b::a00:1", "10.0.0.1"},
		{"nat64 local /96", "64:ff9b:1::a00:1", "10.0.0.1"},
		{"nat64 local other", "64:ff9b:1:ab::a00:1", "64:ff9b:1:ab::a00:1"},
		{"nat64 outside /96", "64:ff9b:0:1::a00:1", "64:ff9b:0:1::a00:1"},
		{"6to4", "2002:a00:1::1", "10.0.0.1"},
		{"6to4 subnet", "2002:c0a8:101:ffff:1:2:3:4", "192.168.1.1"},
		{"teredo", "2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1"},
		{"teredo all zero", "2001::", "255.255.255.255"},
		{"not teredo", "2001:1::1", "2001:1::1"},
		{"documentation", "2001:db8::1", "2001:db8::1"},
		{"loopback", "::1", "::1"},
		{"compatible", "::10.0.0.1", "::a00:1"},
		{"zone kept", "fe80::1%eth0", "fe80::1%eth0"},
		{"mapped with zone", "::ffff:10.0.0.1%eth0", "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, want := netip.MustParseAddr(tt.in), netip.MustParseAddr(tt.want)
			if got := Unmap(in); got != want {
				t.Errorf("Unmap(%s): got %s, want %s", in, got, want)
			}
		})
	}
	t.Run("zero", func(t *testing.T) {
		if got := Unmap(netip.Addr{}); got.IsValid() {
			t.Errorf("Unmap(zero Addr): got %s, want the zero Addr", got)
		}
	})
}

// embeddings returns every IPv6 form of v4 that Unmap undoes.
func embeddings(v4 netip.Addr, salt [8]byte) []netip.Addr {
	a := v4.As4()
	forms := [][16]byte{
		{10: 0xff, 11: 0xff, 12: a[0], 13: a[1], 14: a[2], 15: a[3]},
		{8: 0xff, 9: 0xff, 12: a[0], 13: a[1], 14: a[2], 15: a[3]},
		{0: 0x00, 1: 0x64, 2: 0xff, 3: 0x9b, 12: a[0], 13: a[1], 14: a[2], 15: a[3]},
		{0: 0x00, 1: 0x64, 2: 0xff, 3: 0x9b, 5: 1, 12: a[0], 13: a[1], 14: a[2], 15: a[3]},
		{0: 0x20, 1: 0x02, 2: a[0], 3: a[1], 4: a[2], 5: a[3], 6: salt[0], 7: salt[1], 8: salt[2], 9: salt[3], 10: salt[4], 11: salt[5], 12: salt[6], 13: salt[7]},
		{0: 0x20, 1: 0x01, 4: salt[0], 5: salt[1], 6: salt[2], 7: salt[3], 8: salt[4], 9: salt[5], 10: salt[6], 11: salt[7], 12: ^a[0], 13: ^a[1], 14: ^a[2], 15: ^a[3]},
	}
	out := make([]netip.Addr, len(forms))
	for i, f := range forms {
		out[i] = netip.AddrFrom16(f)
	}
	return out
}

func TestClassifyEmbedded(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.0.1", "169.254.169.254", "100.100.100.200", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "240.0.0.1", "8.8.8.8"} {
		v4 := netip.MustParseAddr(s)
		want := Classify(v4)
		for _, e := range embeddings(v4, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Run(e.String(), func(t *testing.T) {
				if got := Unmap(e); got != v4 {
					t.Errorf("Unmap(%s): got %s, want %s", e, got, v4)
				}
				if got := Classify(e); got != want {
					t.Errorf("Classify(%s): got %q, want %q (the class of %s)", e, got, want, v4)
				}
			})
		}
	}
}
