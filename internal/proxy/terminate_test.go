package proxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/airlock-sandbox/airlock/internal/inject"
	"github.com/airlock-sandbox/airlock/internal/mitm"
)

const (
	realKey = "sk-ant-api03-REALREALREALREAL0123"
	phKey   = "sk-ant-api03-PHPHPHPHPHPHPHPH9876"
)

// termEnv is a proxy that terminates TLS to example.com (the name in
// httptest's certificate), whose upstream demands the real key.
type termEnv struct {
	*env
	upstream *httptest.Server
	ca       *mitm.CA
	seen     chan http.Header
}

func newTermEnv(t *testing.T) *termEnv {
	t.Helper()
	te := &termEnv{seen: make(chan http.Header, 16)}
	te.upstream = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case te.seen <- r.Header.Clone():
		default:
		}
		if r.Header.Get("X-Api-Key") != realKey {
			http.Error(w, "bad key", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/sse":
			w.Header().Set("Content-Type", "text/event-stream")
			for i := range 3 {
				fmt.Fprintf(w, "data: %d\n\n", i)
				w.(http.Flusher).Flush()
				time.Sleep(150 * time.Millisecond)
			}
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s %s", r.Method, r.Host, b)
		default:
			fmt.Fprintf(w, "ok %s", r.URL.RequestURI())
		}
	}))
	t.Cleanup(te.upstream.Close)
	var err error
	te.ca, err = mitm.NewCA([]string{"example.com"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	in, err := inject.New(inject.Config{
		Secrets: []inject.Secret{{Name: "ANTHROPIC_API_KEY", Value: []byte(realKey), Placeholder: []byte(phKey),
			Allows: func(h string, _ int) bool { return h == "example.com" }}},
		Limits: []inject.Limit{{Host: "a.test", Methods: inject.ReadOnlyMethods}},
	})
	if err != nil {
		t.Fatal(err)
	}
	roots := te.upstream.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	te.env = newEnv(t, func(c *Config) {
		c.Inject = in
		c.TLS = &Terminator{Hosts: in.Wants, Leaf: te.ca.Leaf, Roots: roots}
	})
	te.pol.allow["example.com"] = true
	te.pol.allow["other.example"] = true
	te.res.set("example.com", addrs("127.0.0.1"))
	te.res.set("other.example", addrs("127.0.0.1"))
	return te
}

func (te *termEnv) client(t *testing.T) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(te.ca.CertPEM())
	pu := &url.URL{Scheme: "http", Host: te.httpAddr}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy:           http.ProxyURL(pu),
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}}
}

func (te *termEnv) url(host, path string) string {
	return "https://" + host + ":" + fmt.Sprint(portOf(te.t, te.upstream.Listener.Addr().String())) + path
}

func TestTerminatedInjection(t *testing.T) {
	te := newTermEnv(t)
	c := te.client(t)
	tests := []struct {
		name       string
		method     string
		host, path string
		header     map[string]string
		body       string
		wantStatus int
		wantBody   string
		wantRule   string
	}{
		{name: "placeholder swapped", host: "example.com", path: "/v1?x=1", header: map[string]string{"X-Api-Key": phKey}, wantStatus: 200, wantBody: "ok /v1?x=1"},
		{name: "without the key", host: "example.com", path: "/v1", wantStatus: 401},
		{name: "body kept", method: "POST", host: "example.com", path: "/echo", header: map[string]string{"X-Api-Key": phKey}, body: "hello", wantStatus: 200, wantBody: "POST example.com:"},
		{name: "placeholder in query to own host is not swapped", host: "example.com", path: "/v1?k=" + phKey, header: map[string]string{"X-Api-Key": phKey}, wantStatus: 200, wantBody: "ok /v1?k=" + phKey},
		{name: "fronting by Host", host: "example.com", path: "/v1", header: map[string]string{"X-Api-Key": phKey, "Host": "other.example"}, wantStatus: 403, wantRule: RuleHostMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.method == "" {
				tt.method = "GET"
			}
			req, _ := http.NewRequest(tt.method, te.url(tt.host, tt.path), strings.NewReader(tt.body))
			for k, v := range tt.header {
				if k == "Host" {
					req.Host = v
					continue
				}
				req.Header.Set(k, v)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tt.wantStatus)
			}
			if !strings.HasPrefix(string(b), tt.wantBody) {
				t.Errorf("body %q, want prefix %q", b, tt.wantBody)
			}
			if tt.wantRule != "" && !strings.HasPrefix(resp.Header.Get("X-Airlock-Denied"), tt.wantRule) {
				t.Errorf("X-Airlock-Denied %q, want rule %s", resp.Header.Get("X-Airlock-Denied"), tt.wantRule)
			}
			if strings.Contains(string(b), realKey) {
				t.Errorf("the client saw the real key")
			}
		})
	}
	// The CONNECT's record is written when its tunnel ends.
	c.CloseIdleConnections()
	var injected, terminated int
	deadline := time.Now().Add(5 * time.Second)
	for terminated == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		injected, terminated = countRecords(te.audit.snapshot())
	}
	if injected < 3 || terminated < 1 {
		t.Errorf("audit: %d injected https records and %d terminated CONNECTs, want >= 3 and >= 1", injected, terminated)
	}
}

func countRecords(recs []Record) (injected, terminated int) {
	for _, r := range recs {
		if r.Proto == ProtoHTTPS && len(r.Injected) == 1 && r.Injected[0] == "ANTHROPIC_API_KEY" {
			injected++
		}
		if r.Proto == ProtoConnect && r.TLS == TLSTerminated {
			terminated++
		}
	}
	return injected, terminated
}

func TestTerminatedStreaming(t *testing.T) {
	te := newTermEnv(t)
	req, _ := http.NewRequest("GET", te.url("example.com", "/sse"), nil)
	req.Header.Set("X-Api-Key", phKey)
	resp, err := te.client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: 0\n" {
		t.Fatalf("first event %q, %v", line, err)
	}
	// The server takes 300 ms more for the rest; the first event must
	// not wait for them.
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("first event after %v: the response was buffered", d)
	}
}

func TestTerminatedExfiltration(t *testing.T) {
	te := newTermEnv(t)
	// other.example is allowed by the network policy but not for the
	// secret; it is plain HTTP here (the echo server), so the proxy reads
	// the requests without terminating.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		io.WriteString(w, "received")
	}))
	defer echo.Close()
	port := portOf(t, echo.Listener.Addr().String())
	pu := &url.URL{Scheme: "http", Host: te.httpAddr}
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	b64 := base64.StdEncoding.EncodeToString([]byte(phKey))
	tests := []struct {
		name   string
		method string
		target string
		header map[string]string
		body   string
		want   int
	}{
		{"control", "GET", "/x", nil, "", 200},
		{"header", "GET", "/x", map[string]string{"X-Data": phKey}, "", 403},
		{"query", "GET", "/x?d=" + url.QueryEscape(phKey), nil, "", 403},
		{"body", "POST", "/x", nil, "data=" + phKey, 403},
		{"body base64", "POST", "/x", nil, "data=" + b64, 403},
		{"header base64", "GET", "/x", map[string]string{"X-Data": b64}, "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, fmt.Sprintf("http://other.example:%d%s", port, tt.target), strings.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == 403 && !strings.HasPrefix(resp.Header.Get("X-Airlock-Denied"), inject.RuleExfiltration) {
				t.Errorf("X-Airlock-Denied = %q, want %s", resp.Header.Get("X-Airlock-Denied"), inject.RuleExfiltration)
			}
		})
	}
}

func TestTerminatedSNIFronting(t *testing.T) {
	te := newTermEnv(t)
	c := dialProxy(t, te.httpAddr)
	defer c.Close()
	port := portOf(t, te.upstream.Listener.Addr().String())
	fmt.Fprintf(c, "CONNECT example.com:%d HTTP/1.1\r\nHost: example.com\r\n\r\n", port)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(te.ca.CertPEM())
	tc := tls.Client(c, &tls.Config{ServerName: "other.example", RootCAs: pool})
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err == nil {
		t.Fatal("handshake with SNI other.example succeeded; want the tunnel refused")
	}
	recs := te.denies.wait(t, 1)
	if recs[0].Rule != RuleSNIMismatch {
		t.Errorf("rule %q, want %s", recs[0].Rule, RuleSNIMismatch)
	}
}

func TestTerminatedUpstreamUnverified(t *testing.T) {
	te := newTermEnv(t)
	te.p.cfg.TLS.Roots = x509.NewCertPool() // trusts nothing
	req, _ := http.NewRequest("GET", te.url("example.com", "/v1"), nil)
	_, err := te.client(t).Do(req)
	if err == nil {
		t.Fatal("request succeeded; want the CONNECT refused when the upstream does not verify")
	}
	recs := te.denies.wait(t, 1)
	if recs[0].Rule != RuleUpstreamTLS {
		t.Errorf("rule %q, want %s", recs[0].Rule, RuleUpstreamTLS)
	}
}

func TestGateway(t *testing.T) {
	te := newTermEnv(t)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := portOf(t, te.upstream.Listener.Addr().String())
	go te.p.ServeGateway(l, []Gateway{{Prefix: "anthropic", Host: "example.com", Port: port, BasePath: "/base", Secret: "ANTHROPIC_API_KEY", Header: "X-Api-Key", Format: "%s"}})
	base := "http://" + l.Addr().String()
	tests := []struct {
		name, path, key string
		want            int
		wantBody        string
	}{
		{"no key sent", "/anthropic/v1/messages", "", 200, "ok /base/v1/messages"},
		{"placeholder sent", "/anthropic/v1/messages?q=1", phKey, 200, "ok /base/v1/messages?q=1"},
		{"unknown route", "/openai/v1", "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", base+tt.path, nil)
			if tt.key != "" {
				req.Header.Set("X-Api-Key", tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want || !strings.HasPrefix(string(b), tt.wantBody) {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, b, tt.want, tt.wantBody)
			}
		})
	}
}

// TestInspectedTrailerDropped: a trailer field would reach the upstream
// after the body, unchecked; with an Injector it is dropped.
func TestInspectedTrailerDropped(t *testing.T) {
	te := newTermEnv(t)
	got := make(chan http.Header, 1)
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got <- r.Trailer
		io.WriteString(w, "received")
	}))
	defer echo.Close()
	port := portOf(t, echo.Listener.Addr().String())
	c := dialProxy(t, te.httpAddr)
	defer c.Close()
	fmt.Fprintf(c, "POST http://other.example:%d/x HTTP/1.1\r\nHost: other.example:%d\r\nTransfer-Encoding: chunked\r\nTrailer: X-Data\r\n\r\n3\r\nabc\r\n0\r\nX-Data: %s\r\n\r\n", port, port, phKey)
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "POST"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case tr := <-got:
		if v := tr.Get("X-Data"); v != "" {
			t.Errorf("the upstream received trailer X-Data %q", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream got no request")
	}
}
