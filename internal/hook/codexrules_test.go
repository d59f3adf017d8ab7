package hook

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenRules covers every decision, the optional fields, escaping and
// every reason to skip a rule.
var goldenRules = []CodexRule{
	{
		Pattern:       []string{"git", "push", "--force"},
		Decision:      Deny,
		Justification: "Rewriting shared history is forbidden. Use `git push --force-with-lease`.",
		Match:         []string{"git push --force origin main"},
		NotMatch:      []string{"git push origin main", "git push --force-with-lease"},
	},
	{
		Pattern:  []string{"ls"},
		Decision: Allow,
	},
	{
		Pattern:       []string{"npm", "publish"},
		Decision:      Ask,
		Justification: "Publishing needs a person.\nSee \"RELEASING.md\" and C:\\notes.",
		Match:         []string{`npm publish --tag 'next release'`, `npm publish "a\"b"`},
	},
	{
		Pattern:       []string{"printf", "a\"b\\c\nd\te\x01\x7f\u2028é"},
		Decision:      Deny,
		Justification: "escaping",
	},
	{
		Pattern:  []string{"git", "push", "*"},
		Decision: Allow,
	},
	{
		Pattern:  []string{"rm", "-rf", "/tmp/[ab]"},
		Decision: Deny,
	},
	{
		Decision: Deny,
	},
	{
		Pattern:  []string{"curl"},
		Decision: Ask,
		Match:    []string{"wget https://example.com"},
	},
	{
		Pattern:  []string{"curl"},
		Decision: Ask,
		NotMatch: []string{"curl -s https://example.com"},
	},
	{
		Pattern:  []string{"echo"},
		Decision: Allow,
		Match:    []string{"echo 'unterminated"},
	},
	{
		Pattern:  []string{"cat\xff"},
		Decision: Allow,
	},
}

var goldenSkipped = []string{
	`rule 5 ("git push *", allow): pattern token "*" is a glob, and Codex prefix rules match literal tokens only`,
	`rule 6 ("rm -rf /tmp/[ab]", deny): pattern token "/tmp/[ab]" is a glob, and Codex prefix rules match literal tokens only`,
	`rule 7 (empty pattern, deny): the pattern is empty`,
	`rule 8 ("curl", ask): match example "wget https://example.com" does not start with the pattern`,
	`rule 9 ("curl", ask): not_match example "curl -s https://example.com" starts with the pattern`,
	`rule 10 ("echo", allow): example "echo 'unterminated": unterminated quote`,
	`rule 11 ("cat\xff", allow): pattern token "cat\xff" is not valid UTF-8`,
}

func TestCodexRulesGolden(t *testing.T) {
	got, skipped, err := CodexRules(goldenRules)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "airlock.rules.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("rules file differs from %s (run with -update after checking):\n got:\n%s\nwant:\n%s", path, got, want)
	}
	if !slices.Equal(skipped, goldenSkipped) {
		t.Errorf("skipped:\n got %q\nwant %q", skipped, goldenSkipped)
	}
}

func TestCodexRulesDecisions(t *testing.T) {
	tests := []struct {
		decision string
		want     string
	}{
		{Allow, `decision = "allow",`},
		{Ask, `decision = "prompt",`},
		{Deny, `decision = "forbidden",`},
	}
	for _, tt := range tests {
		t.Run(tt.decision, func(t *testing.T) {
			out, skipped, err := CodexRules([]CodexRule{{Pattern: []string{"make"}, Decision: tt.decision}})
			if err != nil || len(skipped) != 0 {
				t.Fatalf("got error %v, skipped %q; want neither", err, skipped)
			}
			if n := strings.Count(string(out), tt.want); n != 1 {
				t.Errorf("got %d lines %q in\n%s\nwant 1", n, tt.want, out)
			}
		})
	}
}

func TestCodexRulesUnknownDecision(t *testing.T) {
	_, _, err := CodexRules([]CodexRule{{Pattern: []string{"ls"}, Decision: Allow}, {Pattern: []string{"rm"}, Decision: "block"}})
	if err == nil || !strings.Contains(err.Error(), `codex rule 2 ("rm"): unknown decision "block"`) {
		t.Errorf("got error %v, want an unknown decision error naming rule 2", err)
	}
}

func TestCodexRulesEmpty(t *testing.T) {
	out, skipped, err := CodexRules(nil)
	if err != nil || skipped != nil {
		t.Fatalf("got error %v, skipped %q; want neither", err, skipped)
	}
	if want := strings.TrimSuffix(codexHeader, "\n"); string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestStarlarkQuote(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "git", `"git"`},
		{"empty", "", `""`},
		{"double quote", `say "hi"`, `"say \"hi\""`},
		{"single quote", `it's`, `"it's"`},
		{"backslash", `C:\dir\`, `"C:\\dir\\"`},
		{"backslash before quote", `\"`, `"\\\""`},
		{"newline", "a\nb", `"a\nb"`},
		{"carriage return", "a\r\nb", `"a\r\nb"`},
		{"tab", "a\tb", `"a\tb"`},
		{"control", "a\x01\x1bb", `"a\x01\x1bb"`},
		{"delete", "\x7f", `"\x7f"`},
		{"NEL", "\u0085", `"\u0085"`},
		{"line separator", "\u2028", `"\u2028"`},
		{"non-BMP format character", "\U000e0001", `"\U000e0001"`},
		{"printable unicode", "héllo 世界 🙂", `"héllo 世界 🙂"`},
		{"dollar and braces", "${x} {y}", `"${x} {y}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := starlarkQuote(tt.in)
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			back, err := starlarkUnquote(got)
			if err != nil || back != tt.in {
				t.Errorf("unquote %s: got %q, %v; want %q", got, back, err, tt.in)
			}
		})
	}
}

// starlarkUnquote reads a double-quoted Starlark string literal the way
// the starlark-rust lexer (used by Codex) does, for the round-trip test.
func starlarkUnquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", errors.New("not a double-quoted literal")
	}
	body := []rune(s[1 : len(s)-1])
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		r := body[i]
		switch r {
		case '"', '\n':
			return "", fmt.Errorf("unescaped %q inside literal", r)
		case '\r':
			continue // the lexer drops raw carriage returns
		case '\\':
		default:
			b.WriteRune(r)
			continue
		}
		i++
		if i >= len(body) {
			return "", errors.New("trailing backslash")
		}
		hex := func(n int) (rune, error) {
			if i+1+n > len(body) {
				return 0, errors.New("short escape")
			}
			v, err := strconv.ParseUint(string(body[i+1:i+1+n]), 16, 32)
			i += n
			return rune(v), err
		}
		switch e := body[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '"', '\'', '\\':
			b.WriteRune(e)
		case 'x':
			v, err := hex(2)
			if err != nil {
				return "", err
			}
			b.WriteRune(v)
		case 'u':
			v, err := hex(4)
			if err != nil {
				return "", err
			}
			b.WriteRune(v)
		case 'U':
			v, err := hex(8)
			if err != nil {
				return "", err
			}
			b.WriteRune(v)
		default:
			return "", fmt.Errorf("escape \\%c not produced by starlarkQuote", e)
		}
	}
	return b.String(), nil
}

func FuzzStarlarkQuote(f *testing.F) {
	for _, s := range []string{"", "a\"b", `\`, "\n\r\t", "\x00\x7f", "\u2028\U000e0001", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		q := starlarkQuote(s)
		if strings.ContainsAny(q[1:len(q)-1], "\n\r") {
			t.Fatalf("literal %q holds a raw line break", q)
		}
		back, err := starlarkUnquote(q)
		if err != nil || back != s {
			t.Fatalf("round trip of %q via %s: got %q, %v", s, q, back, err)
		}
	})
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "git push origin", want: []string{"git", "push", "origin"}},
		{in: "  a\t b\n", want: []string{"a", "b"}},
		{in: `a 'b c' "d e"`, want: []string{"a", "b c", "d e"}},
		{in: `a '' ""`, want: []string{"a", "", ""}},
		{in: `x'y'"z"`, want: []string{"xyz"}},
		{in: `'a\b'`, want: []string{`a\b`}},
		{in: `"a\"b\\c\$d\e"`, want: []string{`a"b\c$d\e`}},
		{in: `a\ b \'c`, want: []string{"a b", "'c"}},
		{in: "a\\\nb", want: []string{"ab"}},
		{in: `echo $HOME; ls`, want: []string{"echo", "$HOME;", "ls"}},
		{in: "", want: nil},
		{in: `'open`, wantErr: true},
		{in: `"open`, wantErr: true},
		{in: `trailing\`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := splitWords(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCodexRulesLoadInCodex loads the golden rules file into a real Codex
// CLI (AIRLOCK_TEST_CODEX names its binary, for example from the npm
// package @openai/codex) and checks the decisions it makes.
func TestCodexRulesLoadInCodex(t *testing.T) {
	codex := os.Getenv("AIRLOCK_TEST_CODEX")
	if codex == "" {
		t.Skip("AIRLOCK_TEST_CODEX is not set to a codex binary")
	}
	rules, err := filepath.Abs(filepath.Join("testdata", "airlock.rules.golden"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		command []string
		want    string // decision, "" for no match
	}{
		{"forbidden", []string{"git", "push", "--force", "origin"}, "forbidden"},
		{"prompt", []string{"npm", "publish"}, "prompt"},
		{"allow", []string{"ls", "-la"}, "allow"},
		{"escaped token", []string{"printf", "a\"b\\c\nd\te\x01\x7f\u2028é"}, "forbidden"},
		{"no match", []string{"git", "push", "origin"}, ""},
		{"skipped glob rule is absent", []string{"git", "push", "*"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(codex, append([]string{"execpolicy", "check", "--rules", rules, "--"}, tt.command...)...)
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("codex execpolicy check: %v", err)
			}
			var res struct {
				Decision string `json:"decision"`
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("codex output %q: %v", out, err)
			}
			if res.Decision != tt.want {
				t.Errorf("got decision %q, want %q (output %s)", res.Decision, tt.want, out)
			}
		})
	}
}
