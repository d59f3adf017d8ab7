package scan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchTree writes n source-like files of about 3 KiB in directories of
// 100, one in 1000 with a credential, and returns the root and the bytes
// written.
func benchTree(b *testing.B, n int) (string, int64) {
	b.Helper()
	root := b.TempDir()
	var src strings.Builder
	for i := range 60 {
		fmt.Fprintf(&src, "func handler%d(w http.ResponseWriter, r *http.Request) { log.Printf(\"request %%s id=%%d\", r.URL.Path, %d) }\n", i, i)
	}
	body := src.String()
	var total int64
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("pkg%03d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		c := "package p\n\n" + body
		if i%1000 == 0 {
			c += "var apiKey = \"" + randFrom(b, b64, 32) + "\"\n"
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.go", i)), []byte(c), 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(len(c))
	}
	return root, total
}

// BenchmarkScan20000 scans a tree of 20,000 files outside git, so every
// file gets every check.
func BenchmarkScan20000(b *testing.B) {
	const n = 20000
	root, size := benchTree(b, n)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		rep, err := Scan(context.Background(), root, Options{DenyRead: defaultDeny})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Files != n || len(rep.Findings) != n/1000 {
			b.Fatalf("got %d files and %d findings, want %d and %d", rep.Files, len(rep.Findings), n, n/1000)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "files/s")
}
