package secrets

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestAdversarialInputsAreFast checks that inputs built to trigger
// quadratic behaviour still finish quickly (a quadratic implementation
// takes minutes on these).
func TestAdversarialInputsAreFast(t *testing.T) {
	const n = 1 << 20
	periodic := strings.Repeat("a", 4096)
	r := NewRedactor(map[string][]byte{"P": []byte(periodic), "Q": []byte("ab")})
	d := NewDetector(map[string][]byte{"P": []byte(periodic + "b"), "Q": []byte("sk-ant-api03-abcdef")})
	tests := []struct {
		name string
		run  func()
	}{
		{"redact periodic", func() { r.String(strings.Repeat("a", n)) }},
		{"redact many begins", func() { r.String(strings.Repeat("-----BEGIN PRIVATE KEY-----\n", n/28)) }},
		{"redact many bearers", func() { r.String(strings.Repeat("Bearer ", n/7)) }},
		{"redact many short tokens", func() { r.String(strings.Repeat("sk-ant-x ", n/9)) }},
		{"writer byte by byte", func() {
			w := r.Writer(&bytes.Buffer{})
			for i := 0; i < n/4; i++ {
				w.Write([]byte{'x'})
			}
			w.Close()
		}},
		{"detect periodic", func() { d.Find(bytes.Repeat([]byte("a"), n)) }},
		{"detect percent", func() { d.Find(bytes.Repeat([]byte("%61"), n/3)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			tt.run()
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("took %v, want well under 5s", elapsed)
			}
		})
	}
}
