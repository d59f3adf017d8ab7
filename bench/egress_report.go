package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// EgressReport is the egress section of the report.
type EgressReport struct {
	Bytes    int64 // size of one download
	Requests int   // timed requests per contender asked for
	Tunnels  int   // idle tunnels asked for
	Rounds   int   // round-robin rounds completed
	CPUs     int   // processors of the machine

	AirlockFlags string // policy flags of the Airlock contenders
	SrtSettings  string // srt settings JSON

	Display       []EgressPath
	Throughput    []ThroughputRow
	Latency       []LatencyRow // absolute-URI requests (direct: origin form)
	TunnelLatency []LatencyRow // requests inside one CONNECT tunnel
	Memory        []TunnelRow
	// TunnelsOpened is how many tunnels each proxy was given; TunnelLimit
	// says why it is fewer than Tunnels.
	TunnelsOpened int
	TunnelLimit   string
	Duration      time.Duration

	// Unavailable says why the phase has no figures at all.
	Unavailable string
}

// EgressPath says how one contender's traffic flows.
type EgressPath struct {
	Name, Path string
}

// ThroughputRow is the downloads of one contender, in bytes per second.
type ThroughputRow struct {
	Name             string
	Runs             int
	Median, Min, Max float64
	// CPU time per GiB moved of the loopback server (the harness), the
	// client (only when it runs on the host) and the standalone proxy;
	// zero when not measured.
	ServerCPUPerGiB, ClientCPUPerGiB, ProxyCPUPerGiB time.Duration
	Unavailable                                      string
}

// LatencyRow is the keep-alive requests of one contender.
type LatencyRow struct {
	Name        string
	Requests    int
	P50, P99    time.Duration
	Unavailable string
}

// TunnelRow is the idle-tunnel memory test of one proxy.
type TunnelRow struct {
	Name                      string
	Limit                     int // the proxy's RLIMIT_NOFILE
	Want, Open, Failed, Held  int
	LastErr                   string
	RSSBeforeKiB, RSSAfterKiB int64
	// Descriptors the proxy holds per open tunnel: all, sockets, pipe ends.
	FDsPerTunnel, SocketsPerTunnel, PipesPerTunnel float64
	SetupTime                                      time.Duration
	Unavailable                                    string
}

// perTunnel is the growth of the proxy's resident set per open tunnel, in
// bytes; NaN without figures.
func (t TunnelRow) perTunnel() float64 {
	if t.Unavailable != "" || t.Open == 0 || t.RSSAfterKiB <= 0 {
		return math.NaN()
	}
	return float64(t.RSSAfterKiB-t.RSSBeforeKiB) * 1024 / float64(t.Open)
}

// Egress targets.
var (
	egressThroughputTarget = target{">=", 0.90}
	egressAddedP50Target   = target{"<", float64(100 * time.Microsecond)}
	egressTunnelTarget     = target{"<", 64 << 10}
)

// srtPairs maps each Airlock contender to the srt contender measured the
// same way.
var srtPairs = [][2]string{{egAirlockProxy, egSrtProxy}, {egAirlockRun, egSrtRun}}

func findThroughput(rows []ThroughputRow, name string) (ThroughputRow, bool) {
	for _, r := range rows {
		if r.Name == name && r.Unavailable == "" && r.Median > 0 {
			return r, true
		}
	}
	return ThroughputRow{}, false
}

func findLatency(rows []LatencyRow, name string) (LatencyRow, bool) {
	for _, r := range rows {
		if r.Name == name && r.Unavailable == "" && r.Requests > 0 {
			return r, true
		}
	}
	return LatencyRow{}, false
}

func findTunnel(rows []TunnelRow, name string) (TunnelRow, bool) {
	for _, r := range rows {
		if r.Name == name && !math.IsNaN(r.perTunnel()) {
			return r, true
		}
	}
	return TunnelRow{}, false
}

// pairOf returns the contender name is compared with, or "".
func pairOf(name string) string {
	for _, p := range srtPairs {
		if p[0] == name {
			return p[1]
		}
	}
	return ""
}

// comparison is one Airlock figure next to the srt figure measured the
// same way.
type comparison struct {
	what   string
	factor float64 // how many times better Airlock is; NaN when a side is missing
}

// egressComparisons lists every row on which Airlock is compared with srt.
// Throughput is better when higher; latency and memory when lower.
func egressComparisons(e *EgressReport) []comparison {
	var cs []comparison
	for _, p := range srtPairs {
		f := math.NaN()
		a, ok1 := findThroughput(e.Throughput, p[0])
		s, ok2 := findThroughput(e.Throughput, p[1])
		if ok1 && ok2 {
			f = a.Median / s.Median
		}
		cs = append(cs, comparison{"throughput, " + p[0], f})
	}
	for _, p := range srtPairs {
		a, ok1 := findLatency(e.Latency, p[0])
		s, ok2 := findLatency(e.Latency, p[1])
		f50, f99 := math.NaN(), math.NaN()
		if ok1 && ok2 {
			f50, f99 = float64(s.P50)/float64(a.P50), float64(s.P99)/float64(a.P99)
		}
		cs = append(cs, comparison{"p50 latency, " + p[0], f50}, comparison{"p99 latency, " + p[0], f99})
	}
	f := math.NaN()
	a, ok1 := findTunnel(e.Memory, egAirlockProxy)
	s, ok2 := findTunnel(e.Memory, egSrtProxy)
	if ok1 && ok2 && a.perTunnel() > 0 {
		f = s.perTunnel() / a.perTunnel()
	}
	cs = append(cs, comparison{"memory per idle tunnel, " + egAirlockProxy, f})
	return cs
}

// egressChecks compares the egress figures to their targets.
func egressChecks(e *EgressReport) []Check {
	if e == nil {
		return nil
	}
	var cs []Check
	direct, okDirect := findThroughput(e.Throughput, egDirect)
	for _, name := range []string{egAirlockProxy, egAirlockRun} {
		c := Check{Metric: "egress throughput, " + name + " / direct (medians, " + formatBytes(e.Bytes) + " via CONNECT)",
			Value: "n/a", Target: ">= 90%", Status: statusNA}
		if a, ok := findThroughput(e.Throughput, name); ok && okDirect {
			v := a.Median / direct.Median
			c.Value = fmt.Sprintf("%.1f%% (%s vs %s)", v*100, formatRate(a.Median), formatRate(direct.Median))
			c.Status = egressThroughputTarget.status(v)
		}
		cs = append(cs, c)
	}
	dl, okDirectLat := findLatency(e.Latency, egDirect)
	for _, name := range []string{egAirlockProxy, egAirlockRun} {
		c := Check{Metric: "egress added p50 latency, " + name + " (keep-alive GET, absolute URI)",
			Value: "n/a", Target: "< 100 µs", Status: statusNA}
		if a, ok := findLatency(e.Latency, name); ok && okDirectLat {
			added := a.P50 - dl.P50
			c.Value = fmt.Sprintf("%s (p50 %s vs %s direct)", formatMicros(added), formatMicros(a.P50), formatMicros(dl.P50))
			c.Status = egressAddedP50Target.status(float64(added))
		}
		cs = append(cs, c)
	}
	mc := Check{Metric: "egress RSS growth per idle CONNECT tunnel, " + egAirlockProxy, Value: "n/a", Target: "< 64 KiB", Status: statusNA}
	if t, ok := findTunnel(e.Memory, egAirlockProxy); ok {
		mc.Value = fmt.Sprintf("%s (%d tunnels)", formatSize(t.perTunnel()), t.Open)
		mc.Status = egressTunnelTarget.status(t.perTunnel())
	}
	cs = append(cs, mc)

	comps := egressComparisons(e)
	better, worse, missing := 0, []string{}, 0
	for _, c := range comps {
		switch {
		case math.IsNaN(c.factor):
			missing++
		case c.factor > 1:
			better++
		default:
			worse = append(worse, fmt.Sprintf("%s (%s)", c.what, formatRatio(c.factor)))
		}
	}
	sc := Check{Metric: "egress: airlock better than srt on every row (factor: how many times better)", Target: "all rows"}
	sc.Value = fmt.Sprintf("%d of %d rows", better, len(comps))
	if missing > 0 {
		sc.Value += fmt.Sprintf(", %d not measured", missing)
	}
	if len(worse) > 0 {
		sc.Value += "; not better: " + strings.Join(worse, ", ")
	}
	switch {
	case len(worse) > 0:
		sc.Status = statusMiss
	case missing > 0:
		sc.Status = statusNA
	default:
		sc.Status = statusPass
	}
	return append(cs, sc)
}

// versusSrt renders factor (how many times better Airlock is) for a table.
func versusSrt(factor float64) string {
	switch {
	case math.IsNaN(factor) || math.IsInf(factor, 0):
		return "n/a"
	case factor > 1:
		return "better (" + formatRatio(factor) + ")"
	default:
		return "worse (" + formatRatio(factor) + ")"
	}
}

// cpuCeiling is the highest rate a transfer can reach when it needs
// server, client and proxy CPU time per GiB and has cpus processors: each
// part runs on one processor at a time, and together they cannot use more
// than all of them. NaN without figures.
func cpuCeiling(server, client, proxy time.Duration, cpus int) float64 {
	if server <= 0 || client <= 0 || cpus <= 0 {
		return math.NaN()
	}
	need := max(server, client, proxy, (server+client+proxy)/time.Duration(cpus))
	return float64(1<<30) / need.Seconds()
}

// renderEgress writes the egress section.
func renderEgress(p func(string, ...any), e *EgressReport) {
	p("## Egress proxy\n\n")
	if e.Unavailable != "" {
		p("Not measured: %s\n\n", cell(e.Unavailable))
		return
	}
	p("One loopback HTTP server in the harness (Go `net/http`, on 127.0.0.1) and one client for every contender: this benchmark's own\n")
	p("binary run as `bench %s`, directly, through each standalone proxy, and inside each sandbox, where it uses the proxy URL\n", egressClientCmd)
	p("the sandbox puts in `HTTPS_PROXY`/`HTTP_PROXY` (credentials included). Airlock reaches the server as `%s`, pinned with\n", egressHost)
	p("`%s`; srt reaches it as the literal 127.0.0.1, which its allowlist accepts (settings `%s`).\n", code(e.AirlockFlags), code(e.SrtSettings))
	p("Neither side resolves a name through DNS. %d round-robin rounds, the first contender rotating; in each round every contender\n", e.Rounds)
	p("runs one download and then one series of requests, each in its own client process (and sandbox). The phase took %s.\n\n",
		e.Duration.Round(time.Second))
	p("| contender | path |\n| --- | --- |\n")
	for _, d := range e.Display {
		p("| %s | %s |\n", cell(d.Name), cell(d.Path))
	}
	p("\n")

	direct, okDirect := findThroughput(e.Throughput, egDirect)
	p("### Throughput: %s through CONNECT\n\n", formatBytes(e.Bytes))
	p("Each round, each contender downloads %s once: an HTTP GET inside a CONNECT tunnel (direct: the same GET without one), the body\n", formatBytes(e.Bytes))
	p("read in 256 KiB reads and counted; time from the dial to the last byte. CPU per GiB moved, over the downloads: the server is\n")
	p("the harness process (getrusage), the client its own process (wait4 rusage; only when it runs on the host, since inside a sandbox\n")
	p("that figure includes the sandbox), the proxy the standalone proxy process (/proc/PID/stat, 10 ms ticks). The ceiling is what\n")
	p("those CPU times allow on the %d CPUs of this machine, `1 GiB / max(server, client, proxy, (server + client + proxy) / CPUs)`:\n", e.CPUs)
	p("on loopback the proxy competes with both ends for the same processors.\n\n")
	p("| contender | runs | median | min | max | of direct | vs srt | CPU per GiB: server / client / proxy | ceiling from CPU |\n")
	p("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range e.Throughput {
		if r.Unavailable != "" {
			p("| %s | 0 | not measured: %s | | | | | | |\n", cell(r.Name), cell(r.Unavailable))
			continue
		}
		ofDirect, vs, cpu, ceil := "", "", "", ""
		if okDirect && r.Name != egDirect {
			ofDirect = fmt.Sprintf("%.1f%%", r.Median/direct.Median*100)
		}
		if s := pairOf(r.Name); s != "" {
			f := math.NaN()
			if sr, ok := findThroughput(e.Throughput, s); ok {
				f = r.Median / sr.Median
			}
			vs = versusSrt(f)
		}
		parts := []string{formatCPU(r.ServerCPUPerGiB), formatCPU(r.ClientCPUPerGiB), formatCPU(r.ProxyCPUPerGiB)}
		if r.Name == egDirect {
			parts = parts[:2]
		}
		cpu = strings.Join(parts, " / ")
		if c := cpuCeiling(r.ServerCPUPerGiB, r.ClientCPUPerGiB, r.ProxyCPUPerGiB, e.CPUs); !math.IsNaN(c) && r.Name != egDirect && r.ProxyCPUPerGiB > 0 {
			ceil = formatRate(c)
			if okDirect {
				ceil += fmt.Sprintf(" (%.0f%% of direct)", c/direct.Median*100)
			}
		}
		p("| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", cell(r.Name), r.Runs, formatRate(r.Median), formatRate(r.Min), formatRate(r.Max),
			ofDirect, vs, cpu, ceil)
	}
	p("\n")

	p("### Latency: %d small requests on a keep-alive connection\n\n", e.Requests)
	p("GETs of a %d-byte body, split over the rounds. In each client run one connection to the proxy (absolute-URI requests with\n", len(smallBody))
	p("Proxy-Authorization) or to the server (direct, origin form) carries %d untimed requests and then the timed ones; each is timed\n", egressWarmupReqs)
	p("from writing the request to reading the last body byte. Airlock forwards every request on a new upstream connection (no\n")
	p("pooling, by design: each request is checked and dialled on its own), so its figure includes a loopback TCP connect and the\n")
	p("server accepting it.\n\n")
	renderLatency(p, e.Latency, e.Latency, true)
	p("Where that latency goes (information only; added latency is against the keep-alive direct row above). The first row is the\n")
	p("direct client opening a new connection for every request, timed from the dial: what a fresh loopback TCP connection and the\n")
	p("server accepting it cost without any proxy. The others send the same requests in origin form inside one CONNECT tunnel per\n")
	p("client run (after %d untimed ones): the relay alone, with no per-request dial or policy check.\n\n", egressWarmupReqs)
	renderLatency(p, e.TunnelLatency, e.Latency, false)

	p("### Memory: idle CONNECT tunnels\n\n")
	p("A fresh proxy per row, so heap left by the runs above cannot absorb the tunnels. %d tunnels are opened and closed first\n", warmTunnels)
	p("(one-time set-up, and the descriptors a tunnel needs); then VmRSS is read from /proc/PID/status, the tunnels are opened by %d\n", egressTunnelWorkers)
	p("concurrent workers, each checked by reading a greeting byte the server sends through it, and %s later VmRSS is read again\n", egressSettle)
	p("while all of them are open and idle. For srt the process is node, which runs srt's proxy; the socat processes of its sandbox\n")
	p("bridge are not involved when the proxy is reached from the host. ")
	if e.TunnelsOpened < e.Tunnels {
		p("**%d tunnels were asked for, %d were opened per proxy**: %s (this machine's hard limit cannot be raised: no CAP_SYS_RESOURCE).\n", e.Tunnels, e.TunnelsOpened, e.TunnelLimit)
		p("Every proxy gets the same number; the growth per tunnel is what the target is about.\n\n")
	} else {
		p("%d tunnels per proxy.\n\n", e.TunnelsOpened)
	}
	p("| proxy | tunnels open | RSS before | RSS after | growth per tunnel | vs srt | fds per tunnel (sockets + pipe ends) | RLIMIT_NOFILE | time to open them |\n")
	p("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range e.Memory {
		if r.Unavailable != "" {
			p("| %s | 0 | not measured: %s | | | | | | |\n", cell(r.Name), cell(r.Unavailable))
			continue
		}
		open := fmt.Sprintf("%d of %d", r.Open, r.Want)
		if r.Failed > 0 {
			open += fmt.Sprintf(" (%d failed: %s)", r.Failed, r.LastErr)
		}
		vs := ""
		if r.Name == egAirlockProxy {
			f := math.NaN()
			if s, ok := findTunnel(e.Memory, egSrtProxy); ok && r.perTunnel() > 0 {
				f = s.perTunnel() / r.perTunnel()
			}
			vs = versusSrt(f)
		}
		p("| %s | %s | %s | %s | %s | %s | %.2f (%.2f + %.2f) | %d | %s |\n", cell(r.Name), cell(open), formatKiB(r.RSSBeforeKiB), formatKiB(r.RSSAfterKiB),
			formatSize(r.perTunnel()), vs, r.FDsPerTunnel, r.SocketsPerTunnel, r.PipesPerTunnel, r.Limit, formatDuration(r.SetupTime))
	}
	p("\n")
}

// renderLatency writes a latency table; added latency is against the
// direct row of base, and the srt comparison only shown when compare is
// set.
func renderLatency(p func(string, ...any), rows, base []LatencyRow, compare bool) {
	dl, okDirect := findLatency(base, egDirect)
	p("| contender | requests | p50 | p99 | added p50 | added p99 | vs srt (p50) | vs srt (p99) |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		if r.Unavailable != "" {
			p("| %s | 0 | not measured: %s | | | | | |\n", cell(r.Name), cell(r.Unavailable))
			continue
		}
		add50, add99, vs50, vs99 := "", "", "", ""
		if okDirect && r.Name != egDirect {
			add50, add99 = formatMicros(r.P50-dl.P50), formatMicros(r.P99-dl.P99)
		}
		if s := pairOf(r.Name); s != "" && compare {
			f50, f99 := math.NaN(), math.NaN()
			if sr, ok := findLatency(rows, s); ok {
				f50, f99 = float64(sr.P50)/float64(r.P50), float64(sr.P99)/float64(r.P99)
			}
			vs50, vs99 = versusSrt(f50), versusSrt(f99)
		}
		p("| %s | %d | %s | %s | %s | %s | %s | %s |\n", cell(r.Name), r.Requests, formatMicros(r.P50), formatMicros(r.P99), add50, add99, vs50, vs99)
	}
	p("\n")
}

// formatCPU renders a CPU time per GiB, or "n/a" when not measured.
func formatCPU(d time.Duration) string {
	if d <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// formatRate renders bytes per second as MiB/s or GiB/s.
func formatRate(bps float64) string {
	switch {
	case math.IsNaN(bps) || bps <= 0:
		return "n/a"
	case bps >= 1<<30:
		return fmt.Sprintf("%.2f GiB/s", bps/(1<<30))
	default:
		return fmt.Sprintf("%.0f MiB/s", bps/(1<<20))
	}
}

// formatMicros renders a latency in microseconds, or milliseconds from
// 10 ms up; negative values (a proxy faster than direct, within noise)
// keep their sign.
func formatMicros(d time.Duration) string {
	us := float64(d) / float64(time.Microsecond)
	if math.Abs(us) >= 10000 {
		return fmt.Sprintf("%.1f ms", us/1000)
	}
	return fmt.Sprintf("%.1f µs", us)
}

// formatBytes renders an exact size: "1 GiB", "64 MiB", "1500 B".
func formatBytes(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d B", n)
}

// formatSize renders a byte count that need not be whole: "23.4 KiB".
func formatSize(b float64) string {
	switch {
	case math.IsNaN(b) || math.IsInf(b, 0):
		return "n/a"
	case math.Abs(b) >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case math.Abs(b) >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", b)
	}
}
