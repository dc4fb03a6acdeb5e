// Package inventory holds only tests: static checks over the whole
// generated catalog (gen/tools) and wire-level round trips of the generated
// client (gen/client).
package inventory
