// Package e2e is Berth's end-to-end suite: it starts the real bin/registry
// (and, for the compatibility tests, the CNCF Distribution registry) on
// loopback ports and drives it with real clients: go-containerregistry
// in-process, and the crane, skopeo and docker binaries. The ctl tests
// (ctl_*_test.go) drive bin/ctl against it and check its work with those
// same clients, with auth off and with token auth.
//
// The tests carry the build tag e2e, so the plain unit run skips them:
//
//	make e2e                                   # installs tools, runs everything
//	go test -tags e2e ./test/e2e/ -run TestCrane -v
//	E2E_REGISTRY=distribution make e2e         # the same suite against Distribution
//
// Environment:
//
//	E2E_REGISTRY       registry under test: "berth" (default) or "distribution"
//	E2E_STORAGE        its storage: "filesystem" (default) or "s3" (a versitygw
//	                   per test from .tools/bin; make e2e-s3)
//	E2E_REGISTRY_BIN   use this Berth binary instead of building bin/registry
//	E2E_CTL_BIN        use this ctl binary instead of building bin/ctl
//	E2E_DOCKER_HOST    use this docker daemon instead of scripts/dockerd.sh's
//	CI=true            a missing tool fails the test instead of skipping it
//
// Tools are looked up in .tools/bin first (scripts/install-tools.sh), then
// on PATH. The docker tests need root: they start a private dockerd
// (scripts/dockerd.sh) in a temporary directory and remove it afterwards.
package e2e
