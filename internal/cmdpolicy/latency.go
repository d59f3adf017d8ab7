package cmdpolicy

import (
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"gopkg.in/yaml.v3"
)

// Latencies runs Check on every command, rounds times, and returns the
// 50th and 99th percentile (nearest rank) of the time one Check took.
func Latencies(e *Engine, commands []string, rounds int) (p50, p99 time.Duration) {
	if len(commands) == 0 || rounds <= 0 {
		return 0, 0
	}
	ds := make([]time.Duration, 0, len(commands)*rounds)
	for range rounds {
		for _, c := range commands {
			start := time.Now()
			e.Check(c)
			ds = append(ds, time.Since(start))
		}
	}
	slices.Sort(ds)
	rank := func(p float64) time.Duration {
		r := int(math.Ceil(p / 100 * float64(len(ds))))
		return ds[max(1, min(r, len(ds)))-1]
	}
	return rank(50), rank(99)
}

// corpusEntry is one command of a corpus file (testdata/corpus.yaml).
type corpusEntry struct {
	Name       string   `yaml:"name"`
	Cmd        string   `yaml:"cmd"`
	Want       Decision `yaml:"want"`
	Categories []string `yaml:"categories"`
	Rules      []string `yaml:"rules"`
	Suppressed []string `yaml:"suppressed"`
}

// readCorpus reads a corpus file: a YAML list of corpusEntry.
func readCorpus(path string) ([]corpusEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	var entries []corpusEntry
	if err := yaml.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("parse corpus %s: %w", path, err)
	}
	for i, e := range entries {
		if e.Cmd == "" {
			return nil, fmt.Errorf("parse corpus %s: entry %d has no cmd", path, i+1)
		}
	}
	return entries, nil
}

// LoadCorpus returns the commands of a corpus file, such as the package's
// testdata/corpus.yaml, for benchmarks.
func LoadCorpus(path string) ([]string, error) {
	entries, err := readCorpus(path)
	if err != nil {
		return nil, err
	}
	cmds := make([]string, len(entries))
	for i, e := range entries {
		cmds[i] = e.Cmd
	}
	return cmds, nil
}
