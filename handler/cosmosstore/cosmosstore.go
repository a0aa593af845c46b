// Package cosmosstore keeps dedup records and entity state in an Azure
// Cosmos DB (NoSQL API) container.
//
// threefactor_eventhandler provisions one container per handler, with
// partition key path /pk and DefaultTTL set to the dedup TTL, and injects its
// URL. Everything the store writes is an item of that container:
//
//	id                "dedup." and the dedup key, encoded as RecordID says
//	pk                d/<dedup key>, or the entity's partition (see Transactional below)
//	kind              "dedup"
//	key               the dedup key (handler/ce/<source>/<id>)
//	status            IN_PROGRESS or COMPLETED
//	token             the claiming delivery's random token
//	expires_at        RFC 3339 time (nanoseconds) at which the record stops counting
//	claim_expires_at  RFC 3339 time at which an IN_PROGRESS claim lapses
//	payload_hash      SHA-256 of the payload, hex
//	result            the handler's stored result (base64), optional
//	ttl               seconds until Cosmos deletes the item: until expiry, plus a minute
//
// Cosmos deletes an item ttl seconds after its last write (on Azure; the
// container's DefaultTTL applies to items without one), late and with no
// bound under load, so every read compares expires_at and claim_expires_at
// with the caller's clock: an expired record not yet deleted is absent.
//
// A claim is one create (refused with 409 Conflict when the id exists); only
// when the key is taken is the holder read and, if it has expired or its
// claim has lapsed, replaced with If-Match on the ETag read. Completion and
// release read the record, check the token and replace or delete it with
// If-Match; the version guard reads the entity, classifies a refusal from
// what it read (store.Classify) and writes with If-Match (or a create when
// the entity is new). A write that loses its If-Match or create race reads
// again and decides again.
//
// # State, and the transactional mode
//
// A Cosmos transactional batch covers one container and one partition key
// value. To keep Commit atomic, entity state lives in the dedup container,
// never in a container of its own: an entity is the item with id
// EntityID(key) and partition key EntityPK(table, key), so a StateWrite's
// Table is a name within the container, not a container. Commit with a state
// write puts the event's dedup record under the entity's partition key too,
// and writes both in one transactional batch (each operation with If-Match,
// or a create when the item is new): both or neither. Consequences:
//   - in Transactional mode an event's record is found in its entity's
//     partition, so the handler must name the same entity for the same event
//     on every delivery (its key derives from the event: the usual case);
//     events without a state write keep their record in its own partition;
//   - a handler uses one mode: ClaimComplete's claims and Transactional's
//     commits live in different partitions and do not see each other;
//   - entity items carry ttl = -1, so the container's DefaultTTL never
//     deletes them. Other code writing entities into the container must set
//     ttl = -1 too, and use EntityID and EntityPK.
//
// A table granted through function.tables (a threefactor_table: a Cosmos DB
// container of its own) is the other place state can go: StateTable resolves
// its THREEFACTOR_TABLE_<NAME> URL, and ClaimComplete's and SingleWrite's
// state writes go there (see StateTable). Commit refuses it, since no batch
// spans two containers: Transactional keeps state in the dedup container.
//
// The store writes the state's fields, version (a number, or a string for
// lexicographic versions) and version_event (the identity of the event that
// wrote it) into the entity's item and keeps the item's other fields.
// Cosmos DB keeps numbers as doubles, so a numeric version above 2^53 is
// refused rather than rounded.
// Attribute names id, pk, ttl, the version's and the event's and names
// starting with "_" (Cosmos's system properties) are refused.
//
// Requests per event (ETag-conditional writes; no server-side scripts),
// counted on the wire by a test:
//
//	mode            first delivery                          duplicate
//	ClaimComplete   1 create; state: 1 read, 1 write;       1 refused create, 1 read
//	                completion: 1 read, 1 replace
//	Transactional   2 reads, 1 batch of 2 writes            1 read (the record), no write
//	SingleWrite     1 read, 1 write                         1 read, no write
//
// # URL and credentials
//
// The package registers the URL scheme "cosmos", as the provider injects it
// in THREEFACTOR_DEDUP_STORE:
//
//	cosmos://<account>.documents.azure.com/<database>/<container>
//
// The endpoint is https://<host>/. Credentials are azidentity's
// DefaultAzureCredential: on Azure Functions, the function's user-assigned
// managed identity, which the provider names in AZURE_CLIENT_ID and grants a
// Cosmos DB SQL role on the container. For tests against an emulator, and
// only there, the environment variable THREEFACTOR_COSMOS_KEY selects key
// authentication with that key instead, and the URL's host may be a loopback
// address and port (cosmos://127.0.0.1:8081/<database>/<container>); the
// emulator's TLS certificate is trusted through SSL_CERT_FILE, or through
// the transport of the azcosmos.ClientOptions given to OpenURL. The provider
// never writes a key into the function's app settings.
//
// # What the emulator cannot show
//
// The tests run against npm @vercel/cosmosdb-server (see package
// cosmostest): creates conflict with 409, If-Match is enforced, queries and
// batches are served. It has no TTL, so expiry is tested through the store's
// own read-time check, and its batch endpoint applies operations one by one
// rather than atomically: a batch whose second operation fails keeps its
// first. Commit orders its batch so that this does not matter on a server
// that serves one request at a time, as the emulator does (the entity's
// write goes first, and it fails whenever any commit touched the partition
// since the read), but a failure of the record's write after the entity's
// would leave the state without its record there. The atomicity of
// Transactional mode is Azure's promise, not tested here.
package cosmosstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

// EnvKey names the variable that selects key authentication, for emulators.
const EnvKey = "THREEFACTOR_COSMOS_KEY"

func init() {
	store.Register("cosmos", func(ctx context.Context, u *url.URL) (store.Store, error) { return OpenURL(ctx, u, nil) })
}

// Field names of an item.
const (
	FieldID             = "id"
	FieldPK             = "pk"
	FieldTTL            = "ttl"
	FieldKind           = "kind"
	FieldKey            = "key"
	FieldStatus         = "status"
	FieldToken          = "token"
	FieldExpiresAt      = "expires_at"
	FieldClaimExpiresAt = "claim_expires_at"
	FieldPayloadHash    = "payload_hash"
	FieldResult         = "result"
)

// maxExactVersion is the largest integer a double (Cosmos DB's number)
// holds exactly.
const maxExactVersion = 1 << 53

// maxAttempts bounds the read-decide-write rounds of one call when other
// writers keep changing the item in between.
const maxAttempts = 8

// Options configure a Store.
type Options struct {
	// OpenClient opens the client of another account's endpoint, for granted
	// tables (see StateTable); OpenURL sets it to open with the dedup store's
	// credentials, and without it only the dedup store's account is reached.
	OpenClient func(endpoint string) (*azcosmos.Client, error)
	// StateVersionField holds an entity's version: "version" when empty.
	StateVersionField string
	// StateEventField holds the identity of the event that wrote the
	// version: "version_event" when empty.
	StateEventField string
}

// Store is a store.Store on a Cosmos DB container.
type Store struct {
	c    *azcosmos.ContainerClient
	opts Options

	mu     sync.Mutex
	tables map[string]*place // granted tables opened, by name
}

var _ store.Store = (*Store)(nil)

// New returns a Store on container c (partition key path /pk).
func New(c *azcosmos.ContainerClient, opts Options) *Store {
	if opts.StateVersionField == "" {
		opts.StateVersionField = "version"
	}
	if opts.StateEventField == "" {
		opts.StateEventField = "version_event"
	}
	return &Store{c: c, opts: opts}
}

// Container returns the store's container client.
func (s *Store) Container() *azcosmos.ContainerClient { return s.c }

// ParseURL splits cosmos://<host>/<database>/<container> into the account
// endpoint (https://<host>/), the database and the container.
func ParseURL(u *url.URL) (endpoint, database, container string, err error) {
	seg := strings.Split(strings.Trim(u.Path, "/"), "/")
	if u.Scheme != "cosmos" || u.Host == "" || len(seg) != 2 || seg[0] == "" || seg[1] == "" {
		return "", "", "", fmt.Errorf("dedup store URL %q: want cosmos://<account>.documents.azure.com/<database>/<container>", u.Redacted())
	}
	return "https://" + u.Host + "/", seg[0], seg[1], nil
}

// OpenURL opens cosmos://<account>.documents.azure.com/<database>/<container>
// with DefaultAzureCredential, or with the key in THREEFACTOR_COSMOS_KEY when
// it is set (emulators). o adjusts the client (nil for defaults).
func OpenURL(_ context.Context, u *url.URL, o *azcosmos.ClientOptions) (*Store, error) {
	endpoint, database, container, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	open, err := clientOpener(o)
	if err != nil {
		return nil, err
	}
	client, err := open(endpoint)
	if err != nil {
		return nil, err
	}
	c, err := client.NewContainer(database, container)
	if err != nil {
		return nil, fmt.Errorf("dedup container %s of database %s: %w", container, database, err)
	}
	return New(c, Options{OpenClient: open}), nil
}

// clientOpener opens clients of any account with one credential:
// DefaultAzureCredential, or the key in THREEFACTOR_COSMOS_KEY (emulators).
func clientOpener(o *azcosmos.ClientOptions) (func(endpoint string) (*azcosmos.Client, error), error) {
	if key := os.Getenv(EnvKey); key != "" {
		cred, err := azcosmos.NewKeyCredential(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvKey, err)
		}
		return func(endpoint string) (*azcosmos.Client, error) {
			c, err := azcosmos.NewClientWithKey(endpoint, cred, o)
			if err != nil {
				return nil, fmt.Errorf("opening Cosmos DB account %s: %w", endpoint, err)
			}
			return c, nil
		}, nil
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("credentials for the Cosmos DB dedup store (azidentity DefaultAzureCredential; on Azure Functions AZURE_CLIENT_ID names the function's identity): %w", err)
	}
	return func(endpoint string) (*azcosmos.Client, error) {
		c, err := azcosmos.NewClient(endpoint, cred, o)
		if err != nil {
			return nil, fmt.Errorf("opening Cosmos DB account %s: %w", endpoint, err)
		}
		return c, nil
	}, nil
}

// hashed returns s, or "sha256-" and its hash when s is longer than max.
func hashed(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + hex.EncodeToString(sum[:])
}

// Cosmos ids may not contain / \\ ? # and ids with % do not survive every
// client's URL handling, so keys that need escaping are base64url-encoded.

// safeID matches keys used as ids as they are.
var safeID = regexp.MustCompile(`^[A-Za-z0-9_.:=@~-]{1,200}$`)

// idOf is key itself when it is a safe id and does not start with a prefix
// idOf or RecordID use, else "b64." and its base64url encoding, or
// "sha256." and its hash when that is too long.
func idOf(key string) string {
	if safeID.MatchString(key) && !strings.HasPrefix(key, "b64.") && !strings.HasPrefix(key, "sha256.") && !strings.HasPrefix(key, "dedup.") {
		return key
	}
	if enc := base64.RawURLEncoding.EncodeToString([]byte(key)); len(enc) <= 200 {
		return "b64." + enc
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256." + hex.EncodeToString(sum[:])
}

// RecordID is the item id of key's dedup record: "dedup." and the key's
// encoding, so that it never equals an entity's id in a shared partition.
func RecordID(key string) string { return "dedup." + idOf(key) }

// RecordPK is the partition key of key's dedup record when no state write
// shares its partition.
func RecordPK(key string) string { return hashed("d/"+key, 1024) }

// EntityID is the item id of the entity key: the key itself when it is
// made of letters, digits and _ . : = @ ~ - only (and does not start with
// b64., sha256. or dedup.), else an encoding of it.
func EntityID(key string) string { return idOf(key) }

// EntityPK is the partition key of the entity key of table (a name within
// the container): "s/<table>/<key>".
func EntityPK(table, key string) string {
	return hashed("s/"+table+"/"+key, 1024)
}

func status(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// item is one read item: its fields and ETag, or nil when missing.
type item struct {
	data map[string]any
	raw  map[string]json.RawMessage
	etag azcore.ETag
}

func (s *Store) read(ctx context.Context, pk, id string) (*item, error) {
	return readIn(ctx, s.c, pk, id)
}

func readIn(ctx context.Context, c *azcosmos.ContainerClient, pk, id string) (*item, error) {
	resp, err := c.ReadItem(ctx, azcosmos.NewPartitionKeyString(pk), id, nil)
	if status(err) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeItem(resp.Value, resp.ETag)
}

func decodeItem(body []byte, etag azcore.ETag) (*item, error) {
	it := &item{etag: etag}
	if err := json.Unmarshal(body, &it.data); err != nil {
		return nil, fmt.Errorf("decoding item: %w", err)
	}
	if err := json.Unmarshal(body, &it.raw); err != nil {
		return nil, fmt.Errorf("decoding item: %w", err)
	}
	if it.etag == "" {
		if e, ok := it.data["_etag"].(string); ok {
			it.etag = azcore.ETag(e)
		}
	}
	return it, nil
}

// write creates the item (prev nil) or replaces prev with If-Match. It
// reports lost=true when another writer got there first (409, 412, 404).
func (s *Store) write(ctx context.Context, pk, id string, prev *item, body []byte) (lost bool, err error) {
	return writeIn(ctx, s.c, pk, id, prev, body)
}

func writeIn(ctx context.Context, c *azcosmos.ContainerClient, pk, id string, prev *item, body []byte) (lost bool, err error) {
	p := azcosmos.NewPartitionKeyString(pk)
	if prev == nil {
		_, err = c.CreateItem(ctx, p, body, nil)
	} else {
		_, err = c.ReplaceItem(ctx, p, id, body, &azcosmos.ItemOptions{IfMatchEtag: &prev.etag})
	}
	switch status(err) {
	case http.StatusConflict, http.StatusPreconditionFailed, http.StatusNotFound:
		return true, nil
	}
	return false, err
}

func contended(what string) error {
	return fmt.Errorf("%s: the item kept changing between read and write in %d attempts; retry", what, maxAttempts)
}

// Claim implements store.Store: a create, and when the key is taken a read
// and, if the holder is expired or lapsed, a replace with If-Match.
func (s *Store) Claim(ctx context.Context, rec store.Record, now time.Time) (*store.Record, error) {
	return s.put(ctx, RecordPK(rec.Key), rec, now)
}

// put writes rec under pk unless a live record holds its key there.
func (s *Store) put(ctx context.Context, pk string, rec store.Record, now time.Time) (*store.Record, error) {
	id := RecordID(rec.Key)
	body, err := json.Marshal(recordData(rec, pk, now))
	if err != nil {
		return nil, err
	}
	var prev *item
	for range maxAttempts {
		lost, err := s.write(ctx, pk, id, prev, body)
		if err != nil || !lost {
			return nil, err
		}
		if prev, err = s.read(ctx, pk, id); err != nil {
			return nil, err
		}
		if prev == nil {
			continue
		}
		holder, err := decodeRecord(prev)
		if err != nil {
			return nil, err
		}
		if holder.Live(now) {
			return holder, store.ErrHeld
		}
	}
	return nil, contended("claiming " + rec.Key)
}

// Complete implements store.Store: a read, the token check and a replace
// with If-Match.
func (s *Store) Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error {
	return s.settle(ctx, key, token, func(pk string, r *store.Record) ([]byte, error) {
		r.Status = store.Completed
		r.ExpiresAt = expiresAt
		r.ClaimExpiresAt = time.Time{}
		if result != nil {
			r.Result = result
		}
		return json.Marshal(recordData(*r, pk, time.Now()))
	})
}

// Release implements store.Store: a read, the token check and a delete with
// If-Match.
func (s *Store) Release(ctx context.Context, key, token string) error {
	return s.settle(ctx, key, token, nil)
}

// settle replaces (change not nil) or deletes the claim of key if it
// carries token.
func (s *Store) settle(ctx context.Context, key, token string, change func(pk string, r *store.Record) ([]byte, error)) error {
	pk, id := RecordPK(key), RecordID(key)
	for range maxAttempts {
		it, err := s.read(ctx, pk, id)
		if err != nil {
			return err
		}
		if it == nil {
			return store.ErrClaimLost
		}
		r, err := decodeRecord(it)
		if err != nil {
			return err
		}
		if r.Token != token {
			return store.ErrClaimLost
		}
		p := azcosmos.NewPartitionKeyString(pk)
		opts := &azcosmos.ItemOptions{IfMatchEtag: &it.etag}
		if change == nil {
			_, err = s.c.DeleteItem(ctx, p, id, opts)
		} else {
			var body []byte
			if body, err = change(pk, r); err != nil {
				return err
			}
			_, err = s.c.ReplaceItem(ctx, p, id, body, opts)
		}
		switch status(err) {
		case http.StatusNotFound:
			return store.ErrClaimLost
		case http.StatusPreconditionFailed:
			continue
		}
		return err
	}
	return contended("settling " + key)
}

// Get implements store.Store: a point read in the record's own partition
// and, when it is not there, a query by id across partitions (the record
// of a Transactional commit lives in its entity's partition). Expiry is
// checked here.
func (s *Store) Get(ctx context.Context, key string, now time.Time) (*store.Record, error) {
	it, err := s.read(ctx, RecordPK(key), RecordID(key))
	if err != nil {
		return nil, err
	}
	if it == nil {
		if it, err = s.find(ctx, RecordID(key)); err != nil || it == nil {
			return nil, cmpErr(err, store.ErrNotFound)
		}
	}
	rec, err := decodeRecord(it)
	if err != nil {
		return nil, err
	}
	if !now.Before(rec.Expiry()) {
		return nil, store.ErrNotFound
	}
	return rec, nil
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// find queries the container for the item with id, in any partition.
func (s *Store) find(ctx context.Context, id string) (*item, error) {
	pager := s.c.NewQueryItemsPager("SELECT * FROM c WHERE c.id = @id", azcosmos.NewPartitionKey(),
		&azcosmos.QueryOptions{QueryParameters: []azcosmos.QueryParameter{{Name: "@id", Value: id}}})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, body := range page.Items {
			return decodeItem(body, "")
		}
	}
	return nil, nil
}

// PutState implements store.Store: a read of the entity, the version guard,
// and a replace with If-Match (or a create).
func (s *Store) PutState(ctx context.Context, w store.StateWrite) error {
	return s.putState(ctx, w, false)
}

// PutStateOnce implements store.Store like PutState, applying only a newer
// version; the refusal is classified from the entity read.
func (s *Store) PutStateOnce(ctx context.Context, w store.StateWrite) error {
	return s.putState(ctx, w, true)
}

func (s *Store) putState(ctx context.Context, w store.StateWrite, once bool) error {
	if err := s.checkWrite(w); err != nil {
		return err
	}
	at, err := s.placeOf(ctx, w.Table, w.Key)
	if err != nil {
		return err
	}
	if err := s.checkAttributes(w, at); err != nil {
		return err
	}
	for range maxAttempts {
		prev, err := readIn(ctx, at.c, at.pk, at.id)
		if err != nil {
			return err
		}
		if err := s.guard(w, prev, once); err != nil {
			return err
		}
		body, err := s.entityData(w, prev, at)
		if err != nil {
			return err
		}
		lost, err := writeIn(ctx, at.c, at.pk, at.id, prev, body)
		if err != nil || !lost {
			return err
		}
	}
	return contended("writing state of " + w.Key)
}

func (s *Store) checkWrite(w store.StateWrite) error {
	if w.Key == "" || w.Table == "" {
		return fmt.Errorf("state write of %q in table %q: the key and the table must not be empty", w.Key, w.Table)
	}
	if w.Version > maxExactVersion || w.Version < -maxExactVersion {
		return fmt.Errorf("state of %s: version %d is beyond 2^53: Cosmos DB keeps numbers as doubles and would round it; use a smaller version or a lexicographic sequence", w.Key, w.Version)
	}
	return nil
}

// checkAttributes refuses attributes the store writes itself at at.
func (s *Store) checkAttributes(w store.StateWrite, at *place) error {
	for name := range w.Attributes {
		switch {
		case name == s.opts.StateVersionField || name == s.opts.StateEventField:
			return fmt.Errorf("state of %s: attribute %q is the entity's version or event, which the store writes", w.Key, name)
		case at.owns(name):
			return fmt.Errorf("state of %s: attribute %q is reserved in the Cosmos item (%s and system properties)", w.Key, name, strings.Join(at.fields(), ", "))
		}
	}
	return nil
}

// version is the entity's stored version: int64, string, nil, or the raw
// value of another type.
func (s *Store) version(it *item) any {
	if it == nil {
		return nil
	}
	raw, ok := it.raw[s.opts.StateVersionField]
	if !ok || string(raw) == "null" {
		return nil
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var n json.Number
	if dec.Decode(&n) == nil {
		if i, err := n.Int64(); err == nil {
			return i
		}
	}
	return it.data[s.opts.StateVersionField]
}

// guard is the version guard on the entity as read: nil when w may be
// written, else the classified refusal.
func (s *Store) guard(w store.StateWrite, it *item, once bool) error {
	stored := s.version(it)
	var event string
	if it != nil {
		event, _ = it.data[s.opts.StateEventField].(string)
	}
	c, err := store.Compare(stored, w)
	if err != nil {
		return err
	}
	if c < 0 || (c == 0 && !once && store.ReappliesEqual(w, event)) {
		return nil
	}
	return store.Classify(w, stored, event, once)
}

// entityData is the entity's item after w at at: prev's fields (without
// system properties), w's attributes, version and event, and the fields the
// store owns there (in the dedup container ttl -1).
func (s *Store) entityData(w store.StateWrite, prev *item, at *place) ([]byte, error) {
	data := map[string]any{}
	if prev != nil {
		for k, v := range prev.data {
			if !strings.HasPrefix(k, "_") {
				data[k] = v
			}
		}
	}
	for k, v := range w.Attributes {
		data[k] = v
	}
	data[FieldID] = at.id
	if at.keyField == "" {
		data[FieldPK] = at.pk
		data[FieldTTL] = -1
	} else {
		data[at.keyField] = at.pk
	}
	if w.Sequence != "" {
		data[s.opts.StateVersionField] = w.Sequence
	} else {
		data[s.opts.StateVersionField] = w.Version
	}
	if w.Event != "" {
		data[s.opts.StateEventField] = w.Event
	} else {
		delete(data, s.opts.StateEventField)
	}
	return json.Marshal(data)
}

// GetState implements store.Store with one read.
func (s *Store) GetState(ctx context.Context, table, key string) (*store.State, error) {
	at, err := s.placeOf(ctx, table, key)
	if err != nil {
		return nil, err
	}
	it, err := readIn(ctx, at.c, at.pk, at.id)
	if err != nil {
		return nil, err
	}
	if it == nil {
		return nil, store.ErrNotFound
	}
	st := &store.State{Key: key}
	st.Event, _ = it.data[s.opts.StateEventField].(string)
	switch v := s.version(it).(type) {
	case nil:
	case int64:
		st.Version = v
	case string:
		st.Sequence = v
	default:
		return nil, fmt.Errorf("state of %s: version %v (%T) is neither an integer nor a string", key, v, v)
	}
	st.Attributes = map[string]any{}
	for k, v := range it.data {
		switch {
		case at.owns(k) || k == s.opts.StateVersionField || k == s.opts.StateEventField:
		default:
			st.Attributes[k] = v
		}
	}
	return st, nil
}

// Commit implements store.Store. Without a state write it is a Claim of
// rec; with one, rec goes under the entity's partition key and both are
// written in one transactional batch, after reading both and checking the
// record's liveness and the version guard.
func (s *Store) Commit(ctx context.Context, rec store.Record, now time.Time, w *store.StateWrite) (*store.Record, error) {
	if w == nil {
		return s.put(ctx, RecordPK(rec.Key), rec, now)
	}
	if err := s.checkWrite(*w); err != nil {
		return nil, err
	}
	if granted(w.Table) {
		return nil, fmt.Errorf("committing %s: table %s is a Cosmos DB container of its own, and a transactional batch covers one container and "+
			"one partition key, so Transactional mode cannot commit the dedup record with a write there: use ClaimComplete or SingleWrite with a "+
			"granted table, or a table name within the dedup container", rec.Key, w.Table)
	}
	at, err := s.placeOf(ctx, w.Table, w.Key)
	if err != nil {
		return nil, err
	}
	if err := s.checkAttributes(*w, at); err != nil {
		return nil, err
	}
	pk, recID, entID := at.pk, RecordID(rec.Key), at.id
	recBody, err := json.Marshal(recordData(rec, pk, now))
	if err != nil {
		return nil, err
	}
	for range maxAttempts {
		prevRec, err := s.read(ctx, pk, recID)
		if err != nil {
			return nil, err
		}
		if prevRec != nil {
			holder, err := decodeRecord(prevRec)
			if err != nil {
				return nil, err
			}
			if holder.Live(now) {
				return holder, store.ErrHeld
			}
		}
		prevEnt, err := s.read(ctx, pk, entID)
		if err != nil {
			return nil, err
		}
		if err := s.guard(*w, prevEnt, false); err != nil {
			return nil, err
		}
		entBody, err := s.entityData(*w, prevEnt, at)
		if err != nil {
			return nil, err
		}
		b := s.c.NewTransactionalBatch(azcosmos.NewPartitionKeyString(pk))
		add := func(id string, prev *item, body []byte) {
			if prev == nil {
				b.CreateItem(body, nil)
			} else {
				b.ReplaceItem(id, body, &azcosmos.TransactionalBatchItemOptions{IfMatchETag: &prev.etag})
			}
		}
		// The entity first: a batch stops at its first failed operation,
		// and the entity's ETag changes with every commit in its
		// partition, so a batch that gets past it finds the record as read.
		add(entID, prevEnt, entBody)
		add(recID, prevRec, recBody)
		resp, err := s.c.ExecuteTransactionalBatch(ctx, b, nil)
		if err != nil {
			return nil, err
		}
		// The Success flag alone is not trusted: an emulator answers 200
		// for a batch whose operations failed.
		failed := !resp.Success
		for _, r := range resp.OperationResults {
			switch {
			case r.StatusCode == http.StatusConflict, r.StatusCode == http.StatusPreconditionFailed,
				r.StatusCode == http.StatusNotFound, r.StatusCode == http.StatusFailedDependency:
				failed = true
			case r.StatusCode >= 400:
				return nil, fmt.Errorf("committing %s: an operation of the batch failed with status %d", rec.Key, r.StatusCode)
			}
		}
		if !failed {
			return nil, nil
		}
	}
	return nil, contended("committing " + rec.Key)
}

// Close implements store.Store; the client holds nothing to release.
func (s *Store) Close() error { return nil }

func recordData(r store.Record, pk string, now time.Time) map[string]any {
	exp := r.Expiry()
	ttl := int64(math.Ceil(exp.Sub(now).Seconds())) + 60
	data := map[string]any{
		FieldID:        RecordID(r.Key),
		FieldPK:        pk,
		FieldKind:      "dedup",
		FieldKey:       r.Key,
		FieldStatus:    string(r.Status),
		FieldToken:     r.Token,
		FieldExpiresAt: exp.UTC().Format(time.RFC3339Nano),
		FieldTTL:       max(ttl, 60),
	}
	if r.Status == store.InProgress {
		data[FieldClaimExpiresAt] = r.ClaimExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	if r.PayloadHash != "" {
		data[FieldPayloadHash] = r.PayloadHash
	}
	if r.Result != nil {
		data[FieldResult] = r.Result
	}
	return data
}

func decodeRecord(it *item) (*store.Record, error) {
	var v struct {
		Key            string `json:"key"`
		Status         string `json:"status"`
		Token          string `json:"token"`
		ExpiresAt      string `json:"expires_at"`
		ClaimExpiresAt string `json:"claim_expires_at"`
		PayloadHash    string `json:"payload_hash"`
		Result         []byte `json:"result"`
	}
	raw, err := json.Marshal(it.raw)
	if err == nil {
		err = json.Unmarshal(raw, &v)
	}
	if err != nil {
		return nil, fmt.Errorf("decoding dedup record: %w", err)
	}
	r := &store.Record{Key: v.Key, Status: store.Status(v.Status), Token: v.Token, PayloadHash: v.PayloadHash, Result: v.Result}
	if r.ExpiresAt, err = time.Parse(time.RFC3339Nano, v.ExpiresAt); err != nil {
		return nil, fmt.Errorf("dedup record %s: field %s: %w", v.Key, FieldExpiresAt, err)
	}
	if v.ClaimExpiresAt != "" {
		if r.ClaimExpiresAt, err = time.Parse(time.RFC3339Nano, v.ClaimExpiresAt); err != nil {
			return nil, fmt.Errorf("dedup record %s: field %s: %w", v.Key, FieldClaimExpiresAt, err)
		}
	}
	return r, nil
}
