/**
 * `reghook/receiver`: the receiver SDK as it was imported before it became its own package. It is
 * `@reghook/receiver` (no dependencies), which new code should import directly.
 */
export * from '@reghook/receiver';
