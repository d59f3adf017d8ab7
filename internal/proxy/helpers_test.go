package proxy

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakePolicy allows a fixed set of names and the loopback addresses.
//
//   - names in allow are allowed (rule "allow:NAME");
//   - names in deny are denied by an explicit rule ("deny:NAME");
//   - other names are denied because no rule matched (NoMatch);
//   - IP literals pass CheckName; CheckAddr then decides;
//   - CheckAddr allows 127.0.0.1 and ::1 and denies everything else
//     ("addr:private").
type fakePolicy struct {
	allow, deny map[string]bool
	names       atomic.Int64 // CheckName calls
	addrs       atomic.Int64 // CheckAddr calls
}

func newFakePolicy(allow ...string) *fakePolicy {
	p := &fakePolicy{allow: map[string]bool{}, deny: map[string]bool{"evil.test": true}}
	for _, n := range allow {
		p.allow[n] = true
	}
	return p
}

func (p *fakePolicy) CheckName(host string, port int) (string, netip.Addr, Verdict) {
	p.names.Add(1)
	if a, err := netip.ParseAddr(host); err == nil {
		return "", a, Verdict{Allow: true, Rule: "literal", Reason: "IP literals are checked by address"}
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	switch {
	case p.deny[name]:
		return name, netip.Addr{}, Verdict{Rule: "deny:" + name, Reason: name + " is on the deny list", Hint: "remove " + name + " from network.deny_domains"}
	case p.allow[name]:
		return name, netip.Addr{}, Verdict{Allow: true, Rule: "allow:" + name, Reason: name + " is allowed"}
	}
	return name, netip.Addr{}, Verdict{Rule: "default", Reason: "no allow rule matches " + name, Hint: "add " + name + " to network.allow_domains", NoMatch: true}
}

func (p *fakePolicy) CheckAddr(name string, ip netip.Addr, port int) Verdict {
	p.addrs.Add(1)
	if ip == netip.MustParseAddr("127.0.0.1") || ip == netip.IPv6Loopback() {
		return Verdict{Allow: true, Rule: "addr:loopback-for-tests", Reason: "test upstream"}
	}
	return Verdict{Rule: "addr:private", Reason: fmt.Sprintf("%s resolves to %s, a private address", name, ip), Hint: "private addresses are never allowed"}
}

// fakeResolver answers from a table and counts lookups per name. A name
// with several answers gets them in turn, one per lookup, the last one
// repeating (to model DNS rebinding).
type fakeResolver struct {
	mu      sync.Mutex                // guards answers and calls
	answers map[string][][]netip.Addr // name -> answer per lookup
	calls   map[string]int            // name -> lookups so far
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{answers: map[string][][]netip.Addr{}, calls: map[string]int{}}
}

func (r *fakeResolver) set(name string, answers ...[]netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[name] = answers
}

func (r *fakeResolver) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[name]
}

func (r *fakeResolver) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		n += c
	}
	return n
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.calls[host]
	r.calls[host]++
	ans := r.answers[host]
	if len(ans) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return ans[min(i, len(ans)-1)], nil
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// dialLog records what the proxy dials and fails the test if it is ever
// handed something other than IP:port.
type dialLog struct {
	t     *testing.T
	mu    sync.Mutex // guards addrs
	addrs []string
}

func (d *dialLog) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if _, err := netip.ParseAddrPort(addr); err != nil {
		d.t.Errorf("proxy dialled %q, want an IP:port (never a host name)", addr)
		return nil, fmt.Errorf("test dialer: %q is not IP:port", addr)
	}
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (d *dialLog) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

// recordLog collects audit or deny records.
type recordLog struct {
	mu   sync.Mutex // guards recs
	recs []Record
}

func (l *recordLog) add(r Record) {
	l.mu.Lock()
	l.recs = append(l.recs, r)
	l.mu.Unlock()
}

func (l *recordLog) snapshot() []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Record(nil), l.recs...)
}

// wait returns the records once there are n of them; records are audited
// after the client has seen the response, so tests poll (bounded).
func (l *recordLog) wait(t *testing.T, n int) []Record {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs := l.snapshot()
		if len(recs) >= n {
			if len(recs) > n {
				t.Errorf("got %d records, want %d: %+v", len(recs), n, recs)
			}
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d records after 5s, want %d: %+v", len(recs), n, recs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// env is a running proxy with fake policy, resolver and dial log.
type env struct {
	t         *testing.T
	p         *Proxy
	pol       *fakePolicy
	res       *fakeResolver
	dials     *dialLog
	audit     *recordLog
	denies    *recordLog
	httpAddr  string
	socksAddr string
	serveErrs chan error
	closeOnce sync.Once
}

const testUser, testToken = "airlock", "s3cret-token"

// newEnv starts a proxy on loopback. The policy allows a.test, b.test,
// rebind.test, rebind2.test, private.test and mixed.test; the resolver maps
// a.test and b.test to 127.0.0.1. mod may change the Config before New.
func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	e := &env{
		t:         t,
		pol:       newFakePolicy("a.test", "b.test", "rebind.test", "rebind2.test", "private.test", "mixed.test", "v6.test"),
		res:       newFakeResolver(),
		audit:     &recordLog{},
		denies:    &recordLog{},
		serveErrs: make(chan error, 2),
	}
	e.dials = &dialLog{t: t}
	e.res.set("a.test", addrs("127.0.0.1"))
	e.res.set("b.test", addrs("127.0.0.1"))
	var pol Policy = e.pol
	cfg := Config{
		Policy:        func() Policy { return pol },
		Resolver:      e.res,
		SandboxID:     "sb-test",
		Audit:         e.audit.add,
		OnDeny:        e.denies.add,
		DialTimeout:   2 * time.Second,
		Dial:          e.dials.dial,
		HeaderTimeout: 5 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	e.p = New(cfg)
	hl := listen(t, "tcp4", "127.0.0.1:0")
	sl := listen(t, "tcp4", "127.0.0.1:0")
	e.httpAddr, e.socksAddr = hl.Addr().String(), sl.Addr().String()
	go func() { e.serveErrs <- e.p.ServeHTTP(hl) }()
	go func() { e.serveErrs <- e.p.ServeSOCKS(sl) }()
	t.Cleanup(func() { e.close() })
	return e
}

// close closes the proxy and checks that both Serve calls return
// ErrClosed.
// close closes the proxy, failing the test if that takes more than ten
// seconds (a connection Close cannot end).
func (e *env) close() {
	done := make(chan struct{})
	go func() {
		e.closeOnce.Do(e.closeOnceBody)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		e.t.Errorf("Close did not return within 10s")
	}
}

func (e *env) closeOnceBody() {
	e.p.Close()
	for range 2 {
		select {
		case err := <-e.serveErrs:
			if !errors.Is(err, ErrClosed) {
				e.t.Errorf("Serve returned %v, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			e.t.Errorf("Serve did not return after Close")
			return
		}
	}
}

func listen(t *testing.T, network, addr string) net.Listener {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	return l
}

// dialProxy connects to a proxy listener with an I/O deadline so that a
// broken proxy fails the test instead of hanging it.
func dialProxy(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes a raw request and reads one response with its body.
func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader, req string) (*http.Response, string) {
	t.Helper()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("write request: %v", err)
	}
	return readResponse(t, br, "GET")
}

func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	return resp, string(body)
}

func basicAuth(user, token string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+token))
}

// echoServer accepts TCP connections on addr and echoes each until EOF,
// then shuts its write half.
func echoServer(t *testing.T, network, addr string) net.Listener {
	t.Helper()
	l := listen(t, network, addr)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return l
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatalf("parse %q: %v", addr, err)
	}
	return int(ap.Port())
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l := listen(t, "tcp4", "127.0.0.1:0")
	port := portOf(t, l.Addr().String())
	l.Close()
	return port
}
