package sandbox

import (
	"fmt"
	"sort"
	"strings"
)

// envAllow are host variables passed into the sandbox unchanged: they select
// locale, terminal and tools, and carry no credentials. Everything else is
// scrubbed unless the policy names it.
var envAllow = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "SHELL": true,
	"TERM": true, "COLORTERM": true, "LANG": true, "LANGUAGE": true, "TZ": true,
	"NO_COLOR": true, "FORCE_COLOR": true, "CLICOLOR": true, "COLUMNS": true, "LINES": true,
	"EDITOR": true, "VISUAL": true, "PAGER": true, "LESS": true,
	"GOPATH": true, "GOROOT": true, "GOFLAGS": true, "GOCACHE": true, "GOMODCACHE": true,
	"CARGO_HOME": true, "RUSTUP_HOME": true, "NVM_DIR": true, "PYENV_ROOT": true,
	"VIRTUAL_ENV": true, "JAVA_HOME": true, "CI": true,
	"XDG_CONFIG_HOME": true, "XDG_CACHE_HOME": true, "XDG_DATA_HOME": true, "XDG_STATE_HOME": true,
}

// BuildEnv returns the command's environment: the allowlisted host variables,
// LC_* locale variables, Airlock's own markers, then the policy's entries
// ("NAME" copies the host value, "NAME=VALUE" sets it). The result is sorted
// for a stable, reviewable order.
func BuildEnv(host []string, extra []string, workdir string, proxy []string) []string {
	hostMap := map[string]string{}
	for _, kv := range host {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			hostMap[k] = v
		}
	}
	out := map[string]string{}
	for k, v := range hostMap {
		if envAllow[k] || strings.HasPrefix(k, "LC_") {
			out[k] = v
		}
	}
	if _, ok := out["PATH"]; !ok {
		out["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
	}
	out["TMPDIR"] = "/tmp"
	out["PWD"] = workdir
	out["AIRLOCK_SANDBOX"] = "1"
	for _, e := range proxy {
		k, v, _ := strings.Cut(e, "=")
		out[k] = v
	}
	for _, e := range extra {
		if k, v, ok := strings.Cut(e, "="); ok {
			out[k] = v
		} else if v, ok := hostMap[e]; ok {
			out[e] = v
		}
	}
	env := make([]string, 0, len(out))
	for k, v := range out {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// ProxyEnv is what common clients read to find the sandbox's proxy: the
// HTTP proxy on 127.0.0.1:ProxyHTTPPort and SOCKS5 on ProxySOCKSPort, both
// with the run's credentials. Loopback itself stays direct: it is the
// sandbox's own. self is the airlock binary as the sandbox sees it, for
// git over SSH; "" leaves GIT_SSH_COMMAND unset.
func ProxyEnv(user, token, self string) []string {
	httpURL := fmt.Sprintf("http://%s:%s@127.0.0.1:%d", user, token, ProxyHTTPPort)
	socksURL := fmt.Sprintf("socks5h://%s:%s@127.0.0.1:%d", user, token, ProxySOCKSPort)
	noProxy := "localhost,127.0.0.1,::1"
	env := []string{
		"HTTP_PROXY=" + httpURL, "http_proxy=" + httpURL,
		"HTTPS_PROXY=" + httpURL, "https_proxy=" + httpURL,
		"ALL_PROXY=" + socksURL, "all_proxy=" + socksURL,
		"NO_PROXY=" + noProxy, "no_proxy=" + noProxy,
		// Node.js (22.13+/24) honours the variables above only with this.
		"NODE_USE_ENV_PROXY=1",
		// npm and yarn read their own settings.
		"npm_config_proxy=" + httpURL, "npm_config_https_proxy=" + httpURL,
		"YARN_HTTP_PROXY=" + httpURL, "YARN_HTTPS_PROXY=" + httpURL,
		"PIP_PROXY=" + httpURL,
		// gRPC C-core reads grpc_proxy; grpc-go reads HTTPS_PROXY.
		"grpc_proxy=" + httpURL, "GRPC_PROXY=" + httpURL,
		// The JVM reads system properties, not the environment.
		fmt.Sprintf("JAVA_TOOL_OPTIONS=-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=%d -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=%d -Dhttp.nonProxyHosts=localhost|127.0.0.1 -Djdk.http.auth.tunneling.disabledSchemes= -Dhttp.proxyUser=%s -Dhttp.proxyPassword=%s -Dhttps.proxyUser=%s -Dhttps.proxyPassword=%s",
			ProxyHTTPPort, ProxyHTTPPort, user, token, user, token),
	}
	if self != "" {
		// git over SSH: ssh reaches allowed hosts through the proxy with
		// airlock's own CONNECT helper.
		env = append(env, fmt.Sprintf("GIT_SSH_COMMAND=ssh -o ProxyCommand='%s connect %%h %%p'", self))
	}
	return env
}
