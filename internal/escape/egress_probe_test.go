package escape

// The raw proxy client of the egress suite. Curl normalises what it sends
// (it rewrites 0x7f000001 to 127.0.0.1, refuses a CONNECT target with '@'),
// so the attacks on the proxy's parsers are sent byte for byte by a small
// Python program that runs inside the sandbox: each case opens one TCP
// connection and performs send/read steps; the bytes read come back as hex.

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Placeholders the probe replaces in what it sends, with the sandbox's own
// proxy credentials (taken from $HTTP_PROXY inside).
const (
	egAuth      = "{AUTH}"      // "Proxy-Authorization: Basic ...\r\n"
	egSOCKSAuth = "{SOCKSAUTH}" // RFC 1929 sub-negotiation with the right user and token
	egToken     = "{TOKEN}"     // the token alone

	// The right token with the wrong user name ("nobody").
	egAuthWrongUser      = "{AUTHWRONGUSER}"
	egSOCKSAuthWrongUser = "{SOCKSAUTHWRONGUSER}"
)

// egStep sends Send (after placeholder substitution) and then reads: an
// HTTP response head and its body when Read < 0, else exactly Read bytes.
// An empty Send only reads.
type egStep struct {
	Send string
	Read int
}

// egCase is one connection of the probe, to Host:Port (default 127.0.0.1).
type egCase struct {
	Name  string
	Host  string
	Port  int
	Steps []egStep
}

// egOutcome is what one case saw: the bytes of each read that happened
// (a step whose read returned nothing ends the case) and the error that
// ended it, as an errno name ("ECONNREFUSED") or Python's text.
type egOutcome struct {
	Reads []string
	Err   string
}

// Read returns read i, or "" when there was none.
func (o egOutcome) Read(i int) string {
	if i < len(o.Reads) {
		return o.Reads[i]
	}
	return ""
}

const egProbePy = `
import base64, errno, json, os, socket, sys
cred = os.environ.get("HTTP_PROXY", "http://none:none@x").split("//", 1)[1].rsplit("@", 1)[0]
user, token = cred.split(":", 1)
subst = [
    (b"{AUTH}", b"Proxy-Authorization: Basic " + base64.b64encode(cred.encode()) + b"\r\n"),
    (b"{SOCKSAUTH}", bytes([1, len(user)]) + user.encode() + bytes([len(token)]) + token.encode()),
    (b"{TOKEN}", token.encode()),
    (b"{AUTHWRONGUSER}", b"Proxy-Authorization: Basic " + base64.b64encode(b"nobody:" + token.encode()) + b"\r\n"),
    (b"{SOCKSAUTHWRONGUSER}", bytes([1, 6]) + b"nobody" + bytes([len(token)]) + token.encode()),
]
def read_exact(s, n):
    out = b""
    while len(out) < n:
        b = s.recv(n - len(out))
        if not b:
            break
        out += b
    return out
def read_http(s):
    head = b""
    while not head.endswith(b"\r\n\r\n") and len(head) < 65536:
        b = s.recv(1)
        if not b:
            return head
        head += b
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ")
    code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
    hdr = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            hdr[k.strip().lower()] = v.strip()
    if code == 101 or code // 100 == 2 and "content-length" not in hdr and "transfer-encoding" not in hdr:
        return head
    if "content-length" in hdr:
        return head + read_exact(s, int(hdr["content-length"]))
    body = b""
    while hdr.get("transfer-encoding", "").lower() == "chunked" and not body.endswith(b"0\r\n\r\n") and len(body) < 1 << 20:
        b = s.recv(4096)
        if not b:
            break
        body += b
    return head + body
for c in json.load(open(sys.argv[1])):
    res = {"reads": [], "err": ""}
    s = None
    try:
        s = socket.create_connection((c["host"] or "127.0.0.1", c["port"]), timeout=5)
        for st in c["steps"]:
            data = bytes.fromhex(st["send"])
            for k, v in subst:
                data = data.replace(k, v)
            if data:
                s.sendall(data)
            got = read_http(s) if st["read"] < 0 else read_exact(s, st["read"])
            res["reads"].append(got.hex())
            if not got:
                break
    except OSError as ex:
        res["err"] = errno.errorcode.get(ex.errno, str(ex.errno)) if ex.errno else str(ex)
    finally:
        if s:
            s.close()
    print(json.dumps({c["name"]: res}), flush=True)
`

// egProbeFiles writes the probe and its cases into the workspace and
// returns the command that runs it (inside the sandbox or on the host).
func egProbeFiles(t *testing.T, f *fixture, cases []egCase) string {
	t.Helper()
	type wireStep struct {
		Send string `json:"send"`
		Read int    `json:"read"`
	}
	type wireCase struct {
		Name  string     `json:"name"`
		Host  string     `json:"host"`
		Port  int        `json:"port"`
		Steps []wireStep `json:"steps"`
	}
	var wire []wireCase
	for _, c := range cases {
		wc := wireCase{Name: c.Name, Host: c.Host, Port: c.Port}
		for _, s := range c.Steps {
			wc.Steps = append(wc.Steps, wireStep{Send: hex.EncodeToString([]byte(s.Send)), Read: s.Read})
		}
		wire = append(wire, wc)
	}
	b, err := json.Marshal(wire)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.Work, "egprobe.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.Work, "egprobe.py"), []byte(egProbePy), 0o644); err != nil {
		t.Fatal(err)
	}
	return "exec /usr/bin/python3 egprobe.py egprobe.json"
}

// egParseProbe reads the probe's output: one JSON object per case.
func egParseProbe(t *testing.T, r result) map[string]egOutcome {
	t.Helper()
	out := map[string]egOutcome{}
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if line == "" {
			continue
		}
		var m map[string]struct {
			Reads []string `json:"reads"`
			Err   string   `json:"err"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("probe output %q: %v (%v)", line, err, r)
		}
		for name, v := range m {
			o := egOutcome{Err: v.Err}
			for _, h := range v.Reads {
				b, err := hex.DecodeString(h)
				if err != nil {
					t.Fatalf("probe output %q: %v", line, err)
				}
				o.Reads = append(o.Reads, string(b))
			}
			out[name] = o
		}
	}
	return out
}

// egProbeInside runs the cases inside `airlock run flags`.
func egProbeInside(t *testing.T, f *fixture, flags []string, cases []egCase) (map[string]egOutcome, result) {
	t.Helper()
	r := f.sandbox(t, flags, egProbeFiles(t, f, cases))
	if r.Code != 0 {
		t.Fatalf("probe inside: got %v, want exit 0", r)
	}
	return egParseProbe(t, r), r
}

// egProbeOutside runs the cases on the host: the control.
func egProbeOutside(t *testing.T, f *fixture, cases []egCase, env ...string) map[string]egOutcome {
	t.Helper()
	r := f.outside(t, egProbeFiles(t, f, cases), env...)
	if r.Code != 0 {
		t.Fatalf("probe on the host: got %v, want exit 0", r)
	}
	return egParseProbe(t, r)
}
