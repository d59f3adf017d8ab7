package cli

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/airlock-sandbox/airlock/internal/policy"
	"github.com/airlock-sandbox/airlock/internal/session"
)

// sessionStore opens the session store and finishes or rolls back any
// apply an earlier Airlock left half-done.
func (a *App) sessionStore() (*session.Store, error) {
	st, err := session.Open(session.DefaultDir(a.Env, a.home()))
	if err != nil {
		return nil, err
	}
	msgs, err := st.Recover()
	for _, m := range msgs {
		a.warnf("%s", m)
	}
	if err != nil {
		return nil, fmt.Errorf("recover an interrupted apply: %w", err)
	}
	return st, nil
}

// recoverSessions runs the store's recovery when a store exists; it never
// creates one.
func (a *App) recoverSessions() {
	dir := session.DefaultDir(a.Env, a.home())
	if dir == "" {
		return
	}
	if _, err := os.Stat(filepath.Join(dir, "sessions")); err != nil {
		return
	}
	if _, err := a.sessionStore(); err != nil {
		a.errorf("%v", err)
	}
}

// startOverlay creates or resumes the session of an --overlay run.
func (a *App) startOverlay(name, workspace string, argv []string) (*session.Session, error) {
	st, err := a.sessionStore()
	if err != nil {
		return nil, err
	}
	var s *session.Session
	if name != "" {
		s, err = st.Get(name)
		if err == nil {
			if m := s.Meta(); m.Workspace != workspace {
				return nil, fmt.Errorf("session %s belongs to the workspace %s, not %s", name, m.Workspace, workspace)
			}
		}
	}
	if s == nil {
		if s, err = st.Create(name, workspace, argv); err != nil {
			return nil, err
		}
	}
	if err := s.Begin(); err != nil {
		if errors.Is(err, session.ErrBusy) {
			return nil, fmt.Errorf("%w: another airlock is running or applying this session", err)
		}
		return nil, err
	}
	return s, nil
}

// endOverlay records the end of the run and tells the user what to do next.
func (a *App) endOverlay(s *session.Session, code int, protected []string) {
	if err := s.End(code); err != nil {
		a.errorf("session: %v", err)
	}
	m := s.Meta()
	ref := m.ID
	if m.Name != "" {
		ref = m.Name
	}
	changes, err := s.Changes(protected)
	if err != nil {
		a.errorf("session %s: %v", ref, err)
		return
	}
	prot := 0
	for _, c := range changes {
		if c.Protected {
			prot++
		}
	}
	msg := fmt.Sprintf("session %s: %d change(s) kept out of %s", ref, len(changes), m.Workspace)
	if prot > 0 {
		msg += fmt.Sprintf(", %d to PROTECTED paths", prot)
	}
	a.warnf("%s", msg)
	if len(changes) > 0 {
		a.hintf("review with `airlock diff %s`, then `airlock apply %s [PATH...]` or `airlock discard %s`", ref, ref, ref)
	}
}

// pickSession splits "[SESSION] [PATH...]": the first argument is a
// session when one has that name or id; otherwise the latest session of
// the current workspace is used and every argument is a path.
func (a *App) pickSession(st *session.Store, args []string) (*session.Session, []string, error) {
	if len(args) > 0 {
		if s, err := st.Get(args[0]); err == nil {
			return s, args[1:], nil
		}
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, nil, err
	}
	if c, err := filepath.EvalSymlinks(cwd); err == nil {
		cwd = c
	}
	// The current directory may be below the workspace.
	for dir := cwd; ; dir = filepath.Dir(dir) {
		if s, err := st.Latest(dir); err == nil {
			rel := make([]string, 0, len(args))
			for _, p := range args {
				if filepath.IsAbs(p) {
					r, err := filepath.Rel(dir, p)
					if err != nil || strings.HasPrefix(r, "..") {
						return nil, nil, fmt.Errorf("%s is outside the workspace %s", p, dir)
					}
					p = r
				} else if sub, _ := filepath.Rel(dir, cwd); sub != "." {
					p = filepath.Join(sub, p)
				}
				rel = append(rel, filepath.ToSlash(filepath.Clean(p)))
			}
			return s, rel, nil
		}
		if dir == "/" {
			break
		}
	}
	if len(args) > 0 {
		return nil, nil, fmt.Errorf("no session named %q, and none for this workspace", args[0])
	}
	return nil, nil, errors.New("no session for this workspace")
}

func (a *App) sessionsCmd(args []string) int {
	fs := a.flagSet("sessions")
	if done, code := a.parseFlags(fs, args, ExitUsage); done {
		return code
	}
	st, err := a.sessionStore()
	if err != nil {
		a.errorf("%v", err)
		return 1
	}
	list, err := st.List()
	if err != nil {
		a.errorf("%v", err)
		return 1
	}
	if len(list) == 0 {
		fmt.Fprintln(a.Stdout, "no sessions")
		return ExitOK
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tWORKSPACE\tCREATED\tRUNS\tEXIT\tCOMMAND")
	for _, m := range list {
		ref := m.ID
		if m.Name != "" {
			ref = m.Name + " (" + m.ID + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", ref, m.Workspace, m.Created.Local().Format(time.DateTime), m.Runs, m.ExitCode, strings.Join(m.Command, " "))
	}
	tw.Flush()
	return ExitOK
}

// sessionArgs parses a session command's flags and "[SESSION] [PATH...]"
// and opens the session. ok is false when the command must exit with code.
func (a *App) sessionArgs(fs *flag.FlagSet, usage string, args []string) (st *session.Store, s *session.Session, paths []string, code int, ok bool) {
	fs.Usage = func() {
		fmt.Fprint(a.Stderr, "Usage: "+usage+"\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if done, code := a.parseFlags(fs, args, ExitUsage); done {
		return nil, nil, nil, code, false
	}
	st, err := a.sessionStore()
	if err == nil {
		s, paths, err = a.pickSession(st, fs.Args())
	}
	if err != nil {
		a.errorf("%v", err)
		return nil, nil, nil, 1, false
	}
	return st, s, paths, 0, true
}

func (a *App) diffCmd(args []string) int {
	fs := a.flagSet("diff")
	stat := fs.Bool("stat", false, "show a diffstat")
	nameOnly := fs.Bool("name-only", false, "show only the changed paths")
	color := fs.String("color", "auto", "colour the diff: auto, always or never")
	raw := fs.Bool("raw", false, "write file contents unescaped (for patch tools)")
	_, s, paths, code, ok := a.sessionArgs(fs, "airlock diff [flags] [SESSION] [PATH...]", args)
	if !ok {
		return code
	}
	changes, err := s.Changes(policy.ProtectedNames())
	if err != nil {
		a.errorf("%v", err)
		return 1
	}
	useColor := *color == "always" || *color == "auto" && a.Stdout == os.Stdout && isTerminal(os.Stdout)
	w := bufio.NewWriter(a.Stdout)
	err = session.WriteDiff(w, s, changes, session.DiffOptions{Paths: paths, Stat: *stat, NameOnly: *nameOnly, Color: useColor, Raw: *raw})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		a.errorf("%v", err)
		return 1
	}
	return ExitOK
}

func (a *App) applyCmd(args []string) int {
	fs := a.flagSet("apply")
	force := fs.Bool("force", false, "apply conflicting changes too, overwriting edits made to the workspace since the session began")
	inclProt := fs.Bool("include-protected", false, "apply changes to protected paths (git hooks and config, shell startup files, agent settings)")
	interactive := fs.Bool("interactive", false, "ask about each change")
	_, s, paths, code, ok := a.sessionArgs(fs, "airlock apply [flags] [SESSION] [PATH...]", args)
	if !ok {
		return code
	}
	opts := session.ApplyOptions{Paths: paths, Protected: policy.ProtectedNames(), Force: *force, IncludeProtected: *inclProt}
	if *interactive {
		if a.Stdin == nil || !isTerminal(a.Stdin) {
			a.errorf("--interactive needs a terminal on standard input")
			return ExitUsage
		}
		in := bufio.NewReader(a.Stdin)
		opts.Confirm = func(c session.Change) (bool, error) {
			note := ""
			if c.Protected {
				note = " (PROTECTED: " + c.ProtectedBy + ")"
			}
			if c.Conflict != "" {
				note += " (conflict: " + c.Conflict + ")"
			}
			fmt.Fprintf(a.Stderr, "apply %s %s%s? [y/N/q] ", c.Kind, c.Path, note)
			line, err := in.ReadString('\n')
			if err != nil {
				return false, err
			}
			switch strings.ToLower(strings.TrimSpace(line)) {
			case "y", "yes":
				return true, nil
			case "q", "quit":
				return false, errors.New("apply cancelled")
			}
			return false, nil
		}
	}
	rep, err := s.Apply(opts)
	for _, p := range rep.Applied {
		fmt.Fprintf(a.Stdout, "applied %s\n", p)
	}
	for _, m := range rep.Messages {
		fmt.Fprintf(a.Stderr, "airlock: %s\n", m)
	}
	for _, p := range rep.Protected {
		fmt.Fprintf(a.Stderr, "airlock: left out PROTECTED %s\n", p)
	}
	if len(rep.Protected) > 0 {
		a.hintf("review those changes, then pass --include-protected to apply them")
	}
	if len(rep.Conflicts) > 0 {
		a.hintf("the workspace changed since the session began; look at `airlock diff`, then pass --force to overwrite")
	}
	if err != nil {
		a.errorf("%v", err)
		return 1
	}
	return ExitOK
}

func (a *App) discardCmd(args []string) int {
	fs := a.flagSet("discard")
	st, s, rest, code, ok := a.sessionArgs(fs, "airlock discard [SESSION]", args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		a.errorf("discard takes a session, not paths")
		return ExitUsage
	}
	m := s.Meta()
	if err := st.Discard(m.ID); err != nil {
		a.errorf("%v", err)
		return 1
	}
	fmt.Fprintf(a.Stdout, "discarded session %s\n", m.ID)
	return ExitOK
}
