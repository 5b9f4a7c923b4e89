package evomerge

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEMethodTableMatchesRegistry checks README.md's merge-method table against the
// registry: every row the README shows must be the registry's row, in the registry's
// order. Methods the README does not list yet are logged with the full replacement table
// (README.md is edited separately from the methods); once it lists them all, the table
// must match exactly.
func TestREADMEMethodTableMatchesRegistry(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := MethodsMarkdown()
	if strings.Contains(string(readme), want) {
		return
	}
	wantRows := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	index := map[string]int{}
	for i, r := range wantRows {
		index[r] = i
	}
	last, shown, inTable := -1, 0, false
	for _, line := range strings.Split(string(readme), "\n") {
		if line == wantRows[0] {
			inTable = true
			continue
		}
		if !inTable || line == wantRows[1] {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		i, ok := index[line]
		switch {
		case !ok:
			t.Errorf("README.md's merge-method table has a row the registry does not: %s\nreplace the table with:\n%s", line, want)
			return
		case i <= last:
			t.Errorf("README.md's merge-method table is out of order at: %s\nreplace the table with:\n%s", line, want)
			return
		}
		last = i
		shown++
	}
	if shown == 0 {
		t.Fatalf("README.md has no merge-method table; add:\n%s", want)
	}
	t.Errorf("README.md's merge-method table lacks %d of the registry's %d rows; replace it with:\n%s", len(wantRows)-2-shown, len(wantRows)-2, want)
}
