package main

import (
	"fmt"
	"strings"
	"time"
)

// Report holds everything docs/BENCHMARKS.md shows. render turns it into
// markdown without doing any I/O, so the layout can be tested on fixed data.
type Report struct {
	Date    time.Time
	Command string // the command line that produced the report
	Facts   []Fact // machine facts and tool versions, in display order

	StartupIters int // round-robin iterations of the start-up phase
	Startup      []Row

	RSSMethod string
	RSS       []RSSRow

	Checks []Check // ratios and limits compared to their targets

	Tree      string // description of the generated tree
	FileIters int
	FileHeavy []FileRow

	Egress *EgressReport // nil when the egress phase did not run

	Sections []Section // further phases, rendered by themselves

	Notes []string // run-specific notes (failures, early stops)
}

// Fact is one line of the machine table.
type Fact struct {
	Key, Value string
}

// Row is one contender of the start-up phase.
type Row struct {
	Name    string
	Command string
	N       int // successful timed runs
	Min     time.Duration
	Median  time.Duration
	P90     time.Duration
	// Unavailable says why the contender has no figures; empty when it has.
	Unavailable string
}

// RSSRow is the peak resident set size of one contender.
type RSSRow struct {
	Name      string
	N         int
	MaxKiB    int64 // largest ru_maxrss over the runs, via the fork launcher
	MedianKiB int64
	// DirectKiB is the largest ru_maxrss the harness read from its own wait4;
	// it is an upper bound inflated by the harness's own size (see notes).
	DirectKiB   int64
	Unavailable string
}

// Check is one figure compared to its target.
type Check struct {
	Metric string
	Value  string
	Target string // empty for figures reported without a target
	Status string // statusPass, statusMiss, statusNA, or empty without a target
}

// FileRow is one workload of the file-heavy phase, bare and sandboxed.
type FileRow struct {
	Workload     string // markdown label
	Bare         Row
	Airlock      Row
	Raw          float64 // airlock median / bare median
	ExecOverhead float64 // see execOverhead; NaN for the `true` baseline
	// ExecOverheadMin is the same formula on the fastest runs, which load
	// from other processes inflates least; it is shown, not checked.
	ExecOverheadMin float64
	OverheadCheck   string // status of ExecOverhead against its target
}

// execOverheadTarget is the bound the in-sandbox execution overhead of the
// file-heavy workloads is checked against.
var execOverheadTarget = target{op: "<", limit: 0.05}

// render returns the markdown document for r.
func render(r Report) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# Benchmarks\n\n")
	p("Generated %s by running, from the repository root:\n\n", r.Date.UTC().Format("2006-01-02 15:04 MST"))
	p("```sh\n%s\n```\n\n", r.Command)
	p("This file is written by the benchmark; rerun the command above instead of editing it.\n")
	p("Methodology is described at the end and in [bench/README.md](../bench/README.md).\n\n")

	p("## Machine\n\n")
	p("| fact | value |\n| --- | --- |\n")
	for _, f := range r.Facts {
		p("| %s | %s |\n", cell(f.Key), cell(f.Value))
	}
	p("\n")

	p("## Targets\n\n")
	p("| metric | value | target | result |\n| --- | --- | --- | --- |\n")
	for _, c := range r.Checks {
		tgt, st := c.Target, c.Status
		if tgt == "" {
			tgt, st = "(none)", "info"
		}
		p("| %s | %s | %s | %s |\n", cell(c.Metric), cell(c.Value), cell(tgt), st)
	}
	p("\n")

	p("## Start-up: each sandbox running `true`\n\n")
	if len(r.Startup) == 0 {
		p("Skipped (-skip-startup).\n\n")
	} else {
		renderStartup(p, r)
	}

	p("## File-heavy workloads\n\n")
	p("%s\n\n", r.Tree)
	if len(r.FileHeavy) > 0 {
		renderFileHeavy(p, r)
	}

	if r.Egress != nil {
		renderEgress(p, r.Egress)
	}
	for _, s := range r.Sections {
		p("## %s\n\n%s\n\n", s.Title, strings.TrimRight(s.Body, "\n"))
	}

	if len(r.Notes) > 0 {
		p("## Notes on this run\n\n")
		for _, n := range r.Notes {
			p("- %s\n", oneLine(n))
		}
		p("\n")
	}

	p("## Methodology\n\n")
	for _, m := range methodology {
		p("- %s\n", m)
	}
	return b.String()
}

// renderStartup writes the start-up and peak-RSS tables.
func renderStartup(p func(string, ...any), r Report) {
	p("%d round-robin iterations; wall time from fork to reaped exit, as seen by the harness.\n\n", r.StartupIters)
	p("| contender | command | runs | min | median | p90 |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, row := range r.Startup {
		if row.Unavailable != "" {
			p("| %s | `%s` | 0 | not measured: %s | | |\n", cell(row.Name), code(row.Command), cell(row.Unavailable))
			continue
		}
		p("| %s | `%s` | %d | %s | %s | %s |\n", cell(row.Name), code(row.Command), row.N,
			formatDuration(row.Min), formatDuration(row.Median), formatDuration(row.P90))
	}
	p("\n")

	p("## Peak RSS\n\n")
	p("%s\n\n", r.RSSMethod)
	p("| contender | runs | peak ru_maxrss (max) | median | harness wait4 (upper bound) |\n| --- | --- | --- | --- | --- |\n")
	for _, row := range r.RSS {
		if row.Unavailable != "" {
			p("| %s | 0 | not measured: %s | | |\n", cell(row.Name), cell(row.Unavailable))
			continue
		}
		p("| %s | %d | %s | %s | %s |\n", cell(row.Name), row.N, formatKiB(row.MaxKiB),
			formatKiB(row.MedianKiB), formatKiB(row.DirectKiB))
	}
	p("\n")
}

// renderFileHeavy writes the file-heavy table.
func renderFileHeavy(p func(string, ...any), r Report) {
	p("%d round-robin iterations. The execution overhead takes the fixed start-up cost out of both sides:\n", r.FileIters)
	p("`(airlock_cmd - airlock_true) / (bare_cmd - bare_true) - 1`, where `airlock_true` is `airlock run --workspace TREE -- true`\n")
	p("measured in the same iterations. That figure is the one compared to the < 5%% target; the raw ratio includes start-up.\n")
	p("Rows marked N× run the command N times in one `sh` (one sandbox for the airlock side), so start-up and its noise are paid once\n")
	p("and the execution overhead is measured on N times more work.\n\n")
	p("The last column applies the same formula to the fastest run of each side, which load from other processes inflates least;\n")
	p("it is a cross-check on noise, not the figure compared to the target.\n\n")
	p("| workload | bare median (p90) | airlock median (p90) | raw ratio | execution overhead | target | result | overhead from minimums |\n")
	p("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, f := range r.FileHeavy {
		bare, air := medianCell(f.Bare), medianCell(f.Airlock)
		tgt, st := "< 5%", f.OverheadCheck
		over, overMin := formatPercent(f.ExecOverhead), formatPercent(f.ExecOverheadMin)
		if f.OverheadCheck == "" {
			tgt, st, over, overMin = "", "", "(baseline)", ""
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", oneLine(f.Workload), bare, air, formatRatio(f.Raw), over, tgt, st, overMin)
	}
	p("\n")
}

// methodology is the fixed part of the notes in the rendered document.
var methodology = []string{
	"All contenders run in one process, interleaved: every iteration runs each contender once, and the starting contender rotates from one iteration to the next, so drift in machine load (other jobs on a 2-core box) spreads evenly instead of landing on one contender.",
	"Each contender is warmed up first (page cache, npm module cache, runsc state); a contender that fails its warm-up is reported as not measured, with the reason, never as fast.",
	"Wall time is measured by the Go harness around fork/exec and wait4 with stdin from /dev/null and output to files, so it includes everything a caller waits for: supervisor start, namespace and mount setup, helper processes, and teardown.",
	"Median is the middle sample (mean of the two middle ones for an even count); p90 is the nearest-rank 90th percentile. Ratios are ratios of medians.",
	"ru_maxrss from wait4 is the largest resident set of the waited process over its life and of every descendant it reaped (the kernel folds reaped children's maxima into the parent's), so for Airlock it is the max over the supervisor, its re-executed init and the sandboxed command, not a sum. Go's os/exec starts children with vfork semantics (CLONE_VM), and the kernel then carries the parent's high-water RSS into the child at exec, so a value read by the Go harness directly is at least the harness's own size; the peak RSS figures therefore come from GNU time, which forks a copy of itself (about 1 MiB, shown by bare `true`) and reads wait4 for the process it started.",
	"The file-heavy tree is generated fresh in a temporary directory and committed once with git; `git status` and `find` run with the tree as current directory, and the sandboxed output is compared to the bare output (a mismatch is reported as a failure). Bare runs use the tree and airlock runs an identical `cp -a` copy, because git's index records each file's owner and inode: if the sandbox shows files with another owner, alternating both sides on one repository makes every `git status` re-hash the whole tree. That ping-pong is measured separately and reported under the notes.",
	"No network beyond loopback is used while measuring (srt's proxies listen on 127.0.0.1); tools are installed beforehand with apt-get and npm as configured on the machine.",
}

// medianCell renders "median (p90)" or the reason a row is missing.
func medianCell(r Row) string {
	if r.Unavailable != "" {
		return "not measured: " + cell(r.Unavailable)
	}
	return fmt.Sprintf("%s (%s)", formatDuration(r.Median), formatDuration(r.P90))
}

// cell makes s safe inside a markdown table cell: every pipe is escaped
// once, including in text that already escaped some.
func cell(s string) string {
	s = strings.ReplaceAll(oneLine(s), `\|`, "|")
	return strings.ReplaceAll(s, "|", `\|`)
}

// code makes s safe inside a backquoted span in a table cell.
func code(s string) string {
	return strings.ReplaceAll(cell(s), "`", "'")
}

// oneLine folds whitespace runs, including newlines, into single spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
