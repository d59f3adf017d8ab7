//go:build !linux

package main

import (
	"fmt"
	"os"
)

// maxRSSKiB is only implemented on Linux, where ru_maxrss is in KiB.
func maxRSSKiB(*os.ProcessState) (int64, error) {
	return 0, fmt.Errorf("read ru_maxrss: %w", errUnsupported)
}
