package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"slices"
	"testing"
)

// socksGreet sends a greeting offering methods and returns the chosen
// method.
func socksGreet(t *testing.T, c net.Conn, methods ...byte) byte {
	t.Helper()
	c.Write(append([]byte{5, byte(len(methods))}, methods...))
	var b [2]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatalf("read method selection: %v", err)
	}
	if b[0] != 5 {
		t.Fatalf("got version %d in method selection, want 5", b[0])
	}
	return b[1]
}

// socksLogin sends RFC 1929 credentials and returns the status.
func socksLogin(t *testing.T, c net.Conn, user, pass string) byte {
	t.Helper()
	msg := []byte{1, byte(len(user))}
	msg = append(msg, user...)
	msg = append(msg, byte(len(pass)))
	msg = append(msg, pass...)
	c.Write(msg)
	var b [2]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatalf("read auth status: %v", err)
	}
	return b[1]
}

// socksConnect sends a request and returns the reply code.
func socksConnect(t *testing.T, c net.Conn, req socksRequest) byte {
	t.Helper()
	c.Write(req.encode())
	var b [10]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatalf("read reply: %v", err)
	}
	if b[0] != 5 || b[3] != socksATYPIPv4 {
		t.Fatalf("got reply %x, want a SOCKS5 reply with an IPv4 bound address", b)
	}
	return b[1]
}

func TestSOCKS5Connect(t *testing.T) {
	e := newEnv(t, nil)
	echo4 := echoServer(t, "tcp4", "127.0.0.1:0")
	p4 := portOf(t, echo4.Addr().String())
	tests := []struct {
		name string
		req  socksRequest
		host string
		dial string
	}{
		{"domain", socksRequest{socksCmdConnect, socksATYPDomain, "a.test", p4}, "a.test", fmt.Sprintf("127.0.0.1:%d", p4)},
		{"domain in upper case", socksRequest{socksCmdConnect, socksATYPDomain, "A.TEST", p4}, "a.test", fmt.Sprintf("127.0.0.1:%d", p4)},
		{"IPv4", socksRequest{socksCmdConnect, socksATYPIPv4, "127.0.0.1", p4}, "127.0.0.1", fmt.Sprintf("127.0.0.1:%d", p4)},
	}
	if l, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		l.Close()
		echo6 := echoServer(t, "tcp6", "[::1]:0")
		p6 := portOf(t, echo6.Addr().String())
		tests = append(tests, struct {
			name string
			req  socksRequest
			host string
			dial string
		}{"IPv6", socksRequest{socksCmdConnect, socksATYPIPv6, "::1", p6}, "::1", fmt.Sprintf("[::1]:%d", p6)})
	} else {
		t.Logf("skipping the IPv6 case: no IPv6 loopback: %v", err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.dials.list())
			c := dialProxy(t, e.socksAddr)
			if m := socksGreet(t, c, socksAuthNone); m != socksAuthNone {
				t.Fatalf("got method %d, want no authentication", m)
			}
			if code := socksConnect(t, c, tt.req); code != socksSucceeded {
				t.Fatalf("got reply %d, want success", code)
			}
			io.WriteString(c, "ping")
			c.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(c)
			if err != nil || string(got) != "ping" {
				t.Errorf("got echo %q, %v, want ping", got, err)
			}
			if d := e.dials.list()[before:]; !slices.Equal(d, []string{tt.dial}) {
				t.Errorf("got dials %q, want %q", d, tt.dial)
			}
			r := e.audit.wait(t, i+1)[i]
			if r.Proto != ProtoSOCKS5 || r.Method != "CONNECT" || r.Host != tt.host || r.Decision != DecisionAllow || r.BytesUp != 4 || r.BytesDown != 4 {
				t.Errorf("got record %+v, want a socks5 allow for %s with 4 bytes each way", r, tt.host)
			}
		})
	}
}

func TestSOCKS5Refusals(t *testing.T) {
	e := newEnv(t, nil)
	closed := closedPort(t)
	e.res.set("private.test", addrs("10.0.0.1"))
	tests := []struct {
		name string
		req  socksRequest
		code byte
		rule string
	}{
		{"BIND", socksRequest{socksCmdBind, socksATYPIPv4, "127.0.0.1", 80}, socksCmdNotSupported, RuleUnsupported},
		{"UDP ASSOCIATE", socksRequest{socksCmdUDPAssociate, socksATYPIPv4, "127.0.0.1", 80}, socksCmdNotSupported, RuleUnsupported},
		{"unknown command", socksRequest{9, socksATYPIPv4, "127.0.0.1", 80}, socksCmdNotSupported, RuleUnsupported},
		{"denied name", socksRequest{socksCmdConnect, socksATYPDomain, "evil.test", 443}, socksNotAllowed, "deny:evil.test"},
		{"denied address", socksRequest{socksCmdConnect, socksATYPDomain, "private.test", 443}, socksNotAllowed, "addr:private"},
		{"unresolvable name", socksRequest{socksCmdConnect, socksATYPDomain, "v6.test", 443}, socksHostUnreachable, "allow:v6.test"},
		{"connection refused", socksRequest{socksCmdConnect, socksATYPIPv4, "127.0.0.1", closed}, socksConnRefused, "literal"},
		{"malformed name", socksRequest{socksCmdConnect, socksATYPDomain, "a.test/x", 443}, socksGeneralFailure, RuleBadRequest},
		// Numeric spellings go to the policy, which reads them as addresses.
		{"numeric name", socksRequest{socksCmdConnect, socksATYPDomain, "127.1", 443}, socksNotAllowed, "default"},
		{"port 0", socksRequest{socksCmdConnect, socksATYPIPv4, "127.0.0.1", 0}, socksGeneralFailure, RuleBadRequest},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialProxy(t, e.socksAddr)
			socksGreet(t, c, socksAuthNone)
			if code := socksConnect(t, c, tt.req); code != tt.code {
				t.Errorf("got reply %#x, want %#x", code, tt.code)
			}
			if r := e.audit.wait(t, i+1)[i]; r.Rule != tt.rule {
				t.Errorf("got record %+v, want rule %q", r, tt.rule)
			}
		})
	}
	if got := e.res.count("evil.test"); got != 0 {
		t.Errorf("got %d lookups of evil.test, want 0", got)
	}
	if d := e.dials.list(); !slices.Equal(d, []string{fmt.Sprintf("127.0.0.1:%d", closed)}) {
		t.Errorf("got dials %q, want only the refused one", d)
	}

	t.Run("unsupported address type", func(t *testing.T) {
		c := dialProxy(t, e.socksAddr)
		socksGreet(t, c, socksAuthNone)
		c.Write([]byte{5, 1, 0, 9, 1, 2, 3, 4, 0, 80})
		var b [10]byte
		if _, err := io.ReadFull(c, b[:]); err != nil || b[1] != socksATYPNotSupported {
			t.Errorf("got reply %x, %v, want code 0x08", b, err)
		}
	})
	t.Run("SOCKS4", func(t *testing.T) {
		c := dialProxy(t, e.socksAddr)
		c.Write([]byte{4, 1, 0, 80, 127, 0, 0, 1, 0})
		got, err := io.ReadAll(c)
		if err != nil || !bytes.Equal(got, []byte{0, 0x5b, 0, 0, 0, 0, 0, 0}) {
			t.Errorf("got %x, %v, want a SOCKS4 reject (00 5b ...) then close", got, err)
		}
	})
	t.Run("SOCKS4a", func(t *testing.T) {
		c := dialProxy(t, e.socksAddr)
		c.Write([]byte("\x04\x01\x00\x50\x00\x00\x00\x01\x00a.test\x00"))
		got, _ := io.ReadAll(c)
		if !bytes.Equal(got, []byte{0, 0x5b, 0, 0, 0, 0, 0, 0}) {
			t.Errorf("got %x, want a SOCKS4 reject", got)
		}
		if n := e.res.count("a.test"); n != 0 {
			t.Errorf("got %d lookups of a.test, want 0", n)
		}
	})
	if d := e.dials.list(); len(d) != 1 {
		t.Errorf("got dials %q, want no more", d)
	}
}

func TestSOCKS5Auth(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.User, c.Token = testUser, testToken })
	echo := echoServer(t, "tcp4", "127.0.0.1:0")
	port := portOf(t, echo.Addr().String())

	t.Run("no-auth only is refused", func(t *testing.T) {
		c := dialProxy(t, e.socksAddr)
		if m := socksGreet(t, c, socksAuthNone); m != 0xff {
			t.Errorf("got method %#x, want 0xff (no acceptable method)", m)
		}
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("got %v, want EOF", err)
		}
	})
	for _, tt := range []struct {
		name, user, pass string
		status           byte
	}{
		{"wrong password", testUser, "nope", 1},
		{"wrong user", "x", testToken, 1},
		{"empty password", testUser, "", 1},
		{"right credentials", testUser, testToken, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dialProxy(t, e.socksAddr)
			if m := socksGreet(t, c, socksAuthNone, socksAuthPassword); m != socksAuthPassword {
				t.Fatalf("got method %#x, want username/password", m)
			}
			if st := socksLogin(t, c, tt.user, tt.pass); st != tt.status {
				t.Fatalf("got status %d, want %d", st, tt.status)
			}
			if tt.status != 0 {
				if _, err := c.Read(make([]byte, 1)); err != io.EOF {
					t.Errorf("got %v after a failed login, want EOF", err)
				}
				return
			}
			if code := socksConnect(t, c, socksRequest{socksCmdConnect, socksATYPDomain, "a.test", port}); code != 0 {
				t.Errorf("got reply %d, want success", code)
			}
		})
	}
	recs := e.audit.wait(t, 5)
	auth := 0
	for _, r := range recs {
		if r.Rule == RuleAuth && r.Decision == DecisionDeny {
			auth++
		}
	}
	if auth != 4 {
		t.Errorf("got %d auth denials, want 4: %+v", auth, recs)
	}
}

func TestSOCKSRequestEncodeRoundTrip(t *testing.T) {
	for _, req := range []socksRequest{
		{socksCmdConnect, socksATYPDomain, "a.test", 443},
		{socksCmdConnect, socksATYPIPv4, "192.0.2.1", 1},
		{socksCmdBind, socksATYPIPv6, "2001:db8::1", 65535},
	} {
		t.Run(req.host, func(t *testing.T) {
			got, err := readSOCKSRequest(bytes.NewReader(req.encode()))
			if err != nil || got != req {
				t.Errorf("got %+v, %v, want %+v", got, err, req)
			}
		})
	}
}
