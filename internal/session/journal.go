package session

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"
)

// Journal operations. Phase 1 (staging) creates only new names in the
// workspace; phase 3 changes what existing names point to.
const (
	opMkdir     = "mkdir"      // phase 1: create directory Dir/Name (mode 0700 until chmod)
	opStageDir  = "stage-dir"  // phase 1: create temporary directory Dir/Temp
	opStageFile = "stage-file" // phase 1: copy upper file Src to new temp Dir/Temp, set Mode, fsync
	opStageLink = "stage-link" // phase 1: create symlink Dir/Temp -> Target
	opRemove    = "remove"     // phase 3: unlink non-directory Dir/Name if it is still Expect
	opRmdir     = "rmdir"      // phase 3: remove directory Dir/Name if empty
	opInstall   = "install"    // phase 3: rename Dir/Temp to Dir/Name if Dir/Name is still Expect
	opChmod     = "chmod"      // phase 3: set Mode on directory Path
	opNoop      = "noop"       // phase 3: nothing to do, the workspace already agrees
)

// journalOp is one step of an apply (written as journalOpWire).
type journalOp struct {
	Op string
	// Path is the final workspace path of the change this step belongs to.
	Path string
	// Dir is the directory the step works in, named as it is while the
	// step runs: below a temporary directory for content that replaces a
	// non-directory (see InTemp).
	Dir    string
	Name   string
	Temp   string
	Src    string
	Target string
	Mode   uint32
	// Expect is the workspace state Dir/Name must still have for remove
	// and install; a different state means someone changed it during the
	// apply, and the step is skipped.
	Expect *expectState
	// ReplaceDir: install replaces a directory that earlier steps emptied.
	ReplaceDir bool
	// InTemp is 1 + the index of the stage-dir step whose temporary
	// directory contains Dir, or 0.
	InTemp int
	// Gone: after this step nothing is left at Path.
	Gone bool
}

func (op *journalOp) phase1() bool {
	switch op.Op {
	case opMkdir, opStageDir, opStageFile, opStageLink:
		return true
	}
	return false
}

// File names are bytes, not text: a name or symlink target that is not
// valid UTF-8 would be mangled by encoding/json, so such strings are
// written as {"b64": "..."} instead.
type wireString string

func (w wireString) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(w)) {
		return json.Marshal(string(w))
	}
	return json.Marshal(struct {
		B64 string `json:"b64"`
	}{base64.StdEncoding.EncodeToString([]byte(w))})
}

func (w *wireString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var v struct {
			B64 string `json:"b64"`
		}
		if err := strictUnmarshal(b, &v); err != nil {
			return err
		}
		raw, err := base64.StdEncoding.DecodeString(v.B64)
		if err != nil {
			return err
		}
		*w = wireString(raw)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*w = wireString(s)
	return nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// journalOpWire is how a journalOp is written.
type journalOpWire struct {
	Op         string       `json:"op"`
	Path       wireString   `json:"path"`
	Dir        wireString   `json:"dir,omitempty"`
	Name       wireString   `json:"name,omitempty"`
	Temp       wireString   `json:"temp,omitempty"`
	Src        wireString   `json:"src,omitempty"`
	Target     wireString   `json:"target,omitempty"`
	Mode       uint32       `json:"mode,omitempty"`
	Expect     *expectState `json:"expect,omitempty"`
	ReplaceDir bool         `json:"replace_dir,omitempty"`
	InTemp     int          `json:"in_temp,omitempty"`
	Gone       bool         `json:"gone,omitempty"`
}

func (op journalOp) MarshalJSON() ([]byte, error) {
	return json.Marshal(journalOpWire{Op: op.Op, Path: wireString(op.Path), Dir: wireString(op.Dir), Name: wireString(op.Name),
		Temp: wireString(op.Temp), Src: wireString(op.Src), Target: wireString(op.Target), Mode: op.Mode, Expect: op.Expect,
		ReplaceDir: op.ReplaceDir, InTemp: op.InTemp, Gone: op.Gone})
}

func (op *journalOp) UnmarshalJSON(b []byte) error {
	var w journalOpWire
	if err := strictUnmarshal(b, &w); err != nil {
		return err
	}
	*op = journalOp{Op: w.Op, Path: string(w.Path), Dir: string(w.Dir), Name: string(w.Name), Temp: string(w.Temp),
		Src: string(w.Src), Target: string(w.Target), Mode: w.Mode, Expect: w.Expect, ReplaceDir: w.ReplaceDir,
		InTemp: w.InTemp, Gone: w.Gone}
	return nil
}

// expectState is a recorded workspace state.
type expectState struct {
	Absent bool     `json:"absent,omitempty"`
	Type   fileType `json:"type,omitempty"`
	Size   int64    `json:"size,omitempty"`
	Mtime  int64    `json:"mtime,omitempty"`
	Ctime  int64    `json:"ctime,omitempty"`
	Dev    uint64   `json:"dev,omitempty"`
	Ino    uint64   `json:"ino,omitempty"`
}

func expectOf(st fileStat) *expectState {
	if st.Type == typeNone {
		return &expectState{Absent: true}
	}
	return &expectState{Type: st.Type, Size: st.Size, Mtime: st.Mtime, Ctime: st.Ctime, Dev: st.Dev, Ino: st.Ino}
}

func (e *expectState) matches(st fileStat) bool {
	if e.Absent {
		return st.Type == typeNone
	}
	return st.Type == e.Type && st.Size == e.Size && st.Mtime == e.Mtime && st.Ctime == e.Ctime && st.Dev == e.Dev && st.Ino == e.Ino
}

// journalRecord is one line of the journal file.
type journalRecord struct {
	Rec       string     `json:"rec"`
	Version   int        `json:"version,omitempty"`
	Apply     string     `json:"apply,omitempty"`
	Workspace wireString `json:"workspace,omitempty"`
	I         int        `json:"i,omitempty"`
	Op        *journalOp `json:"op,omitempty"`
	Count     int        `json:"count,omitempty"`
	Sum       string     `json:"sum,omitempty"`
	Hash      string     `json:"hash,omitempty"`
	Why       string     `json:"why,omitempty"`
}

const journalVersion = 1

// journal is the parsed (or being written) journal of one apply.
type journal struct {
	path      string
	applyID   string
	workspace string
	ops       []journalOp
	planned   bool             // the plan is complete and durable
	staged    map[int][32]byte // content hash of each staged file
	committed bool             // the commit record is durable
	skipped   map[int]string   // phase-3 steps skipped, with the reason
	f         *os.File         // open for appending while applying
}

// createJournal writes the plan durably before anything in the workspace
// changes: the header, one record per step, and a "planned" record with a
// checksum of everything before it.
func createJournal(p, applyID, workspace string, ops []journalOp) (*journal, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(journalRecord{Rec: "begin", Version: journalVersion, Apply: applyID, Workspace: wireString(workspace)}); err != nil {
		return nil, err
	}
	for i := range ops {
		if err := enc.Encode(journalRecord{Rec: "op", I: i, Op: &ops[i]}); err != nil {
			return nil, err
		}
	}
	sum := sha256.Sum256(buf.Bytes())
	if err := enc.Encode(journalRecord{Rec: "planned", Count: len(ops), Sum: hex.EncodeToString(sum[:])}); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	j := &journal{path: p, applyID: applyID, workspace: workspace, ops: ops, planned: true,
		staged: map[int][32]byte{}, skipped: map[int]string{}, f: f}
	if _, err := f.Write(buf.Bytes()); err != nil {
		j.abandon()
		return nil, fmt.Errorf("write journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		j.abandon()
		return nil, fmt.Errorf("write journal: fsync: %w", err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		j.abandon()
		return nil, err
	}
	return j, nil
}

// abandon closes and removes a journal whose plan never became durable.
func (j *journal) abandon() {
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
	os.Remove(j.path)
}

// append writes records and makes them durable.
func (j *journal) append(recs ...journalRecord) error {
	if j.f == nil {
		f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("open journal: %w", err)
		}
		j.f = f
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	if _, err := j.f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("write journal: fsync: %w", err)
	}
	return nil
}

// commit records the staged hashes and the commit point in one durable
// write. From here on, recovery rolls forward.
func (j *journal) commit() error {
	recs := make([]journalRecord, 0, len(j.staged)+1)
	for i := range j.ops {
		if h, ok := j.staged[i]; ok {
			recs = append(recs, journalRecord{Rec: "staged", I: i, Hash: hex.EncodeToString(h[:])})
		}
	}
	recs = append(recs, journalRecord{Rec: "commit"})
	if err := j.append(recs...); err != nil {
		return err
	}
	j.committed = true
	return nil
}

// skip durably records that phase-3 step i was skipped, before its staged
// temporary is removed, so a roll-forward does not mistake the missing
// temporary for a completed step.
func (j *journal) skip(i int, why string) error {
	j.skipped[i] = why
	return j.append(journalRecord{Rec: "skip", I: i, Why: why})
}

// remove deletes the journal durably: the apply is over.
func (j *journal) remove() error {
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
	if err := os.Remove(j.path); err != nil && !isNotExist(err) {
		return fmt.Errorf("remove journal: %w", err)
	}
	return syncDir(filepath.Dir(j.path))
}

var errCorruptJournal = errors.New("corrupt journal")

// parseJournal reads a journal file. A torn last line (no newline) is
// ignored: it is a record whose write never completed. A journal without a
// valid "planned" record had nothing staged yet.
func parseJournal(p string, data []byte) (*journal, error) {
	j := &journal{path: p, staged: map[int][32]byte{}, skipped: map[int]string{}}
	lines := bytes.SplitAfter(data, []byte("\n"))
	var plan bytes.Buffer
	for n, line := range lines {
		if len(line) == 0 || line[len(line)-1] != '\n' {
			break // torn final write
		}
		var r journalRecord
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", errCorruptJournal, n+1, err)
		}
		switch {
		case n == 0:
			if r.Rec != "begin" || r.Version != journalVersion || r.Apply == "" || r.Workspace == "" {
				return nil, fmt.Errorf("%w: bad header", errCorruptJournal)
			}
			j.applyID, j.workspace = r.Apply, string(r.Workspace)
			plan.Write(line)
		case !j.planned && r.Rec == "op":
			if r.Op == nil || r.I != len(j.ops) || !validOp(r.Op) {
				return nil, fmt.Errorf("%w: bad step %d", errCorruptJournal, r.I)
			}
			j.ops = append(j.ops, *r.Op)
			plan.Write(line)
		case !j.planned && r.Rec == "planned":
			sum := sha256.Sum256(plan.Bytes())
			if r.Count != len(j.ops) || r.Sum != hex.EncodeToString(sum[:]) {
				return nil, fmt.Errorf("%w: plan checksum mismatch", errCorruptJournal)
			}
			j.planned = true
		case j.planned && !j.committed && r.Rec == "staged":
			h, err := hex.DecodeString(r.Hash)
			if err != nil || len(h) != sha256.Size || r.I < 0 || r.I >= len(j.ops) {
				return nil, fmt.Errorf("%w: bad staged record", errCorruptJournal)
			}
			j.staged[r.I] = [32]byte(h)
		case j.planned && !j.committed && r.Rec == "commit":
			j.committed = true
		case j.committed && r.Rec == "skip":
			if r.I < 0 || r.I >= len(j.ops) {
				return nil, fmt.Errorf("%w: bad skip record", errCorruptJournal)
			}
			j.skipped[r.I] = r.Why
		default:
			return nil, fmt.Errorf("%w: unexpected %q record on line %d", errCorruptJournal, r.Rec, n+1)
		}
	}
	if !j.committed {
		// Staged hashes only matter after commit.
		j.staged = map[int][32]byte{}
	}
	return j, nil
}

// validOp checks a step read back from a journal: every name must be a
// single path element and every directory a clean relative path, so a
// corrupt journal cannot point recovery outside the workspace.
func validOp(op *journalOp) bool {
	name := func(s string) bool { return s == "" || validRelPath(s) && !bytes.ContainsRune([]byte(s), '/') }
	dir := func(s string) bool { return s == "" || validRelPath(s) }
	if !validRelPath(op.Path) || !dir(op.Dir) || !name(op.Name) || !name(op.Temp) || !dir(op.Src) || op.InTemp < 0 {
		return false
	}
	switch op.Op {
	case opMkdir, opRemove, opRmdir:
		return op.Name != ""
	case opStageDir, opStageLink:
		return op.Temp != ""
	case opStageFile:
		return op.Temp != "" && op.Src != ""
	case opInstall:
		return op.Temp != "" && op.Name != "" && op.Expect != nil
	case opChmod, opNoop:
		return true
	}
	return false
}
