package egress

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Punycode (RFC 3492) with the parameters for IDNA. Only used to check
// "xn--" labels; the package never turns Unicode into punycode for a
// client (see normalizeHost).
const (
	punyBase        = 36
	punyTMin        = 1
	punyTMax        = 26
	punySkew        = 38
	punyDamp        = 700
	punyInitialBias = 72
	punyInitialN    = 128
	punyMaxValue    = 1 << 30 // far above any value a 63-byte label can need
	punyMaxLen      = 63      // a DNS label; also bounds the quadratic insertions
)

var errPunycode = errors.New("invalid punycode")

func punyAdapt(delta, points int, first bool) int {
	if first {
		delta /= punyDamp
	} else {
		delta /= 2
	}
	delta += delta / points
	k := 0
	for delta > ((punyBase-punyTMin)*punyTMax)/2 {
		delta /= punyBase - punyTMin
		k += punyBase
	}
	return k + (punyBase-punyTMin+1)*delta/(delta+punySkew)
}

func punyThreshold(k, bias int) int {
	switch {
	case k <= bias:
		return punyTMin
	case k >= bias+punyTMax:
		return punyTMax
	}
	return k - bias
}

// punyDecode decodes the part of a label after "xn--".
func punyDecode(s string) ([]rune, error) {
	if len(s) > punyMaxLen {
		return nil, errPunycode
	}
	var out []rune
	pos := 0
	if b := strings.LastIndexByte(s, '-'); b > 0 {
		for _, c := range []byte(s[:b]) {
			if c >= utf8.RuneSelf {
				return nil, errPunycode
			}
			out = append(out, rune(c))
		}
		pos = b + 1
	}
	n, i, bias := punyInitialN, 0, punyInitialBias
	for pos < len(s) {
		oldi, w := i, 1
		for k := punyBase; ; k += punyBase {
			if pos >= len(s) {
				return nil, errPunycode
			}
			c := s[pos]
			pos++
			var digit int
			switch {
			case c >= 'a' && c <= 'z':
				digit = int(c - 'a')
			case c >= 'A' && c <= 'Z':
				digit = int(c - 'A')
			case c >= '0' && c <= '9':
				digit = int(c-'0') + 26
			default:
				return nil, errPunycode
			}
			if digit > (punyMaxValue-i)/w {
				return nil, errPunycode
			}
			i += digit * w
			t := punyThreshold(k, bias)
			if digit < t {
				break
			}
			if w > punyMaxValue/(punyBase-t) {
				return nil, errPunycode
			}
			w *= punyBase - t
		}
		points := len(out) + 1
		bias = punyAdapt(i-oldi, points, oldi == 0)
		n += i / points
		i %= points
		if n < punyInitialN || n > utf8.MaxRune || !utf8.ValidRune(rune(n)) {
			return nil, errPunycode
		}
		out = append(out, 0)
		copy(out[i+1:], out[i:])
		out[i] = rune(n)
		i++
	}
	return out, nil
}

// punyEncode encodes a label; the result has no "xn--".
func punyEncode(in []rune) (string, error) {
	if len(in) > punyMaxLen {
		return "", errPunycode
	}
	var b strings.Builder
	for _, r := range in {
		if r < utf8.RuneSelf {
			b.WriteByte(byte(r))
		}
	}
	basic := b.Len()
	h := basic
	if basic > 0 {
		b.WriteByte('-')
	}
	n, delta, bias := punyInitialN, 0, punyInitialBias
	for h < len(in) {
		m := int(utf8.MaxRune) + 1
		for _, r := range in {
			if int(r) >= n && int(r) < m {
				m = int(r)
			}
		}
		if m-n > (punyMaxValue-delta)/(h+1) {
			return "", errPunycode
		}
		delta += (m - n) * (h + 1)
		n = m
		for _, r := range in {
			if int(r) < n {
				delta++
				if delta > punyMaxValue {
					return "", errPunycode
				}
			}
			if int(r) != n {
				continue
			}
			q := delta
			for k := punyBase; ; k += punyBase {
				t := punyThreshold(k, bias)
				if q < t {
					break
				}
				b.WriteByte(punyDigit(t + (q-t)%(punyBase-t)))
				q = (q - t) / (punyBase - t)
			}
			b.WriteByte(punyDigit(q))
			bias = punyAdapt(delta, h+1, h == basic)
			delta = 0
			h++
		}
		delta++
		n++
	}
	if b.Len() > punyMaxLen {
		return "", errPunycode
	}
	return b.String(), nil
}

func punyDigit(d int) byte {
	if d < 26 {
		return byte('a' + d)
	}
	return byte('0' + d - 26)
}
