// Package buildinfo tells which build of Licensor is running: its version,
// commit and build date, read once from the Go build information. The
// version command, the licensor_build_info metric and the server's start-up
// log line all read it here, so the three never disagree.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// Unknown is the value of a field the build did not record: a binary built
// with -buildvcs=false (or outside a repository) has no commit or date, and
// one built from a work tree (go build, go run) has no module version.
const Unknown = "devel"

// Info is what one build says about itself.
type Info struct {
	// Version is the module version (v1.2.3, or a pseudo-version stamped
	// from version control), or Unknown.
	Version string
	// Commit is the VCS revision, with "-dirty" when the tree had
	// uncommitted changes, or Unknown.
	Commit string
	// Date is the commit's time in RFC 3339 (what Go records; a build
	// from the same commit reports the same date), or Unknown.
	Date string
	// GoVersion is the toolchain that built the binary.
	GoVersion string
}

// String is the one line `licensor version` prints.
func (i Info) String() string {
	if i.Commit == Unknown && i.Date == Unknown {
		return "licensor " + i.Version + " (" + i.GoVersion + "; no commit recorded: built outside a git checkout or with -buildvcs=false)"
	}
	return "licensor " + i.Version + " (commit " + i.Commit + ", built " + i.Date + ", " + i.GoVersion + ")"
}

var (
	once sync.Once
	info Info
)

// Read returns this binary's Info.
func Read() Info {
	once.Do(func() {
		bi, ok := debug.ReadBuildInfo()
		info = FromBuildInfo(bi, ok)
	})
	return info
}

// FromBuildInfo is Read's reading of debug.ReadBuildInfo's result, for
// tests to feed a build of their own.
func FromBuildInfo(bi *debug.BuildInfo, ok bool) Info {
	i := Info{Version: Unknown, Commit: Unknown, Date: Unknown, GoVersion: runtime.Version()}
	if !ok || bi == nil {
		return i
	}
	if bi.GoVersion != "" {
		i.GoVersion = bi.GoVersion
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		i.Version = v
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if s.Value != "" {
				i.Commit = s.Value
			}
		case "vcs.time":
			if s.Value != "" {
				i.Date = s.Value
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && i.Commit != Unknown && !strings.HasSuffix(i.Commit, "-dirty") {
		i.Commit += "-dirty"
	}
	return i
}
