package observe

import "go.opentelemetry.io/otel/exporters/otlp/otlptrace"

// NewOTLPClient is newOTLPClient for the tests of package observe_test.
func NewOTLPClient(getenv func(string) string) (otlptrace.Client, error) {
	c, err := newOTLPClient(getenv)
	if err != nil {
		return nil, err
	}
	return c, nil
}
