// Package egress is Airlock's egress policy engine: it decides whether the
// sandboxed command may reach a destination. The sandbox has no network of
// its own; the proxy asks this package about every destination and dials
// only what it allows. The package is pure: no DNS, no sockets, no files,
// no clock. Data in, decision out, so every decision can be tested and
// fuzzed without a network.
//
// # Two checks
//
// Compile turns the network section of the effective policy into a
// Policy. The proxy then asks twice per destination:
//
//  1. CheckName, before any DNS query, on the host exactly as the client
//     sent it. The host is normalised first: lowercase, trailing dot
//     removed, IPv6 literals with or without brackets and zone, and every
//     numeric IPv4 spelling a resolver or URL parser accepts (2130706433,
//     0177.0.0.1, 0x7f.1, 127.1, ...) read as the address it is. A name is
//     allowed when an allow_domains entry matches it and its port and no
//     deny_domains entry does; an empty allowlist allows nothing. An IP
//     literal is allowed only when an allow_cidrs entry (or an address
//     written in allow_domains) covers it. A denied name is never
//     resolved, so a DNS query cannot carry data out.
//  2. CheckAddr, after DNS, on every address the proxy would dial (or on
//     the literal). It refuses deny_cidrs, the proxy's own addresses
//     (WithSelf) and every address that is not public (see Class):
//     loopback, private, link-local, CGNAT, multicast, broadcast,
//     reserved, documentation, benchmarking and cloud metadata, unless an
//     allow_cidrs entry for a range inside that class covers it. A broad
//     entry like 0.0.0.0/0 opens no special range; only an entry for the
//     exact address opens a metadata address or the proxy's own. An exact
//     "localhost" allow_domains entry opens loopback for the name
//     localhost, so "--allow-domain localhost:3000" reaches a dev server.
//
// Deny entries beat allow entries everywhere. Matching follows
// sandbox-runtime: case-insensitive; "*.example.com" matches strict
// subdomains only; "example.com" only itself; "*" (deny lists only) every
// host. An allow entry without a port covers ports 80 and 443, with
// ":PORT" that port only; this holds for allow_domains and allow_cidrs
// alike. A deny entry without a port covers every port.
//
// Every Verdict names the deciding rule as written and, for a denial that
// a flag could change, the narrowest flag that would ("--allow-domain
// api.example.com:8443", "--allow-cidr 10.0.0.5/32"). Metadata addresses
// get no hint.
//
// # What it trusts
//
// Nothing it is asked about. Hosts, ports, names and addresses all come
// from the sandboxed command (directly, or through a DNS answer it may
// control) and are treated as hostile: an address hidden in another
// spelling (decimal, octal, hex, short forms, IPv4-mapped, IPv4-translated,
// NAT64, 6to4, Teredo) is judged as the IPv4 address it reaches, a
// local-use NAT64 address whose IPv4 cannot be decided is refused, and a
// host that cannot be read is refused. Non-ASCII hosts are refused: real
// clients send international names in their punycode form, and "xn--"
// labels must be valid, canonical punycode. It trusts the policy it is
// compiled from (internal/policy has validated it) and the self addresses
// it is given.
//
// # DNS rebinding
//
// A name that was allowed may resolve to anything, and may resolve to
// something else a moment later. The defence is in how the caller uses
// the two checks: resolve once, call CheckAddr on each address, and dial
// exactly the address CheckAddr allowed, as an IP address, never the name
// again. A resolver answer that changes between the check and the dial
// then cannot redirect the connection to a private or metadata address.
package egress
