// An order handler on Azure Functions (Node.js, v4 programming model),
// triggered by the Service Bus queue threefactor_eventhandler creates.
//
// The v4 model declares the trigger in code, so the code names the app
// settings the provider writes rather than the queue itself:
//   connection "THREEFACTOR_SERVICEBUS": the identity-based connection
//     (THREEFACTOR_SERVICEBUS__fullyQualifiedNamespace, __credential,
//     __clientId);
//   queueName "%THREEFACTOR_QUEUE%": a binding expression the host resolves
//     from the app setting.
// For kind = "topic", declare app.serviceBusTopic with topicName
// "%THREEFACTOR_TOPIC%" and subscriptionName "%THREEFACTOR_SUBSCRIPTION%".
//
// One message per invocation (batch_size is 1 on Azure: cardinality "one").
// Returning completes the message; throwing abandons it, and Service Bus
// redelivers it until MaxDeliveryCount (retry.max_attempts), then
// dead-letters it. Deliveries are at least once: make the effect idempotent
// (the Go handler library does that for Go handlers).
const { app } = require('@azure/functions');

// identity is the event's identity: the CloudEvents source and id from the
// AMQP binding's application properties, else the Service Bus message id.
function identity(context) {
  const meta = context.triggerMetadata || {};
  const props = meta.applicationProperties || meta.userProperties || {};
  if (props['cloudEvents:source'] && props['cloudEvents:id']) {
    return `${props['cloudEvents:source']} ${props['cloudEvents:id']}`;
  }
  return `azure:servicebus ${meta.messageId}`;
}

async function handleOrder(message, context) {
  const order = typeof message === 'string' ? JSON.parse(message) : message;
  if (!order || !order.order_id || !order.status) {
    throw new Error('order event without order_id or status');
  }
  context.log(`order ${order.order_id} is ${order.status} (event ${identity(context)}, delivery ${context.triggerMetadata.deliveryCount})`);
}

app.serviceBusQueue('orders', {
  connection: 'THREEFACTOR_SERVICEBUS',
  queueName: '%THREEFACTOR_QUEUE%',
  cardinality: 'one',
  handler: handleOrder,
});

module.exports = { handleOrder, identity };
