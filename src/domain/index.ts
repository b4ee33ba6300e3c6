export * from './ids.js';
export * from './registration.js';
export * from './retry-policy.js';
export * from './triggers.js';
export * from './ingest.js';
