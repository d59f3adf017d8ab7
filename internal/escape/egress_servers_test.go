package escape

// Test servers of the egress suite (egress_test.go, egress_proxy_test.go):
// an HTTP(S) server that records every connection and request, a UDP sink,
// and a small DNS server. All listen on the host's loopback only, on ports
// the kernel picks, and stop when the test ends. Names start with eg so they
// cannot collide with the other suites' helpers.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// egBlobSize is the size of the body /blob serves, for the byte counts of
// the audit record.
const egBlobSize = 100000

// egHit is one request a test server received.
type egHit struct {
	Method, Host, Path, Body string
	SNI                      string // TLS server name the client sent ("" without TLS)
}

// egServer is an HTTP (or HTTPS) server on the host's loopback that records
// every connection it accepts and every request it serves. It listens on
// 127.0.0.1 and, when it could get the same port there, on ::1 too.
type egServer struct {
	Name string
	Port int
	V6   bool // also listening on [::1]:Port

	conns atomic.Int64 // TCP connections accepted, on either address

	mu   sync.Mutex // guards hits
	hits []egHit
}

// egStartServer starts an egServer; with useTLS it serves HTTPS with a
// self-signed certificate for any name.
func egStartServer(t *testing.T, name string, useTLS bool) *egServer {
	t.Helper()
	s := &egServer{Name: name}
	var ls []net.Listener
	for i := 0; i < 20 && len(ls) == 0; i++ {
		l4, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l4.Addr().(*net.TCPAddr).Port
		l6, err := net.Listen("tcp", fmt.Sprintf("[::1]:%d", port))
		if err != nil {
			if i < 19 {
				l4.Close()
				continue
			}
			ls = []net.Listener{l4} // no IPv6 loopback, or no free twin port
		} else {
			ls = []net.Listener{l4, l6}
			s.V6 = true
		}
		s.Port = port
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(s.serve),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		},
	}
	var cfg *tls.Config
	if useTLS {
		cfg = &tls.Config{Certificates: []tls.Certificate{egSelfSigned(t)}}
	}
	for _, l := range ls {
		if cfg != nil {
			l = tls.NewListener(l, cfg)
		}
		go func() { _ = srv.Serve(l) }()
	}
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *egServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	h := egHit{Method: r.Method, Host: r.Host, Path: r.URL.Path, Body: string(body)}
	if r.TLS != nil {
		h.SNI = r.TLS.ServerName
	}
	s.mu.Lock()
	s.hits = append(s.hits, h)
	s.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/ws") && strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		s.serveEcho(w)
	case r.URL.Path == "/blob":
		w.Header().Set("Content-Length", fmt.Sprint(egBlobSize))
		_, _ = w.Write([]byte(strings.Repeat("b", egBlobSize)))
	default:
		fmt.Fprintf(w, "hello from %s %s\n", s.Name, r.URL.Path)
	}
}

// serveEcho switches to a raw echo protocol (the stand-in for WebSocket
// frames): it answers 101 and echoes whatever arrives, for a few seconds.
func (s *egServer) serveEcho(w http.ResponseWriter) {
	c, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	_ = rw.Flush()
	buf := make([]byte, 512)
	for {
		n, err := rw.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Conns is the number of TCP connections the server accepted.
func (s *egServer) Conns() int64 { return s.conns.Load() }

// Hits returns the requests received for path.
func (s *egServer) Hits(path string) []egHit {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []egHit
	for _, h := range s.hits {
		if h.Path == path {
			out = append(out, h)
		}
	}
	return out
}

// AllHits returns every request received.
func (s *egServer) AllHits() []egHit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]egHit(nil), s.hits...)
}

// egSelfSigned makes a throwaway certificate (clients use -k or skip
// verification: the tests are about where bytes go, not about PKI).
func egSelfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "egress-test"},
		DNSNames:     []string{"allowed.test", "evil.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// egUDPSink counts the datagrams sent to it and answers each with "pong".
type egUDPSink struct {
	Port int
	n    atomic.Int64
}

func egStartUDPSink(t *testing.T) *egUDPSink {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	s := &egUDPSink{Port: pc.LocalAddr().(*net.UDPAddr).Port}
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			s.n.Add(1)
			_, _ = pc.WriteTo([]byte("pong"), from)
		}
	}()
	return s
}

// Count is the number of datagrams received.
func (s *egUDPSink) Count() int64 { return s.n.Load() }

// DNS constants (RFC 1035).
const (
	egDNSTypeA    = 1
	egDNSTypeAAAA = 28
	egDNSClassIN  = 1
)

// egDNS is a small authoritative DNS server over UDP on the host's
// loopback. It answers A and AAAA questions from a table; a name can have a
// sequence of answers, one per lookup, the last one repeating ("answer X
// first, then Y": DNS rebinding). Unknown names get NXDOMAIN. It counts
// the questions per name and type.
type egDNS struct {
	Addr string // 127.0.0.1:PORT

	mu      sync.Mutex                // guards answers and queries
	answers map[string][][]netip.Addr // lowercase name without the final dot -> answer per lookup
	queries map[string]int            // "name/A" or "name/AAAA" -> questions so far
}

func egStartDNS(t *testing.T) *egDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	d := &egDNS{Addr: pc.LocalAddr().String(), answers: map[string][][]netip.Addr{}, queries: map[string]int{}}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp, err := d.answer(buf[:n]); err == nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return d
}

// Set gives name its answers, one per lookup; the last repeats.
func (d *egDNS) Set(name string, answers ...[]netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.answers[strings.ToLower(name)] = answers
}

// Queries is the number of questions of type qtype ("A" or "AAAA") for
// name so far.
func (d *egDNS) Queries(name, qtype string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries[strings.ToLower(name)+"/"+qtype]
}

// Total is the number of questions of any type for any name.
func (d *egDNS) Total() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.queries {
		n += c
	}
	return n
}

// answer parses one query (header, one question; additional records such
// as EDNS0 OPT are ignored) and builds the response.
func (d *egDNS) answer(q []byte) ([]byte, error) {
	if len(q) < 12 {
		return nil, errors.New("short header")
	}
	if q[2]&0x80 != 0 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil, errors.New("not a single-question query")
	}
	var labels []string
	off := 12
	for {
		if off >= len(q) {
			return nil, errors.New("truncated name")
		}
		l := int(q[off])
		off++
		if l == 0 {
			break
		}
		if l > 63 || off+l > len(q) {
			return nil, errors.New("bad label")
		}
		labels = append(labels, string(q[off:off+l]))
		off += l
	}
	if off+4 > len(q) {
		return nil, errors.New("truncated question")
	}
	qtype := binary.BigEndian.Uint16(q[off : off+2])
	question := q[12 : off+4]
	name := strings.ToLower(strings.Join(labels, "."))

	d.mu.Lock()
	typeName := fmt.Sprint(qtype)
	switch qtype {
	case egDNSTypeA:
		typeName = "A"
	case egDNSTypeAAAA:
		typeName = "AAAA"
	}
	key := name + "/" + typeName
	i := d.queries[key]
	d.queries[key]++
	seq, known := d.answers[name]
	var addrs []netip.Addr
	if len(seq) > 0 {
		addrs = seq[min(i, len(seq)-1)]
	}
	d.mu.Unlock()

	var ans [][]byte
	for _, a := range addrs {
		switch {
		case qtype == egDNSTypeA && a.Is4():
			ans = append(ans, a.AsSlice())
		case qtype == egDNSTypeAAAA && a.Is6():
			ans = append(ans, a.AsSlice())
		}
	}
	resp := make([]byte, 12, 512)
	copy(resp, q[:2])          // ID
	resp[2] = 0x84 | q[2]&0x01 // QR, AA, RD copied
	resp[3] = 0x80             // RA, NOERROR
	if !known {
		resp[3] |= 3 // NXDOMAIN
	}
	binary.BigEndian.PutUint16(resp[4:], 1)
	binary.BigEndian.PutUint16(resp[6:], uint16(len(ans)))
	resp = append(resp, question...)
	for _, rdata := range ans {
		typ := uint16(egDNSTypeA)
		if len(rdata) == 16 {
			typ = egDNSTypeAAAA
		}
		resp = append(resp, 0xc0, 12) // pointer to the question's name
		resp = binary.BigEndian.AppendUint16(resp, typ)
		resp = binary.BigEndian.AppendUint16(resp, egDNSClassIN)
		resp = binary.BigEndian.AppendUint32(resp, 0) // TTL 0: never cache
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
		resp = append(resp, rdata...)
	}
	return resp, nil
}

// Resolver returns a pure-Go resolver that sends every query to d.
func (d *egDNS) Resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "udp", d.Addr)
		},
	}
}

// egAddrs parses addresses.
func egAddrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// egParseResponse parses a raw HTTP response the probe read.
func egParseResponse(raw string) (*http.Response, string, error) {
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
	if err != nil {
		return nil, "", fmt.Errorf("parse response %q: %w", raw, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body), nil
}
