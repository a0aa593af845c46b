// A minimal handler: returns no failures, so every message of the batch is acknowledged.
// examples/handler-go shows the runtime library that makes a handler idempotent and order-tolerant.
exports.handler = async (event) => {
  for (const record of event.Records ?? []) {
    console.log(JSON.stringify({ handler: process.env.THREEFACTOR_HANDLER, messageId: record.messageId }));
  }
  return { batchItemFailures: [] };
};
