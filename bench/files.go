package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// workload is one command of the file-heavy phase.
type workload struct {
	name  string // plain, for messages
	label string // markdown, for the report
	argv  []string
}

// fileWorkloads lists the file-heavy workloads: `true` as the start-up
// baseline, git status and find once each, and both repeated reps times in
// one shell, which shrinks the share of start-up noise in the execution
// overhead by the same factor.
func fileWorkloads(reps int) []workload {
	ws := []workload{
		{"true", "`true`", []string{"true"}},
		{"git status", "`git status`", []string{"git", "status"}},
		{"find . -type f | wc -l", "`find . -type f \\| wc -l`", []string{"sh", "-c", "find . -type f | wc -l"}},
	}
	if reps > 1 {
		loop := fmt.Sprintf("i=0; while [ $i -lt %d ]; do %%s; i=$((i+1)); done", reps)
		ws = append(ws,
			workload{fmt.Sprintf("git status x%d", reps), fmt.Sprintf("`git status` %d× in one run", reps),
				[]string{"sh", "-c", fmt.Sprintf(loop, "git status")}},
			workload{fmt.Sprintf("find x%d", reps), fmt.Sprintf("`find . -type f \\| wc -l` %d× in one run", reps),
				[]string{"sh", "-c", fmt.Sprintf(loop, "find . -type f | wc -l")}},
		)
	}
	return ws
}

// fileHeavy builds the tree and times git status and find in it, bare and
// inside airlock, interleaved.
//
// The bare side and the airlock side each get their own copy of the tree. A
// git index records the owner, inode and times of every file it has seen; if
// the sandbox shows the files differently (its user namespace maps owners),
// a git status on one side makes the next one on the other side re-hash the
// whole tree, and interleaving both sides on one repository would measure
// that ping-pong instead of either side. pingPong measures it on purpose.
func fileHeavy(cfg config, scratch, runs string, deadline time.Time, log io.Writer, rep *Report) ([]FileRow, error) {
	bareTree := filepath.Join(scratch, "tree")
	airTree := filepath.Join(scratch, "tree-airlock")
	fmt.Fprintf(log, "bench: creating a %d-file tree in %s\n", cfg.files, bareTree)
	t0 := time.Now()
	if err := makeTree(bareTree, cfg.files); err != nil {
		return nil, fmt.Errorf("make tree: %w", err)
	}
	if err := copyTree(bareTree, airTree); err != nil {
		return nil, err
	}
	rep.Tree += fmt.Sprintf(" Creating it and a copy (`cp -a`) took %s: bare runs use the tree and airlock runs the copy, see below.",
		time.Since(t0).Round(100*time.Millisecond))

	workloads := fileWorkloads(cfg.reps)
	k := len(workloads)
	var cs []contender
	for _, w := range workloads {
		cs = append(cs, newContender("bare "+w.name, bareTree, w.argv[0], w.argv[1:]...))
	}
	for _, w := range workloads {
		c := newContender("airlock "+w.name, airTree, cfg.airlock, airlockArgs(airTree, w.argv)...)
		if c.unavailable != "" {
			c.unavailable = "binary not found"
		}
		cs = append(cs, c)
	}
	// The bare output of each workload is what the sandboxed run must print.
	for i := range workloads {
		o := runOnce(cs[i].argv, bareTree, runs, cfg.fileTimeout)
		if o.err != nil {
			return nil, fmt.Errorf("bare %s: %w", workloads[i].name, o.err)
		}
		for _, j := range []int{i, i + k} {
			cs[j].wantStdout, cs[j].checkOut = o.stdout, true
		}
		if i > 0 && i <= 2 {
			rep.Tree += fmt.Sprintf(" Bare `%s` prints %q.", workloads[i].name, firstLine(string(o.stdout)))
		}
	}
	shown := strings.NewReplacer(airTree, "TREE", bareTree, "TREE")
	for i := range cs {
		cs[i].display = shown.Replace(displayCommand(cs[i].argv))
	}
	fmt.Fprintf(log, "bench: file-heavy phase: %d warm-up + %d timed runs per workload\n", cfg.warmup, cfg.nFile)
	ph := &phase{contenders: cs, scratch: runs, timeout: cfg.fileTimeout, deadline: deadline, log: log}
	ph.warmUp(cfg.warmup)
	ss, iters := ph.measure(cfg.nFile)
	rep.FileIters = iters
	if iters < cfg.nFile {
		rep.Notes = append(rep.Notes, fmt.Sprintf("file-heavy phase stopped at the -max-time deadline after %d of %d iterations", iters, cfg.nFile))
	}
	rows := make([]Row, len(cs))
	for i, c := range ph.contenders {
		rows[i] = toRow(c, ss[i])
		rep.Notes = append(rep.Notes, failureNote(c.name, ss[i])...)
	}
	var out []FileRow
	for i, w := range workloads {
		bare, air := rows[i], rows[i+k]
		fr := FileRow{Workload: w.label, Bare: bare, Airlock: air, Raw: ratio(air.Median, bare.Median),
			ExecOverhead: math.NaN(), ExecOverheadMin: math.NaN()}
		if i > 0 {
			fr.ExecOverhead = execOverhead(air.Median, rows[k].Median, bare.Median, rows[0].Median)
			fr.OverheadCheck = execOverheadTarget.status(fr.ExecOverhead)
			fr.ExecOverheadMin = execOverhead(air.Min, rows[k].Min, bare.Min, rows[0].Min)
		}
		out = append(out, fr)
	}

	if cs[1].unavailable == "" && cs[1+k].unavailable == "" && time.Now().Before(deadline) {
		fmt.Fprintf(log, "bench: git index ping-pong check\n")
		rep.Notes = append(rep.Notes, pingPong(cfg, airTree, runs, rows[1], rows[1+k]))
	}
	return out, nil
}

// airlockArgs is the argument list that runs argv in airlock with tree as
// the workspace.
func airlockArgs(tree string, argv []string) []string {
	return append([]string{"run", "--workspace", tree, "--"}, argv...)
}

// copyTree copies src to dst with cp -a, which keeps modes and times but
// gives every file a new inode.
func copyTree(src, dst string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "cp", "-a", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("copy tree: %w: %s", err, tailOf(out, 400))
	}
	return nil
}

// pingPongRounds is how many times pingPong alternates the two sides.
const pingPongRounds = 3

// pingPong runs git status alternately bare and inside airlock on one
// repository and reports how that compares to each side on its own, with the
// owner of a file as each side sees it, which is what usually differs.
func pingPong(cfg config, tree, runs string, bareSteady, airSteady Row) string {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return "git index ping-pong not measured: " + err.Error()
	}
	bareArgv := []string{gitBin, "status"}
	airArgv := append([]string{cfg.airlock}, airlockArgs(tree, []string{"git", "status"})...)
	var bare, air []time.Duration
	for range pingPongRounds {
		for _, side := range []struct {
			argv []string
			into *[]time.Duration
		}{{bareArgv, &bare}, {airArgv, &air}} {
			o := runOnce(side.argv, tree, runs, cfg.fileTimeout)
			if o.err != nil {
				return "git index ping-pong not measured: " + o.err.Error()
			}
			*side.into = append(*side.into, o.wall)
		}
	}
	owner := func(argv []string) string {
		o := runOnce(argv, tree, runs, cfg.fileTimeout)
		if o.err != nil {
			return "unknown"
		}
		return strings.TrimSpace(string(o.stdout))
	}
	statArgv := []string{"stat", "-c", "%u:%g", treePath(0)}
	if p, err := exec.LookPath("stat"); err == nil {
		statArgv[0] = p
	}
	outside := owner(statArgv)
	inside := owner(append([]string{cfg.airlock}, airlockArgs(tree, statArgv)...))
	return fmt.Sprintf("git index ping-pong: `git status` alternating bare and in airlock on one repository, %d rounds: "+
		"bare median %s (%s when only bare runs touch the repository), airlock median %s (%s alone). "+
		"Files are owned by uid:gid %s outside and show as %s inside the sandbox; git records the owner in the index, "+
		"so when the two differ each side re-hashes every file the other side's run left in the index.",
		pingPongRounds, formatDuration(median(bare)), formatDuration(bareSteady.Median),
		formatDuration(median(air)), formatDuration(airSteady.Median), outside, inside)
}
