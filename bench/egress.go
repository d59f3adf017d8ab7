package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Contender names of the egress phase.
const (
	egDirect       = "direct"
	egAirlockProxy = "airlock proxy"
	egSrtProxy     = "srt proxy"
	egAirlockRun   = "airlock run"
	egSrtRun       = "srt"
	egDirectFresh  = "direct, new connection per request"
)

// egressHost is the name the Airlock contenders use for the server, pinned
// to 127.0.0.1 with --resolve so no DNS is involved.
const egressHost = "bench.test"

// Fixed parameters of the egress phase.
const (
	egressNoFile        = 1 << 18 // RLIMIT_NOFILE for the harness and the proxies it starts
	egressWarmupReqs    = 50      // untimed requests at the start of each client run
	egressWarmupTries   = 3       // warm-up runs before a contender is given up
	egressReadyTimeout  = 30 * time.Second
	egressTunnelWorkers = 32
	egressSettle        = time.Second // pause before reading RSS with the tunnels open
)

// egressParams are the sizes of the egress phase, from the command line.
type egressParams struct {
	bytes      int64         // size of one download
	requests   int           // timed requests per contender, over all rounds
	tunnels    int           // idle tunnels in the memory test
	rounds     int           // round-robin rounds (downloads per contender)
	runTimeout time.Duration // one client run
	tunnelTime time.Duration // opening the tunnels, per proxy
}

// egressContender is one way the client reaches the server.
type egressContender struct {
	name    string
	path    string                         // how the traffic flows, for the report
	command func(client []string) []string // argv that runs the client command
	target  string                         // host:port as the client names the server
	proxy   string                         // the client's -proxy
	pid     int                            // standalone proxy to read CPU time of; 0 for none
	dir     string

	plain bool // the client runs on the host, so its rusage is its own CPU

	unavailable string
	rates       []float64 // bytes per second, one per download
	lat, tunLat []time.Duration
	freshLat    []time.Duration // direct only: a new connection per request
	reconnects  int
	cpu         cpuUse // over the downloads
	runs        int    // client runs that succeeded
	failures    int
	lastErr     error
}

// cpuUse is the CPU time the parts of a transfer used, and the bytes it
// moved.
type cpuUse struct {
	server, client, proxy time.Duration
	bytes                 int64
}

// egressPhase measures throughput, latency and idle-tunnel memory of the
// Airlock and srt proxies next to a direct connection.
func egressPhase(cfg config, scratch string, deadline time.Time, log io.Writer) (*EgressReport, []string) {
	start := time.Now()
	var notes []string
	er := &EgressReport{Bytes: cfg.egress.bytes, Requests: cfg.egress.requests, Tunnels: cfg.egress.tunnels, CPUs: runtime.NumCPU()}
	if lim, err := raiseNoFile(egressNoFile); err != nil {
		notes = append(notes, "egress: could not raise RLIMIT_NOFILE: "+err.Error())
	} else if lim < egressNoFile {
		notes = append(notes, fmt.Sprintf("egress: RLIMIT_NOFILE could only be raised to %d (the hard limit), not %d", lim, egressNoFile))
	}

	srv, err := startEgressServer()
	if err != nil {
		er.Unavailable = "start the loopback server: " + err.Error()
		return er, notes
	}
	defer srv.close()
	dir := filepath.Join(scratch, "egress")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		er.Unavailable = "create egress dir: " + err.Error()
		return er, notes
	}
	client, err := copyExecutable(dir, "bench-client")
	if err != nil {
		er.Unavailable = err.Error()
		return er, notes
	}
	srtSettings := filepath.Join(dir, "srt-settings.json")
	if err := os.WriteFile(srtSettings, []byte(srtEgressSettingsJSON), 0o644); err != nil {
		er.Unavailable = "write srt settings: " + err.Error()
		return er, notes
	}
	token, err := randomToken()
	if err != nil {
		er.Unavailable = err.Error()
		return er, notes
	}
	ports := []int{srv.httpPort(), srv.holdPort()}
	airTarget := net.JoinHostPort(egressHost, strconv.Itoa(ports[0]))
	litTarget := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	policy := airlockEgressFlags(ports)
	er.AirlockFlags = strings.Join(policy, " ")
	er.SrtSettings = srtEgressSettingsJSON

	clientArgs := func(c *egressContender, bytes int64, reqs int) []string {
		return []string{client, egressClientCmd, "-proxy", c.proxy, "-target", c.target,
			"-bytes", strconv.FormatInt(bytes, 10), "-requests", strconv.Itoa(reqs), "-tunnel-requests", strconv.Itoa(reqs),
			"-fresh-requests", strconv.Itoa(reqs), "-warmup", strconv.Itoa(egressWarmupReqs)}
	}
	plain := func(cl []string) []string { return cl }
	cs := []*egressContender{
		{name: egDirect, path: "client to server, no proxy", command: plain, plain: true, target: litTarget, dir: dir},
		{name: egAirlockProxy, path: "`airlock proxy` (standalone, same proxy code as the supervisor), on 127.0.0.1", command: plain, plain: true, target: airTarget, dir: dir},
		{name: egSrtProxy, path: "srt's own proxy (node, host side), on the host port srt announces", command: plain, plain: true, target: litTarget, dir: dir},
		{name: egAirlockRun, path: "client inside `airlock run`: 127.0.0.1:3128 in the sandbox, served by the supervisor", target: airTarget, proxy: proxyFromEnv, dir: dir,
			command: func(cl []string) []string {
				return append(append(append([]string{cfg.airlock, "run"}, policy...), "--"), cl...)
			}},
		{name: egSrtRun, path: "client inside `srt -c`: localhost:3128 in the sandbox, socat, Unix socket, socat, srt's proxy", target: litTarget, proxy: proxyFromEnv, dir: dir,
			command: func(cl []string) []string {
				return []string{cfg.srt, "-s", srtSettings, "-c", shellJoin(cl)}
			}},
	}
	byName := map[string]*egressContender{}
	for _, c := range cs {
		byName[c.name] = c
	}
	if _, err := os.Stat(cfg.airlock); err != nil {
		byName[egAirlockProxy].unavailable = "airlock binary not found"
		byName[egAirlockRun].unavailable = "airlock binary not found"
	}
	if _, err := os.Stat(cfg.srt); err != nil {
		byName[egSrtProxy].unavailable = "srt not found"
		byName[egSrtRun].unavailable = "srt not found"
	}

	// The standalone proxies for throughput and latency.
	if c := byName[egAirlockProxy]; c.unavailable == "" {
		p, addr, err := startAirlockProxy(cfg.airlock, dir, token, policy)
		if err != nil {
			c.unavailable = err.Error()
		} else {
			defer p.stop()
			c.proxy, c.pid = "http://airlock:"+token+"@"+addr, p.pid()
		}
	}
	if c := byName[egSrtProxy]; c.unavailable == "" {
		p, proxyURL, err := startSrtHost(cfg.srt, srtSettings, dir)
		if err != nil {
			c.unavailable = err.Error()
		} else {
			defer p.stop()
			c.proxy, c.pid = proxyURL, p.pid()
		}
	}
	for _, c := range cs {
		er.Display = append(er.Display, EgressPath{Name: c.name, Path: c.path})
	}

	timeout := cfg.egress.runTimeout
	fmt.Fprintf(log, "bench: egress phase: warm-up, then %d rounds of a %s download and %d requests per contender\n",
		cfg.egress.rounds, formatBytes(cfg.egress.bytes), cfg.egress.requests/cfg.egress.rounds)
	for _, c := range cs {
		if c.unavailable != "" {
			continue
		}
		// A contender is available when one of a few warm-up runs works;
		// the failed ones are reported.
		var errs []string
		for range egressWarmupTries {
			_, err := runClient(c.command(clientArgs(c, min(cfg.egress.bytes, 64<<20), 100)), c.dir, timeout)
			if err == nil {
				break
			}
			errs = append(errs, err.Error())
		}
		switch {
		case len(errs) == egressWarmupTries:
			c.unavailable = "warm-up failed: " + errs[len(errs)-1]
			fmt.Fprintf(log, "bench: %s unavailable: %s\n", c.name, errs[len(errs)-1])
		case len(errs) > 0:
			notes = append(notes, fmt.Sprintf("egress %s: %d failed warm-up run(s) before one worked; last error: %s", c.name, len(errs), errs[len(errs)-1]))
		}
	}
	for r := range cfg.egress.rounds {
		if time.Now().After(deadline) {
			notes = append(notes, fmt.Sprintf("egress phase stopped at the deadline after %d of %d rounds", r, cfg.egress.rounds))
			break
		}
		reqs := cfg.egress.requests / cfg.egress.rounds
		if r < cfg.egress.requests%cfg.egress.rounds {
			reqs++
		}
		for j := range cs {
			c := cs[(r+j)%len(cs)]
			if c.unavailable != "" {
				continue
			}
			if err := c.download(clientArgs(c, cfg.egress.bytes, 0), timeout); err != nil {
				c.failures++
				c.lastErr = err
			}
			if err := c.requests(clientArgs(c, 0, reqs), timeout); err != nil {
				c.failures++
				c.lastErr = err
			}
		}
		er.Rounds = r + 1
	}

	for _, c := range cs {
		er.Throughput = append(er.Throughput, throughputRow(c))
		er.Latency = append(er.Latency, latencyRow(c, c.lat))
		if c.name == egDirect {
			r := latencyRow(c, c.freshLat)
			r.Name = egDirectFresh
			er.TunnelLatency = append(er.TunnelLatency, r)
		} else {
			er.TunnelLatency = append(er.TunnelLatency, latencyRow(c, c.tunLat))
		}
		if c.failures > 0 {
			notes = append(notes, fmt.Sprintf("egress %s: %d of %d client runs failed and were left out; last error: %v",
				c.name, c.failures, c.failures+c.runs, c.lastErr))
		}
		if c.reconnects > 0 {
			notes = append(notes, fmt.Sprintf("egress %s: the far side closed the keep-alive connection %d times; each time the next request opened a new connection (not timed)",
				c.name, c.reconnects))
		}
	}

	// Memory: fresh proxies, so the heap the throughput and latency runs
	// left behind cannot absorb the tunnels.
	fmt.Fprintf(log, "bench: egress memory: up to %d idle CONNECT tunnels per proxy\n", cfg.egress.tunnels)
	holdAir := net.JoinHostPort(egressHost, strconv.Itoa(ports[1]))
	holdLit := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	var tps []*tunnelProxy
	if c := byName[egAirlockProxy]; c.unavailable == "" || c.proxy != "" {
		tps = append(tps, prepareTunnelProxy(egAirlockProxy, srv, holdAir, func() (*bgProc, string, error) {
			p, addr, err := startAirlockProxy(cfg.airlock, dir, token, policy)
			return p, "http://airlock:" + token + "@" + addr, err
		}))
	} else {
		tps = append(tps, &tunnelProxy{row: TunnelRow{Name: egAirlockProxy, Unavailable: c.unavailable}})
	}
	if c := byName[egSrtProxy]; c.unavailable == "" || c.proxy != "" {
		tps = append(tps, prepareTunnelProxy(egSrtProxy, srv, holdLit, func() (*bgProc, string, error) {
			return startSrtHost(cfg.srt, srtSettings, dir)
		}))
	} else {
		tps = append(tps, &tunnelProxy{row: TunnelRow{Name: egSrtProxy, Unavailable: c.unavailable}})
	}
	hcap, hlim := harnessTunnelCapacity()
	n, why := tunnelCount(cfg.egress.tunnels, hcap, hlim, tps)
	er.TunnelsOpened, er.TunnelLimit = n, why
	for _, tp := range tps {
		if tp.proc != nil {
			tp.measure(srv, n, cfg.egress.tunnelTime)
			tp.proc.stop()
		}
		er.Memory = append(er.Memory, tp.row)
	}
	er.Duration = time.Since(start)
	return er, notes
}

// srtEgressSettingsJSON lets srt reach the loopback server: its allowlist
// takes IP literals, and a literal on the list is exempt from srt's
// loopback guard. The rest is as in srtSettingsJSON.
const srtEgressSettingsJSON = `{"network":{"allowedDomains":["127.0.0.1"],"deniedDomains":[]},"filesystem":{"denyRead":[],"allowWrite":["."],"denyWrite":[]}}`

// airlockEgressFlags are the policy flags that let Airlock reach the
// loopback server on ports: the name pinned to 127.0.0.1, and loopback
// allowed on exactly those ports.
func airlockEgressFlags(ports []int) []string {
	var fl []string
	for _, p := range ports {
		fl = append(fl, "--allow-domain", fmt.Sprintf("%s:%d", egressHost, p))
	}
	fl = append(fl, "--resolve", egressHost+":127.0.0.1")
	for _, p := range ports {
		fl = append(fl, "--allow-cidr", fmt.Sprintf("127.0.0.1/32:%d", p))
	}
	return fl
}

// airlockListenPrefix starts the line `airlock proxy` prints when it
// listens.
const airlockListenPrefix = "airlock: proxy: HTTP on "

// startAirlockProxy runs `airlock proxy` on an ephemeral loopback port and
// returns it with the address it listens on.
func startAirlockProxy(bin, dir, token string, policy []string) (*bgProc, string, error) {
	argv := append([]string{bin, "proxy", "--listen", "127.0.0.1:0", "--token", token}, policy...)
	p, addr, err := startBackground(argv, dir, airlockListenPrefix, egressReadyTimeout)
	if err != nil {
		return nil, "", err
	}
	addr = strings.TrimSpace(addr)
	if _, _, err := net.SplitHostPort(addr); err != nil {
		p.stop()
		return nil, "", fmt.Errorf("airlock proxy: unexpected listen line %q", addr)
	}
	return p, addr, nil
}

// srtReadyPrefix marks the line the command run in srt prints with the
// proxy settings srt gave it.
const srtReadyPrefix = "SRTBENCH "

// startSrtHost runs srt with a command that prints the proxy settings srt
// gave it and then sleeps, so srt's proxy stays up; it returns srt (the
// node process, which runs the proxy) and a URL for that proxy as reached
// from the host.
func startSrtHost(bin, settings, dir string) (*bgProc, string, error) {
	script := `printf '` + srtReadyPrefix + `%s %s\n' "$CLAUDE_CODE_HOST_HTTP_PROXY_PORT" "$HTTP_PROXY"; exec sleep 3600`
	p, line, err := startBackground([]string{bin, "-s", settings, "-c", script}, dir, srtReadyPrefix, egressReadyTimeout)
	if err != nil {
		return nil, "", err
	}
	u, err := srtHostProxyURL(line)
	if err != nil {
		p.stop()
		return nil, "", err
	}
	return p, u, nil
}

// srtHostProxyURL turns "PORT URL", the host port of srt's proxy and the
// proxy URL srt gives the sandbox (credentials, in-sandbox address), into
// a URL for the same proxy as reached from the host: the credentials with
// 127.0.0.1:PORT.
func srtHostProxyURL(line string) (string, error) {
	f := strings.Fields(line)
	if len(f) != 2 {
		return "", fmt.Errorf("srt: got %q, want the host proxy port and the proxy URL (does this srt set CLAUDE_CODE_HOST_HTTP_PROXY_PORT?)", line)
	}
	port, err := strconv.Atoi(f[0])
	if err != nil || port <= 0 || port > 65535 {
		return "", fmt.Errorf("srt: host proxy port %q is not a port", f[0])
	}
	u, err := url.Parse(f[1])
	if err != nil || u.Scheme != "http" {
		return "", fmt.Errorf("srt: proxy URL %q is not an http URL", f[1])
	}
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return u.String(), nil
}

// randomToken is a fresh proxy password.
func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("proxy token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// shellJoin quotes argv for sh -c.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// shellQuote returns s as one sh word.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// maxClientOutput bounds what is kept of a client run's output.
const maxClientOutput = 8 << 20

// download runs one download of c and records its rate and, where they
// can be told apart, the CPU time of server, client and proxy.
func (c *egressContender) download(argv []string, timeout time.Duration) error {
	var p0 time.Duration
	if c.pid != 0 {
		p0, _ = procCPU(c.pid)
	}
	s0 := selfCPU()
	res, clientCPU, err := runClientCPU(c.command(argv), c.dir, timeout)
	if err != nil {
		return err
	}
	c.runs++
	if res.DownloadNS <= 0 {
		return fmt.Errorf("client reported a download time of %d ns", res.DownloadNS)
	}
	c.rates = append(c.rates, float64(res.Bytes)/time.Duration(res.DownloadNS).Seconds())
	c.cpu.bytes += res.Bytes
	c.cpu.server += selfCPU() - s0
	if c.plain {
		c.cpu.client += clientCPU
	}
	if c.pid != 0 {
		if p1, err := procCPU(c.pid); err == nil {
			c.cpu.proxy += p1 - p0
		}
	}
	return nil
}

// requests runs one latency series of c.
func (c *egressContender) requests(argv []string, timeout time.Duration) error {
	res, err := runClient(c.command(argv), c.dir, timeout)
	if err != nil {
		return err
	}
	c.runs++
	for _, ns := range res.LatenciesNS {
		c.lat = append(c.lat, time.Duration(ns))
	}
	for _, ns := range res.TunnelLatenciesNS {
		c.tunLat = append(c.tunLat, time.Duration(ns))
	}
	for _, ns := range res.FreshLatenciesNS {
		c.freshLat = append(c.freshLat, time.Duration(ns))
	}
	c.reconnects += res.Reconnects
	return nil
}

// runClient runs one egress client command with a timeout (killing its
// process group on expiry) and returns its parsed result.
func runClient(argv []string, dir string, timeout time.Duration) (clientResult, error) {
	res, _, err := runClientCPU(argv, dir, timeout)
	return res, err
}

// runClientCPU is runClient that also returns the CPU time of the process
// and the descendants it reaped.
func runClientCPU(argv []string, dir string, timeout time.Duration) (clientResult, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout = &limitedBuffer{buf: &out, max: maxClientOutput}
	cmd.Stderr = &limitedBuffer{buf: &errb, max: maxClientOutput}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	res, perr := parseClientOutput(out.Bytes())
	if perr == nil && res.Error != "" {
		perr = errors.New(res.Error)
	}
	if perr == nil && runErr != nil {
		perr = runErr
	}
	if perr != nil {
		if ctx.Err() != nil {
			perr = fmt.Errorf("timed out after %s: %w", timeout, perr)
		}
		if tail := strings.TrimSpace(string(tailOf(errb.Bytes(), 400))); tail != "" {
			perr = fmt.Errorf("%w; stderr: %s", perr, oneLine(tail))
		}
		return res, cpu, perr
	}
	return res, cpu, nil
}

// parseClientOutput reads the clientResult from the last line of out that
// holds a JSON object; a sandbox may print its own lines around it.
func parseClientOutput(out []byte) (clientResult, error) {
	var res clientResult
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "{") {
			continue
		}
		if err := json.Unmarshal([]byte(l), &res); err != nil {
			return res, fmt.Errorf("parse client output: %w", err)
		}
		return res, nil
	}
	return res, fmt.Errorf("no result in client output %q", tailOf(out, 200))
}

// limitedBuffer keeps the first max bytes written to it and discards the
// rest without failing the writer.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// throughputRow summarises the downloads of c.
func throughputRow(c *egressContender) ThroughputRow {
	r := ThroughputRow{Name: c.name, Unavailable: c.unavailable}
	if r.Unavailable == "" && len(c.rates) == 0 {
		r.Unavailable = "every run failed"
		if c.lastErr != nil {
			r.Unavailable += ": " + c.lastErr.Error()
		}
	}
	if r.Unavailable != "" {
		return r
	}
	r.Runs = len(c.rates)
	r.Median = medianFloat(c.rates)
	r.Min, r.Max = c.rates[0], c.rates[0]
	for _, v := range c.rates {
		r.Min, r.Max = min(r.Min, v), max(r.Max, v)
	}
	if c.cpu.bytes > 0 {
		perGiB := func(d time.Duration) time.Duration {
			return time.Duration(float64(d) * float64(1<<30) / float64(c.cpu.bytes))
		}
		r.ServerCPUPerGiB = perGiB(c.cpu.server)
		if c.plain {
			r.ClientCPUPerGiB = perGiB(c.cpu.client)
		}
		if c.pid != 0 {
			r.ProxyCPUPerGiB = perGiB(c.cpu.proxy)
		}
	}
	return r
}

// latencyRow summarises lat, requests of c.
func latencyRow(c *egressContender, lat []time.Duration) LatencyRow {
	r := LatencyRow{Name: c.name, Unavailable: c.unavailable}
	if r.Unavailable == "" && len(lat) == 0 {
		r.Unavailable = "every run failed"
		if c.lastErr != nil {
			r.Unavailable += ": " + c.lastErr.Error()
		}
	}
	if r.Unavailable != "" {
		return r
	}
	r.Requests = len(lat)
	r.P50 = percentile(lat, 50)
	r.P99 = percentile(lat, 99)
	return r
}

// tunnelProxy is a fresh proxy in the memory test.
type tunnelProxy struct {
	proc     *bgProc // nil when it could not be started or warmed up
	spec     proxySpec
	target   string
	capacity int // tunnels its RLIMIT_NOFILE leaves room for
	warmFDs  int // descriptors per tunnel during the warm-up
	row      TunnelRow
}

// Sizes of the memory test's warm-up and headroom.
const (
	warmTunnels = 16  // opened and closed before measuring, to count fds per tunnel
	fdHeadroom  = 256 // descriptors left free in every process
)

// prepareTunnelProxy starts a fresh proxy with start, opens and closes a
// few tunnels through it to target (so one-time set-up is not counted per
// tunnel), and works out how many tunnels its descriptor limit allows.
func prepareTunnelProxy(name string, srv *egressServer, target string, start func() (*bgProc, string, error)) *tunnelProxy {
	tp := &tunnelProxy{target: target, row: TunnelRow{Name: name}}
	proc, proxyURL, err := start()
	if err != nil {
		tp.row.Unavailable = err.Error()
		return tp
	}
	fail := func(err error) *tunnelProxy {
		proc.stop()
		tp.row.Unavailable = err.Error()
		return tp
	}
	if tp.spec, err = parseProxyURL(proxyURL); err != nil {
		return fail(err)
	}
	pid := proc.pid()
	limit, err := procNoFile(pid)
	if err != nil {
		return fail(err)
	}
	tp.row.Limit = limit
	before, err := countFDs(pid)
	if err != nil {
		return fail(err)
	}
	conns, _, lastErr := openTunnels(tp.spec, target, warmTunnels, time.Now().Add(30*time.Second))
	during, err := countFDs(pid)
	for _, c := range conns {
		c.Close()
	}
	if len(conns) < warmTunnels {
		return fail(fmt.Errorf("warm-up: %d of %d tunnels opened: %w", len(conns), warmTunnels, lastErr))
	}
	if err != nil {
		return fail(err)
	}
	tp.warmFDs = max((during.total()-before.total()+warmTunnels-1)/warmTunnels, 1)
	tp.capacity = (limit - before.total() - fdHeadroom) / tp.warmFDs
	waitFor(func() bool { return srv.heldConns() == 0 }, 10*time.Second)
	tp.proc = proc
	return tp
}

// harnessTunnelCapacity is how many tunnels the harness's own descriptor
// limit leaves room for: it holds both ends it sees of every tunnel, the
// client connection and the server's.
func harnessTunnelCapacity() (int, uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return math.MaxInt32, 0
	}
	used := 0
	if fds, err := countFDs(os.Getpid()); err == nil {
		used = fds.total()
	}
	return (int(min(lim.Cur, math.MaxInt32)) - used - fdHeadroom) / 2, lim.Cur
}

// tunnelCount is how many tunnels every proxy is measured with: the
// number asked for, unless the harness (room for harnessCap tunnels, with
// a limit of harnessLimit descriptors) or a proxy leaves room for fewer;
// then it also says why.
func tunnelCount(want, harnessCap int, harnessLimit uint64, tps []*tunnelProxy) (int, string) {
	n, why := want, ""
	if harnessCap < n {
		n = harnessCap
		why = fmt.Sprintf("the harness holds 2 descriptors per tunnel and its RLIMIT_NOFILE is %d", harnessLimit)
	}
	for _, tp := range tps {
		if tp.proc != nil && tp.capacity < n {
			n = tp.capacity
			why = fmt.Sprintf("%s's RLIMIT_NOFILE is %d and its warm-up tunnels used %d descriptors each",
				tp.row.Name, tp.row.Limit, tp.warmFDs)
		}
	}
	return max(n, 0), why
}

// measure opens n idle tunnels and records how the proxy's resident set
// and descriptors grew, then closes them.
func (tp *tunnelProxy) measure(srv *egressServer, n int, limit time.Duration) {
	row := &tp.row
	row.Want = n
	pid := tp.proc.pid()
	time.Sleep(egressSettle)
	var err error
	if row.RSSBeforeKiB, err = readVmRSS(pid); err != nil {
		row.Unavailable = err.Error()
		return
	}
	fds0, _ := countFDs(pid)
	t0 := time.Now()
	conns, failures, lastErr := openTunnels(tp.spec, tp.target, n, t0.Add(limit))
	row.SetupTime = time.Since(t0)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		waitFor(func() bool { return srv.heldConns() == 0 }, 30*time.Second)
	}()
	row.Open, row.Failed = len(conns), failures
	if lastErr != nil {
		row.LastErr = lastErr.Error()
	}
	time.Sleep(egressSettle)
	if row.RSSAfterKiB, err = readVmRSS(pid); err != nil {
		row.Unavailable = err.Error()
		return
	}
	if fds1, err := countFDs(pid); err == nil && row.Open > 0 {
		per := func(a, b int) float64 { return float64(b-a) / float64(row.Open) }
		row.FDsPerTunnel = per(fds0.total(), fds1.total())
		row.SocketsPerTunnel = per(fds0.sockets, fds1.sockets)
		row.PipesPerTunnel = per(fds0.pipes, fds1.pipes)
	}
	row.Held = srv.heldConns()
}

// waitFor polls cond every 10 ms until it holds or d has passed.
func waitFor(cond func() bool, d time.Duration) bool {
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// openTunnel opens one CONNECT tunnel to target through the proxy and
// reads the hold listener's greeting through it.
func openTunnel(p proxySpec, target string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(connectRequest(target, p.auth)); err != nil {
		c.Close()
		return nil, fmt.Errorf("send CONNECT: %w", err)
	}
	br := bufio.NewReaderSize(c, 1024)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("read CONNECT response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("CONNECT: got %s, want 200", resp.Status)
	}
	b, err := br.ReadByte()
	if err != nil || b != holdGreeting {
		c.Close()
		return nil, fmt.Errorf("tunnel greeting: got %q (%v), want %q", b, err, holdGreeting)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// openTunnels opens n tunnels with a few concurrent workers until deadline
// and returns the open ones, how many failed and the last error.
func openTunnels(p proxySpec, target string, n int, deadline time.Time) ([]net.Conn, int, error) {
	var (
		mu       sync.Mutex
		conns    = make([]net.Conn, 0, n)
		failures int
		lastErr  error
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	for range egressTunnelWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && time.Now().Before(deadline) {
				c, err := openTunnel(p, target)
				mu.Lock()
				if err != nil {
					failures++
					lastErr = err
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return conns, failures, lastErr
}
