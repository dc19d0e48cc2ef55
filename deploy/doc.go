// Package deploy holds what it takes to run consentgate in production, and
// the tests that keep it true to the binary:
//
//   - Dockerfile: the container image (static binary on distroless, non-root).
//   - kubernetes/: Deployment, Services, ConfigMap, PodDisruptionBudget,
//     HorizontalPodAutoscaler, ServiceMonitor and a kustomization.
//   - systemd/consentgate.service: a hardened unit for a plain Linux host.
//   - examples/: an example config file.
//   - grafana/consentgate.json: the operations dashboard.
//   - prometheus/alerts.yaml: alert rules, with promtool unit tests in
//     prometheus/alerts_test.yaml.
//
// The Go tests build cmd/consentgate, run it against an in-process upstream
// on loopback, and check the manifests, the dashboard queries and the alert
// rules against the metrics it really exposes; they also run promtool, a
// real Prometheus server and systemd-analyze when installed. Operator
// documentation is docs/operators.md.
//
// This package has no non-test code.
package deploy
