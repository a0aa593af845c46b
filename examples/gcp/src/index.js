// A Pub/Sub push delivers one message per request; any status but 200, 201 or 204 makes Pub/Sub
// retry it, and dead-letter it after retry.max_attempts deliveries.
exports.handler = (req, res) => {
  const msg = req.body && req.body.message;
  if (!msg || !msg.data) {
    res.status(400).send("not a Pub/Sub push");
    return;
  }
  const event = JSON.parse(Buffer.from(msg.data, "base64").toString());
  console.log(JSON.stringify({ messageId: msg.messageId, event }));
  res.status(204).end();
};
