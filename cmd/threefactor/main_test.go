package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	resourcemanager "cloud.google.com/go/resourcemanager/apiv3"
	"cloud.google.com/go/resourcemanager/apiv3/resourcemanagerpb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestFakeGCP: `threefactor fake gcp` prints its address, serves the project named on the command
// line, and exits 0 when interrupted.
func TestFakeGCP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(runCtx, []string{"fake", "gcp", "--addr", "127.0.0.1:0", "--project", "acme-prod", "--project-number", "42"}, pw, &stderr)
		_ = pw.Close()
	}()
	addr, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the address: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	c, err := resourcemanager.NewProjectsClient(ctx, option.WithEndpoint(strings.TrimSpace(addr)), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	p, err := c.GetProject(ctx, &resourcemanagerpb.GetProjectRequest{Name: "projects/acme-prod"})
	if err != nil || p.GetName() != "projects/42" {
		t.Errorf("GetProject = %v, %v", p, err)
	}
	stop()
	if code := <-done; code != 0 {
		t.Errorf("exit status %d after interrupt, want 0; stderr:\n%s", code, stderr.String())
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"fake"}, {"fake", "aws"}, {"fake", "gcp", "--bogus"}, {"fake", "gcp", "extra"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"fake", "gcp", "--project", "Bad_Project"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "project id") {
		t.Errorf("a bad project id: status %d, stderr %q", code, errOut.String())
	}
}
