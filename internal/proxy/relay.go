package proxy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// relay copies client -> upstream and upstream -> client until both
// directions end, then closes both connections. clientPending and
// upstreamPending are bytes already read from each side (buffered by a
// parser) that go first. When one side ends its stream, the other side's
// write half is shut (CloseWrite) so half-closed protocols work; an error
// in either direction closes both. Between two *net.TCPConn, io.Copy uses
// splice(2) on Linux, so the payload is not copied through user space.
// It returns the bytes written to each side.
func relay(client net.Conn, clientPending []byte, upstream net.Conn, upstreamPending []byte) (up, down int64) {
	up, down, _ = relayGated(client, upstream, upstreamPending, func() ([]byte, bool) { return clientPending, true })
	return up, down
}

// relayGated is relay with the client -> upstream direction held until
// gate returns. gate may read from the client (the TLS ClientHello) and
// returns the client bytes to send first, or ok=false to refuse: then
// nothing the client sent reaches the upstream, and both connections are
// closed. Upstream -> client runs from the start, so protocols where the
// server speaks first are not delayed by the gate.
func relayGated(client, upstream net.Conn, upstreamPending []byte, gate func() (pending []byte, ok bool)) (up, down int64, refused bool) {
	var wg sync.WaitGroup
	var once sync.Once
	abort := func() {
		once.Do(func() {
			client.Close()
			upstream.Close()
		})
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		down = copyHalf(client, upstream, upstreamPending, abort)
	}()
	pending, ok := gate()
	if !ok {
		abort()
		wg.Wait()
		return 0, down, true
	}
	up = copyHalf(upstream, client, pending, abort)
	wg.Wait()
	abort()
	return up, down, false
}

// copyHalf copies pending then src to dst, and shuts dst's write half at
// the end of src. On an error it calls abort.
func copyHalf(dst, src net.Conn, pending []byte, abort func()) int64 {
	var n int64
	if len(pending) > 0 {
		w, err := dst.Write(pending)
		n += int64(w)
		if err != nil {
			abort()
			return n
		}
	}
	w, err := io.Copy(dst, src)
	n += w
	if err != nil {
		abort()
		return n
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); !ok || cw.CloseWrite() != nil {
		abort()
	}
	return n
}

// countConn counts the bytes read from and written to a connection.
// Reads and writes may happen on different goroutines.
type countConn struct {
	net.Conn
	read, written atomic.Int64
}

func (c *countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

func (c *countConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.written.Add(int64(n))
	return n, err
}
