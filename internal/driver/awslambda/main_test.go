package awslambda_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/threefactor/terraform-provider-threefactor/acctest/moto"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
)

const region = "us-east-1"

// One moto serves the package's tests, which run one after another and Reset it.
var (
	server    *moto.Server
	serverErr error
)

func TestMain(m *testing.M) {
	server, serverErr = moto.Start(context.Background())
	code := m.Run()
	if server != nil {
		server.Close()
	}
	os.Exit(code)
}

// emulator returns the package's moto, reset. Without moto_server it skips t, or fails it under CI.
func emulator(t *testing.T) *moto.Server {
	t.Helper()
	if errors.Is(serverErr, moto.ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skip(serverErr)
	}
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	if err := server.Reset(); err != nil {
		t.Fatal(err)
	}
	return server
}

// newDriver returns a driver that reaches moto through the counting, fault-injecting proxy.
func newDriver(t *testing.T, s *moto.Server) *awslambda.Driver {
	t.Helper()
	d, err := awslambda.New(context.Background(), awslambda.Config{Region: region, Endpoint: s.URL, Credentials: moto.Credentials, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// clients reach moto directly, for what tests do behind the driver's back.
type clients struct {
	iam    *iam.Client
	logs   *cloudwatchlogs.Client
	lambda *lambda.Client
	sqs    *sqs.Client
	sns    *sns.Client
	ddb    *dynamodb.Client
}

func direct(s *moto.Server) clients {
	cfg := aws.Config{Region: region, Credentials: moto.Credentials, BaseEndpoint: aws.String(s.Direct)}
	return clients{
		iam: iam.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg), lambda: lambda.NewFromConfig(cfg),
		sqs: sqs.NewFromConfig(cfg), sns: sns.NewFromConfig(cfg), ddb: dynamodb.NewFromConfig(cfg),
	}
}

// testCode is a minimal nodejs package.
var testCode = func() *driver.Code {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.js")
	_, _ = w.Write([]byte("exports.handler = async () => ({ batchItemFailures: [] });\n"))
	_ = zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	return &driver.Code{Zip: buf.Bytes(), Hash: hex.EncodeToString(sum[:])}
}()
