package proxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestCloseEndsEverything opens every kind of connection the proxy
// holds, closes the proxy, and checks that each client sees its
// connection end and that no goroutine is left.
func TestCloseEndsEverything(t *testing.T) {
	echo := echoServer(t, "tcp4", "127.0.0.1:0")
	port := portOf(t, echo.Addr().String())
	runtime.GC()
	base := runtime.NumGoroutine()

	e := newEnv(t, nil)
	var clients []net.Conn
	// An open CONNECT tunnel.
	c := dialProxy(t, e.httpAddr)
	fmt.Fprintf(c, "CONNECT a.test:%d HTTP/1.1\r\n\r\n", port)
	if resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "CONNECT"}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: got %v, %v", resp, err)
	}
	clients = append(clients, c)
	// An open SOCKS5 tunnel.
	c = dialProxy(t, e.socksAddr)
	socksGreet(t, c, socksAuthNone)
	if code := socksConnect(t, c, socksRequest{socksCmdConnect, socksATYPDomain, "a.test", port}); code != 0 {
		t.Fatalf("SOCKS: got reply %d", code)
	}
	clients = append(clients, c)
	// A half-sent request head and a half-done SOCKS handshake.
	c = dialProxy(t, e.httpAddr)
	io.WriteString(c, "GET http://a.test/ HTTP/1.1\r\n")
	clients = append(clients, c)
	c = dialProxy(t, e.socksAddr)
	c.Write([]byte{5, 1})
	clients = append(clients, c)
	// A request whose upstream never answers.
	silent := listen(t, "tcp4", "127.0.0.1:0")
	defer silent.Close()
	c = dialProxy(t, e.httpAddr)
	sp := portOf(t, silent.Addr().String())
	fmt.Fprintf(c, "POST http://a.test:%d/ HTTP/1.1\r\nHost: a.test:%d\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n", sp, sp)
	clients = append(clients, c)
	silent.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	up, err := silent.Accept()
	if err != nil {
		t.Fatalf("accept at the silent upstream: %v", err)
	}
	defer up.Close()

	if runtime.NumGoroutine() <= base {
		t.Fatalf("got %d goroutines with open connections, want more than the %d before", runtime.NumGoroutine(), base)
	}
	e.close()
	for i, c := range clients {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("client %d: got %v, want the connection closed by the proxy", i, err)
		}
	}
	if err := e.p.ServeHTTP(listen(t, "tcp4", "127.0.0.1:0")); err != ErrClosed {
		t.Errorf("ServeHTTP after Close: got %v, want ErrClosed", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("got %d goroutines after Close, want at most %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMaxConns(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxConns = 1 })
	first := dialProxy(t, e.httpAddr)
	io.WriteString(first, "GET") // held open by the proxy, waiting for the head
	second := dialProxy(t, e.httpAddr)
	second.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadAll(second); err != nil {
		t.Errorf("second connection over the limit: got %v, want it closed at once", err)
	}
	first.Close()
	// The slot is released: a new connection is served.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dialProxy(t, e.httpAddr)
		io.WriteString(c, "CONNECT evil.test:443 HTTP/1.1\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "CONNECT"})
		c.Close()
		if err == nil && resp.StatusCode == 403 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the first connection closed: got %v, %v, want 403", resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHeaderTimeout(t *testing.T) {
	for _, proxyKind := range []string{"http", "socks"} {
		t.Run(proxyKind, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.HeaderTimeout = 200 * time.Millisecond })
			addr := e.httpAddr
			if proxyKind == "socks" {
				addr = e.socksAddr
			}
			c := dialProxy(t, addr)
			io.WriteString(c, "G")
			start := time.Now()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadAll(c); err != nil {
				t.Fatalf("got %v, want the proxy to close a slow client", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("closed after %v, want about 200ms", d)
			}
		})
	}
}

// TestRecordSchema checks the JSON form of a Record against the Field
// constants.
func TestRecordSchema(t *testing.T) {
	fields := []string{FieldSchema, FieldEvent, FieldTime, FieldSandboxID, FieldClient, FieldProto, FieldMethod, FieldHost,
		FieldPort, FieldIP, FieldRule, FieldDecision, FieldReason, FieldHint, FieldTLS, FieldPath, FieldInjected, FieldError, FieldBytesUp,
		FieldBytesDown, FieldDurationMS}
	typ := reflect.TypeFor[Record]()
	if typ.NumField() != len(fields) {
		t.Fatalf("Record has %d fields, want %d Field constants", typ.NumField(), len(fields))
	}
	for i, want := range fields {
		tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if tag != want {
			t.Errorf("field %s: got json name %q, want %q", typ.Field(i).Name, tag, want)
		}
	}
	b, err := json.Marshal(Record{Schema: RecordSchema, Decision: DecisionDeny, Hint: "h"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m[FieldSchema] != float64(1) || m[FieldDecision] != "deny" || m[FieldHint] != "h" {
		t.Errorf("got %s, want schema 1, decision deny, hint h", b)
	}
	if _, ok := m[FieldError]; ok {
		t.Errorf("got %s, want error omitted when empty", b)
	}
}
