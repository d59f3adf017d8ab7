package session

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DiffOptions selects the output of WriteDiff.
type DiffOptions struct {
	// Paths limits the output to these workspace-relative paths and what
	// lies below them; empty means everything.
	Paths []string
	// Stat writes a git-style diffstat instead of the patch.
	Stat bool
	// NameOnly writes only the changed paths, one per line.
	NameOnly bool
	// Color uses git's default colours.
	Color bool
	// Raw writes file content bytes unchanged, for piping into patch
	// tools. By default control characters (other than tab and a final
	// carriage return), C1 controls, bidirectional-text controls and
	// invalid UTF-8 in content lines are written escaped, so file content
	// from the agent can neither drive the terminal nor hide text from the
	// reviewer.
	Raw bool
}

// maxDiffBytes bounds the size of a file WriteDiff loads to diff; larger
// files are reported as differing without content.
const maxDiffBytes = 32 << 20

// diffContext is the number of unchanged lines around each hunk.
const diffContext = 3

// git's default colours.
const (
	colorMeta  = "\x1b[1m"
	colorFrag  = "\x1b[36m"
	colorOld   = "\x1b[31m"
	colorNew   = "\x1b[32m"
	colorAlarm = "\x1b[1;31m"
	colorReset = "\x1b[m"
)

// side is one version of a path for display.
type side struct {
	typ    fileType // typeNone when absent
	mode   uint32   // 07777 bits
	data   []byte   // file content or symlink target
	large  bool     // a file too large to load
	size   int64
	binary bool
}

// WriteDiff writes changes (from s.Changes) as a unified diff in git's
// format, a diffstat (opts.Stat) or a list of paths (opts.NameOnly). The
// "a/" side is the workspace as it is now, the "b/" side the session: the
// diff shows what Apply would do. Protected, conflicting and refused
// changes are announced by a line starting with "!!! " before their diff
// (and flagged in the diffstat). Directories appear only when no change
// below them already implies theirs: a mode change, a new empty
// directory, a deleted empty one.
func WriteDiff(w io.Writer, s *Session, changes []Change, opts DiffOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	v, err := s.openView()
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	defer v.close()
	d := &diffWriter{w: bw, v: v, opts: opts}
	shown := shownChanges(changes, opts.Paths)
	switch {
	case opts.NameOnly:
		for _, c := range shown {
			name := quotePath(c.Path)
			if c.IsDir() {
				name += "/"
			}
			fmt.Fprintln(bw, name)
		}
	case opts.Stat:
		err = d.writeStat(shown)
	default:
		for _, c := range shown {
			if err = d.writeChange(c); err != nil {
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	return nil
}

// shownChanges filters changes by paths and drops directory changes that
// a change below them implies.
func shownChanges(changes []Change, paths []string) []*Change {
	var out []*Change
	for i := range changes {
		c := &changes[i]
		if !matchesPaths(c.Path, paths) {
			continue
		}
		implied := (c.Kind == Added || c.Kind == Deleted) && c.IsDir() && c.Refused == "" && c.Conflict == ""
		if implied && i+1 < len(changes) && strings.HasPrefix(changes[i+1].Path, c.Path+"/") {
			continue
		}
		out = append(out, c)
	}
	return out
}

type diffWriter struct {
	w    *bufio.Writer
	v    *view
	opts DiffOptions
}

func (d *diffWriter) color(code string) string {
	if d.opts.Color {
		return code
	}
	return ""
}

func (d *diffWriter) reset() string { return d.color(colorReset) }

func (d *diffWriter) meta(format string, args ...any) {
	fmt.Fprintf(d.w, "%s%s%s\n", d.color(colorMeta), fmt.Sprintf(format, args...), d.reset())
}

// alarms writes the "!!!" lines of a change.
func (d *diffWriter) alarms(c *Change) {
	line := func(what, rest string) {
		fmt.Fprintf(d.w, "%s!!! %s: %s%s\n", d.color(colorAlarm), what, rest, d.reset())
	}
	if c.Protected {
		line("PROTECTED", fmt.Sprintf("%s (matches %s): not applied unless protected paths are included", quotePath(c.Path), quotePath(c.ProtectedBy)))
	}
	if c.Refused != "" {
		line("REFUSED", fmt.Sprintf("%s: %s", quotePath(c.Path), c.Refused))
	}
	if c.Conflict != "" {
		line("CONFLICT", fmt.Sprintf("%s: %s", quotePath(c.Path), c.Conflict))
	}
}

// sides loads the workspace ("a") and session ("b") versions of c.
func (d *diffWriter) sides(c *Change) (a, b side, err error) {
	if !c.underNew && c.cur.Type != typeNone {
		a, err = d.load(c.Path, c.cur, false)
		if err != nil {
			return a, b, err
		}
	}
	if c.up != nil && c.Refused == "" {
		st := fileStat{Type: c.up.Type, Mode: appliedBits(c.up.Mode), Size: c.up.Size}
		b, err = d.load(c.Path, st, true)
	}
	return a, b, err
}

func (d *diffWriter) load(p string, st fileStat, upper bool) (side, error) {
	sd := side{typ: st.Type, mode: st.Mode, size: st.Size}
	switch st.Type {
	case typeSymlink:
		var t string
		var err error
		if upper {
			t, err = readlinkBeneath(d.v.upper, p)
		} else {
			t, err = d.v.res.readlink(p)
		}
		if err != nil {
			return sd, fmt.Errorf("read symlink %q: %w", p, err)
		}
		sd.data = []byte(t)
	case typeFile:
		var fd int
		var fst fileStat
		var err error
		if upper {
			fd, fst, err = openUpperFile(d.v.upper, p)
		} else {
			fd, fst, err = d.v.res.openRead(p)
		}
		if err != nil {
			return sd, fmt.Errorf("read %q: %w", p, err)
		}
		f := os.NewFile(uintptr(fd), p)
		defer f.Close()
		sd.size = fst.Size
		if fst.Size > maxDiffBytes {
			sd.large = true
			sd.binary = probeBinary(fd, p)
			return sd, nil
		}
		data, err := io.ReadAll(io.LimitReader(f, maxDiffBytes+1))
		if err != nil {
			return sd, fmt.Errorf("read %q: %w", p, err)
		}
		if len(data) > maxDiffBytes {
			sd.large = true
		}
		sd.data = data
		sd.size = int64(len(data))
		sd.binary = bytes.IndexByte(data[:min(len(data), binaryProbe)], 0) >= 0
	}
	return sd, nil
}

// gitMode formats a mode the way git prints it (100644, 120000, 040755).
func gitMode(t fileType, bits uint32) string {
	var typ uint32
	switch t {
	case typeFile:
		typ = 0o100000
	case typeDir:
		typ = 0o040000
	case typeSymlink:
		return "120000" // git records no permissions for symlinks
	}
	return fmt.Sprintf("%06o", typ|bits&0o7777)
}

// content reports whether a side has line content to diff.
func (s *side) content() bool { return s.typ == typeFile || s.typ == typeSymlink }

func (d *diffWriter) writeChange(c *Change) error {
	d.alarms(c)
	if c.Refused != "" {
		return nil
	}
	a, b, err := d.sides(c)
	if err != nil {
		return err
	}
	// A change of type between content kinds is shown like git: the old
	// path deleted, the new one added. Directories carry no content.
	if a.typ != typeNone && b.typ != typeNone && a.typ != b.typ {
		d.writePair(c.Path, a, side{})
		d.writePair(c.Path, side{}, b)
		return nil
	}
	if a.typ == typeNone && b.typ == typeNone {
		d.header(c.Path)
		fmt.Fprintf(d.w, "(already absent in the workspace)\n")
		return nil
	}
	d.writePair(c.Path, a, b)
	return nil
}

func (d *diffWriter) header(p string) {
	d.meta("diff --git %s %s", quoteWithPrefix("a/", p), quoteWithPrefix("b/", p))
}

// writePair writes the diff of one path between two sides of the same
// type (or one absent).
func (d *diffWriter) writePair(p string, a, b side) {
	d.header(p)
	typ := a.typ
	if typ == typeNone {
		typ = b.typ
	}
	if typ == typeDir {
		switch {
		case a.typ == typeNone:
			d.meta("new directory mode %s", gitMode(typeDir, b.mode))
		case b.typ == typeNone:
			d.meta("deleted directory mode %s", gitMode(typeDir, a.mode))
		case a.mode != b.mode:
			d.meta("old mode %s", gitMode(typeDir, a.mode))
			d.meta("new mode %s", gitMode(typeDir, b.mode))
		}
		return
	}
	switch {
	case a.typ == typeNone:
		d.meta("new file mode %s", gitMode(b.typ, b.mode))
	case b.typ == typeNone:
		d.meta("deleted file mode %s", gitMode(a.typ, a.mode))
	case a.mode != b.mode && typ != typeSymlink:
		d.meta("old mode %s", gitMode(a.typ, a.mode))
		d.meta("new mode %s", gitMode(b.typ, b.mode))
	}
	aName, bName := quoteWithPrefix("a/", p), quoteWithPrefix("b/", p)
	if a.typ == typeNone {
		aName = "/dev/null"
	}
	if b.typ == typeNone {
		bName = "/dev/null"
	}
	switch {
	case a.binary || b.binary:
		if a.typ != typeNone && b.typ != typeNone && !a.large && !b.large && bytes.Equal(a.data, b.data) {
			return
		}
		fmt.Fprintf(d.w, "Binary files %s and %s differ\n", aName, bName)
		return
	case a.large || b.large:
		fmt.Fprintf(d.w, "Files %s and %s differ (too large to show: %d and %d bytes)\n", aName, bName, a.size, b.size)
		return
	}
	if bytes.Equal(a.data, b.data) && (a.typ == typeNone) == (b.typ == typeNone) {
		return
	}
	if len(a.data) == 0 && len(b.data) == 0 {
		return // an empty file added or deleted: git prints no hunk
	}
	d.meta("--- %s", aName)
	d.meta("+++ %s", bName)
	d.writeHunks(splitLines(a.data), splitLines(b.data))
}

// editLine is one line of an edit script: ' ', '-' or '+', with the index
// of the line on the old and new sides.
type editLine struct {
	op   byte
	a, b int
}

func editScript(a, b [][]byte) []editLine {
	ia, ib := lineIDs(a, b)
	del, ins := diffIDs(ia, ib)
	out := make([]editLine, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && del[i]:
			out = append(out, editLine{'-', i, j})
			i++
		case j < len(b) && ins[j]:
			out = append(out, editLine{'+', i, j})
			j++
		default:
			out = append(out, editLine{' ', i, j})
			i++
			j++
		}
	}
	return out
}

// countChanges returns the number of inserted and deleted lines.
func countChanges(a, b []byte) (ins, del int) {
	for _, e := range editScript(splitLines(a), splitLines(b)) {
		switch e.op {
		case '+':
			ins++
		case '-':
			del++
		}
	}
	return ins, del
}

func (d *diffWriter) writeHunks(a, b [][]byte) {
	script := editScript(a, b)
	n := len(script)
	i := 0
	for i < n {
		// Find the next change.
		for i < n && script[i].op == ' ' {
			i++
		}
		if i >= n {
			break
		}
		start := max(0, i-diffContext)
		end := i
		// Extend while the next change is within 2*context lines.
		for {
			for end < n && script[end].op != ' ' {
				end++
			}
			k := end
			for k < n && script[k].op == ' ' && k-end < 2*diffContext+1 {
				k++
			}
			if k < n && script[k].op != ' ' && k-end <= 2*diffContext {
				end = k
				continue
			}
			break
		}
		stop := min(n, end+diffContext)
		d.writeHunk(a, b, script[start:stop])
		i = stop
	}
}

func hunkRange(start, count int) string {
	if count == 1 {
		return strconv.Itoa(start + 1)
	}
	if count == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	return fmt.Sprintf("%d,%d", start+1, count)
}

func (d *diffWriter) writeHunk(a, b [][]byte, h []editLine) {
	aStart, bStart := h[0].a, h[0].b
	aCount, bCount := 0, 0
	for _, e := range h {
		if e.op != '+' {
			aCount++
		}
		if e.op != '-' {
			bCount++
		}
	}
	fmt.Fprintf(d.w, "%s@@ -%s +%s @@%s%s\n", d.color(colorFrag), hunkRange(aStart, aCount), hunkRange(bStart, bCount), d.reset(), d.funcName(a, aStart))
	for _, e := range h {
		var line []byte
		col := ""
		switch e.op {
		case '-':
			line, col = a[e.a], colorOld
		case '+':
			line, col = b[e.b], colorNew
		default:
			line = a[e.a]
		}
		body := line
		noEOL := !bytes.HasSuffix(line, []byte("\n"))
		if !noEOL {
			body = line[:len(line)-1]
		}
		if !d.opts.Raw {
			body = escapeContent(body)
		}
		if col != "" && d.opts.Color {
			fmt.Fprintf(d.w, "%s%c%s%s\n", col, e.op, body, colorReset)
		} else {
			d.w.WriteByte(e.op)
			d.w.Write(body)
			d.w.WriteByte('\n')
		}
		if noEOL {
			d.w.WriteString("\\ No newline at end of file\n")
		}
	}
}

// funcName returns git's default hunk-header context: the nearest line
// before the hunk (on the old side) that starts with a letter, '_' or '$',
// without trailing white space, cut to 80 bytes, with a leading space.
func (d *diffWriter) funcName(a [][]byte, start int) string {
	for i := start - 1; i >= 0; i-- {
		l := a[i]
		if len(l) == 0 {
			continue
		}
		c := l[0]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' {
			l = l[:min(len(l), 80)]
			l = bytes.TrimRight(l, " \t\r\n\v\f")
			if !d.opts.Raw {
				l = escapeContent(l)
			}
			return " " + string(l)
		}
	}
	return ""
}

// writeStat writes a git-style diffstat.
func (d *diffWriter) writeStat(shown []*Change) error {
	type row struct {
		name     string
		ins, del int
		bin      string
		alarm    string
	}
	var rows []row
	files, totalIns, totalDel := 0, 0, 0
	for _, c := range shown {
		r := row{name: quotePath(c.Path)}
		var alarms []string
		if c.Protected {
			alarms = append(alarms, "PROTECTED")
		}
		if c.Conflict != "" {
			alarms = append(alarms, "CONFLICT")
		}
		if c.Refused != "" {
			alarms = append(alarms, "REFUSED")
		}
		if len(alarms) > 0 {
			r.alarm = " !!! " + strings.Join(alarms, ", ")
		}
		if c.IsDir() {
			r.name += "/"
		}
		if c.Refused == "" {
			a, b, err := d.sides(c)
			if err != nil {
				return err
			}
			if !a.content() {
				a = side{}
			}
			if !b.content() {
				b = side{}
			}
			switch {
			case a.binary || b.binary || a.large || b.large:
				r.bin = fmt.Sprintf("Bin %d -> %d bytes", a.size, b.size)
			default:
				r.ins, r.del = countChanges(a.data, b.data)
			}
		}
		files++
		totalIns += r.ins
		totalDel += r.del
		rows = append(rows, r)
	}
	nameWidth, maxChange, numWidth := 0, 0, 1
	for _, r := range rows {
		nameWidth = max(nameWidth, utf8.RuneCountInString(r.name))
		if r.bin == "" {
			maxChange = max(maxChange, r.ins+r.del)
		} else {
			numWidth = max(numWidth, 3)
		}
	}
	numWidth = max(numWidth, len(strconv.Itoa(maxChange)))
	const total = 80
	nameWidth = min(nameWidth, total/2)
	graphWidth := max(total-nameWidth-numWidth-5, 10)
	for _, r := range rows {
		name := r.name
		if n := utf8.RuneCountInString(name); n > nameWidth {
			runes := []rune(name)
			name = "..." + string(runes[n-nameWidth+3:])
		}
		pad := strings.Repeat(" ", nameWidth-utf8.RuneCountInString(name))
		if r.bin != "" {
			fmt.Fprintf(d.w, " %s%s | %s%s\n", name, pad, r.bin, d.alarmText(r.alarm))
			continue
		}
		plus, minus := r.ins, r.del
		if maxChange > graphWidth {
			plus, minus = scaleLinear(r.ins, graphWidth, maxChange), scaleLinear(r.del, graphWidth, maxChange)
		}
		graph := ""
		if plus > 0 {
			graph += d.color(colorNew) + strings.Repeat("+", plus) + d.reset()
		}
		if minus > 0 {
			graph += d.color(colorOld) + strings.Repeat("-", minus) + d.reset()
		}
		if graph != "" {
			graph = " " + graph
		}
		fmt.Fprintf(d.w, " %s%s | %*d%s%s\n", name, pad, numWidth, r.ins+r.del, graph, d.alarmText(r.alarm))
	}
	plural := func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	summary := " " + plural(files, "file changed", "files changed")
	if totalIns > 0 || totalDel == 0 {
		summary += ", " + plural(totalIns, "insertion(+)", "insertions(+)")
	}
	if totalDel > 0 || totalIns == 0 {
		summary += ", " + plural(totalDel, "deletion(-)", "deletions(-)")
	}
	fmt.Fprintln(d.w, summary)
	return nil
}

func (d *diffWriter) alarmText(a string) string {
	if a == "" {
		return ""
	}
	return d.color(colorAlarm) + a + d.reset()
}

// scaleLinear scales it (of at most max) to width columns like git: any
// non-zero count gets at least one column.
func scaleLinear(it, width, maxChange int) int {
	if it == 0 {
		return 0
	}
	return 1 + it*(width-1)/maxChange
}

// quotePath returns p, or p in double quotes with C escapes when it holds
// a control character, a quote, a backslash, invalid UTF-8 or a
// non-printable (including bidirectional-control) character, so a file
// name can never forge a line of the output.
func quotePath(p string) string {
	if !needsQuote(p) {
		return p
	}
	return `"` + escapeName(p) + `"`
}

// quoteWithPrefix quotes prefix+p as one string, as git does in headers.
func quoteWithPrefix(prefix, p string) string {
	if !needsQuote(p) {
		return prefix + p
	}
	return `"` + prefix + escapeName(p) + `"`
}

func needsQuote(p string) bool {
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		if r == utf8.RuneError && size <= 1 || r == '"' || r == '\\' || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

func escapeName(p string) string {
	var sb strings.Builder
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		switch {
		case r == '"' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\t':
			sb.WriteString(`\t`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == utf8.RuneError && size <= 1, !unicode.IsPrint(r):
			for _, c := range []byte(p[i : i+size]) {
				fmt.Fprintf(&sb, `\%03o`, c)
			}
		default:
			sb.WriteString(p[i : i+size])
		}
		i += size
	}
	return sb.String()
}

// escapeContent makes a content line (without its newline) safe to show on
// a terminal (see DiffOptions.Raw).
func escapeContent(line []byte) []byte {
	safe := true
	for _, c := range line {
		if c < 0x20 && c != '\t' || c >= 0x7f {
			safe = false
			break
		}
	}
	if safe {
		return line
	}
	var out []byte
	for i := 0; i < len(line); {
		c := line[i]
		if c < 0x80 {
			switch {
			case c == '\r' && i == len(line)-1:
				out = append(out, c) // CRLF line ending: harmless
			case c < 0x20 && c != '\t':
				out = append(out, '^', c+0x40)
			case c == 0x7f:
				out = append(out, '^', '?')
			default:
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(line[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			out = fmt.Appendf(out, `\x%02x`, c)
		case r < 0xa0 || unicode.Is(unicode.Bidi_Control, r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, line[i:i+size]...)
		}
		i += size
	}
	return out
}

// readlinkBeneath reads the symlink rel below root without following any
// symlink on the way.
func readlinkBeneath(root int, rel string) (string, error) {
	dir, name := splitRel(rel)
	fd, err := openDirBeneath(root, dir)
	if err != nil {
		return "", err
	}
	defer closeFD(fd)
	return readlinkAt(fd, name)
}
