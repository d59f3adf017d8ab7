package egress

import (
	"errors"
	"fmt"
	"golang.org/x/net/idna"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxHostLen bounds the host text CheckName looks at. A DNS name has at
// most 253 bytes; the rest is room for an IPv6 literal with a zone and
// for spellings of numbers with many leading zeros.
const maxHostLen = 1024

// normalizeHost turns a host as a client sent it into either a DNS name
// (lowercase, no trailing dot, only letters, digits, "-" and "_", with
// "xn--" labels that are valid punycode) or an IP address. Every spelling
// that a C library, a browser or a URL parser reads as an IPv4 address
// (decimal, octal and hex parts, one to four of them) comes back as the
// address, never as a name, so that no rule about names applies to an
// address in disguise.
func normalizeHost(host string) (name string, ip netip.Addr, err error) {
	switch {
	case host == "":
		return "", netip.Addr{}, errors.New("empty host")
	case len(host) > maxHostLen:
		return "", netip.Addr{}, fmt.Errorf("host is longer than %d bytes", maxHostLen)
	case !utf8.ValidString(host):
		return "", netip.Addr{}, errors.New("host is not valid UTF-8")
	}
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return "", netip.Addr{}, errors.New(`an IPv6 address in brackets must end with "]"`)
		}
		ip, err := parseIPv6(host[1 : len(host)-1])
		return "", ip, err
	}
	if strings.Contains(host, ":") {
		ip, err := parseIPv6(host)
		return "", ip, err
	}
	for i := 0; i < len(host); i++ {
		if host[i] >= utf8.RuneSelf {
			// An international name: map it the way resolvers and
			// browsers do (UTS #46: case folding, full-width dots and
			// digits, ...) to its punycode form before anything matches
			// or parses it, so "127。0。0。1" is the IP literal it spells.
			a, err := idna.Lookup.ToASCII(host)
			if err != nil {
				return "", netip.Addr{}, fmt.Errorf("invalid international name: %w", err)
			}
			host = a
			break
		}
	}
	s := strings.ToLower(host)
	if t, ok := strings.CutSuffix(s, "."); ok {
		s = t
	}
	if s == "" {
		return "", netip.Addr{}, errors.New("empty host")
	}
	if endsInNumber(s) {
		ip, err := parseIPv4(s)
		return "", ip, err
	}
	if err := checkName(s); err != nil {
		return "", netip.Addr{}, err
	}
	return s, netip.Addr{}, nil
}

// parseIPv6 parses an IPv6 literal, with an optional zone written "%zone"
// or, as in URLs (RFC 6874), "%25zone". A zone that would still start with
// "25" after that is refused, so that the result reads back the same. IPv4
// inside an IPv6 literal must be dotted decimal, as netip requires.
func parseIPv6(s string) (netip.Addr, error) {
	addr, zone, hasZone := strings.Cut(s, "%")
	if hasZone {
		if z, ok := strings.CutPrefix(zone, "25"); ok && z != "" {
			zone = z
			if strings.HasPrefix(zone, "25") && zone != "25" {
				return netip.Addr{}, fmt.Errorf("ambiguous IPv6 zone %q", "25"+zone)
			}
		}
		if !isZone(zone) {
			return netip.Addr{}, fmt.Errorf("invalid IPv6 zone %q", zone)
		}
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is6() {
		return netip.Addr{}, fmt.Errorf("invalid IPv6 address %q", addr)
	}
	if hasZone {
		ip = ip.WithZone(zone)
	}
	return ip, nil
}

// isZone accepts interface names and numbers: letters, digits, ".", "-"
// and "_", at most 16 bytes (IFNAMSIZ with its NUL).
func isZone(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// endsInNumber reports whether the last label of s is a number (decimal
// digits, or "0x" followed by hex digits), which makes the whole host an
// IPv4 address or nothing (the WHATWG URL host rule).
func endsInNumber(s string) bool {
	last := s[strings.LastIndexByte(s, '.')+1:]
	if last == "" {
		return false
	}
	if h, ok := strings.CutPrefix(last, "0x"); ok {
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

// parseIPv4 parses every spelling inet_aton(3) accepts: one to four
// dot-separated parts, each decimal, octal (leading 0) or hex (leading
// 0x); the last part fills the bytes the others leave. s is lowercase.
func parseIPv4(s string) (netip.Addr, error) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, fmt.Errorf("invalid IPv4 address %q: more than four parts", s)
	}
	var v uint64
	for i, p := range parts {
		n, err := parseIPv4Part(p)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("invalid IPv4 address %q: %w", s, err)
		}
		if i < len(parts)-1 {
			if n > 0xff {
				return netip.Addr{}, fmt.Errorf("invalid IPv4 address %q: part %q is larger than 255", s, p)
			}
			v |= n << (8 * (3 - i))
			continue
		}
		if max := uint64(1)<<(8*(4-i)) - 1; n > max {
			return netip.Addr{}, fmt.Errorf("invalid IPv4 address %q: last part %q is larger than %d", s, p, max)
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), nil
}

// parseIPv4Part parses one part of an IPv4 address. Values above 2^32-1
// are an error, however many leading zeros come first.
func parseIPv4Part(p string) (uint64, error) {
	if p == "" {
		return 0, errors.New("empty part")
	}
	base, digits := uint64(10), p
	switch {
	case strings.HasPrefix(p, "0x"):
		base, digits = 16, p[2:]
	case len(p) > 1 && p[0] == '0':
		base, digits = 8, p[1:]
	}
	var n uint64
	for _, c := range []byte(digits) {
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		default:
			return 0, fmt.Errorf("bad digit in %q", p)
		}
		if d >= base {
			return 0, fmt.Errorf("bad digit in %q", p)
		}
		n = n*base + d
		if n > 0xffffffff {
			return 0, fmt.Errorf("part %q is larger than 32 bits", p)
		}
	}
	return n, nil
}

// checkName accepts a lowercase ASCII DNS name: labels of 1-63 letters,
// digits, "-" and "_", at most 253 bytes, where a label starting with
// "xn--" must be valid punycode for a lowercase Unicode label.
func checkName(s string) error {
	if len(s) > 253 {
		return errors.New("name is longer than 253 bytes")
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return errors.New("empty label in name")
		}
		if len(label) > 63 {
			return fmt.Errorf("label %q is longer than 63 bytes", label)
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("name has a character that is not a letter, digit, %q or %q: %q", '-', '_', rune(c))
			}
		}
		if rest, ok := strings.CutPrefix(label, "xn--"); ok {
			if err := checkALabel(rest); err != nil {
				return fmt.Errorf("invalid international label %q: %w", label, err)
			}
		}
	}
	return nil
}

// checkALabel checks the punycode part of an "xn--" label: it decodes, the
// result has a non-ASCII character, is lowercase and made of letters,
// marks, digits and inner hyphens, and encodes back to the same text (so
// each Unicode label has one spelling).
func checkALabel(puny string) error {
	u, err := punyDecode(puny)
	if err != nil {
		return err
	}
	ascii := true
	for i, r := range u {
		switch {
		case r >= utf8.RuneSelf:
			ascii = false
		case r == '-' && i > 0 && i < len(u)-1:
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9'):
		default:
			return fmt.Errorf("decodes to a disallowed character %q", r)
		}
		if r >= utf8.RuneSelf && !(unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r)) {
			return fmt.Errorf("decodes to a disallowed character %q", r)
		}
		if unicode.ToLower(r) != r {
			return fmt.Errorf("decodes to an upper-case character %q", r)
		}
	}
	if ascii {
		return errors.New("decodes to plain ASCII")
	}
	if unicode.IsMark(u[0]) {
		return errors.New("starts with a combining mark")
	}
	if enc, err := punyEncode(u); err != nil || enc != puny {
		return errors.New("not the canonical encoding")
	}
	return nil
}
