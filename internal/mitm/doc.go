// Package mitm is the per-run certificate authority that lets Airlock's
// egress proxy terminate TLS for the hosts that receive injected
// credentials, so the credential is added by the proxy and the sandboxed
// command never sees it. It also builds the trust bundle and the
// environment that make the sandboxed command trust that CA.
//
// # The CA
//
// NewCA generates an ECDSA P-256 CA in memory for one run. Its private key
// is never written anywhere: there is no function that exports it, and
// CertPEM, Bundle and TrustEnv carry only certificates and paths. The CA
// is valid from one hour before creation (clock skew) for the validity the
// caller asks for, capped at MaxValidity (seven days). It has
// BasicConstraints CA:true with MaxPathLen 0 (it signs leaves only) and
// KeyUsage CertSign|CRLSign.
//
// The CA is bound up front to the hosts it will ever sign, and that bound
// is written into the certificate as critical X.509 name constraints, so
// that even a leaked CA key cannot be used against verifiers that enforce
// name constraints (Go, OpenSSL, BoringSSL, NSS, rustls/webpki, modern
// browsers) to impersonate anything else:
//
//   - "api.example.com" permits the DNS subtree "api.example.com": that
//     name and, by RFC 5280 semantics, every name under it
//     ("x.api.example.com").
//   - "*.example.com" permits the DNS subtree "example.com": the name
//     itself and every name under it. This is wider than the pattern,
//     because RFC 5280 DNS constraints have no "strict subdomains only"
//     form that every verifier agrees on.
//   - All IPv4 and IPv6 addresses are excluded (0.0.0.0/0 and ::/0), so
//     no certificate under the CA verifies for an IP address.
//
// Name constraints bound what a leaked key could do; Leaf bounds what this
// package does, and it is stricter: it signs a leaf only for a name that
// equals a host given to NewCA, or that lies strictly under a "*." pattern
// (any depth: "*.example.com" covers "a.example.com" and "a.b.example.com"
// but not "example.com", the same meaning as an egress allow_domains
// wildcard). A host is an ASCII DNS name (letters, digits, "-", "_";
// international names in their "xn--" form), compared case-insensitively
// with one trailing dot ignored. IP literals, and names that a resolver
// would read as an IPv4 address ("127.1", "0x7f.1"), are refused.
//
// # Leaves
//
// Leaf certificates are ECDSA P-256, with a fresh key per host, SAN and CN
// equal to the host, ExtKeyUsage ServerAuth, and valid from one hour ago
// (never before the CA) until 24 hours from minting or the CA's expiry,
// whichever is first. They are cached in memory (at most 1024 hosts,
// least recently used evicted) and minted again when less than an hour of
// validity is left. Concurrent requests for the same host wait for one
// minting. ServerConfig serves them by SNI: a ClientHello without SNI, or
// with a name the CA may not sign, fails the handshake.
//
// # The trust bundle and environment
//
// Bundle returns the system roots (the CERTIFICATE blocks of the first
// existing, non-empty file among the candidates; DefaultSystemBundles
// lists the Debian, RHEL, SUSE and Alpine locations) followed by the CA
// certificate. Any other PEM block in the system file, such as a private
// key, is dropped. When no candidate exists, the bundle is the CA alone:
// clients that use it then trust only the proxy's intercepted hosts, so
// TLS to every other host fails (closed, never open).
//
// TrustEnv names that bundle to the common clients: SSL_CERT_FILE
// (OpenSSL, Go, Python ssl, Ruby, rustls-native-certs), REQUESTS_CA_BUNDLE
// (Python requests), CURL_CA_BUNDLE (curl), GIT_SSL_CAINFO (git),
// PIP_CERT (pip), CARGO_HTTP_CAINFO (cargo) and AWS_CA_BUNDLE (AWS CLI and
// SDKs). NODE_EXTRA_CA_CERTS gets the CA-only file, because Node adds it
// to its built-in roots rather than replacing them. SSL_CERT_DIR is left
// alone: OpenSSL and Go read it in addition to SSL_CERT_FILE, and the
// system directory only holds roots the bundle already contains. Java is
// not covered: the JVM reads a keystore (built with keytool), not PEM
// from the environment; a caller that needs it must build a truststore
// and pass -Djavax.net.ssl.trustStore itself.
//
// # Trust
//
// The package trusts its caller for the host list and the file paths, and
// crypto/rand for keys and serial numbers. It trusts nothing that arrives
// over the network: the SNI of a ClientHello is only a name to check
// against the host list. It does not verify upstream servers (the proxy
// does that with the system roots when it dials), decide which hosts get
// credentials (the policy does), or protect the key from a process that
// can read the proxy's memory.
package mitm
