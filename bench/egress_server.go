package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// egressServer is the destination of the egress benchmark, on loopback in
// the harness process: an HTTP server (zeroPath streams zeros, smallPath
// answers a small body) and a "hold" listener that greets each connection
// with one byte and keeps it open until the far side closes it, the
// upstream end of the idle tunnels.
type egressServer struct {
	httpL, holdL net.Listener
	srv          *http.Server

	mu   sync.Mutex
	held map[net.Conn]struct{} // open hold connections; guarded by mu
	wg   sync.WaitGroup        // hold goroutines
}

// holdGreeting is the byte the hold listener sends first, so a client can
// tell that its tunnel reaches the server.
const holdGreeting = 'h'

// zeroChunk is what the zero handler writes per call.
var zeroChunk = make([]byte, 256<<10)

// startEgressServer listens on two loopback ports and serves them.
func startEgressServer() (*egressServer, error) {
	httpL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	holdL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		httpL.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &egressServer{httpL: httpL, holdL: holdL, held: map[net.Conn]struct{}{}}
	mux := http.NewServeMux()
	mux.HandleFunc(zeroPath, serveZeros)
	mux.HandleFunc(smallPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(smallBody)))
		io.WriteString(w, smallBody)
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: time.Minute}
	go s.srv.Serve(httpL)
	go s.acceptHold()
	return s, nil
}

// serveZeros answers ?n=BYTES with that many zero bytes.
func serveZeros(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
	if err != nil || n < 0 {
		http.Error(w, "bad n", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.Header().Set("Content-Type", "application/octet-stream")
	for n > 0 {
		k := min(n, int64(len(zeroChunk)))
		if _, err := w.Write(zeroChunk[:k]); err != nil {
			return
		}
		n -= k
	}
}

func (s *egressServer) acceptHold() {
	for {
		c, err := s.holdL.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		s.held[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			if _, err := c.Write([]byte{holdGreeting}); err == nil {
				_, _ = io.Copy(io.Discard, c)
			}
			c.Close()
			s.mu.Lock()
			delete(s.held, c)
			s.mu.Unlock()
		}()
	}
}

// httpPort and holdPort are the ports the server listens on.
func (s *egressServer) httpPort() int { return s.httpL.Addr().(*net.TCPAddr).Port }
func (s *egressServer) holdPort() int { return s.holdL.Addr().(*net.TCPAddr).Port }

// heldConns is how many hold connections are open.
func (s *egressServer) heldConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

// close stops both listeners and closes every open connection.
func (s *egressServer) close() {
	s.srv.Close()
	s.holdL.Close()
	s.mu.Lock()
	for c := range s.held {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
