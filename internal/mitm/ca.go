package mitm

import (
	"container/list"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

const (
	// MaxValidity caps the lifetime of a CA created by NewCA.
	MaxValidity = 7 * 24 * time.Hour
	// leafValidity is the longest lifetime of a leaf certificate.
	leafValidity = 24 * time.Hour
	// backdate is how far NotBefore lies in the past, for clock skew.
	backdate = time.Hour
	// renewBefore is the remaining validity below which a cached leaf is
	// minted again.
	renewBefore = time.Hour
	// defaultMaxLeaves bounds the leaf cache.
	defaultMaxLeaves = 1024
)

// ErrHostNotAllowed is returned (wrapped) by Leaf for a name the CA may
// not sign.
var ErrHostNotAllowed = errors.New("host is not one the CA may sign")

// testHookMint, when set, is called each time a leaf is minted.
var testHookMint func(host string)

// CA is a per-run certificate authority whose private key lives only in
// memory. It is safe for concurrent use.
type CA struct {
	cert    *x509.Certificate
	certDER []byte
	key     *ecdsa.PrivateKey
	exact   map[string]bool // hosts given to NewCA without "*."
	suffix  []string        // ".example.com" for each "*.example.com"
	now     func() time.Time

	maxLeaves int // cache bound; a field so tests can lower it

	mu     sync.Mutex               // guards leaves and lru
	leaves map[string]*list.Element // host -> element whose Value is *leafEntry
	lru    *list.List               // most recently used at the front
}

// leafEntry is one cached (or in-flight) leaf. cert and err are written
// once, before ready is closed, and only read after it is closed.
type leafEntry struct {
	host  string
	ready chan struct{}
	cert  *tls.Certificate
	err   error
}

// NewCA creates a CA that may sign leaves for hosts: DNS names
// ("api.example.com") or wildcard patterns ("*.example.com"), see the
// package documentation for the exact meaning and the name constraints
// written into the certificate. validity must be positive and is capped at
// MaxValidity.
func NewCA(hosts []string, validity time.Duration) (*CA, error) {
	return newCA(hosts, validity, time.Now)
}

func newCA(hosts []string, validity time.Duration, now func() time.Time) (*CA, error) {
	if validity <= 0 {
		return nil, fmt.Errorf("create mitm ca: validity %v is not positive", validity)
	}
	validity = min(validity, MaxValidity)
	if len(hosts) == 0 {
		return nil, errors.New("create mitm ca: no hosts to sign for")
	}
	c := &CA{
		exact:     make(map[string]bool),
		now:       now,
		maxLeaves: defaultMaxLeaves,
		leaves:    make(map[string]*list.Element),
		lru:       list.New(),
	}
	var permitted []string
	seen := make(map[string]bool)
	for _, h := range hosts {
		pattern := normalizeName(h)
		base, wildcard := strings.CutPrefix(pattern, "*.")
		if err := checkHostName(base); err != nil {
			return nil, fmt.Errorf("create mitm ca: host %q: %w", h, err)
		}
		if wildcard {
			if !strings.Contains(base, ".") {
				return nil, fmt.Errorf("create mitm ca: host %q: a wildcard needs at least two labels after \"*.\"", h)
			}
			c.suffix = append(c.suffix, "."+base)
		} else {
			c.exact[base] = true
		}
		if !seen[base] {
			seen[base] = true
			permitted = append(permitted, base)
		}
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create mitm ca: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("create mitm ca: %w", err)
	}
	id := make([]byte, 4)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("create mitm ca: random id: %w", err)
	}
	t := now()
	tmpl := &x509.Certificate{
		SerialNumber:                serial,
		Subject:                     pkix.Name{CommonName: "Airlock sandbox CA " + hex.EncodeToString(id)},
		NotBefore:                   t.Add(-backdate),
		NotAfter:                    t.Add(validity),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLen:                  0,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         permitted,
		ExcludedIPRanges: []*net.IPNet{
			{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
			{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create mitm ca: sign ca certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("create mitm ca: parse ca certificate: %w", err)
	}
	c.cert, c.certDER, c.key = cert, der, key
	return c, nil
}

// CertPEM returns the CA certificate in PEM form, for the sandbox's trust
// bundle. There is deliberately no way to get the private key.
func (c *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.certDER})
}

// NotAfter returns the end of the CA's validity.
func (c *CA) NotAfter() time.Time {
	return c.cert.NotAfter
}

// Leaf returns a certificate for host, minting it if no fresh one is
// cached. host must be a DNS name the CA may sign (an error wrapping
// ErrHostNotAllowed otherwise); IP literals are refused.
func (c *CA) Leaf(host string) (*tls.Certificate, error) {
	name, err := c.allowed(host)
	if err != nil {
		return nil, err
	}
	now := c.now()
	if !now.Before(c.cert.NotAfter) {
		return nil, fmt.Errorf("mint certificate for %q: ca expired at %v", name, c.cert.NotAfter)
	}

	c.mu.Lock()
	if el, ok := c.leaves[name]; ok {
		e := el.Value.(*leafEntry)
		if !isReady(e) || e.err == nil && c.freshLocked(e.cert.Leaf, now) {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			<-e.ready
			return e.cert, e.err
		}
		// Stale: drop it and mint a new one below.
		c.removeLocked(el)
	}
	e := &leafEntry{host: name, ready: make(chan struct{})}
	c.leaves[name] = c.lru.PushFront(e)
	for c.lru.Len() > c.maxLeaves {
		c.removeLocked(c.lru.Back())
	}
	c.mu.Unlock()

	e.cert, e.err = c.mint(name, now)
	close(e.ready)
	if e.err != nil {
		// Do not cache failures: the next caller tries again.
		c.mu.Lock()
		if el, ok := c.leaves[name]; ok && el.Value.(*leafEntry) == e {
			c.removeLocked(el)
		}
		c.mu.Unlock()
	}
	return e.cert, e.err
}

// freshLocked reports whether a cached leaf may still be served: it has
// more than renewBefore left, or it already ends with the CA (a new one
// could not last longer) and has not expired.
func (c *CA) freshLocked(leaf *x509.Certificate, now time.Time) bool {
	if now.Add(renewBefore).Before(leaf.NotAfter) {
		return true
	}
	return !leaf.NotAfter.Before(c.cert.NotAfter) && now.Before(leaf.NotAfter)
}

func isReady(e *leafEntry) bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

func (c *CA) removeLocked(el *list.Element) {
	delete(c.leaves, el.Value.(*leafEntry).host)
	c.lru.Remove(el)
}

// cachedLeaves returns the number of cached leaves.
func (c *CA) cachedLeaves() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// mint creates a leaf for name, which the caller has checked.
func (c *CA) mint(name string, now time.Time) (*tls.Certificate, error) {
	if testHookMint != nil {
		testHookMint(name)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("mint certificate for %q: generate key: %w", name, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("mint certificate for %q: %w", name, err)
	}
	notBefore := now.Add(-backdate)
	if notBefore.Before(c.cert.NotBefore) {
		notBefore = c.cert.NotBefore
	}
	notAfter := now.Add(leafValidity)
	if notAfter.After(c.cert.NotAfter) {
		notAfter = c.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := c.sign(tmpl, &key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("mint certificate for %q: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("mint certificate for %q: parse: %w", name, err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// sign signs tmpl with the CA key. It checks nothing about the names in
// tmpl: callers (mint, and tests of the name constraints) do.
func (c *CA) sign(tmpl *x509.Certificate, pub any) ([]byte, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, pub, c.key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	return der, nil
}

// ServerConfig returns a TLS configuration for terminating a client's TLS:
// the certificate comes from the ClientHello's SNI, which must be present
// and a name the CA may sign. It offers only HTTP/1.1 over TLS 1.2 or
// later. Each call returns a new Config.
func (c *CA) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName == "" {
				return nil, errors.New("client sent no server name (sni)")
			}
			return c.Leaf(hello.ServerName)
		},
	}
}

// allowed normalises host and checks that the CA may sign it.
func (c *CA) allowed(host string) (string, error) {
	name := normalizeName(host)
	if err := checkHostName(name); err != nil {
		return "", fmt.Errorf("mint certificate for %q: %w", host, err)
	}
	if c.exact[name] {
		return name, nil
	}
	for _, s := range c.suffix {
		if strings.HasSuffix(name, s) {
			return name, nil
		}
	}
	return "", fmt.Errorf("mint certificate for %q: %w", host, ErrHostNotAllowed)
}

// normalizeName lowercases s and removes one trailing dot.
func normalizeName(s string) string {
	s = strings.ToLower(s)
	s, _ = strings.CutSuffix(s, ".")
	return s
}

// checkHostName accepts a lowercase ASCII DNS name (labels of 1-63
// letters, digits, "-" and "_", at most 253 bytes) that is neither an IP
// literal nor a name a resolver would read as an IPv4 address.
func checkHostName(s string) error {
	if s == "" {
		return errors.New("empty host name")
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return errors.New("ip address literals are not allowed")
	}
	if strings.HasPrefix(s, "[") || strings.Contains(s, ":") {
		return errors.New("ip address literals and ports are not allowed")
	}
	if len(s) > 253 {
		return errors.New("host name is longer than 253 bytes")
	}
	labels := strings.Split(s, ".")
	for _, label := range labels {
		if label == "" {
			return errors.New("empty label in host name")
		}
		if len(label) > 63 {
			return fmt.Errorf("label %q is longer than 63 bytes", label)
		}
		for _, ch := range []byte(label) {
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return fmt.Errorf("host name has a character that is not a letter, digit, %q or %q: %q", '-', '_', rune(ch))
			}
		}
	}
	if numeric(labels[len(labels)-1]) {
		return errors.New("host name ends in a number, which resolvers read as an ip address")
	}
	return nil
}

// numeric reports whether label is a decimal, octal or hex number, the
// forms an IPv4 parser accepts for the last part of an address.
func numeric(label string) bool {
	digits := label
	isHex := false
	if rest, ok := strings.CutPrefix(label, "0x"); ok {
		digits, isHex = rest, true
		if digits == "" {
			return true
		}
	}
	for _, ch := range []byte(digits) {
		switch {
		case ch >= '0' && ch <= '9':
		case isHex && ch >= 'a' && ch <= 'f':
		default:
			return false
		}
	}
	return true
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("random serial: %w", err)
	}
	return serial.Add(serial, big.NewInt(1)), nil
}
