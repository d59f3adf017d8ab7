package hook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
)

// jsonFrame is one open object or array while checkJSON walks the tokens.
type jsonFrame struct {
	object    bool
	expectKey bool // object only: the next token is a key or '}'
	keys      map[string]struct{}
}

// checkJSON reports whether data is exactly one JSON value with no object
// holding the same key twice, at any depth. Parsers disagree on duplicate
// keys (JavaScript keeps the last), so such input is ambiguous and refused.
func checkJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var stack []*jsonFrame
	// valueDone records that the innermost object got the value for its key.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expectKey = true
		}
	}
	started := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if !started || len(stack) > 0 {
				return errors.New("malformed JSON: unexpected end of input")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("malformed JSON: %w", err)
		}
		if started && len(stack) == 0 {
			return errors.New("malformed JSON: data after the top-level value")
		}
		started = true
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			key, ok := tok.(string)
			if !ok {
				return errors.New("malformed JSON: object key is not a string")
			}
			top := stack[n-1]
			if _, dup := top.keys[key]; dup {
				return fmt.Errorf("duplicate key %q", key)
			}
			top.keys[key] = struct{}{}
			top.expectKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &jsonFrame{object: true, expectKey: true, keys: map[string]struct{}{}})
		case json.Delim('['):
			stack = append(stack, &jsonFrame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// marshalNoEscape is json.Marshal without HTML escaping of <, > and &, so
// that reasons and commands read as written.
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// object is a JSON object that keeps its keys in file order and its values
// as raw JSON, so that rewriting a settings file changes only what Airlock
// adds and leaves every other key, value and number as it was.
type object struct {
	keys []string
	vals map[string]json.RawMessage
}

func newObject() *object {
	return &object{vals: map[string]json.RawMessage{}}
}

// parseObject decodes one JSON object. A key that appears twice is an
// error: which of the two the agent CLI uses is not ours to guess.
func parseObject(data []byte) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	o := newObject()
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("malformed JSON: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("malformed JSON: object key is not a string")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("malformed JSON: %w", err)
		}
		if _, dup := o.vals[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		o.keys = append(o.keys, key)
		o.vals[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("malformed JSON: data after the object")
	}
	return o, nil
}

func (o *object) get(key string) (json.RawMessage, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// set replaces the value of key in place, or appends key.
func (o *object) set(key string, v json.RawMessage) {
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

// marshal returns the object as compact JSON (raw values as they were).
func (o *object) marshal() (json.RawMessage, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := marshalNoEscape(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(o.vals[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// mergeInto merges src into dst: objects merge key by key, any other value
// from src replaces the one in dst. New keys are appended in sorted order so
// the output does not depend on map iteration.
func mergeInto(dst *object, src map[string]any) error {
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var raw json.RawMessage
		if sub, ok := src[k].(map[string]any); ok {
			child := newObject()
			if old, ok := dst.get(k); ok && bytes.HasPrefix(bytes.TrimSpace(old), []byte("{")) {
				o, err := parseObject(old)
				if err != nil {
					return fmt.Errorf("%s: %w", k, err)
				}
				child = o
			}
			if err := mergeInto(child, sub); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			b, err := child.marshal()
			if err != nil {
				return err
			}
			raw = b
		} else {
			b, err := marshalNoEscape(src[k])
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			raw = b
		}
		dst.set(k, raw)
	}
	return nil
}

// sameJSON reports whether a and b are the same JSON text up to whitespace.
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return slices.Equal(ca.Bytes(), cb.Bytes())
}
