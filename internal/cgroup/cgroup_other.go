//go:build !linux

package cgroup

import (
	"errors"
	"fmt"
	"runtime"
)

// errUnsupported is returned by everything on systems without cgroups.
var errUnsupported = fmt.Errorf("cgroups are unsupported on %s: %w: %w", runtime.GOOS, errors.ErrUnsupported, ErrUnavailable)

// Group is one set of cgroups holding the processes of one sandbox run. On
// this system no group can be created.
type Group struct{}

// New fails on this system: no limit can be enforced.
func New(name string, l Limits) (*Group, error) {
	return nil, fmt.Errorf("cgroup: %w", errUnsupported)
}

// Add fails on this system.
func (g *Group) Add(pid int) error { return fmt.Errorf("cgroup: add: %w", errUnsupported) }

// Backends is empty on this system.
func (g *Group) Backends() map[string]string { return map[string]string{} }

// Reason fails on this system.
func (g *Group) Reason() (string, error) { return "", fmt.Errorf("cgroup: reason: %w", errUnsupported) }

// Kill fails on this system.
func (g *Group) Kill() error { return fmt.Errorf("cgroup: kill: %w", errUnsupported) }

// Close fails on this system.
func (g *Group) Close() error { return fmt.Errorf("cgroup: close: %w", errUnsupported) }

// Detect reports every controller as unavailable on this system.
func Detect() []Controller {
	out := make([]Controller, 0, len(limitControllers))
	for _, c := range limitControllers {
		out = append(out, Controller{Name: c, Reason: errUnsupported.Error()})
	}
	return out
}
