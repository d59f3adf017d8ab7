package scan

import (
	"strings"
)

// configRule finds credentials in one tool's configuration file.
type configRule struct {
	what  string                      // shown in the detail: "npm registry credential"
	match func(rel, base string) bool // whether the rule applies to the file
	// line finds the credential on a line; its last group is the value,
	// and a first group, when there are two, is the key.
	line *lazyRE
	// secretKey, when set, only reports keys that name a credential.
	secretKey bool
	// custom replaces line: it returns the key and value on a line.
	custom func(line string) (key, value string, ok bool)
	// urls reports URLs with credentials instead of key/value lines.
	urls bool
}

// scan returns the lines of text where the rule finds a real value.
func (r configRule) scan(text string) []hit {
	var hits []hit
	eachLine(text, func(n int, line string) {
		if r.urls {
			if urlHasCredentials(line) {
				hits = append(hits, hit{n, CategoryConfigToken, r.what})
			}
			return
		}
		var key, val string
		if r.custom != nil {
			var ok bool
			if key, val, ok = r.custom(line); !ok {
				return
			}
		} else {
			m := r.line.FindStringSubmatch(line)
			if m == nil {
				return
			}
			val = m[len(m)-1]
			if len(m) > 2 {
				key = m[1]
			}
		}
		if r.secretKey && !secretName(key) {
			return
		}
		if val = configValue(val); isPlaceholder(val) {
			return
		}
		d := r.what
		if key != "" {
			d += " (" + keyLabel(key) + ")"
		}
		hits = append(hits, hit{n, CategoryConfigToken, d})
	})
	return hits
}

// configValue trims spaces, a trailing comma and surrounding quotes.
func configValue(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimSuffix(v, ",")
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	return strings.TrimSpace(v)
}

func baseIs(names ...string) func(rel, base string) bool {
	return func(_, base string) bool {
		for _, n := range names {
			if base == n {
				return true
			}
		}
		return false
	}
}

// pathIs matches rel when it is one of the paths or ends with "/" + one.
func pathIs(paths ...string) func(rel, base string) bool {
	return func(rel, _ string) bool {
		for _, p := range paths {
			if rel == p || strings.HasSuffix(rel, "/"+p) {
				return true
			}
		}
		return false
	}
}

func either(a, b func(rel, base string) bool) func(rel, base string) bool {
	return func(rel, base string) bool { return a(rel, base) || b(rel, base) }
}

var configRules = []configRule{
	{
		what:  "npm registry credential",
		match: baseIs(".npmrc"),
		line:  mustLazy(`(?i)(?:^|[:\s])(_authToken|_auth|_password)\s*=\s*(.*)$`),
	},
	{
		what:  "yarn registry credential",
		match: baseIs(".yarnrc.yml"),
		line:  mustLazy(`^\s*(npmAuthToken|npmAuthIdent)\s*:\s*(.*)$`),
	},
	{
		what:  "PyPI password",
		match: baseIs(".pypirc"),
		line:  mustLazy(`(?i)^\s*(password)\s*[:=]\s*(.*)$`),
	},
	{
		what:   "netrc password",
		match:  baseIs(".netrc", "_netrc"),
		custom: netrcPassword,
	},
	{
		what:  "credentials in a git URL",
		match: either(baseIs(".git-credentials", ".gitconfig"), pathIs(".git/config", ".config/git/credentials", ".config/git/config")),
		urls:  true,
	},
	{
		what:  "credentials in a package index URL",
		match: baseIs("pip.conf", "pip.ini"),
		urls:  true,
	},
	{
		what:  "Docker registry credential",
		match: either(pathIs(".docker/config.json"), baseIs(".dockercfg")),
		line:  mustLazy(`"(auth|identitytoken|registrytoken|password)"\s*:\s*"([^"]*)"`),
	},
	{
		what:  "AWS secret",
		match: either(pathIs(".aws/credentials"), baseIs(".s3cfg", ".boto")),
		line:  mustLazy(`(?i)^\s*(aws_secret_access_key|aws_session_token|aws_security_token|secret_key|access_token)\s*=\s*(.*)$`),
	},
	{
		what: "Terraform variable",
		match: func(_, base string) bool {
			return strings.HasSuffix(base, ".tfvars") || strings.HasSuffix(base, ".tfvars.json")
		},
		line:      mustLazy(`^\s*"?([A-Za-z_][A-Za-z0-9_-]*)"?\s*[=:]\s*"([^"]*)"`),
		secretKey: true,
	},
	{
		what:  "Terraform registry token",
		match: baseIs(".terraformrc", "terraform.rc", "credentials.tfrc.json"),
		line:  mustLazy(`"?(token)"?\s*[=:]\s*"([^"]*)"`),
	},
	{
		what: "Kubernetes credential",
		match: either(pathIs(".kube/config"), func(_, base string) bool {
			return strings.HasPrefix(base, "kubeconfig") || strings.HasSuffix(base, ".kubeconfig")
		}),
		line: mustLazy(`^[\s-]*(client-key-data|token|password|client-secret|id-token|refresh-token|access-token)\s*:\s*(.*)$`),
	},
	{
		what:  "Maven server password",
		match: baseIs("settings.xml", "settings-security.xml"),
		line:  mustLazy(`<(password|passphrase|master)>([^<]*)</`),
	},
	{
		what:   "PostgreSQL password",
		match:  baseIs(".pgpass"),
		custom: pgpassPassword,
	},
	{
		what:  "RubyGems API key",
		match: pathIs(".gem/credentials"),
		line:  mustLazy(`^\s*:?([A-Za-z_]+)\s*:\s*(.*)$`),
	},
	{
		what:  "Cargo registry token",
		match: pathIs(".cargo/credentials", ".cargo/credentials.toml"),
		line:  mustLazy(`^\s*(token)\s*=\s*(.*)$`),
	},
	{
		what:  "Composer credential",
		match: baseIs("auth.json"),
		line:  mustLazy(`"(password|token|bearer)"\s*:\s*"([^"]*)"`),
	},
	{
		what:  "Composer host token",
		match: baseIs("auth.json"),
		line:  mustLazy(`"([a-z0-9-]+(?:\.[a-z0-9-]+)+)"\s*:\s*"([^"]*)"`),
	},
	{
		what:  "MySQL password",
		match: baseIs(".my.cnf", "my.cnf"),
		line:  mustLazy(`(?i)^\s*(password)\s*=\s*(.*)$`),
	},
	{
		what:  "Vault token",
		match: baseIs(".vault-token"),
		line:  mustLazy(`^\s*(\S{8,})\s*$`),
	},
	{
		what:  "Google Cloud credential",
		match: either(baseIs("application_default_credentials.json"), pathIs(".config/gcloud/credentials.json")),
		line:  mustLazy(`"(refresh_token|client_secret|private_key)"\s*:\s*"([^"]*)"`),
	},
	{
		what:  "GitHub CLI token",
		match: pathIs(".config/hub", ".config/gh/hosts.yml"),
		line:  mustLazy(`^[\s-]*(oauth_token)\s*:\s*(.*)$`),
	},
}

var netrcPasswordRE = mustLazy(`(?:^|\s)(password|passwd)\s+(\S+)`)

// netrcPassword finds "password VALUE" anywhere on a netrc line.
func netrcPassword(line string) (string, string, bool) {
	if strings.HasPrefix(strings.TrimSpace(line), "#") {
		return "", "", false
	}
	m := netrcPasswordRE.FindStringSubmatch(line)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// pgpassPassword returns the fifth field of a .pgpass line,
// host:port:database:user:password, where "\:" is a literal colon.
func pgpassPassword(line string) (string, string, bool) {
	if strings.HasPrefix(strings.TrimSpace(line), "#") {
		return "", "", false
	}
	fields := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case ':':
			if fields++; fields == 4 {
				return "", line[i+1:], true
			}
		}
	}
	return "", "", false
}
