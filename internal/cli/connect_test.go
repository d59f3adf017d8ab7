package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
)

// TestConnect runs `airlock connect` (ssh's ProxyCommand for git over SSH
// inside the sandbox) through a real airlock proxy to an echo server: the
// bytes on stdin come back on stdout. A destination the policy refuses
// fails with the proxy's answer.
func TestConnect(t *testing.T) {
	w := newWorkspace(t)
	echo, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { echo.Close() })
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	port := echo.Addr().(*net.TCPAddr).Port

	const token = "connect-test-token"
	proxy := exec.Command(airlockBin, "proxy", "--listen", "127.0.0.1:0", "--token", token,
		"--allow-domain", fmt.Sprintf("git.test:%d", port), "--resolve", "git.test:127.0.0.1")
	proxy.Env = []string{"HOME=" + w.Home, "PATH=/usr/bin:/bin"}
	stderr, err := proxy.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Process.Kill(); proxy.Wait() })
	sc := bufio.NewScanner(stderr)
	addr := ""
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "airlock: proxy: HTTP on "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		t.Fatal("the proxy never said where it listens")
	}
	go io.Copy(io.Discard, stderr)
	proxyURL := fmt.Sprintf("http://%s:%s@%s", proxyUser, token, addr)

	cases := []struct {
		name     string
		host     string
		wantOut  string
		wantCode int
		wantErr  string
	}{
		{"allowed", "git.test", "ping\n", 0, ""},
		{"refused", "evil.test", "", 1, "airlock: error: the proxy refused evil.test:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, airlockBin, "connect", c.host, fmt.Sprint(port))
			cmd.Env = []string{"HOME=" + w.Home, "HTTPS_PROXY=" + proxyURL}
			cmd.Stdin = strings.NewReader("ping\n")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.wantCode || out.String() != c.wantOut || !strings.Contains(errb.String(), c.wantErr) {
				t.Errorf("got exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr containing %q",
					code, out.String(), errb.String(), c.wantCode, c.wantOut, c.wantErr)
			}
		})
	}
}
