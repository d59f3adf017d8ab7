package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"
)

// egressClientCmd, as the first argument, makes the bench binary run as the
// egress client instead of the benchmark. The harness copies its own binary
// next to the sandboxes' workspace and runs it this way directly, through a
// standalone proxy, and inside `airlock run` and srt, so every contender is
// driven by the same code.
const egressClientCmd = "egress-client"

// proxyFromEnv, as the -proxy value, takes the proxy URL from the
// environment the sandbox sets up.
const proxyFromEnv = "env"

// Paths the egress server answers.
const (
	zeroPath  = "/zero"  // ?n=BYTES: that many zero bytes
	smallPath = "/small" // a small fixed body
)

// smallBody is what the egress server answers on smallPath.
const smallBody = "airlock egress benchmark\n"

// clientOptions is what one egress client invocation measures.
type clientOptions struct {
	proxy    string // proxy URL, proxyFromEnv, or "" for a direct connection
	target   string // host:port of the egress server as the client names it
	bytes    int64  // size of the download through CONNECT; 0 skips it
	requests int    // timed keep-alive requests; 0 skips them
	// tunnelRequests are timed requests inside one CONNECT tunnel, which
	// measure the relay alone; 0 (or no proxy) skips them.
	tunnelRequests int
	// freshRequests are timed requests each on a new connection, dial
	// included, without a proxy only: the cost of a loopback connection.
	freshRequests int
	warmup        int // untimed requests before each series of timed ones
}

// clientResult is what the egress client prints, as one JSON object.
type clientResult struct {
	Bytes       int64   `json:"bytes"`
	DownloadNS  int64   `json:"download_ns"`
	LatenciesNS []int64 `json:"latencies_ns"`
	// TunnelLatenciesNS are the requests sent inside a CONNECT tunnel.
	TunnelLatenciesNS []int64 `json:"tunnel_latencies_ns,omitempty"`
	// FreshLatenciesNS are the requests sent each on a new connection.
	FreshLatenciesNS []int64 `json:"fresh_latencies_ns,omitempty"`
	// Reconnects counts keep-alive connections the far side closed, each
	// of which made the next request open a new connection.
	Reconnects int    `json:"reconnects"`
	Error      string `json:"error,omitempty"`
}

// proxySpec is a parsed proxy URL.
type proxySpec struct {
	addr string // host:port to dial
	auth string // Proxy-Authorization value, or ""
}

// parseProxyURL reads an http:// proxy URL with optional credentials, as
// the sandboxes put it in HTTP_PROXY. User and password are taken
// percent-decoded, as curl sends them.
func parseProxyURL(raw string) (proxySpec, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return proxySpec{}, fmt.Errorf("proxy URL: %w", err)
	}
	if u.Scheme != "http" {
		return proxySpec{}, fmt.Errorf("proxy URL %q: want scheme http, got %q", raw, u.Scheme)
	}
	if u.Hostname() == "" {
		return proxySpec{}, fmt.Errorf("proxy URL %q: no host", raw)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	p := proxySpec{addr: net.JoinHostPort(u.Hostname(), port)}
	if u.User != nil {
		pass, _ := u.User.Password()
		p.auth = basicAuth(u.User.Username(), pass)
	}
	return p, nil
}

// basicAuth is the Basic credentials header value for user and pass.
func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// envProxy returns the proxy URL a sandbox announces, HTTPS_PROXY first as
// for a CONNECT client.
func envProxy(getenv func(string) string) (string, error) {
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		if v := getenv(k); v != "" {
			return v, nil
		}
	}
	return "", errors.New("no HTTPS_PROXY or HTTP_PROXY in the environment")
}

// connectRequest is the CONNECT head for target.
func connectRequest(target, auth string) []byte {
	s := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if auth != "" {
		s += "Proxy-Authorization: " + auth + "\r\n"
	}
	return []byte(s + "\r\n")
}

// getRequest is a keep-alive GET of path on target: in origin form for a
// direct connection, in absolute form (with credentials) through a proxy.
func getRequest(target, path string, p *proxySpec, closeConn bool) []byte {
	uri := path
	if p != nil {
		uri = "http://" + target + path
	}
	s := "GET " + uri + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if p != nil && p.auth != "" {
		s += "Proxy-Authorization: " + p.auth + "\r\n"
	}
	if closeConn {
		s += "Connection: close\r\n"
	}
	return []byte(s + "\r\n")
}

// egressClientMain runs the egress client with args (after
// egressClientCmd) and prints its clientResult; it returns the exit code.
func egressClientMain(args []string, stdout, stderr io.Writer) int {
	var o clientOptions
	fs := flag.NewFlagSet(egressClientCmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.proxy, "proxy", "", "proxy URL, "+proxyFromEnv+" for $HTTPS_PROXY, empty for none")
	fs.StringVar(&o.target, "target", "", "host:port of the egress server")
	fs.Int64Var(&o.bytes, "bytes", 0, "bytes to download through CONNECT")
	fs.IntVar(&o.requests, "requests", 0, "timed keep-alive requests")
	fs.IntVar(&o.tunnelRequests, "tunnel-requests", 0, "timed keep-alive requests inside a CONNECT tunnel (with a proxy only)")
	fs.IntVar(&o.freshRequests, "fresh-requests", 0, "timed requests each on a new connection, dial included (without a proxy only)")
	fs.IntVar(&o.warmup, "warmup", 0, "untimed requests first")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	res, err := runEgressClient(o, os.Getenv)
	if err != nil {
		res.Error = err.Error()
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintf(stderr, "bench: egress client: %v\n", err)
		return 1
	}
	if res.Error != "" {
		return 1
	}
	return 0
}

// runEgressClient measures what o asks for.
func runEgressClient(o clientOptions, getenv func(string) string) (clientResult, error) {
	var res clientResult
	if o.target == "" {
		return res, errors.New("no -target")
	}
	var p *proxySpec
	raw := o.proxy
	if raw == proxyFromEnv {
		var err error
		if raw, err = envProxy(getenv); err != nil {
			return res, err
		}
	}
	if raw != "" {
		ps, err := parseProxyURL(raw)
		if err != nil {
			return res, err
		}
		p = &ps
	}
	if o.bytes > 0 {
		n, d, err := download(o.target, p, o.bytes)
		res.Bytes, res.DownloadNS = n, int64(d)
		if err != nil {
			return res, fmt.Errorf("download: %w", err)
		}
	}
	if o.requests > 0 {
		addr := o.target
		if p != nil {
			addr = p.addr
		}
		open := func() (net.Conn, error) { return dialRetry(addr) }
		lat, reconnects, err := requestLatencies(open, getRequest(o.target, smallPath, p, false), o.warmup, o.requests)
		res.LatenciesNS, res.Reconnects = lat, reconnects
		if err != nil {
			return res, fmt.Errorf("requests: %w", err)
		}
	}
	if o.tunnelRequests > 0 && p != nil {
		open := func() (net.Conn, error) { return dialTunnel(o.target, p) }
		lat, reconnects, err := requestLatencies(open, getRequest(o.target, smallPath, nil, false), o.warmup, o.tunnelRequests)
		res.TunnelLatenciesNS = lat
		res.Reconnects += reconnects
		if err != nil {
			return res, fmt.Errorf("requests in a tunnel: %w", err)
		}
	}
	if o.freshRequests > 0 && p == nil {
		lat, err := freshLatencies(o.target, o.warmup, o.freshRequests)
		res.FreshLatenciesNS = lat
		if err != nil {
			return res, fmt.Errorf("requests on new connections: %w", err)
		}
	}
	return res, nil
}

// freshLatencies sends warmup+n GETs of smallPath to target, each on a
// new connection, and returns the time of each of the n timed ones from
// the dial to reading the last body byte.
func freshLatencies(target string, warmup, n int) ([]int64, error) {
	req := getRequest(target, smallPath, nil, true)
	lat := make([]int64, 0, n)
	discard := make([]byte, 4<<10)
	for i := range warmup + n {
		t0 := time.Now()
		c, err := net.DialTimeout("tcp", target, 10*time.Second)
		if err != nil {
			return lat, fmt.Errorf("request %d: dial: %w", i, err)
		}
		_, err = roundTrip(c, bufio.NewReaderSize(c, 4<<10), req, discard)
		d := time.Since(t0)
		c.Close()
		if err != nil {
			return lat, fmt.Errorf("request %d: %w", i, err)
		}
		if i >= warmup {
			lat = append(lat, int64(d))
		}
	}
	return lat, nil
}

// dialTunnel opens a CONNECT tunnel to target through p. The proxy's
// answer is read byte by byte, so that nothing after it is consumed.
func dialTunnel(target string, p *proxySpec) (net.Conn, error) {
	c, err := dialRetry(p.addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	if _, err := c.Write(connectRequest(target, p.auth)); err != nil {
		c.Close()
		return nil, fmt.Errorf("send CONNECT: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(byteReader{c}, 16), &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("read CONNECT response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("CONNECT %s: got %s, want 200", target, resp.Status)
	}
	return c, nil
}

// byteReader reads one byte at a time, so a bufio.Reader over it never
// reads past what it is asked for.
type byteReader struct{ r io.Reader }

func (b byteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return b.r.Read(p)
}

// dialRetry connects to addr, retrying refused connections for a short
// while: srt starts the in-sandbox end of its proxy bridge concurrently
// with the command, so the first connections can race it.
func dialRetry(addr string) (net.Conn, error) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// downloadBuffer is the read size of the download: large, so the client
// is not the bottleneck.
const downloadBuffer = 256 << 10

// download fetches n zero bytes from target, through a CONNECT tunnel when
// p is set, and returns the bytes read and the time from the dial to the
// last byte.
func download(target string, p *proxySpec, n int64) (int64, time.Duration, error) {
	start := time.Now()
	addr := target
	if p != nil {
		addr = p.addr
	}
	c, err := dialRetry(addr)
	if err != nil {
		return 0, 0, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	if p != nil {
		if _, err := c.Write(connectRequest(target, p.auth)); err != nil {
			return 0, 0, fmt.Errorf("send CONNECT: %w", err)
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		if err != nil {
			return 0, 0, fmt.Errorf("read CONNECT response: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("CONNECT %s: got %s, want 200", target, resp.Status)
		}
	}
	// Inside the tunnel the request is in origin form, as to the server.
	req := getRequest(target, zeroPath+"?n="+strconv.FormatInt(n, 10), nil, true)
	if _, err := c.Write(req); err != nil {
		return 0, 0, fmt.Errorf("send GET: %w", err)
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return 0, 0, fmt.Errorf("read response: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != n {
		return 0, 0, fmt.Errorf("GET: got %s with %d bytes, want 200 with %d", resp.Status, resp.ContentLength, n)
	}
	// Read the body straight into a large buffer: io.Copy to io.Discard
	// would read 8 KiB at a time.
	buf := make([]byte, downloadBuffer)
	var got int64
	for {
		k, err := resp.Body.Read(buf)
		got += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return got, time.Since(start), fmt.Errorf("read body after %d bytes: %w", got, err)
		}
	}
	d := time.Since(start)
	if got != n {
		return got, d, fmt.Errorf("got %d bytes, want %d", got, n)
	}
	return got, d, nil
}

// requestLatencies sends warmup+n copies of req on one keep-alive
// connection from open and returns the time of each of the n timed ones,
// from writing the request to reading the last body byte. When the far
// side closes the connection, the next request opens a new one (untimed)
// and it is counted as a reconnect.
func requestLatencies(open func() (net.Conn, error), req []byte, warmup, n int) ([]int64, int, error) {
	var c net.Conn
	var br *bufio.Reader
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	lat := make([]int64, 0, n)
	reconnects := 0
	discard := make([]byte, 4<<10)
	for i := range warmup + n {
		if c == nil {
			var err error
			if c, err = open(); err != nil {
				return lat, reconnects, err
			}
			br = bufio.NewReaderSize(c, 16<<10)
			if i > 0 {
				reconnects++
			}
		}
		t0 := time.Now()
		closed, err := roundTrip(c, br, req, discard)
		d := time.Since(t0)
		if err != nil {
			return lat, reconnects, fmt.Errorf("request %d: %w", i, err)
		}
		if i >= warmup {
			lat = append(lat, int64(d))
		}
		if closed {
			c.Close()
			c = nil
		}
	}
	return lat, reconnects, nil
}

// roundTrip sends req on c and reads the response from br, checking that
// it is smallBody. It reports whether the far side closes the connection
// after it.
func roundTrip(c net.Conn, br *bufio.Reader, req, discard []byte) (bool, error) {
	if _, err := c.Write(req); err != nil {
		return false, fmt.Errorf("send: %w", err)
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return false, fmt.Errorf("read response: %w", err)
	}
	defer resp.Body.Close()
	body := 0
	for {
		k, err := resp.Body.Read(discard)
		body += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, fmt.Errorf("read body: %w", err)
		}
	}
	if resp.StatusCode != http.StatusOK || body != len(smallBody) {
		return false, fmt.Errorf("got %s with %d bytes, want 200 with %d", resp.Status, body, len(smallBody))
	}
	return resp.Close, nil
}
