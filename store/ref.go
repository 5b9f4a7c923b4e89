package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// digestPrefix is the algorithm part of every digest this store writes.
const digestPrefix = "sha256:"

// Ref names a stored artifact by content: Digest is "sha256:<64 hex>" of its bytes.
type Ref struct {
	Digest string `json:"digest"`
	Bytes  int64  `json:"bytes"`
}

// ParseRef builds a Ref from a digest string and a size in bytes, and validates both (see
// Ref.Validate).
func ParseRef(digest string, bytes int64) (Ref, error) {
	r := Ref{Digest: digest, Bytes: bytes}
	if err := r.Validate(); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// Validate checks the syntax of r: Digest must be "sha256:" followed by 64 lowercase hex
// digits and Bytes must not be negative. It does not touch any store.
func (r Ref) Validate() error {
	h, ok := strings.CutPrefix(r.Digest, digestPrefix)
	if !ok || !isLowerHex64(h) {
		return fmt.Errorf("store: ref digest %q: want %q followed by 64 lowercase hex digits", r.Digest, digestPrefix)
	}
	if r.Bytes < 0 {
		return fmt.Errorf("store: ref %s: negative size %d bytes", r.Digest, r.Bytes)
	}
	return nil
}

// Hex returns the hex part of the digest (what follows "sha256:"). It does not validate.
func (r Ref) Hex() string {
	return strings.TrimPrefix(r.Digest, digestPrefix)
}

// refOf returns the Ref of a SHA-256 sum and size.
func refOf(sum []byte, size int64) Ref {
	return Ref{Digest: digestPrefix + hex.EncodeToString(sum), Bytes: size}
}

// Key is the sha256 hex of the canonical JSON of parts: json.Marshal of []any{parts...}.
// encoding/json writes map keys sorted and struct fields in declaration order, so equal
// inputs give equal keys in every process and on every run. Key() with no parts hashes
// "[]". Use it for "canonical inputs" keys: parent digests, recipe JSON, method version.
//
// Key panics if parts cannot be encoded as JSON (a channel, a function, a NaN or infinite
// float): a key must be computed from plain, finite data.
func Key(parts ...any) string {
	if parts == nil {
		parts = []any{}
	}
	b, err := json.Marshal(parts)
	if err != nil {
		panic(fmt.Sprintf("store: Key: parts cannot be encoded as JSON: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// checkKey reports an error unless key looks like a Key: 64 lowercase hex digits. The key
// becomes a file name, so nothing else is accepted.
func checkKey(key string) error {
	if !isLowerHex64(key) {
		return fmt.Errorf("store: key %q: want 64 lowercase hex digits (see store.Key)", key)
	}
	return nil
}

func isLowerHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
