package proxy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// allowAll allows every name and address, so that fuzzed inputs reach the
// dialer whenever the parsers accept them.
type allowAll struct{}

func (allowAll) CheckName(host string, port int) (string, netip.Addr, Verdict) {
	if a, err := netip.ParseAddr(host); err == nil {
		return "", a, Verdict{Allow: true}
	}
	return strings.ToLower(host), netip.Addr{}, Verdict{Allow: true}
}

func (allowAll) CheckAddr(string, netip.Addr, int) Verdict { return Verdict{Allow: true} }

type anyResolver struct{}

func (anyResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return addrs("192.0.2.1"), nil
}

// fuzzProxy returns a proxy whose dialer records addresses and refuses
// every connection.
func fuzzProxy(tb testing.TB, token string) (*Proxy, func() []string) {
	var mu sync.Mutex // guards dialled
	var dialled []string
	p := New(Config{
		Policy:        func() Policy { return allowAll{} },
		Resolver:      anyResolver{},
		User:          testUser,
		Token:         token,
		HeaderTimeout: 2 * time.Second,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialled = append(dialled, addr)
			mu.Unlock()
			return nil, syscall.ECONNREFUSED
		},
	})
	tb.Cleanup(func() { p.Close() })
	return p, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := dialled
		dialled = nil
		return out
	}
}

// runConn feeds input to a connection handler over an in-memory pipe and
// returns once the handler has returned.
func runConn(handle func(net.Conn), input []byte) {
	srv, cli := net.Pipe()
	done := make(chan struct{})
	go func() {
		handle(srv)
		srv.Close()
		close(done)
	}()
	drained := make(chan struct{})
	go func() {
		io.Copy(io.Discard, cli)
		close(drained)
	}()
	cli.Write(input)
	cli.Close()
	<-done
	<-drained
}

// validTarget is an independent check of a CONNECT target, built on
// net.SplitHostPort: what the proxy may dial at most.
func validTarget(s string) (port int, ok bool) {
	host, ps, err := net.SplitHostPort(s)
	if err != nil || host == "" || strings.ContainsAny(host, "@/?#%\\ \t[]") {
		return 0, false
	}
	n, err := strconv.Atoi(ps)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != ps {
		return 0, false
	}
	if net.JoinHostPort(host, ps) != s {
		return 0, false
	}
	return n, true
}

func FuzzConnectTarget(f *testing.F) {
	p, dials := fuzzProxy(f, "")
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := parseConnectTarget(s)
		if err == nil {
			if vp, ok := validTarget(s); !ok || vp != port {
				t.Fatalf("parseConnectTarget(%q) = %q, %d; the independent check refuses it", s, host, port)
			}
			if got := net.JoinHostPort(host, strconv.Itoa(port)); got != s {
				t.Fatalf("parseConnectTarget(%q) = %q, %d, which joins back to %q", s, host, port, got)
			}
		}
		runConn(p.serveHTTPConn, []byte("CONNECT "+s+" HTTP/1.1\r\nHost: x\r\n\r\n"))
		d := dials()
		if len(d) == 0 {
			return
		}
		vp, ok := validTarget(s)
		if err != nil || !ok {
			t.Fatalf("CONNECT %q dialled %q; want no dial for a malformed target", s, d)
		}
		ap, perr := netip.ParseAddrPort(d[0])
		if len(d) != 1 || perr != nil || int(ap.Port()) != vp {
			t.Fatalf("CONNECT %q dialled %q; want one IP:port dial to port %d", s, d, vp)
		}
	})
}

// validSOCKS is an independent check of a no-auth SOCKS5 CONNECT
// exchange: the port the proxy may dial, if any.
func validSOCKS(in []byte) (port int, ok bool) {
	if len(in) < 2 || in[0] != 5 || len(in) < 2+int(in[1]) {
		return 0, false
	}
	if bytes.IndexByte(in[2:2+int(in[1])], 0) < 0 {
		return 0, false
	}
	r := in[2+int(in[1]):]
	if len(r) < 5 || r[0] != 5 || r[1] != 1 || r[2] != 0 {
		return 0, false
	}
	var rest []byte
	switch r[3] {
	case 1:
		rest = r[4:]
		if len(rest) < 6 {
			return 0, false
		}
		rest = rest[4:]
	case 4:
		rest = r[4:]
		if len(rest) < 18 {
			return 0, false
		}
		rest = rest[16:]
	case 3:
		n := int(r[4])
		if n == 0 || len(r) < 5+n+2 {
			return 0, false
		}
		for _, c := range r[5 : 5+n] {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._:", c) >= 0) {
				return 0, false
			}
		}
		rest = r[5+n:]
	default:
		return 0, false
	}
	port = int(rest[0])<<8 | int(rest[1])
	return port, port != 0
}

func FuzzSOCKSRequest(f *testing.F) {
	p, dials := fuzzProxy(f, "")
	f.Fuzz(func(t *testing.T, in []byte) {
		req, err := readSOCKSRequest(bytes.NewReader(in))
		if err == nil {
			enc := req.encode()
			if !bytes.HasPrefix(in, enc) {
				t.Fatalf("readSOCKSRequest(%x) = %+v, which encodes to %x", in, req, enc)
			}
			if req.port == 0 || req.host == "" {
				t.Fatalf("readSOCKSRequest(%x) accepted %+v", in, req)
			}
		}
		runConn(p.serveSOCKSConn, in)
		d := dials()
		if len(d) == 0 {
			return
		}
		vp, ok := validSOCKS(in)
		if !ok {
			t.Fatalf("SOCKS input %x dialled %q; want no dial for malformed input", in, d)
		}
		ap, perr := netip.ParseAddrPort(d[0])
		if len(d) != 1 || perr != nil || int(ap.Port()) != vp {
			t.Fatalf("SOCKS input %x dialled %q; want one IP:port dial to port %d", in, d, vp)
		}
	})
}

func FuzzRequestHead(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := readRequestHead(bufio.NewReader(bytes.NewReader(in)), 4096)
		if err != nil {
			return
		}
		if !isToken(h.method) || !isVisibleASCII(h.target) || (h.minor != 0 && h.minor != 1) {
			t.Fatalf("accepted a malformed request line: %+v", h)
		}
		te, cl := h.header["Transfer-Encoding"], h.header["Content-Length"]
		if len(te) > 0 && len(cl) > 0 {
			t.Fatalf("accepted both Transfer-Encoding and Content-Length: %q", in)
		}
		if h.chunked && (h.contentLength >= 0 || h.minor != 1) {
			t.Fatalf("inconsistent framing: %+v", h)
		}
		if len(cl) > 0 && h.contentLength < 0 {
			t.Fatalf("Content-Length %q ignored", cl)
		}
		for k, vs := range h.header {
			for _, v := range vs {
				if strings.ContainsAny(k+v, "\r\n\x00") {
					t.Fatalf("header %q: %q carries CR, LF or NUL", k, v)
				}
			}
		}
	})
}
