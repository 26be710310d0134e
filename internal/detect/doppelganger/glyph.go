package doppelganger

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLabel is the longest DNS label (RFC 1035); longer "labels" (junk
// Host headers) are not judged.
const maxLabel = 63

// glyphs is one label (or part of one) prepared for comparison: its ASCII
// form and its skeleton, in which characters that look alike are one
// character ("0" and "o" are "o"; "1", "i" and "l" are "l"; "rn" is "m";
// "vv" is "w"), so that a look-alike has the skeleton of what it imitates.
type glyphs struct {
	// ascii is the label with IDN look-alikes mapped to ASCII
	// ("аpple" with a Cyrillic а is "apple"); a character with no ASCII
	// look-alike is '?', which matches nothing.
	ascii string
	skel  [maxLabel]byte
	n     int
	// from[p] is where skeleton byte p starts in ascii; from[n] = len.
	from [maxLabel + 1]uint8
}

func (g *glyphs) skeleton() string { return string(g.skel[:g.n]) }

// unit returns the ASCII text that skeleton byte p came from.
func (g *glyphs) unit(p int) string { return g.ascii[g.from[p]:g.from[p+1]] }

// span returns the ASCII text of skeleton bytes [i, j).
func (g *glyphs) span(i, j int) string { return g.ascii[g.from[i]:g.from[j]] }

// digit reports whether skeleton byte p was written as a digit.
func (g *glyphs) digit(p int) bool {
	c := g.ascii[g.from[p]]
	return c >= '0' && c <= '9'
}

// set fills g from an ASCII label (lower case, at most maxLabel bytes).
func (g *glyphs) set(s string) {
	g.ascii, g.n = s, 0
	for i := 0; i < len(s); {
		c, w := s[i], 1
		switch c {
		case '0':
			c = 'o'
		case '1', 'i':
			c = 'l'
		case '3':
			c = 'e'
		case '4':
			c = 'a'
		case '5':
			c = 's'
		case 'r':
			if i+1 < len(s) && s[i+1] == 'n' {
				c, w = 'm', 2
			}
		case 'v':
			if i+1 < len(s) && s[i+1] == 'v' {
				c, w = 'w', 2
			}
		}
		g.from[g.n] = uint8(i)
		g.skel[g.n] = c
		g.n++
		i += w
	}
	g.from[g.n] = uint8(len(s))
}

// skeletonOf returns the skeleton of an ASCII name.
func skeletonOf(s string) string {
	var g glyphs
	g.set(s)
	return g.skeleton()
}

// idnSub is one non-ASCII character of a label and the ASCII letter it
// passes for.
type idnSub struct {
	r     rune
	ascii string
}

// describe says "Cyrillic 'а' (U+0430) for 'a'".
func (s idnSub) describe() string {
	script := "Unicode"
	switch {
	case unicode.Is(unicode.Cyrillic, s.r):
		script = "Cyrillic"
	case unicode.Is(unicode.Greek, s.r):
		script = "Greek"
	case unicode.Is(unicode.Latin, s.r):
		script = "accented Latin"
	}
	return fmt.Sprintf("%s '%c' (U+%04X) for '%s'", script, s.r, s.r, s.ascii)
}

// asciiLabel turns a label into the ASCII text it looks like: a Punycode
// label ("xn--...") or raw UTF-8 is decoded and each character mapped to
// its ASCII look-alike. decoded is the Unicode label ("" when the label
// was plain ASCII); subs lists the non-ASCII characters, and bit i of
// foreign is set when ascii[i] stands for one. ok is false for a label
// that cannot be decoded.
func asciiLabel(label string) (ascii, decoded string, subs []idnSub, foreign uint64, ok bool) {
	var runes []rune
	switch {
	case strings.HasPrefix(label, "xn--"):
		runes, ok = punycodeDecode(label[4:])
		if !ok {
			return "", "", nil, 0, false
		}
	case isASCII(label):
		return label, "", nil, 0, true
	default:
		if !utf8.ValidString(label) {
			return "", "", nil, 0, false
		}
		runes = []rune(label)
	}
	var b strings.Builder
	for _, r := range runes {
		if r < utf8.RuneSelf {
			b.WriteByte(byte(unicode.ToLower(r)))
			continue
		}
		r = unicode.ToLower(r)
		a, found := confusable[r]
		if !found {
			a = "?"
		}
		subs = append(subs, idnSub{r, a})
		for k := 0; k < len(a); k++ {
			if b.Len() < 64 {
				foreign |= 1 << b.Len()
			}
			b.WriteByte(a[k])
		}
	}
	return b.String(), string(runes), subs, foreign, true
}

// spanForeign reports whether any of ascii[i:j] stands for a non-ASCII
// character, by the foreign mask of asciiLabel.
func spanForeign(foreign uint64, i, j int) bool {
	for ; i < j && i < 64; i++ {
		if foreign&(1<<i) != 0 {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// confusable maps lower-case letters of other scripts, and accented Latin
// letters, to the ASCII letters they pass for in a browser's address bar.
// It covers the characters seen in IDN homograph attacks (Cyrillic and
// Greek look-alikes, dotless i, script g) and Latin diacritics; it is a
// hand-picked subset of Unicode's confusables (UTS #39), not a copy.
var confusable = map[rune]string{
	// Cyrillic
	'а': "a", 'е': "e", 'ё': "e", 'о': "o", 'р': "p", 'с': "c", 'у': "y", 'х': "x",
	'і': "i", 'ї': "i", 'ј': "j", 'ѕ': "s", 'ԁ': "d", 'ԛ': "q", 'ԝ': "w", 'һ': "h",
	'ӏ': "l", 'к': "k", 'м': "m", 'п': "n", 'г': "r", 'т': "t", 'ү': "y", 'в': "b",
	'ь': "b", 'н': "h", 'ц': "u", 'з': "3", 'ԍ': "g", 'ѵ': "v", 'ꙇ': "i",
	// Greek
	'α': "a", 'β': "b", 'ε': "e", 'η': "n", 'ι': "i", 'κ': "k", 'ν': "v", 'ο': "o",
	'ρ': "p", 'τ': "t", 'υ': "u", 'χ': "x", 'γ': "y", 'ω': "w", 'ϲ': "c", 'ϳ': "j",
	// Latin look-alikes
	'ı': "i", 'ɑ': "a", 'ɡ': "g", 'ɩ': "i", 'ǀ': "l", 'ȷ': "j", 'ʟ': "l", 'ɪ': "i",
	'ᴏ': "o", 'ꮃ': "w", 'ſ': "s", 'ƅ': "b", 'ɢ': "g", 'ʀ': "r", 'ᴄ': "c", 'ᴠ': "v",
	// Latin with diacritics
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'ā': "a", 'ă': "a", 'ą': "a", 'ǎ': "a",
	'ç': "c", 'ć': "c", 'ĉ': "c", 'ċ': "c", 'č': "c",
	'ď': "d", 'đ': "d",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ē': "e", 'ĕ': "e", 'ė': "e", 'ę': "e", 'ě': "e", 'ẹ': "e",
	'ĝ': "g", 'ğ': "g", 'ġ': "g", 'ģ': "g",
	'ĥ': "h", 'ħ': "h",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ĩ': "i", 'ī': "i", 'ĭ': "i", 'į': "i", 'ǐ': "i", 'ị': "i",
	'ĵ': "j", 'ķ': "k",
	'ĺ': "l", 'ļ': "l", 'ľ': "l", 'ŀ': "l", 'ł': "l",
	'ñ': "n", 'ń': "n", 'ņ': "n", 'ň': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ō': "o", 'ŏ': "o", 'ő': "o", 'ǒ': "o", 'ọ': "o",
	'ŕ': "r", 'ŗ': "r", 'ř': "r",
	'ś': "s", 'ŝ': "s", 'ş': "s", 'š': "s", 'ș': "s",
	'ţ': "t", 'ť': "t", 'ŧ': "t", 'ț': "t",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ũ': "u", 'ū': "u", 'ŭ': "u", 'ů': "u", 'ű': "u", 'ų': "u", 'ǔ': "u", 'ụ': "u",
	'ŵ': "w", 'ý': "y", 'ÿ': "y", 'ŷ': "y", 'ź': "z", 'ż': "z", 'ž': "z",
	'ß': "ss", 'æ': "ae", 'œ': "oe",
}

// Punycode (RFC 3492) parameters.
const (
	pcBase        = 36
	pcTMin        = 1
	pcTMax        = 26
	pcSkew        = 38
	pcDamp        = 700
	pcInitialBias = 72
	pcInitialN    = 128
)

// punycodeDecode decodes the part of an IDN label after "xn--" (RFC 3492,
// section 6.2). It is written here rather than taken from
// golang.org/x/net/idna because only decoding is needed and idna pulls in
// golang.org/x/text, which the module does not otherwise need.
func punycodeDecode(s string) ([]rune, bool) {
	if len(s) > maxLabel {
		return nil, false
	}
	var out []rune
	pos := 0
	if b := strings.LastIndexByte(s, '-'); b >= 0 {
		for i := 0; i < b; i++ {
			if s[i] >= utf8.RuneSelf {
				return nil, false
			}
			out = append(out, rune(s[i]))
		}
		pos = b + 1
	}
	n, bias, i := pcInitialN, pcInitialBias, 0
	for pos < len(s) {
		oldi, w := i, 1
		for k := pcBase; ; k += pcBase {
			if pos >= len(s) {
				return nil, false
			}
			d := punyDigit(s[pos])
			pos++
			if d < 0 || d > (1<<30-i)/w {
				return nil, false
			}
			i += d * w
			t := k - bias
			if t < pcTMin {
				t = pcTMin
			} else if t > pcTMax {
				t = pcTMax
			}
			if d < t {
				break
			}
			if w > (1<<30)/(pcBase-t) {
				return nil, false
			}
			w *= pcBase - t
		}
		num := len(out) + 1
		bias = punyAdapt(i-oldi, num, oldi == 0)
		n += i / num
		i %= num
		if n > unicode.MaxRune || len(out) >= maxLabel {
			return nil, false
		}
		out = append(out, 0)
		copy(out[i+1:], out[i:])
		out[i] = rune(n)
		i++
	}
	return out, true
}

func punyDigit(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return int(c - 'a')
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= '0' && c <= '9':
		return int(c-'0') + 26
	}
	return -1
}

func punyAdapt(delta, num int, first bool) int {
	if first {
		delta /= pcDamp
	} else {
		delta /= 2
	}
	delta += delta / num
	k := 0
	for delta > ((pcBase-pcTMin)*pcTMax)/2 {
		delta /= pcBase - pcTMin
		k += pcBase
	}
	return k + (pcBase-pcTMin+1)*delta/(delta+pcSkew)
}
