package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airlock-sandbox/airlock/internal/inject"
)

// Values of Record.TLS.
const TLSTerminated = "terminated"

// Rule ids of refusals made on terminated and gateway requests.
const (
	RuleHostMismatch = "proxy.host-mismatch" // Host header other than the CONNECT target or SNI
	RuleUpstreamTLS  = "proxy.upstream-tls"  // the upstream's certificate did not verify
)

// Terminator says which CONNECT destinations have their TLS terminated, so
// that the Injector sees (and rewrites) their requests.
type Terminator struct {
	// Hosts reports whether TLS to host:port is terminated. The host is
	// the normalised name the policy allowed; IP literals are never
	// terminated.
	Hosts func(host string, port int) bool
	// Leaf returns the certificate presented to the sandbox for host.
	Leaf func(host string) (*tls.Certificate, error)
	// Roots verify upstream certificates; nil means the system roots.
	Roots *x509.CertPool
}

// upstreamTLS returns the client configuration for re-encrypting to host.
func (p *Proxy) upstreamTLS(host string) *tls.Config {
	var roots *x509.CertPool
	if p.cfg.TLS != nil {
		roots = p.cfg.TLS.Roots
	}
	return &tls.Config{ServerName: host, RootCAs: roots, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
}

// terminates reports whether a CONNECT to host:port is terminated.
func (p *Proxy) terminates(host string, port int) bool {
	return p.cfg.TLS != nil && p.cfg.Inject != nil && p.cfg.TLS.Hosts != nil && p.cfg.TLS.Hosts(host, port)
}

// dialTLS connects to host:port with the policy checks of dialChecked and
// completes a verified TLS handshake. rec receives the address and, on a
// refusal, the decision.
func (p *Proxy) dialTLS(ctx context.Context, rec *Record, host string, port int) (net.Conn, *failure) {
	c, fail := p.dialChecked(rec, host, port)
	if fail != nil {
		return nil, fail
	}
	tc, err := p.handshakeUpstream(ctx, c, host)
	if err != nil {
		c.Close()
		p.untrack(c)
		return nil, &failure{kind: failDial, err: err}
	}
	return &untrackConn{Conn: tc, p: p, raw: c}, nil
}

func (p *Proxy) handshakeUpstream(ctx context.Context, c net.Conn, host string) (*tls.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	tc := tls.Client(c, p.upstreamTLS(host))
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS with %s: %w", host, err)
	}
	return tc, nil
}

// untrackConn removes its raw connection from the proxy's set on Close.
type untrackConn struct {
	net.Conn
	p    *Proxy
	raw  net.Conn
	once sync.Once
}

func (u *untrackConn) Close() error {
	err := u.Conn.Close()
	u.once.Do(func() { u.p.untrack(u.raw) })
	return err
}

// serveTerminated takes over an allowed CONNECT whose TLS is terminated:
// it verifies the upstream, answers 200, checks the client's SNI against
// the target, presents a leaf of the run's CA, and serves the requests
// inside as HTTP/1.1, each checked and rewritten by the Injector and
// forwarded over verified TLS. It returns when the client connection ends.
func (p *Proxy) serveTerminated(c net.Conn, bufs *connBufs, rec *Record, up net.Conn) {
	host, port := rec.Host, rec.Port
	br, bw := bufs.br, bufs.bw
	utc, err := p.handshakeUpstream(p.ctx, up, host)
	if err != nil {
		up.Close()
		p.untrack(up)
		p.refuse(rec, RuleUpstreamTLS, err.Error())
		writeText(bw, http.StatusBadGateway, nil, "airlock: "+err.Error()+"\n", true)
		return
	}
	first := &untrackConn{Conn: utc, p: p, raw: up}
	defer first.Close()
	rec.TLS = TLSTerminated
	_, err = bw.WriteString("HTTP/1.1 200 Connection established\r\n\r\n")
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		rec.Error = "write to client: " + err.Error()
		return
	}
	sni := peekSNI(c, br)
	if sni != "" && !sniMatches(sni, host) {
		p.refuse(rec, RuleSNIMismatch, "TLS server name "+sni+" does not match the CONNECT target "+host+" (domain fronting)")
		return
	}
	leaf, err := p.cfg.TLS.Leaf(host)
	if err != nil {
		rec.Error = "certificate for " + host + ": " + err.Error()
		return
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
		Certificates: []tls.Certificate{*leaf},
	}
	client := tls.Server(&bufferedConn{Conn: c, r: br}, cfg)
	hctx, cancel := context.WithTimeout(p.ctx, p.cfg.HeaderTimeout)
	err = client.HandshakeContext(hctx)
	cancel()
	if err != nil {
		rec.Error = "TLS with the client: " + err.Error()
		return
	}
	t := &termTunnel{p: p, host: host, port: port, ip: rec.IP, client: rec.Client, rule: rec.Rule, reason: rec.Reason}
	t.first.Store(first)
	t.transport = &http.Transport{
		DialTLSContext: t.dial,
		// The client's own Accept-Encoding goes through as it is,
		// and the body comes back untouched.
		DisableCompression:  true,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	defer t.transport.CloseIdleConnections()
	t.serve(client, "https")
}

// termTunnel serves the requests of one terminated CONNECT.
type termTunnel struct {
	p         *Proxy
	host      string
	port      int
	ip        string
	client    string
	rule      string // the CONNECT's verdict, which each request inherits
	reason    string
	first     atomic.Pointer[untrackConn] // the upstream connection made for the CONNECT, until used
	transport *http.Transport
}

func (t *termTunnel) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	if c := t.first.Swap(nil); c != nil {
		return c, nil
	}
	rec := &Record{}
	c, fail := t.p.dialTLS(ctx, rec, t.host, t.port)
	if fail != nil {
		return nil, failureError(rec, fail)
	}
	return c, nil
}

// failureError turns a dial failure into an error for a RoundTrip.
func failureError(rec *Record, f *failure) error {
	if f.kind == failDenied {
		return &inject.Denial{Rule: f.v.Rule, Reason: f.v.Reason, Hint: f.v.Hint}
	}
	return fmt.Errorf("connect to %s: %w", hostPort(rec.Host, rec.Port), f.err)
}

// serve runs an HTTP/1.1 server on the single connection c until it ends.
func (t *termTunnel) serve(c net.Conn, proto string) {
	l := newOneConnListener(c)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.p.forwardInspected(w, r, forwardTarget{proto: proto, client: t.client, host: t.host, port: t.port, ip: t.ip, transport: t.transport, rule: t.rule, reason: t.reason})
		}),
		ReadHeaderTimeout: t.p.cfg.HeaderTimeout,
		IdleTimeout:       t.p.cfg.HeaderTimeout,
		MaxHeaderBytes:    maxHeadBytes,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState:         l.connState,
	}
	_ = srv.Serve(l)
	l.wait()
}

// forwardTarget is where forwardInspected sends a request.
type forwardTarget struct {
	proto     string
	client    string
	host      string
	port      int
	ip        string
	prefix    string // gateway: the route prefix to strip ("" for a tunnel)
	base      string // gateway: the upstream base path put in its place
	transport http.RoundTripper
	rule      string // the allowing verdict
	reason    string
	// header, when set, is set to the secret's value on every request
	// (gateway mode).
	header, format, secret string
}

// forwardInspected checks one readable request with the Injector, swaps
// placeholders, and forwards it over verified TLS, streaming the response
// back (server-sent events are flushed as they arrive).
func (p *Proxy) forwardInspected(w http.ResponseWriter, r *http.Request, ft forwardTarget) {
	rec := &Record{Schema: RecordSchema, Event: EventEgress, Time: time.Now(), SandboxID: p.cfg.SandboxID, Client: ft.client,
		Proto: ft.proto, Method: r.Method, Host: ft.host, Port: ft.port, IP: ft.ip, TLS: TLSTerminated, Path: r.URL.Path,
		Decision: DecisionAllow, Rule: ft.rule, Reason: ft.reason}
	defer p.finish(rec)
	deny := func(d *inject.Denial) {
		p.denied(rec, Verdict{Rule: d.Rule, Reason: d.Reason, Hint: d.Hint})
		h := w.Header()
		v := d.Rule
		if d.Hint != "" {
			v += "; hint: " + d.Hint
		}
		h.Set("X-Airlock-Denied", oneLine(v))
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Connection", "close")
		w.WriteHeader(http.StatusForbidden)
		body := "airlock: denied " + r.Method + " " + hostPort(ft.host, ft.port) + ": " + oneLine(d.Reason) + "\n"
		if d.Hint != "" {
			body += "airlock: hint: " + oneLine(d.Hint) + "\n"
		}
		_, _ = io.WriteString(w, body)
	}
	if ft.prefix == "" && !sameHost(r.Host, ft.host, ft.port) {
		deny(&inject.Denial{Rule: RuleHostMismatch, Reason: fmt.Sprintf("the Host header %q does not match the CONNECT target %s (domain fronting)", r.Host, hostPort(ft.host, ft.port))})
		return
	}
	target := r.URL.RequestURI()
	if ft.prefix != "" {
		target = ft.base + r.URL.EscapedPath()[len(ft.prefix):]
		if target == "" || target[0] != '/' {
			target = "/" + target
		}
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		rec.Path = target
		if i := strings.IndexByte(rec.Path, '?'); i >= 0 {
			rec.Path = rec.Path[:i]
		}
	}
	ir := &inject.Request{Host: ft.host, Port: ft.port, Method: r.Method, Target: target, Header: r.Header, ContentLength: r.ContentLength, Encrypted: true}
	injected, d := p.cfg.Inject.Head(ir)
	if d != nil {
		deny(d)
		return
	}
	if ft.header != "" {
		val, ok := p.cfg.Inject.Value(ft.secret)
		if !ok {
			deny(&inject.Denial{Rule: inject.RuleExfiltration, Reason: "secret " + ft.secret + " is not loaded"})
			return
		}
		r.Header.Set(ft.header, fmt.Sprintf(ft.format, val))
		injected = appendUnique(injected, ft.secret)
	}
	rec.Injected = injected
	u, err := url.ParseRequestURI(ir.Target)
	if err != nil {
		deny(&inject.Denial{Rule: RuleBadRequest, Reason: "bad request target: " + err.Error()})
		return
	}
	// Trailer fields would reach the upstream after the body, unchecked:
	// they are dropped.
	r.Trailer = nil
	var bodyDenial atomic.Pointer[inject.Denial]
	var up, down atomic.Int64
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &watchBody{ReadCloser: p.cfg.Inject.Body(ft.host, ft.port, true, r.Body), denial: &bodyDenial, n: &up}
	}
	authority := hostPort(ft.host, ft.port)
	if ft.port == 443 {
		authority = ft.host
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = &url.URL{Scheme: "https", Host: hostPort(ft.host, ft.port), Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
			pr.Out.Host = authority
			if ft.prefix == "" {
				pr.Out.Host = r.Host
			}
		},
		Transport:     ft.transport,
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
		ModifyResponse: func(resp *http.Response) error {
			resp.Body = &countBody{ReadCloser: resp.Body, n: &down}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			// A body the Injector refused, or a dial the policy refused.
			d := bodyDenial.Load()
			if d == nil {
				errors.As(err, &d)
			}
			if d != nil {
				deny(d)
				return
			}
			rec.Error = oneLine(err.Error())
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "airlock: "+rec.Error+"\n")
		},
	}
	rp.ServeHTTP(w, r)
	rec.BytesUp, rec.BytesDown = up.Load(), down.Load()
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// watchBody records the Injector's denial of a request body.
type watchBody struct {
	io.ReadCloser
	denial *atomic.Pointer[inject.Denial]
	n      *atomic.Int64
}

func (b *watchBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	var d *inject.Denial
	if errors.As(err, &d) {
		b.denial.Store(d)
	}
	return n, err
}

type countBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// bufferedConn reads first what a bufio.Reader already holds.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// oneConnListener hands one connection to an http.Server, then blocks
// Accept until that connection is closed or hijacked.
type oneConnListener struct {
	c    net.Conn
	once sync.Once
	done chan struct{}
	end  sync.Once
}

func newOneConnListener(c net.Conn) *oneConnListener {
	return &oneConnListener{c: c, done: make(chan struct{})}
}

var errListenerDone = errors.New("connection served")

func (l *oneConnListener) Accept() (net.Conn, error) {
	var c net.Conn
	l.once.Do(func() { c = l.c })
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, errListenerDone
}

func (l *oneConnListener) connState(_ net.Conn, s http.ConnState) {
	if s == http.StateClosed || s == http.StateHijacked {
		l.end.Do(func() { close(l.done) })
	}
}

func (l *oneConnListener) wait()          { <-l.done }
func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return l.c.LocalAddr() }

// Gateway is one route of the gateway listener: requests to
// http://127.0.0.1:PORT/Prefix/... go to Upstream/... with the secret's
// value set in Header.
type Gateway struct {
	// Prefix is the first path segment, e.g. "anthropic".
	Prefix string
	// Host and Port are the upstream; it is always reached over TLS.
	Host string
	Port int
	// BasePath is prepended to the forwarded path ("" or "/v1", say).
	BasePath string
	// Secret names the secret whose value is set; Header is the field
	// ("Authorization", "X-Api-Key") and Format its value with %s for the
	// secret ("Bearer %s").
	Secret, Header, Format string
}

// ServeGateway serves the gateway routes on l (plain HTTP on the sandbox's
// loopback) until the proxy is closed.
func (p *Proxy) ServeGateway(l net.Listener, routes []Gateway) error {
	tr := &http.Transport{
		DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			host, ps, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			port, _ := strconv.Atoi(ps)
			rec := &Record{}
			c, fail := p.dialTLS(ctx, rec, host, port)
			if fail != nil {
				return nil, failureError(rec, fail)
			}
			return c, nil
		},
		DisableCompression:  true,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	defer tr.CloseIdleConnections()
	return p.serve(l, func(c net.Conn) {
		client := c.RemoteAddr().String()
		ls := newOneConnListener(c)
		srv := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p.serveGatewayRequest(w, r, routes, client, tr)
			}),
			ReadHeaderTimeout: p.cfg.HeaderTimeout,
			IdleTimeout:       p.cfg.HeaderTimeout,
			MaxHeaderBytes:    maxHeadBytes,
			ErrorLog:          log.New(io.Discard, "", 0),
			ConnState:         ls.connState,
		}
		_ = srv.Serve(ls)
		ls.wait()
	})
}

func (p *Proxy) serveGatewayRequest(w http.ResponseWriter, r *http.Request, routes []Gateway, client string, tr http.RoundTripper) {
	path := r.URL.EscapedPath()
	for _, g := range routes {
		pfx := "/" + g.Prefix
		if path != pfx && !hasPrefixSlash(path, pfx) {
			continue
		}
		ft := forwardTarget{proto: ProtoGateway, client: client, host: g.Host, port: g.Port, prefix: pfx, base: g.BasePath, transport: tr,
			header: g.Header, format: g.Format, secret: g.Secret,
			rule: "gateway:" + g.Prefix, reason: "gateway route /" + g.Prefix + " for secret " + g.Secret}
		p.forwardInspected(w, r, ft)
		return
	}
	rec := &Record{Schema: RecordSchema, Event: EventEgress, Time: time.Now(), SandboxID: p.cfg.SandboxID, Client: client, Proto: ProtoGateway, Method: r.Method, Path: r.URL.Path}
	p.refuse(rec, RuleBadRequest, "no gateway route for "+r.URL.Path)
	p.finish(rec)
	http.Error(w, "airlock: no gateway route for "+r.URL.Path, http.StatusNotFound)
}

func hasPrefixSlash(path, pfx string) bool {
	return len(path) > len(pfx) && path[:len(pfx)] == pfx && path[len(pfx)] == '/'
}
