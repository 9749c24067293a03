package app

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/testlog"
)

// TestSuperviseRestartsAPanickingJob: a background job that panics is
// logged with its stack and run again; the server goes on, and the job
// ends when its context does.
func TestSuperviseRestartsAPanickingJob(t *testing.T) {
	defer func(first, most time.Duration) { firstRestartPause, maxRestartPause = first, most }(firstRestartPause, maxRestartPause)
	firstRestartPause, maxRestartPause = 0, 0
	logger, logs := testlog.New(slog.LevelInfo)
	a := &App{log: logger}
	ctx, cancel := context.WithCancel(t.Context())
	runs := 0
	running := make(chan struct{})
	a.supervise(ctx, "flaky", func(ctx context.Context) {
		if runs++; runs <= 2 {
			panic("a bug")
		}
		close(running)
		<-ctx.Done()
	})
	select {
	case <-running:
	case <-time.After(time.Minute):
		t.Fatal("the job did not run a third time")
	}
	cancel()
	a.background.Wait() // returns only if the job, and its supervisor, ended
	if runs != 3 {
		t.Errorf("runs: got %d, want 3", runs)
	}
	out := logs.String()
	if n := strings.Count(out, "a background job panicked"); n != 2 || !strings.Contains(out, "job=flaky") || !strings.Contains(out, "supervise_internal_test.go") {
		t.Errorf("want two panics logged with the job's name and stack; log:\n%s", out)
	}
}
