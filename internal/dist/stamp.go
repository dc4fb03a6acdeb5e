package dist

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Stamp is what a release build records in the binary (internal/app's
// version, commit and date). Every field comes from git, never the clock,
// so two builds of one commit are byte-identical.
type Stamp struct {
	Version string    // v0.1.0 on the release tag, else v0.1.0-dev.g<sha12>[.dirty]
	Commit  string    // full sha of HEAD
	Time    time.Time // HEAD's commit time (UTC): the date stamp and every archive mtime
}

// semverRE is the semantic version server.json must carry.
var semverRE = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// ReleaseVersion returns server.json's version: the one source of the
// release number, which the MCP Registry entry, the npm packages and the
// release tag must all agree on.
func ReleaseVersion(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "server.json"))
	if err != nil {
		return "", err
	}
	var s struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return "", fmt.Errorf("server.json: %w", err)
	}
	if !semverRE.MatchString(s.Version) {
		return "", fmt.Errorf("server.json: version %q is not MAJOR.MINOR.PATCH", s.Version)
	}
	return s.Version, nil
}

// VersionFor names a build of commit. On the tag v<release> of a clean tree
// it is that tag; anywhere else it is a pre-release of the coming version,
// v<release>-dev.g<sha12>, plus .dirty for uncommitted changes: valid
// semver, so npm accepts it. Another v* tag on HEAD means server.json was
// not bumped for the release, which is an error.
func VersionFor(release string, tags []string, commit string, dirty bool) (string, error) {
	want := "v" + release
	for _, t := range tags {
		if t == want {
			if dirty {
				return "", fmt.Errorf("HEAD is tagged %s but the tree has uncommitted changes; release builds come from a clean checkout", t)
			}
			return t, nil
		}
	}
	for _, t := range tags {
		if strings.HasPrefix(t, "v") {
			return "", fmt.Errorf("HEAD is tagged %s but server.json says version %s; bump server.json (and packaging/npm) to match the tag", t, release)
		}
	}
	if len(commit) < 12 {
		return "", fmt.Errorf("commit %q is not a full sha", commit)
	}
	v := want + "-dev.g" + commit[:12]
	if dirty {
		v += ".dirty"
	}
	return v, nil
}

// GitStamp derives the stamp of root's HEAD. version, when not empty,
// overrides the derived version (CI release jobs pass the tag).
func GitStamp(ctx context.Context, root, version string) (Stamp, error) {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", root}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return strings.TrimSpace(string(out)), nil
	}
	var st Stamp
	var err error
	if st.Commit, err = git("rev-parse", "HEAD"); err != nil {
		return st, err
	}
	ct, err := git("log", "-1", "--format=%ct", "HEAD")
	if err != nil {
		return st, err
	}
	secs, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return st, fmt.Errorf("commit time %q: %w", ct, err)
	}
	st.Time = time.Unix(secs, 0).UTC()
	if version != "" {
		st.Version = version
		return st, nil
	}
	release, err := ReleaseVersion(root)
	if err != nil {
		return st, err
	}
	tags, err := git("tag", "--points-at", "HEAD")
	if err != nil {
		return st, err
	}
	status, err := git("status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return st, err
	}
	st.Version, err = VersionFor(release, strings.Fields(tags), st.Commit, status != "")
	return st, err
}

// ldflags stamps the binary: symbols and DWARF stripped (-s -w), and the
// three internal/app variables.
func (s Stamp) ldflags() string {
	const pkg = "github.com/miosa-osa/miosa-mcp/internal/app"
	return fmt.Sprintf("-s -w -X %s.version=%s -X %s.commit=%s -X %s.date=%s",
		pkg, s.Version, pkg, s.Commit, pkg, s.Time.Format(time.RFC3339))
}
