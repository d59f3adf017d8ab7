// Package inject decides, for each HTTP request the egress proxy can read,
// which credentials it may carry and where: it swaps a secret's
// placeholder for the real value on the way to one of that secret's hosts,
// and refuses a request that carries a secret (real or placeholder, plain,
// URL- or base64-encoded) towards any other host. It also applies the
// optional per-host limits (allowed methods, request body size).
//
// What it trusts: the Config, built by the supervisor from the user's
// policy and the host's secret sources. What it does not trust: every
// request, header, query and body, which come from the sandbox. It decides
// only on the requests it is shown: plain HTTP, and HTTPS that the proxy
// terminated. Traffic tunnelled untouched (hosts excluded from
// termination, non-TLS tunnels) is invisible to it; the proxy's
// documentation says which traffic that is.
//
// The decisions are pure: no I/O happens here. Body scanning streams: a
// reader holds back the last Overlap bytes of what it has seen, so a
// secret split across reads is caught before any byte of it is passed on.
package inject
