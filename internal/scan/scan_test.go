package scan

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// seeded is a fixture tree with every category, the findings it must
// produce, and the secret values it holds.
type seeded struct {
	root    string
	want    []string // "path category"
	secrets []string
	files   int // regular files and symlinks the walk must count
}

func newSeeded(t *testing.T) seeded {
	t.Helper()
	root := t.TempDir()
	var secretVals []string
	sec := func(set string, n int) string {
		s := randFrom(t, set, n)
		secretVals = append(secretVals, s)
		return s
	}
	keyPEM, _ := ecKey(t)
	_, der := ecKey(t)
	pkcs8 := pemBlock(privateKeyWord(), der)
	goKey := strings.ReplaceAll(strings.TrimSpace(keyPEM), "\n", `\n`)
	dotenvSecret := sec(alnum, 24)
	ghTok := "gh" + "p_" + sec(alnum, 36)
	antTok := "sk-" + "ant-api03-" + sec(alnum, 40)
	awsID := "AK" + "IA" + sec(upperDg, 16)
	slackTok := "xo" + "xb-" + sec(alnum, 30)
	jwt := "ey" + "J" + sec(alnum, 20) + ".ey" + "J" + sec(alnum, 30) + "." + sec(alnum, 30)
	bearer := sec(alnum, 32)
	files := map[string]string{
		// deny-read-name + dotenv
		".env": "# local settings\nPORT=3000\nDEBUG=true\nDB_PASSWORD=" + dotenvSecret + "\n",
		// deny-read-name only: every value is a placeholder
		".env.example": "API_KEY=your-key-here\nSECRET=changeme\nTOKEN=\nDATABASE_URL=${DATABASE_URL}\nSTRIPE_KEY=<stripe key>\nAWS_KEY=xxxxxxxxxxxxxxxx\n",
		// dotenv only: no deny glob matches app.env
		"config/app.env": "export SESSION_SECRET='" + sec(alnum, 32) + "'\nLOG_LEVEL=debug\n",
		// dotenv: credentials in a URL under a neutral name
		"deploy/.env.production": "DATABASE_URL=postgres://app:" + sec(alnum, 20) + "@db.internal:5432/app\n",
		// private keys
		"keys/deploy.pem":     keyPEM,
		"keys/server.key":     pkcs8,
		"src/embedded.go":     "package src\n\nconst key = \"" + goKey + "\"\n",
		"keys/putty.txt":      "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: k\nPublic-Lines: 2\nAAAA\nBBBB\nPrivate-Lines: 1\n" + sec(b64, 60) + "\n",
		"keys/deploy.ppk":     "not really putty\n",
		"keys/id_ed25519.pub": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI k@h\n",
		// config tokens
		".npmrc":                       "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=" + sec(alnum, 36) + "\n",
		"pkg/.npmrc":                   "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
		".pypirc":                      "[pypi]\nusername = __token__\npassword = pypi-" + sec(alnum, 40) + "\n",
		".netrc":                       "machine api.example.com login bob password " + sec(alnum, 20) + "\n",
		".git-credentials":             "https://bob:" + sec(alnum, 30) + "@github.com\n",
		".docker/config.json":          `{"auths": {"registry.example.com": {"auth": "` + sec(b64, 28) + `"}}}` + "\n",
		".aws/credentials":             "[default]\naws_access_key_id = AKIA" + "EXAMPLEEXAMPLE12\naws_secret_access_key = " + sec(b64, 40) + "\n",
		"infra/prod.tfvars":            "region = \"eu-west-1\"\ndb_password = \"" + sec(alnum, 20) + "\"\n",
		".terraformrc":                 "credentials \"app.terraform.io\" {\n  token = \"" + sec(alnum, 40) + "\"\n}\n",
		".kube/config":                 "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    client-key-data: " + sec(b64, 64) + "\n",
		"maven/settings.xml":           "<settings><servers><server><id>r</id><username>u</username><password>" + sec(alnum, 20) + "</password></server></servers></settings>\n",
		".pgpass":                      "# comment\ndb.example.com:5432:app:app:" + sec(alnum, 20) + "\n",
		".gem/credentials":             "---\n:rubygems_api_key: rubygems_" + sec(hexDg, 48) + "\n",
		".cargo/credentials.toml":      "[registry]\ntoken = \"" + sec(alnum, 32) + "\"\n",
		".composer/auth.json":          `{"github-oauth": {"github.com": "` + sec(alnum, 40) + `"}}` + "\n",
		".git/config":                  "[remote \"origin\"]\n\turl = https://x-access-token:" + sec(alnum, 36) + "@github.com/o/r.git\n",
		".git/objects/ab/cdef":         "token " + "gh" + "p_" + sec(alnum, 36) + "\n",
		"notes/tokens.md":              "GitHub: " + ghTok + "\nAnthropic: " + antTok + "\nAWS: " + awsID + "\nSlack: " + slackTok + "\nJWT: " + jwt + "\nAuthorization: Bearer " + bearer + "\n",
		"src/settings.py":              "DEBUG = False\napi_key = \"" + sec(b64, 32) + "\"\n",
		"node_modules/pkg/.env":        "TOKEN=" + sec(alnum, 30) + "\n",
		"node_modules/pkg/index.js":    "const t = '" + "gh" + "p_" + sec(alnum, 36) + "'\n",
		"vendor/github.com/x/y/key.go": "package y\nvar apiKey = \"" + sec(b64, 32) + "\"\n",
		"bin/data.bin":                 "\x00\x01" + "gh" + "p_" + sec(alnum, 36) + "\n",
		"big/dump.txt":                 strings.Repeat("filler line\n", 10000) + "gh" + "p_" + sec(alnum, 36) + "\n",
	}
	writeTree(t, root, files)
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"secret.txt": "gh" + "p_" + sec(alnum, 36) + "\n", "dir/.env": "X_TOKEN=" + sec(alnum, 30) + "\n"})
	for link, target := range map[string]string{
		"links/id_rsa":    filepath.Join(outside, "secret.txt"), // name matches: reported, target not read
		"links/plain.txt": filepath.Join(outside, "secret.txt"), // not followed
		"links/dir":       filepath.Join(outside, "dir"),        // not followed
		"links/dangling":  filepath.Join(outside, "missing"),
	} {
		if err := os.MkdirAll(filepath.Join(root, "links"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	makeFIFO(t, filepath.Join(root, "links", "fifo.env"))
	return seeded{
		root:    root,
		secrets: secretVals,
		files:   len(files) - 1 + 4, // not the .git object; the symlinks

		want: []string{
			".env deny-read-name", ".env dotenv",
			".env.example deny-read-name",
			"config/app.env dotenv",
			"deploy/.env.production deny-read-name", "deploy/.env.production dotenv",
			"keys/deploy.pem private-key",
			"keys/server.key deny-read-name", "keys/server.key private-key",
			"src/embedded.go private-key",
			"keys/putty.txt private-key",
			"keys/deploy.ppk deny-read-name",
			"keys/id_ed25519.pub deny-read-name",
			".npmrc config-token",
			".pypirc config-token",
			".netrc config-token",
			".git-credentials config-token",
			".docker/config.json config-token",
			".aws/credentials config-token",
			"infra/prod.tfvars config-token",
			".terraformrc config-token",
			".kube/config config-token",
			"maven/settings.xml config-token",
			".pgpass config-token",
			".gem/credentials config-token",
			".cargo/credentials.toml config-token",
			".composer/auth.json config-token",
			".git/config config-token",
			"notes/tokens.md token",
			"src/settings.py high-entropy",
			"node_modules/pkg/.env deny-read-name",
			"links/id_rsa deny-read-name",
		},
	}
}

func TestScanSeeded(t *testing.T) {
	s := newSeeded(t)
	rep, err := Scan(context.Background(), s.root, Options{DenyRead: defaultDeny, MaxFileSize: 64 << 10})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	extra, missing := diffSets(findingSet(rep.Findings), s.want)
	if len(extra) > 0 || len(missing) > 0 {
		t.Errorf("findings differ:\nunexpected: %q\nmissing: %q", extra, missing)
	}
	// Each token shape in notes/tokens.md is found and named.
	var kinds []string
	for _, f := range rep.Findings {
		if f.Path == "notes/tokens.md" {
			kinds = append(kinds, f.Detail)
		}
	}
	for i, want := range []string{"GitHub token (ghp_…)", "Anthropic API key (sk-a…)", "AWS access key id (AKIA…)",
		"Slack token (xoxb…)", "JSON Web Token (eyJ…)", "bearer credential"} {
		w := fmt.Sprintf("line %d: %s", i+1, want)
		if !slices.Contains(kinds, w) {
			t.Errorf("notes/tokens.md: got details %q, want one %q", kinds, w)
		}
	}
	for _, f := range rep.Findings {
		if f.Path == "links/id_rsa" && !strings.Contains(f.Detail, "symlink") {
			t.Errorf("links/id_rsa: got detail %q, want it to say symlink", f.Detail)
		}
		if f.Category != CategoryDenyReadName && f.Line < 1 {
			t.Errorf("%s %s: got line %d, want >= 1", f.Path, f.Category, f.Line)
		}
	}
	// .env: lines 2 and 3 are plain settings, line 4 the password.
	var envLines []int
	for _, f := range rep.Findings {
		if f.Path == ".env" && f.Category == CategoryDotenv {
			envLines = append(envLines, f.Line)
		}
	}
	if !slices.Equal(envLines, []int{4}) {
		t.Errorf(".env dotenv lines: got %v, want [4]", envLines)
	}
	// Regular files and symlinks, .git/config included, the FIFO excluded.
	if rep.Files != s.files {
		t.Errorf("Files: got %d, want %d", rep.Files, s.files)
	}
	if rep.Truncated {
		t.Error("Truncated: got true, want false")
	}
	if rep.Root != s.root {
		t.Errorf("Root: got %q, want %q", rep.Root, s.root)
	}
}

func TestScanCleanRepository(t *testing.T) {
	requireGit(t)
	root := t.TempDir()
	uuid := "3f2b1c9e-8d4a-4e6f-9b7c-2a1d0e5f6c8b"
	sha := "9fceb02d0ae598e95dc970b74767f19372d61af8"
	testData := base64.StdEncoding.EncodeToString([]byte(randFrom(t, alnum, 60)))
	var lock strings.Builder
	lock.WriteString("{\n  \"name\": \"app\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n")
	for i := range 20 {
		fmt.Fprintf(&lock, "    \"node_modules/dep%d\": {\n      \"version\": \"1.0.%d\",\n      \"resolved\": \"https://registry.npmjs.org/dep%d/-/dep%d-1.0.%d.tgz\",\n      \"integrity\": \"sha512-%s==\"\n    },\n",
			i, i, i, i, i, randFrom(t, b64, 86))
	}
	lock.WriteString("  }\n}\n")
	minified := "!function(){var e=\"" + strings.Repeat(randFrom(t, b64, 40), 30) + "\",apiKey=\"" + randFrom(t, b64, 32) + "\"}();\n"
	files := map[string]string{
		"go.mod":            "module example.com/app\n\ngo 1.26\n\nrequire golang.org/x/sys v0.49.0\n",
		"go.sum":            "golang.org/x/sys v0.49.0 h1:" + randFrom(t, b64, 43) + "=\ngolang.org/x/sys v0.49.0/go.mod h1:" + randFrom(t, b64, 43) + "=\n",
		"package.json":      "{\n  \"name\": \"app\",\n  \"version\": \"1.2.3\",\n  \"scripts\": {\"test\": \"node --test\", \"build\": \"tsc -p .\"},\n  \"dependencies\": {\"express\": \"^4.19.2\"}\n}\n",
		"package-lock.json": lock.String(),
		"yarn.lock":         "express@^4.19.2:\n  version \"4.19.2\"\n  integrity sha512-" + randFrom(t, b64, 86) + "==\n",
		"README.md": "# App\n\nSet your key first:\n\n```sh\nexport ANTHROPIC_API_KEY=your-key-here\nexport AWS_SECRET_ACCESS_KEY=<your-secret>\n" +
			"export GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n```\n\nThe API uses bearer authentication and a task-ant-farm scheduler.\n" +
			"Call it with `curl -H \"Authorization: Bearer $TOKEN\" https://api.example.com`.\n" +
			"Example key id: AKIA" + "IOSFODNN7EXAMPLE. Never commit `.env`.\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nconst commit = \"" + sha + "\"\n\nvar requestID = \"" + uuid + "\"\n\n" +
			"// apiKeyHeader is the header name, not a key.\nconst apiKeyHeader = \"X-Api-Key\"\n\n" +
			"const pemHeader = \"-----BEGIN RSA " + privateKeyWord() + "-----\"\n\n" +
			"func main() {\n\ttoken := lookup(\"GITHUB_TOKEN\")\n\tfmt.Println(\"Bearer \" + token, commit, requestID)\n\tsecretKey := \"\"\n\t_ = secretKey\n}\n",
		"main_test.go": "package main\n\nvar testData = \"" + testData + "\"\n\nvar tokenURL = \"https://auth.example.com/oauth/token/v2/exchange\"\n" +
			"var session = map[string]string{\"id\": \"" + uuid + "\", \"commit\": \"" + sha + "\", \"key\": \"settings.theme.darkMode2\"}\n",
		"certs/ca.pem":             selfSignedCert(t),
		"config/config.yaml":       "database:\n  host: db.internal\n  password: ${DB_PASSWORD}\n  token: \"{{ .Token }}\"\nauth:\n  issuer: https://auth.example.com/\n  enabled: true\n",
		".npmrc":                   "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
		"docs/auth.md":             "Put `password = changeme` into `.pypirc`, then run `twine upload`.\nThe JWT header starts with eyJ and tokens look like sk-...\n",
		"web/dist/app.min.js":      minified,
		"scripts/deploy.sh":        "#!/bin/sh\nset -eu\ncurl -fsS -H \"Authorization: Bearer ${DEPLOY_TOKEN}\" \"$URL\"\n",
		"Dockerfile":               "FROM golang:1.26\nARG NPM_TOKEN\nRUN --mount=type=secret,id=npm cat /run/secrets/npm\n",
		".github/workflows/ci.yml": "jobs:\n  test:\n    steps:\n      - uses: actions/checkout@" + sha + "\n        with:\n          token: ${{ secrets.GITHUB_TOKEN }}\n",
	}
	writeTree(t, root, files)
	git(t, root, "init", "-q")
	git(t, root, "add", "-A")
	git(t, root, "commit", "-q", "-m", "init")

	rep, err := Scan(context.Background(), root, Options{DenyRead: defaultDeny})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if len(rep.Findings) != 0 {
		t.Errorf("got %d findings in a clean repository, want 0: %+v", len(rep.Findings), rep.Findings)
	}
	if rep.Files != len(files)+1 { // + .git/config
		t.Errorf("Files: got %d, want %d", rep.Files, len(files)+1)
	}
}

func TestScanMasking(t *testing.T) {
	s := newSeeded(t)
	policy := func(abs string) (string, bool) {
		rel, err := filepath.Rel(s.root, abs)
		if err != nil {
			t.Errorf("Masked(%q): not below the root", abs)
			return "", false
		}
		rel = filepath.ToSlash(rel)
		for _, g := range defaultDeny {
			if ok, _ := path.Match(g, path.Base(rel)); ok {
				return g, true
			}
		}
		if strings.HasPrefix(rel, ".aws/") {
			return "~/.aws", true
		}
		return "", false
	}
	var calls []string
	masked := func(abs string) (string, bool) {
		calls = append(calls, abs)
		return policy(abs)
	}
	rep, err := Scan(context.Background(), s.root, Options{DenyRead: defaultDeny, Masked: masked})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	files := map[string]bool{}
	for _, f := range rep.Findings {
		files[f.Path] = true
		rule, wantMasked := policy(filepath.Join(s.root, f.Path))
		if f.Masked != wantMasked || f.Rule != rule {
			t.Errorf("%s %s: got masked %v rule %q, want %v %q", f.Path, f.Category, f.Masked, f.Rule, wantMasked, rule)
		}
	}
	if len(calls) != len(files) {
		t.Errorf("Masked calls: got %d, want one per file with findings (%d)", len(calls), len(files))
	}
	var wantUnmasked []Finding
	for _, f := range rep.Findings {
		if !f.Masked {
			wantUnmasked = append(wantUnmasked, f)
		}
	}
	got := rep.Unmasked()
	if !slices.Equal(got, wantUnmasked) || len(got) == 0 || len(got) == len(rep.Findings) {
		t.Errorf("Unmasked: got %d findings, want the %d of %d that are not masked", len(got), len(wantUnmasked), len(rep.Findings))
	}
	for _, tc := range []struct {
		path   string
		masked bool
	}{{".env", true}, {".aws/credentials", true}, {"keys/deploy.pem", false}, {".npmrc", false}, {"links/id_rsa", true}} {
		for _, f := range rep.Findings {
			if f.Path == tc.path && f.Masked != tc.masked {
				t.Errorf("%s: got masked %v, want %v", tc.path, f.Masked, tc.masked)
			}
		}
	}
}

func TestScanTracked(t *testing.T) {
	requireGit(t)
	root := t.TempDir()
	gh := "gh" + "p_" + randFrom(t, alnum, 36)
	writeTree(t, root, map[string]string{
		"tracked.py":       "api_key = \"" + randFrom(t, b64, 32) + "\"\n",
		"untracked.py":     "api_key = \"" + randFrom(t, b64, 32) + "\"\n",
		"untracked_gh.txt": gh + "\n",
		"sub/tracked.json": "{\"client_secret\": \"" + randFrom(t, hexDg, 40) + "\"}\n",
	})
	git(t, root, "init", "-q")
	git(t, root, "add", "tracked.py", "sub/tracked.json")

	tests := []struct {
		name    string
		root    string
		tracked func(string) (map[string]bool, error)
		want    []string
	}{
		{"git ls-files", root, nil, []string{"sub/tracked.json high-entropy", "tracked.py high-entropy", "untracked_gh.txt token"}},
		{"subdirectory of the work tree", filepath.Join(root, "sub"), nil, []string{"tracked.json high-entropy"}},
		{"Tracked option", root, func(string) (map[string]bool, error) {
			return map[string]bool{"untracked.py": true}, nil
		}, []string{"untracked.py high-entropy", "untracked_gh.txt token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Scan(context.Background(), tc.root, Options{Tracked: tc.tracked})
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if got := findingSet(rep.Findings); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("Tracked error", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := Scan(context.Background(), root, Options{Tracked: func(string) (map[string]bool, error) { return nil, boom }})
		if !errors.Is(err, boom) {
			t.Errorf("got error %v, want one wrapping %v", err, boom)
		}
	})
	t.Run("not a work tree", func(t *testing.T) {
		plain := t.TempDir()
		writeTree(t, plain, map[string]string{"a.py": "api_key = \"" + randFrom(t, b64, 32) + "\"\n"})
		rep, err := Scan(context.Background(), plain, Options{})
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		if got, want := findingSet(rep.Findings), []string{"a.py high-entropy"}; !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestOutputsHoldNoSecret(t *testing.T) {
	s := newSeeded(t)
	rep, err := Scan(context.Background(), s.root, Options{DenyRead: defaultDeny})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if len(rep.Findings) == 0 {
		t.Fatal("no findings: nothing to check")
	}
	outputs := map[string]func(*bytes.Buffer) error{
		"text":       func(b *bytes.Buffer) error { return WriteText(b, rep, false) },
		"text color": func(b *bytes.Buffer) error { return WriteText(b, rep, true) },
		"json":       func(b *bytes.Buffer) error { return WriteJSON(b, rep) },
		"struct":     func(b *bytes.Buffer) error { _, err := fmt.Fprintf(b, "%+v", rep); return err },
	}
	for name, write := range outputs {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := write(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, sec := range s.secrets {
				// No run of 6 characters of a secret's random part: a
				// report shows at most a token's 4-character type marker.
				// (A random 6-character run matches the rest of the
				// report by chance about once in 10^5 runs.)
				for i := 0; i+6 <= len(sec); i++ {
					if strings.Contains(out, sec[i:i+6]) {
						t.Errorf("output holds %q, a piece of a secret", sec[i:i+6])
						break
					}
				}
			}
		})
	}
}

func TestWriteText(t *testing.T) {
	rep := Report{
		Root:  "/w",
		Files: 7,
		Findings: []Finding{
			{Path: ".env", Category: CategoryDenyReadName, Detail: `name matches deny_read ".env"`, Masked: true, Rule: ".env"},
			{Path: ".env", Category: CategoryDotenv, Detail: "line 2: API_KEY has a value", Line: 2, Masked: true, Rule: ".env"},
			{Path: "config/prod.yaml", Category: CategoryHighEntropy, Detail: "line 3: random-looking value for password", Line: 3},
			{Path: "creds.txt", Category: CategoryToken, Detail: "line 1: GitHub token (ghp_…)", Line: 1},
			{Path: "we ird/a*.txt", Category: CategoryToken, Detail: "line 1: Slack token (xoxb…)", Line: 1},
			{Path: "evil\x1b[2J.txt", Category: CategoryToken, Detail: "line 1: JSON Web Token (eyJ…)", Line: 1},
		},
	}
	var b bytes.Buffer
	if err := WriteText(&b, rep, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`(?m)^scanned /w: 7 files, 5 with credentials \(1 masked, 4 readable by the agent\)$`,
		`(?m)^\.env +masked by deny_read \.env$`,
		`(?m)^ +dotenv +line 2: API_KEY has a value$`,
		`(?m)^config/prod\.yaml +READABLE$`,
		`(?m)^"evil\\x1b\[2J\.txt" +READABLE$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("text report does not match %s; got:\n%s", want, out)
		}
	}
	for _, want := range []string{
		`hint:   filesystem: { deny_read: ["config/prod.yaml", "./creds.txt"] }` + "\n",
		"hint: or pass to airlock run: --deny-read config/prod.yaml --deny-read ./creds.txt\n",
		`"evil\x1b[2J.txt" cannot be named in deny_read`,
		`we ird/a*.txt cannot be named in deny_read`,
		"note: the scan is heuristic",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q; got:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("text report without color holds an escape character:\n%q", out)
	}
	b.Reset()
	if err := WriteText(&b, rep, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ansiRed+"READABLE"+ansiReset) {
		t.Errorf("color report lacks a red READABLE:\n%q", b.String())
	}

	t.Run("nothing found", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteText(&b, Report{Root: "/w", Files: 3, Truncated: true}, false); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"scanned /w: 3 files, no credentials found\n", "warning: stopped after 3 files"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("got:\n%s\nwant it to contain %q", b.String(), want)
			}
		}
		if strings.Contains(b.String(), "hint:") {
			t.Errorf("got a hint with nothing to mask:\n%s", b.String())
		}
	})
}

func TestWriteJSON(t *testing.T) {
	rep := Report{Root: "/w", Files: 2, Findings: []Finding{
		{Path: ".env", Category: CategoryDenyReadName, Detail: "d", Masked: true, Rule: ".env"},
		{Path: "a.txt", Category: CategoryToken, Detail: "line 4: d", Line: 4},
	}}
	var b bytes.Buffer
	if err := WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Version   int              `json:"version"`
		Root      string           `json:"root"`
		Files     int              `json:"files"`
		Truncated bool             `json:"truncated"`
		Unmasked  int              `json:"unmasked"`
		Findings  []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("decode %s: %v", b.String(), err)
	}
	if got.Version != JSONVersion || got.Root != "/w" || got.Files != 2 || got.Unmasked != 1 || len(got.Findings) != 2 {
		t.Errorf("got %+v, want version %d, root /w, 2 files, 1 unmasked, 2 findings", got, JSONVersion)
	}
	want := map[string]any{"path": "a.txt", "category": "token", "detail": "line 4: d", "line": 4.0, "masked": false}
	if fmt.Sprint(got.Findings[1]) != fmt.Sprint(want) {
		t.Errorf("finding: got %v, want %v", got.Findings[1], want)
	}
	b.Reset()
	if err := WriteJSON(&b, Report{Root: "/w"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"findings": []`) {
		t.Errorf("empty report: got %s, want an empty findings array", b.String())
	}
}

func TestScanSymlinks(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{
		"creds":         "gh" + "p_" + randFrom(t, alnum, 36) + "\n",
		"sub/key.pem":   func() string { k, _ := ecKey(t); return k }(),
		"sub/.env":      "API_TOKEN=" + randFrom(t, alnum, 30) + "\n",
		"sub/.npmrc":    "_authToken=" + randFrom(t, alnum, 30) + "\n",
		"sub/deep/.env": "X=1\n",
	})
	tests := []struct {
		name, link, target string
		want               []string
	}{
		{"file with a denied name", ".env", filepath.Join(outside, "creds"), []string{".env deny-read-name"}},
		{"file with a plain name", "notes.txt", filepath.Join(outside, "creds"), nil},
		{"directory", "linked", filepath.Join(outside, "sub"), nil},
		{"relative escape", "up", "../../../../../../../../" + strings.TrimPrefix(outside, "/"), nil},
		{"loop", "loop", "loop", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(root, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tc.target, filepath.Join(dir, tc.link)); err != nil {
				t.Fatal(err)
			}
			rep, err := Scan(context.Background(), dir, Options{DenyRead: defaultDeny})
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if got := findingSet(rep.Findings); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if rep.Files != 1 {
				t.Errorf("Files: got %d, want 1 (the symlink itself)", rep.Files)
			}
		})
	}
	t.Run("root is a symlink", func(t *testing.T) {
		link := filepath.Join(root, "rootlink")
		if err := os.Symlink(filepath.Join(outside, "sub"), link); err != nil {
			t.Fatal(err)
		}
		rep, err := Scan(context.Background(), link, Options{DenyRead: defaultDeny})
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		want := []string{".env deny-read-name", ".env dotenv", ".npmrc config-token", "deep/.env deny-read-name", "key.pem private-key"}
		if got := findingSet(rep.Findings); !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestScanLimits(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{}
	for i := range 10 {
		files[fmt.Sprintf("d%d/f.txt", i)] = "x\n"
	}
	files["small.env"] = "API_TOKEN=" + randFrom(t, alnum, 30) + "\n"
	files["large.env"] = "API_TOKEN=" + randFrom(t, alnum, 30) + "\n" + strings.Repeat("#\n", 600)
	writeTree(t, root, files)
	tests := []struct {
		name          string
		opts          Options
		wantFiles     int
		wantTruncated bool
		want          []string
	}{
		{"defaults", Options{}, 12, false, []string{"large.env dotenv", "small.env dotenv"}},
		{"max file size", Options{MaxFileSize: 1000}, 12, false, []string{"small.env dotenv"}},
		// The files of a directory come before its subdirectories.
		{"max files", Options{MaxFiles: 3}, 3, true, []string{"large.env dotenv", "small.env dotenv"}},
		{"max files before the dotenv files", Options{MaxFiles: 1}, 1, true, []string{"large.env dotenv"}},
		{"max files equal to the count", Options{MaxFiles: 12}, 12, false, []string{"large.env dotenv", "small.env dotenv"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Scan(context.Background(), root, tc.opts)
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if rep.Files != tc.wantFiles || rep.Truncated != tc.wantTruncated {
				t.Errorf("got %d files truncated %v, want %d %v", rep.Files, rep.Truncated, tc.wantFiles, tc.wantTruncated)
			}
			if got := findingSet(rep.Findings); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestScanErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	writeTree(t, filepath.Dir(file), map[string]string{"f": "x"})
	tests := []struct {
		name, root string
		opts       Options
		want       string
	}{
		{"missing root", filepath.Join(t.TempDir(), "missing"), Options{}, "no such file or directory"},
		{"root is a file", file, Options{}, "not a directory"},
		{"bad glob", t.TempDir(), Options{DenyRead: []string{"[a"}}, `deny_read glob "[a": syntax error in pattern`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Scan(context.Background(), tc.root, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestScanCancel(t *testing.T) {
	s := newSeeded(t)
	t.Run("before the start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rep, err := Scan(ctx, s.root, Options{DenyRead: defaultDeny})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got error %v, want context.Canceled", err)
		}
		if rep.Files != 0 || len(rep.Findings) != 0 {
			t.Errorf("got %d files and %d findings, want none", rep.Files, len(rep.Findings))
		}
	})
	t.Run("during the walk", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		saw := 0
		// Tracked runs before the walk; cancelling there stops it.
		tracked := func(string) (map[string]bool, error) { saw++; cancel(); return nil, nil }
		rep, err := Scan(ctx, s.root, Options{DenyRead: defaultDeny, Tracked: tracked})
		if !errors.Is(err, context.Canceled) || saw != 1 {
			t.Errorf("got error %v after %d Tracked calls, want context.Canceled after 1", err, saw)
		}
		if rep.Files != 0 {
			t.Errorf("got %d files, want 0 after cancel", rep.Files)
		}
	})
	t.Run("not cancelled", func(t *testing.T) {
		rep, err := Scan(context.Background(), s.root, Options{DenyRead: defaultDeny})
		if err != nil || rep.Files == 0 {
			t.Errorf("got error %v and %d files, want a full scan", err, rep.Files)
		}
	})
}

// TestOwnSourceIsClean scans this package, tests and fixtures generators
// included, as if every file were tracked: the fixtures are generated at
// run time, so the sources must hold nothing that looks like a credential.
func TestOwnSourceIsClean(t *testing.T) {
	all := func(string) (map[string]bool, error) { return nil, nil }
	rep, err := Scan(context.Background(), ".", Options{DenyRead: defaultDeny, Tracked: all})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if rep.Files < 10 {
		t.Fatalf("got %d files, want the package's sources", rep.Files)
	}
	for _, f := range rep.Findings {
		t.Errorf("got finding %s %s: %s, want none", f.Path, f.Category, f.Detail)
	}
}
