package devserver

import (
	"errors"
	"strings"
	"testing"

	"go.temporal.io/server/common/log/tag"
)

// A Fatal from inside the server while it starts comes back from Start as an error
// naming what failed, instead of the server carrying on with what it could not build.
func TestServerFatalBecomesAnError(t *testing.T) {
	start := func() (err error) {
		defer recoverFatal(&err)
		zerologLogger{}.Fatal("listen failed", tag.NewStringTag("address", "127.0.0.1:1"))
		return nil
	}
	err := start()
	var fe *fatalError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "listen failed, address: 127.0.0.1:1") {
		t.Errorf("err = %v", err)
	}
}
