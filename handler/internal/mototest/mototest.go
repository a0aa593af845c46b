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
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Region is the region every test client uses.
const Region = "us-east-1"

// Server is a running moto_server.
type Server struct {
	Endpoint string
	cmd      *exec.Cmd
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
	var lastErr error
	for range 3 { // the free port can be taken between probe and bind
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		cmd.Env = append(os.Environ(), "MOTO_CALL_RESET_API=false")
		// Its own process group, so that Stop also ends what the pyenv shim
		// or moto itself started; Pdeathsig ends it when the test binary
		// dies without reaching Stop (a panic, a -timeout).
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		if lastErr = s.wait(exited); lastErr == nil {
			return s, nil
		}
		s.Stop()
	}
	return nil, lastErr
}

func (s *Server) wait(exited <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("moto_server on %s exited", s.Endpoint)
		default:
		}
		resp, err := http.Get(s.Endpoint + "/moto-api/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("moto_server on %s did not answer within 30s", s.Endpoint)
}

// Stop kills the server's process group.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("listener address %v is not TCP", l.Addr())
	}
	return addr.Port, nil
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
