package scan

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
)

// gitTracked returns the paths below root that git tracks, relative to
// root, or nil (every file counts as tracked) when root is not in a git
// work tree, git is missing or fails: more files then get the entropy
// check, never fewer.
//
// git runs with the repository's own configuration, which the user (not
// the sandbox: .git/config is write-protected there) controls; the
// fsmonitor hook, the one setting that could run a program for ls-files,
// is turned off, and GIT_* variables that would point git at another
// repository are dropped.
func gitTracked(ctx context.Context, root string) map[string]bool {
	cmd := exec.CommandContext(ctx, "git", "--no-pager", "-c", "core.fsmonitor=false",
		"-C", root, "ls-files", "-z", "--recurse-submodules")
	cmd.Env = gitEnv(os.Environ())
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil
	}
	tracked := map[string]bool{}
	for _, p := range bytes.Split(out.Bytes(), []byte{0}) {
		if len(p) > 0 {
			tracked[string(p)] = true
		}
	}
	return tracked
}

// gitEnv drops the GIT_* variables from env.
func gitEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GIT_") {
			out = append(out, kv)
		}
	}
	return out
}
