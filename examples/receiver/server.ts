/**
 * A minimal reghook receiver: verifies each webhook, skips duplicates, and logs each registration
 * as one JSON line without personal data (subscriberId, subscriberName and clientIp never appear).
 *
 *   npm run build && WEBHOOK_SECRET=whsec_... node dist/examples/receiver/server.js 3000
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
// In your own project: from 'reghook/receiver'.
import { createDeduper, createNodeHandler, type RegisteredUserEvent, type WebhookMeta } from '@reghook/receiver';

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error('Set WEBHOOK_SECRET to the endpoint signing secret (whsec_...).');
  process.exit(1);
}
const port = Number(process.env.PORT ?? process.argv[2] ?? 3000);

function logRegistration(event: RegisteredUserEvent, { webhookId }: WebhookMeta): void {
  // Identifiers only: the event's personal data stays out of the logs.
  console.log(JSON.stringify({ msg: 'user registered', webhookId, appId: event.appId, clientUuid: event.clientUuid }));
}

export const server = createServer(
  createNodeHandler(secret, logRegistration, {
    deduper: createDeduper(),
    onError: (error) => console.error(JSON.stringify({ msg: 'webhook handler failed', error: String(error) })),
  }),
);

server.listen(port, () => {
  console.log(JSON.stringify({ msg: 'listening', port: (server.address() as AddressInfo).port }));
});
