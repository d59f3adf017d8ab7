package policy

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// The show* types mirror Policy with omitempty everywhere and limits as
// text, so that Show prints only what is set, in the units LoadFile reads.
type (
	showPolicy struct {
		Version       int             `yaml:"version,omitempty"`
		Profile       string          `yaml:"profile,omitempty"`
		Filesystem    *showFilesystem `yaml:"filesystem,omitempty"`
		Network       *showNetwork    `yaml:"network,omitempty"`
		Process       *showProcess    `yaml:"process,omitempty"`
		Limits        *showLimits     `yaml:"limits,omitempty"`
		Credentials   *showCreds      `yaml:"credentials,omitempty"`
		Commands      *Commands       `yaml:"commands,omitempty"`
		AllowDegraded []string        `yaml:"allow_degraded,omitempty"`
	}
	showCreds struct {
		Secrets    []string `yaml:"secrets,omitempty"`
		Files      []string `yaml:"files,omitempty"`
		TLSExclude []string `yaml:"tls_exclude,omitempty"`
	}
	showFilesystem struct {
		Workspace        string   `yaml:"workspace,omitempty"`
		AllowWrite       []string `yaml:"allow_write,omitempty"`
		DenyRead         []string `yaml:"deny_read,omitempty"`
		AllowRead        []string `yaml:"allow_read,omitempty"`
		DenyWrite        []string `yaml:"deny_write,omitempty"`
		Unprotect        []string `yaml:"unprotect,omitempty"`
		AllowUnixSockets []string `yaml:"allow_unix_sockets,omitempty"`
	}
	showNetwork struct {
		AllowDomains      []string `yaml:"allow_domains,omitempty"`
		DenyDomains       []string `yaml:"deny_domains,omitempty"`
		AllowCIDRs        []string `yaml:"allow_cidrs,omitempty"`
		DenyCIDRs         []string `yaml:"deny_cidrs,omitempty"`
		AllowLocalBinding bool     `yaml:"allow_local_binding,omitempty"`
	}
	showProcess struct {
		Env      []string `yaml:"env,omitempty"`
		Root     bool     `yaml:"root,omitempty"`
		Hostname string   `yaml:"hostname,omitempty"`
	}
	showLimits struct {
		Memory       any     `yaml:"memory,omitempty"`
		Pids         int64   `yaml:"pids,omitempty"`
		CPUs         float64 `yaml:"cpus,omitempty"`
		Timeout      string  `yaml:"timeout,omitempty"`
		MaxOpenFiles uint64  `yaml:"max_open_files,omitempty"`
		MaxFileSize  any     `yaml:"max_file_size,omitempty"`
	}
)

// Show renders p as a native YAML policy that LoadFile reads back to an
// equal Policy. Settings at their zero value are left out.
func Show(p *Policy) ([]byte, error) {
	doc := showPolicy{Version: p.Version, Profile: p.Profile, AllowDegraded: p.AllowDegraded}
	fs := showFilesystem(p.Filesystem)
	if !isZero(fs) {
		doc.Filesystem = &fs
	}
	nw := showNetwork(p.Network)
	if !isZero(nw) {
		doc.Network = &nw
	}
	pr := showProcess(p.Process)
	if !isZero(pr) {
		doc.Process = &pr
	}
	l := p.Limits
	lim := showLimits{
		Memory:       showSize(l.MemoryBytes),
		Pids:         l.Pids,
		CPUs:         l.CPUs,
		MaxOpenFiles: l.MaxOpenFiles,
		MaxFileSize:  showSize(l.MaxFileSize),
	}
	if l.Timeout != 0 {
		lim.Timeout = l.Timeout.String()
	}
	if lim != (showLimits{}) {
		doc.Limits = &lim
	}
	if c := p.Commands; len(c.Allow)+len(c.Ask)+len(c.Deny) > 0 {
		doc.Commands = &c
	}
	if c := showCreds(p.Credentials); !isZero(c) {
		doc.Credentials = &c
	}
	var node yaml.Node
	if err := node.Encode(doc); err != nil {
		return nil, fmt.Errorf("render policy: %w", err)
	}
	quoteUnprintable(&node)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&node); err != nil {
		return nil, fmt.Errorf("render policy: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render policy: %w", err)
	}
	return buf.Bytes(), nil
}

// quoteUnprintable switches strings with characters outside printable
// Unicode to double-quoted style, in which yaml.v3 escapes them; its plain
// and block styles do not always read back the same string.
func quoteUnprintable(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" &&
		strings.IndexFunc(n.Value, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		quoteUnprintable(c)
	}
}

// showSize renders a byte count in the largest binary unit that holds it
// exactly ("512M"), as a plain integer when no unit does, and as nil (left
// out) when it is 0.
func showSize(n int64) any {
	switch {
	case n == 0:
		return nil
	case n%1024 == 0:
		return formatSize(n)
	}
	return n
}

// isZero reports whether a show section would render as an empty mapping.
func isZero[T any](v T) bool {
	out, err := yaml.Marshal(v)
	return err == nil && string(out) == "{}\n"
}
