package sandbox

import (
	"slices"
	"strings"
	"testing"
)

const defaultPath = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

func TestBuildEnv(t *testing.T) {
	hostSecrets := []string{
		"AWS_SECRET_ACCESS_KEY=aws-secret",
		"AWS_ACCESS_KEY_ID=AKIA",
		"GITHUB_TOKEN=ghp_secret",
		"ANTHROPIC_API_KEY=sk-ant",
		"SSH_AUTH_SOCK=/run/user/1000/ssh-agent",
		"LD_PRELOAD=/usr/lib/evil.so",
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus",
	}
	cases := []struct {
		name    string
		host    []string
		extra   []string
		workdir string
		want    []string
	}{
		{
			name:    "allowlisted variables are kept and secrets dropped",
			host:    append([]string{"PATH=/opt/bin:/usr/bin", "HOME=/home/u", "LANG=C.UTF-8", "TERM=xterm"}, hostSecrets...),
			workdir: "/w",
			want: []string{
				"AIRLOCK_SANDBOX=1", "HOME=/home/u", "LANG=C.UTF-8", "PATH=/opt/bin:/usr/bin",
				"PWD=/w", "TERM=xterm", "TMPDIR=/tmp",
			},
		},
		{
			name:    "locale variables are kept by prefix",
			host:    []string{"LC_ALL=de_DE.UTF-8", "LC_CTYPE=C", "LCX=no", "XLC_ALL=no"},
			workdir: "/w",
			want: []string{
				"AIRLOCK_SANDBOX=1", "LC_ALL=de_DE.UTF-8", "LC_CTYPE=C", "PATH=" + defaultPath,
				"PWD=/w", "TMPDIR=/tmp",
			},
		},
		{
			name:    "a bare name copies the host value, a missing one adds nothing",
			host:    hostSecrets,
			extra:   []string{"GITHUB_TOKEN", "NOT_ON_HOST"},
			workdir: "/w",
			want: []string{
				"AIRLOCK_SANDBOX=1", "GITHUB_TOKEN=ghp_secret", "PATH=" + defaultPath,
				"PWD=/w", "TMPDIR=/tmp",
			},
		},
		{
			name:    "NAME=VALUE sets and overrides the host value",
			host:    []string{"HOME=/home/u", "GOFLAGS=-mod=mod"},
			extra:   []string{"HOME=/sandbox/home", "MODE=a=b", "EMPTY="},
			workdir: "/w/sub",
			want: []string{
				"AIRLOCK_SANDBOX=1", "EMPTY=", "GOFLAGS=-mod=mod", "HOME=/sandbox/home", "MODE=a=b",
				"PATH=" + defaultPath, "PWD=/w/sub", "TMPDIR=/tmp",
			},
		},
		{
			name:    "host TMPDIR and PWD are replaced by the sandbox's",
			host:    []string{"TMPDIR=/var/folders/x", "PWD=/home/u/elsewhere", "AIRLOCK_SANDBOX=0"},
			workdir: "/w",
			want:    []string{"AIRLOCK_SANDBOX=1", "PATH=" + defaultPath, "PWD=/w", "TMPDIR=/tmp"},
		},
		{
			name:    "entries without = and empty input are ignored",
			host:    []string{"", "GARBAGE", "=", "=value"},
			workdir: "/",
			want:    []string{"AIRLOCK_SANDBOX=1", "PATH=" + defaultPath, "PWD=/", "TMPDIR=/tmp"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := BuildEnv(c.host, c.extra, c.workdir, nil)
			if !slices.Equal(got, c.want) {
				t.Errorf("BuildEnv:\n got %q\nwant %q", got, c.want)
			}
			if !slices.IsSorted(got) {
				t.Errorf("BuildEnv: got %q, want it sorted", got)
			}
		})
	}
}

// FuzzBuildEnv checks, for any host environment and policy entries, that
// BuildEnv does not panic, yields sorted unique names, always sets its
// markers, and passes no host variable that is neither on the allowlist
// nor named by the policy.
func FuzzBuildEnv(f *testing.F) {
	f.Add("PATH=/bin\x00HOME=/h\x00GITHUB_TOKEN=x\x00LC_ALL=C", "GITHUB_TOKEN\x00A=B", "/w")
	f.Add("AWS_SECRET_ACCESS_KEY=s\x00=x\x00noeq", "", "")
	f.Add("TMPDIR=/x\x00AIRLOCK_SANDBOX=0", "AIRLOCK_SANDBOX\x00TMPDIR", "/")
	f.Add("A=1\x00A=2", "A\x00=v", "/w")
	f.Fuzz(func(t *testing.T, host, extra, workdir string) {
		hostList := strings.Split(host, "\x00")
		extraList := strings.Split(extra, "\x00")
		got := BuildEnv(hostList, extraList, workdir, nil)

		allowed := map[string]bool{"PATH": true, "TMPDIR": true, "PWD": true, "AIRLOCK_SANDBOX": true}
		namedByPolicy := map[string]bool{}
		for _, e := range extraList {
			k, _, _ := strings.Cut(e, "=")
			namedByPolicy[k] = true
		}
		seen := map[string]string{}
		for _, kv := range got {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("entry %q has no '='", kv)
			}
			if _, dup := seen[k]; dup {
				t.Fatalf("name %q appears twice in %q", k, got)
			}
			seen[k] = v
			if !envAllow[k] && !strings.HasPrefix(k, "LC_") && !allowed[k] && !namedByPolicy[k] {
				t.Fatalf("name %q passed in, but it is neither allowlisted nor named by the policy %q", k, extraList)
			}
		}
		if !slices.IsSorted(got) {
			t.Fatalf("got %q, want it sorted", got)
		}
		for k, want := range map[string]string{"AIRLOCK_SANDBOX": "1", "TMPDIR": "/tmp", "PWD": workdir} {
			if namedByPolicy[k] {
				continue // the policy may set or copy a marker on purpose
			}
			if v, ok := seen[k]; !ok || v != want {
				t.Fatalf("%s: got %q (present %v), want %q", k, v, ok, want)
			}
		}
		if _, ok := seen["PATH"]; !ok {
			t.Fatalf("PATH missing from %q", got)
		}
	})
}
