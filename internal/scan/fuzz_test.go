package scan

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzNames are file names that select each content check.
var fuzzNames = []string{"a.go", ".env", ".npmrc", ".netrc", ".pgpass", ".git/config", ".kube/config",
	"settings.xml", "x.tfvars", ".docker/config.json", "auth.json", ".vault-token", "package-lock.json"}

var shownPrefixRE = regexp.MustCompile(`\(([^()]*)…\)`)

// FuzzAnalyze checks that any content under any checked name yields
// well-formed findings: a valid category, a line inside the file, a detail
// that starts with its line and shows at most four characters of a value.
func FuzzAnalyze(f *testing.F) {
	f.Add(uint8(0), "api_key = \"Q7fz2LkP9vXw3NbR8tYcQ7fz\"\n", true)
	f.Add(uint8(1), "export DB_PASSWORD='x9Kp2LmQ7rT4vW8y'\n# c\n", false)
	f.Add(uint8(2), "//r/:_authToken=abcdef0123456789\n", false)
	f.Add(uint8(3), "machine m login u password p4ssw0rdXYZ\n", false)
	f.Add(uint8(4), `h:5432:db:u\:x:pw`, false)
	f.Add(uint8(5), "url = https://u:p4ss@h/x\n", false)
	f.Add(uint8(0), "-----BEGIN RSA PRIVATE KEY-----\\n"+strings.Repeat("QUFB", 16)+"\\n\"", false)
	f.Add(uint8(0), "Authorization: Bearer 0123456789abcdefXYZ\nsk-ant-api03-Zz9", false)
	f.Add(uint8(1), strings.Repeat("SECRET_", 60)+"TOKEN=Q7fz2LkP9vXw3NbR8tYcQ7fz\n", false)
	f.Add(uint8(0), "PuTTY-User-Key-File-3: x\nPrivate-Lines: 1\n", true)
	f.Fuzz(func(t *testing.T, name uint8, content string, tracked bool) {
		path := fuzzNames[int(name)%len(fuzzNames)]
		lines := strings.Count(content, "\n") + 1
		for _, fd := range analyze(path, []byte(content), tracked) {
			if _, ok := categoryRank[fd.Category]; !ok {
				t.Errorf("unknown category %q", fd.Category)
			}
			if fd.Line < 1 || fd.Line > lines {
				t.Errorf("line %d outside 1..%d", fd.Line, lines)
			}
			if !strings.HasPrefix(fd.Detail, "line ") || len(fd.Detail) > 200 {
				t.Errorf("malformed detail %q", fd.Detail)
			}
			for _, m := range shownPrefixRE.FindAllStringSubmatch(fd.Detail, -1) {
				if utf8.RuneCountInString(m[1]) > 4 {
					t.Errorf("detail %q shows %q, more than four characters", fd.Detail, m[1])
				}
			}
		}
	})
}
