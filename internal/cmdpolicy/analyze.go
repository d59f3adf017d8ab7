package cmdpolicy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

const (
	// maxDepth is how deeply shell code inside strings (sh -c, eval, su -c,
	// aliases, traps, scripts piped to a shell) is followed.
	maxDepth = 8
	// maxNested bounds the number of such strings parsed for one Check, so
	// that a command cannot make the analysis do unbounded work.
	maxNested = 64
	// maxInput is the longest command analyzed; longer ones are Ask.
	maxInput = 1 << 20
	// maxDirs bounds the working directories tracked at once.
	maxDirs = 8
	// maxLevel bounds the nesting of statements (subshells, blocks,
	// substitutions, loops) that is analyzed.
	maxLevel = 100
	// maxUnits bounds the simple commands analyzed in one Check.
	maxUnits = 10000
)

// parserPool holds bash parsers; a Parser is reusable but not concurrently.
var parserPool = sync.Pool{
	New: func() any { return syntax.NewParser(syntax.Variant(syntax.LangBash)) },
}

// maxBrackets bounds the brackets ( { [ in source given to the parser. The
// parser recurses on nesting, and a stack overflow is a fatal error that no
// recover catches; this many brackets cost it at most some tens of MB of
// stack. Quotes are not considered: counting them too can only refuse more.
const maxBrackets = 10000

// parse parses src as bash. A panic in the parser is turned into an error
// so that a parser bug makes the command Ask instead of crashing the caller.
func parse(src string) (f *syntax.File, err error) {
	n := 0
	for i := 0; i < len(src); i++ {
		if c := src[i]; c == '(' || c == '{' || c == '[' {
			n++
		}
	}
	if n > maxBrackets {
		return nil, fmt.Errorf("%d brackets, more than the %d analyzed", n, maxBrackets)
	}
	p := parserPool.Get().(*syntax.Parser)
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("parser failed: %v", r)
			return // a parser in an unknown state is not reused
		}
		parserPool.Put(p)
	}()
	return p.Parse(strings.NewReader(src), "")
}

// unit is one simple command: a command as written, or one unwrapped from
// a wrapper such as sudo, env, xargs or find -exec.
type unit struct {
	argv    []word
	prog    string // base name of the program; "" when not known statically
	text    string // source text, for Finding.Command and Match.Command
	rules   []int  // indices into Engine.rules that match
	allow   bool   // an allow rule matches
	wrapper bool   // runs an inner unit or script found by unwrapping
	redirs  []redir
	sum     substSummary // what it and the substitutions in its words run
}

// redir is an evaluated redirection of a statement.
type redir struct {
	op     syntax.RedirOperator
	fd     string // explicit file descriptor, "" for the default
	target word   // the file, or the here-string
	hdoc   *word  // here-document body
}

// readsStdin reports whether the redirection replaces standard input.
func (r redir) readsStdin() bool {
	if r.fd != "" && r.fd != "0" {
		return false
	}
	switch r.op {
	case syntax.RdrIn, syntax.RdrInOut, syntax.Hdoc, syntax.DashHdoc, syntax.WordHdoc, syntax.DplIn:
		return true
	}
	return false
}

// finding is a Finding and the unit whose own arguments caused it, or -1
// when the shell around the unit (a redirection, a pipeline) caused it.
type finding struct {
	Finding
	unit int
}

type varInfo struct {
	vals    []string
	unknown bool
}

// stage collects the units a pipeline stage runs directly (not inside
// substitutions).
type stage struct {
	units []int
}

// analyzer holds the state of one Check. It is not safe for concurrent use.
type analyzer struct {
	e        *Engine
	units    []unit
	findings []finding
	parseErr string

	// The parse context: the source the current AST came from and how
	// deeply it is nested in strings.
	src    string
	depth  int
	nested int

	vars       map[string]*varInfo // literal values assigned in the command
	positional []string            // $0, $1... inside sh -c
	cwd        []string            // possible working directories; "" = unknown
	dirStack   [][]string          // pushd
	funcs      []string            // names of the functions being defined
	async      int                 // >0 inside a pipeline or a background job
	stage      *stage              // the pipeline stage being analyzed
	downloads  map[string]string   // file written by a download tool -> tool
	sums       []substSummary      // one per substitution being analyzed
	level      int                 // nesting of statements being analyzed
	tooDeep    bool                // a finding about level was added
	tooMany    bool                // a finding about maxUnits was added
}

func newAnalyzer(e *Engine) *analyzer {
	return &analyzer{e: e, cwd: []string{e.opts.Workspace}}
}

// run analyzes a whole command line.
func (a *analyzer) run(src string) {
	if len(src) > maxInput {
		a.parseErr = fmt.Sprintf("command is %d bytes long, more than the %d analyzed", len(src), maxInput)
		a.add(-1, CategoryParseError, Ask, truncate(src), "the command is too long to analyze (%d bytes)", len(src))
		return
	}
	a.src = src
	f, err := parse(src)
	if err != nil {
		a.parseErr = err.Error()
		a.add(-1, CategoryParseError, Ask, truncate(src), "the command could not be parsed: %v", err)
		a.fallback(src)
		return
	}
	a.prepass(f)
	a.stmts(f.Stmts)
}

// truncate shortens long command text kept in findings.
func truncate(s string) string {
	const n = 200
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// add records a finding. unit is the unit whose arguments caused it, or -1.
func (a *analyzer) add(unit int, cat string, d Decision, text, format string, args ...any) {
	if unit >= 0 && text == "" {
		text = a.units[unit].text
	}
	a.findings = append(a.findings, finding{
		Finding: Finding{Category: cat, Decision: d, Reason: fmt.Sprintf(format, args...), Command: text},
		unit:    unit,
	})
}

// flag records a finding about the arguments of unit u.
func (a *analyzer) flag(u int, cat string, d Decision, format string, args ...any) {
	a.add(u, cat, d, "", format, args...)
}

// nestedScript analyzes shell code found in a string. sameShell is true for
// eval, source and aliases, whose effects (cd) persist; what names the
// construct for reasons ("bash -c").
func (a *analyzer) nestedScript(script, what, text string, positional []string, sameShell bool) {
	if a.depth+1 > maxDepth {
		a.add(-1, CategoryObfuscation, Ask, text, "%s nests shell code more than %d levels deep; it is not analyzed", what, maxDepth)
		return
	}
	if a.nested >= maxNested {
		a.add(-1, CategoryObfuscation, Ask, text, "%s: more than %d nested shell strings in one command; the rest is not analyzed", what, maxNested)
		return
	}
	a.nested++
	f, err := parse(script)
	// Switch to the script's parse context; the walk itself leaves the
	// other state (stage, functions, levels, substitutions) as it found it.
	savedSrc, savedDepth, savedPos, savedVars, savedCwd, savedStack := a.src, a.depth, a.positional, a.vars, a.cwd, a.dirStack
	a.src, a.depth = script, a.depth+1
	if positional != nil {
		a.positional = positional
	}
	a.vars = cloneVars(a.vars)
	if err != nil {
		a.add(-1, CategoryParseError, Ask, text, "the script run by %s could not be parsed: %v", what, err)
		a.fallback(script)
	} else {
		a.prepass(f)
		a.stmts(f.Stmts)
	}
	a.src, a.depth, a.positional, a.vars, a.dirStack = savedSrc, savedDepth, savedPos, savedVars, savedStack
	if !sameShell {
		a.cwd = savedCwd
	}
}

func cloneVars(m map[string]*varInfo) map[string]*varInfo {
	c := make(map[string]*varInfo, len(m))
	for k, v := range m {
		c[k] = &varInfo{vals: slices.Clone(v.vals), unknown: v.unknown}
	}
	return c
}

// prepass learns the literal values variables are given anywhere in f, so
// that "$x" can be resolved wherever it is used. It is flow-insensitive: a
// variable assigned several values may be any of them.
func (a *analyzer) prepass(f *syntax.File) {
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Assign:
			if n.Name == nil {
				return true
			}
			if n.Array != nil || n.Index != nil || n.Append || n.Value == nil {
				a.learn(n.Name.Value, "", false)
				return true
			}
			v, ok := a.staticValue(n.Value)
			a.learn(n.Name.Value, v, ok)
		case *syntax.WordIter:
			if len(n.Items) == 0 {
				a.learn(n.Name.Value, "", false)
			}
			for _, it := range n.Items {
				v, ok := a.staticValue(it)
				a.learn(n.Name.Value, v, ok)
			}
		case *syntax.CallExpr:
			if len(n.Args) > 1 && n.Args[0].Lit() == "read" {
				for _, w := range n.Args[1:] {
					if l := w.Lit(); l != "" && !strings.HasPrefix(l, "-") {
						a.learn(l, "", false)
					}
				}
			}
		}
		return true
	})
}

// staticValue evaluates a word that may use variables already learned.
func (a *analyzer) staticValue(w *syntax.Word) (string, bool) {
	b := wordBuilder{cands: []string{""}, isLit: true}
	for i, p := range w.Parts {
		switch p.(type) {
		case *syntax.CmdSubst, *syntax.ProcSubst, *syntax.ArithmExp:
			return "", false
		}
		a.evalPart(&b, p, modeNormal, i == 0, false)
	}
	if len(b.cands) != 1 || b.splits {
		return "", false
	}
	return b.cands[0], true
}

func (a *analyzer) learn(name, val string, known bool) {
	if a.vars == nil {
		a.vars = make(map[string]*varInfo)
	}
	vi := a.vars[name]
	if vi == nil {
		vi = &varInfo{}
		a.vars[name] = vi
	}
	if !known || len(vi.vals) >= maxCandidates {
		vi.unknown = true
		return
	}
	if !slices.Contains(vi.vals, val) {
		vi.vals = append(vi.vals, val)
	}
}

// lookup returns the values a parameter may have.
func (a *analyzer) lookup(name string) ([]string, bool) {
	if n, err := strconv.Atoi(name); err == nil {
		if n >= 0 && n < len(a.positional) {
			return []string{a.positional[n]}, true
		}
		return nil, false
	}
	vi := a.vars[name]
	if vi != nil && vi.unknown {
		return nil, false
	}
	var base []string
	switch name {
	case "HOME":
		base = []string{a.e.opts.Home}
	case "PWD":
		if slices.Contains(a.cwd, "") {
			return nil, false
		}
		base = a.cwd
	}
	if vi != nil {
		base = union(base, vi.vals)
	}
	if len(base) == 0 {
		return nil, false
	}
	return base, true
}

func (a *analyzer) assigned(name string) bool {
	_, ok := a.vars[name]
	return ok
}

// union returns the distinct strings of x and y, x first.
func union(x, y []string) []string {
	out := slices.Clone(x)
	for _, s := range y {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// dirUnion merges two sets of working directories, giving up (unknown)
// when there are too many.
func dirUnion(x, y []string) []string {
	out := union(x, y)
	if len(out) > maxDirs {
		return []string{""}
	}
	return out
}

func (a *analyzer) stmts(list []*syntax.Stmt) {
	for _, s := range list {
		a.stmt(s)
	}
}

func (a *analyzer) stmt(s *syntax.Stmt) {
	if s == nil {
		return
	}
	if a.level >= maxLevel {
		if !a.tooDeep {
			a.tooDeep = true
			a.add(-1, CategoryObfuscation, Ask, truncate(a.slice(s)), "commands nested more than %d levels deep are not analyzed", maxLevel)
		}
		return
	}
	a.level++
	defer func() { a.level-- }()
	var savedCwd []string
	if s.Background || s.Coprocess || s.Disown {
		a.async++
		savedCwd = a.cwd
		defer func() { a.async--; a.cwd = savedCwd }()
	}
	redirs := a.evalRedirs(s.Redirs)
	switch c := s.Cmd.(type) {
	case nil:
	case *syntax.CallExpr:
		a.call(c, redirs)
	case *syntax.BinaryCmd:
		a.binary(c)
	case *syntax.Block:
		a.stmts(c.Stmts)
	case *syntax.Subshell:
		saved := a.cwd
		a.stmts(c.Stmts)
		a.cwd = saved
	case *syntax.IfClause:
		a.ifClause(c)
	case *syntax.WhileClause:
		before := a.cwd
		a.stmts(c.Cond)
		a.stmts(c.Do)
		a.cwd = dirUnion(before, a.cwd)
	case *syntax.ForClause:
		a.walkSubsts(c.Loop)
		before := a.cwd
		a.stmts(c.Do)
		a.cwd = dirUnion(before, a.cwd)
	case *syntax.CaseClause:
		a.evalWord(c.Word, modeNormal)
		before, after := a.cwd, a.cwd
		for _, it := range c.Items {
			a.cwd = before
			for _, p := range it.Patterns {
				a.walkSubsts(p)
			}
			a.stmts(it.Stmts)
			after = dirUnion(after, a.cwd)
		}
		a.cwd = after
	case *syntax.FuncDecl:
		name := ""
		if c.Name != nil {
			name = c.Name.Value
		}
		a.funcs = append(a.funcs, name)
		saved := a.cwd
		a.stmt(c.Body)
		a.cwd = saved
		a.funcs = a.funcs[:len(a.funcs)-1]
	case *syntax.DeclClause:
		a.decl(c)
	case *syntax.TimeClause:
		a.stmt(c.Stmt)
	case *syntax.CoprocClause:
		a.async++
		a.stmt(c.Stmt)
		a.async--
	default:
		// Test clauses, arithmetic, let, and anything newer: only the
		// commands inside substitutions run.
		a.walkSubsts(c)
	}
	a.checkRedirs(s, redirs)
}

func (a *analyzer) ifClause(c *syntax.IfClause) {
	a.stmts(c.Cond)
	afterCond := a.cwd
	a.stmts(c.Then)
	out := a.cwd
	if c.Else != nil {
		a.cwd = afterCond
		a.ifClause(c.Else)
		out = dirUnion(out, a.cwd)
	} else {
		out = dirUnion(out, afterCond)
	}
	a.cwd = out
}

func (a *analyzer) binary(c *syntax.BinaryCmd) {
	switch c.Op {
	case syntax.Pipe, syntax.PipeAll:
		a.pipeline(c)
	case syntax.OrStmt:
		before := a.cwd
		a.stmt(c.X)
		afterX := a.cwd
		a.cwd = dirUnion(before, afterX)
		a.stmt(c.Y)
		a.cwd = dirUnion(afterX, a.cwd)
	default:
		// X && Y: Y runs only where X succeeded, so it sees X's state.
		a.stmt(c.X)
		a.stmt(c.Y)
	}
}

// pipeline analyzes each stage in its own subshell and then looks at what
// flows from one stage to the next.
func (a *analyzer) pipeline(c *syntax.BinaryCmd) {
	var stmts []*syntax.Stmt
	var flatten func(s *syntax.Stmt)
	flatten = func(s *syntax.Stmt) {
		if b, ok := s.Cmd.(*syntax.BinaryCmd); ok && (b.Op == syntax.Pipe || b.Op == syntax.PipeAll) && len(s.Redirs) == 0 && !s.Negated && !s.Background {
			flatten(b.X)
			flatten(b.Y)
			return
		}
		stmts = append(stmts, s)
	}
	flatten(c.X)
	flatten(c.Y)
	stages := make([]stage, len(stmts))
	saved, prev := a.cwd, a.stage
	a.async++
	for i, s := range stmts {
		a.stage = &stages[i]
		a.cwd = saved
		a.stmt(s)
	}
	a.async--
	a.stage, a.cwd = prev, saved
	if prev != nil {
		// A pipeline nested in a stage: its units run in that stage.
		for _, st := range stages {
			prev.units = append(prev.units, st.units...)
		}
	}
	a.checkPipeline(a.slice(c), stages)
}

// walkSubsts analyzes the command and process substitutions anywhere
// below n, for nodes with no other commands in them.
func (a *analyzer) walkSubsts(n syntax.Node) substSummary {
	var sum substSummary
	syntax.Walk(n, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.CmdSubst:
			sum.merge(a.subst(n.Stmts))
			return false
		case *syntax.ProcSubst:
			sum.merge(a.subst(n.Stmts))
			return false
		case *syntax.Stmt:
			a.stmt(n)
			return false
		}
		return true
	})
	return sum
}

// substsIn analyzes the substitutions of a word.
func (a *analyzer) substsIn(w *syntax.Word) substSummary {
	for _, p := range w.Parts {
		if _, ok := p.(*syntax.Lit); !ok {
			return a.walkSubsts(w)
		}
	}
	return substSummary{}
}

// subst analyzes the statements of a command or process substitution, a
// subshell whose output is data for the command around it, and summarizes
// what ran in it.
func (a *analyzer) subst(stmts []*syntax.Stmt) substSummary {
	savedStage, savedCwd := a.stage, a.cwd
	a.stage = nil
	a.sums = append(a.sums, substSummary{})
	a.stmts(stmts)
	sum := a.sums[len(a.sums)-1]
	a.sums = a.sums[:len(a.sums)-1]
	a.stage, a.cwd = savedStage, savedCwd
	return sum
}

// evalRedirs evaluates the words of a statement's redirections.
func (a *analyzer) evalRedirs(rs []*syntax.Redirect) []redir {
	if len(rs) == 0 {
		return nil
	}
	out := make([]redir, 0, len(rs))
	for _, r := range rs {
		rd := redir{op: r.Op}
		if r.N != nil {
			rd.fd = r.N.Value
		}
		switch r.Op {
		case syntax.Hdoc, syntax.DashHdoc:
			rd.target = litWord(r.Word.Lit())
			if r.Hdoc != nil {
				mode := modeHdoc
				if quotedDelim(r.Word) {
					mode = modeHdocRaw
				}
				if ws := a.evalWord(r.Hdoc, mode); len(ws) > 0 {
					rd.hdoc = &ws[0]
				}
			} else {
				empty := litWord("")
				rd.hdoc = &empty
			}
		default:
			if ws := a.evalWord(r.Word, modeNormal); len(ws) > 0 {
				rd.target = ws[0]
			}
		}
		out = append(out, rd)
	}
	return out
}

func quotedDelim(w *syntax.Word) bool {
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.SglQuoted, *syntax.DblQuoted:
			return true
		case *syntax.Lit:
			if strings.Contains(p.Value, `\`) {
				return true
			}
		}
	}
	return false
}

// call analyzes a simple command.
func (a *analyzer) call(c *syntax.CallExpr, redirs []redir) {
	text := a.slice(c)
	for _, as := range c.Assigns {
		a.assign(as, text)
	}
	var argv []word
	for _, w := range c.Args {
		argv = append(argv, a.evalWord(w, modeNormal)...)
	}
	if len(argv) == 0 {
		return
	}
	a.command(argv, text, redirs)
}

// assign checks a variable assignment, alone or as a command prefix.
func (a *analyzer) assign(as *syntax.Assign, text string) {
	var val *word
	if as.Value != nil {
		if ws := a.evalWord(as.Value, modeNormal); len(ws) > 0 {
			val = &ws[0]
		}
	}
	if as.Array != nil {
		a.walkSubsts(as.Array)
	}
	if as.Index != nil {
		a.walkSubsts(as.Index)
	}
	if as.Name != nil {
		a.checkVar(as.Name.Value, val, "assigning", text)
	}
}

// decl analyzes export, declare, local, readonly and typeset.
func (a *analyzer) decl(c *syntax.DeclClause) {
	text := a.slice(c)
	argv := []word{litWord(c.Variant.Value)}
	for _, as := range c.Args {
		var val *word
		if as.Value != nil {
			if ws := a.evalWord(as.Value, modeNormal); len(ws) > 0 {
				val = &ws[0]
			}
		}
		if as.Array != nil {
			a.walkSubsts(as.Array)
		}
		d := a.slice(as)
		argv = append(argv, word{disp: d, vals: []string{d}, lit: val == nil || val.lit, start: -1, end: -1})
		if as.Name != nil {
			verb := c.Variant.Value
			a.checkVar(as.Name.Value, val, verb, text)
		}
	}
	if !a.full(text) {
		a.newUnit(argv, text, nil)
	}
}

// command analyzes the argv of a simple command: each program the first
// word may stand for is a unit of its own.
func (a *analyzer) command(argv []word, text string, redirs []redir) {
	if a.full(text) {
		return
	}
	prog := argv[0]
	if len(prog.vals) <= 1 {
		u := a.simple(argv, text, redirs, 0)
		a.dynamicProgram(u, &prog)
		return
	}
	for _, v := range prog.vals {
		alt := slices.Clone(argv)
		alt[0].vals = []string{v}
		u := a.simple(alt, text, redirs, 0)
		a.dynamicProgram(u, &prog)
	}
}

// source returns the text of a word as written, when it comes from the
// current source, else its display form.
func (a *analyzer) source(w *word) string {
	if w.start >= 0 && w.end <= len(a.src) && w.start <= w.end {
		return a.src[w.start:w.end]
	}
	return w.disp
}

// dynamicProgram flags a program name that is not written literally.
func (a *analyzer) dynamicProgram(u int, w *word) {
	switch {
	case w.hidden:
		a.flag(u, CategoryObfuscation, Ask, "the program name %s is written as %s to hide it", w.disp, a.source(w))
	case w.brace:
		a.flag(u, CategoryObfuscation, Ask, "the command is spelled as a brace expansion (%s)", a.source(w))
	case w.ifs:
		a.flag(u, CategoryObfuscation, Ask, "$IFS is used as a word separator in %s", a.source(w))
	case w.subst:
		a.flag(u, CategoryObfuscation, Ask, "the program name comes from a command substitution (%s)", w.disp)
	case w.param:
		a.flag(u, CategoryObfuscation, Ask, "the program name comes from a variable (%s)", w.disp)
	case !w.lit:
		a.flag(u, CategoryObfuscation, Ask, "the program name %s is computed at run time", w.disp)
	}
}

// full reports, once with a finding, that maxUnits simple commands have
// been analyzed.
func (a *analyzer) full(text string) bool {
	if len(a.units) < maxUnits {
		return false
	}
	if !a.tooMany {
		a.tooMany = true
		a.add(-1, CategoryObfuscation, Ask, truncate(text), "more than %d simple commands; the rest is not analyzed", maxUnits)
	}
	return true
}

// maxUnwrap bounds wrapper chains such as "env nice timeout 5 sudo ...".
const maxUnwrap = 32

// newUnit records a unit and matches it against the rules.
func (a *analyzer) newUnit(argv []word, text string, redirs []redir) int {
	prog := ""
	path := argv[0].disp
	if v, ok := argv[0].value(); ok {
		path = v
		prog = progName(v)
	}
	if text == "" {
		text = joinDisp(argv)
	}
	a.units = append(a.units, unit{argv: argv, prog: prog, text: text, redirs: redirs})
	idx := len(a.units) - 1
	u := &a.units[idx]
	u.sum = substSummary{fetch: fetchTool(u), decode: decoderName(u)}
	for i := range argv {
		w := &argv[i]
		u.sum.merge(w.sub)
		if w.lit && !u.sum.airlock {
			for _, v := range w.vals {
				if strings.Contains(strings.ToLower(v), "airlock") {
					u.sum.airlock = true
				}
			}
		}
	}
	if n := len(a.sums); n > 0 {
		a.sums[n-1].merge(u.sum)
	}
	a.matchRules(idx, path)
	if a.stage != nil {
		a.stage.units = append(a.stage.units, idx)
	}
	return idx
}

// simple records a unit, checks it and follows what it wraps.
func (a *analyzer) simple(argv []word, text string, redirs []redir, depth int) int {
	idx := a.newUnit(argv, text, redirs)
	for _, w := range argv {
		if w.hidden && w.start != argv[0].start {
			a.flag(idx, CategoryObfuscation, Ask, "the argument %s hides its text in $'...' escapes", w.disp)
			break
		}
		if w.ifs && w.start != argv[0].start {
			a.flag(idx, CategoryObfuscation, Ask, "$IFS is used as a word separator in %s", a.source(&w))
			break
		}
	}
	a.checkUnit(idx)
	if depth >= maxUnwrap {
		a.flag(idx, CategoryObfuscation, Ask, "more than %d nested wrapper commands", maxUnwrap)
		return idx
	}
	for _, in := range a.unwrap(idx) {
		a.units[idx].wrapper = true
		if in.script != nil {
			a.runScript(idx, in)
			continue
		}
		if len(in.argv) == 0 {
			continue
		}
		a.simple(in.argv, a.textOf(in.argv), redirs, depth+1)
	}
	return idx
}

// textOf returns the source text spanning words, or their joined display
// form when they do not come from the current source.
func (a *analyzer) textOf(ws []word) string {
	first, last := ws[0], ws[len(ws)-1]
	if first.start >= 0 && last.end >= first.start && last.end <= len(a.src) {
		return a.src[first.start:last.end]
	}
	return joinDisp(ws)
}

func joinDisp(ws []word) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.disp
	}
	return strings.Join(parts, " ")
}

// runScript analyzes the shell code a wrapper runs from a string.
func (a *analyzer) runScript(u int, in inner) {
	w := in.script
	if v, ok := w.value(); ok {
		if w.hidden {
			a.flag(u, CategoryObfuscation, Ask, "%s runs a script spelled with $'...' escapes", in.what)
		}
		a.nestedScript(v, in.what, a.units[u].text, in.positional, in.sameShell)
		return
	}
	if len(w.vals) > 1 {
		for _, v := range w.vals {
			a.nestedScript(v, in.what, a.units[u].text, in.positional, in.sameShell)
		}
		return
	}
	switch {
	case w.sub.fetch != "":
		a.flag(u, CategoryDownloadExec, Ask, "%s runs code downloaded by %s", in.what, w.sub.fetch)
	case w.sub.decode != "":
		a.flag(u, CategoryObfuscation, Ask, "%s runs code decoded by %s", in.what, w.sub.decode)
	default:
		a.flag(u, CategoryObfuscation, Ask, "%s runs a script built at run time (%s)", in.what, w.disp)
	}
}

// checkPipeline looks for code that flows through a pipe into a program
// that runs what it reads: curl | sh, base64 -d | bash, echo ... | sh.
func (a *analyzer) checkPipeline(text string, stages []stage) {
	var flows []flow
	for j := 1; j < len(stages); j++ {
		for _, ui := range stages[j].units {
			u := &a.units[ui]
			if u.wrapper || stdinRedirected(u.redirs) {
				continue
			}
			what, ok := stdinInterpreter(u)
			if !ok {
				continue
			}
			if flows == nil {
				flows = a.stageFlows(stages)
			}
			in := flows[j-1]
			switch {
			case in.fetch != "":
				a.add(-1, CategoryDownloadExec, Ask, text, "%s runs code downloaded by %s", what, in.fetch)
			case in.known:
				if in.decode != "" {
					a.add(-1, CategoryObfuscation, Ask, text, "%s runs code decoded by %s", what, in.decode)
				}
				if isShell(u.prog) {
					a.nestedScript(in.text, what+" (from a pipe)", text, nil, false)
				}
			case in.decode != "":
				a.add(-1, CategoryObfuscation, Ask, text, "%s runs code decoded by %s", what, in.decode)
			default:
				a.add(-1, CategoryObfuscation, Ask, text, "%s runs a program read from a pipe, which cannot be checked", what)
			}
		}
	}
}

func stdinRedirected(rs []redir) bool {
	for _, r := range rs {
		if r.readsStdin() {
			return true
		}
	}
	return false
}

// flow is what a pipeline stage writes to its standard output, as far as
// it is known.
type flow struct {
	text   string
	known  bool
	fetch  string // a download tool wrote to the pipe
	decode string // a decoder wrote to the pipe
}

// stageFlows computes what each stage of a pipeline writes, first to last.
func (a *analyzer) stageFlows(stages []stage) []flow {
	flows := make([]flow, len(stages))
	for i := range stages {
		var prev flow
		if i > 0 {
			prev = flows[i-1]
		}
		var leaves []int
		var out flow
		for _, ui := range stages[i].units {
			u := &a.units[ui]
			if u.wrapper {
				continue
			}
			leaves = append(leaves, ui)
			out.fetch = firstNonEmpty(out.fetch, u.sum.fetch)
			out.decode = firstNonEmpty(out.decode, u.sum.decode)
		}
		if len(leaves) != 1 {
			if len(leaves) > 1 {
				out.fetch, out.decode = firstNonEmpty(out.fetch, prev.fetch), firstNonEmpty(out.decode, prev.decode)
			}
			flows[i] = out
			continue
		}
		u := &a.units[leaves[0]]
		var in flow
		if hs, ok := hereInput(u.redirs); ok {
			in = hs
		} else if !stdinRedirected(u.redirs) {
			in = prev
		}
		out.fetch = firstNonEmpty(out.fetch, in.fetch)
		text, known, dec := staticOutput(u, in)
		out.text, out.known = text, known
		out.decode = firstNonEmpty(out.decode, dec, in.decode)
		flows[i] = out
	}
	return flows
}

// hereInput returns the text of a here-string or here-document.
func hereInput(rs []redir) (flow, bool) {
	for _, r := range rs {
		switch r.op {
		case syntax.WordHdoc:
			if v, ok := r.target.value(); ok {
				return flow{text: v + "\n", known: true}, true
			}
			return flow{fetch: r.target.sub.fetch, decode: r.target.sub.decode}, true
		case syntax.Hdoc, syntax.DashHdoc:
			if r.hdoc != nil {
				if v, ok := r.hdoc.value(); ok {
					return flow{text: v, known: true}, true
				}
				return flow{fetch: r.hdoc.sub.fetch, decode: r.hdoc.sub.decode}, true
			}
		}
	}
	return flow{}, false
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
