package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"
)

// failKind says why dialChecked returned no connection.
type failKind int

const (
	failDenied  failKind = iota + 1 // the policy (or Ask) said no
	failResolve                     // the allowed name did not resolve
	failDial                        // no allowed address could be dialled
)

// failure is why dialChecked returned no connection.
type failure struct {
	kind failKind
	v    Verdict // for failDenied
	err  error   // for failResolve and failDial
}

// dialChecked decides whether host:port may be reached and, if so,
// connects to it: CheckName (a denied name is never resolved), Ask, one
// resolution, CheckAddr on every address, then a dial of exactly the
// allowed addresses, in order, as IP:port. It fills in rec's destination
// and decision, and reports denials to OnDeny. The returned connection is
// tracked; the caller closes and untracks it.
func (p *Proxy) dialChecked(rec *Record, host string, port int) (net.Conn, *failure) {
	rec.Host, rec.Port = host, port
	var pol Policy
	if p.cfg.Policy != nil {
		pol = p.cfg.Policy()
	}
	if pol == nil {
		v := Verdict{Rule: RuleNoPolicy, Reason: "no egress policy is loaded"}
		p.denied(rec, v)
		return nil, &failure{kind: failDenied, v: v}
	}

	name, literal, v := pol.CheckName(host, port)
	switch {
	case name != "":
		rec.Host = name
	case literal.IsValid():
		rec.Host = literal.String()
	}
	if !v.Allow && v.NoMatch && p.cfg.Ask != nil && (name != "" || literal.IsValid()) {
		if p.cfg.Ask(p.ctx, rec.Host, port) {
			v = Verdict{Allow: true, Rule: RuleAsk, Reason: "allowed when asked"}
		} else {
			v.Reason += " (refused when asked)"
		}
	}
	if !v.Allow {
		p.denied(rec, v)
		return nil, &failure{kind: failDenied, v: v}
	}
	rec.Decision, rec.Rule, rec.Reason, rec.Hint = DecisionAllow, v.Rule, v.Reason, v.Hint

	var addrs []netip.Addr
	switch {
	case literal.IsValid():
		addrs = []netip.Addr{literal}
	case name != "":
		var err error
		addrs, err = p.resolve(name)
		if err != nil {
			rec.Error = err.Error()
			return nil, &failure{kind: failResolve, err: err}
		}
	default:
		v := Verdict{Rule: RuleBadRequest, Reason: "the policy returned neither a name nor an address"}
		p.denied(rec, v)
		return nil, &failure{kind: failDenied, v: v}
	}

	allowed := make([]netip.Addr, 0, len(addrs))
	var deny Verdict
	var denyAddr netip.Addr
	for _, a := range addrs {
		av := pol.CheckAddr(name, a, port)
		if av.Allow {
			allowed = append(allowed, a)
		} else if !denyAddr.IsValid() {
			deny, denyAddr = av, a
		}
	}
	if len(allowed) == 0 {
		rec.IP = denyAddr.String()
		p.denied(rec, deny)
		return nil, &failure{kind: failDenied, v: deny}
	}

	c, ip, err := p.dialAddrs(allowed, port)
	rec.IP = ip.String()
	if err != nil {
		rec.Error = err.Error()
		return nil, &failure{kind: failDial, err: err}
	}
	return c, nil
}

// resolve looks name up once: the Static pins, else the Resolver.
func (p *Proxy) resolve(name string) ([]netip.Addr, error) {
	if pinned, ok := p.cfg.Static[name]; ok {
		if len(pinned) == 0 {
			return nil, fmt.Errorf("resolve %s: no addresses pinned", name)
		}
		return append([]netip.Addr(nil), pinned...), nil
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.DialTimeout)
	defer cancel()
	addrs, err := p.cfg.Resolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", name, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", name)
	}
	return addrs, nil
}

// dialAddrs connects to the first of addrs that answers, within
// DialTimeout overall. It returns the address it connected to, or the last
// one it tried.
func (p *Proxy) dialAddrs(addrs []netip.Addr, port int) (net.Conn, netip.Addr, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.DialTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	var errs []error
	var last netip.Addr
	for i, a := range addrs {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		last = a
		// Share the time left between the addresses left, as
		// net.Dialer does, but give each at least two seconds.
		per := time.Until(deadline) / time.Duration(len(addrs)-i)
		per = max(per, 2*time.Second)
		actx, acancel := context.WithTimeout(ctx, per)
		c, err := p.dial(actx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		acancel()
		if err == nil {
			if !p.track(c) {
				c.Close()
				return nil, a, ErrClosed
			}
			return c, a, nil
		}
		errs = append(errs, err)
	}
	return nil, last, fmt.Errorf("dial: %w", errors.Join(errs...))
}

// Classes of dial errors, for status codes and SOCKS replies.
const (
	dialOther = iota
	dialRefused
	dialTimeout
	dialNetUnreachable
	dialHostUnreachable
)

func classifyDialError(err error) int {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return dialRefused
	case errors.Is(err, syscall.ENETUNREACH):
		return dialNetUnreachable
	case errors.Is(err, syscall.EHOSTUNREACH):
		return dialHostUnreachable
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return dialTimeout
	}
	return dialOther
}

// oneLine makes s safe for a header value or a single text line: control
// characters become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
