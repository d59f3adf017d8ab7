package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/airlock-sandbox/airlock/internal/policy"
)

func TestDeniedPrograms(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	other := filepath.Join(dir, "other")
	for _, d := range []string{bin, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tool := filepath.Join(other, "tool")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// bin/tool -> ../other/tool; bin/alias is a hard link to it.
	if err := os.Symlink(tool, filepath.Join(bin, "tool")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(tool, filepath.Join(bin, "alias")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "git"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + bin + ":" + other}
	tests := []struct {
		name     string
		rules    []string
		writable []string
		want     []string
		wantErr  bool
	}{
		{name: "program and its other names", rules: []string{"tool *"}, want: []string{filepath.Join(bin, "alias"), tool}},
		{name: "bare program", rules: []string{"tool"}, want: []string{filepath.Join(bin, "alias"), tool}},
		{name: "arguments cannot be enforced", rules: []string{"git push --force*", "tool --x"}},
		{name: "globs are not programs", rules: []string{"to* *"}},
		{name: "missing program", rules: []string{"nosuch *"}},
		{name: "binary in a writable tree", rules: []string{"tool"}, writable: []string{other}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rules []policy.CommandRule
			for _, r := range tt.rules {
				rules = append(rules, policy.CommandRule{Pattern: r})
			}
			got, err := deniedPrograms(rules, env, tt.writable)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
