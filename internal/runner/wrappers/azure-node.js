// Stands in for the Functions host's Node.js worker for `threefactor run`: loads the app (package.json's
// main, a file or a dir/*.js pattern) with npm @azure/functions (v4 programming model) and a stand-in
// of the worker's @azure/functions-core that records what the app registers, and serves its Service
// Bus trigger as a custom handler on FUNCTIONS_CUSTOMHANDLER_PORT: each invocation (any path) calls the
// handler with the message (JSON parsed when it is JSON) and an InvocationContext whose
// triggerMetadata has messageId, deliveryCount, sequenceNumber, contentType and applicationProperties.
// It answers 200 when the handler returns, 500 when it throws.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const Module = require('node:module');
const { randomUUID } = require('node:crypto');

const registered = [];
const core = {
  setProgrammingModel() {},
  registerFunction(metadata, handler) {
    registered.push({ metadata, handler });
    return { dispose() {} };
  },
  registerHook() {
    return { dispose() {} };
  },
};
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === '@azure/functions-core') {
    return core;
  }
  return load.call(this, request, ...rest);
};

function fail(msg) {
  console.error(msg);
  process.exit(1);
}

const root = process.cwd();
let main = 'index.js';
try {
  main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).main || main;
} catch (e) {
  fail(`package.json: ${e.message}`);
}
let files = [path.resolve(root, main)];
if (main.includes('*')) {
  const dir = path.resolve(root, path.dirname(main));
  const suffix = path.basename(main).replace(/^\*/, '');
  if (path.basename(main).indexOf('*') !== 0 || suffix.includes('*')) {
    fail(`package.json main ${main}: the runner takes a file or dir/*.js`);
  }
  files = fs.readdirSync(dir).filter((f) => f.endsWith(suffix)).sort().map((f) => path.join(dir, f));
}
for (const f of files) {
  require(f);
}
const fn = registered.find((r) => Object.values(r.metadata.bindings || {}).some((b) => b.type === 'serviceBusTrigger' && b.direction === 'in'));
if (!fn) {
  fail(`no app.serviceBusQueue or app.serviceBusTopic registration in ${files.join(', ')}: the Functions host would run nothing`);
}
console.error(`function ${fn.metadata.name} (serviceBusTrigger) loaded from ${main}`);
const { InvocationContext } = require(require.resolve('@azure/functions', { paths: [root] }));

function answer(res, code, logs) {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ Outputs: {}, Logs: logs, ReturnValue: null }));
}

http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      const inv = JSON.parse(Buffer.concat(chunks).toString());
      const meta = inv.Metadata || {};
      let message = Object.values(inv.Data || {})[0];
      if (typeof message === 'string') {
        try {
          message = JSON.parse(message);
        } catch {
          // text, as the worker passes a body that is not JSON
        }
      }
      const context = new InvocationContext({
        invocationId: randomUUID(),
        functionName: fn.metadata.name,
        triggerMetadata: {
          messageId: meta.MessageId, deliveryCount: meta.DeliveryCount, sequenceNumber: meta.SequenceNumber,
          contentType: meta.ContentType, applicationProperties: meta.ApplicationProperties || {},
        },
        logHandler: (_level, ...args) => console.error(...args),
      });
      await fn.handler(message, context);
      answer(res, 200, []);
    } catch (e) {
      answer(res, 500, [String((e && e.message) || e)]);
    }
  });
}).listen(Number(process.env.FUNCTIONS_CUSTOMHANDLER_PORT), '127.0.0.1');
