package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// median returns the middle sample of ds, or the mean of the two middle
// samples when len(ds) is even. It returns 0 for no samples.
func median(ds []time.Duration) time.Duration {
	n := len(ds)
	if n == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percentile returns the nearest-rank p-th percentile of ds (0 < p <= 100):
// the smallest sample that at least p% of the samples are less than or equal
// to. It returns 0 for no samples.
func percentile(ds []time.Duration, p float64) time.Duration {
	n := len(ds)
	if n == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = max(1, min(rank, n))
	return s[rank-1]
}

// medianInt is median for integer samples such as RSS in KiB.
func medianInt(xs []int64) int64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianFloat is median for float samples such as throughput.
func medianFloat(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ratio returns a/b, or NaN when either side is missing (not positive).
func ratio(a, b time.Duration) float64 {
	if a <= 0 || b <= 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// execOverhead is the in-sandbox execution overhead of a workload with the
// fixed start-up cost taken out of both sides:
//
//	(sandboxCmd - sandboxTrue) / (bareCmd - bareTrue) - 1
//
// It returns NaN when a figure is missing or the bare workload is not
// measurably slower than bare `true`.
func execOverhead(sandboxCmd, sandboxTrue, bareCmd, bareTrue time.Duration) float64 {
	if sandboxCmd <= 0 || sandboxTrue <= 0 || bareCmd <= 0 || bareTrue <= 0 {
		return math.NaN()
	}
	den := bareCmd - bareTrue
	if den <= 0 {
		return math.NaN()
	}
	return float64(sandboxCmd-sandboxTrue)/float64(den) - 1
}

// formatDuration renders d in milliseconds with a precision that suits its
// size: "0.84 ms", "12.35 ms", "356.2 ms", "2140 ms". Zero or negative
// durations are missing figures and render as "n/a".
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "n/a"
	}
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 100:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.0f ms", ms)
	}
}

// formatRatio renders a ratio as "1.23x", "45.6x" or "312x"; NaN and
// infinities render as "n/a".
func formatRatio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "n/a"
	}
	switch {
	case r < 10:
		return fmt.Sprintf("%.2fx", r)
	case r < 100:
		return fmt.Sprintf("%.1fx", r)
	default:
		return fmt.Sprintf("%.0fx", r)
	}
}

// formatPercent renders a fraction as a signed percentage: 0.032 is "+3.2%".
func formatPercent(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", f*100)
}

// formatKiB renders a size given in KiB (the unit of ru_maxrss on Linux) as
// MiB with one decimal; non-positive sizes render as "n/a".
func formatKiB(kib int64) string {
	if kib <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}

// Status strings of a target check.
const (
	statusPass = "PASS"
	statusMiss = "MISS"
	statusNA   = "n/a"
)

// target is a bound a figure is checked against, such as "<= 1.5".
type target struct {
	op    string // one of "<", "<=", ">="
	limit float64
}

// status reports whether v meets t; a missing figure (NaN) is n/a, never a
// pass.
func (t target) status(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return statusNA
	}
	var ok bool
	switch t.op {
	case "<":
		ok = v < t.limit
	case "<=":
		ok = v <= t.limit
	case ">=":
		ok = v >= t.limit
	default:
		return statusNA
	}
	if ok {
		return statusPass
	}
	return statusMiss
}
