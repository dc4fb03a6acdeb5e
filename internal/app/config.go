// Package app is the miosa-mcp command: configuration from the environment
// and flags, the stdio and HTTP servers, and the human CLI (tools, call,
// config). cmd/miosa-mcp only calls Run.
package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/miosa-osa/miosa-mcp/internal/observe"
	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// Defaults documented on the MIOSA MCP docs page. The MIOSA_TIMEOUT_MS
// default is runtime.DefaultTimeout, which the runtime also applies.
const (
	DefaultAPIURL   = "https://api.miosa.ai"
	DefaultTemplate = "miosa-sandbox"
	DefaultLogLevel = "warn"
	DefaultListen   = "127.0.0.1:8787"
	apiPrefix       = "/api/v1"
)

// DefaultLogFormat is MIOSA_LOG_FORMAT's default: text, for a person
// reading a terminal; json is one object per line, for a log pipeline.
const DefaultLogFormat = "text"

// Config is the validated server configuration.
type Config struct {
	APIKey          runtime.APIKey
	APIURL          *url.URL // API base including /api/v1
	DefaultTemplate string
	Timeout         time.Duration
	LogLevel        slog.Level
	LogFormat       string // text or json (MIOSA_LOG_FORMAT)
	Tracing         observe.Tracing
	Selection       runtime.Selection
	Local           LocalConfig
}

// LocalConfig is the local-file arguments' configuration (issue #12),
// used by the commands that run on the user's machine (stdio, call,
// tools); `miosa-mcp http` never serves them.
type LocalConfig struct {
	Off       bool     // --no-local-files, MIOSA_NO_LOCAL_FILES
	AllowDirs []string // --allow-dir, MIOSA_ALLOW_DIRS: allowed when the client has no roots
	MaxBytes  int64    // --local-max-bytes, MIOSA_LOCAL_MAX_BYTES
	MaxFiles  int      // --local-max-files, MIOSA_LOCAL_MAX_FILES
}

// LoadConfig reads the MIOSA_* environment. Every invalid value is an error
// that names the variable, its value and what is accepted.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{APIKey: runtime.NewAPIKey(strings.TrimSpace(getenv("MIOSA_API_KEY")))}
	raw := strings.TrimSpace(getenv("MIOSA_API_URL"))
	if raw == "" {
		raw = DefaultAPIURL
	}
	u, err := ParseAPIURL(raw)
	if err != nil {
		// The value may carry credentials (user:pass@): they are never echoed.
		return c, fmt.Errorf("MIOSA_API_URL=%q: %w", redactUserinfo(raw), err)
	}
	c.APIURL = u
	c.DefaultTemplate = strings.TrimSpace(getenv("MIOSA_DEFAULT_TEMPLATE"))
	if c.DefaultTemplate == "" {
		c.DefaultTemplate = DefaultTemplate
	}
	c.Timeout = runtime.DefaultTimeout
	if v := strings.TrimSpace(getenv("MIOSA_TIMEOUT_MS")); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 100 || ms > 3_600_000 {
			return c, fmt.Errorf("MIOSA_TIMEOUT_MS=%q: must be a whole number of milliseconds between 100 and 3600000 (default %d)", v, runtime.DefaultTimeout.Milliseconds())
		}
		c.Timeout = time.Duration(ms) * time.Millisecond
	}
	c.LogLevel, err = ParseLogLevel(getenv("MIOSA_LOG_LEVEL"))
	if err != nil {
		return c, err
	}
	if c.LogFormat, err = ParseLogFormat(getenv("MIOSA_LOG_FORMAT")); err != nil {
		return c, err
	}
	if c.Tracing, err = observe.TracingFromEnv(getenv); err != nil {
		return c, err
	}
	c.Selection.Toolsets = runtime.SplitList(getenv("MIOSA_TOOLSETS"))
	c.Selection.Tools = runtime.SplitList(getenv("MIOSA_TOOLS"))
	c.Selection.Exclude = runtime.SplitList(getenv("MIOSA_EXCLUDE_TOOLS"))
	if v := strings.TrimSpace(getenv("MIOSA_READ_ONLY")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("MIOSA_READ_ONLY=%q: must be true or false", v)
		}
		c.Selection.ReadOnly = b
	}
	if err := loadLocalConfig(getenv, &c.Local); err != nil {
		return c, err
	}
	return c, nil
}

// loadLocalConfig reads the MIOSA_* local-file variables. MIOSA_ALLOW_DIRS
// is a list like PATH (":"-separated; ";" on Windows).
func loadLocalConfig(getenv func(string) string, l *LocalConfig) error {
	if v := strings.TrimSpace(getenv("MIOSA_NO_LOCAL_FILES")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("MIOSA_NO_LOCAL_FILES=%q: must be true or false", v)
		}
		l.Off = b
	}
	for _, d := range filepath.SplitList(getenv("MIOSA_ALLOW_DIRS")) {
		if d = strings.TrimSpace(d); d != "" {
			l.AllowDirs = append(l.AllowDirs, d)
		}
	}
	l.MaxBytes = runtime.DefaultLocalMaxBytes
	if v := strings.TrimSpace(getenv("MIOSA_LOCAL_MAX_BYTES")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("MIOSA_LOCAL_MAX_BYTES=%q: must be a whole number of bytes, at least 1 (default %d)", v, runtime.DefaultLocalMaxBytes)
		}
		l.MaxBytes = n
	}
	l.MaxFiles = runtime.DefaultLocalMaxFiles
	if v := strings.TrimSpace(getenv("MIOSA_LOCAL_MAX_FILES")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("MIOSA_LOCAL_MAX_FILES=%q: must be a whole number, at least 1 (default %d)", v, runtime.DefaultLocalMaxFiles)
		}
		l.MaxFiles = n
	}
	return nil
}

// localFiles turns the configuration into the runtime's, with the
// working directory and the allowed directories checked and made
// absolute (nil when local files are off).
func localFiles(l LocalConfig) (*runtime.LocalFiles, error) {
	if l.Off {
		return nil, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("local files: the working directory: %w (or pass --no-local-files)", err)
	}
	lf := &runtime.LocalFiles{WorkDir: wd, MaxBytes: l.MaxBytes, MaxFiles: l.MaxFiles}
	if home, err := os.UserHomeDir(); err == nil {
		lf.Home = home
	}
	for _, d := range l.AllowDirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("--allow-dir / MIOSA_ALLOW_DIRS %q: %w", d, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("--allow-dir / MIOSA_ALLOW_DIRS %q: not a directory", d)
		}
		lf.AllowDirs = append(lf.AllowDirs, abs)
	}
	return lf, nil
}

// ParseLogLevel accepts debug, info, warn (default) and error.
func ParseLogLevel(v string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return slog.LevelWarn, nil
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("MIOSA_LOG_LEVEL=%q: must be debug, info, warn or error (default warn)", v)
}

// ParseLogFormat accepts text (default) and json.
func ParseLogFormat(v string) (string, error) {
	switch f := strings.ToLower(strings.TrimSpace(v)); f {
	case "":
		return DefaultLogFormat, nil
	case "text", "json":
		return f, nil
	}
	return "", fmt.Errorf("MIOSA_LOG_FORMAT=%q: must be text or json (default %s)", v, DefaultLogFormat)
}

// ParseAPIURL validates MIOSA_API_URL and appends /api/v1 unless present.
// https is required, except for loopback hosts (local mocks and tunnels): the
// key must never cross a network in clear text. User info, queries and
// fragments are refused because they would leak into logs or change targets.
func ParseAPIURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// *url.Error quotes the whole URL, credentials included: keep only
		// its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("not a URL: %v", err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("must be an absolute URL such as %s", DefaultAPIURL)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !runtime.IsLoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("must use https (http is only allowed for localhost/127.0.0.1/[::1])")
		}
	default:
		return nil, fmt.Errorf("scheme must be https")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("must not contain credentials, a query or a fragment")
	}
	p := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(p, apiPrefix) {
		p += apiPrefix
	}
	u.Path, u.RawPath = p, ""
	return u, nil
}

// redactUserinfo replaces the user information of a URL-like value
// (everything between "://" and the last "@" of the authority, or before
// the "@" of a value without a scheme) with [redacted], so that an error
// can quote the value without its credentials.
func redactUserinfo(raw string) string {
	rest, prefix := raw, ""
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return raw
	}
	return prefix + "[redacted]@" + rest[at+1:]
}
