// A Node.js HTTP function for the runner's tests on Google: 204 for a message whose data is "ok",
// 500 otherwise.
const functions = require('@google-cloud/functions-framework');

functions.http('handle', (req, res) => {
  const data = Buffer.from(req.body.message.data || '', 'base64').toString();
  if (data === 'ok') {
    res.sendStatus(204);
    return;
  }
  res.status(500).send('failing ' + data);
});
