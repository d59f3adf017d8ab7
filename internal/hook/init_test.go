//go:build unix

package hook

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const airlockBin = "/usr/local/bin/airlock"

// freshSettings is the exact file InitClaudeCode writes into an empty
// project.
const freshSettings = `{
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/airlock hook claude-code"
          }
        ]
      }
    ]
  }
}
`

// existingSettings has keys Airlock does not know, hooks of other tools and
// events, numbers whose spelling must survive, and an unusual key order.
const existingSettings = `{
    "model": "claude-sonnet-4-5",
    "permissions": {"allow": ["Bash(npm test:*)"], "deny": ["Read(./.env)"]},
    "hooks": {
        "PostToolUse": [{"matcher": "Write|Edit", "hooks": [{"type": "command", "command": "gofmt -w"}]}],
        "PreToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "./check-write.sh", "timeout": 30}]}]
    },
    "cleanupPeriodDays": 1.50,
    "env": {"A": "<b> & c"}
}
`

const mergedSettings = `{
  "model": "claude-sonnet-4-5",
  "permissions": {
    "allow": [
      "Bash(npm test:*)"
    ],
    "deny": [
      "Read(./.env)"
    ]
  },
  "hooks": {
    "PostToolUse": [
      {
        "matcher": "Write|Edit",
        "hooks": [
          {
            "type": "command",
            "command": "gofmt -w"
          }
        ]
      }
    ],
    "PreToolUse": [
      {
        "matcher": "Write",
        "hooks": [
          {
            "type": "command",
            "command": "./check-write.sh",
            "timeout": 30
          }
        ]
      },
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/airlock hook claude-code"
          }
        ]
      }
    ]
  },
  "cleanupPeriodDays": 1.50,
  "env": {
    "A": "<b> & c"
  }
}
`

func settingsPath(project string) string {
	return filepath.Join(project, ".claude", "settings.json")
}

func writeFile(t *testing.T, path, content string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noTempFiles fails if a temporary file was left in dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".airlock-") {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

func TestInitClaudeCode(t *testing.T) {
	tests := []struct {
		name     string
		existing string // "" means no file
		sandbox  map[string]any
		want     string
	}{
		{name: "fresh project", want: freshSettings},
		{name: "empty file", existing: "\n", want: freshSettings},
		{name: "empty object", existing: "{}", want: freshSettings},
		{name: "keeps unknown keys and other hooks", existing: existingSettings, want: mergedSettings},
		{
			name:     "null hooks",
			existing: `{"hooks": null}`,
			want:     freshSettings,
		},
		{
			name:     "sandbox block is created",
			existing: `{"model": "m"}`,
			sandbox: map[string]any{
				"enabled":                  true,
				"allowUnsandboxedCommands": false,
				"network":                  map[string]any{"allowedDomains": []string{"github.com", "*.npmjs.org"}},
			},
			want: `{
  "model": "m",
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/airlock hook claude-code"
          }
        ]
      }
    ]
  },
  "sandbox": {
    "allowUnsandboxedCommands": false,
    "enabled": true,
    "network": {
      "allowedDomains": [
        "github.com",
        "*.npmjs.org"
      ]
    }
  }
}
`,
		},
		{
			name:     "sandbox block is merged",
			existing: `{"sandbox": {"enabled": false, "excludedCommands": ["docker"], "network": {"allowLocalBinding": true, "allowedDomains": ["old.example"]}}}`,
			sandbox: map[string]any{
				"enabled": true,
				"network": map[string]any{"allowedDomains": []string{"github.com"}},
			},
			want: `{
  "sandbox": {
    "enabled": true,
    "excludedCommands": [
      "docker"
    ],
    "network": {
      "allowLocalBinding": true,
      "allowedDomains": [
        "github.com"
      ]
    }
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/airlock hook claude-code"
          }
        ]
      }
    ]
  }
}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project := t.TempDir()
			path := settingsPath(project)
			if tt.existing != "" {
				writeFile(t, path, tt.existing, 0o644)
			}
			written, err := InitClaudeCode(project, airlockBin, tt.sandbox)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{path}; !slices.Equal(written, want) {
				t.Errorf("written: got %q, want %q", written, want)
			}
			if got := readFile(t, path); got != tt.want {
				t.Errorf("settings:\n got:\n%s\nwant:\n%s", got, tt.want)
			}
			noTempFiles(t, filepath.Dir(path))

			// Idempotent: a second run writes nothing and changes nothing.
			before, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			written, err = InitClaudeCode(project, airlockBin, tt.sandbox)
			if err != nil {
				t.Fatal(err)
			}
			if len(written) != 0 {
				t.Errorf("second run wrote %q, want nothing", written)
			}
			if got := readFile(t, path); got != tt.want {
				t.Errorf("second run changed the settings to:\n%s", got)
			}
			after, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if !os.SameFile(before, after) {
				t.Error("second run replaced the file, want it untouched")
			}
		})
	}
}

func TestInitClaudeCodeRecognisesExistingEntry(t *testing.T) {
	project := t.TempDir()
	// Formatted differently and with the hook among others: still ours.
	existing := `{"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"./other.sh"},{"command":"/usr/local/bin/airlock hook claude-code","type":"command"}]}]}}`
	writeFile(t, settingsPath(project), existing, 0o644)
	written, err := InitClaudeCode(project, airlockBin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 0 {
		t.Errorf("got written %q, want nothing", written)
	}
	if got := readFile(t, settingsPath(project)); got != existing {
		t.Errorf("settings changed to:\n%s\nwant unchanged", got)
	}
}

func TestInitClaudeCodeKeepsMode(t *testing.T) {
	project := t.TempDir()
	writeFile(t, settingsPath(project), "{}", 0o600)
	if _, err := InitClaudeCode(project, airlockBin, nil); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(settingsPath(project))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("got mode %v, want 0600", got)
	}
}

func TestInitClaudeCodeNewFileMode(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	project := t.TempDir()
	if _, err := InitClaudeCode(project, airlockBin, nil); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(settingsPath(project))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o644 {
		t.Errorf("got mode %v, want 0644", got)
	}
}

func TestInitClaudeCodeQuotesCommand(t *testing.T) {
	tests := []struct {
		name string
		cmd  string
		want string
	}{
		{"plain path", "/usr/bin/airlock", `"/usr/bin/airlock hook claude-code"`},
		{"name only", "airlock", `"airlock hook claude-code"`},
		{"space", "/opt/my tools/airlock", `"'/opt/my tools/airlock' hook claude-code"`},
		{"single quote", "/opt/it's/airlock", `"'/opt/it'\"'\"'s/airlock' hook claude-code"`},
		{"dollar", "/opt/$HOME/airlock", `"'/opt/$HOME/airlock' hook claude-code"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project := t.TempDir()
			if _, err := InitClaudeCode(project, tt.cmd, nil); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, settingsPath(project)); !strings.Contains(got, `"command": `+tt.want) {
				t.Errorf("got settings\n%s\nwant command %s", got, tt.want)
			}
		})
	}
}

func TestInitClaudeCodeRefuses(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, project, outside string)
		cmd     *string // nil: airlockBin
		wantErr error   // checked with errors.Is when set
		wantMsg string  // substring of the error otherwise
	}{
		{
			name: "symlinked settings file",
			setup: func(t *testing.T, project, outside string) {
				writeFile(t, filepath.Join(outside, "victim.json"), "{}", 0o644)
				if err := os.MkdirAll(filepath.Join(project, ".claude"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join(outside, "victim.json"), settingsPath(project)); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: ErrSymlink,
		},
		{
			name: "symlinked settings file inside the project",
			setup: func(t *testing.T, project, outside string) {
				writeFile(t, filepath.Join(project, "shared.json"), "{}", 0o644)
				if err := os.MkdirAll(filepath.Join(project, ".claude"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("../shared.json", settingsPath(project)); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: ErrSymlink,
		},
		{
			name: "dangling symlink",
			setup: func(t *testing.T, project, outside string) {
				if err := os.MkdirAll(filepath.Join(project, ".claude"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join(outside, "created.json"), settingsPath(project)); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: ErrSymlink,
		},
		{
			name: "symlinked .claude directory",
			setup: func(t *testing.T, project, outside string) {
				if err := os.Symlink(outside, filepath.Join(project, ".claude")); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: ErrSymlink,
		},
		{
			name: "malformed settings",
			setup: func(t *testing.T, project, outside string) {
				writeFile(t, settingsPath(project), `{"hooks": {`, 0o644)
			},
			wantMsg: "malformed JSON",
		},
		{
			name: "settings not an object",
			setup: func(t *testing.T, project, outside string) {
				writeFile(t, settingsPath(project), `[]`, 0o644)
			},
			wantMsg: "not a JSON object",
		},
		{
			name: "duplicate top-level key",
			setup: func(t *testing.T, project, outside string) {
				writeFile(t, settingsPath(project), `{"hooks": {}, "hooks": {}}`, 0o644)
			},
			wantMsg: `duplicate key "hooks"`,
		},
		{
			name: "duplicate key in hooks",
			setup: func(t *testing.T, project, outside string) {
				writeFile(t, settingsPath(project), `{"hooks": {"PreToolUse": [], "PreToolUse": []}}`, 0o644)
			},
			wantMsg: `duplicate key "PreToolUse"`,
		},
		{
			name: "hooks not an object",
			setup: func(t *testing.T, project, outside string) {
				writeFile(t, settingsPath(project), `{"hooks": []}`, 0o644)
			},
			wantMsg: "hooks: not a JSON object",
		},
		{
			name: "PreToolUse not a list",
			setup: func(t *testing.T, project, outside string) {
				writeFile(t, settingsPath(project), `{"hooks": {"PreToolUse": {"Bash": "x"}}}`, 0o644)
			},
			wantMsg: "hooks.PreToolUse is not a list",
		},
		{
			name: "FIFO instead of settings",
			setup: func(t *testing.T, project, outside string) {
				if err := os.MkdirAll(filepath.Join(project, ".claude"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := syscall.Mkfifo(settingsPath(project), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: "is not a regular file",
		},
		{
			name: "directory instead of settings",
			setup: func(t *testing.T, project, outside string) {
				if err := os.MkdirAll(settingsPath(project), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: "is not a regular file",
		},
		{
			name:    "empty airlock command",
			setup:   func(t *testing.T, project, outside string) {},
			cmd:     ptr(""),
			wantMsg: "no airlock command given",
		},
		{
			name:    "newline in airlock command",
			setup:   func(t *testing.T, project, outside string) {},
			cmd:     ptr("/bin/airlock\nrm -rf ~"),
			wantMsg: "contains a NUL or newline",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project, outside := t.TempDir(), t.TempDir()
			tt.setup(t, project, outside)
			before := snapshot(t, project, outside)
			cmd := airlockBin
			if tt.cmd != nil {
				cmd = *tt.cmd
			}
			done := make(chan struct{})
			var written []string
			var err error
			go func() {
				defer close(done)
				written, err = InitClaudeCode(project, cmd, map[string]any{"enabled": true})
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("InitClaudeCode hung")
			}
			if err == nil {
				t.Fatalf("got no error (written %q), want one", written)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got error %v, want it to contain %q", err, tt.wantMsg)
			}
			if written != nil {
				t.Errorf("got written %q, want nil", written)
			}
			if after := snapshot(t, project, outside); !slices.Equal(before, after) {
				t.Errorf("files changed:\nbefore %q\n after %q", before, after)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// snapshot lists every entry below the roots with its type and content.
func snapshot(t *testing.T, roots ...string) []string {
	t.Helper()
	var out []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			entry := p + " " + d.Type().String()
			switch {
			case d.Type()&os.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				entry += " -> " + target
			case d.Type().IsRegular():
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				entry += " " + string(b)
			}
			out = append(out, entry)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestInitCodex(t *testing.T) {
	home := filepath.Join(t.TempDir(), ".codex")
	written, skipped, err := InitCodex(home, goldenRules)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, "rules", "airlock.rules")
	if want := []string{path}; !slices.Equal(written, want) {
		t.Errorf("written: got %q, want %q", written, want)
	}
	if !slices.Equal(skipped, goldenSkipped) {
		t.Errorf("skipped:\n got %q\nwant %q", skipped, goldenSkipped)
	}
	want := readFile(t, filepath.Join("testdata", "airlock.rules.golden"))
	if got := readFile(t, path); got != want {
		t.Errorf("rules file:\n got:\n%s\nwant:\n%s", got, want)
	}
	for _, d := range []string{home, filepath.Join(home, "rules")} {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != 0o700 {
			t.Errorf("%s: got mode %v, want 0700", d, got)
		}
	}
	noTempFiles(t, filepath.Join(home, "rules"))

	written, skipped, err = InitCodex(home, goldenRules)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 0 || !slices.Equal(skipped, goldenSkipped) {
		t.Errorf("second run: got written %q skipped %q, want nothing written and the same skips", written, skipped)
	}

	// New rules replace the file.
	written, _, err = InitCodex(home, goldenRules[:1])
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 1 {
		t.Errorf("got written %q, want the rules file", written)
	}
	if got := readFile(t, path); strings.Contains(got, `pattern = ["ls"]`) {
		t.Errorf("rules file still holds a removed rule:\n%s", got)
	}
}

func TestInitCodexRefuses(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, home, outside string)
		rules   []CodexRule
		wantErr error
		wantMsg string
	}{
		{
			name: "symlinked rules directory",
			setup: func(t *testing.T, home, outside string) {
				if err := os.Symlink(outside, filepath.Join(home, "rules")); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: ErrSymlink,
		},
		{
			name: "symlinked rules file",
			setup: func(t *testing.T, home, outside string) {
				writeFile(t, filepath.Join(outside, "x"), "keep", 0o644)
				if err := os.MkdirAll(filepath.Join(home, "rules"), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join(outside, "x"), filepath.Join(home, "rules", "airlock.rules")); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: ErrSymlink,
		},
		{
			name:    "unknown decision",
			setup:   func(t *testing.T, home, outside string) {},
			rules:   []CodexRule{{Pattern: []string{"x"}, Decision: "nope"}},
			wantMsg: `unknown decision "nope"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home, outside := t.TempDir(), t.TempDir()
			tt.setup(t, home, outside)
			before := snapshot(t, home, outside)
			rules := tt.rules
			if rules == nil {
				rules = goldenRules
			}
			written, _, err := InitCodex(home, rules)
			if err == nil {
				t.Fatalf("got no error (written %q), want one", written)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got error %v, want it to contain %q", err, tt.wantMsg)
			}
			if after := snapshot(t, home, outside); !slices.Equal(before, after) {
				t.Errorf("files changed:\nbefore %q\n after %q", before, after)
			}
		})
	}
}

func TestInitCodexFollowsSymlinkedHome(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), ".codex")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if _, _, err := InitCodex(link, goldenRules[:2]); err != nil {
		t.Fatalf("got error %v, want the named home to be trusted", err)
	}
	if _, err := os.Stat(filepath.Join(real, "rules", "airlock.rules")); err != nil {
		t.Errorf("rules file not written through the home link: %v", err)
	}
}

func TestInitCodexHook(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, "hooks.json")
	writeFile(t, path, `{"hooks":{"SessionStart":[{"matcher":"startup","hooks":[{"type":"command","command":"echo hi","timeout":5}]}]}}`, 0o600)
	written, err := InitCodexHook(home, airlockBin)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{path}; !slices.Equal(written, want) {
		t.Errorf("written: got %q, want %q", written, want)
	}
	want := `{
  "hooks": {
    "SessionStart": [
      {
        "matcher": "startup",
        "hooks": [
          {
            "type": "command",
            "command": "echo hi",
            "timeout": 5
          }
        ]
      }
    ],
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/airlock hook codex"
          }
        ]
      }
    ]
  }
}
`
	if got := readFile(t, path); got != want {
		t.Errorf("hooks.json:\n got:\n%s\nwant:\n%s", got, want)
	}
	written, err = InitCodexHook(home, airlockBin)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 0 {
		t.Errorf("second run wrote %q, want nothing", written)
	}
	if got := readFile(t, path); got != want {
		t.Errorf("second run changed hooks.json to:\n%s", got)
	}
}
