// Package mototest starts a private moto_server on a free loopback port for
// the tests of one package, and creates fresh DynamoDB tables in it.
//
// Each test binary starts its own server (go test runs packages in
// parallel, and other packages reset theirs), and each test uses tables of
// its own, so nothing is reset while another test uses it.
package mototest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/threefactor/terraform-provider-threefactor/handler/internal/emulator"
)

// Region is the region every test client uses.
const Region = "us-east-1"

// Server is a running moto_server.
type Server struct {
	Endpoint string
	proc     *emulator.Process
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
	tables     atomic.Int64
)

// SetDummyCredentials sets static credentials and turns off the EC2
// metadata probe, for code under test that loads the default AWS config.
// Call it from TestMain, before tests run in parallel.
func SetDummyCredentials() {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  Region,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		if v == "" {
			_ = os.Unsetenv(k) // fails only for an invalid name
		} else {
			_ = os.Setenv(k, v)
		}
	}
}

// Shared returns the package's moto_server, starting it on first use. When
// moto_server is not installed the test is skipped, or fails under CI=true.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		if _, err := exec.LookPath("moto_server"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("moto_server not found: pip install 'moto[server]'")
			}
			t.Skip("moto_server not found (pip install 'moto[server]'); skipping the DynamoDB tests")
		}
		t.Fatalf("starting moto_server: %v", sharedErr)
	}
	return shared
}

// StopShared stops the shared server, if one was started; call it from TestMain.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
}

// Start starts moto_server on a free loopback port and waits until it answers.
func Start() (*Server, error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, err
	}
	return emulator.OnFreePort(func(port int) (*Server, error) {
		cmd := exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		cmd.Env = append(os.Environ(), "MOTO_CALL_RESET_API=false")
		// Its own process group, so that Stop also ends what the pyenv shim
		// or moto itself started; Pdeathsig ends it when the test binary
		// dies without reaching Stop (a panic, a -timeout).
		p, err := emulator.Start(cmd, emulator.Options{Group: true, DieWithParent: true})
		if err != nil {
			return nil, err
		}
		s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
		if err := p.Ready(30*time.Second, emulator.HTTPOK(s.Endpoint+"/moto-api/")); err != nil {
			s.Stop()
			return nil, fmt.Errorf("moto_server on %s %w", s.Endpoint, err)
		}
		return s, nil
	})
}

// Stop kills the server's process group.
func (s *Server) Stop() {
	if s.proc != nil {
		s.proc.Stop()
	}
}

// Client returns a DynamoDB client for the server with static dummy
// credentials (nothing probes a metadata service). optFns adjust it.
func (s *Server) Client(optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, optFns...)
}

// TableName returns a table name no other test of this process uses.
func TableName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), tables.Add(1))
}

// CreateDedupTable creates a table shaped like the provider's dedup table:
// on-demand, hash key id (S), TTL on expires_at.
func CreateDedupTable(t testing.TB, c *dynamodb.Client, name string) {
	t.Helper()
	createTable(t, c, name)
	_, err := c.UpdateTimeToLive(context.Background(), &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String("expires_at"), Enabled: aws.Bool(true),
		},
	})
	if err != nil {
		t.Fatalf("enabling TTL on %s: %v", name, err)
	}
}

// CreateStateTable creates a user state table: on-demand, hash key id (S).
func CreateStateTable(t testing.TB, c *dynamodb.Client, name string) {
	t.Helper()
	createTable(t, c, name)
}

func createTable(t testing.TB, c *dynamodb.Client, name string) {
	t.Helper()
	_, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("creating table %s: %v", name, err)
	}
}
