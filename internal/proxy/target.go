package proxy

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// maxHostLen bounds a host name (a DNS name is at most 253 characters).
const maxHostLen = 253

// parseConnectTarget parses a CONNECT request target, which must be
// exactly host:port: a host name or IPv4 literal, or an IPv6 literal in
// brackets, then a port 1-65535 in canonical decimal. Userinfo, paths,
// spaces, percent-encoding, zones and anything else are refused. The host
// is returned as sent, without IPv6 brackets.
func parseConnectTarget(s string) (host string, port int, err error) {
	host, port, err = parseAuthority(s, 0)
	if err != nil {
		return "", 0, fmt.Errorf("bad CONNECT target %q: %w", s, err)
	}
	return host, port, nil
}

// parseAuthority parses host[:port]. defaultPort 0 makes the port
// mandatory.
func parseAuthority(s string, defaultPort int) (host string, port int, err error) {
	if s == "" {
		return "", 0, errors.New("empty")
	}
	if len(s) > maxHostLen+8 {
		return "", 0, errors.New("too long")
	}
	var rest string
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, errors.New("unterminated IPv6 literal")
		}
		host, rest = s[1:end], s[end+1:]
		if !validIPv6Literal(host) {
			return "", 0, errors.New("invalid IPv6 literal")
		}
	} else {
		host, rest = s, ""
		if i := strings.IndexByte(s, ':'); i >= 0 {
			host, rest = s[:i], s[i:]
		}
		if err := checkHostName(host); err != nil {
			return "", 0, err
		}
	}
	switch {
	case rest == "" && defaultPort != 0:
		return host, defaultPort, nil
	case rest == "":
		return "", 0, errors.New("missing port")
	case rest[0] != ':':
		return "", 0, errors.New("junk after host")
	}
	port, ok := parsePort(rest[1:])
	if !ok {
		return "", 0, errors.New("port must be a number from 1 to 65535")
	}
	return host, port, nil
}

// parsePort parses a decimal port 1-65535 without sign or leading zeros.
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return 0, false
	}
	return n, true
}

// validIPv6Literal reports whether s is an IPv6 address without a zone.
func validIPv6Literal(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6() && a.Zone() == ""
}

// checkHostName accepts a host name or an IPv4 literal in any spelling:
// ASCII letters, digits, '-', '_' and '.', at most maxHostLen long.
// Numeric forms such as "127.1", "2130706433" or "0x7f.0.0.1" pass through
// to the policy, which parses them as the addresses they are; the proxy
// then dials the parsed address and never resolves the string, so the
// policy and a resolver cannot read it differently.
func checkHostName(s string) error {
	if s == "" {
		return errors.New("empty host")
	}
	if len(s) > maxHostLen {
		return errors.New("host too long")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return fmt.Errorf("invalid character %q in host", c)
		}
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// checkSOCKSHost validates a SOCKS5 domain-name address: a host name as
// checkHostName accepts, or an IPv6 literal without brackets (some clients
// send literals as names).
func checkSOCKSHost(s string) error {
	if strings.IndexByte(s, ':') >= 0 {
		if !validIPv6Literal(s) {
			return errors.New("invalid IPv6 literal")
		}
		return nil
	}
	return checkHostName(s)
}

// parseAbsoluteURI splits an absolute-form HTTP request target
// (http://host[:port][/path][?query]) into the authority and the
// origin-form path to send upstream. Only the http scheme is accepted
// (clients tunnel https through CONNECT); userinfo and fragments are
// refused.
func parseAbsoluteURI(s string) (host string, port int, path string, err error) {
	const scheme = "http://"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return "", 0, "", fmt.Errorf("request target %q is not an absolute http:// URI", s)
	}
	rest := s[len(scheme):]
	if strings.IndexByte(rest, '#') >= 0 {
		return "", 0, "", fmt.Errorf("request target %q has a fragment", s)
	}
	auth := rest
	path = "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		auth = rest[:i]
		path = rest[i:]
		if path[0] == '?' {
			path = "/" + path
		}
	}
	host, port, err = parseAuthority(auth, 80)
	if err != nil {
		return "", 0, "", fmt.Errorf("bad authority %q in request target: %w", auth, err)
	}
	return host, port, path, nil
}

// sameHost reports whether a Host header value names host:port.
func sameHost(hostHeader, host string, port int) bool {
	h, p, err := parseAuthority(hostHeader, 80)
	if err != nil || p != port {
		return false
	}
	if a, err := netip.ParseAddr(h); err == nil {
		b, err := netip.ParseAddr(host)
		return err == nil && a == b
	}
	return strings.EqualFold(strings.TrimSuffix(h, "."), strings.TrimSuffix(host, "."))
}
