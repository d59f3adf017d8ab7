package scan

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/airlock-sandbox/airlock/internal/secrets"
)

// hit is a content finding before it becomes a Finding.
type hit struct {
	line     int
	category string
	detail   string // without the "line N: " prefix
}

// categoryRank orders the content categories from the most to the least
// specific; a line is reported once, under its most specific category.
var categoryRank = map[string]int{
	CategoryPrivateKey:  0,
	CategoryToken:       1,
	CategoryConfigToken: 2,
	CategoryDotenv:      3,
	CategoryHighEntropy: 4,
}

// analyze returns the content findings of the file at rel. The entropy
// check only runs when tracked is true.
func analyze(rel string, data []byte, tracked bool) []Finding {
	text := string(data)
	base := path.Base(rel)
	idx := newLineIndex(text)
	var hits []hit
	hits = append(hits, privateKeys(text, idx)...)
	hits = append(hits, tokens(text, idx)...)
	for _, r := range configRules {
		if r.match(rel, base) {
			hits = append(hits, r.scan(text)...)
		}
	}
	if isDotenvName(base) {
		hits = append(hits, dotenv(text)...)
	}
	if tracked && !lockFiles[base] {
		hits = append(hits, highEntropy(text)...)
	}
	return toFindings(rel, hits)
}

// toFindings keeps, for each line, the hit of the most specific category,
// and at most maxFindingsPerFile hits.
func toFindings(rel string, hits []hit) []Finding {
	best := map[int]hit{}
	for _, h := range hits {
		if b, ok := best[h.line]; !ok || categoryRank[h.category] < categoryRank[b.category] {
			best[h.line] = h
		}
	}
	lines := make([]int, 0, len(best))
	for l := range best {
		lines = append(lines, l)
	}
	sort.Ints(lines)
	if len(lines) > maxFindingsPerFile {
		lines = lines[:maxFindingsPerFile]
	}
	out := make([]Finding, 0, len(lines))
	for _, l := range lines {
		h := best[l]
		out = append(out, Finding{
			Path:     rel,
			Category: h.category,
			Detail:   fmt.Sprintf("line %d: %s", l, h.detail),
			Line:     l,
		})
	}
	return out
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int // offsets of the '\n' bytes

func newLineIndex(s string) lineIndex {
	var idx lineIndex
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			idx = append(idx, i)
		}
	}
	return idx
}

func (idx lineIndex) line(off int) int {
	return sort.SearchInts(idx, off) + 1
}

// bounds returns the byte range of line n (1-based) without its '\n'.
func (idx lineIndex) bounds(n, size int) (start, end int) {
	if n > 1 {
		start = idx[n-2] + 1
	}
	end = size
	if n-1 < len(idx) {
		end = idx[n-1]
	}
	return start, end
}

// eachLine calls fn with every line of s and its 1-based number.
func eachLine(s string, fn func(n int, line string)) {
	n := 0
	for len(s) > 0 {
		n++
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			fn(n, strings.TrimSuffix(s, "\r"))
			return
		}
		fn(n, strings.TrimSuffix(s[:i], "\r"))
		s = s[i+1:]
	}
}

// keyLabel shortens a key name taken from the file to 40 bytes for a
// detail.
func keyLabel(k string) string {
	if len(k) > 40 {
		return k[:40] + "..."
	}
	return k
}

// Private keys.

var (
	pemKeyRE   = mustLazy(`-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----`)
	armorRE    = mustLazy(`^[A-Za-z][A-Za-z0-9-]*: `)
	puttyRE    = mustLazy(`(?m)^PuTTY-User-Key-File-[0-9]+: `)
	keyEscapes = strings.NewReplacer(`\r\n`, "\n", `\n`, "\n", `\r`, "")
)

// privateKeys reports PEM, OpenSSH and PGP private key blocks that have a
// body (a header alone, as in documentation or in a parser, is not a key),
// also inside a string literal with "\n" escapes, and PuTTY key files.
func privateKeys(text string, idx lineIndex) []hit {
	var hits []hit
	if !strings.Contains(text, "PRIVATE KEY") && !strings.Contains(text, "PuTTY-User-Key-File-") {
		return nil
	}
	for _, m := range pemKeyRE.FindAllStringSubmatchIndex(text, -1) {
		if !hasKeyBody(text[m[1]:min(len(text), m[1]+4096)]) {
			continue
		}
		kind := text[m[2]:m[3]]
		hits = append(hits, hit{idx.line(m[0]), CategoryPrivateKey, keyName(kind)})
	}
	if m := puttyRE.FindStringIndex(text); m != nil && strings.Contains(text, "Private-Lines:") {
		hits = append(hits, hit{idx.line(m[0]), CategoryPrivateKey, "PuTTY private key"})
	}
	return hits
}

func keyName(kind string) string {
	switch kind {
	case "PRIVATE KEY":
		return "PKCS#8 private key"
	case "ENCRYPTED PRIVATE KEY":
		return "encrypted PKCS#8 private key"
	case "OPENSSH PRIVATE KEY":
		return "OpenSSH private key"
	case "PGP PRIVATE KEY BLOCK":
		return "PGP private key"
	}
	return strings.TrimSuffix(kind, "PRIVATE KEY") + "private key"
}

// hasKeyBody reports whether the text after a BEGIN line starts, after
// optional armor headers ("Proc-Type: ..."), with a line of at least 40
// base64 characters.
func hasKeyBody(after string) bool {
	after = keyEscapes.Replace(after)
	for i, l := range strings.Split(after, "\n") {
		if i > 20 {
			return false
		}
		// Trim the quotes, commas and "+" of a string literal split over
		// lines; a base64 line that ends in "+" only loses that character.
		t := strings.TrimSuffix(strings.TrimRight(l, " \t\r"), "+")
		t = strings.Trim(t, " \t\r\"'`,;()")
		switch {
		case t == "":
			continue
		case strings.HasPrefix(t, "Proc-Type:") || armorRE.MatchString(t):
			continue
		}
		if len(t) < 40 {
			return false
		}
		for j := 0; j < len(t); j++ {
			if !isBase64Char(t[j]) {
				return false
			}
		}
		return true
	}
	return false
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}

// Token shapes.

// tokenTriggers are literals that every shape secrets.FindTokens knows
// contains (its shapes are listed in classifyToken; "bearer" is matched
// in the spellings Bearer, bearer and BEARER). Running its regular
// expressions only on the lines that hold one keeps the scan fast; a shape
// added there without a trigger here is not looked for.
var tokenTriggers = []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "sk-", "AKIA", "ASIA", "xox", "eyJ", "earer", "EARER"}

// tokens reports the token shapes secrets.FindTokens knows, except private
// key blocks (privateKeys checks those more strictly) and placeholders.
func tokens(text string, idx lineIndex) []hit {
	var hits []hit
	for _, l := range triggerLines(text, idx) {
		start, end := idx.bounds(l, len(text))
		line := text[start:end]
		for _, t := range secrets.FindTokens(line) {
			what, marker, body := classifyToken(line[:t.Start], line[t.Start:t.End])
			if what == "" || looksPlaceholderToken(body) {
				continue
			}
			if marker != "" {
				what += " (" + marker + "…)"
			}
			hits = append(hits, hit{l, CategoryToken, what})
		}
	}
	return hits
}

// triggerLines returns, in order, the lines that hold a token trigger.
func triggerLines(text string, idx lineIndex) []int {
	seen := map[int]bool{}
	for _, trig := range tokenTriggers {
		for off := 0; ; {
			i := strings.Index(text[off:], trig)
			if i < 0 {
				break
			}
			seen[idx.line(off+i)] = true
			off += i + len(trig)
		}
	}
	lines := make([]int, 0, len(seen))
	for l := range seen {
		lines = append(lines, l)
	}
	sort.Ints(lines)
	return lines
}

// classifyToken names the kind of token tok is, given the text before it
// on its line, and returns its fixed type marker (at most four characters,
// safe to show) and the part after the marker that should be random.
func classifyToken(before, tok string) (what, marker, body string) {
	if strings.HasSuffix(strings.ToLower(strings.TrimRight(before, " \t")), "bearer") {
		// The bearer shape spans only the credential after "Bearer ", all
		// of it secret and none of it shown. It must look random: prose
		// ("bearer authentication") does not.
		if !randomSecret(tok) {
			return "", "", ""
		}
		return "bearer credential", "", tok
	}
	type kind struct{ prefix, what string }
	for _, k := range []kind{
		{"github_pat_", "GitHub fine-grained token"},
		{"sk-ant-", "Anthropic API key"},
		{"sk-proj-", "OpenAI project API key"},
		{"sk-", "OpenAI-style API key"},
		{"AKIA", "AWS access key id"},
		{"ASIA", "AWS temporary access key id"},
		{"eyJ", "JSON Web Token"},
	} {
		if strings.HasPrefix(tok, k.prefix) {
			return k.what, k.prefix[:min(4, len(k.prefix))], tok[len(k.prefix):]
		}
	}
	switch {
	case strings.HasPrefix(tok, "gh") && len(tok) > 4 && tok[3] == '_':
		return "GitHub token", tok[:4], tok[4:]
	case strings.HasPrefix(tok, "xox") && len(tok) > 5:
		return "Slack token", tok[:4], tok[5:]
	}
	// Private key blocks, which privateKeys reports, and shapes this
	// package does not know.
	return "", "", ""
}

// looksPlaceholderToken reports a token body that is not random: an
// example value, a typed pattern, or a low-entropy filler.
func looksPlaceholderToken(body string) bool {
	l := strings.ToLower(body)
	for _, w := range []string{"example", "xxxx", "placeholder", "redacted", "dummy", "fake", "canary", "sample"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return entropy(body) < 3.0 || typed(body)
}

// dotenv files.

func isDotenvName(base string) bool {
	return base == ".env" || strings.HasPrefix(base, ".env.") || strings.HasSuffix(base, ".env")
}

var dotenvRE = mustLazy(`^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$`)

// dotenv reports the KEY=VALUE lines whose value looks like a credential:
// a credential-like name with a real value, credentials in a URL, or a
// long random value. Placeholders ("changeme", "${VAR}", "<token>",
// "your-key-here") and plain settings (PORT=3000) are not reported.
func dotenv(text string) []hit {
	var hits []hit
	eachLine(text, func(n int, line string) {
		m := dotenvRE.FindStringSubmatch(line)
		if m == nil {
			return
		}
		key, val := m[1], dotenvValue(m[2])
		if isPlaceholder(val) || isTrivialValue(val) {
			return
		}
		switch {
		case urlHasCredentials(val):
			hits = append(hits, hit{n, CategoryDotenv, keyLabel(key) + " has credentials in a URL"})
		case secretName(key) || randomSecret(val):
			hits = append(hits, hit{n, CategoryDotenv, keyLabel(key) + " has a value"})
		}
	})
	return hits
}

// dotenvValue unquotes a value and drops a trailing comment.
func dotenvValue(v string) string {
	v = strings.TrimSpace(v)
	if v != "" && (v[0] == '"' || v[0] == '\'' || v[0] == '`') {
		if i := strings.IndexByte(v[1:], v[0]); i >= 0 {
			return v[1 : 1+i]
		}
		return v[1:]
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// isTrivialValue reports booleans, short numbers and paths, which are
// settings rather than credentials.
func isTrivialValue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "false", "yes", "no", "on", "off", "enabled", "disabled":
		return true
	}
	if len(v) < 8 && strings.Trim(v, "0123456789") == "" {
		return true
	}
	// A path (GOOGLE_APPLICATION_CREDENTIALS=/path/to/key.json) names a
	// credential file, which is checked on its own; base64 that happens to
	// start with "/" is still a value.
	for _, p := range []string{"/", "./", "../", "~/"} {
		if strings.HasPrefix(v, p) {
			return !randomSecret(v)
		}
	}
	return false
}

// Placeholders and names.

var placeholderWords = map[string]bool{
	"changeme": true, "change_me": true, "change-me": true, "changeit": true,
	"replaceme": true, "replace_me": true, "replace-me": true,
	"secret": true, "password": true, "passwd": true, "token": true, "key": true,
	"none": true, "null": true, "nil": true, "undefined": true,
	"example": true, "test": true, "dummy": true, "placeholder": true,
	"todo": true, "tbd": true, "redacted": true, "fake": true,
	"pass": true, "pwd": true, "user": true, "username": true,
}

var placeholderParts = []string{"example", "placeholder", "changeme", "change_me", "change-me",
	"replace_me", "replace-me", "dummy", "xxxx", "****", "...", "redacted", "insert", "-here", "_here",
	"canary", "fake", "sample"}

// isPlaceholder reports values that stand for a credential without being
// one: empty, a variable reference, a template, an angle-bracket hint, a
// run of one character, or a filler word.
func isPlaceholder(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return true
	}
	l := strings.ToLower(v)
	if placeholderWords[l] {
		return true
	}
	for _, p := range []string{"${", "$(", "{{", "%(", "<", "your", "my-", "my_"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	if envRefRE.MatchString(v) {
		return true
	}
	for _, p := range placeholderParts {
		if strings.Contains(l, p) {
			return true
		}
	}
	return strings.Trim(v, v[:1]) == ""
}

var envRefRE = mustLazy(`^\$[A-Za-z_][A-Za-z0-9_]*$`)

// splitIdent splits an identifier into lower-case parts at '_', '-', '.',
// and camel-case boundaries ("apiKey", "APIKey" -> "api", "key").
func splitIdent(s string) []string {
	var parts []string
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			parts = append(parts, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		isUpper := c >= 'A' && c <= 'Z'
		isLower := c >= 'a' && c <= 'z'
		isDigit := c >= '0' && c <= '9'
		if !isUpper && !isLower && !isDigit {
			flush()
			continue
		}
		if isUpper && len(cur) > 0 {
			prev := cur[len(cur)-1]
			nextLower := i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z'
			if prev >= 'a' && prev <= 'z' || prev >= '0' && prev <= '9' || (prev >= 'A' && prev <= 'Z' && nextLower) {
				flush()
			}
		}
		cur = append(cur, c)
	}
	flush()
	return parts
}

// Identifier parts that name a credential: weak ones must be a whole part
// ("key", not "monkey"); strong ones may be inside a part ("apitoken").
var (
	weakSecretParts   = map[string]bool{"key": true, "keys": true, "pass": true, "pwd": true, "pw": true, "auth": true, "api": true, "creds": true, "cred": true}
	strongSecretParts = []string{"secret", "token", "passw", "credential", "apikey", "privatekey", "accesskey", "authkey", "secretkey"}
	// A name ending in one of these describes a credential without
	// holding one ("token_url", "api_key_id", "secret_name").
	nonSecretLast = map[string]bool{
		"id": true, "ids": true, "hash": true, "sha": true, "digest": true, "checksum": true,
		"integrity": true, "commit": true, "version": true, "name": true, "names": true,
		"type": true, "types": true, "path": true, "paths": true, "file": true, "files": true,
		"dir": true, "url": true, "urls": true, "uri": true, "host": true, "hostname": true,
		"port": true, "endpoint": true, "region": true, "prefix": true, "suffix": true,
		"format": true, "length": true, "len": true, "size": true, "count": true,
		"header": true, "headers": true, "field": true, "env": true, "var": true,
		"enabled": true, "enable": true, "disabled": true, "mode": true, "ttl": true,
		"timeout": true, "expiry": true, "expires": true, "expiration": true, "at": true,
		"algorithm": true, "alg": true, "kind": true, "scope": true, "scopes": true,
		"user": true, "username": true, "email": true, "label": true, "description": true,
		"provider": true, "method": true, "base": true, "index": true, "ref": true,
		"pattern": true, "regex": true, "location": true, "policy": true, "rotation": true,
	}
	publicParts = map[string]bool{"public": true, "pub": true, "pubkey": true, "publickey": true, "publishable": true}
)

// secretName reports whether an identifier names a credential.
func secretName(name string) bool {
	parts := splitIdent(name)
	if len(parts) == 0 || nonSecretLast[parts[len(parts)-1]] {
		return false
	}
	found := false
	for _, p := range parts {
		if publicParts[p] {
			return false
		}
		if weakSecretParts[p] {
			found = true
			continue
		}
		for _, s := range strongSecretParts {
			if strings.Contains(p, s) {
				found = true
			}
		}
	}
	return found
}

// URLs with credentials.

var urlCredRE = mustLazy(`[A-Za-z][A-Za-z0-9+.-]*://([^/\s:@"'<>]+)(?::([^/\s@"'<>]*))?@`)

// urlHasCredentials reports a URL with a real password, or with a long
// random user name (a token used as the user, as in https://TOKEN@host).
func urlHasCredentials(s string) bool {
	for _, m := range urlCredRE.FindAllStringSubmatch(s, -1) {
		user, pass := m[1], m[2]
		if pass != "" && !isPlaceholder(pass) {
			return true
		}
		if pass == "" && randomSecret(user) {
			return true
		}
	}
	return false
}
