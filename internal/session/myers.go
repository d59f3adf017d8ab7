package session

import (
	"bytes"
	"math"
)

// splitLines cuts data into lines, each keeping its "\n" (the last one may
// lack it), so "x" and "x\n" are different lines.
func splitLines(data []byte) [][]byte {
	if len(data) == 0 {
		return nil
	}
	lines := make([][]byte, 0, bytes.Count(data, []byte("\n"))+1)
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i+1])
		data = data[i+1:]
	}
	return lines
}

// differ computes a shortest (or, past a cost limit, a short) edit script
// between two sequences of line ids with Myers' O(ND) algorithm in linear
// space: find the middle of an optimal path, recurse on both halves.
type differ struct {
	a, b     []int
	del, ins []bool // del[i]: a[i] is deleted; ins[j]: b[j] is inserted
	fd, bd   []int  // forward and backward furthest x per diagonal
	limit    int    // give up on optimality past this many edit steps
}

// diffIDs returns which lines of a are deleted and which of b inserted.
func diffIDs(a, b []int) (del, ins []bool) {
	n := len(a) + len(b) + 3
	d := &differ{a: a, b: b, del: make([]bool, len(a)), ins: make([]bool, len(b)),
		fd: make([]int, n), bd: make([]int, n)}
	d.limit = max(256, int(math.Sqrt(float64(len(a)+len(b))))*4)
	d.compare(0, len(a), 0, len(b))
	return d.del, d.ins
}

// lineIDs maps the lines of both sides to small integers, equal lines to
// equal ids.
func lineIDs(a, b [][]byte) ([]int, []int) {
	ids := map[string]int{}
	conv := func(lines [][]byte) []int {
		out := make([]int, len(lines))
		for i, l := range lines {
			id, ok := ids[string(l)]
			if !ok {
				id = len(ids)
				ids[string(l)] = id
			}
			out[i] = id
		}
		return out
	}
	return conv(a), conv(b)
}

func (d *differ) compare(xoff, xlim, yoff, ylim int) {
	for xoff < xlim && yoff < ylim && d.a[xoff] == d.b[yoff] {
		xoff++
		yoff++
	}
	for xlim > xoff && ylim > yoff && d.a[xlim-1] == d.b[ylim-1] {
		xlim--
		ylim--
	}
	switch {
	case xoff == xlim:
		for j := yoff; j < ylim; j++ {
			d.ins[j] = true
		}
		return
	case yoff == ylim:
		for i := xoff; i < xlim; i++ {
			d.del[i] = true
		}
		return
	}
	x, y, ok := d.split(xoff, xlim, yoff, ylim)
	if !ok || (x == xoff && y == yoff) || (x == xlim && y == ylim) {
		// No useful split point: replace the whole region.
		for i := xoff; i < xlim; i++ {
			d.del[i] = true
		}
		for j := yoff; j < ylim; j++ {
			d.ins[j] = true
		}
		return
	}
	d.compare(xoff, x, yoff, y)
	d.compare(x, xlim, y, ylim)
}

// split finds a point on an optimal (or, past the cost limit, a good)
// edit path through the region. Diagonals are k = x - y; fd and bd are
// indexed by k + off.
func (d *differ) split(xoff, xlim, yoff, ylim int) (int, int, bool) {
	off := ylim - xoff + 1 // makes the smallest diagonal xoff-ylim index 1
	dmin, dmax := xoff-ylim, xlim-yoff
	fmid, bmid := xoff-yoff, xlim-ylim
	odd := (fmid-bmid)&1 != 0
	fd, bd := d.fd, d.bd
	fd[fmid+off] = xoff
	bd[bmid+off] = xlim
	fmin, fmax, bmin, bmax := fmid, fmid, bmid, bmid
	const inf = math.MaxInt
	for c := 1; ; c++ {
		// Forward search, one more edit step.
		if fmin > dmin {
			fmin--
			fd[fmin-1+off] = -1
		} else {
			fmin++
		}
		if fmax < dmax {
			fmax++
			fd[fmax+1+off] = -1
		} else {
			fmax--
		}
		for k := fmax; k >= fmin; k -= 2 {
			tlo, thi := fd[k-1+off], fd[k+1+off]
			x := thi
			if tlo >= thi {
				x = tlo + 1
			}
			y := x - k
			for x < xlim && y < ylim && d.a[x] == d.b[y] {
				x++
				y++
			}
			fd[k+off] = x
			if odd && bmin <= k && k <= bmax && bd[k+off] <= x {
				return x, y, true
			}
		}
		// Backward search, one more edit step.
		if bmin > dmin {
			bmin--
			bd[bmin-1+off] = inf
		} else {
			bmin++
		}
		if bmax < dmax {
			bmax++
			bd[bmax+1+off] = inf
		} else {
			bmax--
		}
		for k := bmax; k >= bmin; k -= 2 {
			tlo, thi := bd[k-1+off], bd[k+1+off]
			x := thi - 1
			if tlo < thi {
				x = tlo
			}
			y := x - k
			for x > xoff && y > yoff && d.a[x-1] == d.b[y-1] {
				x--
				y--
			}
			bd[k+off] = x
			if !odd && fmin <= k && k <= fmax && x <= fd[k+off] {
				return x, y, true
			}
		}
		if c >= d.limit {
			// Too expensive: split at the forward point that got furthest.
			best, bx, by := -1, 0, 0
			for k := fmax; k >= fmin; k -= 2 {
				x := min(fd[k+off], xlim)
				y := x - k
				if y < yoff || y > ylim {
					continue
				}
				if x+y > best {
					best, bx, by = x+y, x, y
				}
			}
			return bx, by, best >= 0
		}
	}
}
