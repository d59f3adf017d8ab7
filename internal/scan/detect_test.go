package scan

import (
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestAnalyze checks one file's content at a time: what is reported, on
// which line, and what is not. Every positive case has a negative twin.
func TestAnalyze(t *testing.T) {
	r20 := randFrom(t, alnum, 20)
	r32 := randFrom(t, b64, 32)
	hex40 := randFrom(t, hexDg, 40)
	keyPEM, _ := ecKey(t)
	body := strings.Split(keyPEM, "\n")[1] // the first base64 line
	begin := "-----BEGIN RSA " + privateKeyWord() + "-----"
	tests := []struct {
		name, path, content string
		untracked           bool
		want                []string // "line category"
	}{
		// high-entropy
		{"quoted value under a key name", "a.py", "x = 1\napi_key = \"" + r32 + "\"\n", false, []string{"2 high-entropy"}},
		{"untracked file", "a.py", "api_key = \"" + r32 + "\"\n", true, nil},
		{"JSON", "a.json", `{"id": "1", "client_secret": "` + r32 + `"}`, false, []string{"1 high-entropy"}},
		{"header name in brackets", "a.js", `headers["X-Api-Key"] = '` + r32 + `';`, false, []string{"1 high-entropy"}},
		{"Go short assignment", "a.go", "\tapiToken := `" + r32 + "`", false, []string{"1 high-entropy"}},
		{"unquoted assignment", "a.sh", "SECRET=" + r32 + " ./run", false, []string{"1 high-entropy"}},
		{"YAML", "a.yaml", "db:\n  password: " + r32 + "\n", false, []string{"2 high-entropy"}},
		{"hex secret", "a.py", "signing_secret = '" + hex40 + "'", false, []string{"1 high-entropy"}},
		{"setenv call", "a.go", `os.Setenv("API_TOKEN", "` + r32 + `")`, false, []string{"1 high-entropy"}},
		{"neutral name", "a.py", "data = \"" + r32 + "\"\n", false, nil},
		{"word that contains key", "a.py", "monkey = \"" + r32 + "\"\n", false, nil},
		{"public key", "a.py", "public_key = \"" + r32 + "\"\n", false, nil},
		{"key id", "a.py", "api_key_id = \"" + r32 + "\"\n", false, nil},
		{"git SHA under a neutral name", "a.go", `const commit = "` + hex40 + `"`, false, nil},
		{"UUID", "a.go", `apiKey := "3f2b1c9e-8d4a-4e6f-9b7c-2a1d0e5f6c8b"`, false, nil},
		{"integrity hash", "a.json", `"integrity": "sha512-` + r32 + `"`, false, nil},
		{"lock file", "package-lock.json", `"token": "` + r32 + `"`, false, nil},
		{"long line", "a.js", "var token=\"" + r32 + "\";" + strings.Repeat(" ", 1000), false, nil},
		{"short value", "a.py", "api_key = \"" + r20[:19] + "\"\n", false, nil},
		{"identifier", "a.py", "token = \"thisIsMyVeryLongVariableName1\"\n", false, nil},
		{"URL", "a.py", "token_endpoint = \"https://auth.example.com/oauth2/v1/token\"\n", false, nil},
		{"canary value", "a.go", `{"GITHUB_TOKEN", "ENV-GITHUB-CANARY-ghp_16C7e42F292c"},`, false, nil},
		{"typed token", "a.go", `key := "sk-ant-api03-REALvalue";`, false, nil},
		{"environment reference", "a.yaml", "password: ${DB_PASSWORD}\n", false, nil},
		{"function call", "a.py", "secret_key = load_secret_from_vault_2(name)\n", false, nil},
		{"empty value", "a.go", `secretKey := ""`, false, nil},
		{"constant", "types.go", "\tNL80211_ATTR_KEY_CIPHER = C.NL80211_ATTR_KEY_CIPHER\n", false, nil},
		{"encoded prose", "a_test.go", `"key": "dGhlIHNhbXBsZSBub25jZQ==",`, false, nil},
		{"encoded basic auth from documentation", "a.md", `auth: '` + base64.StdEncoding.EncodeToString([]byte("isaacs:not my real password")) + `',`, false, nil},
		{"encoded basic auth", "a.py", `auth = "` + base64.StdEncoding.EncodeToString([]byte("deploy:"+r20)) + `"`, false, []string{"1 high-entropy"}},

		// token shapes
		{"GitHub token", "n.txt", "a\nb " + "gh" + "p_" + randFrom(t, alnum, 36) + "\n", true, []string{"2 token"}},
		{"token beats high-entropy", "a.py", "api_key = \"" + "gh" + "p_" + randFrom(t, alnum, 36) + "\"", false, []string{"1 token"}},
		{"repeated chunks", "n.txt", "sk-" + "ant-api03-REALREALREALREAL0123", true, nil},
		{"alphabet order", "n.txt", "sk-" + "proj-Ab12Cd34Ef56Gh78Ij90KlMnOpQrStUv", true, nil},
		{"counting", "n.txt", "xo" + "xb-1234-abcdEFGH5678", true, nil},
		{"counting down", "n.txt", "sk-" + "ant-api03-BENCHPLACEHOLD9876543210", true, nil},
		{"AWS documentation key", "n.txt", "AKIA" + "IOSFODNN7EXAMPLE", true, nil},
		{"x filler", "n.txt", "gh" + "p_" + strings.Repeat("x", 36), true, nil},
		{"bearer prose", "n.txt", "uses bearer authentication everywhere", true, nil},
		{"bearer variable", "n.txt", `-H "Authorization: Bearer $TOKEN"`, true, nil},
		{"bearer credential", "n.txt", "Authorization: Bearer " + r32, true, []string{"1 token"}},

		// private keys
		{"PEM key", "k.pem", "\n" + keyPEM, true, []string{"2 private-key"}},
		{"key in a string literal", "k.go", `var k = "` + begin + `\n` + body + `\n"`, true, []string{"1 private-key"}},
		{"key in JSON", "sa.json", `{"private_key": "` + begin + `\n` + body + `\n-----END"}`, true, []string{"1 private-key"}},
		{"encrypted legacy PEM", "k.pem", begin + "\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n" + body + "\n", true, []string{"1 private-key"}},
		{"header alone", "parse.go", `const header = "` + begin + `"`, true, nil},
		{"header with an ellipsis", "README.md", begin + "\n...\n", true, nil},
		{"header with a short line", "README.md", begin + "\nMIIE\n", true, nil},
		{"public certificate", "ca.pem", selfSignedCert(t), true, nil},
		{"PuTTY without private lines", "k.txt", "PuTTY-User-Key-File-3: ssh-ed25519\n", true, nil},

		// dotenv
		{"secret name", ".env", "PORT=3000\nAPI_TOKEN=" + r20 + "\n", true, []string{"2 dotenv"}},
		{"random value under a neutral name", "x.env", "THING=" + r32 + "\n", true, []string{"1 dotenv"}},
		{"URL with credentials", ".env.local", "DATABASE_URL=postgres://u:" + r20 + "@h/db\n", true, []string{"1 dotenv"}},
		{"quoted with comment", ".env", "export DB_PASSWORD=\"" + r20 + "\" # prod\n", true, []string{"1 dotenv"}},
		{"path to a credential file", ".env", "GOOGLE_APPLICATION_CREDENTIALS=/home/me/keys/sa.json\nKEY_FILE=./certs/tls.key\n", true, nil},
		{"random value starting with a slash", ".env", "THING=/" + r32 + "\n", true, []string{"1 dotenv"}},
		{"plain settings", ".env", "PORT=3000\nNODE_ENV=production\nDEBUG=true\nAUTH_ENABLED=true\nTOKEN_TTL=3600\nAUTH_URL=https://auth.example.com\n", true, nil},
		{"placeholders", ".env.example", "API_KEY=your-api-key\nSECRET=changeme\nTOKEN=\nPASSWORD=<password>\nKEY=${KEY}\nDB_PASSWORD=xxxxxxxx\nSTRIPE_KEY=sk_test_...\nX_TOKEN=$OTHER\n", true, nil},
		{"URL without password", ".env", "REDIS_URL=redis://cache:6379/0\n", true, nil},
		{"not a dotenv name", ".envrc", "export API_TOKEN=" + r20 + "\n", true, nil},

		// config files
		{"npm auth", "sub/.npmrc", "//r/:_auth=" + r20 + "\n", true, []string{"1 config-token"}},
		{"npm variable", ".npmrc", "//r/:_authToken=${NPM_TOKEN}\n", true, nil},
		{"git config URL", "x/.git/config", "[remote \"o\"]\n\turl = https://" + randFrom(t, alnum, 36) + "@github.com/o/r\n", true, []string{"2 config-token"}},
		{"git config plain URL", ".git/config", "\turl = https://github.com/o/r\n\turl = git@github.com:o/r\n", true, nil},
		{"netrc on one line", "_netrc", "machine m login u password " + r20, true, []string{"1 config-token"}},
		{"netrc comment", ".netrc", "# password " + r20, true, nil},
		{"tfvars non-secret", "x.auto.tfvars", "instance_type = \"t3.micro\"\nregion = \"eu-west-1\"\n", true, nil},
		{"kube token", "ci.kubeconfig", "users:\n- name: ci\n  user:\n    token: " + r32 + "\n", true, []string{"4 config-token"}},
		{"pgpass escaped colon", ".pgpass", `h:5432:db:u\:x:` + r20, true, []string{"1 config-token"}},
		{"pgpass short line", ".pgpass", "h:5432:db", true, nil},
		{"maven variable", "settings.xml", "<password>${env.MVN_PASS}</password>", true, nil},
		{"vault token", ".vault-token", "hvs." + r20 + "\n", true, []string{"1 config-token"}},
		{"docker empty auth", ".docker/config.json", `{"auths": {"r": {"auth": ""}}}`, true, nil},
		{"aws key id only", ".aws/credentials", "[default]\naws_access_key_id = ABCDEFGHIJ\nregion = x\n", true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range analyze(tc.path, []byte(tc.content), !tc.untracked) {
				got = append(got, strings.Join([]string{strconv.Itoa(f.Line), f.Category}, " "))
				if !strings.HasPrefix(f.Detail, "line "+strconv.Itoa(f.Line)+": ") {
					t.Errorf("detail %q does not start with its line %d", f.Detail, f.Line)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTokenKinds checks the kind a token shape is reported as, and that
// only its type marker is shown.
func TestTokenKinds(t *testing.T) {
	r36 := randFrom(t, alnum, 36)
	short := ""
	for short == "" || !randomSecret("sk-"+"ant-"+short) {
		short = randFrom(t, alnum, 16) // too short for the Anthropic shape
	}
	tests := []struct{ name, line, want string }{
		{"GitHub", "gh" + "s_" + r36, "line 1: GitHub token (ghs_…)"},
		{"GitHub fine-grained", "github" + "_pat_" + r36, "line 1: GitHub fine-grained token (gith…)"},
		{"Anthropic", "sk-" + "ant-api03-" + r36, "line 1: Anthropic API key (sk-a…)"},
		{"OpenAI project", "sk-" + "proj-" + r36, "line 1: OpenAI project API key (sk-p…)"},
		{"OpenAI", "sk-" + r36, "line 1: OpenAI-style API key (sk-…)"},
		{"AWS temporary", "AS" + "IA" + randFrom(t, upperDg, 16), "line 1: AWS temporary access key id (ASIA…)"},
		{"Slack", "xo" + "xp-" + r36, "line 1: Slack token (xoxp…)"},
		{"bearer", "Authorization: bearer " + r36, "line 1: bearer credential"},
		// A bearer credential that starts like another shape is still one.
		{"key-like bearer", "Authorization: Bearer sk-" + "ant-" + short, "line 1: bearer credential"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := analyze("n.txt", []byte(tc.line), false)
			if len(fs) != 1 || fs[0].Detail != tc.want || fs[0].Category != CategoryToken {
				t.Fatalf("got %+v, want one token finding %q", fs, tc.want)
			}
		})
	}
}

func TestSplitIdent(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"apiKey", []string{"api", "key"}},
		{"APIKey", []string{"api", "key"}},
		{"X-Api-Key", []string{"x", "api", "key"}},
		{"aws_secret_access_key", []string{"aws", "secret", "access", "key"}},
		{"config.db.password2", []string{"config", "db", "password2"}},
		{"HTTPServer", []string{"http", "server"}},
		{"", nil},
		{"--", nil},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := splitIdent(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("splitIdent(%q): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSecretName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"api_key", true}, {"apiKey", true}, {"API_TOKEN", true}, {"db_password", true},
		{"DB_PASSWD", true}, {"pwd", true}, {"client_secret", true}, {"accesstoken", true},
		{"authKey", true}, {"credentials", true}, {"--token", true}, {"X-Api-Key", true},
		{"monkey", false}, {"author", false}, {"keyboard", false}, {"rapid", false},
		{"public_key", false}, {"pubkey", false}, {"api_key_id", false}, {"token_url", false},
		{"secret_name", false}, {"auth_enabled", false}, {"password_hash", false},
		{"data", false}, {"", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := secretName(tc.name); got != tc.want {
				t.Errorf("secretName(%q): got %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

func TestIsPlaceholder(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"", true}, {"changeme", true}, {"CHANGEME", true}, {"xxx", true}, {"xxxxxxxxxxxx", true},
		{"<your token>", true}, {"${TOKEN}", true}, {"$TOKEN", true}, {"{{ .Token }}", true},
		{"your-key-here", true}, {"your_api_key", true}, {"sk-xxxxxxxxxxxx", true}, {"********", true},
		{"insert-token-here", true}, {"example-token", true}, {"...", true}, {"%(token)s", true},
		{"hunter2", false}, {"s3cr3t-Pa55", false}, {"pa$$word1", false}, {"$", true},
	}
	for _, tc := range tests {
		t.Run(tc.v, func(t *testing.T) {
			if got := isPlaceholder(tc.v); got != tc.want {
				t.Errorf("isPlaceholder(%q): got %v, want %v", tc.v, got, tc.want)
			}
		})
	}
}

func TestTyped(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"aaaaaQ1", true}, {"x12345y", true}, {"xabcdey", true}, {"x98765y", true}, {"9875Qa", false},
		{"REALREALREALREAL0123", true}, {"Ab12Cd34Ef56Gh78Ij90", true},
		{"thisIsMyVeryLongVariableName1", true},
		{"api03-PARTIALVALUE", true},
		{"Q7fz2LkP9vXw3NbR8tYc", false}, {"Z7Q3P9LM2XK4W8RT", false},
	}
	for _, tc := range tests {
		t.Run(tc.v, func(t *testing.T) {
			if got := typed(tc.v); got != tc.want {
				t.Errorf("typed(%q): got %v, want %v", tc.v, got, tc.want)
			}
		})
	}
}

// TestRandomValuesAreFound bounds the misses on random values: they are
// what the entropy check is for.
func TestRandomValuesAreFound(t *testing.T) {
	for _, tc := range []struct {
		set     string
		n       int
		maxMiss int // per 1000
	}{{b64, 20, 150}, {b64, 32, 50}, {b64, 64, 10}, {hexDg, 40, 15}, {alnum, 40, 40}} {
		miss := 0
		for range 1000 {
			b := make([]byte, tc.n)
			if _, err := rand.Read(b); err != nil {
				t.Fatal(err)
			}
			for i := range b {
				b[i] = tc.set[int(b[i])%len(tc.set)]
			}
			if !randomSecret(string(b)) {
				miss++
			}
		}
		if miss > tc.maxMiss {
			t.Errorf("%d random characters of a %d-character set: got %d misses per 1000, want at most %d", tc.n, len(tc.set), miss, tc.maxMiss)
		}
	}
}

func TestHasKeyBody(t *testing.T) {
	line := strings.Repeat("A", 64)
	tests := []struct {
		name, after string
		want        bool
	}{
		{"newline then base64", "\n" + line + "\n", true},
		{"escaped newline", `\n` + line + `\n`, true},
		{"CRLF", "\r\n" + line + "\r\n", true},
		{"armor headers", "\nVersion: x\nComment: y\n\n" + line, true},
		{"quoted and concatenated", "\"\n\t\"" + line + "\" +", true},
		{"end line right away", "\n-----END RSA KEY-----", false},
		{"nothing", "", false},
		{"short line", "\nAAAA\n", false},
		{"code", "\"\n\tif x {", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hasKeyBody(tc.after); got != tc.want {
				t.Errorf("hasKeyBody(%q): got %v, want %v", tc.after, got, tc.want)
			}
		})
	}
}
