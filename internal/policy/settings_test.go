package policy

import (
	"reflect"
	"slices"
	"testing"
)

// srtExample is a settings file in the shape sandbox-runtime documents,
// using every key that maps onto the Policy and most that are only checked.
const srtExample = `{
  "$schema": "https://example.com/srt-settings.schema.json",
  "network": {
    "allowedDomains": ["github.com", "*.npmjs.org", "api.example.com:443"],
    "deniedDomains": ["*:22", "evil.example.net"],
    "deniedDomainReasons": {"*:22": "use https remotes"},
    "deniedResolvedAddresses": ["10.0.0.0/8", "169.254.169.254", "fd00::/8"],
    "strictAllowlist": true,
    "allowUnixSockets": ["/var/run/docker.sock"],
    "allowAllUnixSockets": false,
    "allowLocalBinding": true,
    "allowMachLookup": ["com.example.*"],
    "httpProxyPort": 8080,
    "socksProxyPort": 1080,
    "mitmProxy": {"socketPath": "/tmp/mitm.sock", "domains": ["api.example.com"]},
    "tlsTerminate": {"caCertPath": "/etc/ca.pem", "caKeyPath": "/etc/ca.key", "excludeDomains": ["*.bank.example"], "extraCaCertPaths": []},
    "parentProxy": {"http": "http://proxy.corp:3128", "https": "http://proxy.corp:3128", "noProxy": "localhost,10.0.0.0/8"}
  },
  "filesystem": {
    "denyRead": ["~/.ssh", "**/.env", "secrets"],
    "allowRead": ["~/.ssh/known_hosts", "public", "**/.env.example"],
    "allowWrite": [".", "/tmp/build"],
    "denyWrite": ["package-lock.json"],
    "allowGitConfig": true,
    "disabled": false
  },
  "credentials": {
    "files": [{"path": "~/.config/app/token", "mode": "mask", "extract": "token: (\\S+)", "injectHosts": ["api.example.com"]},
              {"path": "~/.aws", "mode": "deny"}],
    "envVars": [{"name": "ANTHROPIC_API_KEY", "mode": "deny"}],
    "allowPlaintextInject": false,
    "awsPairs": [{"accessKeyIdVar": "K", "secretAccessKeyVar": "S"}],
    "sigv4": {"streaming": "deny", "presigned": "passthrough"}
  },
  "ignoreViolations": {"*": ["/usr/bin"], "git push": ["/dev/null"]},
  "enableWeakerNestedSandbox": false,
  "enableWeakerNetworkIsolation": false,
  "allowAppleEvents": false,
  "allowPty": true,
  "mandatoryDenySearchDepth": 5,
  "ripgrep": {"command": "rg", "args": ["--hidden"]},
  "seccomp": {"applyPath": "/usr/lib/srt/apply-seccomp"},
  "bwrapPath": "/usr/bin/bwrap",
  "socatPath": "/usr/bin/socat",
  "windows": {"sandboxUser": "srt", "proxyPortRange": [60080, 60089], "srtWin": {"path": "C:\\srt.exe"}},
  "git": {"safeDirectories": ["/repo"]}
}
`

func TestLoadSettings(t *testing.T) {
	inTempDir(t)
	writeFile(t, "s.json", srtExample)
	got, err := LoadSettings("s.json")
	if err != nil {
		t.Fatal(err)
	}
	want := &Policy{
		Filesystem: Filesystem{
			AllowWrite:       []string{".", "/tmp/build"},
			DenyRead:         []string{"~/.ssh", ".env", "secrets", "~/.config/app/token", "~/.aws"},
			AllowRead:        []string{"~/.ssh/known_hosts", "./public", ".env.example"},
			DenyWrite:        []string{"package-lock.json"},
			Unprotect:        []string{".git/config"},
			AllowUnixSockets: []string{"/var/run/docker.sock"},
		},
		Network: Network{
			AllowDomains:      []string{"github.com", "*.npmjs.org", "api.example.com:443"},
			DenyDomains:       []string{"*:22", "evil.example.net"},
			DenyCIDRs:         []string{"10.0.0.0/8", "169.254.169.254", "fd00::/8"},
			AllowLocalBinding: true,
		},
		Credentials: Credentials{
			Secrets:    []string{"SRT_FILE_1=file:~/.config/app/token@api.example.com"},
			Files:      []string{"~/.config/app/token=${SRT_FILE_1}"},
			TLSExclude: []string{"*.bank.example"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestLoadSettingsMinimal(t *testing.T) {
	inTempDir(t)
	writeFile(t, "s.json", `{"network": {"allowedDomains": [], "deniedDomains": []}, "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []}}`)
	got, err := LoadSettings("s.json")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &Policy{}) {
		t.Errorf("got %+v, want the zero policy", got)
	}
}

func TestLoadSettingsErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown top-level key", "{\n  \"netwrok\": {}\n}\n",
			`s.json:2:3: netwrok: unknown key (did you mean "network"?)`},
		{"unknown nested key", "{\"filesystem\": {\n  \"denyReads\": []}}",
			`s.json:2:3: filesystem.denyReads: unknown key (did you mean "denyRead"?)`},
		{"snake case key suggests camel case", `{"network": {"allowed_domains": []}}`,
			`s.json:1:14: network.allowed_domains: unknown key (did you mean "allowedDomains"?)`},
		{"function-valued key", `{"network": {"filterRequest": "x"}}`,
			`s.json:1:14: network.filterRequest: unknown key`},
		{"duplicate key", "{\"network\": {},\n \"network\": {}}",
			`s.json:2:2: network: duplicate key (first set at line 1)`},
		{"duplicate reason key", `{"network": {"deniedDomainReasons": {"a": "x", "a": "y"}}}`,
			`s.json:1:48: network.deniedDomainReasons["a"]: duplicate key (first set at line 1)`},
		{"wrong type list", `{"filesystem": {"denyRead": "~/.ssh"}}`,
			`s.json:1:29: filesystem.denyRead: expected an array, got a string`},
		{"wrong type entry", "{\"network\": {\"allowedDomains\": [\n    \"a.com\",\n    7]}}",
			`s.json:3:5: network.allowedDomains[1]: expected a string, got a number`},
		{"wrong type bool", `{"network": {"allowLocalBinding": "yes"}}`,
			`s.json:1:35: network.allowLocalBinding: expected true or false, got a string`},
		{"null", `{"network": null}`,
			`s.json:1:13: network: expected an object, got null`},
		{"column counts characters", "{\"filesystem\": {\"denyRead\": [\"é\"], \"x\": 1}}",
			`s.json:1:36: filesystem.x: unknown key`},
		{"not an object", `["a"]`,
			`s.json:1:1: expected a settings object, got an array`},
		{"trailing data", "{}\n{}",
			`s.json:2:1: unexpected data after the settings object`},
		{"syntax error", "{\"network\": {\"allowedDomains\": [\"a.com\",]}}",
			`s.json:1:41: invalid JSON: invalid character ']' looking for beginning of value`},
		{"truncated", "{\"network\": {",
			`s.json:1:14: invalid JSON: unexpected end of file`},
		{"empty", "",
			`s.json:1:1: invalid JSON: unexpected end of file`},
		{"weaker nested sandbox", "{\n  \"enableWeakerNestedSandbox\": true\n}",
			`s.json:2:32: enableWeakerNestedSandbox: not supported: airlock never weakens the sandbox`},
		{"weaker network isolation", `{"enableWeakerNetworkIsolation": true}`,
			`s.json:1:34: enableWeakerNetworkIsolation: not supported: airlock never weakens the sandbox`},
		{"filesystem disabled", `{"filesystem": {"disabled": true}}`,
			`s.json:1:29: filesystem.disabled: not supported: airlock never weakens the sandbox`},
		{"all domains", `{"network": {"allowAllDomains": true}}`,
			`s.json:1:33: network.allowAllDomains: not supported: airlock never weakens the sandbox; list the domains in network.allowedDomains`},
		{"all unix sockets", `{"network": {"allowAllUnixSockets": true}}`,
			`s.json:1:37: network.allowAllUnixSockets: not supported: airlock never weakens the sandbox; list the sockets in network.allowUnixSockets`},
		{"bad domain", `{"network": {"allowedDomains": ["*.com"]}}`,
			`s.json:1:33: network.allowedDomains[0]: invalid domain pattern "*.com": a wildcard needs at least two labels after "*.", like "*.example.com"`},
		{"bad denied address", `{"network": {"deniedResolvedAddresses": ["10.0.0.0/8", "10.0.0.300"]}}`,
			`s.json:1:56: network.deniedResolvedAddresses[1]: invalid address "10.0.0.300": want an IP address or ADDRESS/BITS with an optional ":PORT", like "10.0.0.0/8"`},
		{"port out of range", `{"network": {"httpProxyPort": 70000}}`,
			`s.json:1:31: network.httpProxyPort: expected an integer from 1 to 65535, got 70000`},
		{"port not integer", `{"network": {"socksProxyPort": 1080.5}}`,
			`s.json:1:32: network.socksProxyPort: expected an integer from 1 to 65535, got 1080.5`},
		{"search depth", `{"mandatoryDenySearchDepth": 11}`,
			`s.json:1:30: mandatoryDenySearchDepth: expected an integer from 1 to 10, got 11`},
		{"mitm missing domains", `{"network": {"mitmProxy": {"socketPath": "/s"}}}`,
			`s.json:1:27: network.mitmProxy: missing required key "domains"`},
		{"tls half configured", `{"network": {"tlsTerminate": {"caCertPath": "/ca.pem"}}}`,
			`s.json:1:30: network.tlsTerminate: caCertPath and caKeyPath must be given together`},
		{"parent proxy url", `{"network": {"parentProxy": {"http": "proxy:3128"}}}`,
			`s.json:1:38: network.parentProxy.http: "proxy:3128" is not a proxy URL such as "http://proxy.example.com:3128"`},
		{"credential mode", `{"credentials": {"files": [{"path": "/x", "mode": "hide"}]}}`,
			`s.json:1:51: credentials.files[0].mode: unknown value "hide" (valid: deny, mask)`},
		{"credential env name", `{"credentials": {"envVars": [{"name": "A-B", "mode": "deny"}]}}`,
			`s.json:1:39: credentials.envVars[0].name: invalid variable name "A-B"`},
		{"credential unknown key", `{"credentials": {"injectHosts": []}}`,
			`s.json:1:18: credentials.injectHosts: unknown key`},
		{"relative bwrap", `{"bwrapPath": "bwrap"}`,
			`s.json:1:15: bwrapPath: "bwrap" is not an absolute path`},
		{"windows not object", `{"windows": []}`,
			`s.json:1:13: windows: expected an object, got an array`},
		{"ignore violations shape", `{"ignoreViolations": {"*": "/usr"}}`,
			`s.json:1:28: ignoreViolations["*"]: expected an array, got a string`},
		{"glob with slash", `{"filesystem": {"denyRead": ["src/**/*.key"]}}`,
			`s.json:1:30: filesystem.denyRead[0]: "src/**/*.key": globs are only supported as base names without "/", such as "*.key"`},
		{"contradiction names both entries", "{\"filesystem\": {\n  \"denyWrite\": [\"/srv\"],\n  \"allowWrite\": [\"/srv\"]}}",
			`s.json:3:18: filesystem.allowWrite[0]: "/srv" is also in filesystem.deny_write (s.json:2:17); a path cannot be both writable and write-protected`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			writeFile(t, "s.json", tt.src)
			p, err := LoadSettings("s.json")
			if p != nil {
				t.Errorf("got policy %+v with the error, want nil", p)
			}
			wantError(t, err, tt.want)
		})
	}
}

func TestSettingsCredentialsMask(t *testing.T) {
	tests := []struct {
		name        string
		json        string
		wantSecrets []string
		wantFiles   []string
	}{
		{"env mask with hosts", `{"credentials": {"envVars": [{"name": "GH_TOKEN", "mode": "mask", "injectHosts": ["api.github.com", "*.githubusercontent.com"]}]}}`,
			[]string{"GH_TOKEN=env:GH_TOKEN@api.github.com,*.githubusercontent.com"}, nil},
		{"env deny", `{"credentials": {"envVars": [{"name": "GH_TOKEN", "mode": "deny"}]}}`, nil, nil},
		{"env mask without hosts", `{"credentials": {"envVars": [{"name": "K", "mode": "mask"}]}}`, nil, nil},
		{"file mask with hosts", `{"credentials": {"files": [{"path": "~/.npm/token", "mode": "mask", "injectHosts": ["registry.example"]}]}}`,
			[]string{"SRT_FILE_1=file:~/.npm/token@registry.example"}, []string{"~/.npm/token=${SRT_FILE_1}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			writeFile(t, "s.json", tt.json)
			p, err := LoadSettings("s.json")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Credentials.Secrets, tt.wantSecrets) || !slices.Equal(p.Credentials.Files, tt.wantFiles) {
				t.Errorf("got secrets %q files %q, want %q %q", p.Credentials.Secrets, p.Credentials.Files, tt.wantSecrets, tt.wantFiles)
			}
		})
	}
}
