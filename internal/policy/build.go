package policy

import (
	"fmt"
	"slices"
)

// Overrides are the policy settings given as command-line flags. List
// fields add to the merged lists; scalar fields replace the merged value
// when set ("" or nil means not set). The limit fields hold the raw flag
// text, parsed like the policy file's limits.
//
// Errors in these values are *Error values with File "" and Field set to
// the flag: --workspace, --allow-write, --deny-read, --allow-read,
// --deny-write, --env, --allow-unix-socket, --allow-domain, --deny-domain,
// --allow-cidr, --allow-degraded, --memory, --pids, --cpus, --timeout,
// --max-open-files, --max-file-size and --root.
type Overrides struct {
	Workspace string

	AllowWrite, DenyRead, AllowRead, DenyWrite, Env, AllowUnixSockets []string
	AllowDomains, DenyDomains, AllowCIDRs, AllowDegraded              []string

	Memory, Pids, CPUs, Timeout, MaxOpenFiles, MaxFileSize string

	Root *bool
}

// Build returns the effective policy: the base profile, then the policy
// file, then the settings file, then the flags, each layer adding to the
// lists and replacing the scalars it sets. The base profile is profile if
// not "", else the policy file's profile: key, else "agent". Either file may
// be "". The result is validated as a whole; its paths are not expanded yet
// (see Expand).
func Build(profile, policyFile, settingsFile string, o Overrides) (*Policy, error) {
	var (
		file, settings *Policy
		forg, sorg     origins
		err            error
	)
	if policyFile != "" {
		if file, forg, err = loadFile(policyFile); err != nil {
			return nil, err
		}
	}
	if settingsFile != "" {
		if settings, sorg, err = loadSettings(settingsFile); err != nil {
			return nil, err
		}
	}
	name := profile
	if name == "" && file != nil {
		name = file.Profile
	}
	if name == "" {
		name = ProfileAgent
	}
	p, err := Profile(name)
	if err != nil {
		return nil, &Error{Field: "--profile", Msg: err.Error()}
	}
	org := origins{}
	what := fmt.Sprintf("the %s profile", name)
	for _, lf := range p.lists() {
		for _, v := range *lf.list {
			org.add(entryKey(lf.name, v), origin{field: lf.name, what: what})
		}
	}
	if file != nil {
		merge(p, org, file, forg)
	}
	if settings != nil {
		merge(p, org, settings, sorg)
	}
	if err := applyOverrides(p, org, o); err != nil {
		return nil, err
	}
	p.Version, p.Profile = 1, name
	if err := validate(p, org); err != nil {
		return nil, err
	}
	return p, nil
}

// merge adds src's lists to dst's, skipping entries dst already has, and
// copies the scalars that src sets, keeping the origins in step.
func merge(dst *Policy, org origins, src *Policy, sorg origins) {
	dl, sl := dst.lists(), src.lists()
	for i := range dl {
		for _, v := range *sl[i].list {
			key := entryKey(dl[i].name, v)
			if !slices.Contains(*dl[i].list, v) {
				*dl[i].list = append(*dl[i].list, v)
			}
			if o, ok := sorg[key]; ok {
				org.add(key, o)
			}
		}
	}
	set := func(key string, apply func()) {
		if o, ok := sorg[key]; ok {
			apply()
			org[key] = o
		}
	}
	dst.Commands.Allow = append(dst.Commands.Allow, src.Commands.Allow...)
	dst.Commands.Ask = append(dst.Commands.Ask, src.Commands.Ask...)
	dst.Commands.Deny = append(dst.Commands.Deny, src.Commands.Deny...)
	set(fWorkspace, func() { dst.Filesystem.Workspace = src.Filesystem.Workspace })
	set(fLocalBinding, func() { dst.Network.AllowLocalBinding = src.Network.AllowLocalBinding })
	set(fRoot, func() { dst.Process.Root = src.Process.Root })
	set(fHostname, func() { dst.Process.Hostname = src.Process.Hostname })
	set(fMemory, func() { dst.Limits.MemoryBytes = src.Limits.MemoryBytes })
	set(fPids, func() { dst.Limits.Pids = src.Limits.Pids })
	set(fCPUs, func() { dst.Limits.CPUs = src.Limits.CPUs })
	set(fTimeout, func() { dst.Limits.Timeout = src.Limits.Timeout })
	set(fMaxOpenFiles, func() { dst.Limits.MaxOpenFiles = src.Limits.MaxOpenFiles })
	set(fMaxFileSize, func() { dst.Limits.MaxFileSize = src.Limits.MaxFileSize })
}

// applyOverrides merges the flags into p.
func applyOverrides(p *Policy, org origins, o Overrides) error {
	lists := []struct {
		flag, field string
		dst         *[]string
		values      []string
	}{
		{"--allow-write", fAllowWrite, &p.Filesystem.AllowWrite, o.AllowWrite},
		{"--deny-read", fDenyRead, &p.Filesystem.DenyRead, o.DenyRead},
		{"--allow-read", fAllowRead, &p.Filesystem.AllowRead, o.AllowRead},
		{"--deny-write", fDenyWrite, &p.Filesystem.DenyWrite, o.DenyWrite},
		{"--allow-unix-socket", fUnixSockets, &p.Filesystem.AllowUnixSockets, o.AllowUnixSockets},
		{"--allow-domain", fAllowDomains, &p.Network.AllowDomains, o.AllowDomains},
		{"--deny-domain", fDenyDomains, &p.Network.DenyDomains, o.DenyDomains},
		{"--allow-cidr", fAllowCIDRs, &p.Network.AllowCIDRs, o.AllowCIDRs},
		{"--env", fEnv, &p.Process.Env, o.Env},
		{"--allow-degraded", fAllowDegraded, &p.AllowDegraded, o.AllowDegraded},
	}
	for _, l := range lists {
		for _, v := range l.values {
			if !slices.Contains(*l.dst, v) {
				*l.dst = append(*l.dst, v)
			}
			org.add(entryKey(l.field, v), origin{field: l.flag})
		}
	}
	if o.Workspace != "" {
		p.Filesystem.Workspace = o.Workspace
		org[fWorkspace] = origin{field: "--workspace"}
	}
	if o.Root != nil {
		p.Process.Root = *o.Root
		org[fRoot] = origin{field: "--root"}
	}
	limits := []struct {
		flag, field, value string
		parse              func(string) error
	}{
		{"--memory", fMemory, o.Memory, func(s string) (err error) { p.Limits.MemoryBytes, err = parseSize(s); return err }},
		{"--pids", fPids, o.Pids, func(s string) error {
			n, err := parseCount(s, 63)
			p.Limits.Pids = int64(n)
			return err
		}},
		{"--cpus", fCPUs, o.CPUs, func(s string) (err error) { p.Limits.CPUs, err = parseCPUs(s); return err }},
		{"--timeout", fTimeout, o.Timeout, func(s string) (err error) { p.Limits.Timeout, err = parseTimeout(s); return err }},
		{"--max-open-files", fMaxOpenFiles, o.MaxOpenFiles, func(s string) (err error) {
			p.Limits.MaxOpenFiles, err = parseCount(s, 64)
			return err
		}},
		{"--max-file-size", fMaxFileSize, o.MaxFileSize, func(s string) (err error) { p.Limits.MaxFileSize, err = parseSize(s); return err }},
	}
	for _, l := range limits {
		if l.value == "" {
			continue
		}
		if err := l.parse(l.value); err != nil {
			return &Error{Field: l.flag, Msg: err.Error()}
		}
		org[l.field] = origin{field: l.flag}
	}
	return nil
}
