module github.com/miosa-osa/miosa-mcp/deploy/kubernetes/validate

go 1.26.8

require gopkg.in/yaml.v3 v3.0.1

require github.com/google/go-cmp v0.7.0
