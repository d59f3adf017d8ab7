package egress

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/airlock-sandbox/airlock/internal/policy"
)

// The policy keys, as rule ids spell them.
const (
	keyAllowDomains = "allow_domains"
	keyDenyDomains  = "deny_domains"
	keyAllowCIDRs   = "allow_cidrs"
	keyDenyCIDRs    = "deny_cidrs"
)

// nameRule is a compiled allow_domains or deny_domains entry for names.
type nameRule struct {
	id       string // "allow_domains: *.example.com:8443", the entry as written
	entry    string // the entry as written
	any      bool   // "*": every host (deny lists only)
	wildcard bool   // "*.example.com": strict subdomains of host
	host     string // lowercase name without "*."
	port     int    // 0: no port given
}

// addrRule is a compiled allow_cidrs or deny_cidrs entry, or an IP address
// written in allow_domains or deny_domains.
type addrRule struct {
	id     string
	entry  string
	key    string       // the policy key it came from
	prefix netip.Prefix // IPv4-mapped prefixes are stored as IPv4
	port   int          // 0: no port given
}

// portOK reports whether a rule with port rp applies to port: the port it
// names, or with no port, 80 and 443 for an allow rule and every port for a
// deny rule.
func portOK(rp, port int, deny bool) bool {
	switch {
	case rp != 0:
		return rp == port
	case deny:
		return true
	}
	return port == 80 || port == 443
}

func (r *nameRule) matchHost(name string) bool {
	switch {
	case r.any:
		return true
	case r.wildcard:
		return len(name) > len(r.host)+1 && strings.HasSuffix(name, r.host) && name[len(name)-len(r.host)-1] == '.'
	}
	return name == r.host
}

// Compile checks n and compiles it. Errors name the entry, like
// `network.allow_domains[2]: invalid domain pattern "a..b": ...`.
//
// The entries use the syntax internal/policy validates: a domain entry is
// HOST[:PORT] where HOST is a name, "*." and a name (strict subdomains
// only), "localhost", an IPv4 address, a bracketed IPv6 address, or, in
// deny_domains only, "*" (every host). A CIDR entry is ADDRESS/BITS[:PORT];
// deny_cidrs also takes a bare address. An IP address written in a domain
// list is the same as that address as a /32 (or /128) CIDR entry in the
// matching CIDR list. An allow entry without a port covers ports 80 and 443;
// a deny entry without a port covers every port.
func Compile(n policy.Network) (*Policy, error) {
	p := &Policy{localBinding: n.AllowLocalBinding}
	for i, s := range n.AllowDomains {
		nr, ar, err := parseDomainRule(keyAllowDomains, s, false)
		if err != nil {
			return nil, fmt.Errorf("network.%s[%d]: %w", keyAllowDomains, i, err)
		}
		if nr != nil {
			p.allowNames = append(p.allowNames, *nr)
		} else {
			p.allowAddrs = append(p.allowAddrs, *ar)
		}
	}
	for i, s := range n.DenyDomains {
		nr, ar, err := parseDomainRule(keyDenyDomains, s, true)
		if err != nil {
			return nil, fmt.Errorf("network.%s[%d]: %w", keyDenyDomains, i, err)
		}
		if nr != nil {
			p.denyNames = append(p.denyNames, *nr)
		} else {
			p.denyAddrs = append(p.denyAddrs, *ar)
		}
	}
	for i, s := range n.AllowCIDRs {
		ar, err := parseCIDRRule(keyAllowCIDRs, s, false)
		if err != nil {
			return nil, fmt.Errorf("network.%s[%d]: %w", keyAllowCIDRs, i, err)
		}
		p.allowAddrs = append(p.allowAddrs, *ar)
	}
	for i, s := range n.DenyCIDRs {
		ar, err := parseCIDRRule(keyDenyCIDRs, s, true)
		if err != nil {
			return nil, fmt.Errorf("network.%s[%d]: %w", keyDenyCIDRs, i, err)
		}
		p.denyAddrs = append(p.denyAddrs, *ar)
	}
	return p, nil
}

// parseDomainRule compiles one domain entry into a name rule or, for an IP
// address, an address rule.
func parseDomainRule(key, s string, deny bool) (*nameRule, *addrRule, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("invalid domain pattern %q: %s", s, fmt.Sprintf(format, a...))
	}
	if strings.Contains(s, "/") {
		return nil, nil, bad("no scheme or path; want HOST or HOST:PORT")
	}
	var (
		host, portText string
		hasPort        bool
	)
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return nil, nil, bad(`missing "]"`)
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return nil, nil, bad(`want "[IPV6]" or "[IPV6]:PORT"`)
			}
			portText, hasPort = rest[1:], true
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return nil, nil, bad("%q in brackets is not an IPv6 address", host)
		}
	} else if strings.Count(s, ":") > 1 {
		return nil, nil, bad(`write an IPv6 address in brackets, like "[2001:db8::1]:443"`)
	} else {
		host, portText, hasPort = strings.Cut(s, ":")
	}
	port := 0
	if hasPort {
		var err error
		if port, err = parsePort(portText); err != nil {
			return nil, nil, bad("%v", err)
		}
	}
	id := key + ": " + s
	if strings.HasPrefix(s, "[") {
		ip := netip.MustParseAddr(host)
		return nil, &addrRule{id: id, entry: s, key: key, prefix: hostPrefix(ip), port: port}, nil
	}
	switch {
	case host == "*":
		if !deny {
			return nil, nil, bad(`"*" alone is only allowed in a deny list; name the domains to allow`)
		}
		return &nameRule{id: id, entry: s, any: true, port: port}, nil, nil
	case host == "localhost":
		return &nameRule{id: id, entry: s, host: host, port: port}, nil, nil
	case host == "":
		return nil, nil, bad("empty host")
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		return nil, &addrRule{id: id, entry: s, key: key, prefix: hostPrefix(ip), port: port}, nil
	}
	if err := policy.CheckHostPattern(host, deny); err != nil {
		return nil, nil, bad("%v", err)
	}
	name, wildcard := strings.CutPrefix(host, "*.")
	return &nameRule{id: id, entry: s, wildcard: wildcard, host: strings.ToLower(name), port: port}, nil, nil
}

// parseCIDRRule compiles ADDRESS/BITS[:PORT] (and, when bare is set, a
// lone address) into an address rule.
func parseCIDRRule(key, s string, bare bool) (*addrRule, error) {
	const want = `want ADDRESS/BITS with an optional ":PORT", like "10.0.0.0/8" or "10.0.0.0/8:443"`
	id := key + ": " + s
	slash := strings.IndexByte(s, '/')
	if slash < 0 {
		if bare {
			if ip, err := netip.ParseAddr(s); err == nil && ip.Zone() == "" {
				return &addrRule{id: id, entry: s, key: key, prefix: hostPrefix(ip)}, nil
			}
			return nil, fmt.Errorf("invalid address %q: want an IP address or %s", s, strings.TrimPrefix(want, "want "))
		}
		return nil, fmt.Errorf("invalid CIDR %q: %s", s, want)
	}
	bits, portText, hasPort := strings.Cut(s[slash+1:], ":")
	prefix, err := netip.ParsePrefix(s[:slash] + "/" + bits)
	if err != nil {
		return nil, fmt.Errorf("invalid CIDR %q: %s", s, want)
	}
	if m := prefix.Masked(); m != prefix {
		return nil, fmt.Errorf("CIDR %q has host bits set (did you mean %q?)", s, m.String())
	}
	port := 0
	if hasPort {
		if port, err = parsePort(portText); err != nil {
			return nil, fmt.Errorf("invalid CIDR %q: %v", s, err)
		}
	}
	if prefix.Addr().Is4In6() && prefix.Bits() >= 96 {
		prefix = netip.PrefixFrom(prefix.Addr().Unmap(), prefix.Bits()-96)
	}
	return &addrRule{id: id, entry: s, key: key, prefix: prefix, port: port}, nil
}

// hostPrefix is the single-address prefix of ip, as IPv4 for an
// IPv4-mapped address.
func hostPrefix(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen())
}

// parsePort accepts a decimal port 1-65535 without sign or leading zeros.
func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != s {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	return n, nil
}
