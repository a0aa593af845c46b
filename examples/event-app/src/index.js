// A minimal handler: acknowledges every message of the batch (no failed items).
exports.handler = async (event) => {
  for (const record of event.Records) {
    console.log(JSON.stringify({ messageId: record.messageId }));
  }
  return { batchItemFailures: [] };
};
