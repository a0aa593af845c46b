// Stands in for the Functions Framework for Node.js for `threefactor run` on Google: loads the
// function's package from the working directory (package.json's main, or index.js) and serves the
// HTTP function named by FUNCTION_TARGET on 127.0.0.1:PORT, one request at a time. The function is
// an export of that name, or registered with require('@google-cloud/functions-framework').http(),
// which this stand-in answers for. Requests and responses carry the Express methods HTTP functions
// use: req.body (JSON parsed), req.rawBody, req.get(); res.status(), send(), json(), sendStatus(),
// set().
'use strict';
const fs = require('fs');
const http = require('http');
const Module = require('module');
const path = require('path');
const { pathToFileURL } = require('url');

const registered = {};
const framework = {
  http: (name, fn) => { registered[name] = fn; },
  cloudEvent: (name) => { throw new Error(`${name}: CloudEvent functions are not served here; a push subscription calls an HTTP function`); },
};
const load = Module._load;
Module._load = function (request, ...rest) {
  return request === '@google-cloud/functions-framework' ? framework : load.call(this, request, ...rest);
};

async function target() {
  const name = process.env.FUNCTION_TARGET;
  const root = process.cwd();
  let main = 'index.js';
  if (fs.existsSync(path.join(root, 'package.json'))) {
    main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).main || main;
  }
  const mod = await import(pathToFileURL(path.join(root, main)).href);
  const fn = registered[name] || mod[name] || (mod.default && mod.default[name]);
  if (typeof fn !== 'function') throw new Error(`${main} neither exports nor registers a function ${name} (function.entry_point)`);
  return fn;
}

function express(req, res, raw) {
  req.rawBody = raw;
  req.body = raw.toString();
  if ((req.headers['content-type'] || '').startsWith('application/json')) {
    try { req.body = JSON.parse(req.body); } catch (e) { /* left as text, as Express leaves it */ }
  }
  req.get = (h) => req.headers[h.toLowerCase()];
  res.status = (code) => { res.statusCode = code; return res; };
  res.set = (h, v) => { res.setHeader(h, v); return res; };
  res.send = (body) => { res.end(typeof body === 'object' && !Buffer.isBuffer(body) ? JSON.stringify(body) : body); return res; };
  res.json = (body) => { res.setHeader('Content-Type', 'application/json'); res.end(JSON.stringify(body)); return res; };
  res.sendStatus = (code) => { res.statusCode = code; res.end(http.STATUS_CODES[code] || String(code)); return res; };
}

target().then((fn) => {
  http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      express(req, res, Buffer.concat(chunks));
      try {
        await fn(req, res);
      } catch (err) {
        console.error(err);
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      }
    });
  }).listen(Number(process.env.PORT), '127.0.0.1');
}, (err) => {
  console.error(err);
  process.exit(1);
});
