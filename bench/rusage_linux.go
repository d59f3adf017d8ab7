package main

import (
	"errors"
	"os"
	"syscall"
)

// maxRSSKiB returns ru_maxrss of a reaped process, in KiB as Linux reports
// it: the largest resident set of the process and of every descendant it
// reaped.
func maxRSSKiB(ps *os.ProcessState) (int64, error) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0, errors.New("no rusage for process")
	}
	return ru.Maxrss, nil
}
