package app

import (
	"runtime/debug"
	"strings"
)

// BuildInfo is what the binary knows about its own build.
type BuildInfo struct {
	// Version is the module version ("(devel)" for a build from a clone).
	Version string
	// Revision is the VCS commit, with "+dirty" when the tree had changes;
	// empty when the build did not record it (go run, go test).
	Revision string
	// Time is the commit's time (RFC 3339), when recorded.
	Time string
	// Go is the toolchain that built the binary.
	Go string
}

// ReadBuildInfo reads the build information the Go toolchain embedded.
func ReadBuildInfo() BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return BuildInfo{Version: "unknown"}
	}
	b := BuildInfo{Version: bi.Main.Version, Go: bi.GoVersion}
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && b.Revision != "" {
		b.Revision += "+dirty"
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	return b
}

// String is the version as the API document reports it: the module version,
// and the revision's first 12 characters when known.
func (b BuildInfo) String() string {
	if b.Revision == "" {
		return b.Version
	}
	rev, dirty := strings.CutSuffix(b.Revision, "+dirty")
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return b.Version + " (" + rev + ")"
}
