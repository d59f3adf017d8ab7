package cmdpolicy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

const corpusPath = "testdata/corpus.yaml"

// testOpts are the options the corpus expectations are written for.
var testOpts = Options{Workspace: "/work/proj", Home: "/home/dev"}

// testRules is the small rule set the corpus exercises.
func testRules() []Rule {
	return []Rule{
		{
			Pattern: "npm *", Decision: Allow, Justification: "npm is the project's build tool",
			Match: []string{"npm ci", "npm", "/usr/local/bin/npm run build"}, NotMatch: []string{"pnpm install", "npx npm"},
			Source: "test:1",
		},
		{
			Pattern: "sudo *", Decision: Deny, Justification: "the agent never needs root",
			Match: []string{"sudo ls", "env sudo id", "sudo"}, NotMatch: []string{"sudoedit /etc/hosts"},
			Source: "test:2",
		},
		{
			Pattern: "git push --force*", Decision: Ask, Justification: "force pushes rewrite shared history",
			Match: []string{"git push --force", "git push --force-with-lease", "git push --force origin main"}, NotMatch: []string{"git push origin main", "git push -f origin main"},
			Source: "test:3",
		},
	}
}

func testEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := Compile(testRules(), testOpts)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return e
}

func loadCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	entries, err := readCorpus(corpusPath)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// describe prints a Result for failure messages.
func describe(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "decision %s explicit %v parse %q\n", r.Decision, r.Explicit, r.ParseError)
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "  finding %s/%s: %s [%s]\n", f.Category, f.Decision, f.Reason, f.Command)
	}
	for _, f := range r.Suppressed {
		fmt.Fprintf(&b, "  suppressed %s: %s\n", f.Category, f.Reason)
	}
	for _, m := range r.Matched {
		fmt.Fprintf(&b, "  rule %q (%s) on %q\n", m.Rule.Pattern, m.Rule.Decision, m.Command)
	}
	fmt.Fprintf(&b, "  commands %q\n", r.Commands)
	return b.String()
}

// set returns the sorted distinct strings of xs.
func set(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

func categoriesOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Category)
	}
	return set(out)
}

func TestCorpus(t *testing.T) {
	e := testEngine(t)
	entries := loadCorpus(t)
	benign, dangerous := 0, 0
	for _, c := range entries {
		if c.Want == Allow && len(c.Categories) == 0 && c.Rules == nil {
			benign++
		}
		if len(c.Categories) > 0 {
			dangerous++
		}
	}
	if len(entries) < 150 || benign < 70 || dangerous < 90 {
		t.Fatalf("corpus has %d entries, %d benign, %d with findings; want at least 150, 70, 90", len(entries), benign, dangerous)
	}
	known := Categories()
	for i, c := range entries {
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("%03d_%s", i+1, c.Cmd)
			if len(name) > 60 {
				name = name[:60]
			}
		}
		t.Run(name, func(t *testing.T) {
			for _, cat := range c.Categories {
				if !slices.Contains(known, cat) {
					t.Fatalf("corpus names unknown category %q", cat)
				}
			}
			r := e.Check(c.Cmd)
			if r.Decision != c.Want {
				t.Errorf("Check(%q).Decision = %s, want %s\n%s", c.Cmd, r.Decision, c.Want, describe(r))
			}
			if got, want := categoriesOf(r.Findings), set(c.Categories); !slices.Equal(got, want) {
				t.Errorf("Check(%q) categories = %q, want %q\n%s", c.Cmd, got, want, describe(r))
			}
			if got, want := categoriesOf(r.Suppressed), set(c.Suppressed); !slices.Equal(got, want) {
				t.Errorf("Check(%q) suppressed = %q, want %q\n%s", c.Cmd, got, want, describe(r))
			}
			if c.Rules != nil {
				var got []string
				for _, m := range r.Matched {
					got = append(got, m.Rule.Pattern)
				}
				if got, want := set(got), set(c.Rules); !slices.Equal(got, want) {
					t.Errorf("Check(%q) matched rules = %q, want %q\n%s", c.Cmd, got, want, describe(r))
				}
			}
			wantParse := slices.Contains(c.Categories, CategoryParseError)
			if (r.ParseError != "") != wantParse {
				t.Errorf("Check(%q).ParseError = %q, want a parse error: %v", c.Cmd, r.ParseError, wantParse)
			}
			checkInvariants(t, c.Cmd, r)
		})
	}
}

// checkInvariants checks what must hold for every Result.
func checkInvariants(t *testing.T, cmd string, r Result) {
	t.Helper()
	want := Allow
	for _, m := range r.Matched {
		want = max(want, m.Rule.Decision)
	}
	for _, f := range r.Findings {
		if f.Decision != Ask && f.Decision != Deny {
			t.Errorf("Check(%q): finding %s has decision %s, want ask or deny", cmd, f.Category, f.Decision)
		}
		if f.Reason == "" || f.Category == "" {
			t.Errorf("Check(%q): finding %+v lacks a category or reason", cmd, f)
		}
		want = max(want, f.Decision)
	}
	for _, f := range r.Suppressed {
		if f.Decision != Ask {
			t.Errorf("Check(%q): suppressed finding %s has decision %s, want ask", cmd, f.Category, f.Decision)
		}
	}
	if r.ParseError != "" {
		want = max(want, Ask)
	}
	if r.Decision != want {
		t.Errorf("Check(%q).Decision = %s, but rules and findings demand %s\n%s", cmd, r.Decision, want, describe(r))
	}
	explicit := len(r.Matched) > 0 || len(r.Findings) > 0 || len(r.Suppressed) > 0 || r.ParseError != ""
	if r.Explicit != explicit {
		t.Errorf("Check(%q).Explicit = %v, want %v", cmd, r.Explicit, explicit)
	}
	if r.ParseError != "" && r.Decision == Allow {
		t.Errorf("Check(%q): parse error %q but decision allow", cmd, r.ParseError)
	}
}

func BenchmarkCheckCorpus(b *testing.B) {
	e := testEngine(b)
	cmds, err := LoadCorpus(corpusPath)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		e.Check(cmds[i%len(cmds)])
	}
	b.StopTimer()
	p50, p99 := Latencies(e, cmds, 20)
	b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
}

func TestLatencies(t *testing.T) {
	e := testEngine(t)
	cmds, err := LoadCorpus(corpusPath)
	if err != nil {
		t.Fatal(err)
	}
	p50, p99 := Latencies(e, cmds, 3)
	if p50 <= 0 || p99 < p50 {
		t.Fatalf("Latencies = p50 %v, p99 %v; want 0 < p50 <= p99", p50, p99)
	}
	t.Logf("corpus of %d commands: p50 %v, p99 %v", len(cmds), p50, p99)
	if p, q := Latencies(e, nil, 3); p != 0 || q != 0 {
		t.Errorf("Latencies(no commands) = %v, %v, want 0, 0", p, q)
	}
}
