package main

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/threefactor/terraform-provider-threefactor/handler"
	"github.com/threefactor/terraform-provider-threefactor/handler/awssqs"
	_ "github.com/threefactor/terraform-provider-threefactor/handler/memstore"
)

func msg(id, ceID, seq, body string) events.SQSMessage {
	s := func(v string) events.SQSMessageAttribute {
		return events.SQSMessageAttribute{StringValue: &v, DataType: "String"}
	}
	return events.SQSMessage{MessageId: id, Body: body, MessageAttributes: map[string]events.SQSMessageAttribute{
		"ce-id": s(ceID), "ce-source": s("/shop/orders"), "ce-sequence": s(seq),
	}}
}

func TestHandlerKeepsLatestStatusOnce(t *testing.T) {
	t.Setenv(handler.EnvDedupStore, "mem://")
	t.Setenv(handler.EnvHandler, "orders")
	t.Setenv(handler.EnvTablePrefix+"ORDERS", "mem://orders-prod")
	p, err := newProcessor(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := awssqs.Handler(p, handle)
	resp, err := h(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		msg("m1", "e2", "2", `{"order_id":"o-1","status":"shipped"}`),
		msg("m2", "e1", "1", `{"order_id":"o-1","status":"placed"}`),  // late
		msg("m3", "e2", "2", `{"order_id":"o-1","status":"shipped"}`), // SNS duplicate
		msg("m4", "e3", "1", `not json`),                              // poison
	}})
	if err != nil {
		t.Fatal(err)
	}
	if f := resp.BatchItemFailures; len(f) != 1 || f[0].ItemIdentifier != "m4" {
		t.Errorf("failures = %+v; want only the poison message m4", f)
	}
	st, err := p.Store().GetState(context.Background(), "orders-prod", "o-1")
	if err != nil {
		t.Fatal(err)
	}
	if st.Attributes["status"] != "shipped" || st.Attributes["last_event"] != "e2" || st.Version != 2 {
		t.Errorf("order state = %+v; want shipped from e2 at version 2", st)
	}
}

func TestHandlerRefusesUnknownStatus(t *testing.T) {
	t.Setenv("ORDER_STATUSES", "placed,shipped")
	ev := handler.Event{Source: "/shop/orders", ID: "e9", Sequence: "3", Data: []byte(`{"order_id":"o-2","status":"refunded"}`)}
	if _, err := handle(context.Background(), ev); err == nil {
		t.Error("refunded accepted; want an error while ORDER_STATUSES lacks it")
	}
	t.Setenv("ORDER_STATUSES", "placed,shipped,refunded")
	if eff, err := handle(context.Background(), ev); err != nil || eff.State == nil {
		t.Errorf("refunded with ORDER_STATUSES listing it = %+v, %v; want a state write", eff, err)
	}
}
