package policy

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Canonical names of the settings, as the native format spells them. They
// key origins and name settings in errors that have no better source.
const (
	fVersion       = "version"
	fProfile       = "profile"
	fWorkspace     = "filesystem.workspace"
	fAllowWrite    = "filesystem.allow_write"
	fDenyRead      = "filesystem.deny_read"
	fAllowRead     = "filesystem.allow_read"
	fDenyWrite     = "filesystem.deny_write"
	fUnprotect     = "filesystem.unprotect"
	fUnixSockets   = "filesystem.allow_unix_sockets"
	fAllowDomains  = "network.allow_domains"
	fDenyDomains   = "network.deny_domains"
	fAllowCIDRs    = "network.allow_cidrs"
	fDenyCIDRs     = "network.deny_cidrs"
	fLocalBinding  = "network.allow_local_binding"
	fEnv           = "process.env"
	fRoot          = "process.root"
	fHostname      = "process.hostname"
	fMemory        = "limits.memory"
	fPids          = "limits.pids"
	fCPUs          = "limits.cpus"
	fTimeout       = "limits.timeout"
	fMaxOpenFiles  = "limits.max_open_files"
	fMaxFileSize   = "limits.max_file_size"
	fAllowDegraded = "allow_degraded"
	fSecrets       = "credentials.secrets"
	fSecretFiles   = "credentials.files"
	fTLSExclude    = "credentials.tls_exclude"
)

// listField is one list-valued setting of a Policy.
type listField struct {
	name string
	list *[]string
}

// lists returns every list-valued setting of p, in document order.
func (p *Policy) lists() []listField {
	return []listField{
		{fAllowWrite, &p.Filesystem.AllowWrite},
		{fDenyRead, &p.Filesystem.DenyRead},
		{fAllowRead, &p.Filesystem.AllowRead},
		{fDenyWrite, &p.Filesystem.DenyWrite},
		{fUnprotect, &p.Filesystem.Unprotect},
		{fUnixSockets, &p.Filesystem.AllowUnixSockets},
		{fAllowDomains, &p.Network.AllowDomains},
		{fDenyDomains, &p.Network.DenyDomains},
		{fAllowCIDRs, &p.Network.AllowCIDRs},
		{fDenyCIDRs, &p.Network.DenyCIDRs},
		{fEnv, &p.Process.Env},
		{fAllowDegraded, &p.AllowDegraded},
		{fSecrets, &p.Credentials.Secrets},
		{fSecretFiles, &p.Credentials.Files},
		{fTLSExclude, &p.Credentials.TLSExclude},
	}
}

// Validate reports the first bad value or contradictory pair of rules in p
// as an *Error. It accepts a policy as written (with "~/" and relative
// paths) as well as one returned by Expand; run it again after Expand so that
// contradictions between different spellings of one path are found too.
// Validate does no I/O and follows no symlinks.
func (p *Policy) Validate() error { return validate(p, nil) }

func validate(p *Policy, org origins) error {
	if p.Version != 0 && p.Version != 1 {
		return org.errorAt(fVersion, fVersion, "unsupported version %d (only version 1 exists)", p.Version)
	}
	if p.Profile != "" && !slices.Contains(profileNames, p.Profile) {
		return org.errorAt(fProfile, fProfile, "unknown profile %q (valid: %s)%s",
			p.Profile, strings.Join(profileNames, ", "), didYouMean(p.Profile, profileNames))
	}
	if ws := p.Filesystem.Workspace; ws != "" {
		if err := checkPath(ws, literalPath); err != nil {
			return org.errorAt(fWorkspace, fWorkspace, "%v", err)
		}
	}
	checks := map[string]func(string) error{
		fAllowWrite:    func(s string) error { return checkPath(s, writePath) },
		fDenyRead:      func(s string) error { return checkPath(s, readPattern) },
		fAllowRead:     func(s string) error { return checkPath(s, readPattern) },
		fDenyWrite:     func(s string) error { return checkPath(s, writePath) },
		fUnprotect:     checkProtectedName,
		fUnixSockets:   func(s string) error { return checkPath(s, socketPath) },
		fAllowDomains:  func(s string) error { return checkDomain(s, false) },
		fDenyDomains:   func(s string) error { return checkDomain(s, true) },
		fAllowCIDRs:    func(s string) error { return checkCIDR(s, false) },
		fDenyCIDRs:     func(s string) error { return checkCIDR(s, true) },
		fEnv:           checkEnv,
		fAllowDegraded: checkLayer,
		fSecrets:       checkSecret,
		fSecretFiles:   checkSecretFile,
		fTLSExclude:    func(s string) error { return CheckHostPattern(s, false) },
	}
	for _, lf := range p.lists() {
		for i, v := range *lf.list {
			if err := checks[lf.name](v); err != nil {
				return org.errorAt(entryKey(lf.name, v), fmt.Sprintf("%s[%d]", lf.name, i), "%v", err)
			}
		}
	}
	if h := p.Process.Hostname; h != "" {
		if err := checkHostname(h); err != nil {
			return org.errorAt(fHostname, fHostname, "%v", err)
		}
	}
	if err := validateLimits(&p.Limits, org); err != nil {
		return err
	}
	return validateConflicts(p, org)
}

func validateLimits(l *Limits, org origins) error {
	for _, c := range []struct {
		field string
		bad   bool
	}{
		{fMemory, l.MemoryBytes < 0},
		{fPids, l.Pids < 0},
		{fCPUs, l.CPUs < 0},
		{fTimeout, l.Timeout < 0},
		{fMaxFileSize, l.MaxFileSize < 0},
	} {
		if c.bad {
			return org.errorAt(c.field, c.field, "must be positive (leave it out for no limit)")
		}
	}
	if math.IsNaN(l.CPUs) || l.CPUs > maxCPUs {
		return org.errorAt(fCPUs, fCPUs, "cpus %v is out of range (at most %d)", l.CPUs, maxCPUs)
	}
	return nil
}

// validateConflicts finds pairs of rules that cannot both hold. The error
// sits at the rule that loses and names the source of the rule that wins.
func validateConflicts(p *Policy, org origins) error {
	fs := &p.Filesystem
	for _, w := range fs.AllowWrite {
		cw := filepath.Clean(w)
		for _, d := range fs.DenyWrite {
			cd := filepath.Clean(d)
			if cw == cd {
				return org.errorAt(entryKey(fAllowWrite, w), fAllowWrite,
					"%q is also in %s%s; a path cannot be both writable and write-protected",
					w, fDenyWrite, org.describe(entryKey(fDenyWrite, d)))
			}
			if within(cw, cd) {
				return org.errorAt(entryKey(fAllowWrite, w), fAllowWrite,
					"%q is inside %s entry %q%s, so it can never be written",
					w, fDenyWrite, d, org.describe(entryKey(fDenyWrite, d)))
			}
		}
	}
	type target struct{ field, key, value, what string }
	var targets []target
	if ws := fs.Workspace; ws != "" {
		targets = append(targets, target{fWorkspace, fWorkspace, ws, "the workspace"})
	}
	for _, w := range fs.AllowWrite {
		targets = append(targets, target{fAllowWrite, entryKey(fAllowWrite, w), w, "writable path"})
	}
	for _, s := range fs.AllowUnixSockets {
		targets = append(targets, target{fUnixSockets, entryKey(fUnixSockets, s), s, "socket"})
	}
	for _, h := range targets {
		if d, ok := hiddenBy(h.value, fs); ok {
			return org.errorAt(h.key, h.field,
				"%s %q is hidden by %s entry %q%s; add it to %s to expose it",
				h.what, h.value, fDenyRead, d, org.describe(entryKey(fDenyRead, d)), fAllowRead)
		}
	}
	for _, a := range p.Network.AllowDomains {
		if slices.Contains(p.Network.DenyDomains, a) {
			return org.errorAt(entryKey(fAllowDomains, a), fAllowDomains,
				"%q is also in %s%s; a domain cannot be both allowed and denied",
				a, fDenyDomains, org.describe(entryKey(fDenyDomains, a)))
		}
	}
	return nil
}

// hiddenBy returns the DenyRead entry that masks path p, if any, taking
// AllowRead into account. Paths are compared as written, after Clean: a
// "~/" path is only compared with other "~/" paths until Expand has run.
func hiddenBy(p string, fs *Filesystem) (string, bool) {
	cp := filepath.Clean(p)
	base := filepath.Base(cp)
	for _, d := range fs.DenyRead {
		if IsBaseNameGlob(d) {
			if base == "." || base == "/" || base == "~" || base == ".." {
				continue
			}
			if ok, _ := filepath.Match(d, base); !ok {
				continue
			}
		} else if !within(cp, filepath.Clean(d)) {
			continue
		}
		if !reexposed(cp, base, d, fs.AllowRead) {
			return d, true
		}
	}
	return "", false
}

// reexposed reports whether an AllowRead entry undoes DenyRead entry deny for
// the path cp (with base name base): by naming deny exactly, by containing
// cp, or, for a base-name deny, by a base-name pattern that matches base.
func reexposed(cp, base, deny string, allowRead []string) bool {
	for _, a := range allowRead {
		switch {
		case a == deny:
			return true
		case IsBaseNameGlob(a):
			if ok, _ := filepath.Match(a, base); ok && IsBaseNameGlob(deny) {
				return true
			}
		case within(cp, filepath.Clean(a)):
			return true
		}
	}
	return false
}

// within reports whether cleaned path child is parent or below it. Paths of
// different kinds (absolute, "~/", relative) are never within each other.
func within(child, parent string) bool {
	switch {
	case child == parent:
		return true
	case parent == "/":
		return strings.HasPrefix(child, "/")
	case parent == ".":
		return !strings.HasPrefix(child, "/") && !strings.HasPrefix(child, "~") && child != ".." && !strings.HasPrefix(child, "../")
	}
	return strings.HasPrefix(child, parent+"/")
}

// pathKind says which spellings a path setting accepts.
type pathKind int

const (
	// literalPath is a file or directory name taken literally.
	literalPath pathKind = iota
	// writePath is a literal path that must not look like a glob, because a
	// glob taken literally would silently protect or expose nothing.
	writePath
	// readPattern is a literal path, or a base-name glob without "/".
	readPattern
	// socketPath is an absolute or "~/" path, taken literally.
	socketPath
)

func checkPath(s string, kind pathKind) error {
	switch {
	case s == "":
		return errors.New("empty path")
	case !utf8.ValidString(s):
		return fmt.Errorf("%q is not valid UTF-8", s)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%q contains a control character", s)
	case strings.HasPrefix(s, "~") && s != "~" && !strings.HasPrefix(s, "~/"):
		return fmt.Errorf(`%q: only "~" and "~/" are supported for the home directory`, s)
	}
	const meta = "*?["
	switch kind {
	case readPattern:
		if IsBaseNameGlob(s) {
			if strings.Contains(s, "**") {
				return fmt.Errorf(`%q: "**" is not supported; a base-name glob such as "*.key" already matches at any depth`, s)
			}
			if _, err := filepath.Match(s, ""); err != nil {
				return fmt.Errorf("%q is not a valid glob: %w", s, err)
			}
			return nil
		}
		if strings.ContainsAny(s, meta) {
			return fmt.Errorf(`%q: globs are only supported as base names without "/", such as "*.key"`, s)
		}
	case writePath:
		if strings.ContainsAny(s, meta) {
			return fmt.Errorf("%q: globs are not supported here; name the path", s)
		}
	case socketPath:
		if !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "~/") {
			return fmt.Errorf(`%q is relative; a unix socket path must be absolute or start with "~/"`, s)
		}
	}
	return nil
}

func checkProtectedName(s string) error {
	if slices.Contains(protectedNames, s) {
		return nil
	}
	return fmt.Errorf("%q is not a protected name (valid: %s)%s", s, strings.Join(protectedNames, ", "), didYouMean(s, protectedNames))
}

func checkLayer(s string) error {
	if slices.Contains(Layers, s) {
		return nil
	}
	return fmt.Errorf("unknown layer %q (valid: %s)%s", s, strings.Join(Layers, ", "), didYouMean(s, Layers))
}

// checkEnv accepts "NAME" (copy the host value) and "NAME=VALUE".
func checkEnv(s string) error {
	name, _, _ := strings.Cut(s, "=")
	if !isEnvName(name) {
		return fmt.Errorf(`invalid variable %q: want NAME or NAME=VALUE, where NAME has letters, digits and "_" and does not start with a digit`, s)
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return fmt.Errorf("variable %q has a NUL byte or invalid UTF-8", name)
	}
	return nil
}

func isEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// checkHostname accepts an RFC 1123 host name that fits the kernel's
// 64-byte UTS field.
func checkHostname(s string) error {
	if len(s) > 64 {
		return fmt.Errorf("hostname %q is longer than 64 bytes", s)
	}
	for _, label := range strings.Split(s, ".") {
		if !isLabel(label, false) {
			return fmt.Errorf("invalid hostname %q: want dot-separated labels of letters, digits and inner hyphens", s)
		}
	}
	return nil
}

// isLabel reports whether s is a DNS label of at most 63 letters, digits and
// hyphens (and underscores when underscore is set), not starting or ending
// with a hyphen.
func isLabel(s string, underscore bool) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		ok := c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || underscore && c == '_'
		if !ok {
			return false
		}
	}
	return true
}

const domainSyntax = `want a host name ("example.com"), a wildcard ("*.example.com"), "localhost" or an IP address ("192.0.2.1", "[2001:db8::1]"), with an optional ":PORT"`

// checkDomain validates an allow_domains or deny_domains entry:
// HOST[:PORT], where HOST is a domain name, "*." followed by a domain of at
// least two labels, "localhost", an IPv4 address or a bracketed IPv6
// address. A bare "*" (every host) is accepted only in a deny list.
func checkDomain(s string, deny bool) error {
	if strings.Contains(s, "://") || strings.Contains(s, "/") {
		return fmt.Errorf("invalid domain pattern %q: %s; no scheme or path", s, domainSyntax)
	}
	host, port, hasPort := s, "", false
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return fmt.Errorf("invalid domain pattern %q: missing \"]\"", s)
		}
		host = s[1:end]
		rest := s[end+1:]
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return fmt.Errorf("invalid domain pattern %q: %s", s, domainSyntax)
			}
			port, hasPort = rest[1:], true
		}
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return fmt.Errorf("invalid domain pattern %q: %q in brackets is not an IPv6 address", s, host)
		}
	} else {
		switch strings.Count(s, ":") {
		case 0:
		case 1:
			host, port, hasPort = strings.Cut(s, ":")
		default:
			return fmt.Errorf("invalid domain pattern %q: write an IPv6 address in brackets, like \"[2001:db8::1]:443\"", s)
		}
		if err := CheckHostPattern(host, deny); err != nil {
			return fmt.Errorf("invalid domain pattern %q: %v", s, err)
		}
	}
	if hasPort {
		if err := checkPort(port); err != nil {
			return fmt.Errorf("invalid domain pattern %q: %v", s, err)
		}
	}
	return nil
}

// CheckHostPattern checks the host part of a domain pattern (without its
// port): "*" (in deny lists only), "localhost", an IPv4 address, a name
// or a "*."-prefixed name. The egress engine uses it too, so a pattern is
// accepted by one exactly when the other accepts it.
func CheckHostPattern(host string, deny bool) error {
	switch {
	case host == "*":
		if deny {
			return nil
		}
		return errors.New(`"*" alone is only allowed in a deny list; name the domains to allow`)
	case host == "localhost":
		return nil
	case host == "":
		return errors.New("empty host")
	}
	if addr, err := netip.ParseAddr(host); err == nil && addr.Is4() {
		return nil
	}
	name := host
	if strings.HasPrefix(host, "*.") {
		name = host[2:]
		if strings.Count(name, ".") < 1 {
			return errors.New(`a wildcard needs at least two labels after "*.", like "*.example.com"`)
		}
	}
	if strings.Contains(name, "*") {
		return errors.New(`the only wildcard form is a leading "*.", like "*.example.com"`)
	}
	if len(name) > 253 {
		return errors.New("name is longer than 253 bytes")
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return errors.New(`want a fully qualified name with a dot, like "example.com" (or "localhost")`)
	}
	for _, l := range labels {
		if !isLabel(l, true) {
			return fmt.Errorf("%s", domainSyntax)
		}
	}
	if _, err := strconv.Atoi(labels[len(labels)-1]); err == nil {
		return errors.New("numeric top-level label: not a domain name nor an IPv4 address")
	}
	return nil
}

// checkPort accepts a decimal port 1-65535 without sign or leading zeros.
func checkPort(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != s {
		return fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	return nil
}

// checkCIDR validates ADDRESS/BITS[:PORT] with no host bits set. A bare
// address (no "/", no port) is accepted when bare is set, as in
// sandbox-runtime's deniedResolvedAddresses.
func checkCIDR(s string, bare bool) error {
	slash := strings.IndexByte(s, '/')
	if slash < 0 {
		if bare {
			if addr, err := netip.ParseAddr(s); err == nil && addr.Zone() == "" {
				return nil
			}
			return fmt.Errorf(`invalid address %q: want an IP address or ADDRESS/BITS with an optional ":PORT", like "10.0.0.0/8"`, s)
		}
		return fmt.Errorf(`invalid CIDR %q: want ADDRESS/BITS with an optional ":PORT", like "10.0.0.0/8" or "10.0.0.0/8:443"`, s)
	}
	bits, port, hasPort := strings.Cut(s[slash+1:], ":")
	prefix, err := netip.ParsePrefix(s[:slash] + "/" + bits)
	if err != nil {
		return fmt.Errorf(`invalid CIDR %q: want ADDRESS/BITS with an optional ":PORT", like "10.0.0.0/8" or "10.0.0.0/8:443"`, s)
	}
	if m := prefix.Masked(); m != prefix {
		return fmt.Errorf("CIDR %q has host bits set (did you mean %q?)", s, m.String())
	}
	if hasPort {
		if err := checkPort(port); err != nil {
			return fmt.Errorf("invalid CIDR %q: %v", s, err)
		}
	}
	return nil
}

// checkSecret checks the form NAME=SOURCE@HOST[,HOST...]; the secrets
// package parses it fully when it loads the value.
func checkSecret(s string) error {
	name, rest, ok := strings.Cut(s, "=")
	at := strings.LastIndex(rest, "@")
	if !ok || at < 0 || checkEnv(name) != nil || strings.Contains(name, "=") {
		return fmt.Errorf("secret %q: want NAME=SOURCE@HOST[,HOST...] where SOURCE is env:VAR, file:PATH or cmd:COMMAND", s)
	}
	src := rest[:at]
	if !strings.HasPrefix(src, "env:") && !strings.HasPrefix(src, "file:") && !strings.HasPrefix(src, "cmd:") {
		return fmt.Errorf("secret %s: source %q must start with env:, file: or cmd: (the value itself never goes in a policy)", name, src)
	}
	for _, h := range strings.Split(rest[at+1:], ",") {
		if err := CheckHostPattern(h, false); err != nil {
			return fmt.Errorf("secret %s: host %q: %v", name, h, err)
		}
	}
	return nil
}

func checkSecretFile(s string) error {
	path, _, ok := strings.Cut(s, "=")
	if !ok || path == "" {
		return fmt.Errorf("secret file %q: want PATH=TEMPLATE", s)
	}
	return nil
}
