package escape

// The egress half of the escape suite: the sandboxed command has no network
// but the proxy, and the proxy lets through only what the policy allows.
// Every case runs the attack inside `airlock run`, pairs it with a control
// that shows the same client works without Airlock (on the host) or with
// the destination explicitly allowed, checks the exact outcome (HTTP
// status, curl exit code and message, SOCKS reply, errno), and checks on
// the test server whether the request arrived. Test servers listen on the
// host's loopback only: the proxy runs on the host, so `--resolve
// NAME:127.0.0.1` and `--allow-cidr 127.0.0.1/32:PORT` make them reachable
// through it, and nothing else can reach them from inside.
//
// Proxy-level cases (DNS rebinding through a real DNS server, denied names
// never resolved, Close) are in egress_proxy_test.go.

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airlock-sandbox/airlock/internal/proxy"
)

// egNet is what most cases share: a fixture, an allowed server and an evil
// one, both on the host's loopback.
type egNet struct {
	f             *fixture
	allowed, evil *egServer
}

func egSetup(t *testing.T) *egNet {
	t.Helper()
	return &egNet{f: newFixture(t), allowed: egStartServer(t, "allowed", false), evil: egStartServer(t, "evil", false)}
}

// A is allowed.test:PORT, E is evil.test:PORT.
func (n *egNet) A() string { return fmt.Sprintf("allowed.test:%d", n.allowed.Port) }
func (n *egNet) E() string { return fmt.Sprintf("evil.test:%d", n.evil.Port) }

// flags allow allowed.test (pinned to 127.0.0.1, which --allow-cidr opens
// for its port only) and pin evil.test to 127.0.0.1 too, without allowing
// it: evil.test is one allow flag away from working.
func (n *egNet) flags(extra ...string) []string {
	fl := []string{
		"--allow-domain", n.A(),
		"--resolve", "allowed.test:127.0.0.1",
		"--resolve", "evil.test:127.0.0.1",
		"--allow-cidr", fmt.Sprintf("127.0.0.1/32:%d", n.allowed.Port),
	}
	if n.allowed.V6 {
		fl = append(fl, "--allow-cidr", fmt.Sprintf("::1/128:%d", n.allowed.Port))
	}
	return append(fl, extra...)
}

// mustNoEvil fails if the evil server saw any connection.
func (n *egNet) mustNoEvil(t *testing.T) {
	t.Helper()
	if c := n.evil.Conns(); c != 0 {
		t.Errorf("evil server: got %d connections (%v), want 0", c, n.evil.AllHits())
	}
}

// egGet is an absolute-form proxy request with the sandbox's credentials.
func egGet(target, host string, extra ...string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + egAuth + strings.Join(extra, "") + "\r\n"
}

// egConnect is a CONNECT request with the sandbox's credentials.
func egConnect(target string) string {
	return "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n" + egAuth + "\r\n"
}

// egTunnelGet is the request sent through an established tunnel.
func egTunnelGet(path string) egStep {
	return egStep{"GET " + path + " HTTP/1.1\r\nHost: tunnel.test\r\nConnection: close\r\n\r\n", -1}
}

// egWant is the expected HTTP answer of one read: the status, and text the
// body or the X-Airlock-Denied field must contain ("" for no check).
type egWant struct {
	status       int
	body, denied string
}

// check compares a raw response with w.
func (w egWant) check(t *testing.T, what, raw string) {
	t.Helper()
	resp, body, err := egParseResponse(raw)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if resp.StatusCode != w.status {
		t.Errorf("%s: got status %d (%q), want %d", what, resp.StatusCode, raw, w.status)
	}
	if w.body != "" && !strings.Contains(body, w.body) {
		t.Errorf("%s: got body %q, want it to contain %q", what, body, w.body)
	}
	got := resp.Header.Get("X-Airlock-Denied")
	switch {
	case w.status == 403 && got == "":
		t.Errorf("%s: 403 without X-Airlock-Denied (%q)", what, raw)
	case w.status != 403 && got != "":
		t.Errorf("%s: got X-Airlock-Denied %q on a %d", what, got, resp.StatusCode)
	case w.denied != "" && !strings.Contains(got, w.denied):
		t.Errorf("%s: got X-Airlock-Denied %q, want it to contain %q", what, got, w.denied)
	}
}

// egNoTunnel fails if the request sent after a refused CONNECT reached a
// server: the connection is closed, or (when the refusal kept it open) the
// proxy reads that request as a new proxy request and refuses it too (it
// has no credentials and no absolute URI).
func egNoTunnel(t *testing.T, what string, o egOutcome) {
	t.Helper()
	next := o.Read(1)
	if next == "" {
		return
	}
	resp, body, err := egParseResponse(next)
	if err != nil || (resp.StatusCode != 400 && resp.StatusCode != 407) || !strings.HasPrefix(body, "airlock: ") {
		t.Errorf("%s: after the refusal got %q, want the connection closed or a refusal from the proxy", what, next)
	}
}

// egRows splits "name value..." lines into a map.
func egRows(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			m[k] = v
		}
	}
	return m
}

// egDirectPy tries every way out without the proxy; argv names the rows
// to run. Each row prints "NAME ok ..." or "NAME errno=E".
const egDirectPy = `
import errno, socket, sys
TCP_PORT, UDP_PORT, DNS_PORT, NS = %d, %d, %d, %q
def dns_query(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x06direct\x04test\x00\x00\x01\x00\x01"
    s.connect(addr)
    s.send(q)
    r = s.recv(512)
    return "ok answers=%%d" %% int.from_bytes(r[6:8], "big")
def tcp(family, host, path):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect((host, TCP_PORT))
    s.sendall(("GET %%s HTTP/1.0\r\nHost: x\r\n\r\n" %% path).encode())
    return "ok " + s.recv(64).decode().split("\r\n")[0]
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect(("127.0.0.1", UDP_PORT))
    s.send(b"ping")
    return "ok " + s.recv(16).decode()
def raw(family, typ, proto):
    socket.socket(family, typ, proto).close()
    return "ok"
rows = {
    "tcp4": lambda: tcp(socket.AF_INET, "127.0.0.1", "/direct-tcp4"),
    "tcp6": lambda: tcp(socket.AF_INET6, "::1", "/direct-tcp6"),
    "udp": udp,
    "dns-test-server": lambda: dns_query(("127.0.0.1", DNS_PORT)),
    "dns-resolv-conf": lambda: dns_query((NS, 53)),
    "dns-loopback-53": lambda: dns_query(("127.0.0.1", 53)),
    "raw-icmp": lambda: raw(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
    "raw-icmp6": lambda: raw(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6),
    "packet": lambda: raw(socket.AF_PACKET, socket.SOCK_RAW, 0),
}
for name in sys.argv[1:]:
    try:
        print(name, rows[name]())
    except OSError as ex:
        print(name, "errno=" + errno.errorcode.get(ex.errno, str(ex.errno)) if ex.errno else "error " + str(ex))
`

// egNameserver is the first nameserver of the host's resolv.conf (the
// sandbox sees the same file).
func egNameserver(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatalf("read resolv.conf: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "nameserver" {
			return f[1]
		}
	}
	return ""
}

// TestEgressDirect: without the proxy nothing leaves the sandbox: TCP and
// UDP to the host's loopback, raw and packet sockets, DNS, bash's
// /dev/tcp. The control runs the same clients on the host.
func TestEgressDirect(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	srv := egStartServer(t, "host", false)
	sink := egStartUDPSink(t)
	dns := egStartDNS(t)
	dns.Set("direct.test", egAddrs("192.0.2.1"))
	ns := egNameserver(t)
	if ns == "" {
		ns = "127.0.0.53"
	}
	nsInside := "errno=ENETUNREACH" // no route: the sandbox has only its loopback
	if ip := net.ParseIP(ns); ip != nil && ip.IsLoopback() {
		nsInside = "errno=ECONNREFUSED" // the sandbox's own loopback
	}
	if err := os.WriteFile(filepath.Join(f.Work, "egdirect.py"), []byte(fmt.Sprintf(egDirectPy, srv.Port, sink.Port, egPort(t, dns.Addr), ns)), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := "tcp4 udp dns-test-server raw-icmp raw-icmp6 packet"
	if srv.V6 {
		rows += " tcp6"
	}
	devTCP := fmt.Sprintf(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && printf "GET /direct-devtcp HTTP/1.0\r\nHost: x\r\n\r\n" >&3 && head -1 <&3' 2>&1; echo "devtcp-exit $?"`, srv.Port)
	inside := f.sandbox(t, nil, "/usr/bin/python3 egdirect.py "+rows+" dns-resolv-conf dns-loopback-53; "+devTCP+
		"; getent hosts example.com; echo \"getent-public $?\"; getent hosts localhost; echo \"getent-files $?\"")
	in := egRows(inside.Stdout)

	// Side effects of the attacks: none reached the host.
	if n := len(srv.AllHits()) + int(srv.Conns()); n != 0 {
		t.Errorf("host TCP server after the attacks: got %d connections/requests, want 0", n)
	}
	if n := sink.Count(); n != 0 {
		t.Errorf("host UDP listener after the attacks: got %d datagrams, want 0", n)
	}
	if n := dns.Total(); n != 0 {
		t.Errorf("host DNS server after the attacks: got %d queries, want 0", n)
	}

	outside := f.outside(t, "/usr/bin/python3 egdirect.py "+rows+"; "+devTCP)
	out := egRows(outside.Stdout)
	for _, tc := range []struct{ name, inside, host string }{
		{"tcp4", "errno=ECONNREFUSED", "ok HTTP/1.0 200 OK"},
		{"tcp6", "errno=ECONNREFUSED", "ok HTTP/1.0 200 OK"},
		{"udp", "errno=ECONNREFUSED", "ok pong"},
		{"dns-test-server", "errno=ECONNREFUSED", "ok answers=1"},
		{"raw-icmp", "errno=EPERM", "ok"},
		{"raw-icmp6", "errno=EPERM", "ok"},
		{"packet", "errno=EPERM", "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "tcp6" && !srv.V6 {
				t.Skip("no IPv6 loopback on this host")
			}
			if got := in[tc.name]; got != tc.inside {
				t.Errorf("inside: got %q, want %q (%v)", got, tc.inside, inside)
			}
			if got := out[tc.name]; got != tc.host {
				t.Errorf("control on the host: got %q, want %q (%v)", got, tc.host, outside)
			}
		})
	}
	t.Run("side-effects-of-the-controls", func(t *testing.T) {
		if n := len(srv.Hits("/direct-tcp4")); n != 1 {
			t.Errorf("host TCP server: got %d requests for /direct-tcp4 from the control, want 1", n)
		}
		if n := sink.Count(); n != 1 {
			t.Errorf("host UDP listener: got %d datagrams from the control, want 1", n)
		}
		if n := dns.Queries("direct.test", "A"); n != 1 {
			t.Errorf("host DNS server: got %d queries from the control, want 1", n)
		}
	})
	t.Run("dns-resolv-conf", func(t *testing.T) {
		// The host's own resolver is not reachable, nor is port 53 of
		// loopback (the sandbox's own, with nothing on it). No control
		// on the host: it would send a packet off this machine; the
		// dns-test-server row is the DNS client's control.
		if got := in["dns-resolv-conf"]; got != nsInside {
			t.Errorf("inside, query to %s:53: got %q, want %q (%v)", ns, got, nsInside, inside)
		}
		if got := in["dns-loopback-53"]; got != "errno=ECONNREFUSED" {
			t.Errorf("inside, query to 127.0.0.1:53: got %q, want %q (%v)", got, "errno=ECONNREFUSED", inside)
		}
	})
	t.Run("bash-dev-tcp", func(t *testing.T) {
		mustContain(t, "inside", inside.Stdout, "bash: connect: Connection refused\n")
		if got := in["devtcp-exit"]; got != "1" {
			t.Errorf("inside: got exit %q, want 1 (%v)", got, inside)
		}
		mustContain(t, "control on the host", outside.Stdout, "HTTP/1.0 200 OK")
		if n := len(srv.Hits("/direct-devtcp")); n != 1 {
			t.Errorf("host TCP server: got %d requests for /direct-devtcp, want 1 (the control's)", n)
		}
	})
	t.Run("getent-public-name", func(t *testing.T) {
		// getent exits 2 when the name is not found: no resolver is
		// reachable. The control is getent itself working inside for a
		// name in /etc/hosts (the host's resolver is not queried from
		// the test: it is off this machine).
		if got := in["getent-public"]; got != "2" {
			t.Errorf("inside: getent hosts example.com: got exit %q, want 2 (%v)", got, inside)
		}
		if got := in["getent-files"]; got != "0" || !strings.Contains(inside.Stdout, "127.0.0.1") {
			t.Errorf("control inside: getent hosts localhost: got exit %q, want 0 and 127.0.0.1 (%v)", got, inside)
		}
	})
}

func egPort(t *testing.T, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEgressIPSpellings: every spelling of a loopback, unspecified or
// metadata address, as an absolute-URI request and as a CONNECT target,
// is refused without --allow-cidr, and the server behind it sees nothing.
// Spellings only a URL parser reads as an address (decimal, octal, hex,
// short forms) are parsed by the policy as the address they spell, never
// resolved, and refused with 403 and the same hint as the dotted form.
// Curl normalises the numeric IPv4 spellings itself, so through curl they
// all arrive as 127.0.0.1 and get 403. The control opens 127.0.0.0/8 for
// the port: the plain address then works.
func TestEgressIPSpellings(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	srv := egStartServer(t, "loopback", false)
	p := srv.Port
	type spelling struct {
		name, host string
		port       int
		raw        int    // status of the raw CONNECT and absolute-URI GET
		denied     string // in X-Airlock-Denied of a 403
		curl       int    // http_code through curl -x
	}
	hint := fmt.Sprintf("hint: --allow-cidr 127.0.0.1/32:%d", p)
	spellings := []spelling{
		{"dotted", "127.0.0.1", p, 403, hint, 403},
		{"other-loopback", "127.0.0.2", p, 403, fmt.Sprintf("hint: --allow-cidr 127.0.0.2/32:%d", p), 403},
		{"decimal", "2130706433", p, 403, hint, 403},
		{"octal", "0177.0.0.1", p, 403, hint, 403},
		{"hex", "0x7f000001", p, 403, hint, 403},
		{"hex-dotted", "0x7f.0.0.1", p, 403, hint, 403},
		{"short", "127.1", p, 403, hint, 403},
		{"short-three", "127.0.1", p, 403, hint, 403},
		{"unspecified", "0.0.0.0", p, 403, fmt.Sprintf("hint: --allow-cidr 0.0.0.0/32:%d", p), 403},
		{"ipv6-loopback", "[::1]", p, 403, fmt.Sprintf("hint: --allow-cidr ::1/128:%d", p), 403},
		{"ipv6-unspecified", "[::]", p, 403, fmt.Sprintf("hint: --allow-cidr ::/128:%d", p), 403},
		{"ipv4-mapped", "[::ffff:127.0.0.1]", p, 403, hint, 403},
		{"ipv4-mapped-hex", "[::ffff:7f00:1]", p, 403, hint, 403},
		{"nat64", "[64:ff9b::7f00:1]", p, 403, hint, 403},
		{"6to4", "[2002:7f00:1::]", p, 403, hint, 403},
		{"teredo", "[2001:0:4136:e378:8000:63bf:80ff:fffe]", p, 403, hint, 403},
		{"metadata", "169.254.169.254", 80, 403, "", 403},
		{"metadata-decimal", "2852039166", 80, 403, "", 403},
		{"metadata-mapped", "[::ffff:169.254.169.254]", 80, 403, "", 403},
		{"metadata-aws-ipv6", "[fd00:ec2::254]", 80, 403, "", 403},
	}
	var cases []egCase
	var curls []string
	for _, s := range spellings {
		target := fmt.Sprintf("%s:%d", s.host, s.port)
		cases = append(cases,
			egCase{Name: "connect/" + s.name, Port: 3128, Steps: []egStep{{egConnect(target), -1}, egTunnelGet("/spell-connect-" + s.name)}},
			egCase{Name: "get/" + s.name, Port: 3128, Steps: []egStep{{egGet("http://"+target+"/spell-get-"+s.name, target), -1}}})
		curls = append(curls, fmt.Sprintf(`printf '%%s ' %s; curl -sS --noproxy '' -x "$HTTP_PROXY" -o /dev/null -w '%%{http_code}' 'http://%s/spell-curl-%s' 2>/dev/null; echo " rc=$?"`, s.name, target, s.name))
	}
	got, r := egProbeInside(t, f, nil, cases)
	cr := f.sandbox(t, nil, strings.Join(curls, "\n"))
	curlRows := egRows(cr.Stdout)
	for _, s := range spellings {
		t.Run(s.name, func(t *testing.T) {
			w := egWant{status: s.raw, denied: s.denied}
			if s.raw == 400 {
				w.body = "numeric host is not a dotted-quad IPv4 address"
			}
			w.check(t, "raw CONNECT "+s.host, got["connect/"+s.name].Read(0))
			egNoTunnel(t, "raw CONNECT "+s.host, got["connect/"+s.name])
			w.check(t, "raw GET http://"+s.host, got["get/"+s.name].Read(0))
			want := fmt.Sprintf("%d rc=0", s.curl)
			if c := curlRows[s.name]; c != want {
				t.Errorf("curl -x http://%s:%d: got %q, want %q (%v)", s.host, s.port, c, want, cr)
			}
		})
	}
	if s := srv.AllHits(); len(s) != 0 || srv.Conns() != 0 {
		t.Errorf("loopback server after the attacks: got %d connections, %v; want none (%v)", srv.Conns(), s, r)
	}
	for _, s := range spellings {
		// Metadata addresses get no hint: opening them is never a good
		// idea.
		if s.raw == 403 && s.denied == "" {
			if h := got["get/"+s.name].Read(0); strings.Contains(h, "hint") {
				t.Errorf("%s: got a hint in %q, want none", s.name, h)
			}
		}
	}

	t.Run("control-allow-cidr", func(t *testing.T) {
		flags := []string{"--allow-cidr", fmt.Sprintf("127.0.0.0/8:%d", p)}
		target := fmt.Sprintf("127.0.0.1:%d", p)
		got, r := egProbeInside(t, f, flags, []egCase{
			{Name: "connect", Port: 3128, Steps: []egStep{{egConnect(target), -1}, egTunnelGet("/spell-control-connect")}},
			{Name: "get", Port: 3128, Steps: []egStep{{egGet("http://"+target+"/spell-control-get", target), -1}}},
		})
		egWant{status: 200}.check(t, "CONNECT "+target, got["connect"].Read(0))
		egWant{status: 200, body: "hello from loopback /spell-control-connect"}.check(t, "GET through the tunnel", got["connect"].Read(1))
		egWant{status: 200, body: "hello from loopback /spell-control-get"}.check(t, "GET http://"+target, got["get"].Read(0))
		for _, path := range []string{"/spell-control-connect", "/spell-control-get"} {
			if n := len(srv.Hits(path)); n != 1 {
				t.Errorf("loopback server: got %d requests for %s, want 1 (%v)", n, path, r)
			}
		}
		c := f.sandbox(t, flags, fmt.Sprintf(`curl -sS --noproxy '' -x "$HTTP_PROXY" -o /dev/null -w '%%{http_code}' http://%s/spell-control-curl`, target))
		if c.Stdout != "200" || len(srv.Hits("/spell-control-curl")) != 1 {
			t.Errorf("curl with --allow-cidr: got %v, want 200 and one request", c)
		}
	})
}

// egResolvedCase is one row of TestEgressResolvedNames.
type egResolvedCase struct {
	name   string
	flags  []string
	url    string
	path   string // on the server; "" when there is no server
	status int
	denied string // X-Airlock-Denied (exact)
}

// TestEgressResolvedNames: a name the policy allows but that resolves (here
// through --resolve) to loopback or metadata is refused after resolution;
// --allow-cidr for the exact address opens it (control). A broad
// --allow-cidr does not open metadata.
func TestEgressResolvedNames(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	srv := egStartServer(t, "resolved", false)
	p := srv.Port
	curl := func(url string) string {
		return fmt.Sprintf(`curl -sS -D - -o /dev/null '%s' 2>&1; echo "rc=$?"`, url)
	}
	tests := []egResolvedCase{
		// A --resolve pin is the user's own mapping, not DNS: it opens
		// loopback for that name (a local test server). An address that DNS
		// returns is still classified (the proxy-level tests feed one), and
		// a pin never opens metadata (the rows below).
		{"loopback-name-pinned", []string{"--allow-domain", fmt.Sprintf("loop.test:%d", p), "--resolve", "loop.test:127.0.0.1"},
			fmt.Sprintf("http://loop.test:%d/resolved-loop", p), "/resolved-loop", 200, ""},
		{"loopback-name-allowed", []string{"--allow-domain", fmt.Sprintf("loop.test:%d", p), "--resolve", "loop.test:127.0.0.1", "--allow-cidr", fmt.Sprintf("127.0.0.1/32:%d", p)},
			fmt.Sprintf("http://loop.test:%d/resolved-loop-allowed", p), "/resolved-loop-allowed", 200, ""},
		{"metadata-name", []string{"--allow-domain", "meta.test", "--resolve", "meta.test:169.254.169.254"},
			"http://meta.test/latest/meta-data/", "", 403, "address class: metadata"},
		{"metadata-name-broad-cidr", []string{"--allow-domain", "meta.test", "--resolve", "meta.test:169.254.169.254", "--allow-cidr", "0.0.0.0/0"},
			"http://meta.test/latest/meta-data/", "", 403, "address class: metadata"},
		{"metadata-name-link-local-cidr", []string{"--allow-domain", "meta.test", "--resolve", "meta.test:169.254.169.254", "--allow-cidr", "169.254.0.0/16"},
			"http://meta.test/latest/meta-data/", "", 403, "address class: metadata"},
	}
	if srv.V6 {
		tests = append(tests,
			egResolvedCase{"ipv6-loopback-name-pinned", []string{"--allow-domain", fmt.Sprintf("six.test:%d", p), "--resolve", "six.test:[::1]"},
				fmt.Sprintf("http://six.test:%d/resolved-six", p), "/resolved-six", 200, ""},
			egResolvedCase{"ipv6-loopback-name-allowed", []string{"--allow-domain", fmt.Sprintf("six.test:%d", p), "--resolve", "six.test:[::1]", "--allow-cidr", fmt.Sprintf("::1/128:%d", p)},
				fmt.Sprintf("http://six.test:%d/resolved-six-allowed", p), "/resolved-six-allowed", 200, ""})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Conns()
			r := f.sandbox(t, tc.flags, curl(tc.url))
			mustContain(t, "stdout", r.Stdout, fmt.Sprintf("HTTP/1.1 %d ", tc.status))
			mustContain(t, "stdout", r.Stdout, "rc=0")
			if tc.status == 200 {
				mustNotContain(t, "stdout", r.Stdout, "X-Airlock-Denied")
				if n := len(srv.Hits(tc.path)); n != 1 {
					t.Errorf("server: got %d requests for %s, want 1", n, tc.path)
				}
				return
			}
			mustContain(t, "stdout", r.Stdout, "X-Airlock-Denied: "+tc.denied+"\r\n")
			if tc.path != "" && len(srv.Hits(tc.path)) != 0 || srv.Conns() != before {
				t.Errorf("server: got %d new connections, want 0", srv.Conns()-before)
			}
			mustContain(t, "stderr", r.Stderr, "airlock: denied egress to ")
		})
	}
}

// TestEgressConnectParser: CONNECT targets that different parsers read
// differently (userinfo, fragments, a second host, spaces, odd ports) are
// refused with 400 before anything is resolved or dialled; the evil server
// never sees a connection. Controls: the allowed target works, also in
// upper case; the evil target alone is refused by the policy (403).
func TestEgressConnectParser(t *testing.T) {
	requireRoot(t)
	n := egSetup(t)
	a, e := n.allowed.Port, n.evil.Port
	type row struct {
		name, target string
		status       int
		body         string
	}
	rows := []row{
		{"at-second-host", fmt.Sprintf("allowed.test:%d@evil.test:%d", a, e), 400, "port must be a number from 1 to 65535"},
		{"userinfo", fmt.Sprintf("allowed.test@evil.test:%d", e), 400, `invalid character '@' in host`},
		{"userinfo-with-port", fmt.Sprintf("allowed.test:%d:x@evil.test:%d", a, e), 400, "port must be a number from 1 to 65535"},
		{"fragment", fmt.Sprintf("evil.test:%d#allowed.test", e), 400, "port must be a number from 1 to 65535"},
		{"fragment-host", fmt.Sprintf("evil.test#allowed.test:%d", a), 400, `invalid character '#' in host`},
		{"path", fmt.Sprintf("evil.test:%d/allowed.test", e), 400, "port must be a number from 1 to 65535"},
		{"query", fmt.Sprintf("evil.test:%d?allowed.test", e), 400, "port must be a number from 1 to 65535"},
		{"backslash", fmt.Sprintf(`evil.test\allowed.test:%d`, a), 400, `invalid character '\\' in host`},
		{"percent-encoded-dot", fmt.Sprintf("evil%%2etest:%d", e), 400, `invalid character '%' in host`},
		{"absolute-uri", fmt.Sprintf("http://evil.test:%d", e), 400, "port must be a number from 1 to 65535"},
		{"port-zero", "allowed.test:0", 400, "port must be a number from 1 to 65535"},
		{"port-too-big", "allowed.test:65536", 400, "port must be a number from 1 to 65535"},
		{"port-wraps-to-allowed", fmt.Sprintf("allowed.test:%d", a+65536), 400, "port must be a number from 1 to 65535"},
		{"port-leading-zero", fmt.Sprintf("allowed.test:0%d", a), 400, "port must be a number from 1 to 65535"},
		{"port-plus", fmt.Sprintf("allowed.test:+%d", a), 400, "port must be a number from 1 to 65535"},
		{"port-negative", "allowed.test:-1", 400, "port must be a number from 1 to 65535"},
		{"port-empty", "allowed.test:", 400, "port must be a number from 1 to 65535"},
		{"port-missing", "allowed.test", 400, "missing port"},
		{"ipv6-zone", fmt.Sprintf("[::1%%25lo]:%d", a), 400, "invalid IPv6 literal"},
		{"ipv6-unterminated", fmt.Sprintf("[::1:%d", a), 400, "unterminated IPv6 literal"},
		{"evil-denied-by-policy", n.E(), 403, "evil.test:" + strconv.Itoa(e) + " is not allowed: no allow_domains entry matches it"},
	}
	var cases []egCase
	for _, r := range rows {
		cases = append(cases, egCase{Name: r.name, Port: 3128, Steps: []egStep{{egConnect(r.target), -1}, egTunnelGet("/parser-" + r.name)}})
	}
	// Whitespace cannot be written into a target: the request line splits.
	cases = append(cases,
		egCase{Name: "space", Port: 3128, Steps: []egStep{{fmt.Sprintf("CONNECT allowed.test:%d evil.test:%d HTTP/1.1\r\n%s\r\n", a, e, egAuth), -1}}},
		egCase{Name: "tab", Port: 3128, Steps: []egStep{{fmt.Sprintf("CONNECT evil.test:%d\tallowed.test:%d HTTP/1.1\r\n%s\r\n", e, a, egAuth), -1}}},
		egCase{Name: "nul", Port: 3128, Steps: []egStep{{fmt.Sprintf("CONNECT allowed.test:%d\x00evil.test:%d HTTP/1.1\r\n%s\r\n", a, e, egAuth), -1}}},
		egCase{Name: "control-allowed", Port: 3128, Steps: []egStep{{egConnect(n.A()), -1}, egTunnelGet("/parser-control")}},
		egCase{Name: "control-upper-case", Port: 3128, Steps: []egStep{{egConnect(strings.ToUpper(n.A())), -1}, egTunnelGet("/parser-control-upper")}},
	)
	rows = append(rows,
		row{"space", "", 400, "malformed request line"},
		row{"tab", "", 400, "malformed request target"},
		row{"nul", "", 400, "bare CR or NUL in request head"},
	)
	got, r := egProbeInside(t, n.f, n.flags(), cases)
	for _, rw := range rows {
		t.Run(rw.name, func(t *testing.T) {
			o := got[rw.name]
			egWant{status: rw.status, body: rw.body}.check(t, "CONNECT "+rw.target, o.Read(0))
			egNoTunnel(t, "CONNECT "+rw.target, o)
		})
	}
	for _, c := range []struct{ name, path string }{{"control-allowed", "/parser-control"}, {"control-upper-case", "/parser-control-upper"}} {
		t.Run(c.name, func(t *testing.T) {
			egWant{status: 200}.check(t, "CONNECT", got[c.name].Read(0))
			egWant{status: 200, body: "hello from allowed " + c.path}.check(t, "GET through the tunnel", got[c.name].Read(1))
			if k := len(n.allowed.Hits(c.path)); k != 1 {
				t.Errorf("allowed server: got %d requests for %s, want 1", k, c.path)
			}
		})
	}
	n.mustNoEvil(t)
	if k := int(n.allowed.Conns()); k != 2 {
		t.Errorf("allowed server: got %d connections, want 2 (the controls') (%v)", k, r)
	}
}

// TestEgressHostHeader: an absolute-URI request whose Host header names
// another host than its target (or that has two Host headers, or none, or
// userinfo, or a fragment) is refused with 400; only the matching request
// reaches the server.
func TestEgressHostHeader(t *testing.T) {
	requireRoot(t)
	n := egSetup(t)
	A, E := n.A(), n.E()
	rows := []struct {
		name, req string
		status    int
		body      string
	}{
		{"host-mismatch", egGet("http://"+A+"/hh-mismatch", E), 400, fmt.Sprintf("the Host header %q does not match the request target %s", E, A)},
		{"host-mismatch-reverse", egGet("http://"+E+"/hh-reverse", A), 400, fmt.Sprintf("the Host header %q does not match the request target %s", A, E)},
		{"two-host-headers", egGet("http://"+A+"/hh-two", A, "Host: "+E+"\r\n"), 400, "more than one Host header"},
		{"no-host-header", "GET http://" + A + "/hh-none HTTP/1.1\r\n" + egAuth + "\r\n", 400, "HTTP/1.1 request without a Host header"},
		{"userinfo", egGet("http://"+A+"@"+E+"/hh-userinfo", E), 400, "bad authority"},
		{"fragment", egGet("http://"+E+"/hh-fragment#"+A, E), 400, "has a fragment"},
		{"origin-form", egGet("/hh-origin", A), 400, "is not an absolute http:// URI"},
		{"https-scheme", egGet("https://"+A+"/hh-https", A), 400, "is not an absolute http:// URI"},
		{"evil-denied-by-policy", egGet("http://"+E+"/hh-evil", E), 403, "no allow_domains entry matches it"},
		{"control-matching", egGet("http://"+A+"/hh-control", A), 200, "hello from allowed /hh-control"},
		{"control-host-case", egGet("http://"+A+"/hh-control-case", strings.ToUpper(A)), 200, "hello from allowed /hh-control-case"},
	}
	var cases []egCase
	for _, r := range rows {
		cases = append(cases, egCase{Name: r.name, Port: 3128, Steps: []egStep{{r.req, -1}}})
	}
	got, _ := egProbeInside(t, n.f, n.flags(), cases)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			egWant{status: r.status, body: r.body}.check(t, r.name, got[r.name].Read(0))
		})
	}
	for _, h := range n.allowed.AllHits() {
		if h.Path != "/hh-control" && h.Path != "/hh-control-case" {
			t.Errorf("allowed server got %+v, want only the controls", h)
		}
	}
	if k := len(n.allowed.Hits("/hh-control")) + len(n.allowed.Hits("/hh-control-case")); k != 2 {
		t.Errorf("allowed server: got %d control requests, want 2", k)
	}
	n.mustNoEvil(t)
}

// TestEgressSmuggling: requests whose body framing two parsers could read
// differently are refused before anything is dialled; a request that
// carries another request in its body reaches the server as one request
// with that body (the proxy re-frames bodies).
func TestEgressSmuggling(t *testing.T) {
	requireRoot(t)
	n := egSetup(t)
	A := n.A()
	post := func(path, headers, body string) string {
		return "POST http://" + A + path + " HTTP/1.1\r\nHost: " + A + "\r\n" + egAuth + headers + "\r\n" + body
	}
	smuggled := "GET http://" + n.E() + "/smuggled HTTP/1.1\r\nHost: " + n.E() + "\r\n\r\n"
	rows := []struct {
		name, req string
		status    int
		body      string
	}{
		{"cl-te", post("/sm-cl-te", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400, "request has both Content-Length and Transfer-Encoding"},
		{"te-cl", post("/sm-te-cl", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"), 400, "request has both Content-Length and Transfer-Encoding"},
		{"double-cl", post("/sm-double-cl", "Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"), 400, "conflicting Content-Length values"},
		{"cl-list", post("/sm-cl-list", "Content-Length: 5, 6\r\n", "hello!"), 400, "conflicting Content-Length values"},
		{"cl-sign", post("/sm-cl-sign", "Content-Length: +5\r\n", "hello"), 400, "malformed Content-Length"},
		{"te-folded", post("/sm-te-folded", "Transfer-Encoding:\r\n chunked\r\n", "0\r\n\r\n"), 400, "obsolete header line folding"},
		{"te-space-before-colon", post("/sm-te-space", "Transfer-Encoding : chunked\r\n", "0\r\n\r\n"), 400, "malformed header name"},
		{"te-chunked-identity", post("/sm-te-identity", "Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n"), 501, "unsupported Transfer-Encoding"},
		{"te-xchunked", post("/sm-te-x", "Transfer-Encoding: xchunked\r\n", "0\r\n\r\n"), 501, "unsupported Transfer-Encoding"},
		{"te-http10", "POST http://" + A + "/sm-te-10 HTTP/1.0\r\nHost: " + A + "\r\n" + egAuth + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "Transfer-Encoding in an HTTP/1.0 request"},
		{"bare-cr", post("/sm-bare-cr", "X-A: 1\rTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400, "bare CR or NUL in request head"},
		{"control-post", post("/sm-control", "Content-Length: 5\r\n", "hello"), 200, "hello from allowed /sm-control"},
		{"control-carrier-cl", post("/sm-carrier-cl", "Content-Length: "+strconv.Itoa(len(smuggled))+"\r\n", smuggled), 200, "hello from allowed /sm-carrier-cl"},
		{"control-carrier-chunked", post("/sm-carrier-chunked", "Transfer-Encoding: chunked\r\n", fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(smuggled), smuggled)), 200, "hello from allowed /sm-carrier-chunked"},
	}
	var cases []egCase
	for _, r := range rows {
		cases = append(cases, egCase{Name: r.name, Port: 3128, Steps: []egStep{{r.req, -1}}})
	}
	got, _ := egProbeInside(t, n.f, n.flags(), cases)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			egWant{status: r.status, body: r.body}.check(t, r.name, got[r.name].Read(0))
		})
	}
	t.Run("side-effects", func(t *testing.T) {
		hits := n.allowed.AllHits()
		want := map[string]string{"/sm-control": "hello", "/sm-carrier-cl": smuggled, "/sm-carrier-chunked": smuggled}
		if len(hits) != len(want) {
			t.Errorf("allowed server: got %d requests %+v, want %d (the controls only)", len(hits), hits, len(want))
		}
		for _, h := range hits {
			if b, ok := want[h.Path]; !ok || h.Body != b || h.Method != "POST" {
				t.Errorf("allowed server got %+v, want one of the controls with its exact body", h)
			}
		}
		n.mustNoEvil(t)
	})
}

// TestEgressSNIFronting: domain fronting. The proxy does not terminate TLS,
// but it reads the ClientHello at the start of a tunnel: a CONNECT to the
// allowed name whose TLS server name is another one is refused before any
// byte reaches the upstream, and audited with rule proxy.sni-mismatch. A
// CONNECT to the denied name with the allowed name's SNI is refused by the
// policy (curl exit 56, 403). A plain request to the allowed name works.
func TestEgressSNIFronting(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	allowed := egStartServer(t, "allowed-tls", true)
	evil := egStartServer(t, "evil-tls", true)
	a, e := allowed.Port, evil.Port
	audit := filepath.Join(f.Home, "sni-audit.jsonl")
	flags := []string{
		"--allow-domain", fmt.Sprintf("allowed.test:%d", a),
		"--resolve", "allowed.test:127.0.0.1", "--resolve", "evil.test:127.0.0.1",
		"--allow-cidr", fmt.Sprintf("127.0.0.1/32:%d", a),
		"--audit", audit,
	}
	script := fmt.Sprintf(`
printf 'fronted '; curl -sS -k --connect-to evil.test:%[1]d:allowed.test:%[1]d -o /dev/null -w '%%{http_code}' https://evil.test:%[1]d/front 2>&1; echo " rc=$?"
printf 'reverse '; curl -sS -k --connect-to allowed.test:%[2]d:evil.test:%[2]d -o /dev/null -w '%%{http_code}' https://allowed.test:%[2]d/front-reverse 2>&1; echo " rc=$?"
printf 'plain '; curl -sS -k -o /dev/null -w '%%{http_code}' https://allowed.test:%[1]d/plain 2>&1; echo " rc=$?"
`, a, e)
	r := f.sandbox(t, flags, script)
	rows := egRows(r.Stdout)
	t.Run("fronted-sni-is-refused", func(t *testing.T) {
		// curl sees the tunnel close during its handshake.
		if got := rows["fronted"]; !strings.HasPrefix(got, "curl: (35) ") || !strings.Contains(r.Stdout, "\n000 rc=35\n") {
			t.Errorf("got %q, want the handshake to fail: curl exit 35 (%v)", got, r)
		}
		if hits := allowed.Hits("/front"); len(hits) != 0 {
			t.Errorf("allowed server: got %+v, want no request: nothing may leave a fronted tunnel", hits)
		}
		mustContain(t, "stderr", r.Stderr, "TLS server name evil.test does not match the CONNECT target allowed.test (domain fronting)")
	})
	t.Run("denied-target-with-allowed-sni", func(t *testing.T) {
		want := "curl: (56) CONNECT tunnel failed, response 403\n000 rc=56"
		if got := rows["reverse"]; !strings.Contains(r.Stdout, "reverse "+want) {
			t.Errorf("got %q, want %q (%v)", got, want, r)
		}
		mustContain(t, "stderr", r.Stderr, fmt.Sprintf("airlock: denied egress to evil.test:%d: ", e))
	})
	t.Run("control-plain", func(t *testing.T) {
		hits := allowed.Hits("/plain")
		if rows["plain"] != "200 rc=0" || len(hits) != 1 || hits[0].SNI != "allowed.test" {
			t.Errorf("got %q and %+v, want 200 and one request with SNI allowed.test", rows["plain"], hits)
		}
	})
	if c := evil.Conns(); c != 0 {
		t.Errorf("evil server: got %d connections, want 0", c)
	}
	t.Run("audit-names-the-connect-target", func(t *testing.T) {
		recs := egReadAudit(t, audit)
		var allow, deny, fronted int
		for _, rec := range recs {
			switch {
			case rec[proxy.FieldProto] == "connect" && rec[proxy.FieldHost] == "allowed.test" && rec[proxy.FieldDecision] == "allow":
				allow++
			case rec[proxy.FieldProto] == "connect" && rec[proxy.FieldHost] == "allowed.test" && rec[proxy.FieldDecision] == "deny" && rec[proxy.FieldRule] == proxy.RuleSNIMismatch:
				fronted++
			case rec[proxy.FieldProto] == "connect" && rec[proxy.FieldHost] == "evil.test" && rec[proxy.FieldDecision] == "deny":
				deny++
			default:
				t.Errorf("unexpected audit record %v", rec)
			}
		}
		if allow != 1 || fronted != 1 || deny != 1 {
			t.Errorf("audit: got %d allowed CONNECTs to allowed.test, %d refused for SNI, %d denied to evil.test; want 1, 1 and 1", allow, fronted, deny)
		}
	})
}

// egReadAudit reads the egress decisions of an --audit file (the file
// also records the programs the sandbox ran).
func egReadAudit(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range readAudit(t, path) {
		if m["event"] == "egress" {
			out = append(out, m)
		}
	}
	return out
}

// SOCKS5 request pieces.
const (
	egSOCKSGreetPassword = "\x05\x01\x02"
	egSOCKSGreetNone     = "\x05\x01\x00"
)

func egSOCKSReq(cmd byte, atyp byte, addr []byte, port int) string {
	b := []byte{5, cmd, 0, atyp}
	if atyp == 3 {
		b = append(b, byte(len(addr)))
	}
	b = append(b, addr...)
	b = append(b, byte(port>>8), byte(port))
	return string(b)
}

// TestEgressSOCKS: the SOCKS5 listener with every address type to allowed
// and denied destinations, unsupported commands, SOCKS4, and missing or
// wrong credentials. Curl's socks5h client is the control.
func TestEgressSOCKS(t *testing.T) {
	requireRoot(t)
	n := egSetup(t)
	a, e := n.allowed.Port, n.evil.Port
	auth := []egStep{{egSOCKSGreetPassword, 2}, {egSOCKSAuth, 2}}
	with := func(steps ...egStep) []egStep { return append(append([]egStep(nil), auth...), steps...) }
	lo4, lo6 := []byte{127, 0, 0, 1}, net.ParseIP("::1").To16()
	mapped := net.ParseIP("::ffff:127.0.0.1").To16()
	rows := []struct {
		name  string
		steps []egStep
		reply byte // the REP byte of the SOCKS5 reply (read index 2)
		path  string
	}{
		{"domain-allowed", with(egStep{egSOCKSReq(1, 3, []byte("allowed.test"), a), 10}, egTunnelGet("/socks-domain")), 0x00, "/socks-domain"},
		{"domain-denied", with(egStep{egSOCKSReq(1, 3, []byte("evil.test"), e), 10}), 0x02, ""},
		// A numeric "domain" is the address it spells (127.0.0.1 here,
		// which --allow-cidr opens for this port), never a name to resolve.
		{"domain-numeric", with(egStep{egSOCKSReq(1, 3, []byte("2130706433"), a), 10}, egTunnelGet("/socks-numeric")), 0x00, "/socks-numeric"},
		{"ipv4-allowed", with(egStep{egSOCKSReq(1, 1, lo4, a), 10}, egTunnelGet("/socks-ipv4")), 0x00, "/socks-ipv4"},
		{"ipv4-denied", with(egStep{egSOCKSReq(1, 1, lo4, e), 10}), 0x02, ""},
		{"ipv4-metadata", with(egStep{egSOCKSReq(1, 1, []byte{169, 254, 169, 254}, 80), 10}), 0x02, ""},
		{"ipv6-denied", with(egStep{egSOCKSReq(1, 4, lo6, e), 10}), 0x02, ""},
		{"ipv6-mapped-denied", with(egStep{egSOCKSReq(1, 4, mapped, e), 10}), 0x02, ""},
		{"bind", with(egStep{egSOCKSReq(2, 3, []byte("allowed.test"), a), 10}), 0x07, ""},
		{"udp-associate", with(egStep{egSOCKSReq(3, 1, lo4, a), 10}), 0x07, ""},
		// RFC 1928: a client that does not know its UDP address yet
		// sends all zeros; the command is still the unsupported one.
		{"udp-associate-zeros", with(egStep{egSOCKSReq(3, 1, []byte{0, 0, 0, 0}, 0), 10}), 0x07, ""},
	}
	if n.allowed.V6 {
		rows = append(rows, struct {
			name  string
			steps []egStep
			reply byte
			path  string
		}{"ipv6-allowed", with(egStep{egSOCKSReq(1, 4, lo6, a), 10}, egTunnelGet("/socks-ipv6")), 0x00, "/socks-ipv6"})
	}
	var cases []egCase
	for _, r := range rows {
		cases = append(cases, egCase{Name: r.name, Port: 1080, Steps: r.steps})
	}
	socks4 := string([]byte{4, 1, byte(e >> 8), byte(e), 127, 0, 0, 1}) + "airlock\x00"
	socks4a := string([]byte{4, 1, byte(a >> 8), byte(a), 0, 0, 0, 1}) + "airlock\x00allowed.test\x00"
	cases = append(cases,
		egCase{Name: "no-auth", Port: 1080, Steps: []egStep{{egSOCKSGreetNone, 2}, {egSOCKSReq(1, 3, []byte("allowed.test"), a), 10}}},
		egCase{Name: "wrong-password", Port: 1080, Steps: []egStep{{egSOCKSGreetPassword, 2}, {"\x01\x07airlock\x05wrong", 2}, {egSOCKSReq(1, 3, []byte("allowed.test"), a), 10}}},
		egCase{Name: "wrong-user", Port: 1080, Steps: []egStep{{egSOCKSGreetPassword, 2}, {egSOCKSAuthWrongUser, 2}, {egSOCKSReq(1, 3, []byte("allowed.test"), a), 10}}},
		egCase{Name: "socks4", Port: 1080, Steps: []egStep{{socks4, 8}, {"", 1}}},
		egCase{Name: "socks4a", Port: 1080, Steps: []egStep{{socks4a, 8}, {"", 1}}},
	)
	got, res := egProbeInside(t, n.f, n.flags(), cases)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			o := got[r.name]
			if o.Read(0) != "\x05\x02" || o.Read(1) != "\x01\x00" {
				t.Fatalf("handshake: got %q, want method 2 and auth success (%v)", o.Reads, res)
			}
			rep := o.Read(2)
			if len(rep) != 10 || rep[0] != 5 || rep[1] != r.reply {
				t.Fatalf("reply: got %q (err %q), want VER 5 REP %#02x", rep, o.Err, r.reply)
			}
			if rep[3] != 1 || rep[4:] != "\x00\x00\x00\x00\x00\x00" {
				t.Errorf("reply: got bound address %q, want 0.0.0.0:0", rep[3:])
			}
			if r.reply != 0 {
				if o.Read(3) != "" {
					t.Errorf("got %q after the refusal, want nothing", o.Read(3))
				}
				return
			}
			egWant{status: 200, body: "hello from allowed " + r.path}.check(t, "GET through the tunnel", o.Read(3))
			if k := len(n.allowed.Hits(r.path)); k != 1 {
				t.Errorf("allowed server: got %d requests for %s, want 1", k, r.path)
			}
		})
	}
	t.Run("no-auth", func(t *testing.T) {
		o := got["no-auth"]
		if o.Read(0) != "\x05\xff" || o.Read(1) != "" {
			t.Errorf("got %q (err %q), want \"\\x05\\xff\" and the connection closed", o.Reads, o.Err)
		}
	})
	for _, name := range []string{"wrong-password", "wrong-user"} {
		t.Run(name, func(t *testing.T) {
			o := got[name]
			if o.Read(0) != "\x05\x02" || o.Read(1) != "\x01\x01" || o.Read(2) != "" {
				t.Errorf("got %q (err %q), want method 2, auth failure 1 1, then the connection closed", o.Reads, o.Err)
			}
		})
	}
	for _, name := range []string{"socks4", "socks4a"} {
		t.Run(name, func(t *testing.T) {
			o := got[name]
			if rep := o.Read(0); len(rep) != 8 || rep[1] != 0x5b || o.Read(1) != "" {
				t.Errorf("got %q (err %q), want an 8-byte reply with CD 0x5b (rejected) and the connection closed", o.Reads, o.Err)
			}
		})
	}
	t.Run("curl-socks5h", func(t *testing.T) {
		r := n.f.sandbox(t, n.flags(), fmt.Sprintf(`
curl -sS -x "$ALL_PROXY" -o /dev/null -w 'allowed %%{http_code}\n' http://%s/socks-curl 2>&1
curl -sS -x "$ALL_PROXY" -o /dev/null -w 'evil %%{http_code}\n' http://%s/socks-curl-evil 2>&1; echo "evil-rc $?"
curl -sS --noproxy '' -x socks5://127.0.0.1:1080 -o /dev/null http://127.0.0.1:%d/ 2>&1; echo "noauth-rc $?"
curl -sS --noproxy '' -x socks4://127.0.0.1:1080 -o /dev/null http://127.0.0.1:%d/ 2>&1; echo "socks4-rc $?"
`, n.A(), n.E(), a, a))
		rows := egRows(r.Stdout)
		for _, c := range []struct{ row, want, line string }{
			{"allowed", "200", ""},
			{"evil-rc", "97", "curl: (97) Can't complete SOCKS5 connection to evil.test. (2)"},
			{"noauth-rc", "97", "curl: (97) No authentication method was acceptable."},
			{"socks4-rc", "97", "curl: (97) "},
		} {
			if rows[c.row] != c.want {
				t.Errorf("%s: got %q, want %q (%v)", c.row, rows[c.row], c.want, r)
			}
			if c.line != "" {
				mustContain(t, "stdout", r.Stdout, c.line)
			}
		}
		if k := len(n.allowed.Hits("/socks-curl")); k != 1 {
			t.Errorf("allowed server: got %d requests for /socks-curl, want 1", k)
		}
	})
	n.mustNoEvil(t)
}

// TestEgressAuth: the proxy refuses requests without the per-run
// credentials (407), including from inside the sandbox with a wrong
// token; and the sandbox's listeners are not reachable from the host at
// all, even with the right token.
func TestEgressAuth(t *testing.T) {
	requireRoot(t)
	n := egSetup(t)
	A := n.A()
	bad := func(cred string) string {
		return "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(cred)) + "\r\n"
	}
	get := func(path string, auth string) string {
		return "GET http://" + A + path + " HTTP/1.1\r\nHost: " + A + "\r\n" + auth + "\r\n"
	}
	rows := []struct {
		name, req string
		status    int
		body      string
	}{
		{"none", get("/auth-none", ""), 407, "airlock: proxy authentication required"},
		{"connect-none", "CONNECT " + A + " HTTP/1.1\r\nHost: " + A + "\r\n\r\n", 407, "airlock: proxy authentication required"},
		{"wrong-token", get("/auth-wrong", bad("airlock:0123456789abcdef0123456789abcdef")), 407, "airlock: wrong proxy credentials"},
		{"empty-token", get("/auth-empty", bad("airlock:")), 407, "airlock: wrong proxy credentials"},
		{"wrong-user-right-token", get("/auth-wrong-user", egAuthWrongUser), 407, "airlock: wrong proxy credentials"},
		{"bearer", get("/auth-bearer", "Proxy-Authorization: Bearer "+egToken+"\r\n"), 407, "airlock: proxy authentication must use the Basic scheme"},
		{"two-headers", get("/auth-two", egAuth+bad("airlock:wrong")), 407, "airlock: more than one Proxy-Authorization header"},
		{"connect-wrong", "CONNECT " + A + " HTTP/1.1\r\nHost: " + A + "\r\n" + bad("airlock:wrong") + "\r\n", 407, "airlock: wrong proxy credentials"},
		{"control-right", get("/auth-right", egAuth), 200, "hello from allowed /auth-right"},
	}
	var cases []egCase
	for _, r := range rows {
		cases = append(cases, egCase{Name: r.name, Port: 3128, Steps: []egStep{{r.req, -1}, egTunnelGet("/auth-tunnel-" + r.name)}})
	}
	got, _ := egProbeInside(t, n.f, n.flags(), cases)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			raw := got[r.name].Read(0)
			egWant{status: r.status, body: r.body}.check(t, r.name, raw)
			if r.status == 407 {
				resp, _, err := egParseResponse(raw)
				if err == nil && resp.Header.Get("Proxy-Authenticate") != `Basic realm="airlock"` {
					t.Errorf("got Proxy-Authenticate %q, want %q", resp.Header.Get("Proxy-Authenticate"), `Basic realm="airlock"`)
				}
			}
		})
	}
	for _, h := range n.allowed.AllHits() {
		if h.Path != "/auth-right" {
			t.Errorf("allowed server got %+v, want only the control", h)
		}
	}
	t.Run("curl-without-credentials", func(t *testing.T) {
		r := n.f.sandbox(t, n.flags(), fmt.Sprintf(`curl -sS -x http://127.0.0.1:3128 -o /dev/null -w '%%{http_code}' http://%s/auth-curl`, A))
		if r.Stdout != "407" || len(n.allowed.Hits("/auth-curl")) != 0 {
			t.Errorf("got %v, want 407 and no request", r)
		}
	})

	t.Run("host-cannot-reach-the-sandbox-listeners", func(t *testing.T) {
		// The sandbox publishes its proxy URL (with the token) and
		// waits; the host then tries that URL on its own loopback.
		script := fmt.Sprintf(`printf '%%s' "$HTTP_PROXY" > proxy-url.txt
i=0; while [ ! -e go ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done
curl -sS -o /dev/null -w '%%{http_code}' http://%s/auth-inside-while-running`, A)
		done := make(chan result, 1)
		go func() { done <- n.f.sandbox(t, n.flags(), script) }()
		urlFile := filepath.Join(n.f.Work, "proxy-url.txt")
		var proxyURL string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if b, err := os.ReadFile(urlFile); err == nil && len(b) > 0 {
				proxyURL = string(b)
				break
			}
		}
		if proxyURL == "" {
			os.WriteFile(filepath.Join(n.f.Work, "go"), nil, 0o644)
			t.Fatalf("the sandbox did not publish its proxy URL: %v", <-done)
		}
		hostCases := []egCase{
			{Name: "http-3128", Port: 3128, Steps: []egStep{{egGet("http://"+A+"/auth-from-host", A), -1}}},
			{Name: "connect-3128", Port: 3128, Steps: []egStep{{egConnect(A), -1}, egTunnelGet("/auth-from-host-tunnel")}},
			{Name: "socks-1080", Port: 1080, Steps: []egStep{{egSOCKSGreetPassword, 2}, {egSOCKSAuth, 2}, {egSOCKSReq(1, 3, []byte("allowed.test"), n.allowed.Port), 10}}},
		}
		out := egProbeOutside(t, n.f, hostCases, "HTTP_PROXY="+proxyURL)
		os.WriteFile(filepath.Join(n.f.Work, "go"), nil, 0o644)
		r := <-done
		for _, c := range hostCases {
			o := out[c.Name]
			if o.Err == "ECONNREFUSED" {
				continue
			}
			// Something else listens on that port of the host: it must
			// not be Airlock's proxy.
			for _, rd := range o.Reads {
				if strings.Contains(rd, "X-Airlock-Denied") || strings.Contains(rd, "airlock:") {
					t.Errorf("%s from the host: got %q, an answer from Airlock's proxy", c.Name, rd)
				}
			}
		}
		if k := len(n.allowed.Hits("/auth-from-host")) + len(n.allowed.Hits("/auth-from-host-tunnel")); k != 0 {
			t.Errorf("allowed server: got %d requests from the host through the sandbox's proxy, want 0", k)
		}
		// Control: at the same moment the proxy served the sandbox.
		if r.Stdout != "200" || len(n.allowed.Hits("/auth-inside-while-running")) != 1 {
			t.Errorf("control inside: got %v, want 200 and one request", r)
		}
	})
}

// TestEgressWebSocket: an upgrade to a denied host is refused with 403 and
// never dialled; to the allowed host it switches protocols and relays
// both ways (control).
func TestEgressWebSocket(t *testing.T) {
	requireRoot(t)
	n := egSetup(t)
	upgrade := "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	const frame = "airlock-ws-echo"
	cases := []egCase{
		{Name: "allowed", Port: 3128, Steps: []egStep{{egGet("http://"+n.A()+"/ws-allowed", n.A(), upgrade), -1}, {frame, len(frame)}}},
		{Name: "denied", Port: 3128, Steps: []egStep{{egGet("http://"+n.E()+"/ws-denied", n.E(), upgrade), -1}}},
		{Name: "denied-connect", Port: 3128, Steps: []egStep{{egConnect(n.E()), -1}, {"GET /ws-denied-connect HTTP/1.1\r\nHost: evil.test\r\n" + upgrade + "\r\n", -1}}},
		{Name: "host-mismatch", Port: 3128, Steps: []egStep{{egGet("http://"+n.A()+"/ws-mismatch", n.E(), upgrade), -1}}},
	}
	got, _ := egProbeInside(t, n.f, n.flags(), cases)
	t.Run("denied", func(t *testing.T) {
		egWant{status: 403, body: "no allow_domains entry matches it", denied: "hint: --allow-domain " + n.E()}.check(t, "upgrade to evil.test", got["denied"].Read(0))
		egWant{status: 403}.check(t, "CONNECT to evil.test", got["denied-connect"].Read(0))
		n.mustNoEvil(t)
	})
	t.Run("host-mismatch", func(t *testing.T) {
		egWant{status: 400, body: "does not match the request target"}.check(t, "upgrade", got["host-mismatch"].Read(0))
		if k := len(n.allowed.Hits("/ws-mismatch")); k != 0 {
			t.Errorf("allowed server: got %d requests for /ws-mismatch, want 0", k)
		}
	})
	t.Run("control-allowed", func(t *testing.T) {
		o := got["allowed"]
		egWant{status: 101}.check(t, "upgrade to allowed.test", o.Read(0))
		if o.Read(1) != frame {
			t.Errorf("echo through the upgraded connection: got %q, want %q (err %q)", o.Read(1), frame, o.Err)
		}
		if k := len(n.allowed.Hits("/ws-allowed")); k != 1 {
			t.Errorf("allowed server: got %d requests for /ws-allowed, want 1", k)
		}
	})
}

// egPIDNS returns the pid namespace link of pid ("pid:[4026532...]").
func egPIDNS(pid int) string {
	s, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	return s
}

// egInNS lists the live processes (not zombies waiting to be reaped) whose
// pid namespace is ns.
func egInNS(ns string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || egPIDNS(pid) != ns {
			continue
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(st)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 && (s[i+2] == 'Z' || s[i+2] == 'X') {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// egChildren lists the children of pid.
func egChildren(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c))
		if err != nil {
			continue
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			if f := strings.Fields(s[i+1:]); len(f) > 2 && f[1] == strconv.Itoa(pid) {
				out = append(out, c)
			}
		}
	}
	return out
}

// TestEgressSupervisorKilled: the proxy lives in the supervisor. When the
// supervisor is killed with SIGKILL while the command loops over requests,
// the command dies with it (no process is left in the sandbox's pid
// namespace) and no request arrives afterwards.
func TestEgressSupervisorKilled(t *testing.T) {
	requireRoot(t)
	n := egSetup(t)
	script := fmt.Sprintf(`i=0; while [ $i -lt 600 ]; do curl -s -o /dev/null http://%s/kill-loop; sleep 0.05; i=$((i+1)); done`, n.A())
	argv := append(append([]string{airlockBin, "run"}, n.flags()...), "--", "/bin/sh", "-c", script)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = n.f.Work, n.f.env()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{}) // closed when Wait returns
	go func() {
		_ = cmd.Wait()
		close(waited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
		}
	})
	// The control: the loop gets through the proxy while it runs.
	var ok bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(n.allowed.Hits("/kill-loop")) >= 3 {
			ok = true
			break
		}
	}
	if !ok {
		t.Fatalf("the loop did not reach the allowed server: %d requests", len(n.allowed.Hits("/kill-loop")))
	}
	kids := egChildren(cmd.Process.Pid)
	if len(kids) != 1 {
		t.Fatalf("supervisor %d: got children %v, want exactly the sandbox's init", cmd.Process.Pid, kids)
	}
	ns := egPIDNS(kids[0])
	if ns == "" || ns == egPIDNS(os.Getpid()) {
		t.Fatalf("init %d: got pid namespace %q, want its own", kids[0], ns)
	}
	if procs := egInNS(ns); len(procs) < 2 {
		t.Fatalf("sandbox pid namespace: got processes %v, want init and the loop", procs)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor did not die")
	}
	var left []int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if left = egInNS(ns); len(left) == 0 {
			break
		}
	}
	if len(left) != 0 {
		t.Errorf("processes left in the sandbox's pid namespace 5s after SIGKILL of the supervisor: %v", left)
	}
	hits := len(n.allowed.Hits("/kill-loop"))
	time.Sleep(300 * time.Millisecond) // more than the loop's period
	if after := len(n.allowed.Hits("/kill-loop")); after != hits {
		t.Errorf("allowed server: got %d requests after the supervisor died, want 0", after-hits)
	}
	n.mustNoEvil(t)
}

// TestEgressAudit: --audit writes one JSON line per decision, schema 1,
// with the decision, the rule, the dialled address and the bytes of an
// allowed download.
func TestEgressAudit(t *testing.T) {
	requireRoot(t)
	n := egSetup(t)
	audit := filepath.Join(n.f.Home, "audit.jsonl")
	script := fmt.Sprintf(`
curl -sS -o /dev/null -w 'forward %%{http_code} %%{size_download}\n' http://%[1]s/blob
curl -sS -p -o /dev/null -w 'tunnel %%{http_code} %%{size_download}\n' http://%[1]s/blob
curl -sS -o /dev/null -w 'denied %%{http_code}\n' http://%[2]s/audit-denied
`, n.A(), n.E())
	r := n.f.sandbox(t, n.flags("--audit", audit), script)
	rows := egRows(r.Stdout)
	want := map[string]string{"forward": fmt.Sprintf("200 %d", egBlobSize), "tunnel": fmt.Sprintf("200 %d", egBlobSize), "denied": "403"}
	for k, v := range want {
		if rows[k] != v {
			t.Errorf("%s: got %q, want %q (%v)", k, rows[k], v, r)
		}
	}
	recs := egReadAudit(t, audit)
	if len(recs) != 3 {
		t.Fatalf("audit: got %d records, want 3 (one per decision): %v", len(recs), recs)
	}
	fields := []string{proxy.FieldSchema, proxy.FieldTime, proxy.FieldSandboxID, proxy.FieldClient, proxy.FieldProto, proxy.FieldMethod,
		proxy.FieldHost, proxy.FieldPort, proxy.FieldIP, proxy.FieldRule, proxy.FieldDecision, proxy.FieldReason,
		proxy.FieldBytesUp, proxy.FieldBytesDown, proxy.FieldDurationMS}
	sandboxID := recs[0][proxy.FieldSandboxID]
	byProto := map[string]map[string]any{}
	for i, rec := range recs {
		for _, k := range fields {
			if _, ok := rec[k]; !ok {
				t.Errorf("record %d: no field %q: %v", i, k, rec)
			}
		}
		if rec[proxy.FieldSchema] != float64(1) {
			t.Errorf("record %d: got schema %v, want 1", i, rec[proxy.FieldSchema])
		}
		if id, _ := rec[proxy.FieldSandboxID].(string); id == "" || rec[proxy.FieldSandboxID] != sandboxID {
			t.Errorf("record %d: got sandbox_id %v, want the same non-empty id on every record", i, rec[proxy.FieldSandboxID])
		}
		if ts, _ := rec[proxy.FieldTime].(string); ts == "" {
			t.Errorf("record %d: got time %v", i, rec[proxy.FieldTime])
		} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("record %d: time %q: %v", i, ts, err)
		}
		if c, _ := rec[proxy.FieldClient].(string); !strings.HasPrefix(c, "127.0.0.1:") {
			t.Errorf("record %d: got client %q, want 127.0.0.1:PORT", i, c)
		}
		key := fmt.Sprint(rec[proxy.FieldProto], "/", rec[proxy.FieldDecision])
		byProto[key] = rec
	}
	a, e := float64(n.allowed.Port), float64(n.evil.Port)
	rule := "allow_domains: " + n.A()
	for _, tc := range []struct {
		key    string
		method string
		host   string
		port   float64
		ip     string
		rule   string
		down   bool // an allowed download of egBlobSize bytes
	}{
		{"http/allow", "GET", "allowed.test", a, "127.0.0.1", rule, true},
		{"connect/allow", "CONNECT", "allowed.test", a, "127.0.0.1", rule, true},
		{"http/deny", "GET", "evil.test", e, "", "", false},
	} {
		t.Run(tc.key, func(t *testing.T) {
			rec, ok := byProto[tc.key]
			if !ok {
				t.Fatalf("no %s record in %v", tc.key, recs)
			}
			for k, v := range map[string]any{proxy.FieldMethod: tc.method, proxy.FieldHost: tc.host, proxy.FieldPort: tc.port, proxy.FieldIP: tc.ip, proxy.FieldRule: tc.rule} {
				if rec[k] != v {
					t.Errorf("%s: got %v, want %v", k, rec[k], v)
				}
			}
			up, _ := rec[proxy.FieldBytesUp].(float64)
			down, _ := rec[proxy.FieldBytesDown].(float64)
			if tc.down {
				// The body plus the response head.
				if down < egBlobSize || down > egBlobSize+1024 || up <= 0 || up > 1024 {
					t.Errorf("got bytes_up %v bytes_down %v, want 0 < up <= 1024 and %d <= down <= %d", up, down, egBlobSize, egBlobSize+1024)
				}
				return
			}
			if up != 0 || down != 0 {
				t.Errorf("got bytes_up %v bytes_down %v, want 0 for a denial", up, down)
			}
			if rs, _ := rec[proxy.FieldReason].(string); !strings.Contains(rs, "no allow_domains entry matches it") {
				t.Errorf("got reason %q", rs)
			}
			if h := rec[proxy.FieldHint]; h != "--allow-domain "+n.E() {
				t.Errorf("got hint %v, want %q", h, "--allow-domain "+n.E())
			}
		})
	}
	if k := len(n.allowed.Hits("/blob")); k != 2 {
		t.Errorf("allowed server: got %d downloads, want 2", k)
	}
	n.mustNoEvil(t)
}

// TestEgressStderr: the supervisor reports each denied destination once,
// however often it is tried, with the hint, and sums up at exit. A run
// without denials prints none of it (control).
func TestEgressStderr(t *testing.T) {
	requireRoot(t)
	n := egSetup(t)
	other := fmt.Sprintf("other.test:%d", n.evil.Port)
	script := fmt.Sprintf(`i=0; while [ $i -lt 5 ]; do curl -s -o /dev/null http://%[1]s/; curl -s -o /dev/null http://%[2]s/; i=$((i+1)); done
curl -s -o /dev/null -w '%%{http_code}' http://%[3]s/stderr-allowed`, n.E(), other, n.A())
	r := n.f.sandbox(t, n.flags(), script)
	if r.Code != 0 || r.Stdout != "200" {
		t.Fatalf("got %v, want exit 0 and 200 for the allowed request", r)
	}
	for _, dest := range []string{n.E(), other} {
		t.Run(dest, func(t *testing.T) {
			if c := strings.Count(r.Stderr, "airlock: denied egress to "+dest+": "); c != 1 {
				t.Errorf("got %d denial lines for %s, want 1:\n%s", c, dest, r.Stderr)
			}
			line := "airlock: denied egress to " + dest + ": " + dest + " is not allowed: no allow_domains entry matches it\n" +
				"airlock: hint: to allow it, pass --allow-domain " + dest + "\n"
			mustContain(t, "stderr", r.Stderr, line)
		})
	}
	names := []string{n.E(), other}
	summary := fmt.Sprintf("airlock: warning: egress: 10 request(s) denied to 2 destination(s): %s (5), %s (5)\n", names[0], names[1])
	if names[1] < names[0] {
		summary = fmt.Sprintf("airlock: warning: egress: 10 request(s) denied to 2 destination(s): %s (5), %s (5)\n", names[1], names[0])
	}
	t.Run("summary", func(t *testing.T) {
		mustContain(t, "stderr", r.Stderr, summary)
		if c := strings.Count(r.Stderr, "airlock: "); c != 5 {
			t.Errorf("got %d airlock lines, want 5 (2 denials, 2 hints, 1 summary):\n%s", c, r.Stderr)
		}
	})
	t.Run("refusals-without-a-destination", func(t *testing.T) {
		// A malformed request or failed authentication names no
		// destination; the report must not invent one (":0").
		got, r := egProbeInside(t, n.f, n.flags(), []egCase{
			{Name: "bad-target", Port: 3128, Steps: []egStep{{egConnect("allowed.test@evil.test:1"), -1}}},
			{Name: "no-credentials", Port: 3128, Steps: []egStep{{"GET /x HTTP/1.1\r\nHost: x\r\n\r\n", -1}}},
			{Name: "socks-wrong-password", Port: 1080, Steps: []egStep{{egSOCKSGreetPassword, 2}, {"\x01\x07airlock\x05wrong", 2}}},
		})
		egWant{status: 400}.check(t, "bad CONNECT target", got["bad-target"].Read(0))
		egWant{status: 407}.check(t, "no credentials", got["no-credentials"].Read(0))
		if o := got["socks-wrong-password"]; o.Read(1) != "\x01\x01" {
			t.Errorf("SOCKS5 wrong password: got %q, want auth failure", o.Reads)
		}
		mustNotContain(t, "stderr", r.Stderr, "denied egress to :0")
	})
	t.Run("control-no-denials", func(t *testing.T) {
		c := n.f.sandbox(t, n.flags(), fmt.Sprintf("curl -s -o /dev/null http://%s/stderr-control", n.A()))
		if c.Code != 0 || c.Stderr != "" {
			t.Errorf("got %v, want exit 0 and an empty stderr", c)
		}
	})
	n.mustNoEvil(t)
}

// TestEgressDefaultDeny: with no network flags (the default), every
// destination is refused, over every protocol, with a hint naming the flag
// that would allow it.
func TestEgressDefaultDeny(t *testing.T) {
	requireRoot(t)
	n := egSetup(t)
	a := n.allowed.Port
	flags := []string{"--resolve", "allowed.test:127.0.0.1"}
	script := fmt.Sprintf(`
curl -sS -D dd-http.head -o dd-http.body -w 'http %%{http_code}' http://allowed.test:%[1]d/dd-http; echo " rc=$?"
curl -sS -o /dev/null https://example.com/ 2>&1; echo "https-rc $?"
curl -sS -x "$ALL_PROXY" -o /dev/null http://example.org/ 2>&1; echo "socks-rc $?"
curl -sS --noproxy '*' -o /dev/null -w 'ip %%{http_code}' http://127.0.0.1:%[1]d/dd-ip 2>/dev/null; echo " rc=$?"
%[2]s connect example.net 22 </dev/null 2>&1; echo "ssh-rc $?"
`, a, airlockBin)
	r := n.f.sandbox(t, flags, script)
	rows := egRows(r.Stdout)
	empty := "is not allowed: the policy allows no destinations (allow_domains is empty)"
	for _, tc := range []struct {
		name, row, want, out, dest, hint string
	}{
		{"http", "http", "403 rc=0", "", fmt.Sprintf("allowed.test:%d", a), fmt.Sprintf("--allow-domain allowed.test:%d", a)},
		{"https", "https-rc", "56", "curl: (56) CONNECT tunnel failed, response 403", "example.com:443", "--allow-domain example.com"},
		{"socks", "socks-rc", "97", "curl: (97) Can't complete SOCKS5 connection to example.org. (2)", "example.org:80", "--allow-domain example.org"},
		{"ssh-proxycommand", "ssh-rc", "1", "airlock: error: the proxy refused example.net:22: HTTP/1.1 403 Forbidden", "example.net:22", "--allow-domain example.net:22"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rows[tc.row] != tc.want {
				t.Errorf("got %q, want %q (%v)", rows[tc.row], tc.want, r)
			}
			if tc.out != "" {
				mustContain(t, "stdout", r.Stdout, tc.out)
			}
			mustContain(t, "supervisor stderr", r.Stderr, "airlock: denied egress to "+tc.dest+": "+tc.dest+" "+empty+"\n")
			mustContain(t, "supervisor stderr", r.Stderr, "airlock: hint: to allow it, pass "+tc.hint+"\n")
		})
	}
	t.Run("http-answer", func(t *testing.T) {
		head, _ := os.ReadFile(filepath.Join(n.f.Work, "dd-http.head"))
		body, _ := os.ReadFile(filepath.Join(n.f.Work, "dd-http.body"))
		hint := fmt.Sprintf("--allow-domain allowed.test:%d", a)
		mustContain(t, "head", string(head), "X-Airlock-Denied: denied; hint: "+hint+"\r\n")
		want := fmt.Sprintf("airlock: denied allowed.test:%[1]d: allowed.test:%[1]d %[2]s\nairlock: hint: %[3]s\n", a, empty, hint)
		if string(body) != want {
			t.Errorf("body: got %q, want %q", body, want)
		}
	})
	t.Run("direct-ip-bypassing-the-proxy", func(t *testing.T) {
		if rows["ip"] != "000 rc=7" {
			t.Errorf("got %q, want %q (no route around the proxy)", rows["ip"], "000 rc=7")
		}
	})
	if k := n.allowed.Conns(); k != 0 {
		t.Errorf("allowed server: got %d connections, want 0", k)
	}
	t.Run("control-allow-domain", func(t *testing.T) {
		c := n.f.sandbox(t, n.flags(), fmt.Sprintf(`curl -sS -o /dev/null -w '%%{http_code}' http://%s/dd-control`, n.A()))
		if c.Stdout != "200" || len(n.allowed.Hits("/dd-control")) != 1 {
			t.Errorf("got %v, want 200 and one request", c)
		}
	})
}
