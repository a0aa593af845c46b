package runner

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/mod/modfile"
)

// mainPkg is the directory, inside the function's module, of the main package the runner adds
// (through the build's overlay, never on disk) to serve the function, as Google's build generates
// one.
const mainPkg = "threefactor_runner_main"

// functionMain serves the function package's registered functions with the Functions Framework;
// FUNCTION_TARGET picks the entry point and PORT the port, as on Cloud Run.
const functionMain = `package main

import (
	"log"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ %q
)

func main() {
	if err := funcframework.StartHostPort("127.0.0.1", os.Getenv("PORT")); err != nil {
		log.Fatalf("funcframework: %%v", err)
	}
}
`

var (
	//go:embed wrappers/gcp-node.js
	gcpNodeWrapper []byte
	//go:embed wrappers/gcp-python.py
	gcpPythonWrapper []byte
)

// prepareGCP finds how to run a Google handler's code from dir: a go function is built for this
// machine as Google's build does (its module root is the function package, which registers its
// entry point with the Functions Framework); Node.js and Python functions run with the
// interpreters on PATH behind the runner's stand-ins of their Functions Frameworks.
func prepareGCP(ctx context.Context, h *Handler, dir, tmp string) (process, error) {
	switch {
	case strings.HasPrefix(h.Runtime, "nodejs"):
		return interpreted(h, tmp, "node", "gcp-node.js", gcpNodeWrapper, []string{"--version"})
	case strings.HasPrefix(h.Runtime, "python"):
		return interpreted(h, tmp, "python3", "gcp-python.py", gcpPythonWrapper, []string{"--version"})
	case h.Runtime != "go":
		return process{}, fmt.Errorf("%s functions on Google are not run locally: the runner serves go, Node.js and Python functions only; its messages stay in its subscription", h.Runtime)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return process{}, fmt.Errorf("a go function is built from its source here as Google builds it, and that needs go on PATH")
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return process{}, fmt.Errorf("a go function's source is a module whose root is the function package: %w", err)
	}
	mod := modfile.ModulePath(gomod)
	if mod == "" {
		return process{}, fmt.Errorf("%s has no module line", filepath.Join(dir, "go.mod"))
	}
	src := filepath.Join(tmp, "main.go")
	if err := os.WriteFile(src, fmt.Appendf(nil, functionMain, mod), 0o600); err != nil {
		return process{}, err
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(dir, mainPkg, "main.go"): src}})
	ovFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovFile, overlay, 0o600); err != nil {
		return process{}, err
	}
	// The build resolves the module with copies of its go.mod and go.sum, which it may complete
	// (the Functions Framework's own dependencies, when the module's go.sum lacks them, as Google's
	// build adds them): the source is never written to.
	modFile := filepath.Join(tmp, "go.mod")
	if err := os.WriteFile(modFile, gomod, 0o600); err != nil {
		return process{}, err
	}
	if sum, err := os.ReadFile(filepath.Join(dir, "go.sum")); err == nil {
		if err := os.WriteFile(filepath.Join(tmp, "go.sum"), sum, 0o600); err != nil {
			return process{}, err
		}
	}
	bin := filepath.Join(tmp, "function")
	cmd := exec.CommandContext(ctx, goBin, "build", "-mod=mod", "-modfile="+modFile, "-overlay", ovFile, "-o", bin, "./"+mainPkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return process{}, fmt.Errorf("building the go function %s in %s for this machine: %v\n%s(the module must require github.com/GoogleCloudPlatform/functions-framework-go, whose funcframework serves the entry point)", mod, dir, err, out)
	}
	return process{argv: []string{bin}, note: fmt.Sprintf("go: %s built for %s/%s from %s, served by the Functions Framework as on Cloud Run", mod, runtime.GOOS, runtime.GOARCH, dir)}, nil
}
