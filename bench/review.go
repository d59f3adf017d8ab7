package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/airlock-sandbox/airlock/internal/cmdpolicy"
	"github.com/airlock-sandbox/airlock/internal/policy"
	"github.com/airlock-sandbox/airlock/internal/session"
)

// reviewPhase measures the overlay review: apply of many changed files,
// diff of a large workspace with few changes, and the overhead of an
// overlay workspace against a plain one on file-heavy commands.
func reviewPhase(airlock, scratch string, applyFiles, treeFiles int) (Section, error) {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	dir, err := os.MkdirTemp(scratch, "review-")
	if err != nil {
		return Section{}, err
	}
	defer os.RemoveAll(dir)
	st, err := session.Open(filepath.Join(dir, "state"))
	if err != nil {
		return Section{}, err
	}

	// Apply: a session whose upper directory holds applyFiles changed
	// files, as an agent run would leave it.
	ws := filepath.Join(dir, "apply-ws")
	if err := makeFlatTree(ws, applyFiles); err != nil {
		return Section{}, err
	}
	s, err := st.Create("apply", ws, []string{"bench"})
	if err != nil {
		return Section{}, err
	}
	if err := s.Begin(); err != nil {
		return Section{}, err
	}
	if err := filepath.WalkDir(ws, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(ws, path)
		dst := filepath.Join(s.UpperDir(), rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, []byte("changed "+rel+"\n"), 0o644)
	}); err != nil {
		return Section{}, err
	}
	if err := s.End(0); err != nil {
		return Section{}, err
	}
	t0 := time.Now()
	changes, err := s.Changes(policy.ProtectedNames())
	if err != nil {
		return Section{}, err
	}
	tChanges := time.Since(t0)
	t0 = time.Now()
	rep, err := s.Apply(session.ApplyOptions{Protected: policy.ProtectedNames()})
	if err != nil {
		return Section{}, fmt.Errorf("apply: %w", err)
	}
	tApply := time.Since(t0)

	// Diff: a large workspace, 100 changed files.
	big := filepath.Join(dir, "diff-ws")
	if err := makeFlatTree(big, treeFiles); err != nil {
		return Section{}, err
	}
	t0 = time.Now()
	s2, err := st.Create("diff", big, []string{"bench"})
	if err != nil {
		return Section{}, err
	}
	if err := s2.Begin(); err != nil {
		return Section{}, err
	}
	tBegin := time.Since(t0)
	n := 0
	_ = filepath.WalkDir(big, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || n >= 100 {
			return err
		}
		rel, _ := filepath.Rel(big, path)
		dst := filepath.Join(s2.UpperDir(), rel)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		n++
		return os.WriteFile(dst, []byte("edited\n"), 0o644)
	})
	if err := s2.End(0); err != nil {
		return Section{}, err
	}
	t0 = time.Now()
	ch2, err := s2.Changes(policy.ProtectedNames())
	if err == nil {
		err = session.WriteDiff(io.Discard, s2, ch2, session.DiffOptions{})
	}
	if err != nil {
		return Section{}, err
	}
	tDiff := time.Since(t0)

	p("All in `%s`, on this machine's disk; the harness drives `internal/session` directly (the code behind `airlock diff` and `airlock apply`).\n\n", filepath.Dir(dir))
	p("| operation | size | time |\n| --- | --- | --- |\n")
	p("| apply (journal, staged files fsync'd, renames, parent fsyncs) | %d changed files (%d applied) | %s (%s per file) |\n", len(changes), len(rep.Applied), tApply.Round(time.Millisecond), (tApply / time.Duration(max(1, len(rep.Applied)))).Round(time.Microsecond))
	p("| listing the changes before the apply | %d files | %s |\n", len(changes), tChanges.Round(time.Millisecond))
	p("| base-state manifest at the start of a run | %d-file workspace | %s |\n", treeFiles, tBegin.Round(time.Millisecond))
	p("| diff (changes and unified patch) | %d-file workspace, %d changed | %s |\n\n", treeFiles, len(ch2), tDiff.Round(time.Millisecond))

	// Overlay against a plain workspace, on git status and a build-like
	// command (find + cat of every file), 5 runs each inside one sandbox.
	if _, err := os.Stat(airlock); err == nil {
		ovl, err := overlayOverhead(airlock, dir, min(treeFiles, 20000))
		if err != nil {
			p("Overlay overhead: not measured: %s\n", oneLine(err.Error()))
		} else {
			p("%s", ovl)
		}
	}
	return Section{Title: "Overlay review (apply, diff, overlay overhead)", Body: b.String()}, nil
}

// makeFlatTree writes n small files in 100-file directories below dir.
func makeFlatTree(dir string, n int) error {
	for i := range n {
		d := filepath.Join(dir, fmt.Sprintf("d%03d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%05d.txt", i)), []byte(fmt.Sprintf("file %d\n", i)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// overlayOverhead times `git status` and a read of every file in a
// files-file git repository, 5 times in one sandbox, with and without
// --overlay.
func overlayOverhead(airlock, dir string, files int) (string, error) {
	ws := filepath.Join(dir, "ovl-ws")
	if err := makeFlatTree(ws, files); err != nil {
		return "", err
	}
	for _, c := range [][]string{{"git", "init", "-q"}, {"git", "add", "-A"}, {"git", "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-qm", "t"}} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = ws
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("%v: %v: %s", c, err, out)
		}
	}
	script := `s=$(date +%s%N); for i in 1 2 3 4 5; do git status --porcelain >/dev/null; done; m=$(date +%s%N); for i in 1 2 3 4 5; do find . -name '*.txt' -type f -exec cat {} + >/dev/null; done; e=$(date +%s%N); echo "$((m-s)) $((e-m))"`
	measure := func(extra ...string) (time.Duration, time.Duration, error) {
		var gs, fc []time.Duration
		for range 3 {
			args := append(append([]string{"run"}, extra...), "--", "sh", "-c", script)
			cmd := exec.Command(airlock, args...)
			cmd.Dir = ws
			cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, "ovl-state"))
			out, err := cmd.Output()
			if err != nil {
				return 0, 0, fmt.Errorf("airlock run %v: %w", extra, err)
			}
			var a, c int64
			if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%d %d", &a, &c); err != nil {
				return 0, 0, fmt.Errorf("parse %q: %w", out, err)
			}
			gs = append(gs, time.Duration(a/5))
			fc = append(fc, time.Duration(c/5))
		}
		return median(gs), median(fc), nil
	}
	pg, pf, err := measure()
	if err != nil {
		return "", err
	}
	og, of, err := measure("--overlay")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Overlay against a plain bind mount of the workspace (a %d-file git repository; median of 3 sandboxes, each running the command 5 times):\n\n", files)
	fmt.Fprintf(&b, "| workload | plain workspace | --overlay | overhead |\n| --- | --- | --- | --- |\n")
	row := func(name string, a, o time.Duration) {
		fmt.Fprintf(&b, "| %s | %s | %s | %+.1f%% |\n", name, a.Round(100*time.Microsecond), o.Round(100*time.Microsecond), 100*(float64(o)/float64(a)-1))
	}
	row("git status", pg, og)
	row("find + cat of every file (a build's reads)", pf, of)
	b.WriteString("\n")
	return b.String(), nil
}

// commandsPhase measures the command analyzer over its corpus and the
// exec audit on a fork-and-exec-heavy loop.
func commandsPhase(airlock, corpus string, execs int) (Section, error) {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	cmds, err := cmdpolicy.LoadCorpus(corpus)
	if err != nil {
		return Section{}, err
	}
	eng, err := cmdpolicy.Compile([]cmdpolicy.Rule{
		{Pattern: "npm *", Decision: cmdpolicy.Allow},
		{Pattern: "sudo *", Decision: cmdpolicy.Deny, Justification: "no root"},
		{Pattern: "git push --force*", Decision: cmdpolicy.Ask},
	}, cmdpolicy.Options{Workspace: "/work/proj", Home: "/home/dev"})
	if err != nil {
		return Section{}, err
	}
	cmdpolicy.Latencies(eng, cmds, 3) // warm-up
	p50, p99 := cmdpolicy.Latencies(eng, cmds, 50)
	p("Analyzer (`airlock check`'s engine, in process, %d CPUs): %d corpus commands x 50 rounds.\n\n", runtime.NumCPU(), len(cmds))
	p("| measure | p50 | p99 | target |\n| --- | --- | --- | --- |\n")
	status := "PASS"
	if p99 >= time.Millisecond {
		status = "MISS"
	}
	p("| time per command | %s | %s | p99 < 1 ms: %s |\n\n", formatMicros(p50), formatMicros(p99), status)

	if _, err := os.Stat(airlock); err != nil {
		return Section{Title: "Command policy", Body: b.String()}, nil
	}
	dir, err := os.MkdirTemp("", "airlock-bench-exec-")
	if err != nil {
		return Section{}, err
	}
	defer os.RemoveAll(dir)
	script := fmt.Sprintf(`s=$(date +%%s%%N); i=0; while [ $i -lt %d ]; do /bin/true; i=$((i+1)); done; e=$(date +%%s%%N); echo $((e-s))`, execs)
	once := func(extra ...string) (time.Duration, error) {
		args := append(append([]string{"run"}, extra...), "--", "/bin/sh", "-c", script)
		cmd := exec.Command(airlock, args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			return 0, fmt.Errorf("airlock run %v: %w", extra, err)
		}
		var ns int64
		if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%d", &ns); err != nil {
			return 0, fmt.Errorf("parse %q: %w", out, err)
		}
		return time.Duration(ns), nil
	}
	// Interleaved, so a change in the machine's load hits both alike.
	var ps, as []time.Duration
	for i := range 5 {
		d, err := once()
		if err != nil {
			return Section{}, err
		}
		ps = append(ps, d)
		d, err = once("--audit", filepath.Join(dir, fmt.Sprintf("audit-%d.jsonl", i)))
		if err != nil {
			return Section{}, err
		}
		as = append(as, d)
	}
	plain, audited := median(ps), median(as)
	p("Exec audit: a shell loop of %d `/bin/true` (fork + exec + wait), inside `airlock run`, median of 5 runs each, interleaved:\n\n", execs)
	p("| run | loop time | per exec | overhead |\n| --- | --- | --- | --- |\n")
	p("| without the exec audit | %s | %s | |\n", plain.Round(time.Millisecond), formatMicros(plain/time.Duration(execs)))
	p("| `--audit FILE` (every execve recorded) | %s | %s | %+.0f%% |\n\n", audited.Round(time.Millisecond), formatMicros(audited/time.Duration(execs)), 100*(float64(audited)/float64(plain)-1))
	return Section{Title: "Command policy (analyzer latency, exec audit)", Body: b.String()}, nil
}
