// Command k8s-schemas writes the standalone strict JSON schemas of the kinds
// that manifests use, for `kubeconform -strict -schema-location DIR`, made
// from the pinned Kubernetes and Prometheus Operator definitions (see
// package validate). It prints the Kubernetes version the schemas describe,
// for kubeconform's -kubernetes-version.
//
//	k8s-schemas -out .tools/k8s-schemas rendered.yaml...
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/miosa-osa/miosa-mcp/deploy/kubernetes/validate"
)

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("k8s-schemas", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "schema location directory to write into (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: k8s-schemas -out DIR MANIFEST...")
		return 2
	}
	var streams [][]byte
	for _, f := range fs.Args() {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(stderr, "k8s-schemas:", err)
			return 1
		}
		streams = append(streams, b)
	}
	kinds, err := validate.ManifestKinds(streams...)
	if err != nil {
		fmt.Fprintln(stderr, "k8s-schemas:", err)
		return 1
	}
	cat, err := validate.LoadCatalog(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "k8s-schemas:", err)
		return 1
	}
	files, err := validate.WriteSchemas(cat, *out, validate.KubernetesVersion(), kinds)
	if err != nil {
		fmt.Fprintln(stderr, "k8s-schemas:", err)
		return 1
	}
	fmt.Fprintf(stderr, "k8s-schemas: %d schemas (Kubernetes %s, %s %s) in %s\n",
		len(files), validate.Kubernetes.Version, validate.ServiceMonitorCRD.Module, validate.ServiceMonitorCRD.Version, *out)
	fmt.Fprintln(stdout, validate.KubernetesVersion())
	return 0
}
