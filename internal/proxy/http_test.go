package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// seen is what the upstream test server reports about a request.
type seen struct {
	Server  string
	Method  string
	URI     string
	Host    string
	Header  http.Header
	Body    string
	Trailer http.Header
	TE      []string
	CL      int64
}

// upstream starts an HTTP server on 127.0.0.1 that answers with what it
// saw, as JSON.
func upstream(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(seen{
			Server: name, Method: r.Method, URI: r.RequestURI, Host: r.Host, Header: r.Header,
			Body: string(body), Trailer: r.Trailer, TE: r.TransferEncoding, CL: r.ContentLength,
		})
	}))
	t.Cleanup(s.Close)
	return s
}

func decodeSeen(t *testing.T, body string) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("decode upstream answer %q: %v", body, err)
	}
	return s
}

func TestForwardKeepAliveTwoHosts(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.User, c.Token = testUser, testToken })
	a, b := upstream(t, "A"), upstream(t, "B")
	pa, pb := portOf(t, a.Listener.Addr().String()), portOf(t, b.Listener.Addr().String())
	c := dialProxy(t, e.httpAddr)
	br := bufio.NewReader(c)
	auth := basicAuth(testUser, testToken)

	tests := []struct {
		name, host string
		port       int
		server     string
	}{
		{"first host", "a.test", pa, "A"},
		{"second host on the same connection", "b.test", pb, "B"},
		{"first host again", "A.Test", pa, "A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := fmt.Sprintf("GET http://%s:%d/p/q?x=1 HTTP/1.1\r\nHost: %s:%d\r\nProxy-Authorization: %s\r\n"+
				"Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 300\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nX-End: 2\r\n\r\n",
				tt.host, tt.port, tt.host, tt.port, auth)
			resp, body := roundTrip(t, c, br, req)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("got status %d (%s), want 200", resp.StatusCode, body)
			}
			s := decodeSeen(t, body)
			if s.Server != tt.server {
				t.Errorf("got server %q, want %q", s.Server, tt.server)
			}
			if s.URI != "/p/q?x=1" {
				t.Errorf("got upstream request URI %q, want origin-form /p/q?x=1", s.URI)
			}
			if want := fmt.Sprintf("%s:%d", tt.host, tt.port); s.Host != want {
				t.Errorf("got upstream Host %q, want %q", s.Host, want)
			}
			for _, h := range []string{"Proxy-Authorization", "X-Hop", "Keep-Alive", "Proxy-Connection", "Te"} {
				if v, ok := s.Header[h]; ok {
					t.Errorf("upstream got hop-by-hop header %s: %q, want it stripped", h, v)
				}
			}
			if got := s.Header.Get("X-End"); got != "2" {
				t.Errorf("got upstream X-End %q, want 2 (end-to-end headers are forwarded)", got)
			}
			if resp.Close {
				t.Errorf("response closes the client connection, want keep-alive")
			}
		})
	}

	c.Close()
	recs := e.audit.wait(t, len(tests))
	for i, r := range recs {
		want := tests[i]
		if r.Schema != 1 || r.Proto != ProtoHTTP || r.Method != "GET" || r.Decision != DecisionAllow ||
			r.Host != strings.ToLower(want.host) || r.Port != want.port || r.IP != "127.0.0.1" ||
			r.Rule != "allow:"+strings.ToLower(want.host) || r.SandboxID != "sb-test" || r.Client != c.LocalAddr().String() {
			t.Errorf("record %d: got %+v, want an allow record for %s:%d via 127.0.0.1", i, r, want.host, want.port)
		}
		if r.BytesUp <= 0 || r.BytesDown <= 0 || r.DurationMS <= 0 {
			t.Errorf("record %d: got bytes up/down %d/%d and duration %v, want positive", i, r.BytesUp, r.BytesDown, r.DurationMS)
		}
	}
	wantDials := []string{fmt.Sprintf("127.0.0.1:%d", pa), fmt.Sprintf("127.0.0.1:%d", pb), fmt.Sprintf("127.0.0.1:%d", pa)}
	if got := e.dials.list(); !slices.Equal(got, wantDials) {
		t.Errorf("got dials %q, want one per request %q", got, wantDials)
	}
	if got := len(e.denies.snapshot()); got != 0 {
		t.Errorf("got %d OnDeny calls, want 0", got)
	}
}

// TestForwardStreamsResponse checks that a response body reaches the
// client while the upstream is still writing it.
func TestForwardStreamsResponse(t *testing.T) {
	e := newEnv(t, nil)
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first;")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, "second")
	}))
	defer s.Close()
	var once sync.Once
	releaseNow := func() { once.Do(func() { close(release) }) }
	defer releaseNow()
	port := portOf(t, s.Listener.Addr().String())
	c := dialProxy(t, e.httpAddr)
	fmt.Fprintf(c, "GET http://a.test:%d/ HTTP/1.1\r\nHost: a.test:%d\r\n\r\n", port, port)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	first := make([]byte, len("first;"))
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("read the first part before the upstream finished: %v (the proxy holds the body back)", err)
	}
	releaseNow()
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read rest: %v", err)
	}
	if got := string(first) + string(rest); got != "first;second" {
		t.Errorf("got body %q, want %q", got, "first;second")
	}
	if !slices.Equal(resp.TransferEncoding, []string{"chunked"}) {
		t.Errorf("got Transfer-Encoding %q, want chunked (the upstream sent no length)", resp.TransferEncoding)
	}
}

// TestForwardChunkedPOST sends a chunked body in two parts: the upstream
// must see the first part before the client sends the second, and the
// trailer must arrive.
func TestForwardChunkedPOST(t *testing.T) {
	e := newEnv(t, nil)
	gotFirst := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, len("hello "))
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		close(gotFirst)
		rest, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "te=%q body=%q sum=%q", r.TransferEncoding, string(buf)+string(rest), r.Trailer.Get("X-Sum"))
	}))
	defer s.Close()
	port := portOf(t, s.Listener.Addr().String())
	c := dialProxy(t, e.httpAddr)
	fmt.Fprintf(c, "POST http://a.test:%d/up HTTP/1.1\r\nHost: a.test:%d\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n6\r\nhello \r\n", port, port)
	select {
	case <-gotFirst:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream did not get the first chunk before the body ended: the proxy buffers request bodies")
	}
	io.WriteString(c, "5\r\nworld\r\n0\r\nX-Sum: 42\r\n\r\n")
	resp, body := readResponse(t, bufio.NewReader(c), "POST")
	if resp.StatusCode != 200 {
		t.Fatalf("got status %d, want 200", resp.StatusCode)
	}
	if want := `te=["chunked"] body="hello world" sum="42"`; body != want {
		t.Errorf("got %s, want %s", body, want)
	}
}

func TestForwardContentLengthAndHEAD(t *testing.T) {
	e := newEnv(t, nil)
	a := upstream(t, "A")
	port := portOf(t, a.Listener.Addr().String())
	c := dialProxy(t, e.httpAddr)
	br := bufio.NewReader(c)

	resp, body := roundTrip(t, c, br, fmt.Sprintf("PUT http://a.test:%d/f HTTP/1.1\r\nHost: a.test:%d\r\nContent-Length: 5\r\n\r\nabcde", port, port))
	if s := decodeSeen(t, body); resp.StatusCode != 200 || s.Body != "abcde" || s.CL != 5 || s.Method != "PUT" {
		t.Errorf("got status %d, upstream saw %+v, want 200 with the 5-byte body", resp.StatusCode, s)
	}
	fmt.Fprintf(c, "HEAD http://a.test:%d/f HTTP/1.1\r\nHost: a.test:%d\r\n\r\n", port, port)
	resp, body = readResponse(t, br, "HEAD")
	if resp.StatusCode != 200 || body != "" {
		t.Errorf("HEAD: got status %d body %q, want 200 and no body", resp.StatusCode, body)
	}
	// The connection is still in sync after HEAD.
	resp, body = roundTrip(t, c, br, fmt.Sprintf("GET http://a.test:%d/after HTTP/1.1\r\nHost: a.test:%d\r\n\r\n", port, port))
	if s := decodeSeen(t, body); resp.StatusCode != 200 || s.URI != "/after" {
		t.Errorf("after HEAD: got status %d, upstream saw %+v, want 200 for /after", resp.StatusCode, s)
	}
}

// TestForwardExpectContinue checks that a 100 Continue reaches a client
// that waits for it before sending the body.
func TestForwardExpectContinue(t *testing.T) {
	e := newEnv(t, nil)
	a := upstream(t, "A")
	port := portOf(t, a.Listener.Addr().String())
	c := dialProxy(t, e.httpAddr)
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "POST http://a.test:%d/ HTTP/1.1\r\nHost: a.test:%d\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", port, port)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read interim response: %v", err)
	}
	if resp.StatusCode != http.StatusContinue {
		t.Fatalf("got status %d, want 100", resp.StatusCode)
	}
	io.WriteString(c, "xyz")
	resp, body := readResponse(t, br, "POST")
	if s := decodeSeen(t, body); resp.StatusCode != 200 || s.Body != "xyz" {
		t.Errorf("got status %d, upstream saw %+v, want 200 with body xyz", resp.StatusCode, s)
	}
}

// TestForwardEarlyResponse: the upstream answers without reading the
// body; the proxy relays the answer and closes the client connection
// instead of waiting for a body that will never be used.
func TestForwardEarlyResponse(t *testing.T) {
	e := newEnv(t, nil)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		http.Error(w, "too big", http.StatusRequestEntityTooLarge)
	}))
	defer s.Close()
	port := portOf(t, s.Listener.Addr().String())
	c := dialProxy(t, e.httpAddr)
	fmt.Fprintf(c, "POST http://a.test:%d/ HTTP/1.1\r\nHost: a.test:%d\r\nContent-Length: 10000000\r\n\r\n%s", port, port, strings.Repeat("x", 1000))
	br := bufio.NewReader(c)
	resp, body := readResponse(t, br, "POST")
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
		t.Errorf("got status %d close=%v body %q, want 413 with Connection: close", resp.StatusCode, resp.Close, body)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("got %v after the response, want EOF (connection closed)", err)
	}
	recs := e.audit.wait(t, 1)
	if recs[0].Decision != DecisionAllow {
		t.Errorf("got decision %q, want allow", recs[0].Decision)
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, nil)
	a := upstream(t, "A")
	port := portOf(t, a.Listener.Addr().String())
	target := fmt.Sprintf("a.test:%d", port)
	tests := []struct {
		name   string
		req    string
		status int
	}{
		{"host header names another host", "GET http://" + target + "/ HTTP/1.1\r\nHost: b.test:" + fmt.Sprint(port) + "\r\n\r\n", 400},
		{"host header names another port", "GET http://" + target + "/ HTTP/1.1\r\nHost: a.test:1\r\n\r\n", 400},
		{"host header without port for a non-default port", "GET http://" + target + "/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400},
		{"two host headers", "GET http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\nHost: " + target + "\r\n\r\n", 400},
		{"no host header in HTTP/1.1", "GET http://" + target + "/ HTTP/1.1\r\n\r\n", 400},
		{"content-length and transfer-encoding", "POST http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"transfer-encoding and content-length", "POST http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400},
		{"conflicting content-length headers", "POST http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
		{"conflicting content-length list", "POST http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\nContent-Length: 3, 4\r\n\r\nabcd", 400},
		{"signed content-length", "POST http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\nContent-Length: +3\r\n\r\nabc", 400},
		{"transfer-encoding in HTTP/1.0", "POST http://" + target + "/ HTTP/1.0\r\nHost: " + target + "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"unknown transfer coding", "POST http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
		{"obsolete line folding", "GET http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\nX-A: 1\r\n  folded\r\n\r\n", 400},
		{"space before colon", "GET http://" + target + "/ HTTP/1.1\r\nHost : " + target + "\r\n\r\n", 400},
		{"bare CR in a header", "GET http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\nX-A: 1\r2\r\n\r\n", 400},
		{"origin-form request to the proxy", "GET / HTTP/1.1\r\nHost: " + target + "\r\n\r\n", 400},
		{"https absolute URI", "GET https://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n", 400},
		{"userinfo in absolute URI", "GET http://u@" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n", 400},
		{"two spaces in request line", "GET  http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n", 400},
		{"HTTP/2 request line", "GET http://" + target + "/ HTTP/2.0\r\nHost: " + target + "\r\n\r\n", 505},
		{"head too large", "GET http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", 431},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialProxy(t, e.httpAddr)
			io.WriteString(c, tt.req)
			resp, body := readResponse(t, bufio.NewReader(c), "GET")
			if resp.StatusCode != tt.status {
				t.Errorf("got status %d (%q), want %d", resp.StatusCode, body, tt.status)
			}
			if !strings.HasPrefix(body, "airlock: ") {
				t.Errorf("got body %q, want an airlock: line", body)
			}
			recs := e.audit.wait(t, i+1)
			r := recs[i]
			if r.Decision != DecisionDeny || r.Rule != RuleBadRequest || r.Reason == "" {
				t.Errorf("got record %+v, want a %s denial with a reason", r, RuleBadRequest)
			}
		})
	}
	if got := e.dials.list(); len(got) != 0 {
		t.Errorf("got dials %q, want none for bad requests", got)
	}
	if got := e.res.total(); got != 0 {
		t.Errorf("got %d lookups, want none for bad requests", got)
	}
	if got, want := len(e.denies.snapshot()), len(tests); got != want {
		t.Errorf("got %d OnDeny calls, want %d", got, want)
	}
}

func TestHTTPAuth(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.User, c.Token = testUser, testToken })
	a := upstream(t, "A")
	port := portOf(t, a.Listener.Addr().String())
	tests := []struct {
		name   string
		header string
		status int
		reason string
	}{
		{"no credentials", "", 407, "proxy authentication required"},
		{"wrong token", "Proxy-Authorization: " + basicAuth(testUser, "wrong") + "\r\n", 407, "wrong proxy credentials"},
		{"wrong user", "Proxy-Authorization: " + basicAuth("root", testToken) + "\r\n", 407, "wrong proxy credentials"},
		{"token prefix", "Proxy-Authorization: " + basicAuth(testUser, testToken[:4]) + "\r\n", 407, "wrong proxy credentials"},
		{"bearer scheme", "Proxy-Authorization: Bearer " + testToken + "\r\n", 407, "proxy authentication must use the Basic scheme"},
		{"right credentials", "Proxy-Authorization: " + basicAuth(testUser, testToken) + "\r\n", 200, ""},
		{"right credentials, lowercase scheme", "Proxy-Authorization: basic " + basicAuth(testUser, testToken)[6:] + "\r\n", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range []string{"GET", "CONNECT"} {
				e.audit.mu.Lock()
				e.audit.recs = nil
				e.audit.mu.Unlock()
				c := dialProxy(t, e.httpAddr)
				target := fmt.Sprintf("http://a.test:%d/", port)
				if method == "CONNECT" {
					target = fmt.Sprintf("a.test:%d", port)
				}
				fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: a.test:%d\r\n%s\r\n", method, target, port, tt.header)
				resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
				if err != nil {
					t.Fatalf("%s: read response: %v", method, err)
				}
				if resp.StatusCode != tt.status {
					t.Errorf("%s: got status %d, want %d", method, resp.StatusCode, tt.status)
				}
				if tt.status == 407 {
					if got := resp.Header.Get("Proxy-Authenticate"); got != `Basic realm="airlock"` {
						t.Errorf("%s: got Proxy-Authenticate %q, want Basic realm=\"airlock\"", method, got)
					}
				}
				c.Close()
				r := e.audit.wait(t, 1)[0]
				if tt.status == 407 && (r.Decision != DecisionDeny || r.Rule != RuleAuth || r.Reason != tt.reason || r.Port != port) {
					t.Errorf("%s: got record %+v, want %s denial %q for port %d", method, r, RuleAuth, tt.reason, port)
				}
				if tt.status == 200 && r.Decision != DecisionAllow {
					t.Errorf("%s: got record %+v, want allow", method, r)
				}
			}
		})
	}
}

func TestDeniedNameIsNeverResolved(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name       string
		host       string
		rule       string
		header     string
		body       string
		resolvable bool
	}{
		{"explicit deny rule", "evil.test", "deny:evil.test",
			"deny:evil.test; hint: remove evil.test from network.deny_domains",
			"airlock: denied evil.test:80: evil.test is on the deny list\nairlock: hint: remove evil.test from network.deny_domains\n", true},
		{"no allow rule", "Unknown.Test", "default",
			"default; hint: add unknown.test to network.allow_domains",
			"airlock: denied unknown.test:80: no allow rule matches unknown.test\nairlock: hint: add unknown.test to network.allow_domains\n", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.res.set(strings.ToLower(tt.host), addrs("127.0.0.1"))
			for j, method := range []string{"GET", "CONNECT"} {
				c := dialProxy(t, e.httpAddr)
				br := bufio.NewReader(c)
				if method == "GET" {
					fmt.Fprintf(c, "GET http://%s/x HTTP/1.1\r\nHost: %s\r\n\r\n", tt.host, tt.host)
				} else {
					fmt.Fprintf(c, "CONNECT %s:80 HTTP/1.1\r\nHost: %s:80\r\n\r\n", tt.host, tt.host)
				}
				resp, body := readResponse(t, br, method)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s: got status %d, want 403", method, resp.StatusCode)
				}
				if got := resp.Header.Get("X-Airlock-Denied"); got != tt.header {
					t.Errorf("%s: got X-Airlock-Denied %q, want %q", method, got, tt.header)
				}
				if body != tt.body {
					t.Errorf("%s: got body %q, want %q", method, body, tt.body)
				}
				// The connection stays usable after a denial.
				fmt.Fprintf(c, "GET http://%s/x HTTP/1.1\r\nHost: %s\r\n\r\n", tt.host, tt.host)
				if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s: second request on the connection: got status %d, want 403", method, resp.StatusCode)
				}
				c.Close()
				n := 2 * (2*i + j + 1)
				recs := e.audit.wait(t, n)
				denies := e.denies.wait(t, n)
				if r := denies[n-2]; r.Decision != DecisionDeny || r.Rule != tt.rule || r.Host != strings.ToLower(tt.host) || r.Port != 80 || r.Hint == "" {
					t.Errorf("%s: got OnDeny record %+v, want denial by %s", method, r, tt.rule)
				}
				if r := recs[n-2]; r.Decision != DecisionDeny || r.Rule != tt.rule || r.IP != "" {
					t.Errorf("%s: got audit record %+v, want denial by %s with no IP", method, r, tt.rule)
				}
			}
			if got := e.res.count(strings.ToLower(tt.host)); got != 0 {
				t.Errorf("got %d lookups of %s, want 0: a denied name must never reach DNS", got, tt.host)
			}
		})
	}
	if got := e.dials.list(); len(got) != 0 {
		t.Errorf("got dials %q, want none", got)
	}
	if got := e.pol.addrs.Load(); got != 0 {
		t.Errorf("got %d CheckAddr calls, want 0", got)
	}
}

func TestDNSRebinding(t *testing.T) {
	e := newEnv(t, nil)
	echo := echoServer(t, "tcp4", "127.0.0.1:0")
	port := portOf(t, echo.Addr().String())
	// rebind.test answers an allowed address first and a private one
	// afterwards; rebind2.test the other way round.
	e.res.set("rebind.test", addrs("127.0.0.1"), addrs("10.0.0.1"))
	e.res.set("rebind2.test", addrs("10.0.0.1"), addrs("127.0.0.1"))

	c := dialProxy(t, e.httpAddr)
	fmt.Fprintf(c, "CONNECT rebind.test:%d HTTP/1.1\r\n\r\nping", port)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT rebind.test: got %v, %v, want 200", resp, err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "ping" {
		t.Fatalf("got echo %q, %v, want ping", got, err)
	}
	c.Close()
	if n := e.res.count("rebind.test"); n != 1 {
		t.Errorf("got %d lookups of rebind.test, want exactly 1", n)
	}
	if d, want := e.dials.list(), []string{fmt.Sprintf("127.0.0.1:%d", port)}; !slices.Equal(d, want) {
		t.Errorf("got dials %q, want %q: the checked address", d, want)
	}

	c = dialProxy(t, e.httpAddr)
	fmt.Fprintf(c, "CONNECT rebind2.test:%d HTTP/1.1\r\n\r\n", port)
	resp, body := readResponse(t, bufio.NewReader(c), "CONNECT")
	if resp.StatusCode != 403 || resp.Header.Get("X-Airlock-Denied") != "addr:private; hint: private addresses are never allowed" {
		t.Errorf("CONNECT rebind2.test: got %d %q, want 403 from addr:private", resp.StatusCode, resp.Header.Get("X-Airlock-Denied"))
	}
	if !strings.Contains(body, "rebind2.test resolves to 10.0.0.1") {
		t.Errorf("got body %q, want the address in the reason", body)
	}
	if n := e.res.count("rebind2.test"); n != 1 {
		t.Errorf("got %d lookups of rebind2.test, want exactly 1", n)
	}
	if d := e.dials.list(); len(d) != 1 {
		t.Errorf("got dials %q, want no dial for rebind2.test", d)
	}
	recs := e.audit.wait(t, 2)
	if recs[0].Host != "rebind2.test" {
		recs[0], recs[1] = recs[1], recs[0] // audited when each ends
	}
	if r := recs[0]; r.Decision != DecisionDeny || r.Rule != "addr:private" || r.IP != "10.0.0.1" || r.Host != "rebind2.test" {
		t.Errorf("got record %+v, want addr:private denial of 10.0.0.1", r)
	}
}

func TestAddressChecks(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Static = map[string][]netip.Addr{"pinned.test": addrs("127.0.0.1")}
	})
	e.pol.allow["pinned.test"] = true
	echo := echoServer(t, "tcp4", "127.0.0.1:0")
	port := portOf(t, echo.Addr().String())
	e.res.set("private.test", addrs("10.1.2.3", "192.168.0.1"))
	e.res.set("mixed.test", addrs("10.9.9.9", "127.0.0.1"))
	e.res.set("pinned.test", addrs("10.0.0.1"))
	tests := []struct {
		name   string
		target string
		status int
		dial   string
		ip     string
	}{
		{"all addresses private", fmt.Sprintf("private.test:%d", port), 403, "", "10.1.2.3"},
		{"only the allowed address is dialled", fmt.Sprintf("mixed.test:%d", port), 200, fmt.Sprintf("127.0.0.1:%d", port), "127.0.0.1"},
		{"IP literal allowed by address", fmt.Sprintf("127.0.0.1:%d", port), 200, fmt.Sprintf("127.0.0.1:%d", port), "127.0.0.1"},
		{"IP literal denied by address", fmt.Sprintf("10.0.0.7:%d", port), 403, "", "10.0.0.7"},
		{"static pin wins over the resolver", fmt.Sprintf("pinned.test:%d", port), 200, fmt.Sprintf("127.0.0.1:%d", port), "127.0.0.1"},
		{"resolution failure", fmt.Sprintf("v6.test:%d", port), 502, "", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.dials.list())
			c := dialProxy(t, e.httpAddr)
			fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\n\r\n", tt.target)
			resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "CONNECT"})
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.status)
			}
			c.Close()
			d := e.dials.list()[before:]
			if (tt.dial == "" && len(d) != 0) || (tt.dial != "" && !slices.Equal(d, []string{tt.dial})) {
				t.Errorf("got dials %q, want %q", d, tt.dial)
			}
			r := e.audit.wait(t, i+1)[i]
			if r.IP != tt.ip {
				t.Errorf("got record IP %q, want %q", r.IP, tt.ip)
			}
		})
	}
	if n := e.res.count("pinned.test"); n != 0 {
		t.Errorf("got %d lookups of pinned.test, want 0", n)
	}
}

func TestConnectTunnel(t *testing.T) {
	e := newEnv(t, nil)
	echo := echoServer(t, "tcp4", "127.0.0.1:0")
	port := portOf(t, echo.Addr().String())
	c := dialProxy(t, e.httpAddr)
	// Data sent right behind the CONNECT head (as TLS clients do) must
	// not be lost.
	fmt.Fprintf(c, "CONNECT a.test:%d HTTP/1.1\r\nHost: a.test:%d\r\n\r\nearly-", port, port)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %v, %v, want 200", resp, err)
	}
	if resp.Status != "200 Connection established" {
		t.Errorf("got status %q, want 200 Connection established", resp.Status)
	}
	io.WriteString(c, "late")
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("read tunnel: %v", err)
	}
	if string(got) != "early-late" {
		t.Errorf("got %q through the tunnel, want early-late", got)
	}
	r := e.audit.wait(t, 1)[0]
	if r.Proto != ProtoConnect || r.Method != "CONNECT" || r.BytesUp != 10 || r.BytesDown != 10 || r.Decision != DecisionAllow {
		t.Errorf("got record %+v, want a connect record with 10 bytes each way", r)
	}
}

func TestConnectTargets(t *testing.T) {
	e := newEnv(t, nil)
	echo6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	echo6.Close()
	l6 := echoServer(t, "tcp6", "[::1]:0")
	p6 := portOf(t, l6.Addr().String())
	tests := []struct {
		target string
		status int
	}{
		{"allowed.test:443@evil.test:443", 400},
		{"user@a.test:443", 400},
		{"a.test:443/x", 400},
		{"a.test:99999", 400},
		{"a.test:0", 400},
		{"a.test:0443", 400},
		{"a.test", 400},
		{"a.test:", 400},
		{"a.test:443:1", 400},
		{"a.test%2f:443", 400},
		{"::1:443", 400},
		{"[::1%lo]:443", 400},
		{"[::1]", 400},
		// Numeric spellings are the policy's to read (as addresses) and
		// refuse: the fake policy here denies names it does not know.
		{"127.1:443", 403},
		{"2130706433:443", 403},
		{"0x7f.0.0.1:443", 403},
		{"a.test:+443", 400},
		{fmt.Sprintf("[::1]:%d", p6), 200},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			before := len(e.dials.list())
			c := dialProxy(t, e.httpAddr)
			fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\n\r\n", tt.target)
			resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "CONNECT"})
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.status)
			}
			d := e.dials.list()[before:]
			if tt.status == 400 && len(d) != 0 {
				t.Errorf("got dials %q, want none for a malformed target", d)
			}
			if tt.status == 200 && !slices.Equal(d, []string{fmt.Sprintf("[::1]:%d", p6)}) {
				t.Errorf("got dials %q, want [::1]:%d", d, p6)
			}
		})
	}
	if got := e.res.total(); got != 0 {
		t.Errorf("got %d lookups, want none", got)
	}
}

func TestConnectDialFailure(t *testing.T) {
	e := newEnv(t, nil)
	port := closedPort(t)
	c := dialProxy(t, e.httpAddr)
	fmt.Fprintf(c, "CONNECT a.test:%d HTTP/1.1\r\n\r\n", port)
	resp, body := readResponse(t, bufio.NewReader(c), "CONNECT")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "connection refused") {
		t.Errorf("got %d %q, want 502 naming the refusal", resp.StatusCode, body)
	}
	r := e.audit.wait(t, 1)[0]
	if r.Decision != DecisionAllow || r.Error == "" || r.IP != "127.0.0.1" {
		t.Errorf("got record %+v, want an allowed decision with a dial error", r)
	}
}

func TestAsk(t *testing.T) {
	var asked atomic.Int64
	var lastName atomic.Value
	answer := atomic.Bool{}
	e := newEnv(t, func(c *Config) {
		c.Ask = func(ctx context.Context, name string, port int) bool {
			asked.Add(1)
			lastName.Store(fmt.Sprintf("%s:%d", name, port))
			return answer.Load()
		}
	})
	echo := echoServer(t, "tcp4", "127.0.0.1:0")
	port := portOf(t, echo.Addr().String())
	e.res.set("new.test", addrs("127.0.0.1"))
	e.res.set("newprivate.test", addrs("10.0.0.1"))
	e.res.set("evil.test", addrs("127.0.0.1"))
	tests := []struct {
		name   string
		host   string
		answer bool
		asked  bool
		status int
		rule   string
		looked int
	}{
		{"unmatched name, approved", "new.test", true, true, 200, RuleAsk, 1},
		{"unmatched name, refused", "New.test", false, true, 403, "default", 0},
		{"explicit deny is never asked", "evil.test", true, false, 403, "deny:evil.test", 0},
		{"approved name still faces address checks", "newprivate.test", true, true, 403, "addr:private", 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer.Store(tt.answer)
			before := asked.Load()
			name := strings.ToLower(tt.host)
			looked := e.res.count(name)
			c := dialProxy(t, e.httpAddr)
			fmt.Fprintf(c, "CONNECT %s:%d HTTP/1.1\r\n\r\n", tt.host, port)
			resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "CONNECT"})
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			c.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := asked.Load() - before; got != map[bool]int64{true: 1, false: 0}[tt.asked] {
				t.Errorf("got %d Ask calls, want asked=%v", got, tt.asked)
			}
			if tt.asked && lastName.Load() != fmt.Sprintf("%s:%d", name, port) {
				t.Errorf("Ask got %v, want %s:%d", lastName.Load(), name, port)
			}
			if got := e.res.count(name) - looked; got != tt.looked {
				t.Errorf("got %d lookups, want %d", got, tt.looked)
			}
			if r := e.audit.wait(t, i+1)[i]; r.Rule != tt.rule {
				t.Errorf("got rule %q, want %q", r.Rule, tt.rule)
			}
		})
	}
}

func TestPolicyHotReload(t *testing.T) {
	var cur atomic.Pointer[fakePolicy]
	e := newEnv(t, func(c *Config) { c.Policy = func() Policy { return cur.Load() } })
	a := upstream(t, "A")
	port := portOf(t, a.Listener.Addr().String())
	cur.Store(newFakePolicy("a.test"))
	c := dialProxy(t, e.httpAddr)
	br := bufio.NewReader(c)
	req := fmt.Sprintf("GET http://a.test:%d/ HTTP/1.1\r\nHost: a.test:%d\r\n\r\n", port, port)
	if resp, _ := roundTrip(t, c, br, req); resp.StatusCode != 200 {
		t.Fatalf("before reload: got %d, want 200", resp.StatusCode)
	}
	cur.Store(newFakePolicy())
	if resp, _ := roundTrip(t, c, br, req); resp.StatusCode != 403 {
		t.Errorf("after reload on the same connection: got %d, want 403", resp.StatusCode)
	}
}

func TestNoPolicyDenies(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Policy = func() Policy { return nil } })
	c := dialProxy(t, e.httpAddr)
	fmt.Fprintf(c, "CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n")
	resp, _ := readResponse(t, bufio.NewReader(c), "CONNECT")
	if resp.StatusCode != 403 || resp.Header.Get("X-Airlock-Denied") != RuleNoPolicy {
		t.Errorf("got %d %q, want 403 %s", resp.StatusCode, resp.Header.Get("X-Airlock-Denied"), RuleNoPolicy)
	}
}

// TestWebSocket checks that an Upgrade is forwarded to an allowed
// destination and becomes a tunnel after the 101.
func TestWebSocket(t *testing.T) {
	e := newEnv(t, nil)
	l := listen(t, "tcp4", "127.0.0.1:0")
	defer l.Close()
	port := portOf(t, l.Addr().String())
	srvErr := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			srvErr <- err
			return
		}
		if req.Header.Get("Upgrade") != "websocket" || !strings.EqualFold(req.Header.Get("Connection"), "upgrade") {
			srvErr <- fmt.Errorf("upstream got Upgrade %q Connection %q", req.Header.Get("Upgrade"), req.Header.Get("Connection"))
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\nhello;")
		io.Copy(c, br)
		srvErr <- nil
	}()
	c := dialProxy(t, e.httpAddr)
	fmt.Fprintf(c, "GET http://a.test:%d/ws HTTP/1.1\r\nHost: a.test:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\n\r\n", port, port)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("got %v, %v, want 101", resp, err)
	}
	if resp.Header.Get("Upgrade") != "websocket" || resp.Header.Get("Sec-WebSocket-Accept") != "x" {
		t.Errorf("got headers %v, want Upgrade and Sec-WebSocket-Accept passed on", resp.Header)
	}
	io.WriteString(c, "frame")
	c.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(br)
	if string(got) != "hello;frame" {
		t.Errorf("got %q through the upgraded connection, want hello;frame", got)
	}
	select {
	case err := <-srvErr:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream never got the upgrade request")
	}
	r := e.audit.wait(t, 1)[0]
	if r.Decision != DecisionAllow || r.BytesDown < int64(len("hello;frame")) || r.BytesUp < int64(len("frame")) {
		t.Errorf("got record %+v, want allow with the tunnel bytes", r)
	}

	// The same upgrade to a denied destination never leaves the proxy.
	c = dialProxy(t, e.httpAddr)
	fmt.Fprintf(c, "GET http://evil.test/ws HTTP/1.1\r\nHost: evil.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	if resp, _ := readResponse(t, bufio.NewReader(c), "GET"); resp.StatusCode != 403 {
		t.Errorf("upgrade to evil.test: got %d, want 403", resp.StatusCode)
	}
}

// TestForwardHTTP10 checks an HTTP/1.0 client without a Host header: the
// proxy supplies Host from the target and closes after the response.
func TestForwardHTTP10(t *testing.T) {
	e := newEnv(t, nil)
	a := upstream(t, "A")
	port := portOf(t, a.Listener.Addr().String())
	c := dialProxy(t, e.httpAddr)
	br := bufio.NewReader(c)
	resp, body := roundTrip(t, c, br, fmt.Sprintf("GET http://a.test:%d/old HTTP/1.0\r\n\r\n", port))
	s := decodeSeen(t, body)
	if want := fmt.Sprintf("a.test:%d", port); resp.StatusCode != 200 || s.Host != want || s.URI != "/old" {
		t.Errorf("got status %d, upstream saw %+v, want 200 with Host %s", resp.StatusCode, s, want)
	}
	if !resp.Close {
		t.Errorf("got a keep-alive response to HTTP/1.0, want Connection: close")
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("got %v after the response, want EOF", err)
	}
}
