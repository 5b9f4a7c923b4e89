package main

import (
	"bytes"
	"debug/elf"
	"os"
	"sync"
)

// memoBuild is the memo field holding the Go build ID of the evomerge that started a run.
// Resuming a failed run resets it, which replays its history with the current build's
// workflow code; when the build differs, `run` warns that a changed workflow can fail the
// replay with a non-determinism error.
const memoBuild = "evomerge_build"

// buildID is this executable's Go build ID (what `go tool buildid` prints): the same for
// the same source and flags, whether built by go build or go run. Empty where it cannot be
// read (not an ELF executable).
var buildID = sync.OnceValue(readBuildID)

// readBuildID reads the Go build ID from the executable's .note.go.buildid ELF note:
// name size, description size and type (4 bytes each), the name "Go\0\0", then the ID.
func readBuildID() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	f, err := elf.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		return ""
	}
	note, err := sec.Data()
	if err != nil || len(note) < 16 {
		return ""
	}
	bo := f.ByteOrder
	nameSize, descSize := bo.Uint32(note[0:]), bo.Uint32(note[4:])
	if nameSize != 4 || !bytes.Equal(note[12:16], []byte("Go\x00\x00")) || uint64(len(note)) < 16+uint64(descSize) {
		return ""
	}
	return string(note[16 : 16+descSize])
}
