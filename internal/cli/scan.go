package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/airlock-sandbox/airlock/internal/policy"
	"github.com/airlock-sandbox/airlock/internal/sandbox"
	"github.com/airlock-sandbox/airlock/internal/scan"
)

// maskedBy answers scan.Options.Masked from a sandbox plan: what the
// sandbox would really hide.
func maskedBy(spec *sandbox.Spec) func(abs string) (string, bool) {
	return func(abs string) (string, bool) {
		for _, f := range spec.MaskFiles {
			if abs == f {
				return f, true
			}
		}
		for _, d := range spec.MaskDirs {
			if abs == d || strings.HasPrefix(abs, d+"/") {
				return d, true
			}
		}
		return "", false
	}
}

// baseNameGlobs returns the deny_read entries that are base-name globs.
func baseNameGlobs(p *policy.Policy) []string {
	var out []string
	for _, d := range p.Filesystem.DenyRead {
		if policy.IsBaseNameGlob(d) {
			out = append(out, d)
		}
	}
	return out
}

// scanCmd implements `airlock scan [--json] [policy flags] [DIR]`.
func (a *App) scanCmd(args []string) int {
	fs := a.flagSet("scan")
	var pf policyFlags
	pf.register(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprint(a.Stderr, "Usage: airlock scan [--json] [policy flags] [DIR]\n\nExit status: 0 when nothing readable would expose a credential, 1 when something would, 125 on a bad policy.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if done, code := a.parseFlags(fs, args, ExitSetup); done {
		return code
	}
	dir := "."
	if fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		a.errorf("scan %s: %v", dir, err)
		return ExitSetup
	}
	if pf.o.Workspace == "" {
		pf.o.Workspace = abs
	}
	p, err := pf.build()
	if err != nil {
		a.reportPolicyErr(err)
		return ExitSetup
	}
	in, err := a.planInput([]string{"true"}, "never")
	if err != nil {
		a.errorf("%v", err)
		return ExitSetup
	}
	spec, err := sandbox.Plan(p, in)
	if err != nil {
		a.reportPolicyErr(err)
		return ExitSetup
	}
	rep, err := scan.Scan(context.Background(), abs, scan.Options{Masked: maskedBy(spec), DenyRead: baseNameGlobs(p)})
	if err != nil {
		a.errorf("%v", err)
		return ExitSetup
	}
	if *asJSON {
		err = scan.WriteJSON(a.Stdout, rep)
	} else {
		err = scan.WriteText(a.Stdout, rep, a.Stdout == os.Stdout && isTerminal(os.Stdout))
	}
	if err != nil {
		a.errorf("%v", err)
		return 1
	}
	if len(rep.Unmasked()) > 0 {
		return 1
	}
	return ExitOK
}

// scanDelay is how long a run goes before its workspace is scanned.
const scanDelay = time.Second

// warnReadableSecrets scans the workspace in the background once the
// sandbox has run for scanDelay and warns once about files that would expose credentials
// the policy leaves readable. It gives up quietly when ctx ends first.
func (a *App) warnReadableSecrets(ctx context.Context, p *policy.Policy, spec *sandbox.Spec) {
	// A second in, so that short commands (and the start of long ones)
	// do not share the CPU with the scan.
	select {
	case <-ctx.Done():
		return
	case <-time.After(scanDelay):
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rep, err := scan.Scan(ctx, spec.Workspace, scan.Options{Masked: maskedBy(spec), DenyRead: baseNameGlobs(p), MaxFiles: 50000, MaxFileSize: 256 << 10})
	if err != nil || ctx.Err() != nil {
		return
	}
	un := rep.Unmasked()
	if len(un) == 0 {
		return
	}
	seen := map[string]bool{}
	var paths []string
	for _, f := range un {
		if !seen[f.Path] {
			seen[f.Path] = true
			paths = append(paths, f.Path)
		}
	}
	list := strings.Join(paths[:min(len(paths), 5)], ", ")
	if len(paths) > 5 {
		list += fmt.Sprintf(" and %d more", len(paths)-5)
	}
	a.warnf("the workspace holds %d file(s) the sandbox can read that look like credentials: %s", len(paths), list)
	a.hintf("run `airlock scan` for details; mask one with --deny-read PATH")
}
