package azurefunctions

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"

	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// withHostJSON returns the package to publish: for runtime go, which runs as a Functions custom
// handler, a package without a host.json gets one naming the binary (function.entry_point,
// "handler" by default) and the extension bundle that brings the Service Bus trigger. A host.json
// the package has is kept: the user's own settings win. The code hash stays the package's: what
// is added derives from the spec.
func withHostJSON(h *spec.Handler, pkg []byte) ([]byte, error) {
	if h.Function.Runtime != "go" {
		return pkg, nil
	}
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		return nil, err
	}
	for _, f := range zr.File {
		if f.Name == "host.json" {
			return pkg, nil
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			return nil, err
		}
	}
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "host.json", Method: zip.Deflate})
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(w, bytes.NewReader(hostJSON(h.Function.EntryPoint))); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func hostJSON(executable string) []byte {
	b, _ := json.MarshalIndent(map[string]any{
		"version":         "2.0",
		"extensionBundle": map[string]any{"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"},
		"customHandler": map[string]any{
			"description":                 map[string]any{"defaultExecutablePath": executable, "workingDirectory": "", "arguments": []string{}},
			"enableForwardingHttpRequest": false,
		},
	}, "", "  ")
	return b
}
