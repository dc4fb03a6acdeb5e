package clients_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/miosa-osa/miosa-mcp/internal/tokens"
	"github.com/miosa-osa/miosa-mcp/test/clients/fakemodel"
)

// report renders one run's measurements as Markdown; docs/clients.md
// quotes it. Tool definitions are measured as the client sent them to the
// model (the definition objects, compact JSON, summed over the server's
// tools), from each client's stdio with-ids session.
func report(outcomes []outcome, srv serverInfo, known []*knownFailure) string {
	var b strings.Builder
	byClient := map[string]outcome{}
	for _, o := range outcomes {
		if o.transport == overStdio && o.variant == fakemodel.WithIDs {
			byClient[o.client] = o
		}
	}
	ours, oursTok := srvToolBytes(srv)
	instrChars := utf8.RuneCountInString(srv.instructions)
	fmt.Fprintf(&b, "Server (`miosa-mcp --mock`): %d tools; `tools/list` entries %d bytes, %d tokens (cl100k); instructions %d characters (%d bytes).\n\n",
		len(srv.names), ours, oursTok, instrChars, len(srv.instructions))
	b.WriteString("| Client | MCP tools the model saw | Deferred at start | Tool searches | Tool definitions as sent: bytes | tokens (cl100k) | Instructions in the first request (chars) | Most in any request |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, c := range allClients {
		o, ok := byClient[c.name]
		if !ok {
			continue
		}
		n, tok := defBytes(o.rec)
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d of %d | %d |\n", c.name, len(o.rec.Tools), o.rec.DeferredAtStart, o.rec.Searches,
			n, tok, chars(srv.instructions, o.rec.InstructionsAtStart), instrChars, chars(srv.instructions, o.rec.InstructionsMax))
	}
	b.WriteString("\nWhat each client changed in our input schemas (keyword: how many times, over all tools):\n\n")
	b.WriteString("| Client | Stripped | Added | Changed |\n|---|---|---|---|\n")
	for _, c := range allClients {
		o, ok := byClient[c.name]
		if !ok {
			continue
		}
		d := fakemodel.NewSchemaDiff()
		for name, def := range o.rec.Tools {
			d.Compare(srv.tools[name], def.Schema)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.name, counts(d.Stripped), counts(d.Added), counts(d.Changed))
	}
	b.WriteString("\nWall time per workflow (first call to last result, seconds; includes the fake model's 0.6 s poll delays) and per session (client start to exit):\n\n")
	b.WriteString("| Client | Transport | Variant |")
	var names []string
	if len(outcomes) > 0 {
		for _, w := range outcomes[0].rec.Workflows {
			names = append(names, w.Name)
			fmt.Fprintf(&b, " %s |", w.Name)
		}
	}
	b.WriteString(" Session |\n|---|---|---|" + strings.Repeat("---|", len(names)+1) + "\n")
	sorted := slices.Clone(outcomes)
	slices.SortFunc(sorted, func(a, b outcome) int {
		return strings.Compare(a.client+a.transport+string(a.variant), b.client+b.transport+string(b.variant))
	})
	for _, o := range sorted {
		fmt.Fprintf(&b, "| %s | %s | %s |", o.client, o.transport, o.variant)
		for i := range names {
			d := time.Duration(0)
			if i < len(o.rec.Workflows) {
				d = o.rec.Workflows[i].Duration()
			}
			fmt.Fprintf(&b, " %.2f |", d.Seconds())
		}
		fmt.Fprintf(&b, " %.2f |\n", o.elapsed.Seconds())
	}
	b.WriteString("\nKnown failures (known_failures.yml) and how many checks each excused in this run:\n\n")
	for _, f := range known {
		fmt.Fprintf(&b, "- `%s` %v %v %v: %d. %s\n", f.Check, f.Clients, orAll(f.Transports), orAll(f.Variants), f.used, oneLine(f.Reason))
	}
	return b.String()
}

func orAll(l []string) []string {
	if len(l) == 0 {
		return []string{"all"}
	}
	return l
}

// chars converts a byte prefix length of s into characters.
func chars(s string, n int) int { return utf8.RuneCountInString(s[:min(n, len(s))]) }

// defBytes sums the client's tool definitions: compact JSON bytes and
// cl100k tokens of them all (one JSON array).
func defBytes(rec fakemodel.Recording) (int, int) {
	var all [][]byte
	n := 0
	for _, name := range slices.Sorted(maps.Keys(rec.Tools)) {
		raw := rec.Tools[name].Raw
		n += len(raw)
		all = append(all, raw)
	}
	tok, _ := tokens.Count("[" + string(bytes.Join(all, []byte(","))) + "]")
	return n, tok
}

// srvToolBytes measures the server's own tools/list entries the same way.
func srvToolBytes(srv serverInfo) (int, int) {
	var all [][]byte
	n := 0
	for _, raw := range srv.entries {
		var buf bytes.Buffer
		_ = json.Compact(&buf, raw)
		n += buf.Len()
		all = append(all, buf.Bytes())
	}
	tok, _ := tokens.Count("[" + string(bytes.Join(all, []byte(","))) + "]")
	return n, tok
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "nothing"
	}
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int { return m[b] - m[a] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("`%s` %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
