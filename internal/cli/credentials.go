package cli

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/airlock-sandbox/airlock/internal/inject"
	"github.com/airlock-sandbox/airlock/internal/mitm"
	"github.com/airlock-sandbox/airlock/internal/policy"
	"github.com/airlock-sandbox/airlock/internal/proxy"
	"github.com/airlock-sandbox/airlock/internal/sandbox"
	"github.com/airlock-sandbox/airlock/internal/secrets"
)

// credFlags are the credential flags of `run`.
type credFlags struct {
	secrets     []string
	secretBody  []string
	secretFiles []string
	gateways    []string
	upstreamCAs []string
	tlsExclude  []string
	methods     []string
	readOnly    []string
	maxBody     []string
}

func (cf *credFlags) register(fs *flag.FlagSet) {
	fs.Var(listFlag{&cf.secrets}, "secret", "inject secret `NAME=SOURCE@HOST[,HOST...]` (SOURCE: env:VAR, file:PATH or cmd:COMMAND); the sandbox sees a placeholder in $NAME (repeatable)")
	fs.Var(listFlag{&cf.secretBody}, "secret-body", "also swap secret `NAME`'s placeholder in the query and body of requests to its hosts (repeatable)")
	fs.Var(listFlag{&cf.secretFiles}, "secret-file", "put a 0400 file at `PATH=TEMPLATE` for this run; ${NAME} in TEMPLATE becomes secret NAME's placeholder (repeatable)")
	fs.Var(listFlag{&cf.gateways}, "gateway", "serve `VAR=SECRET@https://HOST[/BASE][#HEADER]` on loopback and set $VAR to its URL; requests get HEADER (default Authorization: Bearer) set to the secret (repeatable)")
	fs.Var(listFlag{&cf.upstreamCAs}, "upstream-ca", "also trust the CA certificates in `FILE` when verifying upstream servers (repeatable)")
	fs.Var(listFlag{&cf.tlsExclude}, "tls-exclude", "never terminate TLS to `HOST` (certificate pinning, mTLS): tunnel it untouched (repeatable)")
	fs.Var(listFlag{&cf.methods}, "http-methods", "allow only `HOST=METHOD[,METHOD...]` to HOST (repeatable)")
	fs.Var(listFlag{&cf.readOnly}, "read-only-host", "allow only GET, HEAD and OPTIONS to `HOST` (repeatable)")
	fs.Var(listFlag{&cf.maxBody}, "max-request-body", "refuse request bodies over `HOST=SIZE` to HOST (repeatable)")
}

func (cf *credFlags) any() bool {
	return len(cf.secrets)+len(cf.secretFiles)+len(cf.gateways)+len(cf.methods)+len(cf.readOnly)+len(cf.maxBody) > 0
}

// credentials is what a run's credential flags resolve to.
type credentials struct {
	inj     *inject.Injector
	ca      *mitm.CA
	caHosts []string
	roots   *x509.CertPool
	exclude []string
	routes  []proxy.Gateway
	env     []string       // placeholders, gateway URLs, trust variables
	files   []sandbox.File // CA, bundle, secret files
	redact  *secrets.Redactor
	events  []map[string]any // audit events of the run's start
	allow   []string         // hosts to add to the network allowlist
}

// gatewayRE is VAR=SECRET@URL.
var gatewayRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=([A-Za-z_][A-Za-z0-9_]*)@(https://.+)$`)

// loadCredentials loads the secrets named by cf and prepares their
// injection. Errors never carry a secret's value.
func (a *App) loadCredentials(ctx context.Context, cf *credFlags, p *policy.Policy, cwd, home string) (*credentials, error) {
	cr := &credentials{}
	var list []secrets.Secret
	var injs []inject.Secret
	values := map[string][]byte{}
	placeholders := map[string]string{}
	for _, f := range cf.secrets {
		s, err := secrets.ParseFlag(f)
		if err != nil {
			return nil, fmt.Errorf("--secret: %w", err)
		}
		if _, dup := values[s.Name]; dup {
			return nil, fmt.Errorf("--secret %s: given twice", s.Name)
		}
		if s.Source.Kind == secrets.KindEnv {
			for _, e := range p.Process.Env {
				if e == s.Source.Ref {
					return nil, fmt.Errorf("--secret %s: its source variable %s is also passed with --env, which would put the real value in the sandbox", s.Name, s.Source.Ref)
				}
			}
		}
		v, err := s.Load(ctx, a.Env)
		if err != nil {
			return nil, err
		}
		ph, err := secrets.NewPlaceholder(v)
		if err != nil {
			return nil, fmt.Errorf("--secret %s: %w", s.Name, err)
		}
		values[s.Name] = v
		placeholders[s.Name] = string(ph)
		s.Placeholder = string(ph)
		list = append(list, s)
		s2 := s
		injs = append(injs, inject.Secret{Name: s.Name, Value: v, Placeholder: ph, Allows: s2.AllowsHost, Body: slices.Contains(cf.secretBody, s.Name)})
		cr.env = append(cr.env, s.Name+"="+string(ph))
		for _, h := range s.Hosts {
			host, _, err := splitPattern(h)
			if err != nil {
				return nil, fmt.Errorf("--secret %s: %w", s.Name, err)
			}
			if !slices.Contains(cr.allow, h) {
				cr.allow = append(cr.allow, h)
			}
			if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err != nil && !slices.Contains(cr.caHosts, host) {
				cr.caHosts = append(cr.caHosts, host)
			}
		}
		cr.events = append(cr.events, map[string]any{"event": "secret", "name": s.Name, "source": s.Source.Kind, "hosts": s.Hosts, "env": s.Name})
	}
	for _, n := range cf.secretBody {
		if _, ok := values[n]; !ok {
			return nil, fmt.Errorf("--secret-body %s: no --secret of that name", n)
		}
	}
	// Values and placeholders are redacted from everything Airlock writes.
	redactValues := map[string][]byte{}
	for n, v := range values {
		redactValues[n] = v
	}
	cr.redact = secrets.NewRedactor(redactValues)

	var limits []inject.Limit
	for _, f := range cf.methods {
		host, ms, ok := strings.Cut(f, "=")
		if !ok || host == "" || ms == "" {
			return nil, fmt.Errorf("--http-methods %q: want HOST=METHOD[,METHOD...]", f)
		}
		var methods []string
		for _, m := range strings.Split(ms, ",") {
			m = strings.ToUpper(strings.TrimSpace(m))
			if m == "" || strings.ContainsAny(m, " \t/:") {
				return nil, fmt.Errorf("--http-methods %q: bad method %q", f, m)
			}
			methods = append(methods, m)
		}
		limits = append(limits, inject.Limit{Host: host, Methods: methods})
	}
	for _, h := range cf.readOnly {
		limits = append(limits, inject.Limit{Host: h, Methods: inject.ReadOnlyMethods})
	}
	for _, f := range cf.maxBody {
		host, size, ok := strings.Cut(f, "=")
		n, err := policy.ParseSize(size)
		if !ok || host == "" || err != nil {
			return nil, fmt.Errorf("--max-request-body %q: want HOST=SIZE, e.g. api.example.com=1M", f)
		}
		limits = append(limits, inject.Limit{Host: host, MaxBody: n})
	}
	for i := range limits {
		if err := policy.CheckHostPattern(limits[i].Host, false); err != nil {
			return nil, fmt.Errorf("limit host %q: %w", limits[i].Host, err)
		}
		// Two limits on one host merge: the first one found applies.
		for j := range i {
			if limits[j].Host == limits[i].Host {
				if limits[i].Methods != nil {
					limits[j].Methods = limits[i].Methods
				}
				if limits[i].MaxBody != 0 {
					limits[j].MaxBody = limits[i].MaxBody
				}
			}
		}
		if !slices.Contains(cr.caHosts, limits[i].Host) {
			cr.caHosts = append(cr.caHosts, limits[i].Host)
		}
	}
	inj, err := inject.New(inject.Config{Secrets: injs, Limits: limits})
	if err != nil {
		return nil, err
	}
	cr.inj = inj
	for _, h := range cf.tlsExclude {
		if err := policy.CheckHostPattern(h, false); err != nil {
			return nil, fmt.Errorf("--tls-exclude %q: %w", h, err)
		}
		cr.exclude = append(cr.exclude, h)
	}
	// With secrets in play, TLS to every allowed domain is terminated, so
	// that a secret sent towards any of them is seen and refused.
	if len(values) > 0 {
		for _, d := range p.Network.AllowDomains {
			host, _, err := splitPattern(d)
			if err != nil || host == "*" || strings.HasPrefix(host, "[") {
				continue
			}
			if _, err := netip.ParseAddr(host); err == nil {
				continue
			}
			if !slices.Contains(cr.caHosts, host) {
				cr.caHosts = append(cr.caHosts, host)
			}
		}
	}
	cr.caHosts = slices.DeleteFunc(cr.caHosts, cr.excluded)

	// Gateways.
	for _, f := range cf.gateways {
		m := gatewayRE.FindStringSubmatch(f)
		if m == nil {
			return nil, fmt.Errorf("--gateway %q: want VAR=SECRET@https://HOST[:PORT][/BASE][#HEADER]", f)
		}
		envVar, name, raw := m[1], m[2], m[3]
		if _, ok := values[name]; !ok {
			return nil, fmt.Errorf("--gateway %s: no --secret %s", envVar, name)
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return nil, fmt.Errorf("--gateway %s: bad upstream URL %q", envVar, raw)
		}
		port := 443
		if ps := u.Port(); ps != "" {
			if port, err = strconv.Atoi(ps); err != nil || port < 1 || port > 65535 {
				return nil, fmt.Errorf("--gateway %s: bad port in %q", envVar, raw)
			}
		}
		host := strings.ToLower(u.Hostname())
		var sec secrets.Secret
		for _, s := range list {
			if s.Name == name {
				sec = s
			}
		}
		if !sec.AllowsHost(host, port) {
			return nil, fmt.Errorf("--gateway %s: %s is not one of the hosts of secret %s", envVar, host, name)
		}
		header, format := "Authorization", "Bearer %s"
		if u.Fragment != "" {
			header = u.Fragment
			if !strings.EqualFold(header, "authorization") {
				format = "%s"
			}
		}
		prefix := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(envVar, "_URL"), "_BASE"))
		for _, r := range cr.routes {
			if r.Prefix == prefix {
				return nil, fmt.Errorf("--gateway %s: another gateway uses the route /%s", envVar, prefix)
			}
		}
		cr.routes = append(cr.routes, proxy.Gateway{Prefix: prefix, Host: host, Port: port, BasePath: strings.TrimSuffix(u.EscapedPath(), "/"),
			Secret: name, Header: header, Format: format})
		cr.env = append(cr.env, fmt.Sprintf("%s=http://127.0.0.1:%d/%s", envVar, sandbox.ProxyGatewayPort, prefix))
		cr.events = append(cr.events, map[string]any{"event": "gateway", "name": name, "env": envVar, "upstream": "https://" + upstreamAuthority(host, port) + u.EscapedPath(), "header": header})
	}

	// Upstream roots: the system's plus --upstream-ca.
	if len(cf.upstreamCAs) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, f := range cf.upstreamCAs {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("--upstream-ca: %w", err)
			}
			if !pool.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("--upstream-ca %s: no PEM certificate in the file", f)
			}
		}
		cr.roots = pool
	}

	// The run's CA and the sandbox's trust in it.
	if len(cr.caHosts) > 0 {
		ca, err := mitm.NewCA(cr.caHosts, 24*time.Hour)
		if err != nil {
			return nil, fmt.Errorf("run CA: %w", err)
		}
		cr.ca = ca
		bundle, err := mitm.Bundle(ca, mitm.DefaultSystemBundles)
		if err != nil {
			return nil, fmt.Errorf("trust bundle: %w", err)
		}
		blk, _ := pem.Decode(ca.CertPEM())
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		hash, err := mitm.SubjectHash(cert)
		if err != nil {
			return nil, err
		}
		cr.files = append(cr.files,
			sandbox.File{Name: "ca.pem", Data: ca.CertPEM(), Mode: 0o444},
			sandbox.File{Name: "ca-bundle.pem", Data: bundle, Mode: 0o444},
			sandbox.File{Name: "certs/" + hash + ".0", Data: ca.CertPEM(), Mode: 0o444})
		cr.env = append(cr.env, mitm.TrustEnv(sandbox.FilesDir+"/ca-bundle.pem", sandbox.FilesDir+"/ca.pem")...)
		cr.env = append(cr.env, "SSL_CERT_DIR="+sandbox.FilesDir+"/certs")
		cr.events = append(cr.events, map[string]any{"event": "tls_ca", "hosts": cr.caHosts, "not_after": ca.NotAfter()})
	}

	// Secret files.
	for i, f := range cf.secretFiles {
		target, tmpl, ok := strings.Cut(f, "=")
		if !ok || target == "" {
			return nil, fmt.Errorf("--secret-file %q: want PATH=TEMPLATE", f)
		}
		target = expandPath(target, cwd, home)
		var missing error
		data := os.Expand(tmpl, func(n string) string {
			ph, ok := placeholders[n]
			if !ok && missing == nil {
				missing = fmt.Errorf("--secret-file %s: ${%s} is not a --secret", target, n)
			}
			return ph
		})
		if missing != nil {
			return nil, missing
		}
		if !strings.HasSuffix(data, "\n") {
			data += "\n"
		}
		if _, err := os.Lstat(target); err != nil && !strings.HasPrefix(target, "/tmp/") {
			return nil, fmt.Errorf("--secret-file %s: the file must exist on the host (create it empty) or lie under /tmp: %w", target, errors.Unwrap(err))
		}
		cr.files = append(cr.files, sandbox.File{Name: fmt.Sprintf("secrets/%d", i+1), Data: []byte(data), Mode: 0o400, Target: target})
		cr.events = append(cr.events, map[string]any{"event": "secret_file", "path": target, "mode": "0400"})
	}
	return cr, nil
}

func upstreamAuthority(host string, port int) string {
	if port == 443 {
		return host
	}
	return host + ":" + strconv.Itoa(port)
}

// excluded reports whether TLS to host is never terminated.
func (cr *credentials) excluded(host string) bool {
	for _, e := range cr.exclude {
		if inject.MatchHost(e, host) {
			return true
		}
	}
	return false
}

// terminates reports whether the proxy terminates TLS to host:port.
func (cr *credentials) terminates(host string, port int) bool {
	if cr.ca == nil || cr.excluded(host) {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return false
	}
	for _, h := range cr.caHosts {
		if inject.MatchHost(h, host) {
			return true
		}
	}
	return false
}

// splitPattern splits a host pattern's optional port.
func splitPattern(p string) (host, port string, err error) {
	if strings.HasPrefix(p, "[") {
		i := strings.Index(p, "]")
		if i < 0 {
			return "", "", fmt.Errorf("bad host %q", p)
		}
		return p[:i+1], strings.TrimPrefix(p[i+1:], ":"), nil
	}
	host, port, _ = strings.Cut(p, ":")
	return strings.ToLower(host), port, nil
}

// expandPath resolves "~/" against home and relative paths against cwd.
func expandPath(p, cwd, home string) string {
	switch {
	case p == "~":
		return home
	case strings.HasPrefix(p, "~/"):
		return filepath.Join(home, p[2:])
	case !filepath.IsAbs(p):
		return filepath.Join(cwd, p)
	}
	return filepath.Clean(p)
}
