package datadir_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/licensor/licensor/internal/datadir"
)

func TestAcquireRefusesSecondHolderInSameProcess(t *testing.T) {
	dir := t.TempDir()
	first, err := datadir.Acquire(dir)
	if err != nil {
		t.Fatalf("first Acquire: %v", err)
	}
	_, err = datadir.Acquire(dir)
	if !errors.Is(err, datadir.ErrLocked) {
		t.Fatalf("second Acquire: got %v, want ErrLocked", err)
	}
	if want := fmt.Sprintf("(pid %d)", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("second Acquire: got %q, want it to name %s", err, want)
	}
	if err := first.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	again, err := datadir.Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	if err := again.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
}

func TestReleaseTwiceIsHarmless(t *testing.T) {
	l, err := datadir.Acquire(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second Release: got %v, want nil", err)
	}
}

// holdEnv names the directory TestHelperHoldLock locks when the test binary
// runs as the child of TestAcquireRefusesWhileAnotherProcessHolds.
const holdEnv = "DATADIR_TEST_HOLD"

// TestHelperHoldLock is the child process: it takes the lock, says so on
// stdout, and holds it until its stdin closes.
func TestHelperHoldLock(t *testing.T) {
	dir := os.Getenv(holdEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestAcquireRefusesWhileAnotherProcessHolds")
	}
	l, err := datadir.Acquire(dir)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = l.Release()
}

func TestAcquireRefusesWhileAnotherProcessHolds(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child: got %q (%v), want \"locked\"", line, err)
	}

	_, err = datadir.Acquire(dir)
	if !errors.Is(err, datadir.ErrLocked) {
		t.Errorf("Acquire while the child holds: got %v, want ErrLocked", err)
	} else if want := fmt.Sprintf("(pid %d)", cmd.Process.Pid); !strings.Contains(err.Error(), want) {
		t.Errorf("Acquire while the child holds: got %q, want it to name %s", err, want)
	}

	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	l, err := datadir.Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after the child exited: %v", err)
	}
	_ = l.Release()
}
