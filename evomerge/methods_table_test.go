package evomerge

import (
	"os"
	"strings"
	"testing"
)

func TestREADMEMethodTableMatchesRegistry(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := MethodsMarkdown(); !strings.Contains(string(readme), want) {
		t.Errorf("README.md's merge-method table is out of date; replace it with:\n%s", want)
	}
}
