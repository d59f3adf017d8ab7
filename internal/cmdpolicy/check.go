package cmdpolicy

// Finding is something the static analysis noticed about a command.
type Finding struct {
	// Category is a stable identifier, one of the Category constants.
	Category string
	// Decision is what the finding alone demands: Ask or Deny.
	Decision Decision
	// Reason says specifically what was found, for a human.
	Reason string
	// Command is the source text of the simple command (or redirection,
	// or pipeline) it was found in.
	Command string
}

// Match is a rule that matched a simple command.
type Match struct {
	Rule    Rule
	Command string // the source text of the simple command
}

// Result is the decision about a command and how it was reached.
type Result struct {
	// Decision is the strictest of the matched rules and the findings.
	Decision Decision
	// Explicit is true when a rule or a finding decided, false when nothing
	// matched and the command is allowed by default.
	Explicit bool
	// Matched lists the rules that matched, with the simple command each
	// matched.
	Matched []Match
	// Findings lists what the analysis found, in the order found, without
	// duplicates.
	Findings []Finding
	// Suppressed lists Ask findings that an allow rule matching the same
	// simple command set aside; they do not count toward Decision.
	Suppressed []Finding
	// Commands lists every simple command found, including those unwrapped
	// from sudo, env, xargs, find -exec and the like and those inside
	// sh -c strings. Literal words are shown unquoted, other words as
	// written.
	Commands [][]string
	// ParseError is set when the command could not be parsed; Decision is
	// then never Allow. Shell code inside the command (sh -c '...') that
	// does not parse is a parse-error finding but leaves ParseError empty.
	ParseError string
}

// Check analyzes a command line and decides about it. It does no I/O and
// is safe for concurrent use.
func (e *Engine) Check(command string) Result {
	a := newAnalyzer(e)
	a.run(command)
	return a.result()
}

// result combines the units and findings into a Result.
func (a *analyzer) result() Result {
	r := Result{Decision: Allow, ParseError: a.parseErr}
	if len(a.units) > 0 {
		r.Commands = make([][]string, len(a.units))
	}
	for i := range a.units {
		u := &a.units[i]
		argv := make([]string, len(u.argv))
		for k := range u.argv {
			argv[k] = u.argv[k].disp
		}
		r.Commands[i] = argv
		for _, ri := range u.rules {
			rule := a.e.rules[ri].rule
			r.Matched = append(r.Matched, Match{Rule: rule, Command: u.text})
			r.Decision = max(r.Decision, rule.Decision)
		}
	}
	type key struct {
		cat, reason, cmd string
	}
	seen := make(map[key]bool, len(a.findings))
	for _, f := range a.findings {
		k := key{f.Category, f.Reason, f.Command}
		if seen[k] {
			continue
		}
		seen[k] = true
		if f.unit >= 0 && a.units[f.unit].allow && f.Decision == Ask {
			r.Suppressed = append(r.Suppressed, f.Finding)
			continue
		}
		r.Findings = append(r.Findings, f.Finding)
		r.Decision = max(r.Decision, f.Decision)
	}
	if r.ParseError != "" {
		r.Decision = max(r.Decision, Ask)
	}
	r.Explicit = len(r.Matched) > 0 || len(r.Findings) > 0 || len(r.Suppressed) > 0 || r.ParseError != ""
	return r
}
