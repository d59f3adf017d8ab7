package cli

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// proxyCmd runs the egress proxy standalone: `airlock proxy --listen ADDR`.
func (a *App) proxyCmd(args []string) int {
	fs := a.flagSet("proxy")
	var pf policyFlags
	pf.register(fs)
	var ef egressFlags
	ef.register(fs)
	listen := fs.String("listen", "", "serve the HTTP proxy (CONNECT and absolute URIs) on `ADDR`, e.g. 127.0.0.1:3128")
	socks := fs.String("socks", "", "also serve SOCKS5 on `ADDR`")
	tokenFlag := fs.String("token", "", "require this proxy password (user "+proxyUser+"); default $AIRLOCK_PROXY_TOKEN")
	if done, code := a.parseFlags(fs, args, ExitUsage); done {
		return code
	}
	if *listen == "" {
		a.errorf("--listen is required")
		a.hintf("airlock proxy --listen 127.0.0.1:3128 --policy FILE")
		return ExitUsage
	}
	token := *tokenFlag
	if token == "" {
		token = a.getenv("AIRLOCK_PROXY_TOKEN")
	}
	for _, addr := range nonEmpty(*listen, *socks) {
		if token == "" && !loopbackAddr(addr) {
			a.errorf("refusing to serve an open proxy on %s", addr)
			a.hintf("set --token or AIRLOCK_PROXY_TOKEN, or listen on loopback")
			return ExitUsage
		}
	}
	p, err := pf.build()
	if err != nil {
		a.reportPolicyErr(err)
		return ExitSetup
	}
	er, err := a.newEgress(p, ef, "standalone", token, nil, nil)
	if err != nil {
		a.reportPolicyErr(err)
		return ExitSetup
	}
	defer er.close()
	httpL, err := net.Listen("tcp", *listen)
	if err != nil {
		a.errorf("--listen: %v", err)
		return 1
	}
	// Signals are caught before the listen line is printed: whoever waits
	// for that line may send SIGHUP at once.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGHUP, unix.SIGINT, unix.SIGTERM)
	defer signal.Stop(sigs)
	errs := make(chan error, 2)
	go func() { errs <- er.proxy.ServeHTTP(httpL) }()
	fmt.Fprintf(a.Stderr, "airlock: proxy: HTTP on %s\n", httpL.Addr())
	if *socks != "" {
		socksL, err := net.Listen("tcp", *socks)
		if err != nil {
			a.errorf("--socks: %v", err)
			return 1
		}
		go func() { errs <- er.proxy.ServeSOCKS(socksL) }()
		fmt.Fprintf(a.Stderr, "airlock: proxy: SOCKS5 on %s\n", socksL.Addr())
	}
	for {
		select {
		case s := <-sigs:
			if s == unix.SIGHUP {
				er.reload(pf.build)
				continue
			}
			return ExitOK
		case err := <-errs:
			a.errorf("proxy: %v", err)
			return 1
		}
	}
}

func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback() || host == "localhost"
}

// connect relays stdin and stdout to HOST:PORT through the HTTP proxy in
// $HTTPS_PROXY, with a CONNECT request: ssh's ProxyCommand inside the
// sandbox, so git over SSH reaches allowed hosts.
func (a *App) connect(args []string) int {
	fs := a.flagSet("connect")
	proxyURL := fs.String("proxy", "", "proxy `URL` (default $HTTPS_PROXY, then $https_proxy)")
	if done, code := a.parseFlags(fs, args, ExitUsage); done {
		return code
	}
	if fs.NArg() != 2 {
		a.errorf("usage: airlock connect HOST PORT")
		return ExitUsage
	}
	raw := *proxyURL
	for _, name := range []string{"HTTPS_PROXY", "https_proxy"} {
		if raw == "" {
			raw = a.getenv(name)
		}
	}
	if raw == "" {
		a.errorf("no proxy: set --proxy or HTTPS_PROXY")
		return ExitUsage
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		a.errorf("proxy URL %q: %v", raw, err)
		return ExitUsage
	}
	target := net.JoinHostPort(fs.Arg(0), fs.Arg(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		a.errorf("connect to the proxy: %v", err)
		return 1
	}
	defer c.Close()
	req := fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: %s\r\n", target, target)
	if u.User != nil {
		pass, _ := u.User.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass)) + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		a.errorf("connect: %v", err)
		return 1
	}
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil {
		a.errorf("connect: %v", err)
		return 1
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			a.errorf("connect: %v", err)
			return 1
		}
		if strings.TrimSpace(line) == "" {
			break
		}
	}
	if f := strings.Fields(status); len(f) < 2 || f[1] != "200" {
		a.errorf("the proxy refused %s: %s", target, strings.TrimSpace(status))
		return 1
	}
	// stdin's end only half-closes the connection: the server still
	// answers. The relay ends when the server's side does.
	go func() { _, _ = io.Copy(c, a.Stdin); closeWrite(c) }()
	if _, err := io.Copy(a.Stdout, br); err != nil {
		a.errorf("connect: %v", err)
		return 1
	}
	return ExitOK
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
