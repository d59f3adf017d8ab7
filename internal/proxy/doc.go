// Package proxy is Airlock's egress proxy: the sandboxed command's only way
// out of its network namespace. It speaks the HTTP/1.1 proxy protocol
// (absolute-URI forwarding and CONNECT tunnels) and SOCKS5 (CONNECT), and
// asks a Policy whether each destination may be reached.
//
// The supervisor runs it in process on listeners that live in the sandbox's
// network namespace; `airlock proxy` runs it standalone. Either way the
// caller hands it net.Listeners and a Config; the package opens no sockets
// of its own except the connections it dials to checked destinations.
//
// # Decisions are made at dial time
//
// Every request (each request of a keep-alive connection separately), every
// CONNECT tunnel and every SOCKS5 CONNECT goes through the same steps:
//
//  1. Policy.CheckName on the host exactly as the client sent it (IPv6
//     literals without their brackets). A denied name is never resolved,
//     so a DNS query cannot carry data out. A name denied only because no
//     allow rule matched (Verdict.NoMatch) goes to Config.Ask when set.
//  2. The name is resolved once: Config.Static pins first, then
//     Config.Resolver. An IP literal is not resolved.
//  3. Policy.CheckAddr on every resolved address (or the literal).
//  4. The proxy dials the allowed addresses in order, as IP:port, never a
//     host name, and never resolves again. The address it dials is the
//     address it checked, so a DNS answer that changes between the check
//     and the connect (DNS rebinding) cannot redirect the connection.
//
// Plain forwarded HTTP requests get their own upstream connection each,
// closed after the response. Terminated and gateway requests (below) reuse
// idle upstream TLS connections; each was made by the same steps.
//
// # Credentials: TLS termination and the gateway
//
// When Config.Inject is set, every request the proxy can read goes through
// it: plain forwarded HTTP, the requests inside a CONNECT tunnel whose TLS
// Config.TLS terminates, and the requests to the gateway listener
// (ServeGateway). The Injector refuses a request that carries a secret (or
// its placeholder) towards a host the secret is not for, swaps placeholders
// for real values towards the hosts it is for (never over plain HTTP), and
// applies per-host method and body-size limits.
//
// A terminated tunnel: the proxy dials the checked address, completes a
// TLS handshake with the upstream that verifies its certificate for the
// CONNECT name (Terminator.Roots, else the system roots) before it answers
// 200, then requires the client's SNI (when sent) to equal the CONNECT
// target, presents a leaf of the run's CA for that target, and serves the
// requests inside as HTTP/1.1: each Host header must name the CONNECT
// target as well (domain fronting is refused), each is checked and
// rewritten, and its response is streamed back as it arrives (server-sent
// events are not buffered). Only HTTP/1.1 is offered on either side.
// Everything else is tunnelled untouched and is invisible to the Injector:
// CONNECTs the Terminator does not select (excluded hosts, hosts no secret
// or limit names, IP literals) and SOCKS5.
//
// The gateway listener speaks plain HTTP on the sandbox's loopback: a
// request to /PREFIX/rest goes to the route's upstream over verified TLS,
// with the route's header set to the secret's value, whatever the client
// sent in it.
//
// # What it trusts and what it does not
//
// It trusts its Config: the Policy (the decision is entirely the policy's),
// the Resolver and the Static pins (the addresses they return are checked,
// but a resolver that lies about an allowed name is believed), and the Dial
// function.
//
// It trusts nothing the client sends. Request heads are parsed by a strict
// parser of its own (bounded to 64 KiB, read under a deadline): a request
// with both Content-Length and Transfer-Encoding, with conflicting
// Content-Length values, with obsolete header folding, with a Host header
// that disagrees with the request target, or with a CONNECT target that is
// anything but host:port is refused with 400 before anything is resolved
// or dialled. Hop-by-hop headers and Proxy-Authorization are stripped
// before forwarding, and bodies are re-framed rather than passed through,
// so the upstream sees exactly the framing the proxy parsed. When
// Config.Token is set, every HTTP request carries
// `Proxy-Authorization: Basic base64(user:token)` and every SOCKS5 client
// authenticates with RFC 1929 username/password; both are compared in
// constant time.
//
// It does not trust upstream servers either: response heads are bounded
// too, and a response that cannot be parsed ends the exchange with 502.
//
// A denial answers 403 Forbidden with the header
// `X-Airlock-Denied: RULE; hint: HINT` and the body
//
//	airlock: denied HOST:PORT: REASON
//	airlock: hint: HINT
//
// and SOCKS5 reply 0x02 (connection not allowed by ruleset).
//
// # Audit records
//
// Every decision, allowed or denied, produces exactly one Record, passed to
// Config.Audit when the request or tunnel ends; denials are also passed to
// Config.OnDeny when they are made. A terminated tunnel produces one record
// for the CONNECT and one per request inside it. As JSON, schema 1:
//
//	schema       int     always 1 (RecordSchema)
//	event        string  always "egress" (the audit stream carries other
//	                     events too)
//	time         string  RFC 3339 time the request head was read
//	sandbox_id   string  Config.SandboxID
//	client       string  client address as the listener reports it
//	proto        string  "http" (absolute-URI forwarding), "connect",
//	                     "https" (a request in a terminated tunnel),
//	                     "gateway", "socks5" or "socks4" (always refused)
//	method       string  HTTP method; "CONNECT", "BIND" or "UDP_ASSOCIATE"
//	                     for SOCKS5
//	host         string  destination: the policy's normalised name, the IP
//	                     literal, or the raw host when it never got that far
//	port         int     destination port
//	ip           string  the address dialled (or the denied address when
//	                     CheckAddr refused); empty when none
//	rule         string  rule id of the deciding verdict, or one of the
//	                     proxy's own: proxy.auth, proxy.bad-request,
//	                     proxy.unsupported, proxy.no-policy, proxy.ask,
//	                     proxy.sni-mismatch, proxy.host-mismatch,
//	                     proxy.upstream-tls, and the Injector's
//	                     secret.exfiltration, secret.cleartext,
//	                     limit.method, limit.body
//	decision     string  "allow" or "deny"
//	reason       string  human-readable reason
//	hint         string  how to change the outcome (omitted when empty)
//	tls          string  "terminated" for a terminated tunnel and the
//	                     requests in it, and for gateway requests
//	path         string  request path without the query, for requests the
//	                     proxy read (omitted when empty)
//	injected     []string names of the secrets whose values were put into
//	                     the request (omitted when none)
//	error        string  why an allowed connection failed: resolution or
//	                     dial error, upstream protocol error (omitted when
//	                     empty)
//	bytes_up     int     bytes sent to the destination (request heads and
//	                     bodies as re-framed, tunnel payload)
//	bytes_down   int     bytes received from the destination
//	duration_ms  float   from the request head to the end of the exchange
//
// The JSON names are also the Field* constants.
//
// # Resources
//
// Config.MaxConns bounds concurrent client connections (default 10000);
// each connection uses at most two goroutines at any time. Close stops
// every listener, closes every client and upstream connection, cancels
// pending Ask and resolver calls, and waits for every goroutine the proxy
// started.
package proxy
