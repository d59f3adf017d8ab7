package session

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

var (
	// ErrConflicts is wrapped by Apply's error when changes were left out
	// because the workspace changed since the base state.
	ErrConflicts = errors.New("conflicting changes were not applied")
	// ErrProtected is wrapped by Apply's error when changes to protected
	// paths were left out.
	ErrProtected = errors.New("changes to protected paths were not applied")
	// ErrRefused is wrapped by Apply's error when changes that can never be
	// applied (device nodes, paths through symlinks, ...) were left out.
	ErrRefused = errors.New("refused changes were not applied")
	// ErrFailed is wrapped by Apply's error when installing some changes
	// failed after the commit point (the rest was applied).
	ErrFailed = errors.New("some changes failed to apply")
	// ErrIncomplete is wrapped by every error Apply returns when it left
	// something out, whatever the reason.
	ErrIncomplete = errors.New("apply incomplete")
)

// ApplyOptions selects what Apply does.
type ApplyOptions struct {
	// Paths limits the apply to these workspace-relative paths and what
	// lies below them; empty means everything.
	Paths []string
	// Protected are the protected path rules (see Change.Protected).
	Protected []string
	// Force applies changes whose workspace path changed since the base
	// state, overwriting those edits. Conflicts marked not overridable
	// (a directory the user created or filled) are never forced.
	Force bool
	// IncludeProtected applies changes to protected paths.
	IncludeProtected bool
	// Confirm is asked about each change before anything is written (nil
	// means yes to all). New directories that only hold other changes and
	// deletions implied by a confirmed change are not asked about. An
	// error aborts the apply with the workspace untouched.
	Confirm func(Change) (bool, error)
}

// ApplyReport lists the paths an apply touched or left out, each sorted.
type ApplyReport struct {
	Applied   []string
	Skipped   []string // declined by Confirm, or depending on a change that was left out
	Conflicts []string // the workspace changed since the base state (or during the apply)
	Protected []string // protected and IncludeProtected not set
	Refused   []string // can never be applied
	Failed    []string // an error after the commit point
	// Messages explain the entries of Skipped, Conflicts, Refused and
	// Failed, one line each, for display.
	Messages []string
}

// testHookStep is called at every journal step of an apply, its recovery
// and its rollback, with a name such as "commit" or "op 3". Tests use it to
// kill the process at each step in turn.
var testHookStep func(step string)

func hook(format string, args ...any) {
	if testHookStep != nil {
		testHookStep(fmt.Sprintf(format, args...))
	}
}

// Apply copies the selected changes into the workspace, crash-safely (see
// the package documentation for the journal protocol). Every change is
// applied wholly or not at all. It returns a non-nil error wrapping
// ErrIncomplete (and ErrConflicts, ErrProtected, ErrRefused or ErrFailed)
// when something selected was left out, so the caller can exit non-zero;
// the report is valid in that case too.
func (s *Session) Apply(opts ApplyOptions) (ApplyReport, error) {
	var rep ApplyReport
	release, err := s.acquire()
	if err != nil {
		return rep, fmt.Errorf("apply: %w", err)
	}
	defer release()
	if err := s.refreshMeta(); err != nil {
		return rep, fmt.Errorf("apply: %w", err)
	}
	if _, err := s.recoverLocked(); err != nil {
		return rep, fmt.Errorf("apply: %w", err)
	}
	v, err := s.openView()
	if err != nil {
		return rep, fmt.Errorf("apply: %w", err)
	}
	defer v.close()
	changes, err := v.changes(opts.Protected)
	if err != nil {
		return rep, fmt.Errorf("apply: %w", err)
	}
	wanted, err := selectChanges(changes, opts, &rep)
	if err != nil {
		return rep, fmt.Errorf("apply: %w", err)
	}
	applyID := fmt.Sprintf("%x", randomBytes(8))
	ops := buildPlan(changes, wanted, applyID)
	if len(ops) > 0 {
		// A fresh resolver: the view's one cached lookups of paths this
		// apply is about to create.
		a := &applier{s: s, ws: v.ws, upper: v.upper, res: newResolver(v.ws)}
		defer a.res.close()
		j, err := createJournal(s.journalPath(), applyID, s.meta.Workspace, ops)
		if err != nil {
			return rep, fmt.Errorf("apply: %w", err)
		}
		a.j = j
		hook("journal")
		if err := a.stage(); err != nil {
			rbErr := a.rollback()
			if rbErr != nil {
				return rep, fmt.Errorf("apply: %w; rolling back also failed: %v", err, rbErr)
			}
			return rep, fmt.Errorf("apply: %w (nothing was changed in the workspace)", err)
		}
		if err := j.commit(); err != nil {
			rbErr := a.rollback()
			if rbErr != nil {
				return rep, fmt.Errorf("apply: %w; rolling back also failed: %v", err, rbErr)
			}
			return rep, fmt.Errorf("apply: %w (nothing was changed in the workspace)", err)
		}
		hook("commit")
		res, err := a.rollForward()
		if err != nil {
			return rep, fmt.Errorf("apply: %w (run any airlock command to finish it)", err)
		}
		rep.Applied = res.applied
		rep.Failed = res.failed
		rep.Conflicts = append(rep.Conflicts, res.conflicts...)
		rep.Messages = append(rep.Messages, res.messages...)
	}
	sortReport(&rep)
	return rep, reportError(&rep)
}

func sortReport(rep *ApplyReport) {
	for _, l := range []*[]string{&rep.Applied, &rep.Skipped, &rep.Conflicts, &rep.Protected, &rep.Refused, &rep.Failed} {
		sort.Strings(*l)
	}
}

// reportError builds Apply's error from what the report left out.
func reportError(rep *ApplyReport) error {
	var errs []error
	var parts []string
	add := func(n int, what string, e error) {
		if n > 0 {
			errs = append(errs, e)
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(len(rep.Conflicts), "conflicting", ErrConflicts)
	add(len(rep.Protected), "protected", ErrProtected)
	add(len(rep.Refused), "refused", ErrRefused)
	add(len(rep.Failed), "failed", ErrFailed)
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s change(s) left out: %w", ErrIncomplete, strings.Join(parts, ", "), errors.Join(errs...))
}

// Roles of a change in the selection: most changes are chosen on their own
// ("explicit"); some follow from others.
const (
	roleExplicit   = iota
	roleImpliedAdd // new directory holding other changes: made when one of them is applied
	roleImpliedDel // deleted directory holding other deletions: removed when all of them are
	roleOwned      // deletion below a directory replaced by a non-directory: goes with it
)

// selectChanges decides which changes to apply and fills the left-out
// lists of rep.
func selectChanges(changes []Change, opts ApplyOptions, rep *ApplyReport) ([]bool, error) {
	n := len(changes)
	index := make(map[string]int, n)
	for i := range changes {
		index[changes[i].Path] = i
	}
	hasDesc := make([]bool, n)
	for i := 0; i+1 < n; i++ {
		hasDesc[i] = strings.HasPrefix(changes[i+1].Path, changes[i].Path+"/")
	}
	// nearest ancestor change of each change, or -1.
	parent := make([]int, n)
	for i := range changes {
		parent[i] = -1
		for d, _ := splitRel(changes[i].Path); d != ""; d, _ = splitRel(d) {
			if j, ok := index[d]; ok {
				parent[i] = j
				break
			}
		}
	}
	role := make([]int, n)
	owner := make([]int, n)
	for i := range changes {
		c := &changes[i]
		owner[i] = -1
		switch {
		case c.Kind == Added && c.up != nil && c.up.Type == typeDir && c.Refused == "" && hasDesc[i]:
			role[i] = roleImpliedAdd
		case c.Kind == Deleted && c.base.Type == typeDir && hasDesc[i]:
			role[i] = roleImpliedDel
		}
		if c.Kind == Deleted {
			for j := parent[i]; j >= 0; j = parent[j] {
				pc := &changes[j]
				if pc.Kind == TypeChanged && pc.base != nil && pc.base.Type == typeDir {
					role[i], owner[i] = roleOwned, j
					break
				}
			}
		}
	}
	// eligible reports whether c may be applied at all, and if not which
	// list it belongs to and why.
	type verdict struct {
		ok     bool
		list   *[]string
		reason string
	}
	check := func(c *Change) verdict {
		switch {
		case c.Refused != "":
			return verdict{list: &rep.Refused, reason: c.Refused}
		case c.Conflict != "" && (c.hard || !opts.Force):
			return verdict{list: &rep.Conflicts, reason: c.Conflict}
		case c.Protected && !opts.IncludeProtected:
			return verdict{list: &rep.Protected, reason: fmt.Sprintf("protected by %q", c.ProtectedBy)}
		}
		return verdict{ok: true}
	}
	verdicts := make([]verdict, n)
	for i := range changes {
		verdicts[i] = check(&changes[i])
	}
	// A directory replaced by a non-directory needs every deletion below it.
	for i := range changes {
		if role[i] == roleOwned && !verdicts[i].ok && verdicts[owner[i]].ok {
			v := verdicts[i]
			v.reason = fmt.Sprintf("needs %s deleted: %s", changes[i].Path, v.reason)
			verdicts[owner[i]] = v
		}
	}
	leftOut := func(list *[]string, c *Change, reason string) {
		*list = append(*list, c.Path)
		rep.Messages = append(rep.Messages, fmt.Sprintf("%s: %s", quotePath(c.Path), reason))
	}
	wanted := make([]bool, n)
	// blocked reports why c cannot be applied because of a new directory
	// above it that is not being made, or "".
	blocked := func(i int) string {
		for j := parent[i]; j >= 0; j = parent[j] {
			pc := &changes[j]
			switch {
			case role[j] == roleImpliedAdd:
				if !verdicts[j].ok {
					return fmt.Sprintf("needs new directory %s: %s", pc.Path, verdicts[j].reason)
				}
				continue
			case pc.up != nil && pc.up.Type == typeDir && (pc.Kind == Added || pc.Kind == TypeChanged):
				if !wanted[j] {
					return fmt.Sprintf("needs %s, which is not being applied", pc.Path)
				}
			}
			return ""
		}
		return ""
	}
	for i := range changes {
		c := &changes[i]
		switch role[i] {
		case roleImpliedAdd, roleImpliedDel:
			continue
		case roleOwned:
			wanted[i] = wanted[owner[i]]
			continue
		}
		if !matchesPaths(c.Path, opts.Paths) {
			continue
		}
		if v := verdicts[i]; !v.ok {
			leftOut(v.list, c, v.reason)
			continue
		}
		if why := blocked(i); why != "" {
			leftOut(&rep.Skipped, c, why)
			continue
		}
		if opts.Confirm != nil {
			yes, err := opts.Confirm(*c)
			if err != nil {
				return nil, err
			}
			if !yes {
				rep.Skipped = append(rep.Skipped, c.Path)
				continue
			}
		}
		wanted[i] = true
	}
	// Implied directories, deepest first so nested ones see their
	// children's decisions.
	for i := n - 1; i >= 0; i-- {
		c := &changes[i]
		switch role[i] {
		case roleImpliedAdd:
			any := false
			for k := i + 1; k < n && strings.HasPrefix(changes[k].Path, c.Path+"/"); k++ {
				any = any || wanted[k]
			}
			switch {
			case any:
				wanted[i] = true
			case verdicts[i].ok || !matchesPaths(c.Path, opts.Paths):
			case verdicts[i].list == &rep.Protected:
				// Everything below a protected directory is protected
				// and already listed.
			default:
				leftOut(verdicts[i].list, c, verdicts[i].reason)
			}
		case roleImpliedDel:
			if !matchesPaths(c.Path, opts.Paths) {
				continue
			}
			if !verdicts[i].ok {
				leftOut(verdicts[i].list, c, verdicts[i].reason)
				continue
			}
			all := true
			for k := i + 1; k < n && strings.HasPrefix(changes[k].Path, c.Path+"/"); k++ {
				all = all && wanted[k]
			}
			if all {
				wanted[i] = true
			} else {
				leftOut(&rep.Skipped, c, "not every entry below it is being deleted")
			}
		}
	}
	return wanted, nil
}

// planner turns the wanted changes into journal steps.
type planner struct {
	applyID string
	n       int
	ops     []journalOp
	// tempDirs maps the final path of a directory that replaces a
	// non-directory to where it is built during staging.
	tempDirs map[string]tempDir
}

type tempDir struct {
	staging string // workspace path of the temporary directory
	op      int    // index of its stage-dir step
}

func (p *planner) temp() string {
	p.n++
	return fmt.Sprintf(".airlock-%s-%d", p.applyID, p.n)
}

// stagingDir returns where the final directory d is while staging, and
// the InTemp value for steps there.
func (p *planner) stagingDir(d string) (string, int) {
	for a := d; ; a, _ = splitRel(a) {
		if td, ok := p.tempDirs[a]; ok {
			return td.staging + d[len(a):], td.op + 1
		}
		if a == "" {
			return d, 0
		}
	}
}

func (p *planner) add(op journalOp) int {
	p.ops = append(p.ops, op)
	return len(p.ops) - 1
}

// buildPlan returns the steps for the wanted changes: phase-1 steps in path
// order (parents before children), then phase-3 steps in a safe order.
func buildPlan(changes []Change, wanted []bool, applyID string) []journalOp {
	p := &planner{applyID: applyID, tempDirs: map[string]tempDir{}}
	var late []journalOp
	for i := range changes {
		if !wanted[i] {
			continue
		}
		c := &changes[i]
		dir, name := splitRel(c.Path)
		sdir, inTemp := p.stagingDir(dir)
		cur := c.cur
		if c.underNew {
			cur = fileStat{}
		}
		switch {
		case c.up == nil: // deletion
			switch cur.Type {
			case typeNone:
				late = append(late, journalOp{Op: opNoop, Path: c.Path, Gone: true})
			case typeDir:
				late = append(late, journalOp{Op: opRmdir, Path: c.Path, Dir: dir, Name: name, Gone: true})
			default:
				late = append(late, journalOp{Op: opRemove, Path: c.Path, Dir: dir, Name: name, Expect: expectOf(cur), Gone: true})
			}
		case c.up.Type == typeDir:
			mode := appliedBits(c.up.Mode)
			switch {
			case cur.Type == typeDir:
				if c.Kind == ModeChanged {
					late = append(late, journalOp{Op: opChmod, Path: c.Path, Mode: mode})
				} else {
					late = append(late, journalOp{Op: opNoop, Path: c.Path})
				}
			case cur.Type == typeNone:
				p.add(journalOp{Op: opMkdir, Path: c.Path, Dir: sdir, Name: name, InTemp: inTemp})
				late = append(late, journalOp{Op: opChmod, Path: c.Path, Mode: mode})
			default:
				t := p.temp()
				k := p.add(journalOp{Op: opStageDir, Path: c.Path, Dir: sdir, Temp: t, InTemp: inTemp})
				p.tempDirs[c.Path] = tempDir{staging: joinRel(sdir, t), op: k}
				late = append(late,
					journalOp{Op: opInstall, Path: c.Path, Dir: sdir, Temp: t, Name: name, Expect: expectOf(cur), InTemp: inTemp},
					journalOp{Op: opChmod, Path: c.Path, Mode: mode})
			}
		default: // regular file or symlink
			t := p.temp()
			if c.up.Type == typeSymlink {
				p.add(journalOp{Op: opStageLink, Path: c.Path, Dir: sdir, Temp: t, Target: c.up.Target, InTemp: inTemp})
			} else {
				p.add(journalOp{Op: opStageFile, Path: c.Path, Dir: sdir, Temp: t, Src: c.Path, Mode: appliedBits(c.up.Mode), InTemp: inTemp})
			}
			inst := journalOp{Op: opInstall, Path: c.Path, Dir: sdir, Temp: t, Name: name, Expect: expectOf(cur), InTemp: inTemp}
			if cur.Type == typeDir {
				// A directory replaced by a file: the deletions below it
				// run first, then install removes the empty directory.
				inst.ReplaceDir = true
			}
			late = append(late, inst)
		}
	}
	rank := map[string]int{opRemove: 0, opRmdir: 1, opInstall: 2, opChmod: 3, opNoop: 4}
	sort.SliceStable(late, func(i, j int) bool {
		a, b := &late[i], &late[j]
		if rank[a.Op] != rank[b.Op] {
			return rank[a.Op] < rank[b.Op]
		}
		if da, db := depth(a.Path), depth(b.Path); da != db {
			return da > db // deepest first
		}
		return a.Path < b.Path
	})
	return append(p.ops, late...)
}
