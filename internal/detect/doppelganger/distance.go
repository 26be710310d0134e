package doppelganger

import (
	"fmt"
	"strings"
)

// Edit distance here is Damerau–Levenshtein in its optimal-string-alignment
// form: insertions, deletions, substitutions and swaps of two adjacent
// characters each cost 1. Swaps matter: "micorsoft" and "goolge" are among
// the commonest typosquats, and plain Levenshtein (as in
// github.com/agnivade/levenshtein) counts them as 2, the same as unrelated
// changes. It is computed on skeletons, so a look-alike character costs
// nothing, and bounded: the work stops once a row exceeds the limit. Both
// strings are DNS labels (at most 63 bytes), so rows live on the stack.

// osa returns the edit distance between a and b, or max+1 when it is
// larger than max.
func osa(a, b []byte, max int) int {
	la, lb := len(a), len(b)
	if la-lb > max || lb-la > max {
		return max + 1
	}
	if la > maxLabel || lb > maxLabel {
		return max + 1
	}
	var rows [3][maxLabel + 1]uint8
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= lb; j++ {
		prev[j] = uint8(j)
	}
	for i := 1; i <= la; i++ {
		cur[0] = uint8(i)
		rowMin := cur[0]
		ai := a[i-1]
		for j := 1; j <= lb; j++ {
			v := prev[j-1]
			if ai != b[j-1] {
				v++
			}
			if d := prev[j] + 1; d < v {
				v = d
			}
			if d := cur[j-1] + 1; d < v {
				v = d
			}
			if i > 1 && j > 1 && ai == b[j-2] && a[i-2] == b[j-1] && ai != b[j-1] {
				if d := prev2[j-2] + 1; d < v {
					v = d
				}
			}
			cur[j] = v
			if v < rowMin {
				rowMin = v
			}
		}
		if int(rowMin) > max {
			return max + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return int(prev[lb])
}

// edit is one step that turns the brand's name into the look-alike.
type edit struct {
	op   byte   // 'h' look-alike, 's' substitution, 'd' deletion, 'i' insertion, 't' swap
	have string // what the look-alike has ("" for a deletion)
	want string // what the brand has ("" for an insertion)
	// before and after are the neighbouring characters of the look-alike
	// (0 at an end), to classify an insertion as a doubled letter.
	before, after byte
	// end is true for a deletion of the brand's first or last letter.
	end bool
}

func (e edit) String() string {
	switch e.op {
	case 'h', 's':
		return fmt.Sprintf("'%s' for '%s'", e.have, e.want)
	case 'd':
		return fmt.Sprintf("'%s' left out", e.want)
	case 'i':
		return fmt.Sprintf("'%s' added", e.have)
	case 't':
		return fmt.Sprintf("'%s' for '%s' (swapped)", e.have, e.want)
	case 'x':
		return e.have
	}
	return "?"
}

// align returns the edits that turn t into x, both compared by skeleton:
// look-alike characters (same skeleton, different text) are edits of kind
// 'h' that do not count in dist.
func align(x, t *glyphs) (dist int, edits []edit) {
	la, lb := x.n, t.n
	var m [maxLabel + 1][maxLabel + 1]uint8
	for i := 0; i <= la; i++ {
		m[i][0] = uint8(i)
	}
	for j := 0; j <= lb; j++ {
		m[0][j] = uint8(j)
	}
	a, b := x.skel[:la], t.skel[:lb]
	for i := 1; i <= la; i++ {
		for j := 1; j <= lb; j++ {
			v := m[i-1][j-1]
			if a[i-1] != b[j-1] {
				v++
			}
			v = min(v, m[i-1][j]+1, m[i][j-1]+1)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] && a[i-1] != b[j-1] {
				v = min(v, m[i-2][j-2]+1)
			}
			m[i][j] = v
		}
	}
	dist = int(m[la][lb])
	near := func(i int) (byte, byte) {
		var before, after byte
		if i > 0 {
			before = a[i-1]
		}
		if i+1 < la {
			after = a[i+1]
		}
		return before, after
	}
	for i, j := la, lb; i > 0 || j > 0; {
		switch {
		case i > 0 && j > 0 && a[i-1] == b[j-1] && m[i][j] == m[i-1][j-1]:
			if xu, tu := x.unit(i-1), t.unit(j-1); xu != tu {
				edits = append(edits, edit{op: 'h', have: xu, want: tu})
			}
			i, j = i-1, j-1
		case i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] && a[i-1] != b[j-1] && m[i][j] == m[i-2][j-2]+1:
			edits = append(edits, edit{op: 't', have: x.span(i-2, i), want: t.span(j-2, j)})
			i, j = i-2, j-2
		case i > 0 && j > 0 && m[i][j] == m[i-1][j-1]+1:
			edits = append(edits, edit{op: 's', have: x.unit(i - 1), want: t.unit(j - 1)})
			i, j = i-1, j-1
		case i > 0 && m[i][j] == m[i-1][j]+1:
			bf, af := near(i - 1)
			edits = append(edits, edit{op: 'i', have: x.unit(i - 1), before: bf, after: af})
			i--
		default:
			edits = append(edits, edit{op: 'd', want: t.unit(j - 1), end: j == 1 || j == lb})
			j--
		}
	}
	for l, r := 0, len(edits)-1; l < r; l, r = l+1, r-1 {
		edits[l], edits[r] = edits[r], edits[l]
	}
	return dist, edits
}

// slip reports whether an edit is the kind a reader overlooks and a
// typosquatter registers: a look-alike, a swap of neighbours, a letter
// left out inside the name, or a doubled letter; in a long name also a
// neighbouring key typed instead or added, or one vowel for another.
// Other edits, and any replaced letter in a short name, mostly give
// another word or brand ("slack" and "stack", "elle" and "zelle", "fedex"
// and "redex", "gmail" and "ymail").
func slip(e edit, long bool) bool {
	switch e.op {
	case 'h', 't':
		return true
	case 'd':
		return !e.end
	case 'i':
		if len(e.have) != 1 {
			return false
		}
		c := e.have[0]
		return c == e.before || c == e.after || long && (adjacentKey(c, e.before) || adjacentKey(c, e.after))
	case 's':
		if !long || len(e.have) != 1 || len(e.want) != 1 {
			return false
		}
		return adjacentKey(e.have[0], e.want[0]) || vowel(e.have[0]) && vowel(e.want[0])
	}
	return false
}

// letterSwap reports whether a look-alike edit puts one letter for
// another ('l' for 'i'): convincing in a distinctive name ("paypai"),
// but between words it mostly links unrelated ones ("mall" and "mail").
func letterSwap(e edit) bool {
	return e.op == 'h' && len(e.have) == 1 && len(e.want) == 1 && e.have[0] >= 'a' && e.want[0] >= 'a'
}

func vowel(c byte) bool { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' }

var qwerty = [...]string{"1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"}

var keyNeighbours = func() (adj [128][128]bool) {
	pos := map[byte][2]int{}
	for r, row := range qwerty {
		for c := 0; c < len(row); c++ {
			pos[row[c]] = [2]int{r, c}
		}
	}
	at := func(r, c int) (byte, bool) {
		if r < 0 || r >= len(qwerty) || c < 0 || c >= len(qwerty[r]) {
			return 0, false
		}
		return qwerty[r][c], true
	}
	for k, p := range pos {
		// Rows are staggered: the keys touching (r, c) are its row
		// neighbours, (r-1, c) and (r-1, c+1) above, (r+1, c-1) and
		// (r+1, c) below.
		for _, d := range [][2]int{{0, -1}, {0, 1}, {-1, 0}, {-1, 1}, {1, -1}, {1, 0}} {
			if n, ok := at(p[0]+d[0], p[1]+d[1]); ok {
				adj[k][n] = true
			}
		}
	}
	return adj
}()

func adjacentKey(a, b byte) bool { return a < 128 && b < 128 && keyNeighbours[a][b] }

// describeEdits joins edits for evidence ("'0' for 'o', '-' added").
func describeEdits(es []edit) string {
	parts := make([]string, 0, len(es))
	for _, e := range es {
		parts = append(parts, e.String())
	}
	return strings.Join(parts, ", ")
}

// letterMask has one bit per character present. Each edit changes at
// most two bits, so two names whose masks differ in more than 2k bits are
// more than k edits apart: a cheap test before the distance.
func letterMask(s []byte) uint64 {
	var m uint64
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
			m |= 1 << (c - 'a')
		case c >= '0' && c <= '9':
			m |= 1 << (26 + c - '0')
		default:
			m |= 1 << 36
		}
	}
	return m
}
