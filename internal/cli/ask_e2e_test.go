package cli

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAskOnTerminal drives `airlock run --ask` through a real terminal
// (script(1) provides the pty): the command's first request to an unlisted
// destination is held while the question is on the terminal, the typed key
// answers it, and "always"/"deny" are remembered for the second request.
func TestAskOnTerminal(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("needs script(1) from util-linux to provide a terminal")
	}
	upstream := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { io.WriteString(rw, "upstream") })}
	ul, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go upstream.Serve(ul)
	t.Cleanup(func() { upstream.Close() })
	port := ul.Addr().(*net.TCPAddr).Port

	cases := []struct {
		key  string
		want string
	}{
		{"a", "first 200\nsecond 200\n"},
		{"d", "first 403\nsecond 403\n"},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			w := newWorkspace(t)
			inner := fmt.Sprintf(`%s run --ask --resolve ask.test:127.0.0.1 -- sh -c 'for n in first second; do curl -s -o /dev/null -w "$n %%{http_code}\n" http://ask.test:%d/; done'`, airlockBin, port)
			cmd := exec.Command("script", "-qec", inner, "/dev/null")
			cmd.Dir = w.Dir
			cmd.Env = []string{"HOME=" + w.Home, "PATH=/usr/local/bin:/usr/bin:/bin", "TERM=dumb"}
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex // guards out
			var out bytes.Buffer
			cmd.Stdout = writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill() })
			text := func() string { mu.Lock(); defer mu.Unlock(); return strings.ReplaceAll(out.String(), "\r", "") }
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(text(), "allow? [o]nce") {
				if time.Now().After(deadline) {
					t.Fatalf("no question on the terminal: %q", text())
				}
				time.Sleep(20 * time.Millisecond)
			}
			io.WriteString(stdin, c.key)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("airlock did not finish: %q", text())
			}
			got := text()
			if !strings.Contains(got, c.want) {
				t.Errorf("got %q, want it to contain %q", got, c.want)
			}
			if n := strings.Count(got, "allow? [o]nce"); n != 1 {
				t.Errorf("got %d questions, want 1 (the answer is remembered)", n)
			}
			stdin.Close()
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
