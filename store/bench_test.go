package store

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"testing"
)

const benchBytes = 4 << 20 // 4 MiB, a small shard of weights

func benchData() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, benchBytes)
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b
}

// BenchmarkPutBytes measures storing 4 MiB: "new" writes a fresh blob each time (hash,
// write, fsync, rename, fsync directory; the blob is deleted outside the timer), "dedup"
// puts bytes that are already stored (hash, then a cached verification of the blob).
func BenchmarkPutBytes(b *testing.B) {
	b.Run("new", func(b *testing.B) {
		s, err := OpenFS(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		data := benchData()
		b.SetBytes(benchBytes)
		for i := 0; b.Loop(); i++ {
			binary.LittleEndian.PutUint64(data, uint64(i)) // new content every time
			ref, err := s.PutBytes("", data)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			os.Remove(s.blobPath(ref.Hex()))
			b.StartTimer()
		}
	})
	b.Run("dedup", func(b *testing.B) {
		s, err := OpenFS(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		data := benchData()
		if _, err := s.PutBytes("", data); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(benchBytes)
		for b.Loop() {
			if _, err := s.PutBytes("", data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGet measures reading and verifying (SHA-256) a 4 MiB artifact from the page
// cache.
func BenchmarkGet(b *testing.B) {
	s, err := OpenFS(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ref, err := s.PutBytes("", benchData())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchBytes)
	for b.Loop() {
		if _, err := s.Get(ref); err != nil {
			b.Fatal(err)
		}
	}
}
