package cmdpolicy

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"
)

// maxCandidates bounds how many values one word may stand for (known
// variable values times brace alternatives). Past it the word is unknown.
const maxCandidates = 8

// maxValueLen bounds the length of a value built from variables, so that
// "x=$y$y$y..." cannot make the analysis allocate without limit.
const maxValueLen = 1 << 16

// maxBraceWords bounds how many words one brace expansion may produce.
const maxBraceWords = 32

// word is one shell word as the analysis sees it.
type word struct {
	// disp is the unquoted text of a literal word, or the source text of a
	// word with expansions. It is what Result.Commands shows.
	disp string
	// vals are the values the word may take: the unquoted text with tilde,
	// $HOME, $PWD and variables assigned literally in the same command
	// substituted. Nil when a value cannot be known statically.
	vals []string
	// lit is true when the word has no expansions at all (quotes and
	// escapes are fine).
	lit bool
	// param and subst say whether the word expands a parameter or runs a
	// command or process substitution.
	param, subst bool
	// hidden is set when $'..' escapes spell printable characters that
	// need no escaping, such as $'\x72\x6d' for "rm".
	hidden bool
	// ifs is set when an unquoted $IFS served as a word separator.
	ifs bool
	// leadVar names the parameter a word starts with ("$DIR/build"), for
	// "rm -rf $DIR/" mistakes.
	leadVar string
	// brace is set on the words of a brace expansion ({rm,-rf,/}).
	brace bool
	// sub summarizes the commands run by substitutions inside the word.
	sub substSummary
	// start and end are byte offsets of the word in the analyzed source,
	// or -1 for words that do not come from it.
	start, end int
}

// substSummary says what ran inside the command or process substitutions
// of a word.
type substSummary struct {
	fetch   string // a download tool, such as "curl"
	decode  string // a decoder, such as "base64 -d"
	airlock bool   // some argument names airlock
}

func (s *substSummary) merge(o substSummary) {
	if s.fetch == "" {
		s.fetch = o.fetch
	}
	if s.decode == "" {
		s.decode = o.decode
	}
	s.airlock = s.airlock || o.airlock
}

// value returns the word's value when it has exactly one.
func (w *word) value() (string, bool) {
	if len(w.vals) == 1 {
		return w.vals[0], true
	}
	return "", false
}

// litWord makes a literal word that does not come from parsed source.
func litWord(s string) word {
	return word{disp: s, vals: []string{s}, lit: true, start: -1, end: -1}
}

// wordMode selects the quoting rules of a word's literal parts.
type wordMode uint8

const (
	modeNormal  wordMode = iota // a command word: backslash escapes anything
	modeHdoc                    // an unquoted here-document body
	modeHdocRaw                 // a quoted here-document body: no escapes
)

// evalWord analyzes the substitutions of w and returns the words it becomes:
// usually one, several after brace expansion or splitting on $IFS.
func (a *analyzer) evalWord(w *syntax.Word, mode wordMode) []word {
	if w == nil || len(w.Parts) == 0 {
		return nil
	}
	sum := a.substsIn(w)
	start, end := a.offsets(w)
	if mode == modeNormal {
		if alts, ok := expandBraces(w); ok {
			out := make([]word, 0, len(alts))
			for _, alt := range alts {
				for _, x := range a.evalParts(alt.Parts, mode, start, end, sum) {
					x.brace = true
					out = append(out, x)
				}
			}
			return out
		}
	}
	return a.evalParts(w.Parts, mode, start, end, sum)
}

// offsets returns the byte range of n in the current source, or -1, -1.
func (a *analyzer) offsets(n syntax.Node) (int, int) {
	s, e := int(n.Pos().Offset()), int(n.End().Offset())
	if !n.Pos().IsValid() || s < 0 || e > len(a.src) || s > e {
		return -1, -1
	}
	return s, e
}

// slice returns the source text of n, or "" when its offsets are unusable.
func (a *analyzer) slice(n syntax.Node) string {
	s, e := a.offsets(n)
	if s < 0 {
		return ""
	}
	return a.src[s:e]
}

// wordBuilder accumulates the candidate values of a word part by part.
type wordBuilder struct {
	cands   []string // candidates so far; nil once unknown
	lit     strings.Builder
	isLit   bool
	param   bool
	subst   bool
	hidden  bool
	leadVar string
	empty   bool // nothing added yet
	// splits marks candidate positions where an unquoted $IFS splits the
	// word, as a byte that cannot appear in a shell word.
	splits bool
}

const ifsMark = "\x00"

func (b *wordBuilder) addLit(s string) {
	if s != "" {
		b.empty = false
	}
	b.lit.WriteString(s)
	for i := range b.cands {
		b.cands[i] += s
	}
}

func (b *wordBuilder) addCands(vals []string) {
	b.isLit = false
	if b.cands == nil {
		return
	}
	if vals == nil || len(b.cands)*len(vals) > maxCandidates {
		b.cands = nil
		return
	}
	next := make([]string, 0, len(b.cands)*len(vals))
	for _, c := range b.cands {
		for _, v := range vals {
			if len(c)+len(v) > maxValueLen {
				b.cands = nil
				return
			}
			next = append(next, c+v)
		}
	}
	b.cands = next
}

func (b *wordBuilder) unknown() {
	b.isLit = false
	b.cands = nil
}

// evalParts turns word parts into words. start and end locate the source
// text used as the display form of non-literal words.
func (a *analyzer) evalParts(parts []syntax.WordPart, mode wordMode, start, end int, sum substSummary) []word {
	b := wordBuilder{cands: []string{""}, isLit: true, empty: true}
	for i, part := range parts {
		a.evalPart(&b, part, mode, i == 0, false)
	}
	disp := b.lit.String()
	if !b.isLit {
		if start >= 0 {
			disp = a.src[start:end]
		} else {
			disp = renderParts(parts)
		}
	}
	w := word{
		disp: disp, vals: b.cands, lit: b.isLit, param: b.param, subst: b.subst,
		hidden: b.hidden, leadVar: b.leadVar, sub: sum, start: start, end: end,
	}
	if !b.splits {
		return []word{w}
	}
	// Split on $IFS only when the value is known exactly.
	if len(w.vals) != 1 {
		w.vals = nil
		w.ifs = true
		return []word{w}
	}
	var out []word
	for _, f := range strings.Split(w.vals[0], ifsMark) {
		if f == "" {
			continue
		}
		out = append(out, word{disp: f, vals: []string{f}, param: true, ifs: true, sub: sum, start: start, end: end})
	}
	if len(out) == 0 {
		w.vals = []string{""}
		w.ifs = true
		return []word{w}
	}
	return out
}

func (a *analyzer) evalPart(b *wordBuilder, part syntax.WordPart, mode wordMode, first, quoted bool) {
	switch p := part.(type) {
	case *syntax.Lit:
		switch {
		case mode == modeHdocRaw:
			b.addLit(p.Value)
		case mode == modeHdoc:
			b.addLit(unescapeDouble(p.Value))
		case quoted:
			b.addLit(unescapeDouble(p.Value))
		default:
			v := unescape(p.Value)
			if first && strings.HasPrefix(p.Value, "~") {
				a.tilde(b, v)
				return
			}
			b.addLit(v)
		}
	case *syntax.SglQuoted:
		if p.Dollar {
			v, hidden := decodeANSIC(p.Value)
			b.hidden = b.hidden || hidden
			b.addLit(v)
			return
		}
		b.addLit(p.Value)
	case *syntax.DblQuoted:
		for _, q := range p.Parts {
			a.evalPart(b, q, mode, false, true)
		}
	case *syntax.ParamExp:
		b.param = true
		name, ok := simpleParam(p)
		if !ok {
			b.unknown()
			return
		}
		if b.empty && b.leadVar == "" {
			b.leadVar = name
		}
		b.empty = false
		if name == "IFS" && !quoted && mode == modeNormal && !a.assigned("IFS") {
			b.isLit = false
			b.splits = true
			for i := range b.cands {
				b.cands[i] += ifsMark
			}
			return
		}
		vals, ok := a.lookup(name)
		if !ok {
			b.unknown()
			return
		}
		b.addCands(vals)
	case *syntax.CmdSubst, *syntax.ProcSubst, *syntax.ArithmExp:
		b.subst = true
		b.empty = false
		b.unknown()
	default:
		// Extended globs and anything newer are kept as unknown text.
		b.unknown()
	}
}

// tilde expands a leading "~", "~/x", "~+", "~user" of an unquoted literal.
// It is only called for the first part of a word. The word stays literal for
// display even when the value is unknown.
func (a *analyzer) tilde(b *wordBuilder, v string) {
	b.lit.WriteString(v)
	b.empty = false
	prefix, rest, found := strings.Cut(v, "/")
	if found {
		rest = "/" + rest
	}
	var bases []string
	known := true
	switch prefix {
	case "~":
		bases, known = a.lookup("HOME")
	case "~+":
		bases, known = a.lookup("PWD")
	case "~-":
		known = false
	default:
		switch user := prefix[1:]; {
		case user == "root":
			bases = []string{"/root"}
		case validUser(user):
			bases = []string{"/home/" + user}
		default:
			// Not a tilde prefix bash expands: the text stays as it is.
			for i := range b.cands {
				b.cands[i] += v
			}
			return
		}
	}
	if !known || b.cands == nil {
		b.cands = nil
		return
	}
	next := make([]string, 0, len(bases))
	for _, base := range bases {
		next = append(next, base+rest)
	}
	b.cands = next
}

func validUser(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// simpleParam returns the name of a plain $name or ${name} expansion.
func simpleParam(p *syntax.ParamExp) (string, bool) {
	if p.Param == nil || p.Flags != nil || p.Excl || p.Length || p.Width || p.IsSet ||
		p.NestedParam != nil || p.Index != nil || len(p.Modifiers) > 0 ||
		p.Slice != nil || p.Repl != nil || p.Names != 0 || p.Exp != nil {
		return "", false
	}
	return p.Param.Value, true
}

// unescape removes the backslashes of an unquoted literal.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			if s[i] == '\n' {
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unescapeDouble removes the backslashes that escape $ ` " \ and newline
// inside double quotes and unquoted here-documents.
func unescapeDouble(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '$', '`', '"', '\\':
				i++
			case '\n':
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// decodeANSIC decodes the body of a $'..' string. hidden reports numeric
// escapes (\xHH, \NNN, \uHHHH, \UHHHHHHHH) that spell letters, digits or
// the path characters / . - _, which no one needs to escape unless they
// want to hide what they write.
func decodeANSIC(s string) (string, bool) {
	return decodeEscapes(s, true)
}

// decodeEscapes decodes backslash escapes as $'..' (ansic) or as echo -e and
// printf do (octal written \0NNN there, \NNN in printf formats too).
func decodeEscapes(s string, ansic bool) (string, bool) {
	if !strings.Contains(s, `\`) {
		return s, false
	}
	var b strings.Builder
	hidden := false
	numeric := func(r rune) {
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/.-_", r)) {
			hidden = true
		}
		if r < utf8.RuneSelf {
			b.WriteByte(byte(r))
		} else {
			b.WriteRune(r)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'e', 'E':
			b.WriteByte(0x1b)
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '\\', '\'', '"', '?':
			b.WriteByte(e)
		case 'x', 'u', 'U':
			digits := 2
			switch e {
			case 'u':
				digits = 4
			case 'U':
				digits = 8
			}
			j := i + 1
			for j < len(s) && j-i-1 < digits && isHex(s[j]) {
				j++
			}
			if j == i+1 {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			n, _ := strconv.ParseUint(s[i+1:j], 16, 32)
			numeric(rune(n))
			i = j - 1
		case 'c':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i] & 0x1f)
			}
		default:
			if e >= '0' && e <= '7' {
				j := i
				limit := 3
				if !ansic && e == '0' {
					// echo -e: \0NNN takes up to three digits after the 0.
					j++
					limit = 3
				}
				k := j
				for k < len(s) && k-j < limit && s[k] >= '0' && s[k] <= '7' {
					k++
				}
				if k == j {
					b.WriteByte(0)
					i = j - 1
					continue
				}
				n, _ := strconv.ParseUint(s[j:k], 8, 32)
				numeric(rune(n & 0xff))
				i = k - 1
				continue
			}
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String(), hidden
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// renderParts prints word parts for display when no source text exists.
func renderParts(parts []syntax.WordPart) string {
	var b strings.Builder
	p := syntax.NewPrinter(syntax.Minify(true))
	_ = p.Print(&b, &syntax.Word{Parts: parts})
	return b.String()
}

// expandBraces performs bash brace expansion on the unquoted literal parts
// of w. It reports false when w has none, or when the expansion would pass
// maxBraceWords words.
func expandBraces(w *syntax.Word) ([]*syntax.Word, bool) {
	has := false
	for _, p := range w.Parts {
		if l, ok := p.(*syntax.Lit); ok && strings.Contains(l.Value, "{") {
			has = true
			break
		}
	}
	if !has {
		return nil, false
	}
	c := &syntax.Word{Parts: append([]syntax.WordPart(nil), w.Parts...)}
	if !syntax.SplitBraces(c) {
		return nil, false
	}
	out, ok := braceAlternatives(c.Parts)
	if !ok || len(out) == 0 {
		return nil, false
	}
	words := make([]*syntax.Word, len(out))
	for i, parts := range out {
		words[i] = &syntax.Word{Parts: parts}
	}
	return words, true
}

// braceAlternatives expands the BraceExp parts of a part list into every
// alternative part list, left to right as bash does.
func braceAlternatives(parts []syntax.WordPart) ([][]syntax.WordPart, bool) {
	acc := [][]syntax.WordPart{nil}
	for _, p := range parts {
		be, ok := p.(*syntax.BraceExp)
		if !ok {
			for i := range acc {
				acc[i] = append(acc[i], p)
			}
			continue
		}
		var alts [][]syntax.WordPart
		if be.Sequence {
			seq, ok := braceSequence(be)
			if !ok {
				return nil, false
			}
			for _, s := range seq {
				alts = append(alts, []syntax.WordPart{&syntax.Lit{Value: s}})
			}
		} else {
			for _, e := range be.Elems {
				sub, ok := braceAlternatives(e.Parts)
				if !ok {
					return nil, false
				}
				alts = append(alts, sub...)
			}
		}
		if len(acc)*len(alts) > maxBraceWords {
			return nil, false
		}
		next := make([][]syntax.WordPart, 0, len(acc)*len(alts))
		for _, x := range acc {
			for _, y := range alts {
				n := make([]syntax.WordPart, 0, len(x)+len(y))
				n = append(append(n, x...), y...)
				next = append(next, n)
			}
		}
		acc = next
	}
	return acc, true
}

// braceSequence expands {x..y[..incr]} for numbers and single letters.
func braceSequence(be *syntax.BraceExp) ([]string, bool) {
	if len(be.Elems) < 2 {
		return nil, false
	}
	from, to := be.Elems[0].Lit(), be.Elems[1].Lit()
	step := 1
	if len(be.Elems) > 2 {
		n, err := strconv.Atoi(be.Elems[2].Lit())
		if err != nil || n == 0 {
			return nil, false
		}
		step = max(n, -n)
	}
	var out []string
	x, errx := strconv.Atoi(from)
	y, erry := strconv.Atoi(to)
	if errx == nil && erry == nil {
		if (y-x)/step > maxBraceWords || (x-y)/step > maxBraceWords {
			return nil, false
		}
		if x <= y {
			for i := x; i <= y; i += step {
				out = append(out, strconv.Itoa(i))
			}
		} else {
			for i := x; i >= y; i -= step {
				out = append(out, strconv.Itoa(i))
			}
		}
		return out, true
	}
	if len(from) == 1 && len(to) == 1 {
		if x, y := int(from[0]), int(to[0]); x <= y {
			for i := x; i <= y && len(out) <= maxBraceWords; i += step {
				out = append(out, string(rune(i)))
			}
		} else {
			for i := x; i >= y && len(out) <= maxBraceWords; i -= step {
				out = append(out, string(rune(i)))
			}
		}
		return out, len(out) <= maxBraceWords
	}
	return nil, false
}
