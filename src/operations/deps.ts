/**
 * What every use case needs, and who asks. service.ts builds OperationDeps once; the API, the
 * dashboard and the CLI call the operations with it and an Actor. No operation sees HTTP.
 */
import type { Principal } from '../auth/authenticator.js';
import type { Clock } from '../clock.js';
import type { DevStreams } from '../dispatch/dev-streams.js';
import type { ManualAttempts } from '../dispatch/manual-attempts.js';
import type { NetworkPolicy } from '../dispatch/network-policy.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { SubscriberIndex } from '../secrets/subscriber-index.js';
import type { Store } from '../store/store.js';

export interface OperationDeps {
  store: Store;
  clock: Clock;
  secretBox: SecretBox;
  /** Keyed hashes of subscriberIds: what ingest stores and the log search looks up. */
  subscriberIndex: SubscriberIndex;
  networkPolicy: NetworkPolicy;
  manual: ManualAttempts;
  /** The development streams this process serves (GET …/events/stream). */
  streams: DevStreams;
}

/** Who asks, for the audit log: the principal, from where, and through which interface. */
export interface Actor {
  principal: Principal;
  ip: string | null;
  via: 'api' | 'dashboard';
}
