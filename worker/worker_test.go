package worker

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestLoggerWritesFieldsAndErrors(t *testing.T) {
	var buf bytes.Buffer
	l := Logger{Z: zerolog.New(&buf)}
	l.With("run", "demo").Error("activity failed", "gen", 3, "Error", errors.New("disk full"))
	out := buf.String()
	for _, want := range []string{`"run":"demo"`, `"gen":3`, `"Error":"disk full"`, `"message":"activity failed"`, `"level":"error"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log line %s lacks %s", out, want)
		}
	}
}
