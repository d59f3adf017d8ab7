package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/airlock-sandbox/airlock/internal/inject"
)

// Defaults for the zero values of Config.
const (
	DefaultDialTimeout   = 10 * time.Second
	DefaultHeaderTimeout = 30 * time.Second
	DefaultMaxConns      = 10000

	// maxHeadBytes bounds a request or response head (request or status
	// line and all header fields), and separately a trailer section.
	maxHeadBytes = 64 << 10
)

// ErrClosed is returned by ServeHTTP and ServeSOCKS after Close.
var ErrClosed = errors.New("proxy closed")

// Resolver resolves host names; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Config configures a Proxy. Only Policy is required.
type Config struct {
	// Policy returns the current policy. It is called once per request,
	// so the caller can swap policies atomically (hot reload); a request
	// uses the same policy for all its checks. nil, or a nil result,
	// denies everything.
	Policy func() Policy
	// Resolver resolves names the policy allowed; nil means
	// net.DefaultResolver.
	Resolver Resolver
	// Static pins names (normalised, lowercase) to addresses; it is
	// consulted before Resolver, and a pinned name is not resolved.
	Static map[string][]netip.Addr

	// User and Token are the per-run proxy credentials. Token "" disables
	// authentication.
	User, Token string
	// SandboxID is copied into every Record.
	SandboxID string

	// Audit receives every Record once the request or tunnel has ended.
	// It may be nil. It is called from connection goroutines, concurrently.
	Audit func(Record)
	// OnDeny receives each denial when it is made (before the client is
	// answered). It may be nil.
	OnDeny func(Record)
	// Ask is consulted for a name that CheckName denied only because no
	// allow rule matched (Verdict.NoMatch); true allows it (CheckAddr
	// still applies). nil denies. It may block (for a prompt), but must
	// return once ctx is cancelled, which Close does.
	Ask func(ctx context.Context, name string, port int) (allow bool)

	// Inject checks and rewrites the requests the proxy can read (plain
	// HTTP, terminated TLS, the gateway); nil passes them unchanged.
	Inject *inject.Injector
	// TLS terminates the CONNECT tunnels it selects, so that Inject sees
	// their requests; nil tunnels everything untouched.
	TLS *Terminator

	// DialTimeout bounds resolution and, separately, dialling (across all
	// candidate addresses). Default DefaultDialTimeout.
	DialTimeout time.Duration
	// Dial connects to an IP:port; nil means a net.Dialer. It is never
	// passed a host name.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// HeaderTimeout bounds reading a request head, the idle time between
	// requests of a keep-alive connection, and the SOCKS5 handshake.
	// Default DefaultHeaderTimeout.
	HeaderTimeout time.Duration
	// MaxConns bounds concurrent client connections over all listeners;
	// connections beyond it are closed at once. Default DefaultMaxConns.
	MaxConns int

	// Logger receives operational messages (not audit records); nil
	// discards them.
	Logger *slog.Logger
}

// Proxy is an egress proxy. Its methods are safe for concurrent use.
type Proxy struct {
	cfg    Config
	log    *slog.Logger
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	sem    chan struct{} // one token per open client connection
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex                // guards closed, listeners, conns and wg.Add
	closed    bool                      // set by Close
	listeners map[net.Listener]struct{} // being served
	conns     map[net.Conn]struct{}     // open client and upstream connections

	wg sync.WaitGroup // Serve loops and connection goroutines
}

// New returns a Proxy for cfg with defaults filled in.
func New(cfg Config) *Proxy {
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = DefaultHeaderTimeout
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dial := cfg.Dial
	if dial == nil {
		d := &net.Dialer{}
		dial = d.DialContext
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Proxy{
		cfg:       cfg,
		log:       log,
		dial:      dial,
		sem:       make(chan struct{}, cfg.MaxConns),
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[net.Conn]struct{}),
	}
}

// ServeHTTP accepts HTTP proxy connections on l (absolute-URI forwarding
// and CONNECT) until l fails or the proxy is closed. It closes l. After
// Close it returns ErrClosed.
func (p *Proxy) ServeHTTP(l net.Listener) error {
	return p.serve(l, p.serveHTTPConn)
}

// ServeSOCKS accepts SOCKS5 connections on l until l fails or the proxy is
// closed. It closes l. After Close it returns ErrClosed.
func (p *Proxy) ServeSOCKS(l net.Listener) error {
	return p.serve(l, p.serveSOCKSConn)
}

// Close stops every listener, closes every open connection and tunnel,
// cancels pending Ask and resolver calls, and waits until every goroutine
// the proxy started has returned. It is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		p.cancel()
		for l := range p.listeners {
			l.Close()
		}
		for c := range p.conns {
			c.Close()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

func (p *Proxy) serve(l net.Listener, handle func(net.Conn)) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		l.Close()
		return ErrClosed
	}
	p.listeners[l] = struct{}{}
	p.wg.Add(1)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.listeners, l)
		p.mu.Unlock()
		l.Close()
		p.wg.Done()
	}()

	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if p.isClosed() {
				return ErrClosed
			}
			if !retryableAccept(err) {
				return fmt.Errorf("accept on %s: %w", l.Addr(), err)
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			p.log.Warn("proxy: accept failed; retrying", "addr", l.Addr().String(), "err", err, "backoff", backoff)
			select {
			case <-time.After(backoff):
			case <-p.ctx.Done():
				return ErrClosed
			}
			continue
		}
		backoff = 0
		select {
		case p.sem <- struct{}{}:
		default:
			p.log.Warn("proxy: connection limit reached; closing new connection", "limit", p.cfg.MaxConns, "client", c.RemoteAddr().String())
			c.Close()
			continue
		}
		if !p.track(c) {
			<-p.sem
			c.Close()
			return ErrClosed
		}
		p.mu.Lock()
		p.wg.Add(1)
		p.mu.Unlock()
		go func() {
			defer func() {
				p.untrack(c)
				c.Close()
				<-p.sem
				p.wg.Done()
			}()
			handle(c)
		}()
	}
}

// retryableAccept reports whether an Accept error is transient (resource
// exhaustion, a connection reset before it was accepted).
func retryableAccept(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EAGAIN, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (p *Proxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// track registers c so that Close closes it. It returns false, without
// registering, when the proxy is closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// newRecord starts the Record of one decision on client connection c.
func (p *Proxy) newRecord(c net.Conn, proto, method string) *Record {
	client := ""
	if a := c.RemoteAddr(); a != nil {
		client = a.String()
	}
	return &Record{
		Schema:    RecordSchema,
		Event:     EventEgress,
		Time:      time.Now(),
		SandboxID: p.cfg.SandboxID,
		Client:    client,
		Proto:     proto,
		Method:    method,
	}
}

// refuse marks rec as denied by the proxy itself (not the policy) and
// reports it to OnDeny.
func (p *Proxy) refuse(rec *Record, rule, reason string) {
	p.denied(rec, Verdict{Rule: rule, Reason: reason})
}

// denied marks rec as denied with v and reports it to OnDeny.
func (p *Proxy) denied(rec *Record, v Verdict) {
	rec.Decision = DecisionDeny
	rec.Rule = v.Rule
	rec.Reason = v.Reason
	rec.Hint = v.Hint
	if p.cfg.OnDeny != nil {
		p.cfg.OnDeny(*rec)
	}
}

// finish completes rec and passes it to Audit.
func (p *Proxy) finish(rec *Record) {
	rec.DurationMS = float64(time.Since(rec.Time).Microseconds()) / 1000
	if p.cfg.Audit != nil {
		p.cfg.Audit(*rec)
	}
}
