// Powertools side of bench/handler.sh: the same workload as the Go
// BenchmarkHandler (one state write per event, guarded by version), through
// @aws-lambda-powertools/idempotency's makeIdempotent on DynamoDB (moto).
//
//   DYNAMODB_ENDPOINT=http://127.0.0.1:PORT EVENTS=500 node bench.mjs
//
// Prints one line per phase: events/s, item writes, reads and capacity units
// per event, counted per request as DynamoDB bills them (a standard write of
// an item under 1 KB is 1 WCU, failed conditional writes included; a
// strongly consistent read under 4 KB is 1 RCU).
import { makeIdempotent, IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import {
  DynamoDBClient, CreateTableCommand, DeleteTableCommand, PutItemCommand, ConditionalCheckFailedException,
} from '@aws-sdk/client-dynamodb';

const endpoint = process.env.DYNAMODB_ENDPOINT;
if (!endpoint) {
  console.error('DYNAMODB_ENDPOINT is not set (bench/handler.sh sets it)');
  process.exit(2);
}
const N = Number(process.env.EVENTS ?? 500);

const client = new DynamoDBClient({
  endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const counts = { requests: 0, writes: 0, reads: 0, wcu: 0, rcu: 0 };
client.middlewareStack.add((next, context) => async (args) => {
  counts.requests++;
  switch (context.commandName) {
    case 'PutItemCommand': case 'UpdateItemCommand': case 'DeleteItemCommand':
      counts.writes++; counts.wcu++; break;
    case 'GetItemCommand':
      counts.reads++; counts.rcu += args.input.ConsistentRead ? 1 : 0.5; break;
  }
  return next(args);
}, { step: 'initialize', name: 'countCalls' });

const suffix = `${process.pid}-${Date.now()}`;
const idemTable = `pt-idem-${suffix}`;
const stateTable = `pt-state-${suffix}`;
for (const name of [idemTable, stateTable]) {
  await client.send(new CreateTableCommand({
    TableName: name, BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  }));
}

const persistenceStore = new DynamoDBPersistenceLayer({ tableName: idemTable, awsSdkV3Client: client });
// The idempotency key is the CloudEvents source + id, as in the Go library.
const config = new IdempotencyConfig({ eventKeyJmesPath: '[source, id]', expiresAfterSeconds: 3600 });
// As in Lambda, an in-progress record lapses with the invocation's remaining
// time (60 s, the Go side's timeout).
config.registerLambdaContext({ getRemainingTimeInMillis: () => 60_000 });

// The user's effect: a last-writer-wins state write guarded by version; an
// older event is acknowledged as stale.
const handle = makeIdempotent(async (ev) => {
  try {
    await client.send(new PutItemCommand({
      TableName: stateTable,
      Item: { id: { S: ev.subject }, version: { N: String(ev.sequence) }, event: { S: ev.id } },
      ConditionExpression: 'attribute_not_exists(#k) OR #v <= :v',
      ExpressionAttributeNames: { '#k': 'id', '#v': 'version' },
      ExpressionAttributeValues: { ':v': { N: String(ev.sequence) } },
    }));
    return { outcome: 'applied' };
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return { outcome: 'stale' };
    throw err;
  }
}, { persistenceStore, config });

// One entity per event, as in the Go benchmark; the stale phase uses 100
// entities, each with a newer version already stored.
const event = (i, id = `e${i}`, sequence = i + 10, entity = i) => ({
  source: '/bench', id, subject: `entity-${entity}`, sequence,
  data: { entity: `${entity}`, amount: 42 },
});

async function phase(name, make, want) {
  for (const k of Object.keys(counts)) counts[k] = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const out = await handle(make(i));
    if (out.outcome !== want) throw new Error(`${name} event ${i}: outcome ${out.outcome}, want ${want}`);
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const per = (v) => (v / N).toFixed(3);
  console.log(`powertools/${name}\t${N} events\t${(N / secs).toFixed(1)} events/s\t${per(counts.requests)} requests/event\t${per(counts.writes)} writes/event\t${per(counts.reads)} reads/event\t${per(counts.wcu)} WCU/event\t${per(counts.rcu)} RCU/event`);
}

await phase('first', (i) => event(i), 'applied');
// A duplicate returns the stored result of the first delivery.
await phase('duplicate', (i) => event(i), 'applied');
// Stale: new events older than what each entity stores.
for (let i = 0; i < 100; i++) await handle(event(i, `newest-e${i}`, 1000000000));
await phase('stale', (i) => event(i, `old-e${i}`, i + 10, i % 100), 'stale');

// Leave moto as empty as it was found (bench/handler.sh runs the Go side next).
for (const name of [idemTable, stateTable]) await client.send(new DeleteTableCommand({ TableName: name }));
