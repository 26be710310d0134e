package doppelganger

import (
	"testing"

	"github.com/vigil-ndr/vigil/internal/intel/brands"
	"github.com/vigil-ndr/vigil/internal/intel/domain"
)

// FuzzCheck feeds arbitrary names (DNS queries, SNI and Host headers are
// attacker-controlled) through normalisation, Punycode decoding and the
// look-alike check: nothing may panic, and the verdict is deterministic.
// (A brand's own domains never reach check: the model skips them first.)
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"login.micros0ft-online.com", "xn--pypal-4ve.com", "xn--80ak6aa92e.com", "paypal.com.verify.net",
		"zoom.zoom-meetings-join.us", "gamil.com", "a", "", "xn--", "xn---", "..", "-.-", "\xff\xfe.com",
	} {
		f.Add(s)
	}
	ix := newIndex(brands.Default(), (&Model{MinTokenLen: 4, TypoMinLen: 5, TypoLongLen: 9, TypoTwoEditsLen: 13}).limits())
	f.Fuzz(func(t *testing.T, name string) {
		h := domain.Normalize(name)
		if len(h) > 253 {
			return
		}
		_, _ = punycodeDecode(h)
		reg := domain.Registrable(h)
		v := ix.check(h, reg, newTargetSet(), 0.8)
		w := ix.check(h, reg, newTargetSet(), 0.8)
		if (v == nil) != (w == nil) || (v != nil && (len(v.findings) != len(w.findings) || v.label != w.label)) {
			t.Fatalf("%q: verdict differs between two checks", h)
		}
	})
}
