package session

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"math/rand"
	"strings"
	"testing"
)

func TestProtectedBy(t *testing.T) {
	rules := []string{".bashrc", ".git/hooks", ".git/config", ".claude", ".vscode/"}
	for _, tc := range []struct {
		path, want string
	}{
		{".bashrc", ".bashrc"},
		{"home/u/.bashrc", ".bashrc"},
		{".bashrc.bak", ""},
		{"x.bashrc", ""},
		{".git/hooks", ".git/hooks"},
		{".git/hooks/pre-commit", ".git/hooks"},
		{"vendor/lib/.git/hooks/post-checkout", ".git/hooks"},
		{".git/HOOKS/pre-commit", ".git/hooks"},
		{".git/objects/ab/cd", ""},
		{"hooks/.git", ""},
		{".git/config", ".git/config"},
		{".git/config.lock", ""},
		{".claude/settings.json", ".claude"},
		{"a/.claude", ".claude"},
		{".vscode/tasks.json", ".vscode/"},
		{"src/main.go", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			if got := protectedBy(tc.path, rules); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMatchesPaths(t *testing.T) {
	for _, tc := range []struct {
		path   string
		filter []string
		want   bool
	}{
		{"a/b", nil, true},
		{"a/b", []string{"a"}, true},
		{"a/b", []string{"a/"}, true},
		{"a/b", []string{"./a/b"}, true},
		{"a/b", []string{"/a"}, true},
		{"ab", []string{"a"}, false},
		{"a", []string{"a/b"}, false},
		{"x", []string{"a", "x"}, true},
		{"x", []string{"."}, true},
	} {
		if got := matchesPaths(tc.path, tc.filter); got != tc.want {
			t.Errorf("matchesPaths(%q, %q): got %v, want %v", tc.path, tc.filter, got, tc.want)
		}
	}
}

// lcsLen is the reference: the length of a longest common subsequence.
func lcsLen(a, b []int) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] > cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checkScript checks that del/ins describe a valid edit script from a to b
// and returns its cost.
func checkScript(t *testing.T, a, b []int, del, ins []bool) int {
	t.Helper()
	var keptA, keptB []int
	cost := 0
	for i, d := range del {
		if d {
			cost++
		} else {
			keptA = append(keptA, a[i])
		}
	}
	for j, d := range ins {
		if d {
			cost++
		} else {
			keptB = append(keptB, b[j])
		}
	}
	if len(keptA) != len(keptB) {
		t.Fatalf("a=%v b=%v: kept %d vs %d lines", a, b, len(keptA), len(keptB))
	}
	for i := range keptA {
		if keptA[i] != keptB[i] {
			t.Fatalf("a=%v b=%v: kept lines differ at %d", a, b, i)
		}
	}
	return cost
}

func TestMyersMinimal(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for n := 0; n < 3000; n++ {
		a := make([]int, r.Intn(40))
		b := make([]int, r.Intn(40))
		alpha := 1 + r.Intn(6)
		for i := range a {
			a[i] = r.Intn(alpha)
		}
		for i := range b {
			b[i] = r.Intn(alpha)
		}
		del, ins := diffIDs(a, b)
		cost := checkScript(t, a, b, del, ins)
		if want := len(a) + len(b) - 2*lcsLen(a, b); cost != want {
			t.Fatalf("a=%v b=%v: cost %d, want minimal %d", a, b, cost, want)
		}
	}
}

func TestMyersCostLimit(t *testing.T) {
	// Two long unrelated sequences exceed the cost limit; the script must
	// still be valid.
	r := rand.New(rand.NewSource(2))
	a := make([]int, 20000)
	b := make([]int, 20000)
	for i := range a {
		a[i] = r.Intn(1000)
		b[i] = r.Intn(1000)
	}
	del, ins := diffIDs(a, b)
	checkScript(t, a, b, del, ins)
}

func TestHunks(t *testing.T) {
	old := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n"
	for _, tc := range []struct {
		name, new, want string
	}{
		{"two hunks", strings.Replace(strings.Replace(old, "2\n", "two\n", 1), "18\n", "", 1),
			"@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n@@ -15,6 +15,5 @@\n 15\n 16\n 17\n-18\n 19\n 20\n"},
		{"merged when close", strings.Replace(strings.Replace(old, "2\n", "two\n", 1), "9\n", "nine\n", 1),
			"@@ -1,12 +1,12 @@\n 1\n-2\n+two\n 3\n 4\n 5\n 6\n 7\n 8\n-9\n+nine\n 10\n 11\n 12\n"},
		{"append without newline", old + "21", "@@ -18,3 +18,4 @@\n 18\n 19\n 20\n+21\n\\ No newline at end of file\n"},
		{"all replaced", "x\n", "@@ -1,20 +1 @@\n" + strings.ReplaceAll("-"+strings.TrimSuffix(old, "\n"), "\n", "\n-") + "\n+x\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			d := &diffWriter{w: bufioWriter(&buf)}
			d.writeHunks(splitLines([]byte(old)), splitLines([]byte(tc.new)))
			d.w.Flush()
			if buf.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", buf.String(), tc.want)
			}
		})
	}
}

func TestQuoting(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain/path.go", "plain/path.go"},
		{"ünïcode", "ünïcode"},
		{"tab\there", `"tab\there"`},
		{"new\nline", `"new\nline"`},
		{`quo"te`, `"quo\"te"`},
		{"esc\x1b[31m", `"esc\033[31m"`},
		{"bidi\u202e", `"bidi\342\200\256"`},
		{"bad\xff", `"bad\377"`},
	} {
		if got := quotePath(tc.in); got != tc.want {
			t.Errorf("quotePath(%q): got %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"tab\tok", "tab\tok"},
		{"crlf\r", "crlf\r"},
		{"mid\rdle", "mid^Mdle"},
		{"\x1b[2Jclear", "^[[2Jclear"},
		{"del\x7f", "del^?"},
		{"c1\u009b", `c1\u009b`},
		{"bidi\u202eevil", `bidi\u202eevil`},
		{"bad\xff", `bad\xff`},
		{"ok ünïcode", "ok ünïcode"},
	} {
		if got := string(escapeContent([]byte(tc.in))); got != tc.want {
			t.Errorf("escapeContent(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func sampleManifest() *manifest {
	m := &manifest{entries: []entry{
		{Path: "a", Type: typeDir, Mode: 0o755, Size: 4096, Mtime: 1, Ctime: 2, Dev: 3, Ino: 4},
		{Path: "a/b.txt", Type: typeFile, Mode: 0o644, Size: 10, Mtime: -5, Ctime: 1 << 60, Dev: 3, Ino: 5, HasHash: true, Hash: sha256.Sum256([]byte("x"))},
		{Path: "a/link", Type: typeSymlink, Mode: 0o777, Target: "../elsewhere"},
		{Path: "mnt", Type: typeDir, Mode: 0o755, Mount: true},
		{Path: "z\nweird name", Type: typeFIFO, Mode: 0o600},
	}}
	return m
}

func TestManifestRoundTrip(t *testing.T) {
	m := sampleManifest()
	var buf bytes.Buffer
	if err := encodeManifest(&buf, m); err != nil {
		t.Fatal(err)
	}
	got, err := decodeManifest(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.entries) != len(m.entries) {
		t.Fatalf("got %d entries, want %d", len(got.entries), len(m.entries))
	}
	for i := range m.entries {
		if got.entries[i] != m.entries[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, got.entries[i], m.entries[i])
		}
	}
	if d := got.descendants("a"); len(d) != 2 || d[0].Path != "a/b.txt" {
		t.Errorf("descendants(a): got %v", d)
	}
	// Every single-byte corruption is detected.
	data := buf.Bytes()
	for i := range data {
		bad := append([]byte(nil), data...)
		bad[i] ^= 0x40
		if _, err := decodeManifest(bad); err == nil {
			t.Fatalf("corruption at byte %d not detected", i)
		}
	}
	if _, err := decodeManifest(data[:len(data)-1]); err == nil {
		t.Error("truncation not detected")
	}
}

func FuzzManifestDecode(f *testing.F) {
	var buf bytes.Buffer
	encodeManifest(&buf, sampleManifest())
	f.Add(buf.Bytes())
	f.Add([]byte(manifestMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeManifest(data)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := encodeManifest(&out, m); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatal("decode/encode is not the identity")
		}
	})
}

const sampleJournal = `{"rec":"begin","version":1,"apply":"ab12","workspace":"/w"}
{"rec":"op","op":{"op":"stage-file","path":"a/f","dir":"a","temp":".airlock-ab12-1","src":"a/f","mode":420}}
{"rec":"op","i":1,"op":{"op":"install","path":"a/f","dir":"a","name":"f","temp":".airlock-ab12-1","expect":{"absent":true}}}
`

func journalWithPlan(t testing.TB) string {
	sum := sha256.Sum256([]byte(sampleJournal))
	return sampleJournal + `{"rec":"planned","count":2,"sum":"` + hexString(sum[:]) + `"}` + "\n"
}

func TestParseJournal(t *testing.T) {
	planned := journalWithPlan(t)
	staged := `{"rec":"staged","i":0,"hash":"` + strings.Repeat("ab", 32) + `"}` + "\n"
	for _, tc := range []struct {
		name                 string
		data                 string
		wantErr              bool
		planned, committed   bool
		wantOps, wantSkipped int
	}{
		{"header only", `{"rec":"begin","version":1,"apply":"ab12","workspace":"/w"}` + "\n", false, false, false, 0, 0},
		{"torn plan", sampleJournal[:len(sampleJournal)-20], false, false, false, 1, 0},
		{"planned", planned, false, true, false, 2, 0},
		{"torn commit", planned + staged + `{"rec":"comm`, false, true, false, 2, 0},
		{"committed", planned + staged + `{"rec":"commit"}` + "\n", false, true, true, 2, 0},
		{"skip", planned + staged + `{"rec":"commit"}` + "\n" + `{"rec":"skip","i":1,"why":"x"}` + "\n", false, true, true, 2, 1},
		{"bad checksum", strings.Replace(planned, `"mode":420`, `"mode":511`, 1), true, false, false, 0, 0},
		{"escaping dir", strings.Replace(sampleJournal, `"dir":"a"`, `"dir":"../a"`, 1), true, false, false, 0, 0},
		{"slash in name", strings.Replace(sampleJournal, `"name":"f"`, `"name":"x/f"`, 1), true, false, false, 0, 0},
		{"commit before plan", sampleJournal + `{"rec":"commit"}` + "\n", true, false, false, 0, 0},
		{"unknown field", `{"rec":"begin","version":1,"apply":"a","workspace":"/w","x":1}` + "\n", true, false, false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, err := parseJournal("j", []byte(tc.data))
			if (err != nil) != tc.wantErr {
				t.Fatalf("error: got %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if j.planned != tc.planned || j.committed != tc.committed || len(j.ops) != tc.wantOps || len(j.skipped) != tc.wantSkipped {
				t.Errorf("got planned=%v committed=%v ops=%d skipped=%d, want %v %v %d %d",
					j.planned, j.committed, len(j.ops), len(j.skipped), tc.planned, tc.committed, tc.wantOps, tc.wantSkipped)
			}
		})
	}
}

func FuzzParseJournal(f *testing.F) {
	f.Add([]byte(journalWithPlan(f) + `{"rec":"commit"}` + "\n"))
	f.Add([]byte(sampleJournal))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := parseJournal("j", data)
		if err != nil {
			return
		}
		for i := range j.ops {
			if !validOp(&j.ops[i]) {
				t.Fatalf("invalid step accepted: %+v", j.ops[i])
			}
		}
	})
}

func FuzzDiffScript(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("a\nc\nd"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		la, lb := splitLines(a), splitLines(b)
		ia, ib := lineIDs(la, lb)
		del, ins := diffIDs(ia, ib)
		checkScript(t, ia, ib, del, ins)
	})
}

func FuzzEscapeContent(f *testing.F) {
	f.Add([]byte("x\x1b[2J\r\u202e\xff"))
	f.Fuzz(func(t *testing.T, line []byte) {
		out := escapeContent(line)
		body := out
		if bytes.HasSuffix(body, []byte("\r")) {
			body = body[:len(body)-1]
		}
		for _, c := range body {
			if c < 0x20 && c != '\t' || c == 0x7f {
				t.Fatalf("control byte %#x survives in %q", c, out)
			}
		}
		if bytes.ContainsRune(out, '\u202e') || bytes.ContainsRune(out, '\u009b') {
			t.Fatalf("dangerous rune survives in %q", out)
		}
	})
}

func bufioWriter(b *bytes.Buffer) *bufio.Writer { return bufio.NewWriter(b) }

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, len(b)*2)
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
