package secrets

import (
	"errors"
	"fmt"
	"github.com/airlock-sandbox/airlock/internal/policy"
	"net/netip"
	"strconv"
	"strings"
)

// Source kinds.
const (
	KindEnv  = "env"
	KindFile = "file"
	KindCmd  = "cmd"
)

// Secret is one credential: where its real value comes from on the host,
// the hosts it may be sent to, and the placeholder the sandbox sees instead.
type Secret struct {
	// Name identifies the secret, e.g. ANTHROPIC_API_KEY. It is also the
	// name of the environment variable that carries the placeholder into
	// the sandbox.
	Name string
	// Source says where the real value comes from.
	Source Source
	// Hosts lists the host patterns the real value may be sent to, in the
	// syntax of network allow_domains: "api.example.com", "*.example.com"
	// (subdomains only), "localhost", an IPv4 address or a bracketed IPv6
	// address, each with an optional ":PORT".
	Hosts []string
	// Placeholder is what the sandbox sees instead of the real value; see
	// NewPlaceholder. ParseFlag leaves it empty.
	Placeholder string
}

// Source names where a real value comes from on the host.
type Source struct {
	// Kind is KindEnv, KindFile or KindCmd.
	Kind string
	// Ref is the environment variable name, the file path, or the shell
	// command run with /bin/sh -c.
	Ref string
}

// String returns the source in flag form, e.g. "env:GITHUB_TOKEN".
func (s Source) String() string { return s.Kind + ":" + s.Ref }

const flagSyntax = "want NAME=SOURCE@HOST[,HOST...] where SOURCE is env:VAR, file:PATH or cmd:COMMAND"

// ParseFlag parses the CLI form NAME=SOURCE@HOST[,HOST...], for example
// "GITHUB_TOKEN=env:GH_TOKEN@api.github.com,*.githubusercontent.com".
//
// NAME runs up to the first '='. The host list starts after the LAST '@':
// host patterns never contain '@', so a file path or a command may contain
// '@' freely ("cmd:pass show me@work@api.example.com" runs
// "pass show me@work"). A command may contain spaces and '='.
func ParseFlag(s string) (Secret, error) {
	bad := func(format string, args ...any) (Secret, error) {
		return Secret{}, fmt.Errorf("invalid secret %q: %s", s, fmt.Sprintf(format, args...))
	}
	name, rest, ok := strings.Cut(s, "=")
	if !ok {
		return bad("missing '='; %s", flagSyntax)
	}
	if !isEnvName(name) {
		return bad("name %q is not a variable name (letters, digits and '_', not starting with a digit)", name)
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return bad("missing '@HOST' after the source; %s", flagSyntax)
	}
	src, hostList := rest[:at], rest[at+1:]
	kind, ref, ok := strings.Cut(src, ":")
	if !ok {
		return bad("source %q has no kind; want env:VAR, file:PATH or cmd:COMMAND", src)
	}
	switch kind {
	case KindEnv:
		if !isEnvName(ref) {
			return bad("env source %q is not a variable name", ref)
		}
	case KindFile:
		if ref == "" {
			return bad("file source has an empty path")
		}
		if strings.IndexByte(ref, 0) >= 0 {
			return bad("file source path contains a NUL byte")
		}
	case KindCmd:
		if strings.TrimSpace(ref) == "" {
			return bad("cmd source has an empty command")
		}
		if strings.IndexByte(ref, 0) >= 0 {
			return bad("cmd source command contains a NUL byte")
		}
	default:
		return bad("unknown source kind %q; want env, file or cmd", kind)
	}
	if hostList == "" {
		return bad("empty host list after '@'")
	}
	hosts := strings.Split(hostList, ",")
	for _, h := range hosts {
		if err := checkHost(h); err != nil {
			return bad("host %q: %v", h, err)
		}
	}
	return Secret{Name: name, Source: Source{Kind: kind, Ref: ref}, Hosts: hosts}, nil
}

// isEnvName reports whether s is a portable environment variable name.
func isEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// splitHostPort splits a pattern into host and port ("" when absent).
// Bracketed IPv6 hosts are returned without brackets.
func splitHostPort(s string) (host, port string, hasPort bool, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", false, errors.New(`missing "]"`)
		}
		host, rest := s[1:end], s[end+1:]
		if addr, err := netip.ParseAddr(host); err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", "", false, fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
		if rest == "" {
			return host, "", false, nil
		}
		if !strings.HasPrefix(rest, ":") {
			return "", "", false, errors.New(`want ":PORT" after "]"`)
		}
		return host, rest[1:], true, nil
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", false, nil
	case 1:
		host, port, _ := strings.Cut(s, ":")
		return host, port, true, nil
	}
	return "", "", false, errors.New(`write an IPv6 address in brackets, like "[2001:db8::1]:443"`)
}

// checkHost validates one host pattern, with the same rules as network
// allow_domains, except that "*" alone is never accepted: a secret must
// name where it may go.
func checkHost(s string) error {
	if strings.ContainsAny(s, "/@") {
		return errors.New(`want a host pattern, with no scheme, user or path`)
	}
	host, port, hasPort, err := splitHostPort(s)
	if err != nil {
		return err
	}
	if hasPort {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return fmt.Errorf("port %q is not a number from 1 to 65535", port)
		}
	}
	if strings.HasPrefix(s, "[") {
		return nil
	}
	if host == "*" {
		return errors.New(`"*" would send the secret anywhere; name the hosts`)
	}
	// Otherwise exactly the network allow_domains rules.
	return policy.CheckHostPattern(host, false)
}

// AllowsHost reports whether the real value may be sent to host on port.
// Matching is case-insensitive and ignores one trailing dot; "*.x" matches
// strict subdomains of x only; a pattern without a port matches any port.
// host may be a bracketed or bare IPv6 address. Invalid patterns match
// nothing.
func (s Secret) AllowsHost(host string, port int) bool {
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")), ".")
	if host == "" || strings.HasPrefix(host, ".") || strings.Contains(host, "..") {
		return false
	}
	for _, pat := range s.Hosts {
		if checkHost(pat) != nil {
			continue
		}
		ph, pp, hasPort, _ := splitHostPort(pat)
		if hasPort && pp != strconv.Itoa(port) {
			continue
		}
		ph = strings.ToLower(ph)
		if rest, ok := strings.CutPrefix(ph, "*."); ok {
			if strings.HasSuffix(host, "."+rest) {
				return true
			}
			continue
		}
		if a, err := netip.ParseAddr(ph); err == nil {
			if b, err := netip.ParseAddr(host); err == nil && a == b {
				return true
			}
			continue
		}
		if host == ph {
			return true
		}
	}
	return false
}
