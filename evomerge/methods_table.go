package evomerge

import (
	"fmt"
	"strings"
)

// MethodsMarkdown renders the registered merge methods and their parameters as the
// Markdown table the README shows (a test keeps the two in step).
func MethodsMarkdown() string {
	var b strings.Builder
	b.WriteString("| method | base | parameter | default | range | meaning |\n|---|---|---|---|---|---|\n")
	for _, name := range MethodNames() {
		m, _ := LookupMethod(name)
		base := "no"
		if m.NeedsBase() {
			base = "yes"
		}
		if len(m.Params()) == 0 {
			fmt.Fprintf(&b, "| `%s` | %s | — | | | |\n", name, base)
		}
		for _, p := range m.Params() {
			fmt.Fprintf(&b, "| `%s` | %s | `%s` | %g | [%g, %g] | %s |\n", name, base, p.Name, p.Default, p.Min, p.Max, p.Doc)
		}
	}
	return b.String()
}
