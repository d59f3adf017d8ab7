//go:build unix

package scan

import (
	"syscall"
	"testing"
)

// makeFIFO creates a named pipe: the walk must skip it without blocking.
func makeFIFO(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}
