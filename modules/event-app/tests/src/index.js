exports.handler = async () => ({ batchItemFailures: [] });
