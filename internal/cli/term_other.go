//go:build !linux

package cli

// isTerminalFD is false off Linux, where airlock run refuses to start.
func isTerminalFD(fd int) bool { return false }
