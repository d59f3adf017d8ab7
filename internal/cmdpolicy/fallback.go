package cmdpolicy

import "strings"

// fallback analyzes a command the parser rejected. It splits the text
// crudely into simple commands at unquoted ; & | ( ) ` $( and newlines, and
// into words at unquoted white space, so that deny rules and Deny findings
// still apply to what looks like a command. It only ever adds to what the
// parse-error finding already demands.
func (a *analyzer) fallback(src string) {
	for _, seg := range crudeSplit(src) {
		words, writes := a.crudeWords(seg)
		text := strings.TrimSpace(seg)
		if len(words) > 0 {
			a.command(words, text, nil)
		}
		for i := range writes {
			a.checkWrite(-1, text, &writes[i], "the redirection writes")
		}
	}
}

// crudeSplit cuts src into segments that may each be a simple command.
func crudeSplit(src string) []string {
	var segs []string
	start := 0
	var quote byte
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\\' && quote != '\'':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			} else if quote == '"' && c == '$' && i+1 < len(src) && src[i+1] == '(' {
				segs = append(segs, src[start:i])
				quote = 0
				i++
				start = i + 1
			}
		case c == '\'' || c == '"':
			quote = c
		case strings.IndexByte(";&|()`\n", c) >= 0:
			segs = append(segs, src[start:i])
			start = i + 1
		case c == '$' && i+1 < len(src) && src[i+1] == '(':
			segs = append(segs, src[start:i])
			i++
			start = i + 1
		}
	}
	if start < len(src) {
		segs = append(segs, src[start:])
	}
	return segs
}

// crudeWords splits a segment into words, removing quotes, and returns the
// targets of output redirections separately.
func (a *analyzer) crudeWords(seg string) (words, writes []word) {
	type tok struct {
		s      string
		quoted bool
	}
	var toks []tok
	var b strings.Builder
	in, quoted := false, false
	var quote byte
	flush := func() {
		if in {
			toks = append(toks, tok{b.String(), quoted})
		}
		b.Reset()
		in, quoted = false, false
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' && i+1 < len(seg) {
				i++
				b.WriteByte(seg[i])
			} else {
				b.WriteByte(c)
			}
		case c == '\\':
			if i+1 < len(seg) {
				i++
				b.WriteByte(seg[i])
			}
			in = true
		case c == '\'' || c == '"':
			quote, in, quoted = c, true, true
		case c == ' ' || c == '\t' || c == '\r' || c == '{' && !in || c == '}' && !in:
			flush()
		default:
			b.WriteByte(c)
			in = true
		}
	}
	flush()
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if !t.quoted {
			op := strings.TrimLeft(t.s, "0123456789&")
			if strings.HasPrefix(op, ">") || strings.HasPrefix(op, "<") {
				target := strings.TrimLeft(op, "<>|&")
				if target == "" && i+1 < len(toks) {
					i++
					target = toks[i].s
				}
				if strings.HasPrefix(op, ">") && target != "" {
					writes = append(writes, a.crudeWord(target, false))
				}
				continue
			}
		}
		words = append(words, a.crudeWord(t.s, t.quoted))
	}
	return words, writes
}

// crudeWord resolves ~ and $HOME in a word of the fallback tokenizer.
func (a *analyzer) crudeWord(s string, quoted bool) word {
	w := word{disp: s, start: -1, end: -1}
	v := s
	if !quoted && (v == "~" || strings.HasPrefix(v, "~/")) {
		v = a.e.opts.Home + v[1:]
	}
	for _, h := range []string{"${HOME}", "$HOME"} {
		if rest, ok := strings.CutPrefix(v, h); ok {
			v = a.e.opts.Home + rest
			w.param = true
		}
	}
	if strings.ContainsAny(v, "$`") {
		w.param = true
		return w
	}
	w.vals = []string{v}
	w.lit = !w.param
	return w
}
