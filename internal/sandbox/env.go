package sandbox

import (
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
func BuildEnv(host []string, extra []string, workdir string) []string {
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
