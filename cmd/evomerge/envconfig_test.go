package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Commands that connect to a server take it from the SDK's environment configuration:
// a profile in $TEMPORAL_CONFIG_FILE picked by $TEMPORAL_PROFILE, overridden by
// TEMPORAL_ADDRESS, overridden by --address.
func TestClientConfigurationFromTheEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	srv := testServer(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "temporal.toml")
	body := "[profile.local]\naddress = \"" + srv.Address() + "\"\nnamespace = \"default\"\n\n[profile.nowhere]\naddress = \"127.0.0.1:1\"\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEMPORAL_CONFIG_FILE", cfg)
	t.Setenv("TEMPORAL_ADDRESS", "") // restored after the test…
	os.Unsetenv("TEMPORAL_ADDRESS")  // …and unset during it: a set, empty variable overrides

	// The profile's address reaches the server: an unknown run is reported as such.
	t.Setenv("TEMPORAL_PROFILE", "local")
	if code, _, stderr := runCLI(t, "status", "nosuch"); code != 2 || !strings.Contains(stderr, `no run "nosuch"`) {
		t.Errorf("profile local: exit %d\n%s", code, stderr)
	}
	// TEMPORAL_ADDRESS wins over the profile.
	t.Setenv("TEMPORAL_PROFILE", "nowhere")
	t.Setenv("TEMPORAL_ADDRESS", srv.Address())
	if code, _, stderr := runCLI(t, "status", "nosuch"); code != 2 || !strings.Contains(stderr, `no run "nosuch"`) {
		t.Errorf("TEMPORAL_ADDRESS over profile nowhere: exit %d\n%s", code, stderr)
	}
	// A profile that does not exist is a configuration error, exit 2.
	t.Setenv("TEMPORAL_PROFILE", "missing")
	if code, _, stderr := runCLI(t, "status", "nosuch"); code != 2 || !strings.Contains(stderr, "Temporal client configuration") {
		t.Errorf("missing profile: exit %d\n%s", code, stderr)
	}
}
