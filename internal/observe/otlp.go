package observe

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/miosa-osa/miosa-mcp/internal/runtime"
)

// otlpClient sends spans to an OTLP/HTTP collector as http/protobuf
// (https://opentelemetry.io/docs/specs/otlp/#otlphttp). It is the
// otlptrace.Client behind the SDK's OTLP exporter, which turns spans into
// the protocol's messages; this file only puts them on the wire.
//
// Why our own: the OTLP/HTTP client of opentelemetry-go (otlptracehttp)
// imports google.golang.org/grpc and grpc-gateway through its shared
// configuration and the collector's service package, although it sends
// nothing over gRPC (open-telemetry/opentelemetry-go#2579, #5247). Linked,
// they cost 5.6 MB of resident memory under load whether tracing is on or
// not (BENCHMARKS.md, "Memory under the 64-client load"). The wire format
// is one protobuf message with a single repeated field, and the client's
// configuration is the standard environment below; TestOTLPClientMatchesTheSDKExporter
// sends the same spans through both and compares what the collector gets.
type otlpClient struct {
	url     string
	headers http.Header
	gzip    bool
	timeout time.Duration // per export, retries included
	hc      *http.Client
}

// OTLP exporter defaults, from the specification's exporter configuration
// (https://opentelemetry.io/docs/specs/otel/protocol/exporter/).
const (
	otlpDefaultEndpoint = "http://localhost:4318"
	otlpTracesPath      = "v1/traces"
	otlpDefaultTimeout  = 10 * time.Second
	// otlpFirstRetry and otlpMaxRetry bound the wait between attempts
	// after a retryable answer (429, 502, 503, 504) or a failed
	// connection, unless the collector's Retry-After says otherwise.
	otlpFirstRetry = time.Second
	otlpMaxRetry   = 30 * time.Second
	// otlpMaxAnswer is as much of a collector's answer as is read.
	otlpMaxAnswer = 64 << 10
)

// newOTLPClient reads OTEL_EXPORTER_OTLP_* (each with its _TRACES_ variant,
// which wins): ENDPOINT, HEADERS, TIMEOUT, COMPRESSION, CERTIFICATE,
// CLIENT_CERTIFICATE and CLIENT_KEY. A value it cannot use is an error that
// names the variable, so a misconfigured deployment fails at start.
func newOTLPClient(getenv func(string) string) (*otlpClient, error) {
	env := func(name string) (string, string) {
		traces := "OTEL_EXPORTER_OTLP_TRACES_" + name
		if v := strings.TrimSpace(getenv(traces)); v != "" {
			return v, traces
		}
		all := "OTEL_EXPORTER_OTLP_" + name
		return strings.TrimSpace(getenv(all)), all
	}
	c := &otlpClient{timeout: otlpDefaultTimeout, headers: http.Header{}}

	// The signal's own endpoint is used as it is; the shared one is a base
	// the signal's path goes under.
	if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")); v != "" {
		c.url = v
	} else {
		base := cmp.Or(strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")), otlpDefaultEndpoint)
		c.url = strings.TrimSuffix(base, "/") + "/" + otlpTracesPath
	}
	u, err := url.Parse(c.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the OTLP endpoint %q is not an http:// or https:// URL", redactURL(c.url))
	}

	if v, name := env("HEADERS"); v != "" {
		for _, kv := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(kv, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fmt.Errorf("%s: %q is not key=value (the list is comma-separated)", name, strings.TrimSpace(k))
			}
			dv, err := url.PathUnescape(strings.TrimSpace(val))
			if err != nil {
				return nil, fmt.Errorf("%s: the value of %s is not URL-encoded text", name, k)
			}
			c.headers.Add(k, dv)
		}
	}
	if v, name := env("TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return nil, fmt.Errorf("%s=%q: want a positive number of milliseconds", name, v)
		}
		c.timeout = time.Duration(ms) * time.Millisecond
	}
	switch v, name := env("COMPRESSION"); strings.ToLower(v) {
	case "", "none":
	case "gzip":
		c.gzip = true
	default:
		return nil, fmt.Errorf("%s=%q: want gzip or none", name, v)
	}

	tr := http.DefaultTransport.(*http.Transport).Clone() // proxies from the environment, as the SDK's
	tlsc, err := otlpTLS(env)
	if err != nil {
		return nil, err
	}
	tr.TLSClientConfig = tlsc
	c.hc = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a redirect would carry the headers elsewhere
	}}
	return c, nil
}

// otlpTLS is the TLS configuration the certificate variables ask for (nil:
// the system's roots and no client certificate).
func otlpTLS(env func(string) (string, string)) (*tls.Config, error) {
	ca, caName := env("CERTIFICATE")
	cert, certName := env("CLIENT_CERTIFICATE")
	key, keyName := env("CLIENT_KEY")
	if ca == "" && cert == "" && key == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", caName, err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: %s holds no PEM certificate", caName, ca)
		}
	}
	if (cert == "") != (key == "") {
		return nil, fmt.Errorf("%s and %s go together: set both or neither", certName, keyName)
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("%s / %s: %w", certName, keyName, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func (c *otlpClient) Start(context.Context) error { return nil }

func (c *otlpClient) Stop(context.Context) error {
	c.hc.CloseIdleConnections()
	return nil
}

// UploadTraces sends one export request. A retryable answer (429, 502,
// 503, 504) or a failed connection is tried again, waiting what the
// collector's Retry-After says or otherwise a growing, jittered interval,
// until the export's timeout; any other answer is the result.
func (c *otlpClient) UploadTraces(ctx context.Context, spans []*tracepb.ResourceSpans) error {
	body, err := exportRequest(spans)
	if err != nil {
		return err
	}
	if c.gzip {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body) // writing to a bytes.Buffer cannot fail
		if err := zw.Close(); err != nil {
			return err
		}
		body = b.Bytes()
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	wait := otlpFirstRetry
	for {
		retry, after, err := c.post(ctx, body)
		if !retry {
			return err
		}
		if after <= 0 {
			after = wait/2 + rand.N(wait/2+1) // jitter, so that exporters do not retry in step
			wait = min(2*wait, otlpMaxRetry)
		}
		t := time.NewTimer(after)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("exporting spans to %s: %w (last attempt: %w)", redactURL(c.url), ctx.Err(), err)
		case <-t.C:
		}
	}
}

// post makes one attempt. retry says whether another may succeed, and
// after how long the collector asked for (0: it did not say).
func (c *otlpClient) post(ctx context.Context, body []byte) (retry bool, after time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return false, 0, err
	}
	for k, vs := range c.headers {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", "miosa-mcp OTLP/HTTP exporter")
	if c.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// A collector whose certificate does not verify will not verify
		// on the next attempt either: that is said at once, not after
		// retrying until the timeout.
		var cert *tls.CertificateVerificationError
		retry := ctx.Err() == nil && !errors.As(err, &cert)
		return retry, 0, fmt.Errorf("exporting spans to %s: %w", redactURL(c.url), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, otlpMaxAnswer))
	switch {
	case resp.StatusCode/100 == 2:
		return false, 0, partialSuccess(answer, resp.Header.Get("Content-Type"))
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusBadGateway,
		resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusGatewayTimeout:
		after, _ := runtime.RetryAfter(resp.Header.Get("Retry-After"))
		return true, after, c.statusError(resp, answer)
	}
	return false, 0, c.statusError(resp, answer)
}

func (c *otlpClient) statusError(resp *http.Response, answer []byte) error {
	msg := strings.TrimSpace(string(answer))
	if resp.Header.Get("Content-Type") == "application/x-protobuf" {
		msg = "" // a google.rpc.Status; its message is not worth decoding for a log line
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	if msg != "" {
		msg = ": " + msg
	}
	return fmt.Errorf("exporting spans to %s: the collector answered %s%s", redactURL(c.url), resp.Status, msg)
}

// exportRequest encodes an ExportTraceServiceRequest
// (opentelemetry/proto/collector/trace/v1/trace_service.proto): its one
// field, resource_spans = 1, repeated.
func exportRequest(spans []*tracepb.ResourceSpans) ([]byte, error) {
	var b []byte
	for _, rs := range spans {
		m, err := proto.Marshal(rs)
		if err != nil {
			return nil, fmt.Errorf("encoding spans: %w", err)
		}
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	return b, nil
}

// partialSuccess reports the spans a collector's 2xx answer says it
// rejected: ExportTraceServiceResponse.partial_success (field 1), with
// rejected_spans (1) and error_message (2). Anything else is success.
func partialSuccess(answer []byte, contentType string) error {
	if contentType != "application/x-protobuf" {
		return nil
	}
	var ps []byte
	protoFields(answer, func(num protowire.Number, v []byte, _ uint64) {
		if num == 1 && v != nil {
			ps = v
		}
	})
	var rejected uint64
	var msg string
	protoFields(ps, func(num protowire.Number, v []byte, n uint64) {
		switch {
		case num == 1 && v == nil:
			rejected = n
		case num == 2 && v != nil:
			msg = string(v)
		}
	})
	if rejected == 0 && msg == "" {
		return nil
	}
	return fmt.Errorf("the collector rejected %d spans: %s", int64(rejected), msg)
}

// protoFields calls f for each varint (v nil, n its value) and each
// length-delimited field (v its bytes) of the protobuf message msg, in
// order, skipping the other wire types; it stops at the first malformed
// field.
func protoFields(msg []byte, f func(num protowire.Number, v []byte, n uint64)) {
	for len(msg) > 0 {
		num, typ, k := protowire.ConsumeTag(msg)
		if k < 0 {
			return
		}
		msg = msg[k:]
		switch typ {
		case protowire.VarintType:
			n, k := protowire.ConsumeVarint(msg)
			if k < 0 {
				return
			}
			f(num, nil, n)
			msg = msg[k:]
		case protowire.BytesType:
			v, k := protowire.ConsumeBytes(msg)
			if k < 0 {
				return
			}
			f(num, v, 0)
			msg = msg[k:]
		default:
			k := protowire.ConsumeFieldValue(num, typ, msg)
			if k < 0 {
				return
			}
			msg = msg[k:]
		}
	}
}

// redactURL drops a URL's user information, which may hold a password,
// from the texts that name the collector.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}
