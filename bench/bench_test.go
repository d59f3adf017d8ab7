package main

import (
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"empty", nil, 0},
		{"one", []time.Duration{ms(3)}, ms(3)},
		{"odd unsorted", []time.Duration{ms(9), ms(1), ms(5)}, ms(5)},
		{"even takes mean of middle two", []time.Duration{ms(4), ms(1), ms(2), ms(10)}, ms(3)},
		{"outlier does not move it", []time.Duration{ms(1), ms(2), ms(3), ms(4), ms(5000)}, ms(3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestMedianDoesNotReorderInput(t *testing.T) {
	in := []time.Duration{3, 1, 2}
	median(in)
	percentile(in, 90)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Errorf("input reordered to %v, want [3 1 2]", in)
	}
}

func TestPercentile(t *testing.T) {
	ten := []time.Duration{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	twenty := make([]time.Duration, 20)
	for i := range twenty {
		twenty[i] = time.Duration(i + 1)
	}
	tests := []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 90, 0},
		{"single", []time.Duration{7}, 90, 7},
		{"p90 of 10 is the 9th", ten, 90, 9},
		{"p90 of 20 is the 18th", twenty, 90, 18},
		{"p90 of 3 is the max", []time.Duration{1, 2, 3}, 90, 3},
		{"p0 is the min", ten, 0, 1},
		{"p100 is the max", ten, 100, 10},
		{"p50 of 10 is the 5th", ten, 50, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
			}
		})
	}
}

func TestMedianInt(t *testing.T) {
	tests := []struct {
		name string
		in   []int64
		want int64
	}{
		{"empty", nil, 0},
		{"odd", []int64{5, 1, 3}, 3},
		{"even", []int64{1, 2, 3, 5}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := medianInt(tt.in); got != tt.want {
				t.Errorf("medianInt(%v) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestExecOverhead(t *testing.T) {
	tests := []struct {
		name                     string
		aCmd, aTrue, bCmd, bTrue time.Duration
		want                     float64
		wantNaN                  bool
	}{
		{"no overhead", ms(110), ms(10), ms(101), ms(1), 0, false},
		{"ten percent", ms(120), ms(10), ms(101), ms(1), 0.10, false},
		{"faster inside", ms(100), ms(10), ms(101), ms(1), -0.10, false},
		{"bare not slower than true", ms(100), ms(10), ms(1), ms(1), 0, true},
		{"missing sandbox figure", 0, ms(10), ms(101), ms(1), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := execOverhead(tt.aCmd, tt.aTrue, tt.bCmd, tt.bTrue)
			if tt.wantNaN {
				if !math.IsNaN(got) {
					t.Errorf("got %v, want NaN", got)
				}
				return
			}
			if math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"ratio small", formatRatio(1.234), "1.23x"},
		{"ratio medium", formatRatio(45.67), "45.7x"},
		{"ratio large", formatRatio(312.4), "312x"},
		{"ratio NaN", formatRatio(math.NaN()), "n/a"},
		{"ratio Inf", formatRatio(math.Inf(1)), "n/a"},
		{"ratio of medians", formatRatio(ratio(ms(9), ms(6))), "1.50x"},
		{"ratio missing denominator", formatRatio(ratio(ms(9), 0)), "n/a"},
		{"duration sub-ms", formatDuration(ms(0.844)), "0.84 ms"},
		{"duration tens", formatDuration(ms(12.345)), "12.35 ms"},
		{"duration hundreds", formatDuration(ms(356.24)), "356.2 ms"},
		{"duration seconds", formatDuration(2140 * time.Millisecond), "2140 ms"},
		{"duration missing", formatDuration(0), "n/a"},
		{"percent positive", formatPercent(0.032), "+3.2%"},
		{"percent negative", formatPercent(-0.015), "-1.5%"},
		{"percent NaN", formatPercent(math.NaN()), "n/a"},
		{"KiB", formatKiB(7 * 1024), "7.0 MiB"},
		{"KiB fraction", formatKiB(1536), "1.5 MiB"},
		{"KiB missing", formatKiB(0), "n/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestTargetStatus(t *testing.T) {
	tests := []struct {
		name string
		t    target
		v    float64
		want string
	}{
		{"le pass at bound", target{"<=", 1.5}, 1.5, statusPass},
		{"le miss", target{"<=", 1.5}, 1.51, statusMiss},
		{"ge pass", target{">=", 50}, 80, statusPass},
		{"ge miss", target{">=", 50}, 49.9, statusMiss},
		{"lt miss at bound", target{"<", 0.05}, 0.05, statusMiss},
		{"lt pass", target{"<", 0.05}, 0.049, statusPass},
		{"missing figure is never a pass", target{"<=", 1.5}, math.NaN(), statusNA},
		{"unknown operator", target{"==", 1}, 1, statusNA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.t.status(tt.v); got != tt.want {
				t.Errorf("%v %s %v: got %s, want %s", tt.v, tt.t.op, tt.t.limit, got, tt.want)
			}
		})
	}
}

func TestChecks(t *testing.T) {
	rows := map[string]Row{
		"airlock": {Name: "airlock", Median: ms(6)},
		"bwrap":   {Name: "bwrap", Median: ms(5)},
		"srt":     {Name: "srt", Median: ms(420)},
		"bare":    {Name: "bare", Median: ms(1)},
		"runsc":   {Name: "runsc", Unavailable: "not installed"},
	}
	rss := []RSSRow{{Name: "airlock", MaxKiB: 25 * 1024}}
	files := []FileRow{
		{Workload: "`true`", ExecOverhead: math.NaN(), Airlock: Row{Median: ms(60)}},
		{Workload: "`git status`", ExecOverhead: 0.02, OverheadCheck: statusPass, Raw: 1.8},
	}
	got := map[string]Check{}
	for _, c := range checks(rows, rss, files) {
		got[c.Metric] = c
	}
	want := []Check{
		{"start-up airlock / bwrap (medians)", "1.20x", "<= 1.5x", statusPass},
		{"start-up srt / airlock (medians)", "70.0x", ">= 50x", statusPass},
		{"start-up airlock / bare `true` (medians)", "6.00x", "", ""},
		{"start-up runsc / airlock (medians)", "n/a", "", ""},
		{"airlock peak RSS (`airlock run -- true`)", "25.0 MiB", "< 20 MiB", statusMiss},
		{"airlock start-up, file-heavy tree as workspace / small workspace (medians)", "10.0x (60.00 ms vs 6.00 ms)", "", ""},
		{"execution overhead of `git status` in the file-heavy tree", "+2.0%", "< 5%", statusPass},
		{"raw ratio of `git status` (airlock / bare, start-up included)", "1.80x", "", ""},
	}
	if len(got) != len(want) {
		t.Errorf("got %d checks, want %d: %v", len(got), len(want), got)
	}
	for _, w := range want {
		t.Run(w.Metric, func(t *testing.T) {
			if g, ok := got[w.Metric]; !ok || g != w {
				t.Errorf("got %+v, want %+v", g, w)
			}
		})
	}
}

func TestChecksRSSFallsBackToDirect(t *testing.T) {
	cs := checks(map[string]Row{}, []RSSRow{{Name: "airlock", DirectKiB: 8 * 1024}}, nil)
	for _, c := range cs {
		if strings.HasPrefix(c.Metric, "airlock peak RSS") {
			if c.Value != "8.0 MiB" || c.Status != statusPass {
				t.Errorf("got %s %s, want 8.0 MiB PASS", c.Value, c.Status)
			}
			return
		}
	}
	t.Fatal("no peak RSS check")
}

func sampleReport() Report {
	return Report{
		Date:         time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Command:      "go run ./bench -out docs/BENCHMARKS.md",
		Facts:        []Fact{{"CPUs (nproc)", "2"}, {"kernel", "6.1 | weird"}, {"escaped", `a \| b`}},
		StartupIters: 50,
		Startup: []Row{
			{Name: "airlock", Command: "airlock run -- true", N: 50, Min: ms(4), Median: ms(5.5), P90: ms(7)},
			{Name: "runsc", Command: "runsc do true", Unavailable: "exit status 1:\ncannot create sandbox"},
		},
		RSSMethod: "via GNU time",
		RSS:       []RSSRow{{Name: "airlock", N: 10, MaxKiB: 9000, MedianKiB: 8800, DirectKiB: 12000}},
		Checks: []Check{
			{"start-up airlock / bwrap (medians)", "1.10x", "<= 1.5x", statusPass},
			{"start-up airlock / bare `true` (medians)", "6.00x", "", ""},
		},
		Tree:      "Tree: 50000 files.",
		FileIters: 10,
		FileHeavy: []FileRow{
			{Workload: "`true`", Bare: Row{Median: ms(1), P90: ms(1.2)}, Airlock: Row{Median: ms(6), P90: ms(7)}, Raw: 6, ExecOverhead: math.NaN()},
			{Workload: "`find . -type f \\| wc -l`", Bare: Row{Median: ms(101), P90: ms(110)}, Airlock: Row{Median: ms(111), P90: ms(120)},
				Raw: 1.099, ExecOverhead: 0.05, OverheadCheck: statusMiss, ExecOverheadMin: 0.012},
		},
		Notes: []string{"srt: 1 of 50 timed runs failed\nsecond line"},
	}
}

func TestRender(t *testing.T) {
	md := render(sampleReport())
	wantLines := []string{
		"# Benchmarks",
		"Generated 2026-01-02 03:04 UTC by running, from the repository root:",
		"go run ./bench -out docs/BENCHMARKS.md",
		"| CPUs (nproc) | 2 |",
		`| kernel | 6.1 \| weird |`,
		`| escaped | a \| b |`,
		"| start-up airlock / bwrap (medians) | 1.10x | <= 1.5x | PASS |",
		"| start-up airlock / bare `true` (medians) | 6.00x | (none) | info |",
		"50 round-robin iterations; wall time from fork to reaped exit, as seen by the harness.",
		"| airlock | `airlock run -- true` | 50 | 4.00 ms | 5.50 ms | 7.00 ms |",
		"| runsc | `runsc do true` | 0 | not measured: exit status 1: cannot create sandbox | | |",
		"| airlock | 10 | 8.8 MiB | 8.6 MiB | 11.7 MiB |",
		"| `true` | 1.00 ms (1.20 ms) | 6.00 ms (7.00 ms) | 6.00x | (baseline) |  |  |  |",
		"| `find . -type f \\| wc -l` | 101.0 ms (110.0 ms) | 111.0 ms (120.0 ms) | 1.10x | +5.0% | < 5% | MISS | +1.2% |",
		"- srt: 1 of 50 timed runs failed second line",
		"## Methodology",
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(md, "\n") {
		lines[l] = true
	}
	for _, w := range wantLines {
		if !lines[w] {
			t.Errorf("rendered markdown has no line %q; got:\n%s", w, md)
		}
	}
	order := []string{"## Machine", "## Targets", "## Start-up", "## Peak RSS", "## File-heavy workloads", "## Notes on this run", "## Methodology"}
	last := -1
	for _, h := range order {
		i := strings.Index(md, h)
		if i <= last {
			t.Errorf("section %q at %d, want after %d", h, i, last)
		}
		last = i
	}
}

func TestRenderTablesHaveConsistentColumns(t *testing.T) {
	md := render(sampleReport())
	var cols int
	for _, l := range strings.Split(md, "\n") {
		if !strings.HasPrefix(l, "|") {
			cols = 0
			continue
		}
		n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|") - 1
		if cols == 0 {
			cols = n
			continue
		}
		if n != cols {
			t.Errorf("row %q has %d columns, want %d", l, n, cols)
		}
	}
}

func TestRenderWithoutNotesOmitsSection(t *testing.T) {
	r := sampleReport()
	r.Notes = nil
	if md := render(r); strings.Contains(md, "## Notes on this run") {
		t.Error("got a notes section for a report without notes, want none")
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"plain", []string{"-out", "docs/BENCHMARKS.md"}, "go run ./bench -out docs/BENCHMARKS.md"},
		{"quoted", []string{"-workdir", "/tmp/a b"}, `go run ./bench -workdir "/tmp/a b"`},
		{"empty", []string{"-srt", ""}, `go run ./bench -srt ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := commandLine(tt.args); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"defaults", nil, false},
		{"zero runs", []string{"-n", "0"}, true},
		{"stray argument", []string{"extra"}, true},
		{"unknown flag", []string{"-nope"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && (c.n != 50 || c.nFile != 10) {
				t.Errorf("got -n %d -nfile %d, want 50 and 10", c.n, c.nFile)
			}
		})
	}
}

func TestTreeLayout(t *testing.T) {
	tests := []struct {
		i    int
		want string
	}{
		{0, "d000/s00/f00.txt"},
		{49, "d000/s00/f49.txt"},
		{50, "d000/s01/f00.txt"},
		{999, "d000/s19/f49.txt"},
		{1000, "d001/s00/f00.txt"},
		{49999, "d049/s19/f49.txt"},
	}
	for _, tt := range tests {
		if got := treePath(tt.i); got != tt.want {
			t.Errorf("treePath(%d) = %q, want %q", tt.i, got, tt.want)
		}
	}
	seen := map[string]bool{}
	for i := range 2500 {
		p := treePath(i)
		if seen[p] {
			t.Fatalf("treePath(%d) = %q repeats an earlier path", i, p)
		}
		seen[p] = true
	}
	for _, tt := range []struct{ n, want int }{{0, 0}, {1, 2}, {50000, 1050}, {1001, 23}} {
		if got := treeDirs(tt.n); got != tt.want {
			t.Errorf("treeDirs(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
}

func TestMakeTree(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root := t.TempDir()
	const n = 120
	if err := makeTree(root, n); err != nil {
		t.Fatal(err)
	}
	files := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			files++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != n {
		t.Errorf("got %d files, want %d", files, n)
	}
	out, err := exec.Command("git", "-C", root, "status", "--porcelain").CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("git status --porcelain: got %q (err %v), want a clean tree", out, err)
	}
}

func TestParseTimeOutput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		want    int64
		wantErr bool
	}{
		{"plain", "1032\n", 1032, false},
		{"after non-zero status line", "Command exited with non-zero status 1\n2048\n", 2048, false},
		{"empty", "", 0, true},
		{"garbage", "abc\n", 0, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, string(rune('a'+i)))
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := parseTimeOutput(p)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

// TestPhase runs real, instant commands through the round-robin runner: a
// failing contender is dropped at warm-up, an output mismatch is caught, and
// every working contender gets one sample per iteration.
func TestPhase(t *testing.T) {
	trueBin, err1 := exec.LookPath("true")
	falseBin, err2 := exec.LookPath("false")
	echoBin, err3 := exec.LookPath("echo")
	if err1 != nil || err2 != nil || err3 != nil {
		t.Skip("true, false or echo is not installed")
	}
	dir := t.TempDir()
	cs := []contender{
		{name: "ok", argv: []string{trueBin}, dir: dir},
		{name: "fails", argv: []string{falseBin}, dir: dir},
		{name: "echo matches", argv: []string{echoBin, "hi"}, dir: dir, checkOut: true, wantStdout: []byte("hi\n")},
		{name: "echo differs", argv: []string{echoBin, "ho"}, dir: dir, checkOut: true, wantStdout: []byte("hi\n")},
	}
	ph := &phase{contenders: cs, scratch: dir, timeout: 10 * time.Second, deadline: time.Now().Add(time.Minute), log: io.Discard}
	ph.warmUp(1)
	ss, iters := ph.measure(3)
	if iters != 3 {
		t.Errorf("got %d iterations, want 3", iters)
	}
	wantN := map[string]int{"ok": 3, "fails": 0, "echo matches": 3, "echo differs": 0}
	for i, c := range ph.contenders {
		if got := len(ss[i].walls); got != wantN[c.name] {
			t.Errorf("%s: got %d samples, want %d", c.name, got, wantN[c.name])
		}
		if wantN[c.name] == 0 && c.unavailable == "" {
			t.Errorf("%s: got available, want marked unavailable", c.name)
		}
		row := toRow(c, ss[i])
		if wantN[c.name] > 0 && (row.Median <= 0 || row.Min > row.Median || row.Median > row.P90) {
			t.Errorf("%s: got min %v median %v p90 %v, want 0 < min <= median <= p90", c.name, row.Min, row.Median, row.P90)
		}
	}
}

func TestPhaseTimeout(t *testing.T) {
	sleepBin, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("sleep is not installed")
	}
	start := time.Now()
	o := runOnce([]string{sleepBin, "30"}, t.TempDir(), t.TempDir(), 200*time.Millisecond)
	if o.err == nil || !strings.Contains(o.err.Error(), "timed out") {
		t.Errorf("got error %v, want a timeout", o.err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("got a run of %v, want it killed near the 200ms timeout", d)
	}
}

func TestPhaseDeadline(t *testing.T) {
	trueBin, err := exec.LookPath("true")
	if err != nil {
		t.Skip("true is not installed")
	}
	dir := t.TempDir()
	ph := &phase{contenders: []contender{{name: "ok", argv: []string{trueBin}, dir: dir}},
		scratch: dir, timeout: time.Second, deadline: time.Now().Add(-time.Second), log: io.Discard}
	if _, iters := ph.measure(5); iters != 0 {
		t.Errorf("got %d iterations past the deadline, want 0", iters)
	}
}

func TestFileWorkloads(t *testing.T) {
	if got := len(fileWorkloads(1)); got != 3 {
		t.Errorf("fileWorkloads(1): got %d workloads, want 3 (no repeated ones)", got)
	}
	ws := fileWorkloads(3)
	if len(ws) != 5 {
		t.Fatalf("fileWorkloads(3): got %d workloads, want 5", len(ws))
	}
	for _, w := range ws {
		if n := strings.Count(strings.ReplaceAll(w.label, `\|`, ""), "|"); n != 0 {
			t.Errorf("label %q has %d unescaped pipes, want 0 (it would split a table cell)", w.label, n)
		}
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("sh is not installed")
	}
	// The repeated workload must run its command exactly reps times.
	script := strings.ReplaceAll(ws[3].argv[2], "git status", "echo x")
	out, err := exec.Command(sh, "-c", script).Output()
	if err != nil {
		t.Fatalf("run %q: %v", script, err)
	}
	if got := strings.Count(string(out), "x\n"); got != 3 {
		t.Errorf("loop ran the command %d times, want 3", got)
	}
}
