package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/airlock-sandbox/airlock/internal/egress"
	"github.com/airlock-sandbox/airlock/internal/inject"
	"github.com/airlock-sandbox/airlock/internal/mitm"
	"github.com/airlock-sandbox/airlock/internal/policy"
	"github.com/airlock-sandbox/airlock/internal/proxy"
)

// Contenders of the TLS phase.
const (
	tlsDirect    = "direct HTTPS"
	tlsTunnel    = "CONNECT tunnel (TLS end to end)"
	tlsTerminate = "terminated, key injected"
)

// Section is a report section a phase renders itself.
type Section struct {
	Title string
	Body  string // markdown
}

// tlsPhase measures what TLS termination with credential injection costs:
// keep-alive request latency and download throughput, direct, through a
// plain CONNECT tunnel, and terminated with a header swapped. The proxy
// runs in this process, on the same code `airlock run` uses, so client,
// proxy and server share the machine's cores as in a real run.
func tlsPhase(reqs, rounds int, size int64) (Section, []string, error) {
	var notes []string
	srv, roots, err := startTLSBenchServer(size)
	if err != nil {
		return Section{}, nil, err
	}
	defer srv.Close()
	port := srv.Addr().(*net.TCPAddr).Port
	target := "https://" + egressHost + ":" + strconv.Itoa(port)

	net1 := policy.Network{AllowDomains: []string{egressHost + ":" + strconv.Itoa(port)}, AllowCIDRs: []string{"127.0.0.1/32:" + strconv.Itoa(port)}}
	pol, err := egress.Compile(net1)
	if err != nil {
		return Section{}, nil, err
	}
	pins := map[string][]netip.Addr{egressHost: {netip.MustParseAddr("127.0.0.1")}}
	pol = pol.WithPins(pins)
	const real, ph = "sk-ant-api03-BENCHREALVALUE0123456789", "sk-ant-api03-BENCHPLACEHOLD9876543210"
	inj, err := inject.New(inject.Config{Secrets: []inject.Secret{{Name: "BENCH_KEY", Value: []byte(real), Placeholder: []byte(ph),
		Allows: func(h string, _ int) bool { return h == egressHost }}}})
	if err != nil {
		return Section{}, nil, err
	}
	ca, err := mitm.NewCA([]string{egressHost}, time.Hour)
	if err != nil {
		return Section{}, nil, err
	}
	start := func(withTLS bool) (*proxy.Proxy, string, error) {
		cfg := proxy.Config{Policy: func() proxy.Policy { return benchPolicy{pol} }, Static: pins}
		if withTLS {
			cfg.Inject = inj
			cfg.TLS = &proxy.Terminator{Hosts: func(string, int) bool { return true }, Leaf: ca.Leaf, Roots: roots}
		}
		p := proxy.New(cfg)
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, "", err
		}
		go p.ServeHTTP(l)
		return p, "http://" + l.Addr().String(), nil
	}
	tunnel, tunnelURL, err := start(false)
	if err != nil {
		return Section{}, nil, err
	}
	defer tunnel.Close()
	term, termURL, err := start(true)
	if err != nil {
		return Section{}, nil, err
	}
	defer term.Close()

	caPool := x509.NewCertPool()
	caPool.AppendCertsFromPEM(ca.CertPEM())
	client := func(proxyURL string, pool *x509.CertPool) *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 1, DisableCompression: true}
		if proxyURL != "" {
			u, _ := url.Parse(proxyURL)
			tr.Proxy = http.ProxyURL(u)
		} else {
			tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+strconv.Itoa(port))
			}
		}
		return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	}
	type contender struct {
		name   string
		c      *http.Client
		header string
		lat    []time.Duration
		rates  []float64
	}
	cs := []*contender{
		{name: tlsDirect, c: client("", roots), header: real},
		{name: tlsTunnel, c: client(tunnelURL, roots), header: real},
		{name: tlsTerminate, c: client(termURL, caPool), header: ph},
	}
	get := func(c *contender, path string) (int64, error) {
		req, _ := http.NewRequest("GET", target+path, nil)
		req.Header.Set("X-Api-Key", c.header)
		resp, err := c.c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("status %s", resp.Status)
		}
		return n, err
	}
	for _, c := range cs {
		for range 50 {
			if _, err := get(c, "/small"); err != nil {
				return Section{}, nil, fmt.Errorf("%s warm-up: %w", c.name, err)
			}
		}
	}
	for r := range rounds {
		for j := range cs {
			c := cs[(r+j)%len(cs)]
			for range reqs / rounds {
				t0 := time.Now()
				if _, err := get(c, "/small"); err != nil {
					return Section{}, nil, fmt.Errorf("%s: %w", c.name, err)
				}
				c.lat = append(c.lat, time.Since(t0))
			}
			t0 := time.Now()
			n, err := get(c, "/big")
			if err != nil {
				return Section{}, nil, fmt.Errorf("%s download: %w", c.name, err)
			}
			c.rates = append(c.rates, float64(n)/time.Since(t0).Seconds())
		}
	}

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("The proxy runs inside the harness (the same `internal/proxy` code `airlock run` serves the sandbox with), between a Go client and a Go TLS server on 127.0.0.1; all three share the machine's %d cores. %d keep-alive requests of a 100-byte body per contender, and %d downloads of %s, interleaved round-robin over %d rounds. The terminated contender sends a placeholder that the proxy swaps for the real key; the server refuses any other key.\n\n",
		runtime.NumCPU(), len(cs[0].lat), rounds, formatBytes(size), rounds)
	d := cs[0]
	p("| contender | p50 | p99 | added p50 | added p99 | download (median) | vs direct |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, c := range cs {
		p50, p99 := percentile(c.lat, 50), percentile(c.lat, 99)
		add50, add99, ratio := "", "", ""
		if c != d {
			add50, add99 = formatMicros(p50-percentile(d.lat, 50)), formatMicros(p99-percentile(d.lat, 99))
			ratio = fmt.Sprintf("%.0f%%", 100*medianFloat(c.rates)/medianFloat(d.rates))
		}
		p("| %s | %s | %s | %s | %s | %s | %s |\n", c.name, formatMicros(p50), formatMicros(p99), add50, add99, formatRate(medianFloat(c.rates)), ratio)
	}
	p("\n")
	return Section{Title: "TLS termination and credential injection", Body: b.String()}, notes, nil
}

// benchPolicy presents the egress engine to the proxy.
type benchPolicy struct{ p *egress.Policy }

func (a benchPolicy) CheckName(host string, port int) (string, netip.Addr, proxy.Verdict) {
	name, lit, v := a.p.CheckName(host, port)
	return name, lit, proxy.Verdict(v)
}

func (a benchPolicy) CheckAddr(name string, ip netip.Addr, port int) proxy.Verdict {
	return proxy.Verdict(a.p.CheckAddr(name, ip, port))
}

// startTLSBenchServer serves /small (100 bytes) and /big (size bytes) over
// TLS with a certificate for egressHost from a CA of its own, and demands
// the real key.
func startTLSBenchServer(size int64) (net.Listener, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: egressHost}, DNSNames: []string{egressHost},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	chunk := make([]byte, 256<<10)
	small := []byte(strings.Repeat("x", 100))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("X-Api-Key"), "sk-ant-api03-BENCHREAL") {
			http.Error(w, "bad key", http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/small" {
			w.Write(small)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		for left := size; left > 0; {
			n := min(left, int64(len(chunk)))
			if _, err := w.Write(chunk[:n]); err != nil {
				return
			}
			left -= n
		}
	})
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	tl := tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, NextProtos: []string{"http/1.1"}})
	go (&http.Server{Handler: h}).Serve(tl)
	return tl, roots, nil
}
