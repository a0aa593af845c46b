// A Node.js handler for the runner's tests: fails the messages whose body is "fail-item".
exports.handler = async (event) => ({
  batchItemFailures: event.Records.filter((r) => r.body === 'fail-item').map((r) => ({ itemIdentifier: r.messageId })),
});
