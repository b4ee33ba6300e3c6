/** The package's public entry point. The receiver SDK is the separate `reghook/receiver` export. */
export { loadConfig, type ResolvedConfig } from './config.js';
export { startService, type Service, type ServiceOptions } from './service.js';
export { buildApp } from './api/app.js';
export type { Store } from './store/store.js';
export { ReghookError, ERROR_CATALOGUE, type ErrorCode } from './errors.js';
