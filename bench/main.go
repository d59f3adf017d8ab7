package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// config is the parsed command line.
type config struct {
	n, nFile, warmup, rssRuns, files int
	reps                             int
	airlock, srt, cacheDir, out      string
	workDir                          string
	skipInstall, skipFiles           bool
	skipStartup, egressOn            bool
	tlsOn                            bool
	tlsRequests                      int
	tlsBytes                         int64
	reviewOn, commandsOn             bool
	runTimeout, fileTimeout, maxTime time.Duration
	egress                           egressParams
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == egressClientCmd {
		os.Exit(egressClientMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "bench: error: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.n, "n", 50, "timed runs per contender in the start-up phase")
	fs.IntVar(&c.nFile, "nfile", 10, "timed runs per workload in the file-heavy phase")
	fs.IntVar(&c.warmup, "warmup", 3, "untimed warm-up runs per contender")
	fs.IntVar(&c.rssRuns, "rss-runs", 10, "runs per contender in the peak-RSS phase")
	fs.IntVar(&c.files, "files", 50000, "files in the file-heavy tree")
	fs.IntVar(&c.reps, "reps", 5, "repetitions of each file-heavy command in the in-one-run workloads (1 to leave them out)")
	fs.StringVar(&c.airlock, "airlock", "./airlock", "path of the airlock binary")
	fs.StringVar(&c.srt, "srt", "", "path of the srt binary (default: installed into -cache)")
	fs.StringVar(&c.cacheDir, "cache", defaultCacheDir(), "where npm installs srt (not part of the repository)")
	fs.StringVar(&c.out, "out", "", "write the markdown report to this file")
	fs.StringVar(&c.workDir, "workdir", "", "parent of the temporary workspace and tree (default: the system temp dir)")
	fs.BoolVar(&c.skipInstall, "skip-install", false, "do not install missing tools with apt-get and npm")
	fs.BoolVar(&c.skipFiles, "skip-files", false, "skip the file-heavy phase")
	fs.BoolVar(&c.skipStartup, "skip-startup", false, "skip the start-up and peak-RSS phases")
	fs.BoolVar(&c.egressOn, "egress", false, "also run the egress proxy phase (throughput, latency, idle-tunnel memory)")
	fs.BoolVar(&c.tlsOn, "tls", false, "also run the TLS termination phase (latency and throughput of injected requests)")
	fs.IntVar(&c.tlsRequests, "tls-requests", 5000, "timed requests per contender in the TLS phase")
	fs.Int64Var(&c.tlsBytes, "tls-bytes", 256<<20, "size of each download in the TLS phase")
	fs.BoolVar(&c.reviewOn, "review", false, "also run the overlay review phase (apply 10,000 files, diff a 100,000-file workspace, overlay overhead)")
	fs.BoolVar(&c.commandsOn, "commands", false, "also run the command policy phase (analyzer latency over the corpus, exec audit overhead)")
	fs.Int64Var(&c.egress.bytes, "egress-bytes", 1<<30, "size of each egress download")
	fs.IntVar(&c.egress.requests, "egress-requests", 10000, "timed egress requests per contender")
	fs.IntVar(&c.egress.tunnels, "egress-tunnels", 10000, "idle CONNECT tunnels per proxy in the memory test")
	fs.IntVar(&c.egress.rounds, "egress-rounds", 5, "egress round-robin rounds (downloads per contender)")
	fs.DurationVar(&c.runTimeout, "run-timeout", time.Minute, "timeout of one start-up run")
	fs.DurationVar(&c.fileTimeout, "file-timeout", 5*time.Minute, "timeout of one file-heavy run")
	fs.DurationVar(&c.maxTime, "max-time", 45*time.Minute, "no new iteration starts after this much time")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, v := range []struct {
		name string
		val  int
	}{{"-n", c.n}, {"-nfile", c.nFile}, {"-rss-runs", c.rssRuns}, {"-files", c.files}, {"-reps", c.reps}} {
		if v.val < 1 {
			return c, fmt.Errorf("%s must be at least 1, got %d", v.name, v.val)
		}
	}
	if c.warmup < 1 {
		return c, fmt.Errorf("-warmup must be at least 1, got %d", c.warmup)
	}
	for _, v := range []struct {
		name string
		val  int64
	}{{"-egress-bytes", c.egress.bytes}, {"-egress-tunnels", int64(c.egress.tunnels)}, {"-egress-rounds", int64(c.egress.rounds)}} {
		if v.val < 1 {
			return c, fmt.Errorf("%s must be at least 1, got %d", v.name, v.val)
		}
	}
	if c.egress.requests < c.egress.rounds {
		return c, fmt.Errorf("-egress-requests must be at least -egress-rounds (%d), got %d", c.egress.rounds, c.egress.requests)
	}
	c.egress.runTimeout = egressRunTimeout
	c.egress.tunnelTime = egressTunnelTime
	return c, nil
}

// defaultCacheDir is $XDG_CACHE_HOME/airlock-bench or ~/.cache/airlock-bench.
func defaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "airlock-bench-cache")
	}
	return filepath.Join(d, "airlock-bench")
}

func run(args []string, stdout, log io.Writer) error {
	cfg, err := parseFlags(args, log)
	if err != nil {
		return err
	}
	if runtime.GOOS != "linux" {
		return fmt.Errorf("benchmark: %w", errUnsupported)
	}
	start := time.Now()
	deadline := start.Add(cfg.maxTime)
	rep := Report{Date: start, Command: commandLine(args)}
	loadStart := loadAverage()

	if !cfg.skipInstall {
		if err := installApt(missingAptPackages(), log); err != nil {
			return err
		}
		if cfg.srt == "" {
			if err := installSrt(cfg.cacheDir, log); err != nil {
				rep.Notes = append(rep.Notes, "srt could not be installed: "+err.Error())
			}
		}
	}
	if cfg.srt == "" {
		cfg.srt = srtPath(cfg.cacheDir)
	}
	if cfg.airlock, err = filepath.Abs(cfg.airlock); err != nil {
		return fmt.Errorf("resolve -airlock: %w", err)
	}

	base := cfg.workDir
	if base == "" {
		base = os.TempDir()
	}
	scratch, err := os.MkdirTemp(base, "airlock-bench-")
	if err != nil {
		return fmt.Errorf("create scratch dir: %w", err)
	}
	defer os.RemoveAll(scratch)
	runs := filepath.Join(scratch, "runs")
	ws := filepath.Join(scratch, "workspace")
	if err := makeWorkspace(ws); err != nil {
		return err
	}
	srtSettings := filepath.Join(scratch, "srt-settings.json")
	if err := os.WriteFile(srtSettings, []byte(srtSettingsJSON), 0o644); err != nil {
		return fmt.Errorf("write srt settings: %w", err)
	}
	if err := os.Mkdir(runs, 0o755); err != nil {
		return fmt.Errorf("create runs dir: %w", err)
	}
	shown := strings.NewReplacer(scratch, "$SCRATCH")
	airlockSrc, airlockWhere := cfg.airlock, cfg.airlock
	if frozen, err := freezeBinary(cfg.airlock, filepath.Join(scratch, "bin")); err == nil {
		cfg.airlock = frozen
		airlockWhere += " (copied to $SCRATCH/bin before measuring)"
	}

	rows := make(map[string]Row)
	var rssRows []RSSRow
	if !cfg.skipStartup {
		// Start-up phase.
		startup := []contender{
			newContender("airlock", ws, cfg.airlock, "run", "--", "true"),
			newContender("srt", ws, cfg.srt, "-s", srtSettings, "-c", "true"),
			newContender("bwrap", ws, "bwrap", "--unshare-all", "--new-session", "--die-with-parent",
				"--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"),
			newContender("runsc", ws, "runsc", "--rootless", "--network=none", "do", "true"),
			newContender("bare", ws, "true"),
		}
		if startup[0].unavailable != "" {
			startup[0].unavailable = fmt.Sprintf("binary not found at %s (build it with `CGO_ENABLED=0 go build -o airlock ./cmd/airlock`)", airlockSrc)
		}
		for i := range startup {
			startup[i].display = shown.Replace(displayCommand(startup[i].argv))
		}
		fmt.Fprintf(log, "bench: start-up phase: %d warm-up + %d timed runs per contender\n", cfg.warmup, cfg.n)
		ph := &phase{contenders: startup, scratch: runs, timeout: cfg.runTimeout, deadline: deadline, log: log}
		ph.warmUp(cfg.warmup)
		ss, iters := ph.measure(cfg.n)
		rep.StartupIters = iters
		if iters < cfg.n {
			rep.Notes = append(rep.Notes, fmt.Sprintf("start-up phase stopped at the -max-time deadline after %d of %d iterations", iters, cfg.n))
		}
		for i, c := range ph.contenders {
			r := toRow(c, ss[i])
			rows[c.name] = r
			rep.Startup = append(rep.Startup, r)
			rep.Notes = append(rep.Notes, failureNote(c.name, ss[i])...)
		}

		// Peak-RSS phase, through GNU time as a fork launcher.
		fmt.Fprintf(log, "bench: peak-RSS phase: %d runs per contender\n", cfg.rssRuns)
		rep.RSSMethod = rssMethod
		rssRows = measureRSS(ph.contenders, ss, cfg.rssRuns, runs, cfg.runTimeout, deadline)
		rep.RSS = rssRows
		if len(rssRows) > 0 && rssRows[0].Unavailable == "" && rssRows[0].MaxKiB == 0 {
			rep.Notes = append(rep.Notes, "GNU time was not usable, so airlock's peak RSS is the harness's wait4 upper bound")
		}
	}

	// File-heavy phase.
	var fileRows []FileRow
	if !cfg.skipFiles {
		rep.Tree = fmt.Sprintf("Tree: %d files of about 40 bytes in %d directories (%d per leaf directory, %d leaf directories per top-level one), committed once to a fresh git repository (`git init`, `git config gc.auto 0` and `advice.statusUoption false`, `git add -A`, `git commit`, then `git gc` so the objects are packed as git's own auto-gc would leave them, and no background gc runs while measuring).",
			cfg.files, treeDirs(cfg.files), filesPerLeaf, subdirsPerTop)
		fileRows, err = fileHeavy(cfg, scratch, runs, deadline, log, &rep)
		if err != nil {
			return err
		}
	} else {
		rep.Tree = "Skipped (-skip-files)."
	}
	rep.FileHeavy = fileRows

	if cfg.egressOn {
		eg, notes := egressPhase(cfg, scratch, deadline, log)
		rep.Egress = eg
		rep.Notes = append(rep.Notes, notes...)
	}
	if cfg.tlsOn {
		fmt.Fprintf(log, "bench: TLS phase: %d requests and 5 downloads of %s per contender\n", cfg.tlsRequests, formatBytes(cfg.tlsBytes))
		sec, notes, err := tlsPhase(cfg.tlsRequests, 5, cfg.tlsBytes)
		if err != nil {
			rep.Notes = append(rep.Notes, "TLS phase failed: "+err.Error())
		} else {
			rep.Sections = append(rep.Sections, sec)
		}
		rep.Notes = append(rep.Notes, notes...)
	}
	if cfg.reviewOn {
		fmt.Fprintln(log, "bench: review phase: apply of 10,000 files, diff of a 100,000-file workspace, overlay overhead")
		if sec, err := reviewPhase(cfg.airlock, scratch, 10000, 100000); err != nil {
			rep.Notes = append(rep.Notes, "review phase failed: "+err.Error())
		} else {
			rep.Sections = append(rep.Sections, sec)
		}
	}
	if cfg.commandsOn {
		fmt.Fprintln(log, "bench: commands phase: analyzer latency, exec audit overhead")
		if sec, err := commandsPhase(cfg.airlock, "internal/cmdpolicy/testdata/corpus.yaml", 10000); err != nil {
			rep.Notes = append(rep.Notes, "commands phase failed: "+err.Error())
		} else {
			rep.Sections = append(rep.Sections, sec)
		}
	}
	rep.Checks = append(checks(rows, rssRows, fileRows), egressChecks(rep.Egress)...)

	rep.Facts = append(machineFacts(),
		Fact{"load average (start / end)", loadStart + " / " + loadAverage()},
		Fact{"airlock", airlockWhere + ": " + airlockVersion(cfg.airlock)},
		Fact{"srt", cfg.srt + ": " + versionOf(cfg.srt, "--version")},
		Fact{"bubblewrap", versionOf("bwrap", "--version")},
		Fact{"runsc", versionOf("runsc", "--version")},
		Fact{"git", versionOf("git", "--version")},
		Fact{"node", versionOf("node", "--version")},
		Fact{"GNU time", versionOf("dpkg-query", "-W", "-f=GNU time ${Version} (Debian package)", "time")},
	)
	rep.Notes = append(rep.Notes,
		"srt runs with an explicit settings file, $SCRATCH/srt-settings.json, so ~/.srt-settings.json does not change the result: "+srtSettingsJSON,
		"$SCRATCH is a fresh temporary directory; $SCRATCH/workspace holds two small files and is the current directory of every start-up run.",
		fmt.Sprintf("Total benchmark time %s.", time.Since(start).Round(time.Second)))

	md := render(rep)
	fmt.Fprint(stdout, md)
	if cfg.out != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
			return fmt.Errorf("create output dir: %w", err)
		}
		if err := os.WriteFile(cfg.out, []byte(md), 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		fmt.Fprintf(log, "bench: wrote %s\n", cfg.out)
	}
	return nil
}

// srtSettingsJSON gives srt the same shape of policy as Airlock's default:
// no network, the current directory writable, everything else read-only.
const srtSettingsJSON = `{"network":{"allowedDomains":[],"deniedDomains":[]},"filesystem":{"denyRead":[],"allowWrite":["."],"denyWrite":[]}}`

// Bounds of the egress phase.
const (
	egressRunTimeout = 3 * time.Minute  // one client run
	egressTunnelTime = 90 * time.Second // opening the idle tunnels, per proxy
)

// rssMethod explains the peak-RSS table.
const rssMethod = "Each run is started as `time -f %M -o FILE CMD` (GNU time forks, then reads ru_maxrss from wait4 for the process it started: the max over that process and every descendant it reaped). The last column is what the Go harness read from its own wait4 in the start-up phase; it cannot be lower than the harness's own size (see Methodology)."

// commandLine renders the benchmark's own invocation for the report.
func commandLine(args []string) string {
	parts := []string{"go", "run", "./bench"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$`\\") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// makeWorkspace creates the small workspace used as the current directory of
// the start-up runs.
func makeWorkspace(ws string) error {
	if err := os.MkdirAll(filepath.Join(ws, "src"), 0o755); err != nil {
		return fmt.Errorf("create workspace: %w", err)
	}
	files := map[string]string{
		"README.md":   "benchmark workspace\n",
		"src/main.go": "package main\n\nfunc main() {}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(ws, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("write workspace file: %w", err)
		}
	}
	return nil
}

// newContender resolves bin (a path, or a name looked up on PATH) and marks
// the contender unavailable when it is missing.
func newContender(name, dir, bin string, args ...string) contender {
	c := contender{name: name, dir: dir}
	path := bin
	if !strings.Contains(bin, "/") {
		p, err := exec.LookPath(bin)
		if err != nil {
			c.unavailable = fmt.Sprintf("%s is not installed", bin)
		}
		path = p
	} else if st, err := os.Stat(bin); err != nil || st.IsDir() {
		c.unavailable = fmt.Sprintf("%s not found", bin)
	}
	if path == "" {
		path = bin
	}
	c.argv = append([]string{path}, args...)
	return c
}

// failureNote reports runs that failed after a successful warm-up.
func failureNote(name string, s samples) []string {
	if s.failures == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s: %d of %d timed runs failed and were left out; last error: %v",
		name, s.failures, s.failures+len(s.walls), s.lastErr)}
}

// measureRSS runs every available contender runs times under GNU time,
// interleaved, and returns a row per contender.
func measureRSS(cs []contender, startup []samples, runs int, scratch string, timeout time.Duration, deadline time.Time) []RSSRow {
	timeBin, lookErr := exec.LookPath("time")
	rows := make([]RSSRow, len(cs))
	got := make([][]int64, len(cs))
	var lastErr = make([]error, len(cs))
	for i, c := range cs {
		rows[i] = RSSRow{Name: c.name, Unavailable: c.unavailable}
		for _, k := range startup[i].direct {
			rows[i].DirectKiB = max(rows[i].DirectKiB, k)
		}
	}
	if lookErr != nil {
		return rows
	}
	for it := range runs {
		if time.Now().After(deadline) {
			break
		}
		for j := range cs {
			idx := (it + j) % len(cs)
			c := cs[idx]
			if c.unavailable != "" {
				continue
			}
			outFile := filepath.Join(scratch, "rss-"+c.name)
			argv := append([]string{timeBin, "-f", "%M", "-o", outFile}, c.argv...)
			o := runOnce(argv, c.dir, scratch, timeout)
			if o.err != nil {
				lastErr[idx] = o.err
				continue
			}
			kib, err := parseTimeOutput(outFile)
			if err != nil {
				lastErr[idx] = err
				continue
			}
			got[idx] = append(got[idx], kib)
		}
	}
	for i := range rows {
		if rows[i].Unavailable != "" {
			continue
		}
		if len(got[i]) == 0 {
			if lastErr[i] != nil {
				rows[i].Unavailable = "every run under GNU time failed: " + lastErr[i].Error()
			}
			continue
		}
		rows[i].N = len(got[i])
		rows[i].MedianKiB = medianInt(got[i])
		for _, k := range got[i] {
			rows[i].MaxKiB = max(rows[i].MaxKiB, k)
		}
	}
	return rows
}

// parseTimeOutput reads the %M figure GNU time wrote to path: the last line,
// after any "Command exited with non-zero status" line.
func parseTimeOutput(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read time output: %w", err)
	}
	lines := strings.Fields(string(b))
	if len(lines) == 0 {
		return 0, errors.New("empty time output")
	}
	kib, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse time output %q: %w", string(b), err)
	}
	return kib, nil
}

// rssTargetKiB is the supervisor peak-RSS target: 20 MiB.
const rssTargetKiB = 20 * 1024

// checks compares the headline figures to their targets.
func checks(rows map[string]Row, rss []RSSRow, files []FileRow) []Check {
	med := func(name string) float64 {
		r, ok := rows[name]
		if !ok || r.Unavailable != "" {
			return math.NaN()
		}
		return float64(r.Median)
	}
	var cs []Check
	add := func(metric string, v float64, t *target, targetText string) {
		c := Check{Metric: metric, Value: formatRatio(v)}
		if t != nil {
			c.Target, c.Status = targetText, t.status(v)
		}
		cs = append(cs, c)
	}
	add("start-up airlock / bwrap (medians)", med("airlock")/med("bwrap"), &target{"<=", 1.5}, "<= 1.5x")
	add("start-up srt / airlock (medians)", med("srt")/med("airlock"), &target{">=", 50}, ">= 50x")
	add("start-up airlock / bare `true` (medians)", med("airlock")/med("bare"), nil, "")
	add("start-up runsc / airlock (medians)", med("runsc")/med("airlock"), nil, "")

	rssCheck := Check{Metric: "airlock peak RSS (`airlock run -- true`)", Value: "n/a", Target: "< 20 MiB", Status: statusNA}
	for _, r := range rss {
		if r.Name != "airlock" || r.Unavailable != "" {
			continue
		}
		kib := r.MaxKiB
		if kib == 0 {
			kib = r.DirectKiB
		}
		if kib > 0 {
			rssCheck.Value = formatKiB(kib)
			rssCheck.Status = target{"<", rssTargetKiB}.status(float64(kib))
		}
	}
	cs = append(cs, rssCheck)

	for _, f := range files {
		if f.OverheadCheck == "" {
			// The `true` baseline: how start-up grows with the workspace.
			small, ok := rows["airlock"]
			if ok && small.Unavailable == "" && f.Airlock.Unavailable == "" {
				cs = append(cs, Check{
					Metric: "airlock start-up, file-heavy tree as workspace / small workspace (medians)",
					Value: fmt.Sprintf("%s (%s vs %s)", formatRatio(ratio(f.Airlock.Median, small.Median)),
						formatDuration(f.Airlock.Median), formatDuration(small.Median)),
				})
			}
			continue
		}
		cs = append(cs, Check{
			Metric: "execution overhead of " + f.Workload + " in the file-heavy tree",
			Value:  formatPercent(f.ExecOverhead),
			Target: "< 5%",
			Status: f.OverheadCheck,
		})
		cs = append(cs, Check{
			Metric: "raw ratio of " + f.Workload + " (airlock / bare, start-up included)",
			Value:  formatRatio(f.Raw),
		})
	}
	return cs
}

// freezeBinary copies the binary at src into dir, so that a rebuild of src
// during the benchmark cannot mix two builds in one report.
func freezeBinary(src, dir string) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("read %q: %w", src, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %q: %w", dir, err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		return "", fmt.Errorf("write %q: %w", dst, err)
	}
	return dst, nil
}
