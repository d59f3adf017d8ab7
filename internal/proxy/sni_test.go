package proxy

import (
	"bufio"
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// clientHello returns the first TLS record a Go client sends for sni.
func clientHello(t testing.TB, sni string) []byte {
	t.Helper()
	client, server := net.Pipe()
	defer server.Close()
	go func() {
		c := tls.Client(client, &tls.Config{ServerName: sni, InsecureSkipVerify: true}) // only the ClientHello is used
		_ = c.Handshake()
		client.Close()
	}()
	br := bufio.NewReaderSize(server, 5+maxTLSRecord)
	_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr, err := br.Peek(5)
	if err != nil {
		t.Fatal(err)
	}
	n := int(hdr[3])<<8 | int(hdr[4])
	rec, err := br.Peek(5 + n)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), rec...)
}

func TestParseClientHelloSNI(t *testing.T) {
	for _, name := range []string{"allowed.test", "a.b.example.com", "xn--bcher-kva.example"} {
		t.Run(name, func(t *testing.T) {
			got, err := parseClientHelloSNI(clientHello(t, name)[5:])
			if err != nil || got != name {
				t.Errorf("got %q, %v; want %q", got, err, name)
			}
		})
	}
	t.Run("no server name for an IP", func(t *testing.T) {
		// Go sends no SNI when ServerName is an IP address.
		got, err := parseClientHelloSNI(clientHello(t, "127.0.0.1")[5:])
		if err != nil || got != "" {
			t.Errorf("got %q, %v; want no name", got, err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		h := clientHello(t, "allowed.test")[5:]
		for _, n := range []int{0, 1, 10, 40, len(h) / 2} {
			if got, _ := parseClientHelloSNI(h[:n]); got != "" {
				t.Errorf("%d bytes: got %q, want nothing", n, got)
			}
		}
	})
}

func TestSNIMatches(t *testing.T) {
	cases := []struct {
		sni, target string
		want        bool
	}{
		{"allowed.test", "allowed.test", true},
		{"Allowed.Test.", "allowed.test", true},
		{"evil.test", "allowed.test", false},
		{"allowed.test", "127.0.0.1", false},
	}
	for _, c := range cases {
		if got := sniMatches(c.sni, c.target); got != c.want {
			t.Errorf("sniMatches(%q, %q): got %v, want %v", c.sni, c.target, got, c.want)
		}
	}
}

// TestPeekSNI: the bytes stay buffered for the tunnel; a client that
// sends nothing or something else is not held up as TLS.
func TestPeekSNI(t *testing.T) {
	hello := clientHello(t, "front.test")
	cases := []struct {
		name string
		send []byte
		want string
	}{
		{"tls", hello, "front.test"},
		{"ssh banner", []byte("SSH-2.0-OpenSSH_9.2\r\n"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			go func() { _, _ = a.Write(c.send) }()
			br := bufio.NewReaderSize(b, 5+maxTLSRecord)
			if got := peekSNI(b, br); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if got, _ := br.Peek(br.Buffered()); len(got) == 0 {
				t.Errorf("got no buffered bytes, want the client's bytes kept for the tunnel")
			}
		})
	}
}

func FuzzParseClientHelloSNI(f *testing.F) {
	f.Add(clientHello(f, "allowed.test")[5:])
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseClientHelloSNI(b) // must not panic
	})
}
