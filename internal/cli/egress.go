package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airlock-sandbox/airlock/internal/egress"
	"github.com/airlock-sandbox/airlock/internal/guard"
	"github.com/airlock-sandbox/airlock/internal/policy"
	"github.com/airlock-sandbox/airlock/internal/proxy"
)

// proxyUser is the user name in the proxy credentials given to a sandbox.
const proxyUser = "airlock"

// egressRuntime is one egress proxy: its policy (swapped on reload), its
// audit file and the denials it has reported.
type egressRuntime struct {
	app    *App
	proxy  *proxy.Proxy
	policy atomic.Pointer[egress.Policy]

	auditMu sync.Mutex
	audit   *os.File // guarded by auditMu

	deniedMu sync.Mutex
	denied   map[string]int // "host:port" -> count; guarded by deniedMu

	pins map[string][]netip.Addr // --resolve; trusted for their names
	self []netip.Addr            // the host's own addresses, refused

	sandboxID string
	creds     *credentials // nil without credential flags
}

// finish adds the run's pins and the host's own addresses to a compiled
// policy.
func (er *egressRuntime) finish(p *egress.Policy) *egress.Policy {
	return p.WithSelf(er.self...).WithPins(er.pins)
}

// ownAddrs lists the addresses of the host's interfaces, where the proxy
// runs: a sandbox must not reach the host's own services through them.
// Loopback is refused by its class already (and a --resolve pin may open
// it on purpose).
func ownAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if pfx, err := netip.ParsePrefix(a.String()); err == nil && !pfx.Addr().IsLoopback() {
			out = append(out, pfx.Addr())
		}
	}
	return out
}

// policyAdapter presents the egress engine to the proxy.
type policyAdapter struct{ p *egress.Policy }

func (a policyAdapter) CheckName(host string, port int) (string, netip.Addr, proxy.Verdict) {
	name, lit, v := a.p.CheckName(host, port)
	return name, lit, proxy.Verdict(v)
}

func (a policyAdapter) CheckAddr(name string, ip netip.Addr, port int) proxy.Verdict {
	return proxy.Verdict(a.p.CheckAddr(name, ip, port))
}

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("proxy credentials: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// parseResolve reads --resolve HOST:ADDR pins.
func parseResolve(list []string) (map[string][]netip.Addr, error) {
	out := map[string][]netip.Addr{}
	for _, r := range list {
		host, addr, ok := strings.Cut(r, ":")
		addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
		ip, err := netip.ParseAddr(addr)
		if !ok || host == "" || err != nil {
			return nil, fmt.Errorf("--resolve %q: want HOST:ADDR, e.g. example.com:127.0.0.1", r)
		}
		host = strings.TrimSuffix(strings.ToLower(host), ".")
		out[host] = append(out[host], ip.Unmap())
	}
	return out, nil
}

func (a *App) newEgress(p *policy.Policy, ef egressFlags, sandboxID, token string, ask func(context.Context, string, int) bool, cr *credentials) (*egressRuntime, error) {
	static, err := parseResolve(ef.resolve)
	if err != nil {
		return nil, err
	}
	pol, err := egress.Compile(p.Network)
	if err != nil {
		return nil, fmt.Errorf("network policy: %w", err)
	}
	er := &egressRuntime{app: a, denied: map[string]int{}, pins: static, self: ownAddrs(), sandboxID: sandboxID, creds: cr}
	er.policy.Store(er.finish(pol))
	if ef.audit != "" {
		// The audit file may lie in a writable workspace: never follow a
		// symlink planted there.
		f, err := os.OpenFile(ef.audit, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return nil, fmt.Errorf("--audit: %w", err)
		}
		er.audit = f
	}
	cfg := proxy.Config{
		Policy:    func() proxy.Policy { return policyAdapter{er.policy.Load()} },
		Static:    static,
		User:      proxyUser,
		Token:     token,
		SandboxID: sandboxID,
		Audit:     er.writeAudit,
		OnDeny:    er.reportDeny,
		Ask:       ask,
	}
	if cr != nil {
		cfg.Inject = cr.inj
		if cr.ca != nil {
			cfg.TLS = &proxy.Terminator{Hosts: cr.terminates, Leaf: cr.ca.Leaf, Roots: cr.roots}
		} else if cr.roots != nil {
			cfg.TLS = &proxy.Terminator{Roots: cr.roots}
		}
		for _, ev := range cr.events {
			er.writeEvent(ev)
		}
	}
	er.proxy = proxy.New(cfg)
	return er, nil
}

// serve starts the proxy on the sandbox's listeners: HTTP, SOCKS5 and,
// when the run has gateways, the gateway.
func (er *egressRuntime) serve(_ context.Context, ls []net.Listener) error {
	go func() { _ = er.proxy.ServeHTTP(ls[0]) }()
	go func() { _ = er.proxy.ServeSOCKS(ls[1]) }()
	if len(ls) > 2 {
		if er.creds == nil || len(er.creds.routes) == 0 {
			return fmt.Errorf("a gateway listener without gateway routes")
		}
		go func() { _ = er.proxy.ServeGateway(ls[2], er.creds.routes) }()
	}
	return nil
}

// close stops the proxy and prints the summary of denials.
func (er *egressRuntime) close() {
	er.proxy.Close()
	er.auditMu.Lock()
	if er.audit != nil {
		er.audit.Close()
		er.audit = nil
	}
	er.auditMu.Unlock()
	er.deniedMu.Lock()
	defer er.deniedMu.Unlock()
	if len(er.denied) == 0 {
		return
	}
	var dests []string
	total := 0
	for d, n := range er.denied {
		dests = append(dests, fmt.Sprintf("%s (%d)", d, n))
		total += n
	}
	sort.Strings(dests)
	er.app.warnf("egress: %d request(s) denied to %d destination(s): %s", total, len(er.denied), strings.Join(dests, ", "))
}

func (er *egressRuntime) writeAudit(r proxy.Record) {
	er.auditMu.Lock()
	defer er.auditMu.Unlock()
	if er.audit == nil {
		return
	}
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	er.writeLineLocked(b)
}

// writeLineLocked appends one JSON line to the audit file, with every
// known secret value redacted.
func (er *egressRuntime) writeLineLocked(b []byte) {
	if er.creds != nil {
		// Redact each string value, not the line: a redaction that
		// spans JSON syntax would leave the line unparseable.
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&v); err == nil {
			if rb, err := json.Marshal(redactValue(v, er.creds.redact.String)); err == nil {
				b = rb
			}
		}
	}
	_, _ = er.audit.Write(append(b, '\n'))
}

// redactValue applies redact to every string in a decoded JSON value.
func redactValue(v any, redact func(string) string) any {
	switch x := v.(type) {
	case string:
		return redact(x)
	case []any:
		for i := range x {
			x[i] = redactValue(x[i], redact)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = redactValue(e, redact)
		}
	}
	return v
}

// writeEvent appends an audit record of another kind than an egress
// decision; ev holds its "event" and fields.
func (er *egressRuntime) writeEvent(ev map[string]any) {
	er.auditMu.Lock()
	defer er.auditMu.Unlock()
	if er.audit == nil {
		return
	}
	rec := map[string]any{"schema": proxy.RecordSchema, "time": time.Now(), "sandbox_id": er.sandboxID}
	for k, v := range ev {
		rec[k] = v
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return
	}
	er.writeLineLocked(b)
}

// reportDeny prints one line per denied destination, the first time only.
// Refusals by the proxy itself (bad credentials, a malformed request) have
// no destination and are grouped by their rule.
func (er *egressRuntime) reportDeny(r proxy.Record) {
	dest := net.JoinHostPort(r.Host, fmt.Sprint(r.Port))
	if r.Host == "" {
		dest = "a request refused by the proxy (" + r.Rule + ")"
	}
	er.deniedMu.Lock()
	er.denied[dest]++
	first := er.denied[dest] == 1
	er.deniedMu.Unlock()
	if !first {
		return
	}
	fmt.Fprintf(er.app.Stderr, "airlock: denied egress to %s: %s\n", dest, r.Reason)
	if r.Hint != "" {
		fmt.Fprintf(er.app.Stderr, "airlock: hint: to allow it, pass %s\n", r.Hint)
	}
}

// reload swaps in a new network policy built by build. An invalid policy
// is reported and the old one stays: a reload never weakens or drops the
// policy in force.
func (er *egressRuntime) reload(build func() (*policy.Policy, error)) {
	p, err := build()
	if err == nil && er.creds != nil {
		p.Network.AllowDomains = appendMissing(p.Network.AllowDomains, er.creds.allow)
	}
	if err == nil {
		var pol *egress.Policy
		if pol, err = egress.Compile(p.Network); err == nil {
			er.policy.Store(er.finish(pol))
			er.app.warnf("egress policy reloaded")
			return
		}
	}
	er.app.errorf("policy reload failed, keeping the previous policy: %v", err)
}

// watchFiles calls fn when any of the files changes (size or mtime),
// checking every interval until ctx ends.
func watchFiles(ctx context.Context, files []string, interval time.Duration, fn func()) {
	stamp := func() string {
		var b strings.Builder
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				fmt.Fprintf(&b, "%s %d %d;", f, fi.Size(), fi.ModTime().UnixNano())
			}
		}
		return b.String()
	}
	last := stamp()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s := stamp(); s != last {
				last = s
				fn()
			}
		}
	}
}

// appendMissing appends the entries of add that list lacks.
func appendMissing(list, add []string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// writeExec records one program the sandbox runs. The record is read from
// the process's memory while the kernel waits, so it is what the process
// asked for at that moment: a trail, not a guarantee (see internal/guard).
func (er *egressRuntime) writeExec(e guard.Exec) {
	ev := map[string]any{"event": "exec", "pid": e.Pid, "ppid": e.Ppid, "syscall": e.Syscall, "path": e.Path, "argv": e.Argv, "cwd": e.Cwd}
	if e.Truncated {
		ev["truncated"] = true
	}
	if e.Err != "" {
		ev["error"] = e.Err
	}
	er.writeEvent(ev)
}
