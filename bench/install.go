package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// aptTools maps each tool the benchmark needs from Debian to its package.
var aptTools = []struct{ bin, pkg string }{
	{"bwrap", "bubblewrap"},
	{"socat", "socat"}, // srt's proxy bridges
	{"rg", "ripgrep"},  // srt's mandatory-deny scan
	{"runsc", "runsc"},
	{"git", "git"},
	{"time", "time"}, // GNU time, the fork launcher for peak RSS
}

// srtPackage is the npm package that provides the srt command.
const srtPackage = "@anthropic-ai/sandbox-runtime"

// installTimeout bounds each package-manager command.
const installTimeout = 10 * time.Minute

// missingAptPackages lists the Debian packages whose tools are not on PATH.
func missingAptPackages() []string {
	var pkgs []string
	for _, t := range aptTools {
		if _, err := exec.LookPath(t.bin); err != nil {
			pkgs = append(pkgs, t.pkg)
		}
	}
	return pkgs
}

// installApt installs pkgs with apt-get, refreshing the package lists first
// (they may be empty or stale on a fresh machine).
func installApt(pkgs []string, log io.Writer) error {
	if len(pkgs) == 0 {
		return nil
	}
	fmt.Fprintf(log, "bench: installing %v with apt-get\n", pkgs)
	if err := runLogged(log, "apt-get", "update"); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	args := append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)
	if err := runLogged(log, "apt-get", args...); err != nil {
		return fmt.Errorf("apt-get install %v: %w", pkgs, err)
	}
	return nil
}

// srtPath is where srt lives once installed into cacheDir.
func srtPath(cacheDir string) string {
	return filepath.Join(cacheDir, "node_modules", ".bin", "srt")
}

// installSrt installs the srt npm package into cacheDir with npm as it is
// configured on the machine, unless it is already there.
func installSrt(cacheDir string, log io.Writer) error {
	if _, err := os.Stat(srtPath(cacheDir)); err == nil {
		return nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}
	fmt.Fprintf(log, "bench: installing %s into %s with npm\n", srtPackage, cacheDir)
	if err := runLogged(log, "npm", "install", "--prefix", cacheDir, "--no-audit", "--no-fund", srtPackage); err != nil {
		return fmt.Errorf("npm install %s: %w", srtPackage, err)
	}
	return nil
}

// runLogged runs a setup command with its output sent to log.
func runLogged(log io.Writer, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	return cmd.Run()
}
