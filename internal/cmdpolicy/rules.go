package cmdpolicy

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Rule is one line of the user's command policy.
type Rule struct {
	// Pattern is a program and a glob of its arguments, such as "npm *",
	// "git push --force*", "sudo" or "rm -rf /". See the package
	// documentation for the syntax.
	Pattern string
	// Decision is what a match demands.
	Decision Decision
	// Justification says why, to the user and the agent.
	Justification string
	// Match are commands the rule must match; Compile checks them.
	Match []string
	// NotMatch are commands the rule must not match; Compile checks them.
	NotMatch []string
	// Source says where the rule was written, such as "policy.yaml:12:5".
	// It prefixes the errors about the rule.
	Source string
}

// Options is what the analysis needs to know about the machine.
type Options struct {
	// Workspace is the absolute path of the directory the agent works in.
	// Relative paths are resolved against it; writes outside it are
	// findings, and deleting it recursively is Deny.
	Workspace string
	// Home is the absolute path of the home directory, for "~" and $HOME,
	// startup files and credentials.
	Home string
	// TempDirs are absolute directories whose contents may be written
	// without a finding. Nil means /tmp, /var/tmp and /dev/shm; an empty
	// non-nil slice means none.
	TempDirs []string
}

// defaultTempDirs are the TempDirs used when Options.TempDirs is nil.
var defaultTempDirs = []string{"/tmp", "/var/tmp", "/dev/shm"}

// Engine decides about commands. It is immutable after Compile and safe
// for concurrent use.
type Engine struct {
	rules    []compiledRule
	byProg   map[string][]int // literal program name -> rule indices
	globProg []int            // rules whose program is a glob or a path
	opts     Options
}

type compiledRule struct {
	rule Rule
	pat  pattern
}

// RuleError is an error in one rule: a bad pattern or decision, or an
// example that the pattern does not treat as its author said.
type RuleError struct {
	Source  string // Rule.Source
	Pattern string // Rule.Pattern
	Example string // the failing example, if an example failed
	Err     error
}

func (e *RuleError) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "rule %q: ", e.Pattern)
	if e.Example != "" {
		fmt.Fprintf(&b, "example %q: ", e.Example)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *RuleError) Unwrap() error { return e.Err }

// Errors for errors.Is on a RuleError.
var (
	ErrEmptyPattern   = errors.New("empty pattern")
	ErrBadPattern     = errors.New("bad glob")
	ErrBadDecision    = errors.New("decision must be allow, ask or deny")
	ErrExampleNoMatch = errors.New("the pattern does not match this example, which it must match")
	ErrExampleMatch   = errors.New("the pattern matches this example, which it must not match")
	ErrExampleParse   = errors.New("the example is not a valid shell command")
)

// Compile checks the options and the rules, including every rule's Match
// and NotMatch examples, and returns an Engine. All rule errors are
// returned together, each a *RuleError.
func Compile(rules []Rule, opts Options) (*Engine, error) {
	o, err := cleanOptions(opts)
	if err != nil {
		return nil, err
	}
	e := &Engine{byProg: make(map[string][]int), opts: o}
	var errs []error
	for _, r := range rules {
		p, err := parsePattern(r.Pattern)
		if err == nil && !r.Decision.valid() {
			err = fmt.Errorf("%w, got %d", ErrBadDecision, int(r.Decision))
		}
		if err != nil {
			errs = append(errs, &RuleError{Source: r.Source, Pattern: r.Pattern, Err: err})
			continue
		}
		i := len(e.rules)
		e.rules = append(e.rules, compiledRule{rule: r, pat: p})
		if p.progLit {
			e.byProg[p.prog] = append(e.byProg[p.prog], i)
		} else {
			e.globProg = append(e.globProg, i)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for i, cr := range e.rules {
		for _, ex := range cr.rule.Match {
			ok, perr := e.exampleMatches(i, ex)
			switch {
			case perr != nil:
				errs = append(errs, &RuleError{Source: cr.rule.Source, Pattern: cr.rule.Pattern, Example: ex, Err: fmt.Errorf("%w: %v", ErrExampleParse, perr)})
			case !ok:
				errs = append(errs, &RuleError{Source: cr.rule.Source, Pattern: cr.rule.Pattern, Example: ex, Err: ErrExampleNoMatch})
			}
		}
		for _, ex := range cr.rule.NotMatch {
			ok, perr := e.exampleMatches(i, ex)
			switch {
			case perr != nil:
				errs = append(errs, &RuleError{Source: cr.rule.Source, Pattern: cr.rule.Pattern, Example: ex, Err: fmt.Errorf("%w: %v", ErrExampleParse, perr)})
			case ok:
				errs = append(errs, &RuleError{Source: cr.rule.Source, Pattern: cr.rule.Pattern, Example: ex, Err: ErrExampleMatch})
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

func cleanOptions(o Options) (Options, error) {
	if !path.IsAbs(o.Workspace) {
		return o, fmt.Errorf("cmdpolicy: workspace %q is not an absolute path", o.Workspace)
	}
	if !path.IsAbs(o.Home) {
		return o, fmt.Errorf("cmdpolicy: home %q is not an absolute path", o.Home)
	}
	o.Workspace, o.Home = path.Clean(o.Workspace), path.Clean(o.Home)
	if o.TempDirs == nil {
		o.TempDirs = defaultTempDirs
	}
	tmp := make([]string, 0, len(o.TempDirs))
	for _, t := range o.TempDirs {
		if !path.IsAbs(t) {
			return o, fmt.Errorf("cmdpolicy: temporary directory %q is not an absolute path", t)
		}
		tmp = append(tmp, path.Clean(t))
	}
	o.TempDirs = tmp
	return o, nil
}

// exampleMatches analyzes an example command and reports whether rule i
// matches any of its simple commands.
func (e *Engine) exampleMatches(i int, example string) (bool, error) {
	a := newAnalyzer(e)
	a.run(example)
	if a.parseErr != "" {
		return false, errors.New(a.parseErr)
	}
	for _, u := range a.units {
		for _, r := range u.rules {
			if r == i {
				return true, nil
			}
		}
	}
	return false, nil
}

// pattern is a compiled Rule.Pattern.
type pattern struct {
	prog     string
	progLit  bool // prog has no glob characters and no "/"
	progPath bool // prog contains "/": matched against the full path
	args     []argPat
	anyArgs  bool // only a program was given
	exact    bool // the pattern ended in "$": no arguments beyond its words
}

type argKind uint8

const (
	argRest   argKind = iota // "*": any number of words
	argLit                   // exact text
	argPrefix                // "--force*": text prefix
	argGlob                  // path.Match pattern
)

type argPat struct {
	kind argKind
	s    string
}

func parsePattern(s string) (pattern, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return pattern{}, ErrEmptyPattern
	}
	if len(f) > 1 && f[len(f)-1] == "$" {
		f = f[:len(f)-1]
	}
	exact := len(strings.Fields(s)) > len(f)
	p := pattern{prog: f[0], anyArgs: len(f) == 1 && !exact, exact: exact}
	if _, err := path.Match(f[0], ""); err != nil {
		return pattern{}, fmt.Errorf("%w in program %q", ErrBadPattern, f[0])
	}
	p.progPath = strings.Contains(f[0], "/")
	p.progLit = !p.progPath && !hasGlob(f[0]) && !strings.Contains(f[0], `\`)
	for _, w := range f[1:] {
		switch {
		case w == "*":
			p.args = append(p.args, argPat{kind: argRest})
		case !hasGlob(w) && !strings.Contains(w, `\`):
			p.args = append(p.args, argPat{kind: argLit, s: w})
		case strings.HasSuffix(w, "*") && !hasGlob(w[:len(w)-1]) && !strings.Contains(w, `\`):
			p.args = append(p.args, argPat{kind: argPrefix, s: w[:len(w)-1]})
		default:
			if _, err := path.Match(w, ""); err != nil {
				return pattern{}, fmt.Errorf("%w in argument %q", ErrBadPattern, w)
			}
			p.args = append(p.args, argPat{kind: argGlob, s: w})
		}
	}
	return p, nil
}

// matchText reports whether an argument pattern matches one string.
func (ap argPat) matchText(s string) bool {
	switch ap.kind {
	case argLit:
		return s == ap.s
	case argPrefix:
		return strings.HasPrefix(s, ap.s)
	case argGlob:
		ok, _ := path.Match(ap.s, s)
		return ok
	}
	return true
}

// matchWord matches a word by its display text or any of its values.
func (ap argPat) matchWord(w *word) bool {
	if ap.matchText(w.disp) {
		return true
	}
	for _, v := range w.vals {
		if v != w.disp && ap.matchText(v) {
			return true
		}
	}
	return false
}

// matchProg matches the program word.
func (p *pattern) matchProg(w *word) bool {
	try := func(s string) bool {
		if p.progPath {
			ok, _ := path.Match(p.prog, s)
			return ok
		}
		if p.progLit {
			return progName(s) == p.prog || s == p.prog
		}
		ok, _ := path.Match(p.prog, progName(s))
		return ok
	}
	if try(w.disp) {
		return true
	}
	for _, v := range w.vals {
		if try(v) {
			return true
		}
	}
	return false
}

// match reports whether the pattern matches an argv.
func (p *pattern) match(argv []word) bool {
	if !p.matchProg(&argv[0]) {
		return false
	}
	if p.anyArgs {
		return true
	}
	steps := 0
	return matchArgs(p.args, argv[1:], p.exact, &steps)
}

// maxBacktrack bounds the work of patterns with several "*" words.
const maxBacktrack = 1 << 12

// matchArgs matches the argument patterns against a prefix of the
// arguments, or all of them when exact is set.
func matchArgs(ps []argPat, ws []word, exact bool, steps *int) bool {
	for len(ps) > 0 {
		if ps[0].kind == argRest {
			for len(ps) > 0 && ps[0].kind == argRest {
				ps = ps[1:]
			}
			if len(ps) == 0 {
				return true
			}
			for i := 0; i <= len(ws); i++ {
				*steps++
				if *steps > maxBacktrack {
					return false
				}
				if matchArgs(ps, ws[i:], exact, steps) {
					return true
				}
			}
			return false
		}
		if len(ws) == 0 || !ps[0].matchWord(&ws[0]) {
			return false
		}
		ps, ws = ps[1:], ws[1:]
	}
	return !exact || len(ws) == 0
}

// matchRules records the rules that match unit idx.
func (a *analyzer) matchRules(idx int, progPath string) {
	e := a.e
	if len(e.rules) == 0 {
		return
	}
	u := &a.units[idx]
	try := func(ri int) {
		for _, seen := range u.rules {
			if seen == ri {
				return
			}
		}
		if e.rules[ri].pat.match(u.argv) {
			u.rules = append(u.rules, ri)
			if e.rules[ri].rule.Decision == Allow {
				u.allow = true
			}
		}
	}
	names := []string{progName(progPath), progPath, u.argv[0].disp}
	for i, n := range names {
		if i > 0 && (n == names[0] || i == 2 && n == names[1]) {
			continue
		}
		for _, ri := range e.byProg[n] {
			try(ri)
		}
	}
	for _, ri := range e.globProg {
		try(ri)
	}
}
