package secrets

import (
	"bytes"
	"crypto/rand"
	"errors"
	"math/big"
)

// fixedPrefixes are known prefixes with no '-' or '_' to end them.
var fixedPrefixes = [][]byte{[]byte("AKIA"), []byte("ASIA")}

// prefixLen returns how many leading bytes of real NewPlaceholder keeps:
// everything up to and including the last '-' or '_' within the first 16
// bytes ("sk-ant-api03-", "ghp_", "github_pat_", "xoxb-"), or a fixed
// prefix such as "AKIA".
func prefixLen(real []byte) int {
	n := 0
	for i := 0; i < len(real) && i < 16; i++ {
		if real[i] == '-' || real[i] == '_' {
			n = i + 1
		}
	}
	if n == 0 {
		for _, p := range fixedPrefixes {
			if bytes.HasPrefix(real, p) {
				return len(p)
			}
		}
	}
	return n
}

const (
	digits = "0123456789"
	lowers = "abcdefghijklmnopqrstuvwxyz"
	uppers = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// maxPlaceholderTries bounds the retries when the random part comes out
// equal to the real one (likely only with one or two random positions).
const maxPlaceholderTries = 64

// NewPlaceholder returns a random value shaped like real: the same length,
// the same known prefix (see prefixLen), and after it the same character
// class at each position (digit for digit, lower-case for lower-case,
// upper-case for upper-case; any other byte is kept). It uses crypto/rand.
// The result never equals real (and, being the same length, never contains
// it). It fails when real has no letter or digit after the prefix.
func NewPlaceholder(real []byte) ([]byte, error) {
	start := prefixLen(real)
	random := 0
	for _, c := range real[start:] {
		if classOf(c) != "" {
			random++
		}
	}
	if random == 0 {
		return nil, errors.New("new placeholder: no letters or digits after the prefix to randomize")
	}
	out := make([]byte, len(real))
	for try := 0; try < maxPlaceholderTries; try++ {
		copy(out, real[:start])
		for i := start; i < len(real); i++ {
			set := classOf(real[i])
			if set == "" {
				out[i] = real[i]
				continue
			}
			n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
			if err != nil {
				return nil, err
			}
			out[i] = set[n.Int64()]
		}
		if !bytes.Contains(out, real) {
			return out, nil
		}
	}
	return nil, errors.New("new placeholder: could not make one that differs from the value")
}

func classOf(c byte) string {
	switch {
	case c >= '0' && c <= '9':
		return digits
	case c >= 'a' && c <= 'z':
		return lowers
	case c >= 'A' && c <= 'Z':
		return uppers
	}
	return ""
}
