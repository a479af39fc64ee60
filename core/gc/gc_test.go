package gc

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestTune(t *testing.T) {
	t.Cleanup(func() { debug.SetGCPercent(100) })

	t.Setenv("GOGC", "150") // restored after the test
	debug.SetGCPercent(150)
	Tune()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("with GOGC set, GC percent became %d, want it left at 150", got)
	}

	os.Unsetenv("GOGC")
	Tune()
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("without GOGC, GC percent %d, want %d", got, gcPercent)
	}
}
