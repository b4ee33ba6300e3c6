/**
 * Outbound network policy (SSRF defence, SPEC §7) for every webhook delivery: which addresses a
 * delivery may reach (`checkAddress`), the save-time URL check (`checkEndpointUrl`), the
 * REGHOOK_ALLOW_PRIVATE_NETWORKS parser and the undici connector that enforces it at connect time.
 * The refused ranges and the reasons are listed in ./network-policy/ranges.ts.
 */
export {
  DEFAULT_NETWORK_POLICY,
  checkAddress,
  checkEndpointUrl,
  parseNetworkPolicy,
  type AddressVerdict,
  type NetworkPolicy,
} from './network-policy/policy.js';
export {
  DestinationRefusedError,
  createPolicyConnector,
  type PolicyConnector,
  type PolicyConnectorOptions,
  type PolicyTlsOptions,
} from './network-policy/connector.js';
export { REFUSED_RANGES } from './network-policy/ranges.js';
