package cmdpolicy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDecision(t *testing.T) {
	tests := []struct {
		in      string
		want    Decision
		wantErr bool
	}{
		{"allow", Allow, false},
		{"ask", Ask, false},
		{"deny", Deny, false},
		{" Deny\n", Deny, false},
		{"ASK", Ask, false},
		{"", Deny, true},
		{"block", Deny, true},
		{"allowed", Deny, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDecision(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseDecision(%q) error = %v, want error: %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseDecision(%q) = %s, want %s", tt.in, got, tt.want)
			}
			if err == nil {
				if s := got.String(); s != strings.ToLower(strings.TrimSpace(tt.in)) {
					t.Errorf("ParseDecision(%q).String() = %q, want %q", tt.in, s, strings.ToLower(strings.TrimSpace(tt.in)))
				}
			}
		})
	}
	if got := Decision(7).String(); got != "Decision(7)" {
		t.Errorf("Decision(7).String() = %q, want %q", got, "Decision(7)")
	}
	if !(Allow < Ask && Ask < Deny) {
		t.Errorf("decisions are not ordered allow < ask < deny")
	}
	var d Decision
	if err := d.UnmarshalText([]byte("deny")); err != nil || d != Deny {
		t.Errorf("UnmarshalText(deny) = %s, %v, want deny, nil", d, err)
	}
	if _, err := Decision(9).MarshalText(); err == nil {
		t.Errorf("Decision(9).MarshalText() succeeded, want an error")
	}
}

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, cmd string
		want         bool
	}{
		{"npm *", "npm ci", true},
		{"npm *", "npm", true},
		{"npm *", "/usr/bin/npm install x", true},
		{"npm *", "pnpm install", false},
		{"npm", "npm run build --watch", true},
		{"sudo", "sudo", true},
		{"git push --force*", "git push --force", true},
		{"git push --force*", "git push --force-with-lease", true},
		{"git push --force*", "git push --force origin main", true},
		{"git push --force* $", "git push --force origin main", false},
		{"git push --force* *", "git push --force origin main", true},
		{"git push --force*", "git push -f", false},
		{"git push --force*", "git push", false},
		{"rm -rf /", "rm -rf /", true},
		{"rm -rf /", "rm -rf /tmp", false},
		{"rm -rf /", "rm -rf / x", true},
		{"rm -rf / $", "rm -rf / x", false},
		{"rm -rf / $", "rm -rf /", true},
		{"rm -rf /", "rm -fr /", false},
		{"git * push", "git -C dir push", true},
		{"git * push", "git push", true},
		{"git * push", "git push origin", true},
		{"git * push $", "git push origin", false},
		{"go test ./...", "go test ./...", true},
		{"go test ./?", "go test ./x", true},
		{"go test ?", "go test ./x", false},
		{"cat *.go", "cat main.go", true},
		{"cat *.go", "cat dir/main.go", false},
		{"/usr/bin/*", "/usr/bin/curl x", true},
		{"/usr/bin/*", "curl x", false},
		{"py*", "python3 x.py", true},
		{"rm -rf ~", "rm -rf ~", true},
		{"rm -rf /home/dev", "rm -rf ~", true},
		{"rm -rf $HOME", "rm -rf $HOME", true},
		{"echo hello", "echo 'hello'", true},
		{"echo a\\*", "echo 'a*'", true},
		{"echo a\\*", "echo ab", false},
		{"curl *", "sudo curl x", true},
		{"gofmt *", "find . -name '*.go' -exec gofmt -l {} +", true},
		{"rm *", "echo $(rm -rf x)", true},
		{"rm *", "bash -c 'rm x'", true},
		{"rm *", "echo rm x", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"/"+tt.cmd, func(t *testing.T) {
			e, err := Compile([]Rule{{Pattern: tt.pattern, Decision: Ask}}, testOpts)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.pattern, err)
			}
			r := e.Check(tt.cmd)
			if got := len(r.Matched) > 0; got != tt.want {
				t.Errorf("pattern %q on %q matched = %v, want %v\n%s", tt.pattern, tt.cmd, got, tt.want, describe(r))
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name     string
		rule     Rule
		is       error
		contains []string
	}{
		{
			name:     "match example fails",
			rule:     Rule{Pattern: "npm *", Decision: Allow, Match: []string{"npm ci", "yarn install"}, Source: "policy.yaml:12:5"},
			is:       ErrExampleNoMatch,
			contains: []string{"policy.yaml:12:5: ", `rule "npm *"`, `example "yarn install"`},
		},
		{
			name:     "not-match example matches",
			rule:     Rule{Pattern: "git push --force*", Decision: Ask, NotMatch: []string{"git push --force-with-lease"}, Source: "p.yaml:3:1"},
			is:       ErrExampleMatch,
			contains: []string{"p.yaml:3:1: ", `rule "git push --force*"`, `example "git push --force-with-lease"`},
		},
		{
			name:     "example does not parse",
			rule:     Rule{Pattern: "ls", Decision: Allow, Match: []string{"ls 'x"}, Source: "s:1"},
			is:       ErrExampleParse,
			contains: []string{"s:1: ", `example "ls 'x"`},
		},
		{
			name:     "bad glob",
			rule:     Rule{Pattern: "ls [a", Decision: Allow, Source: "s:2"},
			is:       ErrBadPattern,
			contains: []string{"s:2: ", `rule "ls [a"`, `"[a"`},
		},
		{
			name:     "bad program glob",
			rule:     Rule{Pattern: "l[s", Decision: Allow, Source: "s:3"},
			is:       ErrBadPattern,
			contains: []string{"s:3: "},
		},
		{
			name:     "empty pattern",
			rule:     Rule{Pattern: "  ", Decision: Deny, Source: "s:4"},
			is:       ErrEmptyPattern,
			contains: []string{"s:4: ", "empty pattern"},
		},
		{
			name:     "bad decision",
			rule:     Rule{Pattern: "ls", Decision: Decision(5), Source: "s:5"},
			is:       ErrBadDecision,
			contains: []string{"s:5: ", "got 5"},
		},
		{
			name:     "no source",
			rule:     Rule{Pattern: "ls", Decision: Allow, Match: []string{"cat x"}},
			is:       ErrExampleNoMatch,
			contains: []string{`rule "ls": example "cat x"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Compile([]Rule{tt.rule}, testOpts)
			if err == nil {
				t.Fatalf("Compile succeeded, want an error")
			}
			if e != nil {
				t.Errorf("Compile returned an engine with an error")
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("Compile error = %v, want errors.Is %v", err, tt.is)
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("Compile error %v is not a *RuleError", err)
			}
			if re.Source != tt.rule.Source || re.Pattern != tt.rule.Pattern {
				t.Errorf("RuleError source, pattern = %q, %q, want %q, %q", re.Source, re.Pattern, tt.rule.Source, tt.rule.Pattern)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Compile error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestCompileReportsEveryError(t *testing.T) {
	_, err := Compile([]Rule{
		{Pattern: "ls", Decision: Allow, Match: []string{"cat a"}, Source: "a:1"},
		{Pattern: "cat", Decision: Allow, Match: []string{"ls b"}, Source: "a:2"},
	}, testOpts)
	if err == nil {
		t.Fatal("Compile succeeded, want an error")
	}
	for _, s := range []string{"a:1: ", "a:2: "} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Compile error %q does not name %q", err, s)
		}
	}
}

func TestCompileOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"valid", Options{Workspace: "/w", Home: "/h"}, false},
		{"unclean", Options{Workspace: "/w/../w/", Home: "/h/"}, false},
		{"relative workspace", Options{Workspace: "w", Home: "/h"}, true},
		{"empty workspace", Options{Home: "/h"}, true},
		{"relative home", Options{Workspace: "/w", Home: "h"}, true},
		{"relative temp", Options{Workspace: "/w", Home: "/h", TempDirs: []string{"tmp"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(nil, tt.opts)
			if (err != nil) != tt.wantErr {
				t.Errorf("Compile(nil, %+v) error = %v, want error: %v", tt.opts, err, tt.wantErr)
			}
		})
	}
}

func TestTempDirs(t *testing.T) {
	tests := []struct {
		name string
		tmp  []string
		cmd  string
		want Decision
	}{
		{"default temp", nil, "echo x > /tmp/out", Allow},
		{"default var tmp", nil, "cp a /var/tmp/b", Allow},
		{"no temp dirs", []string{}, "echo x > /tmp/out", Ask},
		{"custom temp", []string{"/scratch"}, "echo x > /scratch/out", Allow},
		{"custom replaces default", []string{"/scratch"}, "echo x > /tmp/out", Ask},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Compile(nil, Options{Workspace: "/work/proj", Home: "/home/dev", TempDirs: tt.tmp})
			if err != nil {
				t.Fatal(err)
			}
			if r := e.Check(tt.cmd); r.Decision != tt.want {
				t.Errorf("Check(%q) with TempDirs %q = %s, want %s\n%s", tt.cmd, tt.tmp, r.Decision, tt.want, describe(r))
			}
		})
	}
}
