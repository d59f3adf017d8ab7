package egress

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/airlock-sandbox/airlock/internal/policy"
)

// Verdict is the decision on one destination.
type Verdict struct {
	Allow bool
	// Rule is the deciding rule as written, "allow_domains: *.github.com",
	// "deny_cidrs: 10.0.0.0/8", or an address class, "address class:
	// loopback"; "" when no rule matched.
	Rule string
	// Reason says why, for a human.
	Reason string
	// Hint is the flag or policy key that would change the outcome,
	// "--allow-domain api.example.com" or "--allow-cidr 10.0.0.5/32:8080";
	// "" when nothing should be suggested.
	Hint string
	// NoMatch reports a denial by CheckName made only because no allow
	// rule matched: not a deny rule, not an address class, not a bad
	// host. Only such a denial may be put to a human to approve.
	NoMatch bool
}

// Policy is a compiled network policy. It is immutable and safe for
// concurrent use.
type Policy struct {
	allowNames, denyNames []nameRule
	allowAddrs, denyAddrs []addrRule
	self                  []netip.Addr            // unmapped, without zone
	pins                  map[string][]netip.Addr // normalised name -> unmapped addresses
	localBinding          bool
}

// AllowLocalBinding reports the policy's allow_local_binding setting (may
// the command listen on local ports inside the sandbox). It plays no part
// in egress decisions.
func (p *Policy) AllowLocalBinding() bool { return p != nil && p.localBinding }

// WithPins returns a copy of p that trusts the addresses the user pinned for
// a name (curl-style --resolve HOST:ADDR) for that name, whatever their
// class (a local test server on loopback, say): a pin is the user's own
// statement, not an answer from DNS, which is what the address classes
// guard against. Deny rules, the proxy's own addresses and cloud metadata
// addresses still refuse them: metadata needs an explicit allow_cidrs entry. Names that do not normalise are ignored.
func (p *Policy) WithPins(pins map[string][]netip.Addr) *Policy {
	if p == nil {
		return nil
	}
	q := *p
	q.pins = map[string][]netip.Addr{}
	for name, addrs := range pins {
		n, lit, err := normalizeHost(name)
		if err != nil || lit.IsValid() {
			continue
		}
		for _, a := range addrs {
			if a.IsValid() {
				q.pins[n] = append(q.pins[n], Unmap(a.WithZone("")))
			}
		}
	}
	return &q
}

// WithSelf returns a copy of p that also refuses the given addresses (the
// proxy's own addresses), unless an allow_cidrs entry names exactly that
// address. Invalid addresses are ignored.
func (p *Policy) WithSelf(addrs ...netip.Addr) *Policy {
	if p == nil {
		return nil
	}
	q := *p
	q.self = slices.Clone(p.self)
	for _, a := range addrs {
		if a.IsValid() {
			q.self = append(q.self, Unmap(a.WithZone("")))
		}
	}
	return &q
}

// CheckName is the decision before DNS, on host exactly as the client
// sent it and the port. It returns the normalised name ("" for an IP
// literal or a host that could not be read), the literal address (valid
// only for an IP literal) and the verdict. A name is allowed when an
// allow_domains entry matches it and its port and no deny_domains entry
// does; an IP literal when an address entry (allow_cidrs, or an address in
// allow_domains) covers the address (for an IPv6 form that embeds an IPv4
// address, the IPv4 address) and its port, and no deny entry does. An allowed destination must still pass
// CheckAddr for every address the caller would dial.
func (p *Policy) CheckName(host string, port int) (name string, literal netip.Addr, v Verdict) {
	if p == nil {
		return "", netip.Addr{}, deny("", "no network policy", "")
	}
	name, literal, err := normalizeHost(host)
	if err != nil {
		return "", netip.Addr{}, deny("", fmt.Sprintf("invalid host %s: %v", quoteHost(host), err), "")
	}
	if !validPort(port) {
		return name, literal, deny("", fmt.Sprintf("invalid port %d", port), "")
	}
	if literal.IsValid() {
		return name, literal, p.checkLiteral(literal, port)
	}
	return name, literal, p.checkName(name, port)
}

// checkName applies the domain rules to a normalised name.
func (p *Policy) checkName(name string, port int) Verdict {
	dest := hostPort(name, port)
	if r := p.denyName(name, port); r != nil {
		return deny(r.id, fmt.Sprintf("%s is denied by deny_domains entry %q", dest, r.entry), removeHint(keyDenyDomains, r.entry))
	}
	var portMiss *nameRule
	for i := range p.allowNames {
		r := &p.allowNames[i]
		if !r.matchHost(name) {
			continue
		}
		if portOK(r.port, port, false) {
			return Verdict{Allow: true, Rule: r.id, Reason: fmt.Sprintf("%s matches allow_domains entry %q", dest, r.entry)}
		}
		if portMiss == nil {
			portMiss = r
		}
	}
	var reason string
	switch {
	case portMiss != nil:
		reason = fmt.Sprintf("%s is not allowed: allow_domains entry %q covers %s only", dest, portMiss.entry, portsText(portMiss.port))
	case len(p.allowNames) == 0 && len(p.allowAddrs) == 0:
		reason = fmt.Sprintf("%s is not allowed: the policy allows no destinations (allow_domains is empty)", dest)
	default:
		reason = fmt.Sprintf("%s is not allowed: no allow_domains entry matches it", dest)
	}
	v := deny("", reason, domainHint(name, port))
	v.NoMatch = true
	return v
}

// checkLiteral applies the address rules to an IP literal before dialling.
func (p *Policy) checkLiteral(ip netip.Addr, port int) Verdict {
	raw := ip.WithZone("")
	u := Unmap(raw)
	dest := addrPort(ip, port)
	if r := p.denyName("", port); r != nil {
		return deny(r.id, fmt.Sprintf("%s is denied by deny_domains entry %q", dest, r.entry), removeHint(keyDenyDomains, r.entry))
	}
	if r := p.denyAddr(raw, u, port); r != nil {
		return deny(r.id, fmt.Sprintf("%s is denied by %s entry %q", dest, r.key, r.entry), removeHint(r.key, r.entry))
	}
	if r := p.allowAddr(u, port, netip.Prefix{}); r != nil {
		return Verdict{Allow: true, Rule: r.id, Reason: fmt.Sprintf("%s is covered by %s entry %q", dest, r.key, r.entry)}
	}
	cr, _ := lookup(raw)
	what := ""
	if cr.class != ClassPublic {
		what = " in " + cr.what
	}
	reason := fmt.Sprintf("%s is an IP address%s%s and no allow_cidrs entry covers it", dest, what, embedded(raw, u))
	if cr.class == ClassMetadata {
		return deny("", reason+"; opening a metadata address to the sandbox is never a good idea", "")
	}
	v := deny("", reason, cidrHint(u, port))
	v.NoMatch = cr.class == ClassPublic && !p.isSelf(raw, u)
	return v
}

// CheckAddr is the decision after DNS, on each address the caller would
// dial for name (as CheckName returned it, "" for an IP literal) and port,
// once CheckName allowed the destination or a human approved it. It
// refuses addresses in deny_domains and deny_cidrs, the proxy's own
// addresses (WithSelf) and every address that is not public (loopback,
// private, link-local, CGNAT, multicast, metadata and the rest, see
// Class), unless an allow entry covers the address and port and lies
// inside the address's class range (so "0.0.0.0/0" does not open loopback,
// and only an entry for the exact address opens a metadata or own
// address). An exact "localhost" allow_domains entry also opens loopback
// addresses for the name localhost. Embedded IPv4 forms are judged as the
// IPv4 address. The caller must dial exactly ip.
func (p *Policy) CheckAddr(name string, ip netip.Addr, port int) Verdict {
	if p == nil {
		return deny("", "no network policy", "")
	}
	if !ip.IsValid() {
		return deny("", "invalid address", "")
	}
	if !validPort(port) {
		return deny("", fmt.Sprintf("invalid port %d", port), "")
	}
	if name != "" {
		n, lit, err := normalizeHost(name)
		if err != nil || lit.IsValid() || n != name {
			return deny("", fmt.Sprintf("invalid name %s: CheckAddr takes the name CheckName returned", quoteHost(name)), "")
		}
	}
	raw := ip.WithZone("")
	u := Unmap(raw)
	dest := addrPort(ip, port)
	if name != "" {
		dest = fmt.Sprintf("%s (%s)", addrPort(ip, port), hostPort(name, port))
	}
	if r := p.denyName(name, port); r != nil {
		return deny(r.id, fmt.Sprintf("%s is denied by deny_domains entry %q", dest, r.entry), removeHint(keyDenyDomains, r.entry))
	}
	if r := p.denyAddr(raw, u, port); r != nil {
		return deny(r.id, fmt.Sprintf("%s is denied by %s entry %q", dest, r.key, r.entry), removeHint(r.key, r.entry))
	}
	if name != "" && !p.isSelf(raw, u) && slices.Contains(p.pins[name], u) && Classify(u) != ClassMetadata {
		return Verdict{Allow: true, Rule: "resolve: " + name + "=" + u.String(),
			Reason: fmt.Sprintf("%s is the address pinned for %s with --resolve", dest, name)}
	}
	cr, _ := lookup(raw)
	if p.isSelf(raw, u) {
		cr = classRange{prefix: netip.PrefixFrom(u, u.BitLen()), class: ClassSelf, what: "an address of the proxy itself"}
	}
	if cr.class == ClassPublic {
		rule := "address class: public"
		if name != "" {
			if r := p.allowName(name, port); r != nil {
				rule = r.id
			}
		} else if r := p.allowAddr(u, port, netip.Prefix{}); r != nil {
			rule = r.id
		}
		return Verdict{Allow: true, Rule: rule, Reason: fmt.Sprintf("%s is a public address%s", dest, embedded(raw, u))}
	}
	if r := p.allowAddr(u, port, cr.prefix); r != nil {
		return Verdict{Allow: true, Rule: r.id, Reason: fmt.Sprintf("%s is %s%s, opened by %s entry %q", dest, cr.what, embedded(raw, u), r.key, r.entry)}
	}
	if cr.class == ClassLoopback && name == "localhost" {
		for i := range p.allowNames {
			if r := &p.allowNames[i]; !r.wildcard && !r.any && r.host == "localhost" && portOK(r.port, port, false) {
				return Verdict{Allow: true, Rule: r.id, Reason: fmt.Sprintf("%s is %s, opened for localhost by allow_domains entry %q", dest, cr.what, r.entry)}
			}
		}
	}
	rule := "address class: " + string(cr.class)
	reason := fmt.Sprintf("%s is %s%s", dest, cr.what, embedded(raw, u))
	if r := p.allowAddr(u, port, netip.Prefix{}); r != nil {
		reason += fmt.Sprintf("; %s entry %q covers it but is wider than that range, so it does not open it", r.key, r.entry)
	}
	if cr.class == ClassMetadata {
		return deny(rule, reason+"; opening a metadata address to the sandbox is never a good idea", "")
	}
	if cr.class == ClassLoopback && name == "localhost" {
		return deny(rule, reason, domainHint(name, port))
	}
	return deny(rule, reason, cidrHint(u, port))
}

// denyName returns the deny_domains name rule that matches name (every
// such rule when name is "": only "*" can match an address) and port.
func (p *Policy) denyName(name string, port int) *nameRule {
	for i := range p.denyNames {
		r := &p.denyNames[i]
		if (r.any || name != "" && r.matchHost(name)) && portOK(r.port, port, true) {
			return r
		}
	}
	return nil
}

// allowName returns the first allow_domains rule that matches name and port.
func (p *Policy) allowName(name string, port int) *nameRule {
	for i := range p.allowNames {
		if r := &p.allowNames[i]; r.matchHost(name) && portOK(r.port, port, false) {
			return r
		}
	}
	return nil
}

// denyAddr returns the first deny address rule that contains the address
// as written or its embedded IPv4 form, for port.
func (p *Policy) denyAddr(raw, u netip.Addr, port int) *addrRule {
	for i := range p.denyAddrs {
		r := &p.denyAddrs[i]
		if (r.prefix.Contains(raw) || r.prefix.Contains(u)) && portOK(r.port, port, true) {
			return r
		}
	}
	return nil
}

// allowAddr returns the first allow address rule that contains u (the
// unmapped address) for port and, when within is valid, lies inside it.
func (p *Policy) allowAddr(u netip.Addr, port int, within netip.Prefix) *addrRule {
	for i := range p.allowAddrs {
		r := &p.allowAddrs[i]
		if !r.prefix.Contains(u) || !portOK(r.port, port, false) {
			continue
		}
		if within.IsValid() && (r.prefix.Bits() < within.Bits() || !within.Contains(r.prefix.Addr())) {
			continue
		}
		return r
	}
	return nil
}

func (p *Policy) isSelf(raw, u netip.Addr) bool {
	return slices.Contains(p.self, u) || slices.Contains(p.self, raw)
}

func deny(rule, reason, hint string) Verdict {
	return Verdict{Rule: rule, Reason: reason, Hint: hint}
}

func validPort(port int) bool { return port >= 1 && port <= 65535 }

func hostPort(name string, port int) string { return name + ":" + strconv.Itoa(port) }

func addrPort(ip netip.Addr, port int) string {
	return netip.AddrPortFrom(ip, uint16(port)).String()
}

// embedded describes the IPv4 address u embedded in raw, if any.
func embedded(raw, u netip.Addr) string {
	if u == raw {
		return ""
	}
	return fmt.Sprintf(" (it embeds %s)", u)
}

func portsText(port int) string {
	if port == 0 {
		return "ports 80 and 443"
	}
	return "port " + strconv.Itoa(port)
}

// quoteHost quotes attacker-controlled host text for a reason, cut short.
func quoteHost(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// withPort appends ":PORT" unless port is one an entry without a port
// already covers.
func withPort(s string, port int) string {
	if port == 80 || port == 443 {
		return s
	}
	return s + ":" + strconv.Itoa(port)
}

// domainHint suggests the narrowest --allow-domain that allows name and
// port, or "" when internal/policy would refuse it (a single-label name).
func domainHint(name string, port int) string {
	e := withPort(name, port)
	if (&policy.Policy{Network: policy.Network{AllowDomains: []string{e}}}).Validate() != nil {
		return ""
	}
	return "--allow-domain " + e
}

// cidrHint suggests the --allow-cidr for exactly u and port.
func cidrHint(u netip.Addr, port int) string {
	e := withPort(netip.PrefixFrom(u, u.BitLen()).String(), port)
	if (&policy.Policy{Network: policy.Network{AllowCIDRs: []string{e}}}).Validate() != nil {
		return ""
	}
	return "--allow-cidr " + e
}

// removeHint names the deny entry to remove.
func removeHint(key, entry string) string {
	return fmt.Sprintf("remove %q from network.%s", entry, key)
}
