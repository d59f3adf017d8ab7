package scan

import (
	"bytes"
	"encoding/base64"
	"math"
	"strings"
)

// lockFiles hold integrity hashes and resolved URLs, not credentials; the
// entropy check skips them (token shapes are still looked for).
var lockFiles = map[string]bool{
	"package-lock.json": true, "npm-shrinkwrap.json": true, "yarn.lock": true,
	"pnpm-lock.yaml": true, "bun.lock": true, "go.sum": true, "go.work.sum": true,
	"Cargo.lock": true, "poetry.lock": true, "Pipfile.lock": true, "uv.lock": true,
	"Gemfile.lock": true, "composer.lock": true, "flake.lock": true,
	"packages.lock.json": true, "mix.lock": true, "pubspec.lock": true, "Podfile.lock": true,
}

// Limits of the entropy check.
const (
	minSecretLen   = 20   // shorter values are not reported
	maxSecretLen   = 512  // longer values are data, not a credential
	maxEntropyLine = 1000 // longer lines (minified code, data) are skipped
)

var (
	assignRE = mustLazy(`([A-Za-z_][A-Za-z0-9_.-]*)\s*(?::=|=|:)\s*([A-Za-z0-9+/=_~.-]{20,})(?:$|[\s,;#)}\]])`)
	uuidRE   = mustLazy(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
)

// highEntropy reports values that look random and are assigned to, or
// quoted right after, a name that says credential: `api_key = "..."`,
// `"token": "..."`, `SECRET=...`, `headers["X-Api-Key"] = "..."`.
func highEntropy(text string) []hit {
	var hits []hit
	eachLine(text, func(n int, line string) {
		if len(line) > maxEntropyLine {
			return
		}
		if key, ok := entropyCandidate(line); ok {
			hits = append(hits, hit{n, CategoryHighEntropy, "random-looking value for " + keyLabel(key)})
		}
	})
	return hits
}

// entropyCandidate returns the name of the first credential-like name on
// line with a random-looking value.
func entropyCandidate(line string) (string, bool) {
	if !hasValueRun(line) {
		return "", false
	}
	for i := 0; i < len(line); i++ {
		q := line[i]
		if q != '"' && q != '\'' && q != '`' {
			continue
		}
		j := closingQuote(line, i)
		if j < 0 {
			break
		}
		if key := lastIdent(line[:i]); j-i-1 >= minSecretLen && secretName(key) && randomSecret(line[i+1:j]) {
			return key, true
		}
		i = j
	}
	if !strings.ContainsAny(line, "=:") {
		return "", false
	}
	for _, m := range assignRE.FindAllStringSubmatch(line, -1) {
		if secretName(m[1]) && randomSecret(m[2]) {
			return m[1], true
		}
	}
	return "", false
}

// hasValueRun reports a run of minSecretLen characters that a value may
// be made of; a line without one holds no candidate.
func hasValueRun(line string) bool {
	n := 0
	for i := 0; i < len(line); i++ {
		if isValueChar(line[i]) {
			if n++; n >= minSecretLen {
				return true
			}
		} else {
			n = 0
		}
	}
	return false
}

func isValueChar(c byte) bool {
	return isBase64Char(c) || c == '-' || c == '_' || c == '.' || c == '~'
}

// closingQuote returns the index of the quote closing the one at line[i],
// skipping backslash escapes, or -1.
func closingQuote(line string, i int) int {
	q := line[i]
	for j := i + 1; j < len(line); j++ {
		switch line[j] {
		case '\\':
			j++
		case q:
			return j
		}
	}
	return -1
}

// lastIdent returns the identifier that ends just before a quoted value,
// across at most a few separators (`": `, ` = `, `"] = `, `", `).
func lastIdent(before string) string {
	j := len(before)
	for n := 0; j > 0 && n < 6 && strings.IndexByte(" \t\"'`:=[](,>", before[j-1]) >= 0; n++ {
		j--
	}
	k := j
	for k > 0 && isIdentChar(before[k-1]) {
		k--
	}
	return before[k:j]
}

func isIdentChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// randomSecret reports whether v looks like a random credential rather
// than a word, an identifier, a constant, a hash, encoded text or a
// placeholder.
func randomSecret(v string) bool {
	if len(v) < minSecretLen || len(v) > maxSecretLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isValueChar(v[i]) {
			return false
		}
	}
	l := strings.ToLower(v)
	for _, p := range []string{"sha1-", "sha256-", "sha384-", "sha512-", "md5-"} {
		if strings.HasPrefix(l, p) {
			return false
		}
	}
	switch {
	case uuidRE.MatchString(v), isPlaceholder(v), typed(v):
		return false
	case !hasDigit(v) || !hasLetter(v), constantLike(v), encodesProse(v):
		return false
	}
	if isHex(v) {
		return entropy(v) > 3.0
	}
	return entropy(v) > entropyThreshold(len(v))
}

// entropyThreshold is the bits per character above which a non-hex value
// of length n counts as random: 4.0, lowered for short values, whose
// measured entropy cannot reach log2(n).
func entropyThreshold(n int) float64 {
	return math.Min(4.0, math.Log2(float64(n))-0.7)
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// hasRun reports n or more consecutive characters that repeat or count
// up or down ("aaaaa", "12345", "abcde", "98765"): typed, not random.
func hasRun(s string, n int) bool {
	same, up, down := 1, 1, 1
	for i := 1; i < len(s); i++ {
		same, up, down = 1+same*b2i(s[i] == s[i-1]), 1+up*b2i(s[i] == s[i-1]+1), 1+down*b2i(s[i]+1 == s[i-1])
		if same >= n || up >= n || down >= n {
			return true
		}
	}
	return false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// constantLike reports an upper-case name with underscores
// ("C.NL80211_ATTR_KEY_CIPHER"): a constant, not a credential.
func constantLike(v string) bool {
	return strings.Contains(v, "_") && !strings.ContainsAny(v, "abcdefghijklmnopqrstuvwxyz")
}

// encodesProse reports base64 that decodes to printable text with spaces:
// encoded prose ("the sample nonce"), not a key. Basic-auth credentials
// ("user:password") still count unless the password is itself a phrase
// of several words ("user:not my real password", as in documentation).
func encodesProse(v string) bool {
	var dec []byte
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if d, err := enc.DecodeString(v); err == nil {
			dec = d
			break
		}
	}
	if dec == nil {
		return false
	}
	for _, c := range dec {
		if (c < ' ' || c > '~') && c != '\n' && c != '\t' {
			return false
		}
	}
	if _, pass, ok := bytes.Cut(dec, []byte(":")); ok {
		return bytes.Count(pass, []byte(" ")) >= 2
	}
	return bytes.IndexByte(dec, ' ') >= 0
}

// typed reports a value that a person typed or a program counted out
// rather than a random generator: a run ("aaaaa", "12345"), a repeated
// chunk ("REALREALREAL"), letters in alphabet order ("Ab12Cd34Ef56") or
// mostly words ("ENV-GITHUB-CANARY", "thisIsMyLongName1").
func typed(s string) bool {
	return hasRun(s, 5) || hasRepeats(s) || inAlphabetOrder(s) || wordy(s)
}

// wordy reports a value mostly made of word-shaped runs: "Name",
// "release", and, in mixed-case text, an upper-case run of four or more
// not glued to a preceding letter ("-CANARY-", "REALvalue"). Random base64
// rarely has more than a third of its length in such runs; text without
// lower-case letters (AWS key ids) counts no upper-case runs.
func wordy(v string) bool {
	mixed := strings.ContainsAny(v, "abcdefghijklmnopqrstuvwxyz")
	isLetter := func(i int) bool { return i >= 0 && i < len(v) && (v[i]|0x20) >= 'a' && (v[i]|0x20) <= 'z' }
	covered := 0
	for i := 0; i < len(v); {
		k := i
		for k < len(v) && v[k] >= 'A' && v[k] <= 'Z' {
			k++
		}
		if k-i >= 4 && mixed && !isLetter(i-1) {
			covered += k - i
			i = k
			continue
		}
		j := i
		if v[j] >= 'A' && v[j] <= 'Z' {
			j++
		}
		k = j
		for k < len(v) && v[k] >= 'a' && v[k] <= 'z' {
			k++
		}
		if k-j >= 3 {
			covered += k - i
			i = k
			continue
		}
		i = max(k, i+1)
	}
	return covered*10 >= len(v)*6
}

// hasRepeats reports a 4-character chunk that occurs three times or more.
func hasRepeats(s string) bool {
	seen := map[string]int{}
	for i := 0; i+4 <= len(s); i++ {
		seen[s[i:i+4]]++
		if seen[s[i:i+4]] >= 3 {
			return true
		}
	}
	return false
}

// inAlphabetOrder reports text whose letters, ignoring case and other
// characters, mostly follow each other in the alphabet.
func inAlphabetOrder(s string) bool {
	var prev byte
	letters, steps := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			continue
		}
		if letters > 0 && c == prev+1 {
			steps++
		}
		prev = c
		letters++
	}
	return steps >= 5 && steps*2 >= letters-1
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}
