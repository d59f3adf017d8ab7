package escape

// Proxy-level cases of the egress suite. `airlock run` resolves names with
// the host's resolver and --resolve pins only; there is no flag to point
// it at another DNS server. So DNS rebinding, "a denied name is never
// resolved" and the proxy's shutdown are tested here on internal/proxy
// with the real policy engine (internal/egress), a real DNS server over
// UDP (egDNS) behind a pure-Go net.Resolver, and a Dial hook that records
// the address the proxy dials.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airlock-sandbox/airlock/internal/egress"
	"github.com/airlock-sandbox/airlock/internal/policy"
	"github.com/airlock-sandbox/airlock/internal/proxy"
)

// egAdapter presents the egress engine to the proxy, as the CLI does.
type egAdapter struct{ p *egress.Policy }

func (a egAdapter) CheckName(host string, port int) (string, netip.Addr, proxy.Verdict) {
	name, lit, v := a.p.CheckName(host, port)
	return name, lit, proxy.Verdict(v)
}

func (a egAdapter) CheckAddr(name string, ip netip.Addr, port int) proxy.Verdict {
	return proxy.Verdict(a.p.CheckAddr(name, ip, port))
}

// egDialer is the proxy's Dial hook: it records every address the proxy
// asks for and connects to target instead (the local test server standing
// in for a public address), or to routes[addr] when routes is set, or fails
// when there is no target.
type egDialer struct {
	target string
	routes map[string]string

	mu    sync.Mutex // guards addrs
	addrs []string
}

func (d *egDialer) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	to := d.target
	if d.routes != nil {
		to = d.routes[addr]
	}
	if to == "" {
		return nil, fmt.Errorf("egress test: the dial hook has no route for %q", addr)
	}
	var dl net.Dialer
	return dl.DialContext(ctx, network, to)
}

func (d *egDialer) Dialled() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

// egRecords collects audit records.
type egRecords struct {
	mu   sync.Mutex // guards recs
	recs []proxy.Record
}

func (r *egRecords) add(rec proxy.Record) {
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
}

func (r *egRecords) all() []proxy.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]proxy.Record(nil), r.recs...)
}

// atLeast waits up to five seconds for n records: the proxy writes a
// record once its exchange has ended, which can be just after the client
// has read the response.
func (r *egRecords) atLeast(n int) []proxy.Record {
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs := r.all()
		if len(recs) >= n || time.Now().After(deadline) {
			return recs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// egProxyUnderTest is a proxy on the host's loopback with the policy
// compiled from n.
type egProxyUnderTest struct {
	p                   *proxy.Proxy
	httpAddr, socksAddr string // listener addresses
	audit               *egRecords
}

const egTestToken = "egress-test-token"

func egStartProxy(t *testing.T, n policy.Network, cfg proxy.Config) *egProxyUnderTest {
	t.Helper()
	pol, err := egress.Compile(n)
	if err != nil {
		t.Fatal(err)
	}
	recs := &egRecords{}
	cfg.Policy = func() proxy.Policy { return egAdapter{pol} }
	cfg.User, cfg.Token = "airlock", egTestToken
	cfg.Audit = recs.add
	cfg.DialTimeout = 5 * time.Second
	cfg.HeaderTimeout = 5 * time.Second
	p := proxy.New(cfg)
	lh, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.ServeHTTP(lh) }()
	go func() { _ = p.ServeSOCKS(ls) }()
	t.Cleanup(func() { p.Close() })
	return &egProxyUnderTest{p: p, httpAddr: lh.Addr().String(), socksAddr: ls.Addr().String(), audit: recs}
}

// client is an HTTP client that uses the proxy, with the credentials.
func (u *egProxyUnderTest) client() *http.Client {
	pu := &url.URL{Scheme: "http", User: url.UserPassword("airlock", egTestToken), Host: u.httpAddr}
	return &http.Client{
		Transport: &http.Transport{Proxy: http.ProxyURL(pu), DisableKeepAlives: true},
		Timeout:   10 * time.Second,
	}
}

// get fetches rawURL through the proxy and returns the status, the
// X-Airlock-Denied field and the body.
func (u *egProxyUnderTest) get(t *testing.T, rawURL string) (int, string, string) {
	t.Helper()
	resp, err := u.client().Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s through the proxy: %v", rawURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Airlock-Denied"), string(b)
}

// connect sends a CONNECT for target and returns the status line.
func (u *egProxyUnderTest) connect(t *testing.T, target string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", u.httpAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	auth := "Basic " + egBasicAuth("airlock", egTestToken)
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\n\r\n", target, target, auth)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("CONNECT %s: %v", target, err)
	}
	return strings.TrimSpace(line)
}

// socks sends a SOCKS5 CONNECT for a domain name and returns the reply
// code.
func (u *egProxyUnderTest) socks(t *testing.T, host string, port int) byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", u.socksAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := []byte{5, 1, 2, 1, byte(len("airlock"))}
	msg = append(msg, "airlock"...)
	msg = append(msg, byte(len(egTestToken)))
	msg = append(msg, egTestToken...)
	msg = append(msg, []byte(egSOCKSReq(1, 3, []byte(host), port))...)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 2+2+10)
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatalf("SOCKS5 %s:%d: %v (got %q)", host, port, err, reply)
	}
	if string(reply[:4]) != "\x05\x02\x01\x00" {
		t.Fatalf("SOCKS5 handshake: got %q, want method 2 and auth success", reply[:4])
	}
	return reply[5]
}

// egBasicAuth is the Basic credentials of user and pass.
func egBasicAuth(user, pass string) string {
	r, _ := http.NewRequest("GET", "http://x/", nil)
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// TestEgressProxyDNSRebinding: a name that first resolves to a public
// address and then to loopback (or the other way round) through a real DNS
// server. The proxy resolves once per request, checks the answer, and
// dials exactly the checked address as IP:port, never the name: the
// rebinding answer can only ever be refused, never dialled. The control is
// the first request, which reaches the server through the public address.
func TestEgressProxyDNSRebinding(t *testing.T) {
	dns := egStartDNS(t)
	const public = "93.184.216.34"
	dns.Set("rebind.test", egAddrs(public), egAddrs("127.0.0.1"))
	dns.Set("private-first.test", egAddrs("127.0.0.1"), egAddrs(public))
	srv := egStartServer(t, "public-stand-in", false)
	dialer := &egDialer{target: fmt.Sprintf("127.0.0.1:%d", srv.Port)}
	u := egStartProxy(t, policy.Network{AllowDomains: []string{"rebind.test", "private-first.test"}},
		proxy.Config{Resolver: dns.Resolver(), Dial: dialer.Dial})

	t.Run("first-answer-public", func(t *testing.T) {
		st, denied, body := u.get(t, "http://rebind.test/rebind-1")
		if st != 200 || denied != "" || !strings.Contains(body, "hello from public-stand-in /rebind-1") {
			t.Errorf("got %d %q %q, want 200 from the server", st, denied, body)
		}
		if d := dialer.Dialled(); len(d) != 1 || d[0] != public+":80" {
			t.Errorf("dialled %q, want exactly [%s:80]: the checked address, not the name", d, public)
		}
		if q := dns.Queries("rebind.test", "A"); q != 1 {
			t.Errorf("got %d A queries for rebind.test, want 1 (resolved once)", q)
		}
		recs := u.audit.atLeast(1)
		if len(recs) != 1 || recs[0].IP != public || recs[0].Decision != proxy.DecisionAllow {
			t.Errorf("audit: got %+v, want one allow record with ip %s", recs, public)
		}
	})
	t.Run("second-answer-loopback", func(t *testing.T) {
		st, denied, _ := u.get(t, "http://rebind.test/rebind-2")
		if st != 403 || !strings.HasPrefix(denied, "address class: loopback") {
			t.Errorf("got %d %q, want 403 address class: loopback", st, denied)
		}
		if d := dialer.Dialled(); len(d) != 1 {
			t.Errorf("dialled %q, want nothing new", d)
		}
		if q := dns.Queries("rebind.test", "A"); q != 2 {
			t.Errorf("got %d A queries for rebind.test, want 2", q)
		}
		if h := srv.Hits("/rebind-2"); len(h) != 0 {
			t.Errorf("server: got %v, want no request", h)
		}
	})
	t.Run("rebound-connect-and-socks", func(t *testing.T) {
		if line := u.connect(t, "rebind.test:443"); !strings.HasPrefix(line, "HTTP/1.1 403 ") {
			t.Errorf("CONNECT: got %q, want 403", line)
		}
		if rep := u.socks(t, "rebind.test", 80); rep != 0x02 {
			t.Errorf("SOCKS5: got reply %#02x, want 0x02", rep)
		}
		if d := dialer.Dialled(); len(d) != 1 {
			t.Errorf("dialled %q, want nothing new", d)
		}
	})
	t.Run("first-answer-private", func(t *testing.T) {
		st, denied, _ := u.get(t, "http://private-first.test/private-first")
		if st != 403 || !strings.HasPrefix(denied, "address class: loopback") {
			t.Errorf("got %d %q, want 403 address class: loopback", st, denied)
		}
		if q := dns.Queries("private-first.test", "A"); q != 1 {
			t.Errorf("got %d A queries, want 1", q)
		}
		if d := dialer.Dialled(); len(d) != 1 {
			t.Errorf("dialled %q, want nothing new", d)
		}
	})
}

// TestEgressProxyConcurrentDials: many concurrent requests to two allowed
// names, each pinned to its own address; every request is dialled to the
// address its own name resolved to (a dial that used any state shared
// between requests would mix them up), and reaches its own server.
func TestEgressProxyConcurrentDials(t *testing.T) {
	one, two := egStartServer(t, "one", false), egStartServer(t, "two", false)
	dialer := &egDialer{routes: map[string]string{
		"93.184.216.34:80": fmt.Sprintf("127.0.0.1:%d", one.Port),
		"93.184.216.35:80": fmt.Sprintf("127.0.0.1:%d", two.Port),
	}}
	u := egStartProxy(t, policy.Network{AllowDomains: []string{"one.test", "two.test"}}, proxy.Config{
		Static: map[string][]netip.Addr{"one.test": egAddrs("93.184.216.34"), "two.test": egAddrs("93.184.216.35")},
		Dial:   dialer.Dial,
	})
	const perName = 40
	client := u.client()
	type answer struct{ name, body string }
	answers := make(chan answer, 2*perName)
	var wg sync.WaitGroup
	for i := 0; i < perName; i++ {
		for _, name := range []string{"one", "two"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Get("http://" + name + ".test/concurrent")
				if err != nil {
					answers <- answer{name, err.Error()}
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				answers <- answer{name, string(b)}
			}()
		}
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		if want := "hello from " + a.name + " /concurrent\n"; a.body != want {
			t.Errorf("request to %s.test: got %q, want %q", a.name, a.body, want)
		}
	}
	if a, b := len(one.Hits("/concurrent")), len(two.Hits("/concurrent")); a != perName || b != perName {
		t.Errorf("servers: got %d and %d requests, want %d each", a, b, perName)
	}
	for _, d := range dialer.Dialled() {
		if _, ok := dialer.routes[d]; !ok {
			t.Errorf("dialled %q, want only the pinned addresses", d)
		}
	}
}

// egCountingResolver counts lookups and passes them on.
type egCountingResolver struct {
	next proxy.Resolver

	mu    sync.Mutex // guards names
	names []string
}

func (r *egCountingResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	r.names = append(r.names, host)
	r.mu.Unlock()
	return r.next.LookupNetIP(ctx, network, host)
}

func (r *egCountingResolver) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

// TestEgressProxyDeniedNotResolved: a denied name (deny rule, no matching
// allow rule, any spelling) is refused over HTTP, CONNECT and SOCKS5
// without a lookup: neither the resolver nor the DNS server sees it, so a
// DNS query cannot carry data out. The control is an allowed name, which
// is looked up once.
func TestEgressProxyDeniedNotResolved(t *testing.T) {
	dns := egStartDNS(t)
	for _, n := range []string{"allowed.test", "evil.test", "sub.evil.test", "unlisted.test", "c2VjcmV0.exfil.test"} {
		dns.Set(n, egAddrs("127.0.0.1"))
	}
	srv := egStartServer(t, "allowed", false)
	res := &egCountingResolver{next: dns.Resolver()}
	dialer := &egDialer{target: fmt.Sprintf("127.0.0.1:%d", srv.Port)}
	u := egStartProxy(t, policy.Network{
		AllowDomains: []string{"allowed.test", "*.evil.test"},
		DenyDomains:  []string{"evil.test", "*.evil.test"},
		AllowCIDRs:   []string{"127.0.0.1/32:80"},
	}, proxy.Config{Resolver: res, Dial: dialer.Dial})

	for _, tc := range []struct{ name, url string }{
		{"deny-rule", "http://evil.test/"},
		{"deny-wildcard-beats-allow", "http://sub.evil.test/"},
		{"no-allow-rule", "http://unlisted.test/"},
		{"data-in-a-label", "http://c2VjcmV0.exfil.test/"},
		{"upper-case-trailing-dot", "http://EVIL.TEST./"},
	} {
		t.Run("http/"+tc.name, func(t *testing.T) {
			if st, denied, _ := u.get(t, tc.url); st != 403 || denied == "" {
				t.Errorf("GET %s: got %d %q, want 403 with X-Airlock-Denied", tc.url, st, denied)
			}
		})
	}
	t.Run("connect", func(t *testing.T) {
		if line := u.connect(t, "evil.test:443"); !strings.HasPrefix(line, "HTTP/1.1 403 ") {
			t.Errorf("got %q, want 403", line)
		}
	})
	t.Run("socks5", func(t *testing.T) {
		if rep := u.socks(t, "unlisted.test", 80); rep != 0x02 {
			t.Errorf("got reply %#02x, want 0x02", rep)
		}
	})
	if n := res.Names(); len(n) != 0 {
		t.Errorf("resolver: got lookups %q, want none for denied names", n)
	}
	if n := dns.Total(); n != 0 {
		t.Errorf("DNS server: got %d queries, want 0", n)
	}
	if d := dialer.Dialled(); len(d) != 0 {
		t.Errorf("dialled %q, want nothing", d)
	}
	t.Run("control-allowed-name-is-resolved", func(t *testing.T) {
		st, _, body := u.get(t, "http://allowed.test/resolved")
		if st != 200 || !strings.Contains(body, "hello from allowed /resolved") {
			t.Errorf("got %d %q, want 200", st, body)
		}
		if n := res.Names(); len(n) != 1 || n[0] != "allowed.test" {
			t.Errorf("resolver: got lookups %q, want [allowed.test]", n)
		}
		if q := dns.Queries("allowed.test", "A"); q != 1 {
			t.Errorf("DNS server: got %d A queries for allowed.test, want 1", q)
		}
		if d := dialer.Dialled(); len(d) != 1 || d[0] != "127.0.0.1:80" {
			t.Errorf("dialled %q, want [127.0.0.1:80]", d)
		}
	})
}

// TestEgressProxyMetadata: the metadata address, as a literal or behind an
// allowed name, is never dialled, even with a broad --allow-cidr; only an
// entry for the exact address opens it. That control cannot run through
// `airlock run` (it would send a packet to 169.254.169.254 off this
// machine), so here the Dial hook records the address and connects
// nowhere.
func TestEgressProxyMetadata(t *testing.T) {
	static := map[string][]netip.Addr{"meta.test": egAddrs("169.254.169.254")}
	for _, tc := range []struct {
		name  string
		cidrs []string
		want  int // status; 502 when the hook was reached
	}{
		{"no-allow-cidr", nil, 403},
		{"broad-allow-cidr", []string{"0.0.0.0/0"}, 403},
		{"link-local-allow-cidr", []string{"169.254.0.0/16"}, 403},
		{"control-exact-allow-cidr", []string{"169.254.169.254/32"}, 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dialer := &egDialer{}
			u := egStartProxy(t, policy.Network{AllowDomains: []string{"meta.test"}, AllowCIDRs: tc.cidrs},
				proxy.Config{Static: static, Dial: dialer.Dial})
			for _, target := range []string{"http://169.254.169.254/latest/meta-data/", "http://meta.test/latest/meta-data/"} {
				st, denied, _ := u.get(t, target)
				if st != tc.want {
					t.Errorf("GET %s: got %d, want %d", target, st, tc.want)
				}
				if st == 403 && strings.Contains(denied, "hint") {
					t.Errorf("GET %s: got X-Airlock-Denied %q, want no hint for metadata", target, denied)
				}
			}
			want := 0
			if tc.want == 502 {
				want = 2
			}
			d := dialer.Dialled()
			if len(d) != want {
				t.Errorf("dialled %q, want %d dials", d, want)
			}
			for _, a := range d {
				if a != "169.254.169.254:80" {
					t.Errorf("dialled %q, want 169.254.169.254:80", a)
				}
			}
		})
	}
}

// TestEgressProxyClosed: after Close, a client looping over requests gets
// connection errors, never a response and never direct access; an open
// tunnel is cut; nothing reaches the server any more. The control is the
// same loop before Close.
func TestEgressProxyClosed(t *testing.T) {
	srv := egStartServer(t, "allowed", false)
	port := srv.Port
	u := egStartProxy(t, policy.Network{
		AllowDomains: []string{fmt.Sprintf("allowed.test:%d", port)},
		AllowCIDRs:   []string{fmt.Sprintf("127.0.0.1/32:%d", port)},
	}, proxy.Config{Static: map[string][]netip.Addr{"allowed.test": egAddrs("127.0.0.1")}})
	target := fmt.Sprintf("http://allowed.test:%d/closed-loop", port)

	// An open tunnel across Close.
	tun, err := net.DialTimeout("tcp", u.httpAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	_ = tun.SetDeadline(time.Now().Add(15 * time.Second))
	fmt.Fprintf(tun, "CONNECT allowed.test:%d HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic %s\r\n\r\n", port, egBasicAuth("airlock", egTestToken))
	tbr := bufio.NewReader(tun)
	if line, err := tbr.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 200 ") {
		t.Fatalf("CONNECT before Close: got %q, %v; want 200", line, err)
	}
	for {
		l, err := tbr.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
	}

	type outcome struct {
		status int
		err    error
	}
	var (
		mu       sync.Mutex // guards outcomes
		outcomes []outcome
	)
	closed := make(chan struct{})
	loopDone := make(chan struct{})
	client := u.client()
	go func() {
		defer close(loopDone)
		deadline := time.Now().Add(10 * time.Second)
		afterClose := 0
		for i := 0; i < 400 && time.Now().Before(deadline) && afterClose < 20; i++ {
			select {
			case <-closed:
				afterClose++
			default:
			}
			resp, err := client.Get(target)
			o := outcome{err: err}
			if err == nil {
				o.status = resp.StatusCode
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			mu.Lock()
			outcomes = append(outcomes, o)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(srv.Hits("/closed-loop")) < 5; {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(srv.Hits("/closed-loop")); n < 5 {
		t.Fatalf("control: the loop got %d requests through before Close, want at least 5", n)
	}
	if err := u.p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	mu.Lock()
	before := len(outcomes)
	mu.Unlock()
	hitsAtClose := len(srv.Hits("/closed-loop"))
	close(closed)
	<-loopDone

	mu.Lock()
	after := outcomes[before:]
	mu.Unlock()
	if len(after) == 0 {
		t.Fatal("the loop made no request after Close")
	}
	// The request in flight when Close returned may have finished; every
	// one that started afterwards must fail to connect.
	for i, o := range after[1:] {
		if o.err == nil {
			t.Errorf("request %d after Close: got status %d, want a connection error", i+1, o.status)
		} else if !errors.Is(o.err, syscall.ECONNREFUSED) {
			t.Errorf("request %d after Close: got %v, want ECONNREFUSED", i+1, o.err)
		}
	}
	if n := len(srv.Hits("/closed-loop")); n != hitsAtClose {
		t.Errorf("server: got %d requests after Close, want 0", n-hitsAtClose)
	}
	t.Run("open-tunnel-is-cut", func(t *testing.T) {
		fmt.Fprintf(tun, "GET /closed-tunnel HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := tbr.ReadByte(); err == nil {
			t.Errorf("read from the tunnel after Close: got data, want EOF or an error")
		}
		if n := len(srv.Hits("/closed-tunnel")); n != 0 {
			t.Errorf("server: got %d requests through the tunnel after Close, want 0", n)
		}
	})
	t.Run("new-connections-refused", func(t *testing.T) {
		for _, addr := range []string{u.httpAddr, u.socksAddr} {
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err == nil {
				c.Close()
				t.Errorf("connect %s after Close: got a connection, want ECONNREFUSED", addr)
			} else if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("connect %s after Close: got %v, want ECONNREFUSED", addr, err)
			}
		}
	})
}
