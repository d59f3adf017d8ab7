package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// bannerServer accepts connections and writes a banner first, as SMTP or
// MySQL servers do, then holds the connection open until the client ends.
func bannerServer(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "220 banner\r\n")
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return l
}

// connectTunnel opens a CONNECT tunnel through the proxy to a.test:port.
func connectTunnel(t *testing.T, e *env, port int) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := dialProxy(t, e.httpAddr)
	fmt.Fprintf(c, "CONNECT a.test:%d HTTP/1.1\r\nHost: a.test:%d\r\n\r\n", port, port)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: got %v, %v, want 200", resp, err)
	}
	return c, br
}

// TestTunnelServerSpeaksFirst: the SNI check waits for the client's first
// bytes, but only the client -> server direction waits; a server banner
// reaches a client that has sent nothing.
func TestTunnelServerSpeaksFirst(t *testing.T) {
	e := newEnv(t, nil)
	srv := bannerServer(t)
	c, br := connectTunnel(t, e, portOf(t, srv.Addr().String()))
	c.SetReadDeadline(time.Now().Add(sniWait / 2))
	line, err := br.ReadString('\n')
	if err != nil || line != "220 banner\r\n" {
		t.Fatalf("got %q, %v before the SNI wait ended, want the server's banner", line, err)
	}
}

// TestIdleTunnelHeap: an idle tunnel keeps no request buffers (16 KiB to
// read and 16 KiB to write per client connection). The heap it holds is
// measured over many tunnels; the bound is far below the 32 KiB the
// buffers alone would take.
func TestIdleTunnelHeap(t *testing.T) {
	const tunnels = 200
	e := newEnv(t, nil)
	echo := echoServer(t, "tcp4", "127.0.0.1:0")
	port := portOf(t, echo.Addr().String())
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	before := heap()
	conns := make([]net.Conn, 0, tunnels)
	for range tunnels {
		c, br := connectTunnel(t, e, port)
		// A byte through each tunnel, so each is past the SNI check and
		// relaying.
		io.WriteString(c, "x")
		if b, err := br.ReadByte(); err != nil || b != 'x' {
			t.Fatalf("tunnel echo: got %q, %v", b, err)
		}
		conns = append(conns, c)
	}
	perTunnel := (int64(heap()) - int64(before)) / tunnels
	t.Logf("heap per idle tunnel (proxy, echo server and test client together): %d bytes", perTunnel)
	if perTunnel > 24<<10 {
		t.Errorf("got %d bytes of heap per idle tunnel, want under 24 KiB: the tunnel keeps its request buffers", perTunnel)
	}
	for _, c := range conns {
		c.Close()
	}
}
