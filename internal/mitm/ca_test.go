package mitm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var testHosts = []string{"api.example.com", "*.wild.example.org"}

func newTestCA(t *testing.T) *CA {
	t.Helper()
	c, err := NewCA(testHosts, 24*time.Hour)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return c
}

func caPool(t *testing.T, c *CA) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CertPEM()) {
		t.Fatal("CertPEM is not parseable by x509.CertPool")
	}
	return pool
}

// countMints installs testHookMint for the test and returns the counter.
func countMints(t *testing.T) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	testHookMint = func(string) { n.Add(1) }
	t.Cleanup(func() { testHookMint = nil })
	return &n
}

// handshake runs a TLS handshake over net.Pipe between a client with cfg
// and a server with c.ServerConfig(), and returns both sides' results.
func handshake(t *testing.T, c *CA, cfg *tls.Config) (client tls.ConnectionState, clientErr, serverErr error) {
	t.Helper()
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	deadline := time.Now().Add(10 * time.Second)
	cc.SetDeadline(deadline)
	sc.SetDeadline(deadline)
	srv := tls.Server(sc, c.ServerConfig())
	done := make(chan error, 1)
	go func() {
		err := srv.Handshake()
		// Unblock a client still waiting for the server's flight.
		sc.Close()
		done <- err
	}()
	cl := tls.Client(cc, cfg)
	clientErr = cl.Handshake()
	cc.Close()
	serverErr = <-done
	return cl.ConnectionState(), clientErr, serverErr
}

func TestHandshake(t *testing.T) {
	c := newTestCA(t)
	pool := caPool(t, c)
	tests := []struct {
		name       string
		serverName string
		insecure   bool // needed by crypto/tls to send no SNI at all
		wantOK     bool
		wantSrvErr string
	}{
		{"exact host", "api.example.com", false, true, ""},
		{"wildcard host", "a.wild.example.org", false, true, ""},
		{"outside hosts", "evil.test", false, false, "not one the CA may sign"},
		{"wildcard apex", "wild.example.org", false, false, "not one the CA may sign"},
		{"no sni", "", true, false, "no server name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: pool, ServerName: tt.serverName, InsecureSkipVerify: tt.insecure, NextProtos: []string{"h2", "http/1.1"}}
			st, cerr, serr := handshake(t, c, cfg)
			if tt.wantOK {
				if cerr != nil || serr != nil {
					t.Fatalf("handshake: got client error %v, server error %v, want success", cerr, serr)
				}
				if got := st.NegotiatedProtocol; got != "http/1.1" {
					t.Errorf("negotiated protocol: got %q, want %q", got, "http/1.1")
				}
				leaf := st.PeerCertificates[0]
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: tt.serverName, Roots: pool}); err != nil {
					t.Errorf("verify served leaf: got %v, want nil", err)
				}
				return
			}
			if cerr == nil {
				t.Fatal("client handshake: got success, want failure")
			}
			if serr == nil || !strings.Contains(serr.Error(), tt.wantSrvErr) {
				t.Errorf("server error: got %v, want one containing %q", serr, tt.wantSrvErr)
			}
		})
	}
}

func TestServerConfig(t *testing.T) {
	cfg := newTestCA(t).ServerConfig()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion: got %#x, want %#x", cfg.MinVersion, tls.VersionTLS12)
	}
	if len(cfg.NextProtos) != 1 || cfg.NextProtos[0] != "http/1.1" {
		t.Errorf("NextProtos: got %q, want [http/1.1]", cfg.NextProtos)
	}
	if len(cfg.Certificates) != 0 {
		t.Errorf("Certificates: got %d, want none (only GetCertificate)", len(cfg.Certificates))
	}
	// A TLS 1.1 client is refused.
	c := newTestCA(t)
	_, cerr, _ := handshake(t, c, &tls.Config{RootCAs: caPool(t, c), ServerName: "api.example.com", MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10})
	if cerr == nil {
		t.Error("tls 1.1 client: got success, want failure")
	}
}

func TestLeafHosts(t *testing.T) {
	c := newTestCA(t)
	pool := caPool(t, c)
	tests := []struct {
		host    string
		want    string // SAN of the leaf; "" means refused
		notHost bool   // refusal must wrap ErrHostNotAllowed
	}{
		{"api.example.com", "api.example.com", false},
		{"API.Example.COM.", "api.example.com", false},
		{"a.wild.example.org", "a.wild.example.org", false},
		{"a.b.wild.example.org", "a.b.wild.example.org", false},
		{"wild.example.org", "", true},
		{"x.api.example.com", "", true},
		{"example.com", "", true},
		{"evil.test", "", true},
		{"api.example.com.evil.test", "", true},
		{"awild.example.org", "", true},
		{"127.0.0.1", "", false},
		{"::1", "", false},
		{"[::1]", "", false},
		{"127.1", "", false},
		{"a.wild.example.org.0x7f", "", false},
		{"api.example.com:443", "", false},
		{"", "", false},
		{"a..wild.example.org", "", false},
		{"a b.wild.example.org", "", false},
		{"*.wild.example.org", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			cert, err := c.Leaf(tt.host)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Leaf(%q): got certificate for %q, want error", tt.host, cert.Leaf.DNSNames)
				}
				if got := errors.Is(err, ErrHostNotAllowed); got != tt.notHost {
					t.Errorf("Leaf(%q) error %v: errors.Is(ErrHostNotAllowed) got %v, want %v", tt.host, err, got, tt.notHost)
				}
				return
			}
			if err != nil {
				t.Fatalf("Leaf(%q): got %v, want certificate", tt.host, err)
			}
			leaf := cert.Leaf
			if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != tt.want {
				t.Errorf("SANs: got %q, want [%s]", leaf.DNSNames, tt.want)
			}
			if len(leaf.IPAddresses)+len(leaf.URIs)+len(leaf.EmailAddresses) != 0 {
				t.Errorf("other SANs: got %v %v %v, want none", leaf.IPAddresses, leaf.URIs, leaf.EmailAddresses)
			}
			if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
				t.Errorf("ExtKeyUsage: got %v, want [ServerAuth]", leaf.ExtKeyUsage)
			}
			if leaf.IsCA {
				t.Error("leaf IsCA: got true, want false")
			}
			pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
			if !ok || pub.Curve != elliptic.P256() {
				t.Errorf("leaf key: got %T, want ECDSA P-256", leaf.PublicKey)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: tt.want, Roots: pool}); err != nil {
				t.Errorf("verify: got %v, want nil", err)
			}
		})
	}
}

// TestNameConstraints signs certificates directly with the CA key, as a
// thief of the key could, and checks that Go's verifier holds them to the
// hosts given to NewCA.
func TestNameConstraints(t *testing.T) {
	c := newTestCA(t)
	pool := caPool(t, c)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		dns    string
		ip     net.IP
		verify string // name to verify for
		wantOK bool
	}{
		{"in hosts (control)", "api.example.com", nil, "api.example.com", true},
		{"under exact host (rfc 5280 subtree)", "x.api.example.com", nil, "x.api.example.com", true},
		{"wildcard base subtree", "other.example.org", nil, "other.example.org", false},
		{"wildcard pattern apex", "example.org", nil, "example.org", false},
		{"under wildcard (control)", "a.wild.example.org", nil, "a.wild.example.org", true},
		{"wildcard base itself", "wild.example.org", nil, "wild.example.org", true},
		{"outside hosts", "evil.test", nil, "evil.test", false},
		{"suffix trick", "evilapi.example.com", nil, "evilapi.example.com", false},
		{"ipv4 san", "", net.ParseIP("127.0.0.1"), "127.0.0.1", false},
		{"ipv6 san", "", net.ParseIP("::1"), "::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(2),
				Subject:      pkix.Name{CommonName: tt.verify},
				NotBefore:    time.Now().Add(-time.Minute),
				NotAfter:     time.Now().Add(time.Hour),
				ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			}
			if tt.dns != "" {
				tmpl.DNSNames = []string{tt.dns}
			}
			if tt.ip != nil {
				tmpl.IPAddresses = []net.IP{tt.ip}
			}
			der, err := c.sign(tmpl, &key.PublicKey)
			if err != nil {
				t.Fatalf("sign: %v", err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cert.Verify(x509.VerifyOptions{DNSName: tt.verify, Roots: pool})
			if tt.wantOK {
				if err != nil {
					t.Errorf("verify %q: got %v, want nil", tt.verify, err)
				}
				return
			}
			var inv x509.CertificateInvalidError
			if !errors.As(err, &inv) || inv.Reason != x509.CANotAuthorizedForThisName {
				t.Errorf("verify %q: got %v, want CANotAuthorizedForThisName", tt.verify, err)
			}
		})
	}
}

func TestCACertificate(t *testing.T) {
	before := time.Now()
	c := newTestCA(t)
	ca := c.cert
	if !ca.IsCA || !ca.BasicConstraintsValid {
		t.Errorf("IsCA/BasicConstraintsValid: got %v/%v, want true/true", ca.IsCA, ca.BasicConstraintsValid)
	}
	if ca.MaxPathLen != 0 || !ca.MaxPathLenZero {
		t.Errorf("MaxPathLen/MaxPathLenZero: got %d/%v, want 0/true", ca.MaxPathLen, ca.MaxPathLenZero)
	}
	if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign; ca.KeyUsage != want {
		t.Errorf("KeyUsage: got %v, want %v", ca.KeyUsage, want)
	}
	if !strings.HasPrefix(ca.Subject.CommonName, "Airlock sandbox CA ") || len(ca.Subject.CommonName) <= len("Airlock sandbox CA ") {
		t.Errorf("CN: got %q, want \"Airlock sandbox CA <id>\"", ca.Subject.CommonName)
	}
	if other := newTestCA(t); other.cert.Subject.CommonName == ca.Subject.CommonName {
		t.Errorf("two CAs share the CN %q, want a random id each", ca.Subject.CommonName)
	}
	if got, want := strings.Join(ca.PermittedDNSDomains, ","), "api.example.com,wild.example.org"; got != want {
		t.Errorf("PermittedDNSDomains: got %q, want %q", got, want)
	}
	if !ca.PermittedDNSDomainsCritical {
		t.Error("name constraints critical: got false, want true")
	}
	var excluded []string
	for _, r := range ca.ExcludedIPRanges {
		excluded = append(excluded, r.String())
	}
	if got, want := strings.Join(excluded, ","), "0.0.0.0/0,::/0"; got != want {
		t.Errorf("ExcludedIPRanges: got %q, want %q", got, want)
	}
	if pub, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key: got %T, want ECDSA P-256", ca.PublicKey)
	}
	now := time.Now()
	if now.Before(ca.NotBefore) || !now.Before(ca.NotAfter) {
		t.Errorf("CA validity [%v, %v] does not contain now %v", ca.NotBefore, ca.NotAfter, now)
	}
	if d := before.Sub(ca.NotBefore); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("NotBefore: got %v before creation, want about 1h", d)
	}
	if !c.NotAfter().Equal(ca.NotAfter) {
		t.Errorf("NotAfter(): got %v, want %v", c.NotAfter(), ca.NotAfter)
	}
	if pem := string(c.CertPEM()); strings.Contains(pem, "PRIVATE KEY") || !strings.HasPrefix(pem, "-----BEGIN CERTIFICATE-----") {
		t.Errorf("CertPEM: got %q, want one CERTIFICATE block and no private key", pem)
	}
}

func TestNewCAValidity(t *testing.T) {
	tests := []struct {
		name     string
		validity time.Duration
		want     time.Duration // NotAfter - creation time
	}{
		{"two hours", 2 * time.Hour, 2 * time.Hour},
		{"one day", 24 * time.Hour, 24 * time.Hour},
		{"capped", 30 * 24 * time.Hour, MaxValidity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			c, err := NewCA(testHosts, tt.validity)
			if err != nil {
				t.Fatal(err)
			}
			got := c.NotAfter().Sub(start)
			if got < tt.want-time.Minute || got > tt.want+time.Minute {
				t.Errorf("NotAfter - now: got %v, want about %v", got, tt.want)
			}
		})
	}
}

func TestNewCAErrors(t *testing.T) {
	tests := []struct {
		name     string
		hosts    []string
		validity time.Duration
		want     string
	}{
		{"no hosts", nil, time.Hour, "no hosts"},
		{"zero validity", testHosts, 0, "not positive"},
		{"negative validity", testHosts, -time.Hour, "not positive"},
		{"tld wildcard", []string{"*.com"}, time.Hour, "at least two labels"},
		{"bare wildcard", []string{"*"}, time.Hour, "character"},
		{"double wildcard", []string{"*.*.example.com"}, time.Hour, "character"},
		{"inner wildcard", []string{"api.*.example.com"}, time.Hour, "character"},
		{"ipv4", []string{"192.0.2.1"}, time.Hour, "ip address"},
		{"ipv6", []string{"2001:db8::1"}, time.Hour, "ip address"},
		{"numeric name", []string{"127.1"}, time.Hour, "ends in a number"},
		{"empty host", []string{""}, time.Hour, "empty host"},
		{"empty label", []string{"a..example.com"}, time.Hour, "empty label"},
		{"port", []string{"example.com:443"}, time.Hour, "ports"},
		{"long label", []string{strings.Repeat("a", 64) + ".com"}, time.Hour, "longer than 63"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCA(tt.hosts, tt.validity)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewCA(%q, %v): got %v, %v, want error containing %q", tt.hosts, tt.validity, c, err, tt.want)
			}
		})
	}
}

func TestLeafValidity(t *testing.T) {
	tests := []struct {
		name       string
		caValidity time.Duration
	}{
		{"ca outlives leaf", 72 * time.Hour},
		{"ca expires first", 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCA(testHosts, tt.caValidity)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			cert, err := c.Leaf("api.example.com")
			if err != nil {
				t.Fatal(err)
			}
			leaf := cert.Leaf
			if leaf.NotAfter.After(c.cert.NotAfter) {
				t.Errorf("leaf NotAfter %v is after CA NotAfter %v", leaf.NotAfter, c.cert.NotAfter)
			}
			if leaf.NotBefore.Before(c.cert.NotBefore) {
				t.Errorf("leaf NotBefore %v is before CA NotBefore %v", leaf.NotBefore, c.cert.NotBefore)
			}
			want := now.Add(leafValidity)
			if c.cert.NotAfter.Before(want) {
				want = c.cert.NotAfter
			}
			if d := leaf.NotAfter.Sub(want); d < -time.Minute || d > time.Minute {
				t.Errorf("leaf NotAfter: got %v, want about %v", leaf.NotAfter, want)
			}
			if now.Before(leaf.NotBefore) || !now.Before(leaf.NotAfter) {
				t.Errorf("leaf validity [%v, %v] does not contain now %v", leaf.NotBefore, leaf.NotAfter, now)
			}
		})
	}
}

// fakeClock is a settable clock for newCA.
type fakeClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func TestLeafRenewalAndExpiry(t *testing.T) {
	mints := countMints(t)
	clock := &fakeClock{t: time.Now()}
	c, err := newCA(testHosts, 48*time.Hour, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		advance   time.Duration
		wantMints int64
		wantSame  bool // the same certificate as the previous step
		wantErr   bool
	}{
		{"first mint", 0, 1, false, false},
		{"cached", 22 * time.Hour, 1, true, false},
		{"renewed within an hour of expiry", 90 * time.Minute, 2, false, false},
		{"renewal capped by ca", 24 * time.Hour, 3, false, false},
		{"ends with ca: cached, not minted per call", 10 * time.Minute, 3, true, false},
		{"ca expired", 24 * time.Hour, 3, false, true},
	}
	var prev *tls.Certificate
	for _, s := range steps {
		clock.advance(s.advance)
		cert, err := c.Leaf("api.example.com")
		if s.wantErr {
			if err == nil {
				t.Fatalf("%s: got certificate, want error", s.name)
			}
		} else {
			if err != nil {
				t.Fatalf("%s: got %v, want certificate", s.name, err)
			}
			if cert.Leaf.NotAfter.After(c.cert.NotAfter) {
				t.Errorf("%s: leaf NotAfter %v after CA NotAfter %v", s.name, cert.Leaf.NotAfter, c.cert.NotAfter)
			}
			if !clock.now().Before(cert.Leaf.NotAfter) {
				t.Errorf("%s: leaf NotAfter %v not after now %v", s.name, cert.Leaf.NotAfter, clock.now())
			}
			if got := cert == prev; got != s.wantSame {
				t.Errorf("%s: same certificate as before: got %v, want %v", s.name, got, s.wantSame)
			}
			prev = cert
		}
		if got := mints.Load(); got != s.wantMints {
			t.Errorf("%s: mints got %d, want %d", s.name, got, s.wantMints)
		}
	}
}

func TestLeafConcurrent(t *testing.T) {
	mints := countMints(t)
	c := newTestCA(t)
	const n = 50
	certs := make([]*tls.Certificate, n)
	errs := make([]error, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			certs[i], errs[i] = c.Leaf("api.example.com")
		}()
	}
	start.Done()
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: got %v, want certificate", i, errs[i])
		}
		if certs[i] != certs[0] {
			t.Fatalf("caller %d: got a different certificate, want the same for all", i)
		}
	}
	if got := mints.Load(); got != 1 {
		t.Errorf("mints: got %d, want 1", got)
	}
}

func TestLeafCacheBound(t *testing.T) {
	mints := countMints(t)
	c := newTestCA(t)
	c.maxLeaves = 3
	leaf := func(h string) *tls.Certificate {
		t.Helper()
		cert, err := c.Leaf(h + ".wild.example.org")
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	a := leaf("a")
	leaf("b")
	leaf("c")
	if got := leaf("a"); got != a { // a is now most recently used
		t.Error("a: got a new certificate, want the cached one")
	}
	leaf("d") // evicts b, the least recently used
	if got := c.cachedLeaves(); got != 3 {
		t.Errorf("cached leaves: got %d, want 3", got)
	}
	if got := mints.Load(); got != 4 {
		t.Errorf("mints after a, b, c, a, d: got %d, want 4", got)
	}
	if got := leaf("a"); got != a {
		t.Error("a after eviction of b: got a new certificate, want the cached one")
	}
	if got := mints.Load(); got != 4 {
		t.Errorf("mints after a again: got %d, want 4", got)
	}
	leaf("b")
	if got := mints.Load(); got != 5 {
		t.Errorf("mints after evicted b: got %d, want 5", got)
	}
	for _, h := range []string{"e", "f", "g", "h", "i"} {
		leaf(h)
	}
	if got := c.cachedLeaves(); got != 3 {
		t.Errorf("cached leaves after many hosts: got %d, want 3", got)
	}
	if got := len(c.leaves); got != 3 {
		t.Errorf("cache map size: got %d, want 3", got)
	}
}

func TestLeafErrorNotCached(t *testing.T) {
	c := newTestCA(t)
	for range 2 {
		if _, err := c.Leaf("evil.test"); err == nil {
			t.Fatal("Leaf(evil.test): got certificate, want error")
		}
	}
	if got := c.cachedLeaves(); got != 0 {
		t.Errorf("cached leaves after refusals: got %d, want 0", got)
	}
}

func FuzzLeafHost(f *testing.F) {
	for _, s := range []string{"api.example.com", "A.wild.example.org.", "wild.example.org", "127.1", "[::1]", "x.api.example.com", "a.wild.example.org.0x7f", "a\x00.wild.example.org"} {
		f.Add(s)
	}
	c, err := NewCA(testHosts, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CertPEM())
	f.Fuzz(func(t *testing.T, host string) {
		cert, err := c.Leaf(host)
		if err != nil {
			return
		}
		name := cert.Leaf.DNSNames[0]
		if name != "api.example.com" && !strings.HasSuffix(name, ".wild.example.org") {
			t.Fatalf("Leaf(%q): minted for %q, outside the CA's hosts", host, name)
		}
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool}); err != nil {
			t.Fatalf("Leaf(%q): minted %q that does not verify: %v", host, name, err)
		}
	})
}
