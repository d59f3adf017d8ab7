package policy

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// sizeUnits maps the accepted size suffixes, lowercased, to their multiplier.
// Every unit is binary: "K", "KB" and "KiB" all mean 1024 bytes, as they do
// for docker, systemd and ulimit, so that "512M" is the 512 MiB a user means.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
}

const sizeSyntax = "want a whole number of bytes with an optional binary unit: K, M, G or T (also KiB, KB, ...; 1K = 1024)"

// parseSize parses a positive byte count such as "1024", "512M", "2G" or
// "64KiB". Units are binary (see sizeUnits) and case-insensitive.
func parseSize(s string) (int64, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	digits, unit := s[:i], strings.ToLower(s[i:])
	mult, ok := sizeUnits[unit]
	if digits == "" || !ok {
		return 0, fmt.Errorf("invalid size %q: %s", s, sizeSyntax)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	hi, lo := bits.Mul64(uint64(n), uint64(mult))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	if lo == 0 {
		return 0, errors.New("must be positive (leave it out for no limit)")
	}
	return int64(lo), nil
}

// formatSize renders n in the largest unit that represents it exactly, so
// that parseSize(formatSize(n)) == n.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// parseCount parses a positive decimal integer that fits in bits bits.
func parseCount(s string, bitSize int) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, bitSize)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return 0, fmt.Errorf("invalid number %q: want a positive whole number", s)
	}
	if n == 0 {
		return 0, errors.New("must be positive (leave it out for no limit)")
	}
	return n, nil
}

// maxCPUs bounds the cpus limit to something a cgroup can express.
const maxCPUs = 1 << 20

// parseCPUs parses a positive, finite number of CPUs such as "1.5".
func parseCPUs(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("invalid number of cpus %q: want a positive number such as 1.5", s)
	}
	return checkCPUs(f)
}

func checkCPUs(f float64) (float64, error) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0) || f > maxCPUs:
		return 0, fmt.Errorf("cpus %v is out of range (at most %d)", f, maxCPUs)
	case f <= 0:
		return 0, errors.New("must be positive (leave it out for no limit)")
	}
	return f, nil
}

// parseTimeout parses a positive Go duration such as "30s" or "1h30m".
func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a number with a unit, such as 30s, 5m or 1h30m", s)
	}
	if d <= 0 {
		return 0, errors.New("must be positive (leave it out for no limit)")
	}
	return d, nil
}

// ParseSize parses a byte size such as "512", "64K", "2M" or "1G"; it is
// the syntax of the memory and file-size limits.
func ParseSize(s string) (int64, error) { return parseSize(s) }
