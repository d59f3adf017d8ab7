package policy

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Expand returns a copy of p with every path made absolute and cleaned:
// "~" and "~/..." are resolved against home, and relative paths against the
// workspace. The workspace itself is resolved against the workspace
// argument (normally the current directory), which also stands in for an
// unset Filesystem.Workspace. Base-name globs (see IsBaseNameGlob) and
// Unprotect names are left as they are. Unix socket paths get "~" expanded
// but are never made absolute, so that Validate still rejects relative ones.
//
// home and workspace must be absolute; they come from the caller, never
// from the environment.
func (p *Policy) Expand(home, workspace string) (*Policy, error) {
	if !filepath.IsAbs(home) {
		return nil, fmt.Errorf("expand policy: home %q is not an absolute path", home)
	}
	if !filepath.IsAbs(workspace) {
		return nil, fmt.Errorf("expand policy: workspace %q is not an absolute path", workspace)
	}
	q := p.clone()
	fs := &q.Filesystem
	var err error
	expand := func(field, s, base string) string {
		if err != nil {
			return s
		}
		switch {
		case s == "~":
			return filepath.Clean(home)
		case strings.HasPrefix(s, "~/"):
			return filepath.Join(home, s[2:])
		case strings.HasPrefix(s, "~"):
			err = fmt.Errorf(`expand policy: %s: %q: only "~" and "~/" are supported for the home directory`, field, s)
			return s
		case filepath.IsAbs(s):
			return filepath.Clean(s)
		default:
			return filepath.Join(base, s)
		}
	}
	if fs.Workspace == "" {
		fs.Workspace = filepath.Clean(workspace)
	} else {
		fs.Workspace = expand(fWorkspace, fs.Workspace, workspace)
	}
	ws := fs.Workspace
	paths := func(field string, list []string, keepGlobs bool) {
		for i, s := range list {
			if keepGlobs && IsBaseNameGlob(s) {
				continue
			}
			list[i] = expand(field, s, ws)
		}
	}
	paths(fAllowWrite, fs.AllowWrite, false)
	paths(fDenyRead, fs.DenyRead, true)
	paths(fAllowRead, fs.AllowRead, true)
	paths(fDenyWrite, fs.DenyWrite, false)
	for i, s := range fs.AllowUnixSockets {
		if strings.HasPrefix(s, "~") || filepath.IsAbs(s) {
			fs.AllowUnixSockets[i] = expand(fUnixSockets, s, ws)
		}
	}
	if err != nil {
		return nil, err
	}
	return q, nil
}

// clone returns a deep copy of p.
func (p *Policy) clone() *Policy {
	q := *p
	for _, lf := range q.lists() {
		*lf.list = slices.Clone(*lf.list)
	}
	return &q
}
