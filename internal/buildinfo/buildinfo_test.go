package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want Info
	}{
		{"NoBuildInfo", nil, false, Info{Unknown, Unknown, Unknown, runtime.Version()}},
		{"WorkTreeWithoutVCS", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, true,
			Info{Unknown, Unknown, Unknown, "go1.26.8"}},
		{"Tagged", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "false"},
		}}, true, Info{"v1.4.0", "abc123", "2026-12-01T10:00:00Z", "go1.26.8"}},
		{"Dirty", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201100000-abc123abc123+dirty"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"},
		}}, true, Info{"v0.0.0-20261201100000-abc123abc123+dirty", "abc123-dirty", Unknown, "go1.26.8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromBuildInfo(tc.bi, tc.ok); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestReadNamesTheToolchain(t *testing.T) {
	i := Read()
	if i.GoVersion == "" || i.Version == "" || i.Commit == "" || i.Date == "" {
		t.Fatalf("got %+v, want every field set (Unknown where the build recorded nothing)", i)
	}
	if !strings.Contains(i.String(), i.GoVersion) {
		t.Errorf("got %q, want the Go version in it", i.String())
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		info Info
		want string
	}{
		{Info{"v1.4.0", "abc123", "2026-12-01T10:00:00Z", "go1.26.8"}, "licensor v1.4.0 (commit abc123, built 2026-12-01T10:00:00Z, go1.26.8)"},
		{Info{Unknown, Unknown, Unknown, "go1.26.8"}, "licensor devel (go1.26.8; no commit recorded: built outside a git checkout or with -buildvcs=false)"},
	}
	for _, tc := range tests {
		if got := tc.info.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
