package scan

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a file system")
	}
}

// TestScanDoesNotCrossMounts mounts a tmpfs holding a credential inside the
// tree: the walk must not enter it. The control scans the same content
// without the mount.
func TestScanDoesNotCrossMounts(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	mnt := filepath.Join(root, "mnt")
	content := map[string]string{"mnt/.env": "API_TOKEN=" + randFrom(t, alnum, 30) + "\n", "top.env": "API_TOKEN=" + randFrom(t, alnum, 30) + "\n"}

	t.Run("control without the mount", func(t *testing.T) {
		writeTree(t, root, content)
		rep, err := Scan(context.Background(), root, Options{})
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		if got, want := findingSet(rep.Findings), []string{"mnt/.env dotenv", "top.env dotenv"}; !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	if err := os.RemoveAll(mnt); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	writeTree(t, root, content)
	rep, err := Scan(context.Background(), root, Options{})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if got, want := findingSet(rep.Findings), []string{"top.env dotenv"}; !slices.Equal(got, want) {
		t.Errorf("with a mount: got %q, want %q", got, want)
	}
	if rep.Files != 1 {
		t.Errorf("Files: got %d, want 1", rep.Files)
	}
}
