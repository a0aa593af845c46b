package dynamodbstore_test

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/threefactor/terraform-provider-threefactor/handler/dynamodbstore"
	"github.com/threefactor/terraform-provider-threefactor/handler/internal/mototest"
	"github.com/threefactor/terraform-provider-threefactor/handler/store"
	"github.com/threefactor/terraform-provider-threefactor/handler/storetest"
)

func TestMain(m *testing.M) {
	mototest.SetDummyCredentials()
	code := m.Run()
	mototest.StopShared()
	os.Exit(code)
}

func TestConformance(t *testing.T) {
	srv := mototest.Shared(t)
	client := srv.Client()
	storetest.RunConformanceTests(t, storetest.WithItems{
		HarnessFunc: func(t *testing.T) (store.Store, string) {
			dedup, state := mototest.TableName("dedup"), mototest.TableName("state")
			mototest.CreateDedupTable(t, client, dedup)
			mototest.CreateStateTable(t, client, state)
			return dynamodbstore.New(client, dynamodbstore.Options{Table: dedup}), state
		},
		// Other code's write: a plain PutItem.
		Write: func(t *testing.T, _ store.Store, table, key string, attrs map[string]any) {
			item, err := attributevalue.MarshalMap(attrs)
			if err != nil {
				t.Fatal(err)
			}
			item["id"] = &types.AttributeValueMemberS{Value: key}
			if _, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
				t.Fatalf("writing %s around the store: %v", key, err)
			}
		},
	})
}

// The URL the provider injects opens a working store.
func TestOpenFromURL(t *testing.T) {
	srv := mototest.Shared(t)
	table := mototest.TableName("dedup")
	mototest.CreateDedupTable(t, srv.Client(), table)
	raw := "dynamodb://" + table + "?region=" + mototest.Region + "&endpoint=" + url.QueryEscape(srv.Endpoint)
	s, err := store.Open(context.Background(), raw)
	if err != nil {
		t.Fatalf("store.Open(%q): %v", raw, err)
	}
	now := time.Now()
	rec := store.Record{Key: "k", Status: store.InProgress, Token: "t", ExpiresAt: now.Add(time.Hour), ClaimExpiresAt: now.Add(time.Minute)}
	if _, err := s.Claim(context.Background(), rec, now); err != nil {
		t.Fatalf("Claim through the opened store: %v", err)
	}
	if got, err := s.Get(context.Background(), "k", now); err != nil || got.Token != "t" {
		t.Errorf("Get = %+v, %v; want the claimed record", got, err)
	}
}

func TestOpenRejectsBadURL(t *testing.T) {
	for _, raw := range []string{"dynamodb://", "dynamodb:///x"} {
		if _, err := store.Open(context.Background(), raw); err == nil {
			t.Errorf("store.Open(%q) succeeded; want an error", raw)
		}
	}
}
