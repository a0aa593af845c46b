// Loads the app with npm @azure/functions as the Functions host's Node
// worker would, but with a stand-in for the worker's @azure/functions-core
// (the host cannot be installed offline), and checks what the app
// registers: its trigger names the app settings the provider writes.
const test = require('node:test');
const assert = require('node:assert');
const Module = require('node:module');

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
const { identity } = require('../src/index.js');

test('the trigger names the settings the provider writes', () => {
  assert.strictEqual(registered.length, 1);
  const { metadata } = registered[0];
  assert.strictEqual(metadata.name, 'orders');
  const bindings = Object.values(metadata.bindings);
  assert.strictEqual(bindings.length, 1);
  const b = bindings[0];
  assert.strictEqual(b.type, 'serviceBusTrigger');
  assert.strictEqual(b.direction, 'in');
  assert.strictEqual(b.connection, 'THREEFACTOR_SERVICEBUS');
  assert.strictEqual(b.queueName, '%THREEFACTOR_QUEUE%');
  assert.strictEqual(b.cardinality, 'one');
  assert.strictEqual(b.topicName, undefined);
});

test('the handler takes one order and refuses a malformed one', async () => {
  const { handler } = registered[0];
  const logs = [];
  const context = {
    log: (line) => logs.push(line),
    triggerMetadata: {
      messageId: 'm-1',
      deliveryCount: 1,
      applicationProperties: { 'cloudEvents:source': '//shop/orders', 'cloudEvents:id': 'e-2' },
    },
  };
  await handler({ order_id: 'o-1', status: 'shipped' }, context);
  assert.match(logs[0], /order o-1 is shipped \(event \/\/shop\/orders e-2, delivery 1\)/);
  await assert.rejects(handler('{"order_id":"o-1"}', context), /without order_id or status/);
  assert.strictEqual(identity({ triggerMetadata: { messageId: 'm-9' } }), 'azure:servicebus m-9');
});
