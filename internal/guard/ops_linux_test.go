package guard

import "testing"

func TestSelfFDNumber(t *testing.T) {
	cases := []struct {
		path string
		n    int
		ok   bool
	}{
		{"/dev/stdin", 0, true},
		{"/dev/stdout", 1, true},
		{"/dev/stderr", 2, true},
		{"/dev/fd/7", 7, true},
		{"/proc/self/fd/12", 12, true},
		{"/proc/thread-self/fd/3", 3, true},
		{"/dev/fd/", 0, false},
		{"/dev/fd/1x", 0, false},
		{"/dev/fd/-1", 0, false},
		{"/proc/1/fd/3", 0, false},
		{"/dev/stdout/x", 0, false},
		{"dev/stdout", 0, false},
		{"/dev/fd/99999999999999999999", 0, false},
	}
	for _, c := range cases {
		n, ok := selfFDNumber(c.path)
		if n != c.n || ok != c.ok {
			t.Errorf("selfFDNumber(%q): got %d, %v; want %d, %v", c.path, n, ok, c.n, c.ok)
		}
	}
}
