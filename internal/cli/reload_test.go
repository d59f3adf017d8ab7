package cli

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProxyReload: the standalone proxy reloads its policy on SIGHUP; an
// invalid policy is refused and the previous one stays in force.
func TestProxyReload(t *testing.T) {
	w := newWorkspace(t)
	upstream := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { io.WriteString(rw, "upstream") })}
	ul, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go upstream.Serve(ul)
	t.Cleanup(func() { upstream.Close() })
	port := ul.Addr().(*net.TCPAddr).Port

	policyFile := filepath.Join(w.Home, "policy.yaml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(policyFile, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf("network:\n  allow_domains: [\"app.test:%d\"]\n", port))

	cmd := exec.Command(airlockBin, "proxy", "--listen", "127.0.0.1:0", "--policy", policyFile, "--resolve", "app.test:127.0.0.1")
	cmd.Env = []string{"HOME=" + w.Home, "PATH=/usr/bin:/bin"}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(prefix string) string {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("proxy exited before printing %q", prefix)
				}
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-deadline:
				t.Fatalf("no line %q within 10s", prefix)
			}
		}
	}
	addr := strings.TrimPrefix(waitLine("airlock: proxy: HTTP on "), "airlock: proxy: HTTP on ")
	proxyURL, _ := url.Parse("http://" + addr)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL), DisableKeepAlives: true}, Timeout: 10 * time.Second}
	status := func() int {
		t.Helper()
		resp, err := client.Get(fmt.Sprintf("http://app.test:%d/", port))
		if err != nil {
			t.Fatalf("GET through the proxy: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	if got := status(); got != 200 {
		t.Fatalf("before reload: got %d, want 200", got)
	}
	write("network:\n  allow_domains: [\"other.test\"]\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitLine("airlock: warning: egress policy reloaded")
	if got := status(); got != 403 {
		t.Errorf("after reload: got %d, want 403", got)
	}
	write("network:\n  allow_domainz: []\n")
	cmd.Process.Signal(syscall.SIGHUP)
	if l := waitLine("airlock: error: policy reload failed"); !strings.Contains(l, "keeping the previous policy") {
		t.Errorf("got %q, want the previous policy kept", l)
	}
	if got := status(); got != 403 {
		t.Errorf("after a bad reload: got %d, want 403 (the previous policy)", got)
	}
}

// TestProxyRefusesOpenProxy: off loopback, the standalone proxy needs a
// token.
func TestProxyRefusesOpenProxy(t *testing.T) {
	w := newWorkspace(t)
	r := w.airlock(t, "proxy", "--listen", "0.0.0.0:0")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "airlock: error: refusing to serve an open proxy on 0.0.0.0:0") {
		t.Errorf("got %d %q, want exit %d and the open-proxy refusal", r.code, r.stderr, ExitUsage)
	}
}

// TestRunReloadsPolicyFile: `airlock run` watches its policy file: a
// request allowed before the file changes is refused after, without a
// restart of the sandboxed command.
func TestRunReloadsPolicyFile(t *testing.T) {
	requireRoot(t)
	w := newWorkspace(t)
	upstream := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { io.WriteString(rw, "upstream") })}
	ul, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go upstream.Serve(ul)
	t.Cleanup(func() { upstream.Close() })
	port := ul.Addr().(*net.TCPAddr).Port
	policyFile := filepath.Join(w.Home, "policy.yaml")
	if err := os.WriteFile(policyFile, []byte(fmt.Sprintf("network:\n  allow_domains: [\"app.test:%d\"]\n", port)), 0o600); err != nil {
		t.Fatal(err)
	}
	// The command fetches, says so, waits (bounded) for the host's go,
	// and fetches again.
	script := fmt.Sprintf(`url=http://app.test:%d/
curl -s -o /dev/null -w 'first %%{http_code}\n' "$url"; touch first
i=0; while [ ! -e go ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
curl -s -o /dev/null -w 'second %%{http_code}\n' "$url"`, port)
	cmd := exec.Command(airlockBin, "run", "--policy", policyFile, "--resolve", "app.test:127.0.0.1", "--", "/bin/sh", "-c", script)
	cmd.Dir = w.Dir
	cmd.Env = []string{"HOME=" + w.Home, "PATH=/usr/local/bin:/usr/bin:/bin"}
	var out strings.Builder
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reloaded := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "egress policy reloaded") {
				close(reloaded)
			}
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(w.Dir, "first")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the first request never finished: %q", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.WriteFile(policyFile, []byte("network:\n  allow_domains: [\"other.test\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reloaded:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no reload reported within 10s of the change")
	}
	if err := os.WriteFile(filepath.Join(w.Dir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("airlock run: %v (stdout %q)", err, out.String())
	}
	if got, want := out.String(), "first 200\nsecond 403\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
