package egress

import (
	"net/netip"
	"strings"
	"testing"
)

func TestNormalizeHost(t *testing.T) {
	loop := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name     string
		host     string
		wantName string
		wantIP   string // "" when not an IP literal
		wantErr  string // substring; "" for success
	}{
		// Names.
		{"plain", "example.com", "example.com", "", ""},
		{"upper case", "ExAmPle.COM", "example.com", "", ""},
		{"trailing dot", "example.com.", "example.com", "", ""},
		{"two trailing dots", "example.com..", "", "", "empty label"},
		{"leading dot", ".example.com", "", "", "empty label"},
		{"single label", "intranet", "intranet", "", ""},
		{"underscore", "a_b.example.com", "a_b.example.com", "", ""},
		{"hyphens", "a-b.example.com", "a-b.example.com", "", ""},
		{"punycode", "xn--bcher-kva.example", "xn--bcher-kva.example", "", ""},
		{"punycode upper", "XN--BCHER-KVA.example", "xn--bcher-kva.example", "", ""},
		{"punycode chinese", "xn--ihqwcrb4cv8a8dqg056pqjye.cn", "xn--ihqwcrb4cv8a8dqg056pqjye.cn", "", ""},
		{"bad punycode", "xn--zz.example", "", "", "invalid international label"},
		{"punycode of ascii", "xn--abc-.example", "", "", "plain ASCII"},
		{"punycode of upper case", "xn--Bcher-kva.example", "xn--bcher-kva.example", "", ""},
		// International names are mapped (UTS #46) before anything else.
		{"unicode", "bücher.example", "xn--bcher-kva.example", "", ""},
		{"unicode upper case", "BÜCHER.example", "xn--bcher-kva.example", "", ""},
		{"fullwidth digits spell an IP literal", "１２７．０．０．１", "", "127.0.0.1", ""},
		{"ideographic full stops", "127。0。0。1", "", "127.0.0.1", ""},
		{"invalid international name", "a\u200db.example", "", "", "invalid international name"},
		{"space", "exa mple.com", "", "", "not a letter"},
		{"percent", "%31%32%37.0.0.1", "", "", "invalid IPv4"},
		{"percent name", "%65xample.com", "", "", "not a letter"},
		{"at sign", "169.254.169.254@evil.com", "", "", "not a letter"},
		{"slash", "example.com/x", "", "", "not a letter"},
		{"backslash", `example.com\x`, "", "", "not a letter"},
		{"nul", "example.com\x00.evil", "", "", "not a letter"},
		{"host and port", "example.com:443", "", "", "invalid IPv6"},
		{"empty", "", "", "", "empty host"},
		{"dot", ".", "", "", "empty host"},
		{"long label", strings.Repeat("a", 64) + ".com", "", "", "longer than 63"},
		{"long name", strings.Repeat("a.", 127) + "com", "", "", "longer than 253"},
		{"too long", strings.Repeat("a", maxHostLen+1), "", "", "longer than 1024"},
		{"invalid utf8", "a\xff.com", "", "", "UTF-8"},
		{"not a number tld", "example.0x7g", "example.0x7g", "", ""},
		{"name then number", "127.0.0.1.nip.io", "127.0.0.1.nip.io", "", ""},
		{"number after name", "example.123", "", "", "invalid IPv4"},

		// IPv4 in every spelling.
		{"dotted", "127.0.0.1", "", "127.0.0.1", ""},
		{"dotted trailing dot", "127.0.0.1.", "", "127.0.0.1", ""},
		{"decimal", "2130706433", "", "127.0.0.1", ""},
		{"octal parts", "0177.0.0.1", "", "127.0.0.1", ""},
		{"octal parts zeros", "0177.00.000.01", "", "127.0.0.1", ""},
		{"octal whole", "017700000001", "", "127.0.0.1", ""},
		{"octal many zeros", "000000000000000000000000000000177.1", "", "127.0.0.1", ""},
		{"hex parts", "0x7f.0x0.0x0.0x1", "", "127.0.0.1", ""},
		{"hex first", "0x7f.0.0.1", "", "127.0.0.1", ""},
		{"hex upper", "0X7F.0.0.1", "", "127.0.0.1", ""},
		{"hex whole", "0x7f000001", "", "127.0.0.1", ""},
		{"hex leading zeros", "0x0000007f000001", "", "127.0.0.1", ""},
		{"short two parts", "127.1", "", "127.0.0.1", ""},
		{"short three parts", "10.1.515", "", "10.1.2.3", ""},
		{"short two parts big", "10.66051", "", "10.1.2.3", ""},
		{"mixed", "0x7f.0.01", "", "127.0.0.1", ""},
		{"mixed hex octal decimal", "0xa9.0376.43518", "", "169.254.169.254", ""},
		{"metadata decimal", "2852039166", "", "169.254.169.254", ""},
		{"metadata hex", "0xa9fea9fe", "", "169.254.169.254", ""},
		{"zero", "0", "", "0.0.0.0", ""},
		{"bare 0x", "0x", "", "0.0.0.0", ""},
		{"max", "4294967295", "", "255.255.255.255", ""},
		{"overflow", "4294967296", "", "", "larger than 32 bits"},
		{"huge", "99999999999999999999999", "", "", "larger than 32 bits"},
		{"part over 255", "256.0.0.1", "", "", "larger than 255"},
		{"last part over", "1.2.3.256", "", "", "larger than 255"},
		{"short last part over", "1.16777216", "", "", "larger than 16777215"},
		{"five parts", "1.2.3.4.5", "", "", "more than four parts"},
		{"bad octal", "08.0.0.1", "", "", "bad digit"},
		{"bad octal 2", "0179.0.0.1", "", "", "bad digit"},
		{"bad hex", "0x7g.0.0.1", "", "", "bad digit"},
		{"empty part", "127..1", "", "", "empty part"},
		{"sign", "+127.0.0.1", "", "", "invalid IPv4"},

		// IPv6.
		{"v6 loopback", "::1", "", "::1", ""},
		{"v6 brackets", "[::1]", "", "::1", ""},
		{"v6 long", "0000:0000:0000:0000:0000:0000:0000:0001", "", "::1", ""},
		{"v6 upper", "FE80::1", "", "fe80::1", ""},
		{"v6 zone", "fe80::1%eth0", "", "fe80::1%eth0", ""},
		{"v6 zone brackets", "[fe80::1%eth0]", "", "fe80::1%eth0", ""},
		{"v6 zone url", "[fe80::1%25eth0]", "", "fe80::1%eth0", ""},
		{"v6 bad zone", "fe80::1%eth0/x", "", "", "invalid IPv6 zone"},
		{"v6 empty zone", "fe80::1%", "", "", "invalid IPv6 zone"},
		{"v6 zone 25", "fe80::1%25", "", "fe80::1%25", ""},
		{"v6 zone url 25", "fe80::1%2525", "", "fe80::1%25", ""},
		{"v6 zone ambiguous", "fe80::1%25250", "", "", "ambiguous IPv6 zone"},
		{"v6 mapped", "::ffff:127.0.0.1", "", "::ffff:127.0.0.1", ""},
		{"v6 mapped hex", "[::ffff:7f00:1]", "", "::ffff:127.0.0.1", ""},
		{"v6 mapped octal", "::ffff:0177.0.0.1", "", "", "invalid IPv6"},
		{"v6 nat64", "64:ff9b::127.0.0.1", "", "64:ff9b::7f00:1", ""},
		{"v6 missing bracket", "[::1", "", "", `must end with "]"`},
		{"v4 in brackets", "[127.0.0.1]", "", "", "invalid IPv6"},
		{"v6 with port", "[::1]:443", "", "", `must end with "]"`},
		{"v6 garbage", "::g", "", "", "invalid IPv6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, ip, err := normalizeHost(tt.host)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("normalizeHost(%q): got (%q, %v, %v), want error containing %q", tt.host, name, ip, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("normalizeHost(%q): got error %v, want success", tt.host, err)
			}
			if name != tt.wantName {
				t.Errorf("normalizeHost(%q) name: got %q, want %q", tt.host, name, tt.wantName)
			}
			var want netip.Addr
			if tt.wantIP != "" {
				want = netip.MustParseAddr(tt.wantIP)
			}
			if ip != want {
				t.Errorf("normalizeHost(%q) ip: got %v, want %v", tt.host, ip, want)
			}
		})
	}
	// The spellings of 127.0.0.1 above must all reach the same address
	// as the plain one (a guard against a table typo).
	if _, ip, _ := normalizeHost("0x7f.1"); ip != loop {
		t.Errorf("normalizeHost(0x7f.1): got %v, want %v", ip, loop)
	}
}

func TestPunycode(t *testing.T) {
	// Vectors from RFC 3492 section 7.1 and common names.
	tests := []struct{ name, unicode, puny string }{
		{"german", "bücher", "bcher-kva"},
		{"munich", "münchen", "mnchen-3ya"},
		{"chinese", "他们为什么不说中文", "ihqwcrb4cv8a8dqg056pqjye"},
		{"japanese mixed", "3年b組金八先生", "3b-ww4c5e180e575a65lsy2b"},
		{"russian", "почемужеонинеговорятпорусски", "b1abfaaepdrnnbgefbadotcwatmq2g4l"},
		{"hyphen inside", "ü-x", "-x-wka"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := punyEncode([]rune(tt.unicode))
			if err != nil || enc != tt.puny {
				t.Errorf("punyEncode(%q): got (%q, %v), want %q", tt.unicode, enc, err, tt.puny)
			}
			dec, err := punyDecode(tt.puny)
			if err != nil || string(dec) != tt.unicode {
				t.Errorf("punyDecode(%q): got (%q, %v), want %q", tt.puny, string(dec), err, tt.unicode)
			}
		})
	}
	for _, bad := range []string{"zz", "-", "9999999999a", "a-b\xff", "ü", "99999999999999999999"} {
		t.Run("bad "+bad, func(t *testing.T) {
			if dec, err := punyDecode(bad); err == nil {
				t.Errorf("punyDecode(%q): got %q, want an error", bad, string(dec))
			}
		})
	}
}
