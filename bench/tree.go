package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Tree layout: files are spread over top-level directories, each with
// subdirsPerTop subdirectories of filesPerLeaf files.
const (
	filesPerLeaf  = 50
	subdirsPerTop = 20
	filesPerTop   = filesPerLeaf * subdirsPerTop
)

// treePath returns the relative path of the i-th file of the tree.
func treePath(i int) string {
	return filepath.Join(
		fmt.Sprintf("d%03d", i/filesPerTop),
		fmt.Sprintf("s%02d", (i/filesPerLeaf)%subdirsPerTop),
		fmt.Sprintf("f%02d.txt", i%filesPerLeaf),
	)
}

// treeDirs returns how many directories a tree of n files has.
func treeDirs(n int) int {
	if n <= 0 {
		return 0
	}
	leaves := (n + filesPerLeaf - 1) / filesPerLeaf
	tops := (n + filesPerTop - 1) / filesPerTop
	return leaves + tops
}

// makeTree writes n small files under root, commits them once to a new git
// repository there and packs the objects.
func makeTree(root string, n int) error {
	for i := range n {
		p := filepath.Join(root, treePath(i))
		if i%filesPerLeaf == 0 {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return fmt.Errorf("create tree dir: %w", err)
			}
		}
		content := fmt.Sprintf("file %d of the airlock benchmark tree\n", i)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return fmt.Errorf("write tree file: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	steps := []struct {
		verb string
		args []string
	}{
		{"init", []string{"init", "-q"}},
		{"add", []string{"add", "-A"}},
		// No automatic gc: after a commit this size git would start one in
		// the background, which would change the tree and load the machine
		// while it is being measured.
		{"config", []string{"config", "gc.auto", "0"}},
		// git status appends a timing hint when enumerating files is slow,
		// which would make its output depend on machine load.
		{"config", []string{"config", "advice.statusUoption", "false"}},
		{"commit", []string{"-c", "user.name=airlock-bench", "-c", "user.email=bench@localhost",
			"commit", "-q", "--no-gpg-sign", "-m", "benchmark tree"}},
		// Pack the objects now, as that gc would have, so .git holds a pack
		// and a few files as in a cloned repository, not 50,000 loose objects.
		{"gc", []string{"gc", "-q"}},
	}
	for _, st := range steps {
		cmd := exec.CommandContext(ctx, "git", st.args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w: %s", st.verb, err, tailOf(out, 400))
		}
	}
	return nil
}
