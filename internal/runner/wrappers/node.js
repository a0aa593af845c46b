// Stands in for the Lambda Node.js runtime's interface client for `threefactor run`: loads the
// handler named by _HANDLER (file.function) from LAMBDA_TASK_ROOT and serves invocations from
// the runtime API at AWS_LAMBDA_RUNTIME_API, one at a time.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const { pathToFileURL } = require('url');

const api = process.env.AWS_LAMBDA_RUNTIME_API;
const base = '/2018-06-01/runtime/';

function request(method, p, body) {
  return new Promise((resolve, reject) => {
    const [host, port] = api.split(':');
    const req = http.request({ host, port, method, path: base + p, headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function errorBody(err) {
  return JSON.stringify({ errorType: (err && err.name) || 'Error', errorMessage: String((err && err.message) || err), stackTrace: String((err && err.stack) || '').split('\n') });
}

async function load() {
  const h = process.env._HANDLER;
  const dot = h.lastIndexOf('.');
  const file = path.join(process.env.LAMBDA_TASK_ROOT, h.slice(0, dot));
  for (const ext of ['.js', '.mjs', '.cjs']) {
    if (fs.existsSync(file + ext)) {
      const mod = await import(pathToFileURL(file + ext).href);
      const fn = mod[h.slice(dot + 1)] || (mod.default && mod.default[h.slice(dot + 1)]);
      if (typeof fn !== 'function') throw new Error(`${h}: ${file}${ext} exports no function ${h.slice(dot + 1)}`);
      return fn;
    }
  }
  throw new Error(`${h}: no ${file}.js, .mjs or .cjs`);
}

async function main() {
  let fn;
  try {
    fn = await load();
  } catch (err) {
    await request('POST', 'init/error', errorBody(err));
    process.exit(1);
  }
  for (;;) {
    const next = await request('GET', 'invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    const deadline = Number(next.headers['lambda-runtime-deadline-ms']);
    const context = {
      awsRequestId: id,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      invokedFunctionArn: next.headers['lambda-runtime-invoked-function-arn'],
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    try {
      const event = JSON.parse(next.body);
      const result = fn.length >= 3
        ? await new Promise((resolve, reject) => fn(event, context, (err, res) => (err ? reject(err) : resolve(res))))
        : await fn(event, context);
      await request('POST', `invocation/${id}/response`, JSON.stringify(result === undefined ? null : result));
    } catch (err) {
      await request('POST', `invocation/${id}/error`, errorBody(err));
    }
  }
}

main();
