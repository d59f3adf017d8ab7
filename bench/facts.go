package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// versionOf runs a tool's version command and returns its first non-empty
// output line, or a short reason when that fails.
func versionOf(argv ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	line := firstLine(string(out))
	if err != nil {
		if line != "" {
			return fmt.Sprintf("unknown (%s: %v: %s)", strings.Join(argv, " "), err, line)
		}
		return fmt.Sprintf("unknown (%s: %v)", strings.Join(argv, " "), err)
	}
	return line
}

// firstLine returns the first non-empty line of s, trimmed.
func firstLine(s string) string {
	for l := range strings.Lines(s) {
		if t := strings.TrimSpace(l); t != "" {
			return t
		}
	}
	return ""
}

// airlockVersion describes the airlock binary at path: its version output
// when it has a version command, the VCS stamp Go embedded at build time, and
// a hash of the file, so the report names exactly what was measured.
func airlockVersion(path string) string {
	var parts []string
	for _, args := range [][]string{{"version"}, {"--version"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, path, args...).Output()
		cancel()
		if l := firstLine(string(out)); err == nil && l != "" {
			parts = append(parts, l)
			break
		}
	}
	if bi, err := buildinfo.ReadFile(path); err == nil {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if modified == "true" {
				rev += " (modified tree)"
			}
			parts = append(parts, "revision "+rev)
		} else {
			parts = append(parts, "no VCS stamp")
		}
		parts = append(parts, "built with "+bi.GoVersion)
	}
	if sum, err := fileSHA256(path); err == nil {
		parts = append(parts, "sha256 "+sum[:16])
	} else {
		parts = append(parts, "not found")
	}
	return strings.Join(parts, ", ")
}

// fileSHA256 returns the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open %q: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %q: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// procField returns the value of the first "key: value" or "key=value" line
// of a /proc or /etc file whose key is key.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			k, v, ok = strings.Cut(sc.Text(), "=")
		}
		if ok && strings.TrimSpace(k) == key {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return "unknown"
}

// readTrimmed returns the trimmed content of a small file, or "unknown".
func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// loadAverage returns the first three fields of /proc/loadavg.
func loadAverage() string {
	f := strings.Fields(readTrimmed("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// machineFacts lists the facts about the machine that the figures depend on.
func machineFacts() []Fact {
	return []Fact{
		{"CPUs (nproc)", fmt.Sprint(runtime.NumCPU())},
		{"CPU model", procField("/proc/cpuinfo", "model name")},
		{"memory", memTotal()},
		{"kernel", readTrimmed("/proc/sys/kernel/osrelease")},
		{"OS", procField("/etc/os-release", "PRETTY_NAME")},
		{"Go (harness)", runtime.Version()},
	}
}

// memTotal returns MemTotal from /proc/meminfo in GiB.
func memTotal() string {
	v := procField("/proc/meminfo", "MemTotal")
	kb, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
	if err != nil {
		return v
	}
	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}
