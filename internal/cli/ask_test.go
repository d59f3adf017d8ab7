package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the prompter's writes.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAsker drives the prompter with keystrokes: answers, remembered
// answers, the timeout, and keystrokes forwarded when no question is open.
func TestAsker(t *testing.T) {
	cases := []struct {
		name  string
		keys  string
		asks  []string // destinations asked in order
		want  []bool
		again bool // ask the first destination once more afterwards, with no key
	}{
		{"once", "o", []string{"a.test"}, []bool{true}, false},
		{"deny", "d", []string{"a.test"}, []bool{false}, false},
		{"always is remembered", "a", []string{"a.test"}, []bool{true}, true},
		{"deny is remembered", "n", []string{"a.test"}, []bool{false}, true},
		{"no answer denies", "", []string{"a.test"}, []bool{false}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out syncBuffer
			k := newAsker(&out, 200*time.Millisecond)
			pr, pw := io.Pipe()
			go k.feed(pr, io.Discard)
			for i, dest := range c.asks {
				done := make(chan bool)
				go func() { done <- k.Ask(context.Background(), dest, 443) }()
				deadline := time.Now().Add(2 * time.Second)
				for !strings.Contains(out.String(), "allow?") && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if c.keys != "" {
					if _, err := pw.Write([]byte(c.keys)); err != nil {
						t.Fatal(err)
					}
				}
				if got := <-done; got != c.want[i] {
					t.Fatalf("Ask(%s): got %v, want %v (prompt %q)", dest, got, c.want[i], out.String())
				}
			}
			if c.again {
				if got := k.Ask(context.Background(), c.asks[0], 443); got != c.want[0] {
					t.Errorf("second Ask(%s): got %v, want the remembered %v", c.asks[0], got, c.want[0])
				}
			}
			pw.Close()
		})
	}
	t.Run("keystrokes outside a question reach the sandbox", func(t *testing.T) {
		var out, fwd syncBuffer
		k := newAsker(&out, time.Second)
		done := make(chan struct{})
		go func() { k.feed(strings.NewReader("ls\n"), &fwd); close(done) }()
		<-done
		if got := fwd.String(); got != "ls\n" {
			t.Errorf("forwarded: got %q, want %q", got, "ls\n")
		}
	})
}
