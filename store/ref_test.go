package store

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strings"
	"testing"
)

func TestKeyIsSHA256OfCanonicalJSON(t *testing.T) {
	// Map keys are written sorted, so the map's literal order does not matter.
	got := Key("merge", map[string]any{"weights": []float64{0.5, 0.25}, "method": "ties"}, 3, "sha256:00")
	const literal = `["merge",{"method":"ties","weights":[0.5,0.25]},3,"sha256:00"]`
	// Computed independently: printf '%s' "$literal" | sha256sum
	const want = "4f816eaac73915ce5dfd307ef89ab5fdbe46deedb5d3d79d77b091163c0e8e11"
	sum := sha256.Sum256([]byte(literal))
	if hex.EncodeToString(sum[:]) != want {
		t.Fatalf("test constant is wrong: sha256(%s) = %x", literal, sum)
	}
	if got != want {
		t.Errorf("Key = %s, want %s", got, want)
	}
	if got := Key(); got != "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945" { // sha256("[]")
		t.Errorf("Key() = %s, want sha256 of []", got)
	}
	if Key("a", 1) == Key("a", "1") || Key(1, 2) == Key(2, 1) {
		t.Error("distinct inputs share a key")
	}
}

func TestKeyPanicsOnUnencodable(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "store: Key") {
			t.Errorf("panic = %v, want a store: Key message", r)
		}
	}()
	Key(math.NaN())
}

func TestRefValidate(t *testing.T) {
	good := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		ref  Ref
		want string // substring of the error, "" for valid
	}{
		{Ref{good, 0}, ""},
		{Ref{good, 1 << 40}, ""},
		{Ref{good, -1}, "negative size"},
		{Ref{strings.ToUpper(good[7:]), 1}, "want \"sha256:\""},
		{Ref{"sha256:" + strings.Repeat("AB", 32), 1}, "lowercase hex"},
		{Ref{"sha256:" + strings.Repeat("a", 63), 1}, "64 lowercase hex"},
		{Ref{"sha512:" + strings.Repeat("a", 64), 1}, "sha512"},
		{Ref{"sha256:" + strings.Repeat("g", 64), 1}, "hex"},
		{Ref{"", 1}, "digest \"\""},
	}
	for _, tc := range tests {
		err := tc.ref.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc.ref, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want one containing %q", tc.ref, err, tc.want)
		}
	}
	r, err := ParseRef(good, 7)
	if err != nil || r.Hex() != strings.Repeat("ab", 32) || r.Bytes != 7 {
		t.Errorf("ParseRef = %+v, %v", r, err)
	}
	if _, err := ParseRef("md5:00", 7); err == nil {
		t.Error("ParseRef accepted md5:00")
	}
}
