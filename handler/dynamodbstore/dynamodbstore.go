// Package dynamodbstore keeps dedup records and entity state in DynamoDB.
//
// The dedup table is the one threefactor_eventhandler provisions: on-demand,
// hash key id (S), TTL attribute expires_at (epoch seconds). A record holds
//
//	id                key (handler/ce/<source>/<id>)
//	status            IN_PROGRESS or COMPLETED
//	token             the claiming delivery's random token
//	expires_at        epoch seconds; DynamoDB's TTL deletes the item some time later
//	claim_expires_ms  epoch milliseconds at which an IN_PROGRESS claim lapses
//	payload_hash      SHA-256 of the payload, hex
//	result            the handler's stored result (B), optional
//
// Every condition compares expires_at and claim_expires_ms with the caller's
// clock, so an expired record that TTL has not yet deleted is treated as
// absent.
//
// State tables are the user's: hash key id (S) by default, the version
// (N, or S for lexicographic versions) and version_event, the identity of
// the event that wrote that version; Options names other attributes. A state write is an
// UpdateItem that sets only the state's attributes and the version, so
// attributes that other code keeps on the item stay.
//
// The package registers the URL scheme "dynamodb":
//
//	dynamodb://<table>?region=<region>[&endpoint=<url>]
//
// endpoint overrides the service endpoint (moto, DynamoDB Local); the SDK's
// AWS_ENDPOINT_URL_DYNAMODB does the same without changing the URL.
package dynamodbstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

func init() {
	store.Register("dynamodb", func(ctx context.Context, u *url.URL) (store.Store, error) { return OpenURL(ctx, u) })
}

// Attribute names of a dedup record.
const (
	AttrKey            = "id"
	AttrStatus         = "status"
	AttrToken          = "token"
	AttrExpiresAt      = "expires_at"
	AttrClaimExpiresMs = "claim_expires_ms"
	AttrPayloadHash    = "payload_hash"
	AttrResult         = "result"
)

// Options configure a Store.
type Options struct {
	// Table is the dedup table.
	Table string
	// StateKeyAttribute is the hash key of state tables: "id" when empty.
	StateKeyAttribute string
	// StateVersionAttribute holds an entity's version: "version" when empty.
	// A number (N) for numeric versions, a string (S) for lexicographic ones.
	StateVersionAttribute string
	// StateEventAttribute holds the identity of the event that wrote the
	// version: "version_event" when empty.
	StateEventAttribute string
}

// Store is a store.Store on DynamoDB.
type Store struct {
	client *dynamodb.Client
	opts   Options
	// region is the dedup table's, when the store was opened by URL.
	region string
}

var _ store.Store = (*Store)(nil)

// New returns a Store that uses client.
func New(client *dynamodb.Client, opts Options) *Store {
	if opts.StateKeyAttribute == "" {
		opts.StateKeyAttribute = "id"
	}
	if opts.StateVersionAttribute == "" {
		opts.StateVersionAttribute = "version"
	}
	if opts.StateEventAttribute == "" {
		opts.StateEventAttribute = "version_event"
	}
	return &Store{client: client, opts: opts}
}

// OpenURL opens dynamodb://<table>?region=<region>[&endpoint=<url>] with the
// default credential chain. optFns adjust the client (e.g. to count calls).
func OpenURL(ctx context.Context, u *url.URL, optFns ...func(*dynamodb.Options)) (*Store, error) {
	if u.Scheme != "dynamodb" || u.Host == "" {
		return nil, fmt.Errorf("dedup store URL %q: want dynamodb://<table>?region=<region>", u.Redacted())
	}
	q := u.Query()
	var loadOpts []func(*config.LoadOptions) error
	if r := q.Get("region"); r != "" {
		loadOpts = append(loadOpts, config.WithRegion(r))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration for dedup store %s: %w", u.Host, err)
	}
	if ep := q.Get("endpoint"); ep != "" {
		optFns = append([]func(*dynamodb.Options){func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(ep) }}, optFns...)
	}
	s := New(dynamodb.NewFromConfig(cfg, optFns...), Options{Table: u.Host})
	s.region = cfg.Region
	return s, nil
}

// StateTable implements store.TableResolver: a granted table's name, when it lies in the dedup
// table's region (a TransactWriteItems stays in one region).
func (s *Store) StateTable(u *url.URL) (string, error) {
	if u.Scheme != "dynamodb" || u.Host == "" {
		return "", fmt.Errorf("table URL %q: want dynamodb://<table>?region=<region>", u.Redacted())
	}
	if r := u.Query().Get("region"); r != "" && s.region != "" && r != s.region {
		return "", fmt.Errorf("table %s is in %s and the dedup table in %s: a transaction spans one region, so grant a table of %s", u.Host, r, s.region, s.region)
	}
	return u.Host, nil
}

// Client returns the store's DynamoDB client.
func (s *Store) Client() *dynamodb.Client { return s.client }

const claimCondition = "attribute_not_exists(#id) OR #exp <= :now_s OR (#st = :inprogress AND #cexp <= :now_ms)"

func claimNames() map[string]string {
	return map[string]string{"#id": AttrKey, "#exp": AttrExpiresAt, "#st": AttrStatus, "#cexp": AttrClaimExpiresMs}
}

func claimValues(now time.Time) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		":now_s":      num(now.Unix()),
		":now_ms":     num(now.UnixMilli()),
		":inprogress": &types.AttributeValueMemberS{Value: string(store.InProgress)},
	}
}

// Claim implements store.Store with one conditional PutItem.
func (s *Store) Claim(ctx context.Context, rec store.Record, now time.Time) (*store.Record, error) {
	return s.conditionalPut(ctx, rec, now)
}

// claimPut writes rec unless a live record holds its key; a refusal returns the holder.
func (s *Store) claimPut(rec store.Record, now time.Time) *types.Put {
	return &types.Put{
		TableName:                           aws.String(s.opts.Table),
		Item:                                recordItem(rec),
		ConditionExpression:                 aws.String(claimCondition),
		ExpressionAttributeNames:            claimNames(),
		ExpressionAttributeValues:           claimValues(now),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
}

func (s *Store) conditionalPut(ctx context.Context, rec store.Record, now time.Time) (*store.Record, error) {
	p := s.claimPut(rec, now)
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: p.TableName, Item: p.Item, ConditionExpression: p.ConditionExpression,
		ExpressionAttributeNames: p.ExpressionAttributeNames, ExpressionAttributeValues: p.ExpressionAttributeValues,
		ReturnValuesOnConditionCheckFailure: p.ReturnValuesOnConditionCheckFailure,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return s.holder(ctx, rec.Key, ccf.Item)
	}
	if err != nil {
		return nil, err
	}
	return nil, nil
}

// holder decodes the record returned with a failed condition, or reads it
// when the service did not return it.
func (s *Store) holder(ctx context.Context, key string, item map[string]types.AttributeValue) (*store.Record, error) {
	if item == nil {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(s.opts.Table), Key: keyOf(key), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return nil, fmt.Errorf("reading the record holding %s: %w", key, err)
		}
		item = out.Item
	}
	if item == nil {
		// Deleted in between (released): report it held so the caller
		// retries later rather than assuming a state.
		return nil, store.ErrHeld
	}
	rec, err := decodeRecord(item)
	if err != nil {
		return nil, err
	}
	return rec, store.ErrHeld
}

// Complete implements store.Store with one conditional UpdateItem.
func (s *Store) Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error {
	update := "SET #st = :completed, #exp = :exp REMOVE #cexp"
	values := map[string]types.AttributeValue{
		":completed": &types.AttributeValueMemberS{Value: string(store.Completed)},
		":exp":       num(ceilSeconds(expiresAt)),
		":token":     &types.AttributeValueMemberS{Value: token},
	}
	names := map[string]string{"#st": AttrStatus, "#exp": AttrExpiresAt, "#cexp": AttrClaimExpiresMs, "#tok": AttrToken}
	if result != nil {
		update = "SET #st = :completed, #exp = :exp, #res = :res REMOVE #cexp"
		values[":res"] = &types.AttributeValueMemberB{Value: result}
		names["#res"] = AttrResult
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.opts.Table),
		Key:                       keyOf(key),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#tok = :token"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	return claimLost(err)
}

// Release implements store.Store with one conditional DeleteItem.
func (s *Store) Release(ctx context.Context, key, token string) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.opts.Table),
		Key:                       keyOf(key),
		ConditionExpression:       aws.String("#tok = :token"),
		ExpressionAttributeNames:  map[string]string{"#tok": AttrToken},
		ExpressionAttributeValues: map[string]types.AttributeValue{":token": &types.AttributeValueMemberS{Value: token}},
	})
	return claimLost(err)
}

func claimLost(err error) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return store.ErrClaimLost
	}
	return err
}

// Get implements store.Store with one strongly consistent GetItem.
func (s *Store) Get(ctx context.Context, key string, now time.Time) (*store.Record, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.opts.Table), Key: keyOf(key), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, store.ErrNotFound
	}
	rec, err := decodeRecord(out.Item)
	if err != nil {
		return nil, err
	}
	if !now.Before(rec.Expiry()) {
		return nil, store.ErrNotFound
	}
	return rec, nil
}

// PutState implements store.Store with one conditional UpdateItem that sets
// only the state's attributes, the version and the event: what other code
// keeps on the entity's item stays. A refused write is classified from the
// item the refusal returns (ReturnValuesOnConditionCheckFailure ALL_OLD).
func (s *Store) PutState(ctx context.Context, w store.StateWrite) error {
	return s.update(ctx, w, false)
}

// PutStateOnce implements store.Store with one conditional UpdateItem
// (version < :v), classified like PutState's from the returned item: a
// duplicate costs one write, and no read.
func (s *Store) PutStateOnce(ctx context.Context, w store.StateWrite) error {
	return s.update(ctx, w, true)
}

func (s *Store) update(ctx context.Context, w store.StateWrite, once bool) error {
	u, err := s.stateUpdate(w, once)
	if err != nil {
		return err
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
		ReturnValuesOnConditionCheckFailure: u.ReturnValuesOnConditionCheckFailure,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return s.refused(ctx, w, ccf.Item, once)
	}
	return err
}

// The conditions of a state write. The entity may be missing or have no
// version (other code made it: older than any event). Otherwise its version
// must be of the write's type (tested first, so that a version of another
// type refuses the write instead of being compared with it) and older; for
// PutState, an equal version is re-applied when the same event (or no
// recorded event) wrote it.
const (
	onceCondition     = "attribute_not_exists(#v) OR (attribute_type(#v, :vt) AND #v < :v)"
	reapplyCondition  = "attribute_not_exists(#v) OR (attribute_type(#v, :vt) AND (#v < :v OR (#v = :v AND (attribute_not_exists(#e) OR #e = :e))))"
	anyEqualCondition = "attribute_not_exists(#v) OR (attribute_type(#v, :vt) AND #v <= :v)"
)

// stateUpdate sets w's attributes, version and event, and nothing else.
func (s *Store) stateUpdate(w store.StateWrite, once bool) (*types.Update, error) {
	names := map[string]string{"#v": s.opts.StateVersionAttribute, "#e": s.opts.StateEventAttribute}
	values := map[string]types.AttributeValue{":v": num(w.Version), ":vt": &types.AttributeValueMemberS{Value: "N"}}
	if w.Sequence != "" {
		values[":v"], values[":vt"] = &types.AttributeValueMemberS{Value: w.Sequence}, &types.AttributeValueMemberS{Value: "S"}
	}
	sets := []string{"#v = :v"}
	for i, name := range slices.Sorted(maps.Keys(w.Attributes)) {
		if name == s.opts.StateKeyAttribute || name == s.opts.StateVersionAttribute || name == s.opts.StateEventAttribute {
			return nil, fmt.Errorf("state of %s: attribute %q is the entity's key, version or event, which the store writes", w.Key, name)
		}
		av, err := attributevalue.Marshal(w.Attributes[name])
		if err != nil {
			return nil, fmt.Errorf("encoding state of %s, attribute %s: %w", w.Key, name, err)
		}
		n, v := "#a"+strconv.Itoa(i), ":a"+strconv.Itoa(i)
		names[n], values[v] = name, av
		sets = append(sets, n+" = "+v)
	}
	update := "SET " + strings.Join(sets, ", ")
	cond := onceCondition
	if w.Event != "" {
		values[":e"] = &types.AttributeValueMemberS{Value: w.Event}
		update += ", #e = :e"
		if !once {
			cond = reapplyCondition
		}
	} else {
		update += " REMOVE #e"
		if !once {
			cond = anyEqualCondition
		}
	}
	return &types.Update{
		TableName:                           aws.String(w.Table),
		Key:                                 map[string]types.AttributeValue{s.opts.StateKeyAttribute: &types.AttributeValueMemberS{Value: w.Key}},
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, nil
}

// refused classifies a refused state write from the entity's item as the
// refusal returned it (read again only if the service did not return it):
// never assumed stale.
func (s *Store) refused(ctx context.Context, w store.StateWrite, item map[string]types.AttributeValue, once bool) error {
	if item == nil {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(w.Table),
			Key:            map[string]types.AttributeValue{s.opts.StateKeyAttribute: &types.AttributeValueMemberS{Value: w.Key}},
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return fmt.Errorf("reading state of %s after a refused write: %w", w.Key, err)
		}
		item = out.Item
	}
	return store.Classify(w, versionOf(item[s.opts.StateVersionAttribute]), str(item, s.opts.StateEventAttribute), once)
}

// versionOf decodes a stored version: int64 (N), string (S), nil (missing),
// or, for any other type or an N that is not an int64, the attribute value
// itself, which store.Compare reports as ErrVersionType.
func versionOf(av types.AttributeValue) any {
	switch v := av.(type) {
	case nil:
		return nil
	case *types.AttributeValueMemberN:
		if n, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			return n
		}
	case *types.AttributeValueMemberS:
		return v.Value
	}
	return av
}

// GetState implements store.Store with one strongly consistent GetItem.
func (s *Store) GetState(ctx context.Context, table, key string) (*store.State, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{s.opts.StateKeyAttribute: &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, store.ErrNotFound
	}
	st := &store.State{Key: key, Event: str(out.Item, s.opts.StateEventAttribute)}
	switch v := versionOf(out.Item[s.opts.StateVersionAttribute]).(type) {
	case nil:
	case int64:
		st.Version = v
	case string:
		st.Sequence = v
	default:
		return nil, fmt.Errorf("state of %s: version %v is neither an integer nor a string", key, v)
	}
	delete(out.Item, s.opts.StateKeyAttribute)
	delete(out.Item, s.opts.StateVersionAttribute)
	delete(out.Item, s.opts.StateEventAttribute)
	if err := attributevalue.UnmarshalMap(out.Item, &st.Attributes); err != nil {
		return nil, fmt.Errorf("decoding state of %s: %w", key, err)
	}
	return st, nil
}

// Commit implements store.Store with one TransactWriteItems of the record's
// put and the state's update
// (or, without a state write, one conditional PutItem).
func (s *Store) Commit(ctx context.Context, rec store.Record, now time.Time, w *store.StateWrite) (*store.Record, error) {
	if w == nil {
		return s.conditionalPut(ctx, rec, now)
	}
	state, err := s.stateUpdate(*w, false)
	if err != nil {
		return nil, err
	}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{{Put: s.claimPut(rec, now)}, {Update: state}},
	})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		reasons := tce.CancellationReasons
		if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			return s.holder(ctx, rec.Key, reasons[0].Item)
		}
		if len(reasons) > 1 && aws.ToString(reasons[1].Code) == "ConditionalCheckFailed" {
			return nil, s.refused(ctx, *w, reasons[1].Item, false)
		}
	}
	return nil, err
}

// Close implements store.Store.
func (s *Store) Close() error { return nil }

func keyOf(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrKey: &types.AttributeValueMemberS{Value: key}}
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func recordItem(r store.Record) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		AttrKey:       &types.AttributeValueMemberS{Value: r.Key},
		AttrStatus:    &types.AttributeValueMemberS{Value: string(r.Status)},
		AttrToken:     &types.AttributeValueMemberS{Value: r.Token},
		AttrExpiresAt: num(expirySeconds(r)),
	}
	if r.Status == store.InProgress {
		item[AttrClaimExpiresMs] = num(r.ClaimExpiresAt.UnixMilli())
	}
	if r.PayloadHash != "" {
		item[AttrPayloadHash] = &types.AttributeValueMemberS{Value: r.PayloadHash}
	}
	if r.Result != nil {
		item[AttrResult] = &types.AttributeValueMemberB{Value: r.Result}
	}
	return item
}

// expirySeconds is the record's expires_at: its Expiry in epoch seconds.
func expirySeconds(r store.Record) int64 { return ceilSeconds(r.Expiry()) }

// ceilSeconds rounds t up to the second, so that neither a reader's check
// (expires_at <= now) nor TTL deletion ends a record before its claim or its
// TTL: a record counts up to a second longer, never shorter.
func ceilSeconds(t time.Time) int64 {
	sec := t.Unix()
	if t.After(time.Unix(sec, 0)) {
		sec++
	}
	return sec
}

func decodeRecord(item map[string]types.AttributeValue) (*store.Record, error) {
	r := &store.Record{
		Key:         str(item, AttrKey),
		Status:      store.Status(str(item, AttrStatus)),
		Token:       str(item, AttrToken),
		PayloadHash: str(item, AttrPayloadHash),
	}
	exp, err := intAttr(item, AttrExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("dedup record %s: %w", r.Key, err)
	}
	r.ExpiresAt = time.Unix(exp, 0)
	if _, ok := item[AttrClaimExpiresMs]; ok {
		ms, err := intAttr(item, AttrClaimExpiresMs)
		if err != nil {
			return nil, fmt.Errorf("dedup record %s: %w", r.Key, err)
		}
		r.ClaimExpiresAt = time.UnixMilli(ms)
	}
	if b, ok := item[AttrResult].(*types.AttributeValueMemberB); ok {
		r.Result = b.Value
	}
	return r, nil
}

func str(item map[string]types.AttributeValue, name string) string {
	if s, ok := item[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func intAttr(item map[string]types.AttributeValue, name string) (int64, error) {
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s is missing or not a number", name)
	}
	return strconv.ParseInt(n.Value, 10, 64)
}
