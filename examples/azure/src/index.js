// One Node.js (v4 programming model) function for both quickstart handlers: the provider writes
// THREEFACTOR_QUEUE for a queue handler, THREEFACTOR_TOPIC and THREEFACTOR_SUBSCRIPTION for a topic
// handler, and the identity-based connection THREEFACTOR_SERVICEBUS__*; the host resolves the
// %...% binding expressions from those app settings. Throwing abandons the message: Service Bus
// delivers it again, and after retry.max_attempts deliveries forwards it to <name>--dlq.
const { app } = require('@azure/functions');

async function handle(message, context) {
  context.log(`${process.env.THREEFACTOR_HANDLER} received ${context.triggerMetadata.messageId}`, message);
}

if (process.env.THREEFACTOR_TOPIC) {
  app.serviceBusTopic('handler', {
    connection: 'THREEFACTOR_SERVICEBUS',
    topicName: '%THREEFACTOR_TOPIC%',
    subscriptionName: '%THREEFACTOR_SUBSCRIPTION%',
    handler: handle,
  });
} else {
  app.serviceBusQueue('handler', {
    connection: 'THREEFACTOR_SERVICEBUS',
    queueName: '%THREEFACTOR_QUEUE%',
    handler: handle,
  });
}
