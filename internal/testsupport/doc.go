// Package testsupport is what the test suites that drive miosa-mcp share,
// so that each suite keeps only its own fixtures: a recording stand-in for
// the MIOSA API (Upstream), the binary built once per test run (Binary),
// spawned servers in a clean environment (Command, StartHTTP, StdioClient),
// mcp-go clients over HTTP (ConnectHTTP), raw MCP requests (Post), a
// goroutine-safe Buffer, and the key scanner that checks every output
// channel of every server a suite starts for the API keys it handed out
// (keyscan.go, issue #10).
//
// It imports nothing of the server itself, so the runtime's own tests can
// use it too.
package testsupport
