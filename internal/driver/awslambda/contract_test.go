package awslambda_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	lib "github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/dynamodbstore"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda/awstest"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// TestHandlerLibraryContract runs the handler library on exactly the environment the driver gives a
// function, against the dedup table the driver created: the variable names, the store URL, the
// table's key and TTL attribute are a contract between two modules that cannot import each other's
// constants at run time.
func TestHandlerLibraryContract(t *testing.T) {
	s := emulator(t)
	d, c, ctx := newDriver(t, s), awstest.Direct(s), context.Background()
	h := handler("contract", spec.Queue)
	h.Function.TimeoutS = 45
	h.Dedup.TTLS = 3600
	mustApply(t, d, h, nil)

	fn, err := c.Lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("contract")})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range fn.Environment.Variables {
		t.Setenv(k, v)
	}
	// The function would reach DynamoDB itself; here the store reaches moto.
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", s.Direct)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	cfg, err := lib.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := lib.Config{Handler: "contract", Cloud: "aws", DedupStore: "dynamodb://contract--dedup?region=" + region,
		TTL: time.Hour, Timeout: 45 * time.Second}
	if cfg != want {
		t.Errorf("library reads %+v from the function's environment, want %+v", cfg, want)
	}

	p, err := lib.FromEnv(ctx, lib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := lib.Event{Source: "/orders", ID: "e1", CloudEvent: true, Data: []byte(`{"order":1}`)}
	effects := 0
	fnc := func(context.Context, lib.Event) (lib.Effect, error) { effects++; return lib.Effect{}, nil }
	got := p.ProcessBatch(ctx, []lib.Event{ev, ev}, fnc)
	if len(got) != 2 || got[0].Outcome != lib.Applied || got[1].Outcome != lib.Duplicate || effects != 1 {
		t.Fatalf("outcomes %+v after %d effects, want applied then duplicate after 1", got, effects)
	}

	// The record's expiry is in the attribute the table's TTL deletes by.
	ttl, err := c.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("contract--dedup")})
	if err != nil {
		t.Fatal(err)
	}
	if a := aws.ToString(ttl.TimeToLiveDescription.AttributeName); a != dynamodbstore.AttrExpiresAt {
		t.Errorf("table TTL attribute %q, library writes expiry to %q", a, dynamodbstore.AttrExpiresAt)
	}
	items, err := c.DynamoDB.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("contract--dedup")})
	if err != nil {
		t.Fatal(err)
	}
	if len(items.Items) != 1 || items.Items[0][dynamodbstore.AttrExpiresAt] == nil {
		t.Errorf("dedup table holds %v, want one record with %s", items.Items, dynamodbstore.AttrExpiresAt)
	}
}
