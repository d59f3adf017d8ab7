package session

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bigWorkspace fills dir with dirs*perDir small text files.
func bigWorkspace(b *testing.B, dir string, dirs, perDir int) {
	b.Helper()
	content := []byte(strings.Repeat("some line of source code\n", 20))
	for d := 0; d < dirs; d++ {
		sub := filepath.Join(dir, fmt.Sprintf("pkg%04d", d))
		if err := os.Mkdir(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := 0; f < perDir; f++ {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("file%03d.go", f)), content, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkBegin100k measures recording the base state of a workspace of
// 100,000 files (walk plus fsync'd manifest).
func BenchmarkBegin100k(b *testing.B) {
	requireRoot(b)
	e := newEnv(b)
	bigWorkspace(b, e.ws, 1000, 100)
	s, err := e.store.Create("", e.ws, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Begin(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.End(0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	st, _ := os.Stat(s.manifestPath())
	b.ReportMetric(float64(st.Size()), "manifest-bytes")
}

// BenchmarkDiff100k measures Changes plus WriteDiff on a 100,000-file
// workspace with 100 changed files.
func BenchmarkDiff100k(b *testing.B) {
	requireRoot(b)
	e := newEnv(b)
	bigWorkspace(b, e.ws, 1000, 100)
	s := e.newSession("")
	for i := 0; i < 100; i++ {
		p := fmt.Sprintf("pkg%04d/file%03d.go", i*10, i%100)
		upperWrite(b, s, p, strings.Repeat("some line of source code\n", 10)+"changed\n"+strings.Repeat("some line of source code\n", 10), 0o644)
	}
	e.end(s)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		changes, err := s.Changes(nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(changes) != 100 {
			b.Fatalf("got %d changes, want 100", len(changes))
		}
		if err := WriteDiff(io.Discard, s, changes, DiffOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply10k measures applying 10,000 changed files (5,000 edits,
// 5,000 new files in 100 directories).
func BenchmarkApply10k(b *testing.B) {
	requireRoot(b)
	e := newEnv(b)
	bigWorkspace(b, e.ws, 100, 50)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := e.newSession("")
		for d := 0; d < 100; d++ {
			for f := 0; f < 50; f++ {
				upperWrite(b, s, fmt.Sprintf("pkg%04d/file%03d.go", d, f), fmt.Sprintf("edited %d %d\n", i, f), 0o644)
				upperWrite(b, s, fmt.Sprintf("pkg%04d/new%d-%03d.go", d, i, f), "new\n", 0o644)
			}
		}
		e.end(s)
		b.StartTimer()
		rep, err := s.Apply(ApplyOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Applied) != 10000 {
			b.Fatalf("applied %d, want 10000", len(rep.Applied))
		}
	}
}
