// Package mock is an offline, in-process stand-in for the MIOSA cloud REST API.
//
// It is built from api/openapi.yaml so that anyone can try every MCP tool
// without an account and tests need no hand-made fixtures. Every request is
// validated against the spec (kin-openapi), state is kept in memory for all
// resource families, resources move through their statuses lazily (computed
// from timestamps on each read, so no goroutines run behind the caller's
// back), screenshots are real PNGs and exec simulates a small shell without
// ever running anything on the host.
package mock

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/routers"

	"github.com/miosa-osa/miosa-mcp/api"
)

// BasePath is the path prefix the mock serves the API under, as in the
// spec's server URL (https://api.miosa.ai/api/v1).
const BasePath = "/api/v1"

// DefaultReadyAfter is how long resources stay in a transitional status
// (creating, provisioning, building, …) when Options.ReadyAfter is zero: long
// enough that `wait` has something to wait for, short enough for a demo.
const DefaultReadyAfter = time.Second

// Immediately, as Options.ReadyAfter, makes resources skip their
// transitional statuses. (The zero value cannot mean this, because the zero
// value of Options must give the realistic default.)
const Immediately time.Duration = -1

// Options configures a Mock. The zero value is ready to use.
type Options struct {
	// Spec is the OpenAPI document to serve. Default: the embedded api.OpenAPI.
	Spec []byte
	// ReadyAfter is how long resources stay creating/provisioning/building
	// before they are running. Zero means DefaultReadyAfter; a negative value
	// (Immediately) means no delay at all.
	ReadyAfter time.Duration
	// Now is the clock; tests pass a fake one to drive lifecycles. Default time.Now.
	Now func() time.Time
	// Logger receives one debug line per request. Default: discard.
	Logger *slog.Logger
	// ValidateResponses makes the mock check each of its own responses
	// against the spec's response schemas and answer 500
	// MOCK_RESPONSE_INVALID instead of a nonconforming body. Tests of code
	// that uses the mock turn this on to catch drift between mock and spec.
	ValidateResponses bool
}

// Mock serves the MIOSA API under BasePath. It is an http.Handler and is
// safe for concurrent use: one mutex guards all state, which is plenty for
// tests and demos.
type Mock struct {
	router     routers.Router
	now        func() time.Time
	readyAfter time.Duration
	log        *slog.Logger
	validate   bool

	mu    sync.Mutex
	st    *state
	idem  map[string]reply // Idempotency-Key → first successful reply
	funcs map[string]handler
}

// New parses the spec, builds its router and returns an empty mock account.
func New(opts Options) (*Mock, error) {
	spec := opts.Spec
	if len(spec) == 0 {
		spec = api.OpenAPI
	}
	_, router, err := loadSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	m := &Mock{
		router:     router,
		now:        opts.Now,
		readyAfter: opts.ReadyAfter,
		log:        opts.Logger,
		validate:   opts.ValidateResponses,
		idem:       map[string]reply{},
		funcs:      handlers(),
	}
	if m.now == nil {
		m.now = time.Now
	}
	switch {
	case m.readyAfter == 0:
		m.readyAfter = DefaultReadyAfter
	case m.readyAfter < 0:
		m.readyAfter = 0
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.st = newState()
	m.log.Info("offline MIOSA API mock: in-memory state, nothing runs on the host", "base_path", BasePath, "ready_after", m.readyAfter)
	return m, nil
}
